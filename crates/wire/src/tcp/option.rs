//! TCP options (RFC 9293 §3.2): parser, iterator and writer for MSS (RFC 9293 §3.7.1),
//! window scale and timestamps (RFC 7323), SACK-permitted and SACK (RFC 2018).

use crate::{Error, Result};

/// TCP option kinds (IANA "TCP Option Kind Numbers").
pub mod tcp_option_kind {
    /// End of Option List.
    pub const EOL: u8 = 0;
    /// No-Operation.
    pub const NOP: u8 = 1;
    /// Maximum Segment Size.
    pub const MSS: u8 = 2;
    /// Window Scale.
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK Permitted.
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TIMESTAMPS: u8 = 8;
}

use tcp_option_kind as kind;

/// Most SACK blocks that fit in 40 bytes of options (2 + 4 × 8 = 34).
pub const MAX_SACK_BLOCKS: usize = 4;

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// Kind 0: end of the option list; what follows is padding.
    EndOfList,
    /// Kind 1: padding between options.
    NoOperation,
    /// Kind 2: the largest segment the sender can receive.
    MaxSegmentSize(u16),
    /// Kind 3: shift count of the sender's receive window (RFC 7323 §2).
    WindowScale(u8),
    /// Kind 4: the sender accepts SACK (RFC 2018 §2).
    SackPermitted,
    /// Kind 5: up to four (left edge, right edge) blocks (RFC 2018 §3), in order;
    /// unused slots are `None`.
    SackRange([Option<(u32, u32)>; MAX_SACK_BLOCKS]),
    /// Kind 8: TSval and TSecr (RFC 7323 §3).
    Timestamps {
        /// Timestamp value.
        tsval: u32,
        /// Timestamp echo reply.
        tsecr: u32,
    },
    /// Any other kind, with its data (without kind and length bytes).
    Unknown {
        /// Option kind.
        kind: u8,
        /// Option data.
        data: &'a [u8],
    },
}

fn be16(b: &[u8]) -> u16 {
    match b {
        [a, c, ..] => u16::from_be_bytes([*a, *c]),
        _ => 0,
    }
}

fn be32(b: &[u8]) -> u32 {
    match b {
        [a, c, d, e, ..] => u32::from_be_bytes([*a, *c, *d, *e]),
        _ => 0,
    }
}

impl<'a> TcpOption<'a> {
    /// Parse one option at the start of `buf`; returns the rest and the option.
    /// `Err(Truncated)` when the option runs past `buf`, `Err(Malformed)` for a length
    /// below 2 or one that does not fit the kind.
    pub fn parse(buf: &'a [u8]) -> Result<(&'a [u8], TcpOption<'a>)> {
        let (&k, after) = buf.split_first().ok_or(Error::Truncated)?;
        match k {
            kind::EOL => return Ok((&[], TcpOption::EndOfList)),
            kind::NOP => return Ok((after, TcpOption::NoOperation)),
            _ => {}
        }
        let len = usize::from(*after.first().ok_or(Error::Truncated)?);
        if len < 2 {
            return Err(Error::Malformed);
        }
        let data = buf.get(2..len).ok_or(Error::Truncated)?;
        let rest = buf.get(len..).ok_or(Error::Truncated)?;
        let opt = match (k, len) {
            (kind::MSS, 4) => TcpOption::MaxSegmentSize(be16(data)),
            (kind::WINDOW_SCALE, 3) => TcpOption::WindowScale(data.first().copied().unwrap_or(0)),
            (kind::SACK_PERMITTED, 2) => TcpOption::SackPermitted,
            (kind::SACK, _) if (len - 2) % 8 == 0 && (1..=MAX_SACK_BLOCKS).contains(&((len - 2) / 8)) => {
                let mut blocks = [None; MAX_SACK_BLOCKS];
                for (slot, c) in blocks.iter_mut().zip(data.chunks_exact(8)) {
                    *slot = Some((be32(c), be32(c.get(4..).unwrap_or(&[]))));
                }
                TcpOption::SackRange(blocks)
            }
            (kind::TIMESTAMPS, 10) => {
                TcpOption::Timestamps { tsval: be32(data), tsecr: be32(data.get(4..).unwrap_or(&[])) }
            }
            (kind::MSS | kind::WINDOW_SCALE | kind::SACK_PERMITTED | kind::SACK | kind::TIMESTAMPS, _) => {
                return Err(Error::Malformed)
            }
            (k, _) => TcpOption::Unknown { kind: k, data },
        };
        Ok((rest, opt))
    }

