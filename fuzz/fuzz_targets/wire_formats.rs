//! The control formats in `wire` on arbitrary bytes: IPVS sync v1 messages and records,
//! PROXY v1/v2 headers and TLVs, the TOA option (parse, strip, insert with pruning), with
//! their round trips asserted. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The same walk tests/no_panic.rs runs, shared by path.
#[path = "../../crates/wire/tests/common/formats.rs"]
mod formats;

fuzz_target!(|data: &[u8]| {
    formats::walk_formats(data);
});
