//! A hashed timing wheel over intrusive nodes, driven by a caller-supplied clock.
//!
//! IPVS arms one kernel timer per connection and re-arms it on every packet (mod_timer).
//! Here a node sits in slot `fire mod W`; re-arming to a later deadline only stores the
//! new deadline (no list surgery, one write in the entry's own cache line), and the node
//! is moved when its slot comes round. A re-arm to an earlier deadline (e.g. ESTABLISHED
//! 900 s -> CLOSE 10 s) relinks at once so expiry is never late. Deadlines further than
//! the wheel's span are revisited once per revolution. Expiry work is bounded per call.
//!
//! A node stores its deadline as an unsigned offset from its slot visit, so no deadline
//! is read back through a signed 32-bit difference (which wrapped past 2^31 ticks, 397
//! days of 16 ms ticks). Deadlines beyond [`TimerWheel::max_ahead`] (2^32 - 1 ticks, 795
//! days at 16 ms) are held at that horizon, as Linux's timer wheel caps far timers at
//! WHEEL_TIMEOUT_MAX; rvs's longest timeout, ipvsadm's 31 days, is far inside it.

/// End of a list.
pub const NIL: u32 = u32::MAX;
/// `next` of a node that is not in any list.
const UNLINKED: u32 = u32::MAX - 1;

/// Intrusive timer links, embedded in each timed object (16 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerNode {
    next: u32,
    prev: u32,
    /// Tick (mod 2^32) at which the node's slot is processed.
    fire: u32,
    /// Ticks from `fire` to the deadline (0: due at the visit).
    rest: u32,
}

impl TimerNode {
    pub const fn new() -> TimerNode {
        TimerNode { next: UNLINKED, prev: NIL, fire: 0, rest: 0 }
    }
    pub fn is_linked(&self) -> bool {
        self.next != UNLINKED
    }
    /// Free-list link for slab owners (only while unlinked from the wheel).
    pub fn free_next(&self) -> u32 {
        self.prev
    }
    pub fn set_free_next(&mut self, n: u32) {
        self.next = UNLINKED;
        self.prev = n;
    }
}

impl Default for TimerNode {
    fn default() -> Self {
        Self::new()
    }
}

/// Storage of the nodes, indexed by id.
pub trait Nodes {
    fn node(&self, id: u32) -> Option<&TimerNode>;
    fn node_mut(&mut self, id: u32) -> Option<&mut TimerNode>;
}

impl Nodes for [TimerNode] {
    fn node(&self, id: u32) -> Option<&TimerNode> {
        self.get(id as usize)
    }
    fn node_mut(&mut self, id: u32) -> Option<&mut TimerNode> {
        self.get_mut(id as usize)
    }
}

/// The wheel: `2^bits` slot heads of `2^tick_shift` ms each.
#[derive(Debug)]
pub struct TimerWheel {
    heads: Vec<u32>,
    mask: u64,
    tick_shift: u32,
    /// Next tick to process.
    cursor: u64,
    /// Detached list of the slot being processed.
    pending: u32,
    armed: usize,
}

impl TimerWheel {
    /// Allocates the slot heads; `now_ms` starts the clock.
    pub fn new(bits: u32, tick_shift: u32, now_ms: u64) -> TimerWheel {
        let bits = bits.clamp(1, 24);
        TimerWheel {
            heads: vec![NIL; 1 << bits],
            mask: (1u64 << bits) - 1,
            tick_shift: tick_shift.min(16),
            cursor: now_ms >> tick_shift.min(16),
            pending: NIL,
            armed: 0,
        }
    }

    /// Milliseconds to ticks, rounded down (a clock reading).
    #[inline]
    pub fn tick(&self, ms: u64) -> u64 {
        ms >> self.tick_shift
    }

    /// A duration in ms as ticks, rounded up (never expire early).
    #[inline]
    pub fn ticks_ceil(&self, ms: u64) -> u64 {
        (ms.saturating_add((1 << self.tick_shift) - 1)) >> self.tick_shift
    }

    pub fn tick_ms(&self) -> u64 {
        1 << self.tick_shift
    }

    /// Number of armed nodes.
    pub fn len(&self) -> usize {
        self.armed
    }

    pub fn is_empty(&self) -> bool {
        self.armed == 0
    }

