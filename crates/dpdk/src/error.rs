//! Errors from DPDK calls: the operation that failed plus the errno DPDK reported
//! (a negative return value or `rte_errno`), rendered with `rte_strerror`.

use std::ffi::CStr;
use std::fmt;

/// A failed DPDK operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    op: &'static str,
    errno: Option<i32>,
    detail: Option<String>,
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// `op` failed with the (positive) errno `errno`.
    pub fn from_errno(op: &'static str, errno: i32) -> Error {
        Error { op, errno: Some(errno.abs()), detail: None }
    }

    /// `op` failed and DPDK left the reason in `rte_errno` (NULL-returning calls).
    pub fn from_rte_errno(op: &'static str) -> Error {
        // SAFETY: reads this thread's rte_errno (a thread-local int); no preconditions.
        let e = unsafe { dpdk_sys::rvs_errno() };
        Error::from_errno(op, e)
    }

    /// `Ok(ret)` for `ret >= 0`, else the error for the negative errno DPDK returned.
    pub fn check(op: &'static str, ret: i32) -> Result<i32> {
        if ret < 0 {
            Err(Error::from_errno(op, -ret))
        } else {
            Ok(ret)
        }
    }

    /// An error detected on the Rust side (bad argument, wrong state).
    pub fn msg(op: &'static str, detail: impl Into<String>) -> Error {
        Error { op, errno: None, detail: Some(detail.into()) }
    }

    /// An error detected on the Rust side that also maps to an errno.
    pub fn msg_errno(op: &'static str, errno: i32, detail: impl Into<String>) -> Error {
        Error { op, errno: Some(errno), detail: Some(detail.into()) }
    }

    /// The DPDK operation (C function or API step) that failed.
    pub fn op(&self) -> &'static str {
        self.op
    }

    /// The errno, if DPDK reported one.
    pub fn errno(&self) -> Option<i32> {
        self.errno
    }
}

/// `rte_strerror(errno)` as an owned string (covers both libc and DPDK's own codes).
pub fn strerror(errno: i32) -> String {
    // SAFETY: rte_strerror accepts any int and returns a pointer to a NUL-terminated
    // string (static, or a per-thread buffer), valid until the next call on this
    // thread; we copy it out immediately.
    unsafe {
        let p = dpdk_sys::rte_strerror(errno);
        if p.is_null() {
            return format!("errno {errno}");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        if let Some(e) = self.errno {
            write!(f, ": {} (errno {e})", strerror(e))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
