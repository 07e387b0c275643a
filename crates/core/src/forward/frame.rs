//! A frame the balancer builds beside the packet it processes (FullNAT's standalone
//! PROXY segment, the SYN proxy's SYN to a real server), in a fixed buffer: built and
//! rewritten with the same code as received packets (it is a [`PacketBuf`]), copied
//! into an mbuf by the director. No allocation.

use wire::PacketBuf;

/// Room in front for headers the rewrites may add (IPIP's, never used here yet).
const HEADROOM: usize = 64;
const SIZE: usize = 448;

pub(crate) struct FrameBuf {
    buf: [u8; SIZE],
    start: usize,
    end: usize,
}

impl FrameBuf {
    /// A copy of `bytes`, `None` if they do not fit.
    pub fn from_slice(bytes: &[u8]) -> Option<FrameBuf> {
        let mut f = FrameBuf { buf: [0; SIZE], start: HEADROOM, end: HEADROOM + bytes.len() };
        f.buf.get_mut(HEADROOM..HEADROOM + bytes.len())?.copy_from_slice(bytes);
        Some(f)
    }
}

impl PacketBuf for FrameBuf {
    fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }
    fn data_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.start..self.end).unwrap_or_default()
    }
    fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        self.start = self.start.checked_sub(n)?;
        self.buf.get_mut(self.start..self.end)
    }
    fn adj(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.start += n;
        true
    }
    fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        let end = self.end.checked_add(n).filter(|&e| e <= SIZE)?;
        let old = self.end;
        self.end = end;
        self.buf.get_mut(old..end)
    }
    fn trim(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.end -= n;
        true
    }
    fn headroom(&self) -> usize {
        self.start
    }
}
