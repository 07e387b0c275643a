//! Packet views in the smoltcp `wire` style: each protocol is a typed view over a byte
//! buffer, built with `new_checked` (which verifies every length the accessors rely on),
//! after which accessors cannot panic. One file per protocol.
#![forbid(unsafe_code)]

pub mod buf;

pub use buf::{PacketBuf, VecBuf};
