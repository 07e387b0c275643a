//! IPVS connection synchronisation, protocol version 1, byte for byte as Linux's
//! `net/netfilter/ipvs/ip_vs_sync.c` sends (`ip_vs_sync_conn`) and receives
//! (`ip_vs_process_message`, `ip_vs_proc_sync_conn`) it: UDP to 224.0.0.81:8848.
//!
//! A message (`struct ip_vs_sync_mesg`, 8 bytes) is followed by `nr_conns` connection
//! records (`struct ip_vs_sync_v4` / `ip_vs_sync_v6`, 36 / 72 bytes) each followed by
//! its options as `[type][len][data]`. A record's 12-bit `size` covers its fixed part
//! and options but not the padding to 4 bytes that the sender puts *before the next
//! record* (`pad = (4 - head) & 3`); the receiver steps `(size + 3) & ~3`. The last
//! record is not padded: the header `size` is exactly the datagram length.
//!
//! What the receiver drops, as Linux does:
//! - the whole message: a size field ≠ the datagram length, a header other than
//!   version 1 (`ip_vs_process_message` then reads it as version 0).
//! - the rest of the message ("Dropping buffer"; negative `retc` of
//!   `ip_vs_proc_sync_conn`): a record header past the end, a record size past the end,
//!   a record version ≠ 0, a record type that is neither 0 nor has bit 0 (IPv6) set, a
//!   record shorter than its fixed part, an option with length 0 or past the record, a
//!   sequence option not 24 bytes, a PE name over 16 bytes, a known option twice.
//!   [`SyncConns`] yields the records before such a fault, then the error, as Linux
//!   applies them; [`SyncMessageRepr::parse`] refuses the message.
//! - one record: an unknown option without the optional bit [`opt::F_OPTIONAL`]
//!   (`retc = 20`, "Unknown mandatory param"); [`SyncConn::unknown_mandatory`] tells,
//!   [`SyncMessageRepr::parse`] counts it in `skipped`.
//!
//! Left to the consumer, as Linux does after decoding: masking flags with
//! [`conn_flags::BACKUP_MASK`] and adding `SYNC`, the protocol/state range checks,
//! PE data without a PE name (`retc = 50`), the syncid filter.
//!
//! The optional bit is `IPVS_OPT_F_PARAM = 1 << (IPVS_OPT_PARAM - 1)` = **0x40** and
//! Linux dispatches on `ptype & ~0x40`: 0x41..0x43 are the known options, 0x80|N without
//! 0x40 is *mandatory* (a Linux backup would skip the record). rvs's own options
//! therefore live at 0x50.. (see [`opt`]).

mod repr;

pub use repr::{pack_into, SeqOptionRepr, SeqRepr, SyncConnRepr, SyncMessageBuilder, SyncMessageRepr, SyncOptionRepr};

use std::net::{IpAddr, Ipv4Addr};

use crate::field::{get_ipv4, get_ipv6, get_u16, get_u32, set_ipv4, set_ipv6, set_u16, set_u32};
use crate::{Error, Result};

/// `IP_VS_SYNC_GROUP`: 224.0.0.81.
pub const SYNC_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 81);
/// `IP_VS_SYNC_PORT` (a master with several threads sends thread `id` to 8848 + id).
pub const SYNC_PORT: u16 = 8848;
/// `SYNC_PROTO_VER`, the header's version byte.
pub const SYNC_PROTO_VER: u8 = 1;
/// Default maximum message: `sync_maxlen` for a 1500-byte MTU less IPv4 and UDP headers.
pub const DEFAULT_MAX_LEN: usize = 1472;
/// `nr_conns` is a `__u8`.
pub const MAX_CONNS: usize = 255;
/// `SVER_MASK`: the 12-bit size in `ver_size` (the version is the top 4 bits, 0).
pub const MAX_RECORD_LEN: usize = 0x0fff;
/// `SVER_SHIFT`.
const SVER_SHIFT: u16 = 12;
/// `STYPE_F_INET6`: bit 0 of a record's type.
pub const STYPE_F_INET6: u8 = 1;
/// `IP_VS_PENAME_MAXLEN`.
pub const PENAME_MAXLEN: usize = 16;
/// `IP_VS_PEDATA_MAXLEN` (what a `__u8` length allows anyway).
pub const PEDATA_MAXLEN: usize = 255;

