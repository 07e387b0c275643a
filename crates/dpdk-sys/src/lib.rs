//! Raw DPDK FFI: bindgen output over the system DPDK (pkg-config `libdpdk`) plus a C shim
//! (`csrc/shim.c`) that exports DPDK's static-inline data-path functions as `rvs_*`
//! symbols and macro-only constants as `RVS_*`. Everything here is `unsafe` to use; the
//! safe API lives in the `dpdk` crate.
#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case, dead_code)]
#![allow(clippy::all)]
#![allow(rustdoc::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

/// RTE_ETH_RSS_L3_SRC_ONLY / L3_DST_ONLY (rte_ethdev.h): bindgen does not keep bits 62
/// and 63 as constants; shim.c's static assertions hold these to the headers.
pub const RVS_ETH_RSS_L3_SRC_ONLY: u64 = 1 << 63;
pub const RVS_ETH_RSS_L3_DST_ONLY: u64 = 1 << 62;

/// The libdpdk version these bindings were generated from (pkg-config --modversion).
pub const DPDK_VERSION: &str = env!("RVS_DPDK_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_c() {
        assert_eq!(core::mem::size_of::<rte_mbuf>(), 128);
        assert_eq!(core::mem::align_of::<rte_mbuf>(), 64);
        assert_eq!(core::mem::size_of::<rte_ether_addr>(), 6);
        assert_eq!(RVS_PKTMBUF_HEADROOM, 128);
        assert!(RVS_ETH_RSS_IP != 0 && RVS_ETH_RSS_TCP != 0 && RVS_ETH_RSS_UDP != 0);
        assert_eq!(RVS_MBUF_F_RX_RSS_HASH, 1 << 1);
        assert!(RVS_MAX_LCORE >= 2);
    }
}
