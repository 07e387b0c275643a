//! The generators' traffic: the `Traffic` chains (baseline echo, established flows, new
//! connections, persistence, mix) and how flows and clients are split by RSS queue.

use std::net::Ipv4Addr;

use dpdk::Mbuf;
use rvs_benches::topo::{LAN, RS, WAN};
use rvs_core::addr::Addr;
use rvs_core::rss::Rss;

use crate::frame::{write, Macs, Pkt, Seen};
use crate::{Mode, ACK, FIN, PAYLOAD, PERSIST_CLIENTS, STRIDE, SYN};

/// Turns a returned mbuf (`Some((port it came out of, its fields))`) or a fresh one
/// (`None`) into the next packet of its chain; returns the port to send it into.
pub(crate) trait Traffic {
    /// Send returned frames back unchanged (the baseline).
    const ECHO: bool = false;
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16;
    /// Still populating the connection table (not measured yet).
    fn populating(&self) -> bool {
        false
    }
    /// Completed connection exchanges so far.
    fn completed(&self) -> u64 {
        0
    }
}

/// The baseline: fresh packets are established-flow frames; what returns goes back as it is.
pub(crate) struct Echo(pub(crate) Established);

impl Traffic for Echo {
    const ECHO: bool = true;
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        match returned {
            Some((port, _)) => port,
            None => self.0.flow_packet(m, macs),
        }
    }
}

fn client(i: u32) -> (Ipv4Addr, u16) {
    (Ipv4Addr::from(0x0b00_0000 + i), 10_000 + (i & 0x3fff) as u16)
}

/// One generator's share of `n` established flows: the flows RSS gives its worker, in
/// index order (the order they are populated in) and in the scattered order they are
/// visited (stride [`STRIDE`] over all `n`, so one worker sees the order it always did).
pub(crate) struct FlowList {
    fill: Vec<u32>,
    walk: Vec<u32>,
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The RSS queue (worker) of each client address; everything is queue 0 for one worker.
fn queue_of(rss: &Rss, workers: usize, a: Ipv4Addr) -> usize {
    if workers == 1 {
        0
    } else {
        usize::from(rss.queue_of(Addr::from(a)))
    }
}

/// Flows 0..n split over `workers` generators by their client's RSS queue.
pub(crate) fn flow_lists(n: u32, rss: &Rss, workers: usize) -> Vec<FlowList> {
    let owner: Vec<u8> = (0..n).map(|i| queue_of(rss, workers, client(i).0) as u8).collect();
    let mut lists: Vec<FlowList> = (0..workers)
        .map(|_| FlowList {
            fill: Vec::with_capacity(n as usize / workers),
            walk: Vec::with_capacity(n as usize / workers),
        })
        .collect();
    for i in 0..n {
        lists[usize::from(owner[i as usize])].fill.push(i);
    }
    // A stride that visits every flow once per round.
    let mut stride = (STRIDE % n).max(1);
    while gcd(stride, n) != 1 {
        stride += 1;
    }
    let mut cur = 0u32;
    for _ in 0..n {
        cur += stride;
        if cur >= n {
            cur -= n;
        }
        lists[usize::from(owner[cur as usize])].walk.push(cur);
    }
    lists
}

/// Established flows: populate with one SYN each, then ACKs in a scattered order.
pub(crate) struct Established {
    /// `None`: the mix (mode by flow index).
    mode: Option<Mode>,
    flows: FlowList,
    populated: usize,
    cur: usize,
    /// Replies that reached the client acknowledging other than what it sent (FullNAT
    /// maps the real server's acknowledgements back through the ISN offset).
    pub(crate) bad_acks: u64,
}

const EST_DATA: u32 = 0x0100;
const EST_REPLY: u32 = 0x0101;

impl Established {
    pub(crate) fn new(mode: Option<Mode>, flows: FlowList, populate: bool) -> Self {
        assert!(!flows.walk.is_empty(), "a generator without flows");
        let populated = if populate { 0 } else { flows.fill.len() };
        Established { mode, flows, populated, cur: 0, bad_acks: 0 }
    }
    fn flow_packet(&mut self, m: &mut Mbuf, macs: &Macs) -> u16 {
        let (i, flags, seq) = if let Some(&i) = self.flows.fill.get(self.populated) {
            self.populated += 1;
            (i, SYN, 0)
        } else {
            let i = self.flows.walk[self.cur];
            self.cur += 1;
            if self.cur == self.flows.walk.len() {
                self.cur = 0;
            }
            (i, ACK, EST_DATA)
        };
        let mode = self.mode.unwrap_or(Mode::of_flow(i));
        let (src, sport) = client(i);
        let p = Pkt { src, dst: mode.vip(), sport, dport: mode.vport(), flags, seq, ack: 0, client: src, cport: sport };
        write(m, WAN, &p, macs);
        WAN
    }
}

impl Traffic for Established {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        match returned {
            // A (Full)NAT client packet came out towards its real server: send the server's
            // reply, acknowledging its data as numbered on that side.
            Some((LAN, Some(s))) if s.tag == EST_DATA && RS.contains(&s.dst) => {
                let p = Pkt {
                    src: s.dst,
                    dst: s.src,
                    sport: s.dport,
                    dport: s.sport,
                    flags: ACK,
                    seq: EST_REPLY,
                    ack: s.seq.wrapping_add(PAYLOAD as u32),
                    client: s.client,
                    cport: s.cport,
                };
                write(m, LAN, &p, macs);
                return LAN;
            }
            Some((WAN, Some(s))) if s.tag == EST_REPLY => {
                self.bad_acks += u64::from(s.ack != EST_DATA + PAYLOAD as u32);
            }
            _ => {}
        }
        self.flow_packet(m, macs)
    }
    fn populating(&self) -> bool {
        self.populated < self.flows.fill.len()
    }
}

