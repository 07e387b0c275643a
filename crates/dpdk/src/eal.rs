//! EAL lifetime: initialise once per process, clean up on drop.
//!
//! Soundness model: every DPDK object this crate creates (mempools, rings) registers in
//! a process-wide live count under [`STATE`]. `Drop for Eal` calls `rte_eal_cleanup`
//! only when that count is zero, so no mempool, ring or mbuf can outlive the memory
//! `rte_eal_cleanup` unmaps; otherwise it leaves the EAL up (the process is exiting
//! anyway) and says so on stderr.

use std::ffi::CString;
use std::marker::PhantomData;
use std::os::raw::c_char;
use std::sync::{Mutex, MutexGuard};

use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Uninit,
    Running,
    /// `rte_eal_init` failed; DPDK cannot be initialised again in this process.
    Failed,
    /// `rte_eal_cleanup` ran (or the `Eal` was dropped); DPDK cannot be used again.
    Finished,
}

pub(crate) struct State {
    pub(crate) phase: Phase,
    /// Mempools and rings not yet freed (including ones deliberately leaked because
    /// mbufs were still out).
    pub(crate) live_objects: usize,
}

pub(crate) static STATE: Mutex<State> = Mutex::new(State { phase: Phase::Uninit, live_objects: 0 });

/// Lock the global EAL state (poisoning is ignored: the state is plain data).
pub(crate) fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Lock the state and fail unless the EAL is running.
pub(crate) fn running(op: &'static str) -> Result<MutexGuard<'static, State>> {
    let s = state();
    match s.phase {
        Phase::Running => Ok(s),
        p => Err(Error::msg_errno(op, libc_enodev(), format!("EAL not running ({p:?})"))),
    }
}

/// True once `Eal::init` succeeded and until the `Eal` is dropped.
pub fn is_running() -> bool {
    state().phase == Phase::Running
}

const fn libc_enodev() -> i32 {
    19 // ENODEV
}

/// The initialised Environment Abstraction Layer. Keep it alive for as long as DPDK is
/// used; dropping it waits for every launched worker lcore and calls `rte_eal_cleanup`.
///
/// Not `Send`: create and drop it on the main thread (the main lcore).
#[derive(Debug)]
pub struct Eal {
    _main_thread: PhantomData<*const ()>,
}

impl Eal {
    /// `rte_eal_init` with `args`. A leading program name is optional: if `args[0]`
    /// starts with `-` (every EAL option does), `"rvs"` is used as argv[0].
    ///
    /// Once per process: a second call (even after a failed first one, or after the
    /// `Eal` was dropped) returns an error, since DPDK cannot re-initialise.
    pub fn init<S: AsRef<str>>(args: &[S]) -> Result<Eal> {
        const OP: &str = "rte_eal_init";
        let mut st = state();
        if st.phase != Phase::Uninit {
            return Err(Error::msg_errno(
                OP,
                114, // EALREADY
                format!("EAL can be initialised only once per process (now {:?})", st.phase),
            ));
        }
        let mut owned: Vec<CString> = Vec::with_capacity(args.len() + 1);
        match args.first() {
            Some(a) if !a.as_ref().starts_with('-') => {}
            _ => owned.push(CString::new("rvs").expect("no NUL")),
        }
        for a in args {
            let c = CString::new(a.as_ref())
                .map_err(|_| Error::msg_errno(OP, 22, format!("argument {:?} contains NUL", a.as_ref())))?;
            owned.push(c);
        }
        // rte_eal_init permutes argv (getopt) and may keep pointers into the strings, so
        // both the strings and the array are leaked: once per process, a few bytes.
        let strings: &'static mut [CString] = Vec::leak(owned);
        let argv: &'static mut [*mut c_char] = Vec::leak(strings.iter().map(|s| s.as_ptr() as *mut c_char).collect());
        st.phase = Phase::Failed;
        // SAFETY: argv holds argc valid NUL-terminated strings that live forever; the
        // phase check above under STATE's lock guarantees this is the only call in the
        // process.
        let ret = unsafe { dpdk_sys::rte_eal_init(argv.len() as i32, argv.as_mut_ptr()) };
        if ret < 0 {
            return Err(Error::from_rte_errno(OP));
        }
        st.phase = Phase::Running;
        Ok(Eal { _main_thread: PhantomData })
    }
}

impl Drop for Eal {
    fn drop(&mut self) {
        // SAFETY: the EAL is running (an Eal exists only after a successful init) and we
        // are on the main lcore (Eal is !Send); waiting has no other precondition. Done
        // before taking any lock so a finishing worker can still drop its objects.
        unsafe { dpdk_sys::rte_eal_mp_wait_lcore() };
        // Under the port registry lock: stop and close ports whose queues nobody holds
        // (releasing their mempool handles), then decide about the cleanup.
        crate::port::teardown(|| {
            let mut st = state();
            st.phase = Phase::Finished;
            if st.live_objects > 0 {
                eprintln!(
                    "dpdk: {} mempool(s)/ring(s) still alive at EAL teardown; skipping rte_eal_cleanup",
                    st.live_objects
                );
                return;
            }
            // SAFETY: no object this crate created is alive (live_objects == 0 under the
            // lock, and the phase is now Finished so none can be created), workers are
            // idle and port calls are blocked by the registry lock we are inside, so
            // nothing touches DPDK memory after the cleanup.
            let ret = unsafe { dpdk_sys::rte_eal_cleanup() };
            if ret < 0 {
                eprintln!("dpdk: {}", Error::from_errno("rte_eal_cleanup", -ret));
            }
        });
    }
}
