//! Read-side protection for bus snapshots, and the per-thread dispatch stack.
//!
//! Dispatch reads an immutable snapshot of a bus's handlers through an atomic pointer. A writer
//! (connect, disconnect) publishes a new snapshot and *retires* the old one, which may still be in
//! use by dispatches running on other threads. Retired snapshots are freed once every thread that
//! was dispatching when they were retired has left its outermost dispatch.
//!
//! The read side writes only to memory owned by its own thread: each thread publishes the top of
//! its dispatch-frame stack in its own cache-line-sized slot (non-null = inside a dispatch). A
//! retired snapshot is freed once every thread that was inside a dispatch when it was retired
//! has been seen outside one. To make that store visible to a writer without a full fence
//! on every dispatch, the writer issues a process-wide barrier (`membarrier` on Linux); elsewhere,
//! or where `membarrier` is not available, both sides use a sequentially consistent fence.
//!
//! The frames themselves live on the callers' stacks and form a linked list that answers "is this
//! thread dispatching on bus B", "which address is being delivered" and lets routers set their
//! processing state.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::RouterAction;

/// Locks a mutex, ignoring poisoning: every structure guarded here is left consistent between
/// statements, so a panic elsewhere never makes it unusable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

mod barrier {
    use std::sync::atomic::{AtomicU8, Ordering, compiler_fence, fence};

    const UNKNOWN: u8 = 0;
    const MEMBARRIER: u8 = 1;
    const FENCE: u8 = 2;

    static MODE: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// Chooses the barrier strategy once per process. Readers that run before the choice use a
    /// full fence, which is correct with either writer strategy.
    pub(super) fn init() {
        if MODE.load(Ordering::Acquire) == UNKNOWN {
            let mode = if register_membarrier() {
                MEMBARRIER
            } else {
                FENCE
            };
            // Two threads may race here; both compute the same answer.
            MODE.store(mode, Ordering::Release);
        }
    }

    /// Whether writers issue `membarrier` (decided once, by `init`).
    pub(super) fn is_membarrier() -> bool {
        MODE.load(Ordering::Acquire) == MEMBARRIER
    }

    /// The read side: orders the slot store before the snapshot load. `membarrier` is what
    /// `is_membarrier` said when the thread's slot was set up.
    #[inline(always)]
    pub(super) fn light(membarrier: bool) {
        if membarrier {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    /// The write side: after it returns, every other thread's earlier stores are visible.
    pub(super) fn heavy() {
        init();
        if MODE.load(Ordering::Acquire) == MEMBARRIER {
            fence(Ordering::SeqCst);
            if !membarrier_expedited() {
                // Cannot happen once registration succeeded; the process-wide global command is
                // slower but gives the same guarantee.
                membarrier_global();
            }
            fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    #[cfg(target_os = "linux")]
    mod sys {
        const CMD_QUERY: libc::c_long = 0;
        const CMD_GLOBAL: libc::c_long = 1;
        const CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
        const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

        fn membarrier(cmd: libc::c_long) -> libc::c_long {
            // SAFETY: membarrier takes (cmd, flags, cpu_id) and touches no user memory.
            unsafe {
                libc::syscall(
                    libc::SYS_membarrier,
                    cmd,
                    0 as libc::c_long,
                    0 as libc::c_long,
                )
            }
        }

        pub(in super::super) fn register() -> bool {
            let supported = membarrier(CMD_QUERY);
            supported >= 0
                && supported & CMD_PRIVATE_EXPEDITED != 0
                && membarrier(CMD_REGISTER_PRIVATE_EXPEDITED) == 0
        }

        pub(in super::super) fn expedited() -> bool {
            membarrier(CMD_PRIVATE_EXPEDITED) == 0
        }

        pub(in super::super) fn global() {
            let _ = membarrier(CMD_GLOBAL);
        }
    }

    #[cfg(target_os = "linux")]
    fn register_membarrier() -> bool {
        sys::register()
    }
    #[cfg(target_os = "linux")]
    fn membarrier_expedited() -> bool {
        sys::expedited()
    }
    #[cfg(target_os = "linux")]
    fn membarrier_global() {
        sys::global()
    }

    #[cfg(not(target_os = "linux"))]
    fn register_membarrier() -> bool {
        false
    }
    #[cfg(not(target_os = "linux"))]
    fn membarrier_expedited() -> bool {
        true
    }
    #[cfg(not(target_os = "linux"))]
    fn membarrier_global() {}
}

/// One thread's published dispatch state, alone on its cache lines.
#[repr(align(128))]
struct ThreadSlot {
    /// The owning thread's innermost dispatch frame; null outside any dispatch. Written only by
    /// the owner.
    top: AtomicPtr<Frame>,
    /// Whether a live thread owns this slot.
    in_use: AtomicBool,
    /// Whether writers use `membarrier`, so this thread's reads need only a compiler fence.
    /// Set when the slot is handed to a thread, read only by it.
    light_fence: AtomicBool,
    /// Set by a writer that left a retired snapshot waiting for this thread: the thread frees
    /// what it can when it leaves its outermost dispatch.
    reclaim: AtomicBool,
}

/// Every slot ever handed out. Slots are reused after their thread exits, so this is bounded by
/// the largest number of threads that dispatched at the same time.
static SLOTS: Mutex<Vec<&'static ThreadSlot>> = Mutex::new(Vec::new());

/// Dispatches running on threads whose thread-local record is already destroyed (dispatch from
/// another thread-local's destructor). Counted with sequentially consistent operations.
static FALLBACK_READERS: AtomicUsize = AtomicUsize::new(0);

fn acquire_slot() -> &'static ThreadSlot {
    barrier::init();
    let light = barrier::is_membarrier();
    let mut slots = lock(&SLOTS);
    if let Some(slot) = slots
        .iter()
        .find(|slot| !slot.in_use.load(Ordering::Relaxed))
    {
        slot.in_use.store(true, Ordering::Relaxed);
        slot.light_fence.store(light, Ordering::Relaxed);
        return slot;
    }
    let slot: &'static ThreadSlot = Box::leak(Box::new(ThreadSlot {
        top: AtomicPtr::new(ptr::null_mut()),
        in_use: AtomicBool::new(true),
        light_fence: AtomicBool::new(light),
        reclaim: AtomicBool::new(false),
    }));
    slots.push(slot);
    slot
}

