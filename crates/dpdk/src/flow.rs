//! rte_flow rules that send matching packets to one rx queue.
//!
//! One kind of rule, the one FullNAT needs: "ingress, ETH / IPV4 or IPV6 (dst exact) /
//! TCP or UDP (dst port under a mask), QUEUE". A [`Flow`] is a handle; the raw
//! `rte_flow` pointer stays in the port registry, so that:
//! - every flow operation runs under the registry lock: rte_flow calls on a port are
//!   not thread-safe unless the device sets `RTE_ETH_DEV_FLOW_OPS_THREAD_SAFE`, and this
//!   way none ever overlap, whichever thread calls;
//! - [`Port::stop`], [`Port::close`], [`Port::configure`] and the EAL teardown destroy
//!   the port's rules first (DPDK keeps rules across a restart only on devices with
//!   `RTE_ETH_DEV_CAPA_FLOW_RULE_KEEP`, and a closed port's rules are gone), and a
//!   handle whose rule went that way is a no-op: no pointer is ever used after its port
//!   released it.

use std::ffi::{c_void, CStr};
use std::net::IpAddr;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};

use dpdk_sys as sys;

use crate::port::locked;
use crate::{Error, Port, Result};

/// The transport protocol a rule matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum L4 {
    Tcp,
    Udp,
}

/// "Packets to `dst`, protocol `l4`, whose destination port has `dst_port` in the bits of
/// `dst_port_mask`, go to rx queue `queue`."
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QueueRule {
    pub dst: IpAddr,
    pub l4: L4,
    pub dst_port: u16,
    pub dst_port_mask: u16,
    pub queue: u16,
}

/// An installed rule. Dropping it destroys the rule (errors ignored; see
/// [`Flow::destroy`] to see them).
#[derive(Debug)]
pub struct Flow {
    port: u16,
    id: u64,
}

/// A created `rte_flow`, owned by the registry slot of its port.
pub(crate) struct RawFlow(NonNull<sys::rte_flow>);

// SAFETY: the pointer is an opaque handle DPDK gave us; it is only passed back to
// rte_flow_destroy for its own port, under the registry lock, so moving it between
// threads (the registry is a static Mutex) shares nothing unsynchronised.
unsafe impl Send for RawFlow {}

/// The rules of one port.
#[derive(Default)]
pub(crate) struct Flows(Vec<(u64, RawFlow)>);