    /// The option kind.
    pub fn kind(&self) -> u8 {
        match self {
            TcpOption::EndOfList => kind::EOL,
            TcpOption::NoOperation => kind::NOP,
            TcpOption::MaxSegmentSize(_) => kind::MSS,
            TcpOption::WindowScale(_) => kind::WINDOW_SCALE,
            TcpOption::SackPermitted => kind::SACK_PERMITTED,
            TcpOption::SackRange(_) => kind::SACK,
            TcpOption::Timestamps { .. } => kind::TIMESTAMPS,
            TcpOption::Unknown { kind, .. } => *kind,
        }
    }

    /// Bytes the option takes on the wire.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange(b) => 2 + 8 * b.iter().flatten().count(),
            TcpOption::Timestamps { .. } => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Write the option at the start of `buf`; returns the bytes written.
    /// `Err(Truncated)` if `buf` is too short, `Err(Malformed)` for an option that
    /// cannot be encoded (an empty SACK, unknown data over 253 bytes, or an unknown
    /// option using kind 0 or 1).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        match self {
            TcpOption::SackRange(b) if b.iter().flatten().count() == 0 => return Err(Error::Malformed),
            TcpOption::Unknown { kind, data } if data.len() > 253 || *kind <= kind::NOP => {
                return Err(Error::Malformed)
            }
            _ => {}
        }
        let out = buf.get_mut(..len).ok_or(Error::Truncated)?;
        out[0] = self.kind();
        if len == 1 {
            return Ok(1);
        }
        out[1] = len as u8;
        let body = &mut out[2..];
        match self {
            TcpOption::MaxSegmentSize(m) => body.copy_from_slice(&m.to_be_bytes()),
            TcpOption::WindowScale(s) => body[0] = *s,
            TcpOption::SackRange(blocks) => {
                for (c, (l, r)) in body.chunks_exact_mut(8).zip(blocks.iter().flatten()) {
                    c[..4].copy_from_slice(&l.to_be_bytes());
                    c[4..].copy_from_slice(&r.to_be_bytes());
                }
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                body[..4].copy_from_slice(&tsval.to_be_bytes());
                body[4..].copy_from_slice(&tsecr.to_be_bytes());
            }
            TcpOption::Unknown { data, .. } => body.copy_from_slice(data),
            TcpOption::SackPermitted | TcpOption::EndOfList | TcpOption::NoOperation => {}
        }
        Ok(len)
    }
}

