//! Load-balancing logic, DPDK-free: everything that decides what happens to a packet.
#![forbid(unsafe_code)]
