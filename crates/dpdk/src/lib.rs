//! Safe DPDK API. The only crate besides dpdk-sys that contains `unsafe`; every unsafe
//! block carries a `// SAFETY:` comment.
//!
//! - [`Eal`]: initialise once per process; drop cleans up.
//! - [`lcore`]: lcore ids, launching closures on workers, TSC time.
//! - [`Mempool`] / [`Mbuf`]: packet pools and owning single-segment packet buffers
//!   (implementing [`wire::PacketBuf`]).
//! - [`Port`] / [`RxQueue`] / [`TxQueue`]: ethdev ports and exclusively owned queues with
//!   allocation-free bursts over [`Burst`].
//! - [`Ring`]: rte_ring carrying mbufs or boxed messages between cores.
//! - [`Flow`]: an rte_flow rule steering a destination address and port bits to a queue.
//!
//! Ownership rules that keep this sound: an [`Mbuf`] is the only owner of its mbuf;
//! each rx/tx queue has exactly one owner ([`Port::rx_queue`] / [`Port::tx_queue`]);
//! a port keeps a handle on its rx mempool until closed; a mempool is freed only when
//! its last handle is dropped *and* every mbuf is back (otherwise leaked); and the EAL
//! is cleaned up on drop only when no mempool or ring is left.
//!
//! Testing: the tests under `tests/` initialise a real EAL (`--no-huge --no-pci
//! --vdev=net_ring0`, unique `--file-prefix`), so they need root. DPDK initialises once
//! per process, so every test file holds exactly one `#[test]`; both `cargo nextest
//! run -p dpdk` (the project's runner: one process per test) and `cargo test -p dpdk`
//! (one process per file) work.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod eal;
mod error;
pub mod flow;
mod huge;
pub mod lcore;
pub mod mbuf;
pub mod mempool;
pub mod port;
mod queue;
pub mod ring;

pub use eal::Eal;
pub use error::{strerror, Error, Result};
pub use flow::{Flow, QueueRule, L4};
pub use huge::use_hugepages_for_tables;
pub use lcore::{launch, lcore_id, main_lcore, pause, socket_id, tsc, tsc_hz, wait, wait_all, worker_lcores};
pub use mbuf::{free_burst, Burst, Mbuf, BURST};
pub use mempool::Mempool;
pub use port::{Link, Port, PortConf, PortStats, RssFields, RxQueue, TxQueue};

/// DPDK's software Toeplitz hash (`rte_softrss`) of `tuple` (host-order 32-bit words)
/// under a 40-byte `key`: the reference the NIC's hash is specified by.
pub fn softrss(tuple: &[u32], key: &[u8; 40]) -> u32 {
    // The hash reads words j and j + 1 of the key for input word j: bound the input.
    let words = tuple.len().min(9) as u32;
    // SAFETY: rte_softrss reads `words` words of `tuple` and at most words + 1 of the
    // 10-word key; both slices are that long.
    unsafe { dpdk_sys::rvs_softrss(tuple.as_ptr(), words, key.as_ptr()) }
}
pub use ring::{Ring, RingItem};

/// The raw bindings, for what this crate does not wrap yet.
pub use dpdk_sys as sys;

/// DPDK's default data room per mbuf: 2048 bytes of packet plus the 128-byte headroom.
pub const MBUF_DEFAULT_DATA_ROOM: u16 = 2048 + dpdk_sys::RVS_PKTMBUF_HEADROOM as u16;
