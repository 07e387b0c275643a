//! Safe DPDK API. The only crate besides dpdk-sys that contains `unsafe`.