/// Connection flags (`IP_VS_CONN_F_*`, include/uapi/linux/ip_vs.h) as carried in the
/// 32-bit `flags` (Linux sends `cp->flags & ~HASHED`; only bits 0..15 mean anything).
pub mod conn_flags {
    /// Mask of the forwarding method.
    pub const FWD_MASK: u32 = 0x0007;
    /// Masquerading (NAT).
    pub const MASQ: u32 = 0x0000;
    /// Local node.
    pub const LOCALNODE: u32 = 0x0001;
    /// Tunnelling.
    pub const TUNNEL: u32 = 0x0002;
    /// Direct routing.
    pub const DROUTE: u32 = 0x0003;
    /// Cache bypass.
    pub const BYPASS: u32 = 0x0004;
    /// Entry created by sync (set by the receiver).
    pub const SYNC: u32 = 0x0020;
    /// Hashed entry (masked off by the sender).
    pub const HASHED: u32 = 0x0040;
    /// No output packets.
    pub const NOOUTPUT: u32 = 0x0080;
    /// Not established.
    pub const INACTIVE: u32 = 0x0100;
    /// Must do output seq adjust.
    pub const OUT_SEQ: u32 = 0x0200;
    /// Must do input seq adjust.
    pub const IN_SEQ: u32 = 0x0400;
    /// In/out sequence mask: a sender adds the sequence option when any is set.
    pub const SEQ_MASK: u32 = 0x0600;
    /// No client port set yet.
    pub const NO_CPORT: u32 = 0x0800;
    /// Template (persistence), not a connection.
    pub const TEMPLATE: u32 = 0x1000;
    /// Forward only one packet (Linux never syncs these).
    pub const ONE_PACKET: u32 = 0x2000;
    /// Bits a backup takes from a message (`IP_VS_CONN_F_BACKUP_MASK`).
    pub const BACKUP_MASK: u32 = FWD_MASK | NOOUTPUT | INACTIVE | SEQ_MASK | NO_CPORT | TEMPLATE;
    /// Bits a backup updates on an existing entry (`IP_VS_CONN_F_BACKUP_UPD_MASK`).
    pub const BACKUP_UPD_MASK: u32 = INACTIVE | SEQ_MASK;
}

/// TCP states (`IP_VS_TCP_S_*`, include/net/ip_vs.h), the `state` of a TCP record.
pub mod tcp_state {
    pub const NONE: u16 = 0;
    pub const ESTABLISHED: u16 = 1;
    pub const SYN_SENT: u16 = 2;
    pub const SYN_RECV: u16 = 3;
    pub const FIN_WAIT: u16 = 4;
    pub const TIME_WAIT: u16 = 5;
    pub const CLOSE: u16 = 6;
    pub const CLOSE_WAIT: u16 = 7;
    pub const LAST_ACK: u16 = 8;
    pub const LISTEN: u16 = 9;
    pub const SYNACK: u16 = 10;
    /// One past the last: a backup skips a TCP record with `state >= LAST`.
    pub const LAST: u16 = 11;
}

/// UDP (`IP_VS_UDP_S_NORMAL`) and template (`IP_VS_CTPL_S_*`) states.
pub mod other_state {
    /// The one UDP state.
    pub const UDP_NORMAL: u16 = 0;
    /// Template, not yet assured.
    pub const TPL_NONE: u16 = 0;
    /// Template assured.
    pub const TPL_ASSURED: u16 = 1;
}