/// New connections, each a short TCP exchange driven by what the director sends out.
pub(crate) struct NewConns {
    mode: Mode,
    vport: u16,
    clients: Clients,
    next_client: u32,
    done: u64,
}

/// Who opens the connections of one generator.
pub(crate) enum Clients {
    /// Every connection from a new client: any address (one worker), or those of the list
    /// (the addresses RSS gives this generator's worker), each time from a new port.
    Fresh(Option<Vec<u32>>),
    /// These persistence-case clients in turn, each time from a new port.
    Few(Vec<u32>),
}

/// Fresh client addresses the generator of each worker may use (RSS spreads them).
const FRESH_PER_WORKER: usize = 1 << 16;

pub(crate) fn fresh_clients(rss: &Rss, workers: usize) -> Vec<Clients> {
    if workers == 1 {
        return vec![Clients::Fresh(None)];
    }
    let mut lists = vec![Vec::with_capacity(FRESH_PER_WORKER); workers];
    let mut a = 0x0c00_0000u32;
    while lists.iter().any(|l| l.len() < FRESH_PER_WORKER) {
        let l = &mut lists[queue_of(rss, workers, Ipv4Addr::from(a))];
        if l.len() < FRESH_PER_WORKER {
            l.push(a);
        }
        a += 1;
    }
    lists.into_iter().map(|l| Clients::Fresh(Some(l))).collect()
}

/// The persistence case's clients, split by RSS queue.
pub(crate) fn persist_clients(rss: &Rss, workers: usize) -> Vec<Clients> {
    let mut lists = vec![Vec::new(); workers];
    for i in 0..PERSIST_CLIENTS {
        lists[queue_of(rss, workers, persist_client(i))].push(i);
    }
    lists.into_iter().map(Clients::Few).collect()
}

const NEW_KIND: u32 = 0x0200;

/// Client `i` of the persistence case.
pub(crate) fn persist_client(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0d00_0000 + i)
}

impl NewConns {
    pub(crate) fn new(mode: Mode, clients: Clients) -> Self {
        assert!(
            !matches!(&clients, Clients::Few(l) | Clients::Fresh(Some(l)) if l.is_empty()),
            "a generator without clients"
        );
        NewConns { mode, vport: mode.vport(), clients, next_client: 0, done: 0 }
    }

    fn start(&mut self, m: &mut Mbuf, macs: &Macs) -> u16 {
        let c = self.next_client;
        self.next_client = self.next_client.wrapping_add(1);
        let (src, sport) = match &self.clients {
            Clients::Fresh(None) => (Ipv4Addr::from(0x0c00_0000 + (c & 0x00ff_ffff)), 20_000 + (c >> 24) as u16),
            Clients::Fresh(Some(l)) => {
                let k = l.len() as u32;
                (Ipv4Addr::from(l[(c % k) as usize]), 20_000 + (c / k % 40_000) as u16)
            }
            // A port is reused only after 60,000 connections of that client.
            Clients::Few(l) => {
                let k = l.len() as u32;
                (persist_client(l[(c % k) as usize]), 1024 + (c / k % 60_000) as u16)
            }
        };
        let p = Pkt {
            src,
            dst: self.mode.vip(),
            sport,
            dport: self.vport,
            flags: SYN,
            seq: NEW_KIND,
            ack: 0,
            client: src,
            cport: sport,
        };
        write(m, WAN, &p, macs);
        WAN
    }