    /// Memory of the slot heads in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.heads.len() * 4
    }

    /// The furthest a deadline may lie ahead of the clock, in ticks; later ones are held
    /// at this horizon.
    pub fn max_ahead(&self) -> u64 {
        u64::from(u32::MAX)
    }

    /// A stored fire tick (always within a revolution of the cursor) as a full tick.
    #[inline]
    fn expand(&self, x: u32) -> u64 {
        let d = i64::from(x.wrapping_sub(self.cursor as u32) as i32);
        (self.cursor as i64).wrapping_add(d) as u64
    }

    /// The full deadline tick of a linked node.
    #[inline]
    fn deadline_of(&self, n: &TimerNode) -> u64 {
        self.expand(n.fire).saturating_add(u64::from(n.rest))
    }

    /// The absolute deadline (ms, rounded to ticks) of an armed node.
    pub fn deadline_ms<N: Nodes + ?Sized>(&self, nodes: &N, id: u32) -> Option<u64> {
        let n = nodes.node(id)?;
        n.is_linked().then(|| self.deadline_of(n).saturating_mul(1 << self.tick_shift))
    }

    /// Arms or re-arms `id` to expire at tick `deadline` (at most [`Self::max_ahead`]
    /// ticks from now).
    #[inline]
    pub fn arm<N: Nodes + ?Sized>(&mut self, nodes: &mut N, id: u32, deadline: u64) {
        let deadline = deadline.min(self.cursor.saturating_add(self.max_ahead()));
        let Some(n) = nodes.node(id) else { return };
        if n.is_linked() {
            let fire = self.expand(n.fire);
            if let Some(rest) = deadline.checked_sub(fire).and_then(|r| u32::try_from(r).ok()) {
                // Lazy: later deadline, the slot visit will move it.
                if let Some(n) = nodes.node_mut(id) {
                    n.rest = rest;
                }
                return;
            }
            self.unlink(nodes, id);
        }
        self.link(nodes, id, deadline);
    }

    /// Disarms `id` (no-op when not armed).
    pub fn cancel<N: Nodes + ?Sized>(&mut self, nodes: &mut N, id: u32) {
        if nodes.node(id).is_some_and(|n| n.is_linked()) {
            self.unlink(nodes, id);
        }
    }

    fn link<N: Nodes + ?Sized>(&mut self, nodes: &mut N, id: u32, deadline: u64) {
        let t = deadline.max(self.cursor);
        let fire = self.cursor + ((t - self.cursor) & self.mask);
        // fire >= cursor and deadline <= cursor + max_ahead, so the offset fits.
        let rest = u32::try_from(deadline.saturating_sub(fire)).unwrap_or(u32::MAX);
        let slot = (fire & self.mask) as usize;
        let Some(head) = self.heads.get_mut(slot) else { return };
        let old = *head;
        *head = id;
        if let Some(n) = nodes.node_mut(id) {
            *n = TimerNode { next: old, prev: NIL, fire: fire as u32, rest };
        }
        if let Some(o) = nodes.node_mut(old) {
            o.prev = id;
        }
        self.armed += 1;
    }

    fn unlink<N: Nodes + ?Sized>(&mut self, nodes: &mut N, id: u32) {
        let Some(n) = nodes.node(id).copied() else { return };
        if let Some(p) = nodes.node_mut(n.prev) {
            p.next = n.next;
        } else if self.pending == id {
            self.pending = n.next;
        } else {
            let slot = (self.expand(n.fire) & self.mask) as usize;
            if let Some(h) = self.heads.get_mut(slot) {
                *h = n.next;
            }
        }
        if let Some(x) = nodes.node_mut(n.next) {
            x.prev = n.prev;
        }
        if let Some(m) = nodes.node_mut(id) {
            m.next = UNLINKED;
            m.prev = NIL;
        }
        self.armed = self.armed.saturating_sub(1);
    }

    /// The next node due at `now_ms`, unlinked, or `None` when nothing is due or the
    /// `budget` (nodes + slots visited) is spent. Not-yet-due nodes met on the way are
    /// moved to their slot.
    pub fn next_expired<N: Nodes + ?Sized>(&mut self, nodes: &mut N, now_ms: u64, budget: &mut usize) -> Option<u32> {
        let now = self.tick(now_ms);
        loop {
            if *budget == 0 {
                self.reattach(nodes);
                return None;
            }
            *budget -= 1;
            if self.pending != NIL {
                let id = self.pending;
                let n = *nodes.node(id)?;
                self.pending = n.next;
                if let Some(x) = nodes.node_mut(n.next) {
                    x.prev = NIL;
                }
                if let Some(m) = nodes.node_mut(id) {
                    m.next = UNLINKED;
                    m.prev = NIL;
                }
                self.armed = self.armed.saturating_sub(1);
                let deadline = self.deadline_of(&n);
                if deadline <= now {
                    return Some(id);
                }
                self.link(nodes, id, deadline);
                continue;
            }
            if self.cursor > now {
                return None;
            }
            // After a long pause one revolution visits every slot.
            if now - self.cursor > self.mask {
                self.cursor = now - self.mask;
            }
            let slot = (self.cursor & self.mask) as usize;
            self.pending = self.heads.get(slot).copied().unwrap_or(NIL);
            if let Some(h) = self.heads.get_mut(slot) {
                *h = NIL;
            }
            self.cursor += 1;
        }
    }

    /// Puts an interrupted slot's remaining nodes back and revisits that slot next time.
    fn reattach<N: Nodes + ?Sized>(&mut self, nodes: &mut N) {
        if self.pending == NIL {
            return;
        }
        self.cursor -= 1;
        let slot = (self.cursor & self.mask) as usize;
        let mut tail = self.pending;
        while let Some(n) = nodes.node(tail) {
            if n.next == NIL {
                break;
            }
            tail = n.next;
        }
        let old = self.heads.get(slot).copied().unwrap_or(NIL);
        if let Some(t) = nodes.node_mut(tail) {
            t.next = old;
        }
        if let Some(o) = nodes.node_mut(old) {
            o.prev = tail;
        }
        if let Some(h) = self.heads.get_mut(slot) {
            *h = self.pending;
        }
        self.pending = NIL;
    }
}