/// Handle ids, unique in the process: a slot is reset when its port closes, so ids
/// must not restart with it.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Flows {
    /// Destroy every rule of `port` (the EAL runs, and the caller holds the registry
    /// lock). Errors are ignored: the port is about to stop or close, which releases
    /// them anyway.
    pub(crate) fn destroy_all(&mut self, port: u16) {
        for (_, f) in self.0.drain(..) {
            let mut err = sys::rte_flow_error::default();
            // SAFETY: `f` was created on `port`, which is still configured (stop/close
            // come after this), and is destroyed exactly once (drained from the list).
            unsafe { sys::rte_flow_destroy(port, f.0.as_ptr(), &mut err) };
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl Port {
    /// `rte_flow_validate` for `rule`: whether the device would accept it.
    pub fn flow_validate(&self, rule: &QueueRule) -> Result<()> {
        let _g = locked("rte_flow_validate", self.id())?;
        call(self.id(), rule, false).map(drop)
    }

    /// Validate, then create `rule` (`rte_flow_create`).
    pub fn flow_create(&self, rule: &QueueRule) -> Result<Flow> {
        let mut g = locked("rte_flow_create", self.id())?;
        call(self.id(), rule, false)?;
        let raw = call(self.id(), rule, true)?
            .ok_or_else(|| Error::msg("rte_flow_create", "the driver returned no rule and no error"))?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        g[usize::from(self.id())].flows.0.push((id, RawFlow(raw)));
        Ok(Flow { port: self.id(), id })
    }

    /// Rules created on this port and not destroyed.
    pub fn flow_count(&self) -> usize {
        crate::port::ports()[usize::from(self.id())].flows.len()
    }
}

impl Flow {
    /// The port the rule is on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `rte_flow_destroy`. A rule its port already released (stopped, closed, EAL torn
    /// down) is simply forgotten.
    pub fn destroy(mut self) -> Result<()> {
        let r = self.release();
        self.id = 0;
        r
    }

    fn release(&mut self) -> Result<()> {
        const OP: &str = "rte_flow_destroy";
        let mut g = crate::port::ports();
        let flows = &mut g[usize::from(self.port)].flows.0;
        let Some(i) = flows.iter().position(|(id, _)| *id == self.id) else { return Ok(()) };
        let (_, f) = flows.swap_remove(i);
        // Rules live in a slot only while the EAL runs (teardown destroys them first).
        drop(crate::eal::running(OP)?);
        let mut err = sys::rte_flow_error::default();
        // SAFETY: `f` was created on this port and is still registered, so the port has
        // not been stopped, reconfigured or closed since; it is removed from the
        // registry, so it is destroyed exactly once. The registry lock serialises flow
        // calls.
        let ret = unsafe { sys::rte_flow_destroy(self.port, f.0.as_ptr(), &mut err) };
        if ret < 0 {
            return Err(flow_error(OP, -ret, &err, None));
        }
        Ok(())
    }
}

impl Drop for Flow {
    fn drop(&mut self) {
        if self.id != 0 {
            let _ = self.release();
        }
    }
}

/// Build the rule and run `rte_flow_validate` (`create` false) or `rte_flow_create`.
/// The caller holds the registry lock and has checked the port.
fn call(port: u16, r: &QueueRule, create: bool) -> Result<Option<NonNull<sys::rte_flow>>> {
    let mut attr = sys::rte_flow_attr::default();
    attr.set_ingress(1);
    // Spec and mask of each layer; pointers are taken once they are filled in.
    let mut ip4 = [sys::rte_flow_item_ipv4::default(); 2];
    let mut ip6 = [sys::rte_flow_item_ipv6::default(); 2];
    let mut tcp = [sys::rte_flow_item_tcp::default(); 2];
    let mut udp = [sys::rte_flow_item_udp::default(); 2];
    let (l3_name, l4_name) =
        (if r.dst.is_ipv4() { "IPV4" } else { "IPV6" }, if r.l4 == L4::Tcp { "TCP" } else { "UDP" });
    let l3 = match r.dst {
        IpAddr::V4(a) => {
            ip4[0].hdr.dst_addr = u32::from(a).to_be();
            ip4[1].hdr.dst_addr = u32::MAX;
            item(sys::RTE_FLOW_ITEM_TYPE_IPV4, &ip4)
        }
        IpAddr::V6(a) => {
            ip6[0].hdr.dst_addr = a.octets();
            ip6[1].hdr.dst_addr = [0xff; 16];
            item(sys::RTE_FLOW_ITEM_TYPE_IPV6, &ip6)
        }
    };
    let (port_be, mask_be) = (r.dst_port.to_be(), r.dst_port_mask.to_be());
    let l4 = match r.l4 {
        L4::Tcp => {
            (tcp[0].hdr.dst_port, tcp[1].hdr.dst_port) = (port_be, mask_be);
            item(sys::RTE_FLOW_ITEM_TYPE_TCP, &tcp)
        }
        L4::Udp => {
            (udp[0].hdr.dst_port, udp[1].hdr.dst_port) = (port_be, mask_be);
            item(sys::RTE_FLOW_ITEM_TYPE_UDP, &udp)
        }
    };
    let any = |t| sys::rte_flow_item { type_: t, spec: ptr::null(), last: ptr::null(), mask: ptr::null() };
    let pattern = [any(sys::RTE_FLOW_ITEM_TYPE_ETH), l3, l4, any(sys::RTE_FLOW_ITEM_TYPE_END)];
    let queue = sys::rte_flow_action_queue { index: r.queue };
    let actions = [
        sys::rte_flow_action { type_: sys::RTE_FLOW_ACTION_TYPE_QUEUE, conf: ptr::from_ref(&queue).cast() },
        sys::rte_flow_action { type_: sys::RTE_FLOW_ACTION_TYPE_END, conf: ptr::null() },
    ];
    let mut err = sys::rte_flow_error::default();
    // Which item a refusal points at (`cause`), by address: no dereference.
    let item_name = |err: &sys::rte_flow_error| {
        let i = pattern.iter().position(|it| ptr::eq(ptr::from_ref(it).cast::<c_void>(), err.cause))?;
        Some(["ETH", l3_name, l4_name, "END"][i])
    };
    if create {
        // SAFETY: valid port (checked under the registry lock the caller holds); attr,
        // the END-terminated pattern and actions and the specs, masks and queue they
        // point to are initialised locals that outlive the call (DPDK copies what it
        // keeps); err is a valid out-pointer.
        let f = unsafe { sys::rte_flow_create(port, &attr, pattern.as_ptr(), actions.as_ptr(), &mut err) };
        match NonNull::new(f) {
            Some(f) => Ok(Some(f)),
            None => Err(flow_error("rte_flow_create", rte_errno(), &err, item_name(&err))),
        }
    } else {
        // SAFETY: as for rte_flow_create above.
        let ret = unsafe { sys::rte_flow_validate(port, &attr, pattern.as_ptr(), actions.as_ptr(), &mut err) };
        if ret < 0 {
            return Err(flow_error("rte_flow_validate", -ret, &err, item_name(&err)));
        }
        Ok(None)
    }
}

/// An item with spec `s[0]` and mask `s[1]`.
fn item<T>(type_: sys::rte_flow_item_type, s: &[T; 2]) -> sys::rte_flow_item {
    sys::rte_flow_item {
        type_,
        spec: ptr::from_ref(&s[0]).cast::<c_void>(),
        last: ptr::null(),
        mask: ptr::from_ref(&s[1]).cast::<c_void>(),
    }
}

fn rte_errno() -> i32 {
    // SAFETY: reads this thread's rte_errno; no preconditions.
    unsafe { sys::rvs_errno() }
}

/// The error with the driver's message and what it objected to (`item`: the pattern
/// item its `cause` points at).
fn flow_error(op: &'static str, errno: i32, err: &sys::rte_flow_error, item: Option<&str>) -> Error {
    let errno = errno.abs();
    if err.message.is_null() {
        return Error::from_errno(op, errno);
    }
    // SAFETY: drivers set message to a NUL-terminated string (static, or in their
    // private data) that is valid at least until the next flow call on the port, which
    // cannot happen while the caller holds the registry lock; copied now.
    let msg = unsafe { CStr::from_ptr(err.message) }.to_string_lossy().into_owned();
    let what = match err.type_ {
        sys::RTE_FLOW_ERROR_TYPE_ATTR_GROUP
        | sys::RTE_FLOW_ERROR_TYPE_ATTR_PRIORITY
        | sys::RTE_FLOW_ERROR_TYPE_ATTR_INGRESS
        | sys::RTE_FLOW_ERROR_TYPE_ATTR => "attribute",
        sys::RTE_FLOW_ERROR_TYPE_ITEM_NUM | sys::RTE_FLOW_ERROR_TYPE_ITEM => "item",
        sys::RTE_FLOW_ERROR_TYPE_ITEM_SPEC => "item spec",
        sys::RTE_FLOW_ERROR_TYPE_ITEM_MASK => "item mask",
        sys::RTE_FLOW_ERROR_TYPE_ACTION_NUM | sys::RTE_FLOW_ERROR_TYPE_ACTION => "action",
        sys::RTE_FLOW_ERROR_TYPE_ACTION_CONF => "action conf",
        _ => "",
    };
    // ethdev's own refusals (no flow ops: ENOSYS) repeat strerror as the message.
    if what.is_empty() && msg == crate::strerror(errno) {
        return Error::from_errno(op, errno);
    }
    let detail = match (what, item) {
        ("", _) => msg,
        (w, Some(i)) => format!("{msg} [{w} {i}]"),
        (w, None) => format!("{msg} [{w}]"),
    };
    Error::msg_errno(op, errno, detail)
}
