//! The per-thread dispatch stack: which buses this thread is dispatching on, at which address,
//! whether a router is running, and which snapshot each dispatch holds.
//!
//! Frames live on the callers' stacks and form a linked list whose head is a thread-local
//! pointer. Only the owning thread reads or writes them, so no synchronisation is involved; this
//! module is apart from snapshot reclamation, which `arc-swap` does.

use std::cell::Cell;
use std::ptr;
use std::sync::{Mutex, MutexGuard};

use crate::RouterAction;

/// Locks a mutex, ignoring poisoning: every structure guarded here is left consistent between
/// statements, so a panic elsewhere never makes it unusable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One dispatch, connection hook or snapshot read in progress on this thread.
pub(crate) struct Frame {
    /// The bus being dispatched on (or whose hook runs); null for a plain snapshot read.
    bus: *const (),
    /// The bus whose snapshot this frame holds (null if none).
    holds: *const (),
    /// The snapshot held, for `disconnect_and_wait` (null if none).
    snapshot: *const (),
    address: Cell<*const ()>,
    prev: Cell<*const Frame>,
    /// `None` while not routing; otherwise the action the running router asked for.
    routing: Cell<Option<RouterAction>>,
}

impl Frame {
    /// A dispatch (or hook) frame of `bus`, delivering to `address` (null: not addressed),
    /// holding `snapshot` of that bus (null: none).
    #[inline(always)]
    pub(crate) fn dispatch(bus: *const (), address: *const (), snapshot: *const ()) -> Self {
        Frame {
            bus,
            holds: if snapshot.is_null() { ptr::null() } else { bus },
            snapshot,
            address: Cell::new(address),
            prev: Cell::new(ptr::null()),
            routing: Cell::new(None),
        }
    }

    /// A frame that only holds `snapshot` of `bus` (introspection), not a dispatch.
    pub(crate) fn reading(bus: *const (), snapshot: *const ()) -> Self {
        Frame {
            bus: ptr::null(),
            holds: bus,
            snapshot,
            address: Cell::new(ptr::null()),
            prev: Cell::new(ptr::null()),
            routing: Cell::new(None),
        }
    }

    #[inline(always)]
    pub(crate) fn set_address(&self, address: *const ()) {
        self.address.set(address);
    }

    pub(crate) fn begin_routing(&self) {
        self.routing.set(Some(RouterAction::Continue));
    }

    pub(crate) fn end_routing(&self) -> RouterAction {
        self.routing.take().unwrap_or_default()
    }

    /// The bus being dispatched on (null for a plain snapshot read).
    pub(crate) fn bus(&self) -> *const () {
        self.bus
    }

    /// The address being delivered (null when the dispatch is not addressed).
    pub(crate) fn address(&self) -> *const () {
        self.address.get()
    }

    /// Sets the router action if this frame is routing; returns whether it was.
    pub(crate) fn set_action(&self, action: RouterAction) -> bool {
        if self.routing.get().is_some() {
            self.routing.set(Some(action));
            true
        } else {
            false
        }
    }

    /// Whether this frame is running routers.
    pub(crate) fn is_routing(&self) -> bool {
        self.routing.get().is_some()
    }
}

thread_local! {
    /// This thread's innermost frame. Const-initialised and without a destructor, so it is
    /// reachable at any time, thread exit included.
    static TOP: Cell<*const Frame> = const { Cell::new(ptr::null()) };
}

/// Keeps `frame` on this thread's dispatch stack until dropped (also when unwinding).
pub(crate) struct Scope<'f> {
    frame: &'f Frame,
}

impl<'f> Scope<'f> {
    #[inline(always)]
    pub(crate) fn enter(frame: &'f Frame) -> Self {
        TOP.with(|top| {
            frame.prev.set(top.get());
            top.set(frame);
        });
        Scope { frame }
    }
}

impl Drop for Scope<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        let prev = self.frame.prev.get();
        TOP.with(|top| top.set(prev));
    }
}

/// Calls `visit` on this thread's frames, innermost first, until it returns `Some`.
pub(crate) fn find_frame<R>(mut visit: impl FnMut(&Frame) -> Option<R>) -> Option<R> {
    let mut current = TOP.with(Cell::get);
    while !current.is_null() {
        // SAFETY: frames are pushed by `Scope::enter` and popped by its drop, in stack order, on
        // this thread; every pointer on the list is a live frame further up the current call
        // stack.
        let frame = unsafe { &*current };
        if let Some(found) = visit(frame) {
            return Some(found);
        }
        current = frame.prev.get();
    }
    None
}

/// How many of this thread's frames hold `snapshot` of `bus`.
pub(crate) fn holds(bus: *const (), snapshot: *const ()) -> usize {
    let mut count = 0;
    find_frame(|frame| {
        if frame.holds == bus && frame.snapshot == snapshot {
            count += 1;
        }
        None::<()>
    });
    count
}