/// Option types. Linux's (`IPVS_OPT_*`) and rvs's own, which are all optional (0x40 set,
/// `type & !0x40` not 1..3) so that a Linux backup ignores them and keeps the record.
/// rvs layouts (all big-endian):
/// - [`RVS_FNAT_LADDR`](opt::RVS_FNAT_LADDR): FullNAT local address, `[lport be16][laddr]`,
///   6 bytes (IPv4) or 18 (IPv6).
/// - [`RVS_FNAT_SEQ`](opt::RVS_FNAT_SEQ): FullNAT sequence offset of the director-side
///   ISN rewrite, `[init_seq be32][delta be32][previous_delta be32]`, 12 bytes.
/// - [`RVS_SYNPROXY_SEQ`](opt::RVS_SYNPROXY_SEQ): SYNPROXY sequence delta between the
///   cookie ISN and the real server's ISN, `[init_seq be32][delta be32]`, 8 bytes.
/// - [`RVS_TCP_TS`](opt::RVS_TCP_TS): TCP timestamp offsets, `[tsval_offset be32]
///   [tsecr_offset be32]`, 8 bytes.
pub mod opt {
    /// `IPVS_OPT_SEQ_DATA`: in_seq and out_seq, 24 bytes.
    pub const SEQ_DATA: u8 = 1;
    /// `IPVS_OPT_PE_DATA`: persistence-engine data (e.g. a SIP Call-ID).
    pub const PE_DATA: u8 = 2;
    /// `IPVS_OPT_PE_NAME`: persistence-engine name, ≤ 16 bytes, no NUL.
    pub const PE_NAME: u8 = 3;
    /// `IPVS_OPT_F_PARAM` (`1 << (IPVS_OPT_PARAM - 1)`): the option may be ignored.
    pub const F_OPTIONAL: u8 = 0x40;
    /// rvs: FullNAT local address and port.
    pub const RVS_FNAT_LADDR: u8 = F_OPTIONAL | 0x10;
    /// rvs: FullNAT sequence adjustment.
    pub const RVS_FNAT_SEQ: u8 = F_OPTIONAL | 0x11;
    /// rvs: SYNPROXY sequence delta.
    pub const RVS_SYNPROXY_SEQ: u8 = F_OPTIONAL | 0x12;
    /// rvs: TCP timestamp offsets.
    pub const RVS_TCP_TS: u8 = F_OPTIONAL | 0x13;
    /// Bytes of the sequence option's data (`sizeof(struct ip_vs_sync_conn_options)`).
    pub const SEQ_DATA_LEN: usize = 24;
}

mod f {
    pub const RESERVED: usize = 0;
    pub const SYNCID: usize = 1;
    pub const SIZE: usize = 2;
    pub const NR_CONNS: usize = 4;
    pub const VERSION: usize = 5;
    pub const SPARE: usize = 6;

    pub const TYPE: usize = 0;
    pub const PROTOCOL: usize = 1;
    pub const VER_SIZE: usize = 2;
    pub const FLAGS: usize = 4;
    pub const STATE: usize = 8;
    pub const CPORT: usize = 10;
    pub const VPORT: usize = 12;
    pub const DPORT: usize = 14;
    pub const FWMARK: usize = 16;
    pub const TIMEOUT: usize = 20;
    pub const ADDRS: usize = 24;
}

/// Round up to 4 bytes, as the receiver steps from record to record.
pub(crate) const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A version 1 sync message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncMessage<T> {
    buffer: T,
}

impl<T> SyncMessage<T> {
    /// `sizeof(struct ip_vs_sync_mesg)`.
    pub const HEADER_LEN: usize = 8;

