//! The build side of [`super`]: [`SyncConnRepr`], [`SyncMessageRepr`] and the packing of
//! records into messages of at most `max` bytes, as `ip_vs_sync_conn` fills its buffers.

use std::net::IpAddr;

use super::{align4, opt, SyncConn, SyncMessage, MAX_CONNS, MAX_RECORD_LEN, PENAME_MAXLEN, STYPE_F_INET6};
use crate::field::{get_u32, set_u32};
use crate::{Error, Result};

const HEADER: usize = SyncMessage::<&[u8]>::HEADER_LEN;

/// `struct ip_vs_seq` as synced: three big-endian words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SeqRepr {
    /// Add `delta` from this sequence number on.
    pub init_seq: u32,
    /// Delta in sequence numbers.
    pub delta: u32,
    /// Delta before the last resized packet.
    pub previous_delta: u32,
}

/// `struct ip_vs_sync_conn_options`: the data of option [`opt::SEQ_DATA`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SeqOptionRepr {
    /// Incoming (client to server) adjustment.
    pub in_seq: SeqRepr,
    /// Outgoing adjustment.
    pub out_seq: SeqRepr,
}

impl SeqOptionRepr {
    fn parse(d: &[u8]) -> Self {
        let s = |i| SeqRepr { init_seq: get_u32(d, i), delta: get_u32(d, i + 4), previous_delta: get_u32(d, i + 8) };
        SeqOptionRepr { in_seq: s(0), out_seq: s(12) }
    }

    fn emit(&self, d: &mut [u8]) {
        for (i, s) in [(0, &self.in_seq), (12, &self.out_seq)] {
            set_u32(d, i, s.init_seq);
            set_u32(d, i + 4, s.delta);
            set_u32(d, i + 8, s.previous_delta);
        }
    }
}

/// One option of a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SyncOptionRepr {
    /// [`opt::SEQ_DATA`] (Linux sends it when `flags & SEQ_MASK`).
    Seq(SeqOptionRepr),
    /// [`opt::PE_DATA`], 1..=255 bytes.
    PeData(Vec<u8>),
    /// [`opt::PE_NAME`], 1..=16 bytes (Linux sends it only after PE data).
    PeName(Vec<u8>),
    /// Any other optional type (0x40 set), data 1..=255 bytes: kept as received so
    /// that rvs's own options ([`opt::RVS_FNAT_LADDR`], ...) and unknown ones survive.
    /// Emitting a mandatory `kind` is allowed (a receiver then skips the record); a
    /// `kind` that Linux reads as a known option (`kind & !0x40` in 1..=3) is refused.
    Raw {
        /// Type byte.
        kind: u8,
        /// Data.
        data: Vec<u8>,
    },
}

impl SyncOptionRepr {
    fn kind(&self) -> u8 {
        match self {
            SyncOptionRepr::Seq(_) => opt::SEQ_DATA,
            SyncOptionRepr::PeData(_) => opt::PE_DATA,
            SyncOptionRepr::PeName(_) => opt::PE_NAME,
            SyncOptionRepr::Raw { kind, .. } => *kind,
        }
    }

    fn data_len(&self) -> usize {
        match self {
            SyncOptionRepr::Seq(_) => opt::SEQ_DATA_LEN,
            SyncOptionRepr::PeData(d) | SyncOptionRepr::PeName(d) | SyncOptionRepr::Raw { data: d, .. } => d.len(),
        }
    }
}

