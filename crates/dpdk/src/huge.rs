//! DPDK hugepage memory for [`rvs_hint::HugeSlice`]: the connection tables and their
//! indexes live in the EAL's reserved 2 MiB pages, on the socket of the lcore that
//! builds them, when the EAL runs with hugepages.

use std::ptr::NonNull;

use rvs_hint::HugeAlloc;

use crate::eal::{state, Phase};

struct RteMalloc;

// SAFETY: rte_malloc_socket returns memory valid for `bytes` bytes aligned as asked
// (64), owned by the caller until rte_free. Each allocation counts as a live EAL object,
// so the EAL is never cleaned up under it.
unsafe impl HugeAlloc for RteMalloc {
    fn alloc(&self, bytes: usize) -> Option<NonNull<u8>> {
        let mut st = state();
        if st.phase != Phase::Running {
            return None;
        }
        // SAFETY: the EAL is running (checked under its lock, which also keeps it so);
        // the type name is a static C string; rte_socket_id is the caller's lcore socket
        // (SOCKET_ID_ANY semantics for non-EAL threads).
        let p =
            unsafe { dpdk_sys::rte_malloc_socket(c"rvs_huge".as_ptr(), bytes, 64, dpdk_sys::rte_socket_id() as i32) };
        let p = NonNull::new(p.cast::<u8>())?;
        st.live_objects += 1;
        Some(p)
    }

    unsafe fn free(&self, p: NonNull<u8>, _bytes: usize) {
        let mut st = state();
        // SAFETY: `p` came from rte_malloc_socket above (caller's contract) and the EAL
        // is still up: this allocation is among live_objects, which blocks its cleanup.
        unsafe { dpdk_sys::rte_free(p.as_ptr().cast()) };
        st.live_objects -= 1;
    }
}

static RTE_MALLOC: RteMalloc = RteMalloc;

/// Put later [`rvs_hint::HugeSlice`]s (connection tables, their indexes) in the EAL's
/// hugepages when it has any. Returns whether it does; without hugepages (`--no-huge`)
/// the slices use transparent huge pages instead.
pub fn use_hugepages_for_tables() -> bool {
    if !crate::eal::is_running() {
        return false;
    }
    // SAFETY: a read of EAL configuration after a successful init.
    let has = unsafe { dpdk_sys::rte_eal_has_hugepages() } != 0;
    has && rvs_hint::set_hugepage_allocator(&RTE_MALLOC)
}
