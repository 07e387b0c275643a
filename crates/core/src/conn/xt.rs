//! TCP state a FullNAT or SYN-proxied connection needs beyond its cache line: the
//! sequence offsets both ways, where the client's address goes (TOA, PROXY protocol),
//! each side's next sequence number (for the RSTs sent when it expires), and what the
//! SYN proxy agreed with the client (window scale, timestamps offset). A cache line per
//! connection, from a preallocated pool allocated with the first service needing it.

use rvs_hint::HugeSlice;

/// TOA goes on the client's segments that complete the handshake.
pub const X_TOA: u8 = 1;
/// A PROXY protocol header goes before the client's first data.
pub const X_PP_V1: u8 = 2;
pub const X_PP_V2: u8 = 4;
/// The PROXY header was sent: `delta` includes `pp_len`.
pub const X_PP_SENT: u8 = 8;
/// The real server acknowledged the PROXY header: no retransmission can need it.
pub const X_PP_ACKED: u8 = 16;
/// The real server's SYN-ACK was seen (`rs_isn1` is set).
pub const X_RS_SYNACK: u8 = 32;
/// Both sides have sent something since the SYN: an expiry resets both.
pub const X_SEEN_BOTH: u8 = 64;
/// Opened by the SYN proxy: the real server's numbers are translated too.
pub const X_SYNPROXY: u8 = 128;

/// SYN proxy: the real server's SYN-ACK is awaited (client segments are held).
pub const S_WAIT: u8 = 1;
/// The client agreed timestamps (the cookie's); `ts_out` translates them.
pub const S_TS: u8 = 2;
/// The client agreed SACK.
pub const S_SACK: u8 = 4;

/// One FullNAT TCP connection's extra state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct TcpExt {
    /// Added to the client's sequence numbers towards the real server (and taken from
    /// the real server's acknowledgements): the new ISN's offset, plus the PROXY header.
    pub delta: u32,
    /// The real server's ISN + 1: the client's acknowledgement while the handshake is
    /// unfinished (DPVS puts TOA on those segments).
    pub rs_isn1: u32,
    /// The client's first data byte (client's numbering): the PROXY header goes before
    /// it, on its first transmission and on retransmissions.
    pub pp_seq: u32,
    /// Next sequence number of each side as the real server numbers them: the client's
    /// (after `delta`) and the real server's own.
    pub c_nxt: u32,
    pub r_nxt: u32,
    pub flags: u8,
    /// Length of the PROXY header once sent.
    pub pp_len: u8,
    /// SYN proxy: `S_*` bits.
    pub sp: u8,
    /// SYN proxy: the window scale the client was told (its cookie SYN-ACK's; 15 when
    /// none was agreed) and the real server's.
    pub ws_vs: u8,
    pub ws_rs: u8,
    /// SYN proxy: the client's window scale and MSS, for the SYN to the real server.
    pub ws_client: u8,
    pub mss: u16,
    /// SYN proxy: the cookie (the director's ISN towards the client) and the offset
    /// added to the real server's sequence numbers towards the client (its ack back).
    pub isn_vs: u32,
    pub out_delta: u32,
    /// SYN proxy: added to the real server's TSval towards the client (the client's
    /// TSecr back): the cookie SYN-ACK's clock continued.
    pub ts_out: u32,
    /// SYN proxy: the client's TSval and the director's (the cookie SYN-ACK's), for the
    /// SYN to the real server and the offset. Once the server answered, `ts_client` holds
    /// the ack of the server's last pure ACK and `mss` how many times in a row it came
    /// (the ACK storm guard); neither is needed again.
    pub ts_client: u32,
    pub ts_vs: u32,
    /// FullNAT: added to the client's TSval towards the real server (its TSecr back),
    /// so the server sees one clock, the director's, from every client a local port
    /// serves (its PAWS check then holds across clients).
    pub ts_in: u32,
}

impl TcpExt {
    #[inline]
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// A fixed number of records and a free stack.
pub(crate) struct XtPool {
    recs: HugeSlice<TcpExt>,
    free: Vec<u32>,
}

impl XtPool {
    pub fn new(n: u32) -> XtPool {
        XtPool { recs: HugeSlice::new(n as usize, TcpExt::default()), free: (0..n).rev().collect() }
    }
    pub fn capacity(&self) -> usize {
        self.recs.len()
    }
    pub fn in_use(&self) -> usize {
        self.recs.len() - self.free.len()
    }
    pub fn heap_bytes(&self) -> usize {
        self.recs.len() * std::mem::size_of::<TcpExt>() + self.free.capacity() * 4
    }
    pub fn alloc(&mut self, x: TcpExt) -> Option<u32> {
        let i = self.free.pop()?;
        match self.recs.get_mut(i as usize) {
            Some(r) => {
                *r = x;
                Some(i)
            }
            None => None,
        }
    }
    pub fn release(&mut self, i: u32) {
        if (i as usize) < self.recs.len() && self.free.len() < self.free.capacity() {
            self.free.push(i);
        }
    }
    #[inline]
    pub fn get(&self, i: u32) -> Option<&TcpExt> {
        self.recs.get(i as usize)
    }
    #[inline]
    pub fn get_mut(&mut self, i: u32) -> Option<&mut TcpExt> {
        self.recs.get_mut(i as usize)
    }
}

const _: () = assert!(std::mem::size_of::<TcpExt>() == 64);