/// A connection record (`struct ip_vs_sync_v4` / `ip_vs_sync_v6` and its options).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncConnRepr {
    /// IPv6 record (type bit 0); the three addresses must be of that family.
    pub v6: bool,
    /// IP protocol.
    pub protocol: u8,
    /// [`conn_flags`](super::conn_flags), as sent (Linux clears `HASHED`).
    pub flags: u32,
    /// [`tcp_state`](super::tcp_state) or [`other_state`](super::other_state).
    pub state: u16,
    /// Client port.
    pub cport: u16,
    /// Virtual port.
    pub vport: u16,
    /// Destination port.
    pub dport: u16,
    /// Firewall mark.
    pub fwmark: u32,
    /// Timeout in seconds.
    pub timeout: u32,
    /// Client address.
    pub caddr: IpAddr,
    /// Virtual address.
    pub vaddr: IpAddr,
    /// Destination address.
    pub daddr: IpAddr,
    /// Options, in wire order (Linux: sequence, PE data, PE name).
    pub options: Vec<SyncOptionRepr>,
}

impl SyncConnRepr {
    /// Read a record. `Malformed` for a record Linux would skip (an unknown mandatory
    /// option) as well as for what [`SyncConn::new_checked`] refuses. A known option
    /// received with the optional bit (0x41..0x43) is read as the known one and emitted
    /// back without the bit.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(conn: &SyncConn<&T>) -> Result<Self> {
        let c = SyncConn::new_checked(conn.buffer.as_ref())?;
        if c.unknown_mandatory().is_some() {
            return Err(Error::Malformed);
        }
        let mut options = Vec::new();
        for o in c.options() {
            let o = o?;
            options.push(match o.kind & !opt::F_OPTIONAL {
                opt::SEQ_DATA => SyncOptionRepr::Seq(SeqOptionRepr::parse(o.data)),
                opt::PE_DATA => SyncOptionRepr::PeData(o.data.to_vec()),
                opt::PE_NAME => SyncOptionRepr::PeName(o.data.to_vec()),
                _ => SyncOptionRepr::Raw { kind: o.kind, data: o.data.to_vec() },
            });
        }
        Ok(SyncConnRepr {
            v6: c.is_v6(),
            protocol: c.protocol(),
            flags: c.flags(),
            state: c.state(),
            cport: c.cport(),
            vport: c.vport(),
            dport: c.dport(),
            fwmark: c.fwmark(),
            timeout: c.timeout(),
            caddr: c.caddr(),
            vaddr: c.vaddr(),
            daddr: c.daddr(),
            options,
        })
    }

    /// The sequence option, if any.
    pub fn seq(&self) -> Option<&SeqOptionRepr> {
        self.options.iter().find_map(|o| match o {
            SyncOptionRepr::Seq(s) => Some(s),
            _ => None,
        })
    }

    /// The first option of type `kind` kept raw (an rvs option), if any.
    pub fn raw_option(&self, kind: u8) -> Option<&[u8]> {
        self.options.iter().find_map(|o| match o {
            SyncOptionRepr::Raw { kind: k, data } if *k == kind => Some(data.as_slice()),
            _ => None,
        })
    }

    /// Bytes of the record without padding (its `size`): 36 or 72 plus 2 + data per
    /// option.
    pub fn buffer_len(&self) -> usize {
        let fixed = if self.v6 { SyncConn::<&[u8]>::V6_LEN } else { SyncConn::<&[u8]>::V4_LEN };
        fixed + self.options.iter().map(|o| 2 + o.data_len()).sum::<usize>()
    }

    /// Whether [`emit`](Self::emit) would accept the repr and a receiver read back the
    /// same: addresses of the record's family, size within 12 bits, option data
    /// 1..=255 bytes, a PE name ≤ 16, each known option once, raw kinds not read as
    /// known ones.
    pub fn check(&self) -> Result<()> {
        let fam_ok = [self.caddr, self.vaddr, self.daddr].iter().all(|a| a.is_ipv6() == self.v6);
        if !fam_ok || self.buffer_len() > MAX_RECORD_LEN {
            return Err(Error::Malformed);
        }
        let mut seen = [false; 4];
        for o in &self.options {
            let len = o.data_len();
            let known = usize::from(o.kind() & !opt::F_OPTIONAL);
            let bad = match o {
                SyncOptionRepr::Raw { .. } => (1..=3).contains(&known),
                SyncOptionRepr::PeName(_) => len > PENAME_MAXLEN || std::mem::replace(&mut seen[known], true),
                _ => std::mem::replace(&mut seen[known], true),
            };
            if bad || len == 0 || len > 255 {
                return Err(Error::Malformed);
            }
        }
        Ok(())
    }

    /// Write the record into `conn`, whose buffer must hold at least
    /// [`buffer_len`](Self::buffer_len) bytes (`Truncated`); bytes past it are left
    /// alone. `Malformed` when [`check`](Self::check) fails. Nothing is written on error.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, conn: &mut SyncConn<T>) -> Result<()> {
        self.check()?;
        let len = self.buffer_len();
        let b = conn.buffer.as_mut().get_mut(..len).ok_or(Error::Truncated)?;
        let mut c = SyncConn::new_unchecked(b);
        let conn_type = if self.v6 { STYPE_F_INET6 } else { 0 };
        let ports = (self.cport, self.vport, self.dport);
        c.set_fixed(conn_type, self.protocol, len as u16, self.flags, self.state, ports, self.fwmark, self.timeout);
        c.set_addrs([self.caddr, self.vaddr, self.daddr])?;
        let mut o = c.options_bytes_mut();
        for opt in &self.options {
            let n = opt.data_len();
            let (head, rest) = std::mem::take(&mut o).split_at_mut(2 + n);
            head[0] = opt.kind();
            head[1] = n as u8;
            match opt {
                SyncOptionRepr::Seq(s) => s.emit(&mut head[2..]),
                SyncOptionRepr::PeData(d) | SyncOptionRepr::PeName(d) | SyncOptionRepr::Raw { data: d, .. } => {
                    head[2..].copy_from_slice(d)
                }
            }
            o = rest;
        }
        Ok(())
    }
}

