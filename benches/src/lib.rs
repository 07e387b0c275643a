//! Benchmark harness support.
#![forbid(unsafe_code)]
