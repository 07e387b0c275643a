//! Logical cores: ids, launching closures on worker lcores, TSC time.

use std::os::raw::{c_int, c_void};

use crate::{eal, Error, Result};

/// `LCORE_ID_ANY`: what [`lcore_id`] returns on a thread that is not an EAL lcore.
pub const LCORE_ID_ANY: u32 = u32::MAX;

/// The calling thread's lcore id (`rte_lcore_id`), [`LCORE_ID_ANY`] off-EAL.
#[inline]
pub fn lcore_id() -> u32 {
    // SAFETY: reads a thread-local; valid on any thread, before or after EAL init.
    unsafe { dpdk_sys::rvs_lcore_id() }
}

/// The main lcore's id (`rte_get_main_lcore`).
pub fn main_lcore() -> u32 {
    // SAFETY: reads the EAL's static configuration; no preconditions.
    unsafe { dpdk_sys::rte_get_main_lcore() }
}

/// Number of enabled lcores, main included (`rte_lcore_count`).
pub fn lcore_count() -> u32 {
    // SAFETY: reads the EAL's static configuration; no preconditions.
    unsafe { dpdk_sys::rte_lcore_count() }
}

/// Enabled worker lcores (all enabled lcores but the main one), ascending.
pub fn worker_lcores() -> Vec<u32> {
    let mut out = Vec::new();
    let mut i: u32 = u32::MAX; // -1: rte_get_next_lcore starts after it
    loop {
        // SAFETY: rte_get_next_lcore only reads the static lcore role table; any `i`
        // is accepted (it is incremented and bounds-checked against RTE_MAX_LCORE).
        i = unsafe { dpdk_sys::rte_get_next_lcore(i, 1, 0) };
        if i >= dpdk_sys::RTE_MAX_LCORE {
            return out;
        }
        out.push(i);
    }
}

/// NUMA socket of the calling lcore (`rte_socket_id`); -1 (`SOCKET_ID_ANY`) off-EAL.
pub fn socket_id() -> i32 {
    // SAFETY: reads a thread-local; valid on any thread.
    unsafe { dpdk_sys::rte_socket_id() as i32 }
}

type Job = Box<dyn FnOnce() -> i32 + Send + 'static>;

extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` came from Box::into_raw(Box<Job>) in `launch`, and DPDK calls the
    // lcore function exactly once per successful rte_eal_remote_launch, so we are the
    // unique owner.
    let job: Box<Job> = unsafe { Box::from_raw(arg as *mut Job) };
    // A panic must not unwind into C. With panic=unwind we report it as -1 (the panic
    // hook has already printed the message); with panic=abort the process aborts.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or(-1)
}

/// Run `f` on worker lcore `lcore` (`rte_eal_remote_launch`). Call from the main lcore.
/// The closure's return value is what [`wait`] returns for that lcore. Fails if the
/// EAL is not running, `lcore` is not an enabled worker, or it is busy.
pub fn launch<F: FnOnce() -> i32 + Send + 'static>(lcore: u32, f: F) -> Result<()> {
    const OP: &str = "rte_eal_remote_launch";
    drop(eal::running(OP)?);
    if lcore_id() != main_lcore() {
        return Err(Error::msg_errno(OP, 1, "must be called from the main lcore"));
    }
    if !worker_lcores().contains(&lcore) {
        return Err(Error::msg_errno(OP, 22, format!("lcore {lcore} is not an enabled worker lcore")));
    }
    let job: Box<Job> = Box::new(Box::new(f));
    let arg = Box::into_raw(job) as *mut c_void;
    // SAFETY: `trampoline` matches lcore_function_t; `arg` is a leaked Box<Job> that the
    // trampoline reclaims exactly once. `lcore` is an enabled worker of a running EAL
    // and we are on the main lcore, as rte_eal_remote_launch requires.
    let ret = unsafe { dpdk_sys::rte_eal_remote_launch(Some(trampoline), arg, lcore) };
    if ret < 0 {
        // SAFETY: the launch failed (worker busy), so DPDK never took `arg`; we still
        // own it and free it here, once.
        drop(unsafe { Box::from_raw(arg as *mut Job) });
        return Err(Error::from_errno(OP, -ret));
    }
    Ok(())
}

/// Wait for worker `lcore` to finish its job and return that job's return value
/// (`rte_eal_wait_lcore`; in DPDK 22.11 an idle lcore returns its *last* job's value,
/// 0 if it never ran one). Call from the main lcore.
pub fn wait(lcore: u32) -> i32 {
    if lcore >= dpdk_sys::RTE_MAX_LCORE || !eal::is_running() {
        return 0;
    }
    // SAFETY: lcore < RTE_MAX_LCORE (the function indexes lcore_config with it) and the
    // EAL is running; an idle or disabled lcore (state WAIT) returns at once.
    unsafe { dpdk_sys::rte_eal_wait_lcore(lcore) }
}

/// Wait for every worker lcore to finish (`rte_eal_mp_wait_lcore`).
pub fn wait_all() {
    if !eal::is_running() {
        return;
    }
    // SAFETY: the EAL is running; the call only waits on lcore states.
    unsafe { dpdk_sys::rte_eal_mp_wait_lcore() }
}

/// Time stamp counter (`rte_rdtsc`).
#[inline]
pub fn tsc() -> u64 {
    // SAFETY: executes rdtsc; no preconditions.
    unsafe { dpdk_sys::rvs_rdtsc() }
}

/// TSC ticks per second (`rte_get_tsc_hz`; measured at EAL init, 0 before it).
pub fn tsc_hz() -> u64 {
    // SAFETY: reads a value set at EAL init; no preconditions.
    unsafe { dpdk_sys::rvs_get_tsc_hz() }
}

/// CPU pause hint for spin loops (`rte_pause`).
#[inline]
pub fn pause() {
    // SAFETY: executes the pause instruction; no preconditions.
    unsafe { dpdk_sys::rvs_pause() }
}