    /// Wrap without checking; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        SyncMessage { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> SyncMessage<T> {
    /// Wrap after the checks of `ip_vs_process_message`: 8 bytes at least, the size field
    /// equal to the buffer length (`Truncated` when larger, `Malformed` when smaller), and
    /// a version 1 header (reserved 0, version 1, spare 0; anything else is version 0,
    /// which this module does not read: `Malformed`). Records are checked as iterated.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < Self::HEADER_LEN {
            return Err(Error::Truncated);
        }
        let m = Self::new_unchecked(buffer);
        let size = usize::from(m.size());
        let len = m.buffer.as_ref().len();
        if size > len {
            return Err(Error::Truncated);
        }
        if size != len || m.reserved() != 0 || m.version() != SYNC_PROTO_VER || m.spare() != 0 {
            return Err(Error::Malformed);
        }
        Ok(m)
    }

    /// First byte, 0 in version 1 (version 0's `nr_conns`, so v0 receivers drop it).
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[f::RESERVED]
    }

    /// Sync ID of the sending director.
    pub fn syncid(&self) -> u8 {
        self.buffer.as_ref()[f::SYNCID]
    }

    /// Length of the whole message, header included.
    pub fn size(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::SIZE)
    }

    /// Number of connection records.
    pub fn nr_conns(&self) -> u8 {
        self.buffer.as_ref()[f::NR_CONNS]
    }

    /// Protocol version, 1.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[f::VERSION]
    }

    /// Spare 16 bits, 0.
    pub fn spare(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::SPARE)
    }

    /// The `nr_conns` records, walked as `ip_vs_process_message` does: each `Ok` record
    /// passed the per-record checks (it may still carry an unknown mandatory option,
    /// see [`SyncConn::unknown_mandatory`]); after an `Err` the walk ends.
    pub fn records(&self) -> SyncConns<'_> {
        let b = self.buffer.as_ref();
        let end = usize::from(self.size()).min(b.len());
        SyncConns { buf: &b[..end], off: Self::HEADER_LEN, left: self.nr_conns(), done: false }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SyncMessage<T> {
    /// Write a version 1 header: reserved 0, `syncid`, `size`, `nr_conns`, version 1,
    /// spare 0 (as `ip_vs_sync_buff_create` and the per-record updates leave it).
    pub fn set_header(&mut self, syncid: u8, size: u16, nr_conns: u8) {
        let b = self.buffer.as_mut();
        b[f::RESERVED] = 0;
        b[f::SYNCID] = syncid;
        set_u16(b, f::SIZE, size);
        b[f::NR_CONNS] = nr_conns;
        b[f::VERSION] = SYNC_PROTO_VER;
        set_u16(b, f::SPARE, 0);
    }
}

/// The records of a [`SyncMessage`].
#[derive(Debug, Clone)]
pub struct SyncConns<'a> {
    buf: &'a [u8],
    off: usize,
    left: u8,
    done: bool,
}

impl<'a> Iterator for SyncConns<'a> {
    type Item = Result<SyncConn<&'a [u8]>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = self.step();
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}

impl<'a> SyncConns<'a> {
    fn step(&mut self) -> Result<SyncConn<&'a [u8]>> {
        // "Dropping buffer, too small": a whole v4 header must be there to read size.
        let rest = self.buf.get(self.off..).ok_or(Error::Truncated)?;
        if rest.len() < SyncConn::<&[u8]>::V4_LEN {
            return Err(Error::Truncated);
        }
        let ver_size = get_u16(rest, f::VER_SIZE);
        let size = usize::from(ver_size & MAX_RECORD_LEN as u16);
        // "msg > buffer", then "Unknown version".
        let rec = rest.get(..size).ok_or(Error::Truncated)?;
        if ver_size >> SVER_SHIFT != 0 {
            return Err(Error::Malformed);
        }
        let conn = SyncConn::new_checked(rec)?;
        self.off += align4(size);
        Ok(conn)
    }
}

/// One connection record, exactly `size` bytes (no padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConn<T> {
    buffer: T,
}

/// One option of a record: its type byte as sent (optional bit included) and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOption<'a> {
    /// Type byte.
    pub kind: u8,
    /// Data, 1..=255 bytes.
    pub data: &'a [u8],
}

impl<T> SyncConn<T> {
    /// `sizeof(struct ip_vs_sync_v4)`.
    pub const V4_LEN: usize = 36;
    /// `sizeof(struct ip_vs_sync_v6)`.
    pub const V6_LEN: usize = 72;

