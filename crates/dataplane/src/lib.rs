//! The poll-mode worker: one per lcore, each with its own rx and tx queue on every port,
//! in DPDK l3fwd's shape: burst rx, per-packet decisions by `rvs_core`, tx buffered per
//! port and drained when a burst fills or every ~100 µs.
#![forbid(unsafe_code)]

mod io;
pub mod kernel;
mod tap;
mod worker;

pub use worker::{run, NeighInbox, NeighUpdate, WorkerConfig};