    fn step(&mut self, s: &Seen, m: &mut Mbuf, macs: &Macs) -> u16 {
        let step = s.tag & 0xff;
        let (vip, vport) = (self.mode.vip(), self.vport);
        let (c, cport) = (s.client, s.cport);
        let from_client = |flags: u8, step: u32| Pkt {
            src: c,
            dst: vip,
            sport: cport,
            dport: vport,
            flags,
            seq: NEW_KIND | step,
            ack: 0,
            client: c,
            cport,
        };
        // The real server answers the client's SYN or FIN just returned on lan (to the
        // client, or FullNAT's local address), acknowledging it as numbered on its side.
        let from_server = |flags: u8, step: u32| Pkt {
            src: s.dst,
            dst: s.src,
            sport: s.dport,
            dport: s.sport,
            flags,
            seq: NEW_KIND | step,
            ack: s.seq.wrapping_add(1),
            client: c,
            cport,
        };
        let (out, p) = match (self.mode, step) {
            (Mode::Nat | Mode::Persist | Mode::Fnat, 0) => (LAN, from_server(SYN | ACK, 1)),
            (Mode::Nat | Mode::Persist | Mode::Fnat, 1) => (WAN, from_client(ACK, 2)),
            (Mode::Nat | Mode::Persist | Mode::Fnat, 2) => (WAN, from_client(FIN | ACK, 3)),
            (Mode::Nat | Mode::Persist | Mode::Fnat, 3) => (LAN, from_server(FIN | ACK, 4)),
            (Mode::Nat | Mode::Persist | Mode::Fnat, 4) => (WAN, from_client(ACK, 5)),
            (Mode::Dr | Mode::Tun, 0) => (WAN, from_client(ACK, 1)),
            (Mode::Dr | Mode::Tun, 1) => (WAN, from_client(FIN | ACK, 2)),
            (Mode::Dr | Mode::Tun, 2) => (WAN, from_client(ACK, 3)),
            _ => {
                self.done += 1;
                return self.start(m, macs);
            }
        };
        write(m, out, &p, macs);
        out
    }
}

impl Traffic for NewConns {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        match returned {
            Some((_, Some(s))) if s.tag & 0xff00 == NEW_KIND => self.step(&s, m, macs),
            _ => self.start(m, macs),
        }
    }
    fn completed(&self) -> u64 {
        self.done
    }
}

/// New connections to the persistent NAT service from [`PERSIST_CLIENTS`] clients; checks,
/// from the frames the director sends to real servers, that each client reached one.
pub(crate) struct Persist {
    new: NewConns,
    /// Per client, one bit per real server its packets reached.
    pub(crate) reached: Vec<u8>,
    /// SYNs seen going to a real server.
    pub(crate) connections: u64,
}

impl Persist {
    pub(crate) fn new(clients: Clients) -> Self {
        Persist {
            new: NewConns::new(Mode::Persist, clients),
            reached: vec![0; PERSIST_CLIENTS as usize],
            connections: 0,
        }
    }
}

impl Traffic for Persist {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        if let Some((LAN, Some(s))) = returned {
            let client = u32::from(s.src).wrapping_sub(u32::from(persist_client(0))) as usize;
            if let (Some(bits), Some(r)) = (self.reached.get_mut(client), RS.iter().position(|a| *a == s.dst)) {
                *bits |= 1 << r;
                self.connections += u64::from(s.tag == NEW_KIND);
            }
        }
        self.new.next(returned, m, macs)
    }
    fn completed(&self) -> u64 {
        self.new.done
    }
}

/// Established flows over all three services, one chain in `every` running new NAT
/// connections.
pub(crate) struct Mix {
    pub(crate) est: Established,
    pub(crate) new: NewConns,
    pub(crate) every: u64,
    pub(crate) assigned: u64,
}

impl Traffic for Mix {
    fn next(&mut self, returned: Option<(u16, Option<Seen>)>, m: &mut Mbuf, macs: &Macs) -> u16 {
        if self.est.populating() {
            return self.est.next(returned, m, macs);
        }
        match returned {
            Some((_, Some(s))) if s.tag & 0xff00 == NEW_KIND => self.new.step(&s, m, macs),
            Some((_, Some(s))) if s.tag == 0 => {
                // Each chain's first return after populating decides its kind.
                self.assigned += 1;
                if self.assigned % self.every == 0 {
                    self.new.start(m, macs)
                } else {
                    self.est.next(returned, m, macs)
                }
            }
            _ => self.est.next(returned, m, macs),
        }
    }
    fn populating(&self) -> bool {
        self.est.populating()
    }
    fn completed(&self) -> u64 {
        self.new.done
    }
}