    /// Wrap without checking; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        SyncConn { buffer }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]>> SyncConn<T> {
    /// Wrap a record of exactly its `size` bytes after the checks of
    /// `ip_vs_proc_sync_conn` that drop a whole message: type 0 or with bit 0 set, the
    /// fixed part present, a well-formed option list up to an unknown mandatory option.
    /// The `ver_size` field is not compared with the buffer length (the message walk
    /// cuts the record by it); use [`size`](Self::size) to check.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < Self::V4_LEN {
            return Err(Error::Truncated);
        }
        let c = Self::new_unchecked(buffer);
        let t = c.conn_type();
        if t & STYPE_F_INET6 == 0 && t != 0 {
            return Err(Error::Malformed);
        }
        if c.buffer.as_ref().len() < c.fixed_len() {
            return Err(Error::Truncated);
        }
        c.scan_options()?;
        Ok(c)
    }

    /// Bytes before the options: 36 or 72.
    pub fn fixed_len(&self) -> usize {
        if self.is_v6() {
            Self::V6_LEN
        } else {
            Self::V4_LEN
        }
    }

    /// Type byte (bit 0: IPv6).
    pub fn conn_type(&self) -> u8 {
        self.buffer.as_ref()[f::TYPE]
    }

    /// Whether the addresses are IPv6 (type bit 0, as Linux tests it).
    pub fn is_v6(&self) -> bool {
        self.conn_type() & STYPE_F_INET6 != 0
    }

    /// IP protocol.
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[f::PROTOCOL]
    }

    /// Record version (top 4 bits of `ver_size`), 0.
    pub fn version(&self) -> u8 {
        (get_u16(self.buffer.as_ref(), f::VER_SIZE) >> SVER_SHIFT) as u8
    }

    /// Record size without padding (low 12 bits of `ver_size`).
    pub fn size(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::VER_SIZE) & MAX_RECORD_LEN as u16
    }

    /// Connection flags ([`conn_flags`]).
    pub fn flags(&self) -> u32 {
        get_u32(self.buffer.as_ref(), f::FLAGS)
    }

    /// Connection state ([`tcp_state`], [`other_state`]).
    pub fn state(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::STATE)
    }

    /// Client port.
    pub fn cport(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::CPORT)
    }

    /// Virtual port.
    pub fn vport(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::VPORT)
    }

    /// Destination (real server) port.
    pub fn dport(&self) -> u16 {
        get_u16(self.buffer.as_ref(), f::DPORT)
    }

    /// Firewall mark.
    pub fn fwmark(&self) -> u32 {
        get_u32(self.buffer.as_ref(), f::FWMARK)
    }

    /// Timeout in seconds (`cp->timeout / HZ`; 0 makes the backup use its own table).
    pub fn timeout(&self) -> u32 {
        get_u32(self.buffer.as_ref(), f::TIMEOUT)
    }

    fn addr(&self, i: usize) -> IpAddr {
        let b = self.buffer.as_ref();
        if self.is_v6() {
            IpAddr::V6(get_ipv6(b, f::ADDRS + 16 * i))
        } else {
            IpAddr::V4(get_ipv4(b, f::ADDRS + 4 * i))
        }
    }

    /// Client address.
    pub fn caddr(&self) -> IpAddr {
        self.addr(0)
    }

    /// Virtual address.
    pub fn vaddr(&self) -> IpAddr {
        self.addr(1)
    }

    /// Destination (real server) address.
    pub fn daddr(&self) -> IpAddr {
        self.addr(2)
    }

    /// The option bytes: from the fixed part to the end of the buffer.
    pub fn options_bytes(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(self.fixed_len()..).unwrap_or(&[])
    }

    /// The options in order; an `Err` (length 0 or past the end) ends the walk.
    pub fn options(&self) -> SyncOptions<'_> {
        SyncOptions { rest: self.options_bytes() }
    }

    /// The first unknown option without the optional bit, if the walk reaches one:
    /// Linux skips the record (`retc = 20`) and goes on with the message.
    pub fn unknown_mandatory(&self) -> Option<u8> {
        self.scan_options().ok().flatten()
    }

    /// The option loop of `ip_vs_proc_sync_conn`: `Err` for what drops the message,
    /// `Ok(Some(type))` at an unknown mandatory option (the walk stops there, as Linux's).
    fn scan_options(&self) -> Result<Option<u8>> {
        let (mut seq, mut pe_data, mut pe_name) = (false, false, false);
        for o in self.options() {
            let o = o?;
            let seen = match o.kind & !opt::F_OPTIONAL {
                opt::SEQ_DATA if o.data.len() != opt::SEQ_DATA_LEN => return Err(Error::Malformed),
                opt::SEQ_DATA => &mut seq,
                opt::PE_DATA => &mut pe_data,
                opt::PE_NAME if o.data.len() > PENAME_MAXLEN => return Err(Error::Malformed),
                opt::PE_NAME => &mut pe_name,
                _ if o.kind & opt::F_OPTIONAL == 0 => return Ok(Some(o.kind)),
                _ => continue,
            };
            if *seen {
                return Err(Error::Malformed);
            }
            *seen = true;
        }
        Ok(None)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SyncConn<T> {
    /// Write the 24 bytes before the addresses. `size` must fit 12 bits (version 0).
    #[allow(clippy::too_many_arguments)]
    pub fn set_fixed(
        &mut self,
        conn_type: u8,
        protocol: u8,
        size: u16,
        flags: u32,
        state: u16,
        ports: (u16, u16, u16),
        fwmark: u32,
        timeout: u32,
    ) {
        let b = self.buffer.as_mut();
        b[f::TYPE] = conn_type;
        b[f::PROTOCOL] = protocol;
        set_u16(b, f::VER_SIZE, size & MAX_RECORD_LEN as u16);
        set_u32(b, f::FLAGS, flags);
        set_u16(b, f::STATE, state);
        set_u16(b, f::CPORT, ports.0);
        set_u16(b, f::VPORT, ports.1);
        set_u16(b, f::DPORT, ports.2);
        set_u32(b, f::FWMARK, fwmark);
        set_u32(b, f::TIMEOUT, timeout);
    }

    /// Write the three addresses (client, virtual, destination) after the fixed part.
    /// `Malformed` unless all three are of the family the type byte says.
    pub fn set_addrs(&mut self, addrs: [IpAddr; 3]) -> Result<()> {
        let v6 = self.is_v6();
        let b = self.buffer.as_mut();
        for (i, a) in addrs.into_iter().enumerate() {
            match (a, v6) {
                (IpAddr::V4(a), false) => set_ipv4(b, f::ADDRS + 4 * i, a),
                (IpAddr::V6(a), true) => set_ipv6(b, f::ADDRS + 16 * i, a),
                _ => return Err(Error::Malformed),
            }
        }
        Ok(())
    }

    /// The option bytes, writable.
    pub fn options_bytes_mut(&mut self) -> &mut [u8] {
        let fixed = self.fixed_len();
        self.buffer.as_mut().get_mut(fixed..).unwrap_or(&mut [])
    }
}

/// The options of a [`SyncConn`].
#[derive(Debug, Clone)]
pub struct SyncOptions<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SyncOptions<'a> {
    type Item = Result<SyncOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, tail) = self.rest.split_first()?;
        let r = match tail.split_first() {
            None => Err(Error::Truncated),
            Some((&0, _)) => Err(Error::Malformed),
            Some((&len, data)) if data.len() >= usize::from(len) => {
                let (data, rest) = data.split_at(usize::from(len));
                self.rest = rest;
                return Some(Ok(SyncOption { kind, data }));
            }
            Some(_) => Err(Error::Truncated),
        };
        self.rest = &[];
        Some(r)
    }
}
