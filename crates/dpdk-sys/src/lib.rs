//! Raw DPDK FFI.