/// The hot per-thread record: const-initialised and without a destructor, so reaching it is a
/// plain thread-pointer-relative access.
struct Hot {
    /// This thread's slot; null before the first dispatch, [`RELEASED`] once the thread is
    /// exiting and has given its slot back.
    slot: Cell<*const ThreadSlot>,
}

/// Marks a thread whose slot was released during thread exit.
const RELEASED: *const ThreadSlot = ptr::dangling::<ThreadSlot>();

/// Gives the slot back when the thread exits.
struct SlotOwner;

impl Drop for SlotOwner {
    fn drop(&mut self) {
        let slot = HOT.with(|hot| hot.slot.replace(RELEASED));
        if !slot.is_null() && slot != RELEASED {
            // SAFETY: slots are leaked and never freed.
            unsafe { &*slot }.in_use.store(false, Ordering::Release);
        }
    }
}

thread_local! {
    static HOT: Hot = const { Hot { slot: Cell::new(ptr::null()) } };
    static OWNER: SlotOwner = const { SlotOwner };
}

/// Finds this thread's slot, registering it on first use. `None` once the thread is exiting.
#[cold]
#[inline(never)]
fn register(hot: &Hot) -> Option<&'static ThreadSlot> {
    let slot = hot.slot.get();
    if slot == RELEASED {
        return None;
    }
    if slot.is_null() {
        // Registering the owner's destructor fails only while the thread is being torn down.
        if OWNER.try_with(|_| ()).is_err() {
            hot.slot.set(RELEASED);
            return None;
        }
        let acquired = acquire_slot();
        hot.slot.set(acquired);
        return Some(acquired);
    }
    // SAFETY: slots are leaked and never freed.
    Some(unsafe { &*slot })
}

/// One dispatch (or connection hook) in progress on this thread.
pub(crate) struct Frame {
    bus: *const (),
    address: Cell<*const ()>,
    prev: Cell<*const Frame>,
    /// `None` while not routing; otherwise the action the running router asked for.
    routing: Cell<Option<RouterAction>>,
}

impl Frame {
    #[inline(always)]
    pub(crate) fn new(bus: *const (), address: *const ()) -> Self {
        Frame {
            bus,
            address: Cell::new(address),
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
}

/// This thread's slot, registering it on first use; `None` while the thread is exiting.
#[inline(always)]
fn own_slot() -> Option<&'static ThreadSlot> {
    HOT.with(|hot| {
        let slot = hot.slot.get();
        if slot.is_null() || slot == RELEASED {
            register(hot)
        } else {
            // SAFETY: slots are leaked and never freed.
            Some(unsafe { &*slot })
        }
    })
}

/// Keeps this thread pinned (snapshots loaded now stay alive) and `frame` on the dispatch stack.
pub(crate) struct Scope<'f> {
    frame: &'f Frame,
    /// This thread's slot, or `None` when dispatching during thread exit.
    slot: Option<&'static ThreadSlot>,
}

impl<'f> Scope<'f> {
    #[inline(always)]
    pub(crate) fn enter(frame: &'f Frame) -> Self {
        let slot = own_slot();
        match slot {
            Some(slot) => {
                let prev = slot.top.load(Ordering::Relaxed);
                frame.prev.set(prev);
                slot.top
                    .store(frame as *const Frame as *mut Frame, Ordering::Relaxed);
                if prev.is_null() {
                    barrier::light(slot.light_fence.load(Ordering::Relaxed));
                }
            }
            None => {
                FALLBACK_READERS.fetch_add(1, Ordering::SeqCst);
            }
        }
        Scope { frame, slot }
    }
}