/// A whole message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SyncMessageRepr {
    /// Sync ID.
    pub syncid: u8,
    /// The records Linux would apply, in order.
    pub conns: Vec<SyncConnRepr>,
    /// Records Linux would skip (an unknown mandatory option). Not emitted.
    pub skipped: usize,
}

impl SyncMessageRepr {
    /// Read a message: the checks of [`SyncMessage::new_checked`], every record read
    /// (any error refuses the whole message, where Linux would have applied the records
    /// before it; walk [`SyncMessage::records`] for that), records with an unknown
    /// mandatory option counted in `skipped`.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(msg: &SyncMessage<&T>) -> Result<Self> {
        let m = SyncMessage::new_checked(msg.buffer.as_ref())?;
        let mut r = SyncMessageRepr { syncid: m.syncid(), conns: Vec::new(), skipped: 0 };
        for c in m.records() {
            let c = c?;
            if c.unknown_mandatory().is_some() {
                r.skipped += 1;
            } else {
                r.conns.push(SyncConnRepr::parse(&c)?);
            }
        }
        Ok(r)
    }

    /// Bytes of the message: header, records, zero padding between records (not after
    /// the last).
    pub fn buffer_len(&self) -> usize {
        self.conns.iter().fold(HEADER, |at, c| align4(at) + c.buffer_len())
    }

    /// Write the message into `msg`, whose buffer must hold at least
    /// [`buffer_len`](Self::buffer_len) bytes (`Truncated`); the size field says how many
    /// were used. `Malformed` for more than 255 records, over 65535 bytes, or a record
    /// failing [`SyncConnRepr::check`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, msg: &mut SyncMessage<T>) -> Result<()> {
        let len = self.buffer_len();
        if self.conns.len() > MAX_CONNS || len > usize::from(u16::MAX) {
            return Err(Error::Malformed);
        }
        self.conns.iter().try_for_each(SyncConnRepr::check)?;
        let b = msg.buffer.as_mut().get_mut(..len).ok_or(Error::Truncated)?;
        let (n, used) = pack_into(self.syncid, &self.conns, b)?;
        debug_assert_eq!((n, used), (self.conns.len(), len));
        Ok(())
    }
}