/// Write `opts` in order and pad with zeros (EOL, RFC 9293 §3.1) to a multiple of 4.
/// Returns the padded length, which is what the data offset must cover. Alignment
/// NOPs are the caller's to include, as stacks do (`NOP, WS` after `MSS`).
pub fn write_options(opts: &[TcpOption<'_>], buf: &mut [u8]) -> Result<usize> {
    let mut at = 0;
    for o in opts {
        at += o.emit(buf.get_mut(at..).ok_or(Error::Truncated)?)?;
    }
    let padded = (at + 3) & !3;
    buf.get_mut(at..padded).ok_or(Error::Truncated)?.fill(0);
    Ok(padded)
}

/// Bytes [`write_options`] will write for `opts`, padding included.
pub fn options_len(opts: &[TcpOption<'_>]) -> usize {
    (opts.iter().map(TcpOption::buffer_len).sum::<usize>() + 3) & !3
}

/// Iterator over the options of a header. Stops after End of Option List; yields one
/// `Err` and stops on a malformed option.
#[derive(Debug, Clone)]
pub struct TcpOptions<'a> {
    rest: &'a [u8],
}

impl<'a> TcpOptions<'a> {
    /// Iterate the raw options area `buf` (header bytes 20..data offset).
    pub fn new(buf: &'a [u8]) -> Self {
        TcpOptions { rest: buf }
    }
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = Result<TcpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match TcpOption::parse(self.rest) {
            Ok((rest, opt)) => {
                self.rest = rest;
                Some(Ok(opt))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// The options of a SYN that matter to a SYN proxy or MSS clamp, collected in one
/// pass. Malformed options end the walk; what was seen before is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynOptions {
    /// MSS option value.
    pub mss: Option<u16>,
    /// Window scale shift.
    pub window_scale: Option<u8>,
    /// SACK-permitted seen.
    pub sack_permitted: bool,
    /// (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
}

impl SynOptions {
    /// Collect from a raw options area, with [`TcpOptions`]'s rules (a malformed option
    /// ends the walk) but straight from the bytes: a SYN proxy runs this for every SYN
    /// of a flood, where the iterator's per-option `Result` and SACK decoding cost more
    /// than the rest of the walk.
    #[inline]
    pub fn parse(options: &[u8]) -> Self {
        let mut s = SynOptions::default();
        let mut at = 0;
        while let Some(&k) = options.get(at) {
            match k {
                kind::EOL => break,
                kind::NOP => {
                    at += 1;
                    continue;
                }
                _ => {}
            }
            let len = match options.get(at + 1) {
                Some(&l) if l >= 2 => usize::from(l),
                _ => break,
            };
            let Some(d) = options.get(at + 2..at + len) else { break };
            match (k, len) {
                (kind::MSS, 4) => s.mss = Some(be16(d)),
                (kind::WINDOW_SCALE, 3) => s.window_scale = d.first().copied(),
                (kind::SACK_PERMITTED, 2) => s.sack_permitted = true,
                (kind::TIMESTAMPS, 10) => s.timestamps = Some((be32(d), be32(d.get(4..).unwrap_or(&[])))),
                (kind::SACK, _) if (len - 2) % 8 == 0 && (1..=MAX_SACK_BLOCKS).contains(&((len - 2) / 8)) => {}
                (kind::MSS | kind::WINDOW_SCALE | kind::SACK_PERMITTED | kind::SACK | kind::TIMESTAMPS, _) => break,
                _ => {}
            }
            at += len;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte walk of `SynOptions::parse` against the iterator it stands for, on
    /// every well-formed layout and on random (mostly malformed) option bytes.
    #[test]
    fn syn_options_walk_matches_the_iterator() {
        fn by_iter(options: &[u8]) -> SynOptions {
            let mut s = SynOptions::default();
            for o in TcpOptions::new(options) {
                match o {
                    Ok(TcpOption::MaxSegmentSize(m)) => s.mss = Some(m),
                    Ok(TcpOption::WindowScale(w)) => s.window_scale = Some(w),
                    Ok(TcpOption::SackPermitted) => s.sack_permitted = true,
                    Ok(TcpOption::Timestamps { tsval, tsecr }) => s.timestamps = Some((tsval, tsecr)),
                    Ok(TcpOption::EndOfList) => break,
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            s
        }
        let linux = [2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7];
        let windows = [2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2];
        let sack = [1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 2, 4, 1, 0];
        for o in [&linux[..], &windows, &sack, &[], &[0, 2, 4, 5, 0xb4], &[2, 4, 5], &[3, 1, 2, 4, 1, 0]] {
            assert_eq!(SynOptions::parse(o), by_iter(o), "{o:?}");
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            let mut b = [0u8; 40];
            for v in b.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Mostly the kinds that matter and small lengths.
                *v = [0, 1, 2, 3, 4, 5, 8, 10, 2, 4, 3, 18, x as u8, 1, 1, 6][(x >> 40) as usize % 16];
            }
            let n = (x >> 20) as usize % 41;
            assert_eq!(SynOptions::parse(&b[..n]), by_iter(&b[..n]), "{:?}", &b[..n]);
        }
    }

    #[test]
    fn round_trip_each_kind() {
        let sack = TcpOption::SackRange([Some((1, 2)), Some((0xfffffff0, 5)), None, None]);
        let opts = [
            TcpOption::MaxSegmentSize(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamps { tsval: 0x01020304, tsecr: 0 },
            TcpOption::NoOperation,
            TcpOption::WindowScale(7),
            sack,
            TcpOption::Unknown { kind: 30, data: &[1, 2, 3] },
        ];
        let mut buf = [0xaau8; 60];
        let n = write_options(&opts, &mut buf).unwrap();
        assert_eq!(n, options_len(&opts));
        assert_eq!(n % 4, 0);
        let back: Vec<_> = TcpOptions::new(&buf[..n]).collect::<Result<_>>().unwrap();
        assert_eq!(&back[..opts.len()], &opts[..]);
        assert!(back[opts.len()..].iter().all(|o| *o == TcpOption::EndOfList));
    }

    #[test]
    fn bad_lengths() {
        assert_eq!(TcpOption::parse(&[2, 3, 5]), Err(Error::Malformed));
        assert_eq!(TcpOption::parse(&[2, 4, 5]), Err(Error::Truncated));
        assert_eq!(TcpOption::parse(&[30, 1]), Err(Error::Malformed));
        assert_eq!(TcpOption::parse(&[30]), Err(Error::Truncated));
        assert_eq!(TcpOption::parse(&[5, 2]), Err(Error::Malformed));
        assert_eq!(TcpOption::parse(&[5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(Error::Malformed));
        let v: Vec<_> = TcpOptions::new(&[1, 8, 3]).collect();
        assert_eq!(v, vec![Ok(TcpOption::NoOperation), Err(Error::Truncated)]);
        let mut small = [0u8; 3];
        assert_eq!(TcpOption::MaxSegmentSize(1).emit(&mut small), Err(Error::Truncated));
        assert_eq!(TcpOption::SackRange([None; 4]).emit(&mut [0u8; 40]), Err(Error::Malformed));
    }
}
