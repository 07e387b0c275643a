//! Shared by the integration tests: golden vectors, hex decoding, the all-fields walk.
#![allow(dead_code)]

pub mod emit_vectors;
pub mod formats;
pub mod ipvs_sync;
pub mod vectors;
pub mod walk;

/// Decode a hex string (no separators).
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() & 1 == 0, "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit")).collect()
}

/// Lower-case hex of `b`, for readable byte-for-byte comparisons.
pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every golden frame, decoded.
pub fn all_frames() -> Vec<(&'static str, Vec<u8>)> {
    vectors::ALL.iter().map(|(n, h)| (*n, hex(h))).collect()
}

/// Every emit golden (frames the build side must produce), decoded.
pub fn emit_frames() -> Vec<(&'static str, Vec<u8>)> {
    emit_vectors::ALL.iter().map(|(n, h)| (*n, hex(h))).collect()
}