/// Pack as many of `conns` as fit, in order, into one message in `buf` (whose length is
/// the maximum message size), as `ip_vs_sync_conn` fills a buffer: a record goes after
/// zero padding to 4 bytes if header + records + padding + record ≤ `buf.len()`, and at
/// most 255 records. Returns (records packed, message length). `Malformed` when a
/// record fails [`SyncConnRepr::check`]; 0 records packed when the first does not fit
/// (`Truncated` when `buf` is shorter than a header). Linux would send such a record
/// alone in a larger datagram; rvs keeps to the limit.
pub fn pack_into(syncid: u8, conns: &[SyncConnRepr], buf: &mut [u8]) -> Result<(usize, usize)> {
    if buf.len() < HEADER {
        return Err(Error::Truncated);
    }
    let max = buf.len().min(usize::from(u16::MAX));
    let mut at = HEADER;
    let mut n = 0;
    for c in conns.iter().take(MAX_CONNS) {
        c.check()?;
        let start = align4(at);
        let end = start + c.buffer_len();
        if end > max {
            break;
        }
        buf[at..start].fill(0);
        c.emit(&mut SyncConn::new_unchecked(&mut buf[start..end]))?;
        at = end;
        n += 1;
    }
    SyncMessage::new_unchecked(&mut *buf).set_header(syncid, at as u16, n as u8);
    Ok((n, at))
}

/// Packs records into messages of at most `max` bytes (the master's `sync_buff`s).
#[derive(Debug, Clone)]
pub struct SyncMessageBuilder {
    syncid: u8,
    max: usize,
    messages: Vec<Vec<u8>>,
    pending: Vec<SyncConnRepr>,
    pending_len: usize,
}

impl SyncMessageBuilder {
    /// A builder for `syncid` and messages of at most `max` bytes ([`DEFAULT_MAX_LEN`]
    /// for a 1500-byte MTU). `Malformed` if `max` is under a header plus a bare IPv4
    /// record (44) or over 65535.
    ///
    /// [`DEFAULT_MAX_LEN`]: super::DEFAULT_MAX_LEN
    pub fn new(syncid: u8, max: usize) -> Result<Self> {
        if max < HEADER + SyncConn::<&[u8]>::V4_LEN || max > usize::from(u16::MAX) {
            return Err(Error::Malformed);
        }
        Ok(SyncMessageBuilder { syncid, max, messages: Vec::new(), pending: Vec::new(), pending_len: HEADER })
    }

    /// Add a record. `Malformed` if it fails [`SyncConnRepr::check`] or cannot fit a
    /// message of `max` bytes on its own; the builder is then unchanged.
    pub fn push(&mut self, conn: SyncConnRepr) -> Result<()> {
        conn.check()?;
        if HEADER + conn.buffer_len() > self.max {
            return Err(Error::Malformed);
        }
        let len = conn.buffer_len();
        if align4(self.pending_len) + len > self.max || self.pending.len() == MAX_CONNS {
            self.flush();
        }
        self.pending_len = align4(self.pending_len) + len;
        self.pending.push(conn);
        Ok(())
    }

    /// The messages so far and the one being filled.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        self.flush();
        self.messages
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let conns = std::mem::take(&mut self.pending);
        self.pending_len = HEADER;
        let repr = SyncMessageRepr { syncid: self.syncid, conns, skipped: 0 };
        let mut buf = vec![0u8; repr.buffer_len()];
        // Every record passed `check` and the total stays within `max` ≤ 65535.
        if repr.emit(&mut SyncMessage::new_unchecked(&mut buf[..])).is_ok() {
            self.messages.push(buf);
        }
    }

    /// Pack `conns` into as many messages of at most `max` bytes as needed.
    pub fn pack(syncid: u8, max: usize, conns: &[SyncConnRepr]) -> Result<Vec<Vec<u8>>> {
        let mut b = Self::new(syncid, max)?;
        for c in conns {
            b.push(c.clone())?;
        }
        Ok(b.finish())
    }
}