impl Drop for Scope<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        let Some(slot) = self.slot else {
            FALLBACK_READERS.fetch_sub(1, Ordering::SeqCst);
            if PENDING.load(Ordering::SeqCst) {
                try_reclaim();
            }
            return;
        };
        let prev = self.frame.prev.get();
        slot.top.store(prev as *mut Frame, Ordering::Release);
        if prev.is_null() && slot.reclaim.load(Ordering::Relaxed) {
            slot.reclaim.store(false, Ordering::Relaxed);
            try_reclaim();
        }
    }
}

/// Calls `visit` on this thread's frames, innermost first, until it returns `Some`.
pub(crate) fn find_frame<R>(mut visit: impl FnMut(&Frame) -> Option<R>) -> Option<R> {
    let slot = HOT.with(|hot| hot.slot.get());
    if slot.is_null() || slot == RELEASED {
        return None;
    }
    // SAFETY: slots are leaked and never freed.
    let slot = unsafe { &*slot };
    {
        let mut current: *const Frame = slot.top.load(Ordering::Relaxed);
        while !current.is_null() {
            // SAFETY: frames are pushed by `Scope::enter` and popped by its drop, in stack
            // order, on this thread; every pointer on the list is a live frame further up the
            // current call stack.
            let frame = unsafe { &*current };
            if let Some(found) = visit(frame) {
                return Some(found);
            }
            current = frame.prev.get();
        }
        None
    }
}

/// Whether this thread is inside any dispatch of any bus.
pub(crate) fn in_any_dispatch() -> bool {
    find_frame(|frame| (!frame.bus.is_null()).then_some(())).is_some()
}

/// A frame's bus key, for lookups.
pub(crate) fn frame_bus(frame: &Frame) -> *const () {
    frame.bus
}

/// A frame's current address pointer (null when the dispatch is not addressed).
pub(crate) fn frame_address(frame: &Frame) -> *const () {
    frame.address.get()
}

/// Sets the router action of `frame` if it is routing; returns whether it was.
pub(crate) fn frame_set_action(frame: &Frame, action: RouterAction) -> bool {
    if frame.routing.get().is_some() {
        frame.routing.set(Some(action));
        true
    } else {
        false
    }
}

/// Whether `frame` is currently running routers.
pub(crate) fn frame_is_routing(frame: &Frame) -> bool {
    frame.routing.get().is_some()
}

struct Retired {
    /// Held only to be dropped once safe.
    #[allow(dead_code)]
    garbage: Box<dyn Send>,
    /// Threads that were inside a dispatch at retirement and have not been seen outside one.
    waits: Vec<&'static ThreadSlot>,
    fallback: bool,
}

impl Retired {
    /// Forgets the threads seen outside a dispatch; true once none is left to wait for.
    fn is_safe(&mut self) -> bool {
        self.waits
            .retain(|slot| !slot.top.load(Ordering::Acquire).is_null());
        if self.fallback && FALLBACK_READERS.load(Ordering::SeqCst) == 0 {
            self.fallback = false;
        }
        self.waits.is_empty() && !self.fallback
    }
}

static RETIRED: Mutex<Vec<Retired>> = Mutex::new(Vec::new());
static PENDING: AtomicBool = AtomicBool::new(false);

/// Frees `garbage` once no dispatch that might still read it is running. Must be called after
/// the pointer to it was replaced, and with no bus lock held (dropping runs user code).
pub(crate) fn retire(garbage: Box<dyn Send>) {
    let own = HOT.with(|hot| hot.slot.get());
    let others_alive = {
        let slots = lock(&SLOTS);
        slots
            .iter()
            .any(|slot| slot.in_use.load(Ordering::Acquire) && !ptr::eq(*slot, own))
    };
    if others_alive || FALLBACK_READERS.load(Ordering::SeqCst) != 0 {
        barrier::heavy();
    }
    let waits: Vec<&'static ThreadSlot> = lock(&SLOTS)
        .iter()
        .copied()
        .filter(|slot| !slot.top.load(Ordering::Acquire).is_null())
        .collect();
    let mut retired = Retired {
        garbage,
        waits,
        fallback: FALLBACK_READERS.load(Ordering::SeqCst) != 0,
    };
    if retired.is_safe() {
        drop(retired);
        return;
    }
    for slot in &retired.waits {
        slot.reclaim.store(true, Ordering::SeqCst);
    }
    lock(&RETIRED).push(retired);
    PENDING.store(true, Ordering::SeqCst);
    // A reader may have left its dispatch just now and read `PENDING` before it was set; after
    // this barrier its exit is visible here, so one of us frees the snapshot.
    barrier::heavy();
    try_reclaim();
}

/// Frees every retired snapshot no running dispatch can still see. The list's lock is held only
/// to scan it; snapshots are dropped (running handlers' destructors) after it is released.
fn try_reclaim() {
    let ready: Vec<Retired> = {
        let mut retired = lock(&RETIRED);
        let mut ready = Vec::new();
        let mut index = 0;
        while index < retired.len() {
            if retired[index].is_safe() {
                ready.push(retired.swap_remove(index));
            } else {
                index += 1;
            }
        }
        PENDING.store(!retired.is_empty(), Ordering::Release);
        ready
    };
    drop(ready);
}
