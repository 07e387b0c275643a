//! Load-balancing logic, DPDK-free: everything that decides what happens to a packet.
//! Runs over any [`wire::PacketBuf`], so it is tested on plain byte buffers.
#![forbid(unsafe_code)]

pub mod addr;
pub mod capture;
pub mod conn;
pub mod sched;
pub mod service;
pub mod timer;

pub mod ctl;
pub mod forward;
pub mod l3;
pub mod neigh;
pub mod route;
pub mod rss;
pub mod stats;
pub mod sync;
