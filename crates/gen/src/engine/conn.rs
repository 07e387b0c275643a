//! Connect mode: the connection table, opening, timeouts, the TCP state machine.

use wire::tcp_flags;

use super::Engine;
use crate::packet::{Seg, TcpSeen};

const HTTP_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: rvs\r\nUser-Agent: rvs-gen\r\nAccept: */*\r\n\r\n";
/// Connection-table slots looked at for timeouts per loop turn.
const SCAN: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) enum State {
    #[default]
    Free,
    SynSent,
    /// Handshake done, GET sent, waiting for the reply.
    Requested,
    /// Our FIN sent.
    FinSent,
}

/// One connection (connect mode).
#[derive(Clone, Copy, Default)]
pub(super) struct Conn {
    pub(super) state: State,
    /// Its tuple's index in the source range (address first, then port).
    tuple: u32,
    iss: u32,
    /// Our next sequence number (after the GET), and the FIN's.
    snd_nxt: u32,
    rcv_nxt: u32,
    t_syn: u64,
    fin_acked: bool,
    peer_fin: bool,
}

impl Engine<'_> {
    /// Connect mode: open the next connection, on the next tuple (of the range, in
    /// order) whose table slot is free, looking at 8 at most; `false` if none was.
    pub(super) fn open(&mut self, now: u64) -> bool {
        let mut found = None;
        for _ in 0..8 {
            let t = (self.next_tuple % u64::from(self.tuples)) as u32;
            self.next_tuple += 1;
            let slot = t as usize % self.conns.len();
            if self.conns[slot].state == State::Free {
                found = Some((t, slot));
                break;
            }
        }
        let Some((t, slot)) = found else {
            // `max_open` connections open: wait (counted once per turn that waits).
            self.c.conn.table_full += 1;
            return false;
        };
        let iss = (self.rand() >> 32) as u32;
        let (src, sport) = self.tuple(t);
        let ok = self.send_tcp(&Seg {
            src,
            dst: self.cfg.dst_ip,
            sport,
            dport: self.cfg.dst_port,
            seq: iss,
            ack: 0,
            flags: tcp_flags::SYN,
            mss: true,
            data: b"",
            fill: 0,
        });
        if ok {
            self.conns[slot] = Conn {
                state: State::SynSent,
                tuple: t,
                iss,
                snd_nxt: iss.wrapping_add(1),
                t_syn: now,
                ..Conn::default()
            };
            self.c.conn.attempted += 1;
        }
        ok
    }

    /// Time out a few connections a turn.
    pub(super) fn expire(&mut self, now: u64) {
        let n = self.conns.len();
        let limit = (self.cfg.conn_timeout.as_secs_f64() * self.hz as f64) as u64;
        for _ in 0..SCAN.min(n) {
            let c = &mut self.conns[self.scan];
            if c.state != State::Free && now.saturating_sub(c.t_syn) > limit {
                c.state = State::Free;
                self.c.conn.timeouts += 1;
            }
            self.scan = (self.scan + 1) % n;
        }
    }

    pub(super) fn conn_segment(&mut self, t: &TcpSeen, now: u64) {
        if t.src != self.cfg.dst_ip || t.sport != self.cfg.dst_port {
            return;
        }
        let Some(tuple) = self.tuple_of(t.dst, t.dport) else { return };
        let slot = tuple as usize % self.conns.len();
        let mut c = self.conns[slot];
        if c.state == State::Free || c.tuple != tuple {
            return;
        }
        let seg = |seq: u32, ack: u32, flags: u8, data: &'static [u8]| Seg {
            src: t.dst,
            dst: t.src,
            sport: t.dport,
            dport: t.sport,
            seq,
            ack,
            flags,
            mss: false,
            data,
            fill: 0,
        };
        if t.flags & tcp_flags::RST != 0 {
            self.conns[slot].state = State::Free;
            self.c.conn.reset += 1;
            return;
        }
        match c.state {
            State::SynSent => {
                if t.flags & (tcp_flags::SYN | tcp_flags::ACK) != (tcp_flags::SYN | tcp_flags::ACK)
                    || t.ack != c.iss.wrapping_add(1)
                {
                    return;
                }
                let _ = self.syn_ack.record(self.ns(now - c.t_syn).max(1));
                self.c.conn.established += 1;
                c.rcv_nxt = t.seq.wrapping_add(1);
                self.send_tcp(&seg(c.snd_nxt, c.rcv_nxt, tcp_flags::ACK, b""));
                if self.cfg.http {
                    self.send_tcp(&seg(c.snd_nxt, c.rcv_nxt, tcp_flags::ACK | tcp_flags::PSH, HTTP_GET));
                    c.snd_nxt = c.snd_nxt.wrapping_add(HTTP_GET.len() as u32);
                    c.state = State::Requested;
                } else {
                    self.send_tcp(&seg(c.snd_nxt, c.rcv_nxt, tcp_flags::ACK | tcp_flags::FIN, b""));
                    c.state = State::FinSent;
                }
            }
            State::Requested | State::FinSent => {
                if t.flags & tcp_flags::SYN != 0 {
                    return; // a retransmitted SYN-ACK
                }
                let fin_seq = c.snd_nxt;
                if c.state == State::FinSent && t.flags & tcp_flags::ACK != 0 && t.ack == fin_seq.wrapping_add(1) {
                    c.fin_acked = true;
                }
                let fin = t.flags & tcp_flags::FIN != 0;
                if t.payload_len > 0 || fin {
                    if t.seq == c.rcv_nxt {
                        c.rcv_nxt = t.seq.wrapping_add(t.payload_len).wrapping_add(u32::from(fin));
                        c.peer_fin |= fin;
                    }
                    if c.state == State::Requested {
                        // The reply (or its first segment): ACK it with our FIN.
                        self.send_tcp(&seg(fin_seq, c.rcv_nxt, tcp_flags::ACK | tcp_flags::FIN, b""));
                        c.state = State::FinSent;
                    } else {
                        self.send_tcp(&seg(fin_seq.wrapping_add(1), c.rcv_nxt, tcp_flags::ACK, b""));
                    }
                }
                if c.state == State::FinSent && c.fin_acked && c.peer_fin {
                    let _ = self.complete.record(self.ns(now - c.t_syn).max(1));
                    self.c.conn.completed += 1;
                    c.state = State::Free;
                }
            }
            State::Free => {}
        }
        self.conns[slot] = c;
    }
}
