//! The SYN-proxy cases' traffic: a SYN flood, and new connections through the proxy.

use std::net::Ipv4Addr;

use dpdk::Mbuf;
use rvs_benches::topo::{LAN, WAN};

use crate::frame::{write, Macs, Pkt, Seen};
use crate::traffic::Traffic;
use crate::{ACK, FIN, SYN};

/// The SYN-proxied NAT service's VIP (port 80; only in `Setup::sp_snapshot`).
pub(crate) const SP_VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 103);
/// The ISNs of the SYN-proxied exchange's client and server.
const SP_CLIENT_ISN: u32 = 0x0300_0000;
const SP_SERVER_ISN: u32 = 0x7000_0000;

/// A packet of the SYN-proxy cases: ack 0 and no data (the payload's first 4 bytes,
/// `Pkt::client`, carry a number the chain keeps: see [`SynConns`]).
fn sp_pkt(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, flags: u8, seq: u32) -> Pkt {
    Pkt { src, dst, sport, dport, flags, seq, ack: 0, client: Ipv4Addr::UNSPECIFIED, cport: 0 }
}

/// A SYN from a random client (xorshift) to the SYN-proxied service.
fn random_syn(rng: &mut u64, m: &mut Mbuf, macs: &Macs) -> u16 {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let r = *rng;
    let src = Ipv4Addr::from(0x0b00_0000 | (r as u32 & 0x00ff_ffff));
    let sport = 1024 + ((r >> 32) % 60_000) as u16;
    let p = sp_pkt(src, SP_VIP, sport, 80, SYN, SP_CLIENT_ISN);
    write(m, WAN, &p, macs);
    WAN
}

/// SYN flood on the SYN-proxied service: every returned frame (a cookie SYN-ACK)
/// becomes a SYN from a new random client.
pub(crate) struct SynFlood {
    rng: u64,
    /// Cookie SYN-ACKs seen, and other frames.
    synacks: u64,
    pub(crate) other: u64,
}

impl SynFlood {
    pub(crate) fn new(g: usize) -> Self {
        SynFlood { rng: 0x9e37_79b9_7f4a_7c15 ^ (g as u64 + 1), synacks: 0, other: 0 }
    }
}

impl Traffic for SynFlood {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        match returned {
            Some((WAN, Some(s))) if s.flags == SYN | ACK && s.src == SP_VIP && s.ack == SP_CLIENT_ISN + 1 => {
                self.synacks += 1
            }
            Some(_) => self.other += 1,
            None => {}
        }
        random_syn(&mut self.rng, m, macs)
    }
    fn completed(&self) -> u64 {
        self.synacks
    }
}

/// New connections through the SYN proxy, each from what the director sent: SYN →
/// cookie SYN-ACK; the client's ACK (ack = cookie + 1, the cookie also in its payload)
/// → the director's SYN to the server (the ACK held); the server's SYN-ACK → the held
/// ACK released; client FIN, server FIN (the cookie in its payload), client ACK.
/// 6 packets into the director, 6 out, as NAT's exchange.
pub(crate) struct SynConns {
    pub(crate) next_client: u32,
    pub(crate) done: u64,
    /// Frames whose translation was wrong (the released ACK's ack not the server's
    /// ISN + 1, the server's FIN not in the cookie's numbering), and unexpected ones.
    pub(crate) bad: u64,
    pub(crate) other: u64,
}

impl SynConns {
    fn start(&mut self, m: &mut Mbuf, macs: &Macs) -> u16 {
        let c = self.next_client;
        self.next_client = self.next_client.wrapping_add(1);
        let src = Ipv4Addr::from(0x0e00_0000 + (c & 0x00ff_ffff));
        let p = sp_pkt(src, SP_VIP, 20_000 + (c >> 24) as u16, 80, SYN, SP_CLIENT_ISN);
        write(m, WAN, &p, macs);
        WAN
    }

    fn step(&mut self, port: u16, s: &Seen, m: &mut Mbuf, macs: &Macs) -> u16 {
        let to_client = port == WAN && s.src == SP_VIP;
        let client = |flags: u8, seq: u32| sp_pkt(s.src, SP_VIP, s.sport, 80, flags, seq);
        let server = |flags: u8, seq: u32| sp_pkt(s.dst, s.src, s.dport, s.sport, flags, seq);
        // The number the chain carries in the payload (the cookie, once known).
        let kept = u32::from(s.client);
        let (out, p, ack, data) = match (to_client, s.flags) {
            // The cookie SYN-ACK: the client's ACK.
            (true, f) if f == SYN | ACK => {
                let p = sp_pkt(s.dst, SP_VIP, s.dport, 80, ACK, s.ack);
                (WAN, p, s.seq.wrapping_add(1), s.seq)
            }
            // The server's FIN, in the cookie's numbering: the client's last ACK.
            (true, f) if f == FIN | ACK => {
                self.bad += u64::from(s.seq != kept.wrapping_add(1));
                let p = sp_pkt(s.dst, SP_VIP, s.dport, 80, ACK, s.ack);
                (WAN, p, s.seq.wrapping_add(1), 0)
            }
            // The director's SYN to the server: its SYN-ACK.
            (false, SYN) if port == LAN => (LAN, server(SYN | ACK, SP_SERVER_ISN), s.seq.wrapping_add(1), 0),
            // The released ACK: the client's FIN (ack in the cookie's numbering).
            (false, ACK) if port == LAN && s.seq == SP_CLIENT_ISN + 1 => {
                self.bad += u64::from(s.ack != SP_SERVER_ISN + 1);
                (WAN, client(FIN | ACK, s.seq), kept.wrapping_add(1), kept)
            }
            // The client's FIN at the server: the server's FIN.
            (false, f) if port == LAN && f == FIN | ACK => {
                (LAN, server(FIN | ACK, SP_SERVER_ISN + 1), s.seq.wrapping_add(1), kept)
            }
            (false, ACK) if port == LAN && s.seq == SP_CLIENT_ISN + 2 => {
                self.done += 1;
                return self.start(m, macs);
            }
            _ => {
                self.other += 1;
                return self.start(m, macs);
            }
        };
        write(m, out, &Pkt { ack, client: Ipv4Addr::from(data), ..p }, macs);
        out
    }
}

impl Traffic for SynConns {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        match returned {
            Some((port, Some(s))) => self.step(port, &s, m, macs),
            _ => self.start(m, macs),
        }
    }
    fn completed(&self) -> u64 {
        self.done
    }
}

/// The SYN-proxy cases' checks.
pub(crate) struct SpFigures {
    /// Connections in the table after the flood (must be 0), frames not a cookie SYN-ACK.
    pub(crate) flood_conns: u64,
    pub(crate) flood_other: u64,
    /// New connections: mistranslated and unexpected frames.
    pub(crate) bad: u64,
    pub(crate) new_other: u64,
}
