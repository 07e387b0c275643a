//! Walk a frame Ethernet → VLAN → ARP | IPv4 | IPv6 (extension headers) → TCP (options) |
//! UDP | ICMPv4 | ICMPv6 (quoted packets) | IPIP, reading every field of every view that
//! `new_checked` accepts, then drive the setters and incremental-checksum rewrites on a
//! copy. Any panic is a bug: accessors after `new_checked` must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The same walk the no-panic property tests run, shared by path.
#[path = "../../crates/wire/tests/common/walk.rs"]
mod walk;

fuzz_target!(|data: &[u8]| {
    let _ = std::hint::black_box(walk::walk_frame(data));
    let mut copy = data.to_vec();
    let _ = std::hint::black_box(walk::walk_frame_mut(&mut copy));
});
