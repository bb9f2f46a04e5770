//! When handlers are released, and what a disconnect guarantees, across threads; and that panics
//! in user code (hooks, ids, queued items) leave the bus consistent. Every loop is bounded in
//! count and time, and smaller under Miri.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Weak};
use std::time::{Duration, Instant};

use ebus::{AddressPolicy, Bus, Connection, HandlerPolicy};

trait Ping: Send + Sync {
    fn ping(&self);
}

struct Quiet;
impl Ping for Quiet {
    fn ping(&self) {}
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn new_bus(name: &'static str) -> &'static Bus<dyn Ping> {
    leak(Bus::new(name))
}

const ROUNDS: usize = if cfg!(miri) { 20 } else { 5_000 };
const TIME_LIMIT: Duration = Duration::from_secs(30);

/// A disconnected handler is released as soon as no dispatch can see it: after the dispatching
/// thread stops, nothing of the bus holds it (the reproduction of a handler held until some later
/// write happened while another thread was dispatching).
#[test]
fn a_disconnected_handler_is_released_once_no_dispatch_runs() {
    let deadline = Instant::now() + TIME_LIMIT;
    for _ in 0..ROUNDS {
        if Instant::now() > deadline {
            break;
        }
        let bus = new_bus("Released");
        let stop = AtomicBool::new(false);
        let victim: Arc<dyn Ping> = Arc::new(Quiet);
        let weak: Weak<dyn Ping> = Arc::downgrade(&victim);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(Ordering::Acquire) {
                    bus.broadcast(|handler| handler.ping());
                }
            });
            let connection = bus.connect(victim).unwrap();
            let other = bus.connect(Arc::new(Quiet)).unwrap();
            drop(other);
            drop(connection);
            stop.store(true, Ordering::Release);
        });
        assert!(
            weak.upgrade().is_none(),
            "the victim is still held after every dispatch ended"
        );
    }
}

/// A thread that dispatched and exited leaves nothing behind that holds a handler.
#[test]
fn an_exited_thread_strands_nothing() {
    let bus = new_bus("Exited");
    let handler: Arc<dyn Ping> = Arc::new(Quiet);
    let weak = Arc::downgrade(&handler);
    let connection = bus.connect(handler).unwrap();
    std::thread::spawn(move || {
        for _ in 0..10 {
            bus.broadcast(|handler| handler.ping());
        }
    })
    .join()
    .unwrap();
    drop(connection);
    assert!(weak.upgrade().is_none());
}

/// Reclamation is per bus: a thread staying inside a dispatch on bus A does not keep bus B's
/// disconnected handlers alive, and B's writes hold nothing of theirs.
#[test]
fn a_dispatch_on_one_bus_does_not_hold_another_bus() {
    let a = new_bus("PinnedA");
    let b = new_bus("WrittenB");
    let _a_handler = a.connect(Arc::new(Quiet)).unwrap();
    let _b_handlers: Vec<Connection> = (0..8)
        .map(|_| b.connect(Arc::new(Quiet)).unwrap())
        .collect();
    let inside = Barrier::new(2);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            a.broadcast(|_| {
                inside.wait();
                while !done.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
            });
        });
        inside.wait();
        for _ in 0..(ROUNDS / 20).max(10) {
            let extra: Arc<dyn Ping> = Arc::new(Quiet);
            let weak = Arc::downgrade(&extra);
            let connection = b.connect(extra).unwrap();
            drop(connection);
            assert!(
                weak.upgrade().is_none(),
                "bus B's handler outlived its disconnect"
            );
        }
        done.store(true, Ordering::Release);
    });
}

struct Slow {
    running: AtomicBool,
    release: AtomicBool,
    calls: AtomicUsize,
}

impl Ping for Slow {
    fn ping(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.running.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + TIME_LIMIT;
        while !self.release.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::yield_now();
        }
        self.running.store(false, Ordering::SeqCst);
    }
}

/// `disconnect_and_wait` returns only after a call already running on another thread ended, and
/// the handler is never called after it returned.
#[test]
fn disconnect_and_wait_waits_for_a_call_running_on_another_thread() {
    let bus = new_bus("Strong");
    let slow = Arc::new(Slow {
        running: AtomicBool::new(false),
        release: AtomicBool::new(false),
        calls: AtomicUsize::new(0),
    });
    let connection = bus.connect(slow.clone()).unwrap();
    let returned = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| bus.broadcast(|handler| handler.ping()));
        while !slow.running.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let waiter = scope.spawn(|| {
            connection.disconnect_and_wait();
            returned.store(true, Ordering::SeqCst);
            // After it returned the handler is not running and never runs again.
            assert!(!slow.running.load(Ordering::SeqCst));
        });
        // Give a wrong implementation every chance to return early.
        for _ in 0..1000 {
            std::thread::yield_now();
        }
        assert!(
            !returned.load(Ordering::SeqCst),
            "returned while the handler was still running on another thread"
        );
        slow.release.store(true, Ordering::SeqCst);
        waiter.join().unwrap();
    });
    assert!(returned.load(Ordering::SeqCst));
    let calls = slow.calls.load(Ordering::SeqCst);
    bus.broadcast(|handler| handler.ping());
    assert_eq!(slow.calls.load(Ordering::SeqCst), calls);
}

struct SelfRemover {
    connection: std::sync::Mutex<Option<Connection>>,
    calls: AtomicUsize,
}

impl Ping for SelfRemover {
    fn ping(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(connection) = self.connection.lock().unwrap().take() {
            connection.disconnect_and_wait();
        }
    }
}

/// Called from inside a dispatch on the same thread, `disconnect_and_wait` does not wait for
/// that dispatch (it would never end), and the handler is not called again.
#[test]
fn disconnect_and_wait_from_inside_the_dispatch_does_not_deadlock() {
    let bus = new_bus("StrongReentrant");
    let remover = Arc::new(SelfRemover {
        connection: std::sync::Mutex::new(None),
        calls: AtomicUsize::new(0),
    });
    let connection = bus.connect(remover.clone()).unwrap();
    *remover.connection.lock().unwrap() = Some(connection);
    bus.broadcast(|handler| {
        handler.ping();
        handler.ping();
    });
    bus.broadcast(|handler| handler.ping());
    // Called twice within the first dispatch (the closure calls it twice), never afterwards.
    assert_eq!(remover.calls.load(Ordering::SeqCst), 2);
    assert_eq!(bus.handler_count(), 0);
}

/// A connection hook that panics leaves the new handler disconnected, not connected without a
/// guard.
#[test]
fn a_panicking_connect_hook_undoes_the_connection() {
    let bus = new_bus("PanickingHook");
    let hook = bus.on_connect(|_, _| panic!("hook failed"));
    let handler: Arc<dyn Ping> = Arc::new(Quiet);
    let weak = Arc::downgrade(&handler);
    let result = catch_unwind(AssertUnwindSafe(|| bus.connect(handler)));
    assert!(result.is_err(), "the hook's panic reaches the caller");
    assert_eq!(bus.handler_count(), 0);
    assert!(weak.upgrade().is_none());
    drop(hook);
    let _connection = bus.connect(Arc::new(Quiet)).unwrap();
    assert_eq!(bus.handler_count(), 1);
}

static EXPLODE: AtomicBool = AtomicBool::new(false);

/// An id whose `Clone` panics on demand and whose `Ord` may call back into its own bus.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Touchy(u32);

impl Clone for Touchy {
    fn clone(&self) -> Self {
        if EXPLODE.load(Ordering::SeqCst) {
            panic!("id clone failed");
        }
        // User code with no bus lock held: reading the bus from here must not deadlock.
        let _ = TOUCHY.handler_count();
        Touchy(self.0)
    }
}

static TOUCHY: Bus<dyn Ping, Touchy> =
    Bus::with_policies("Touchy", HandlerPolicy::Multiple, AddressPolicy::ById);

/// An id whose `Clone` panics during a disconnect leaves the handler fully connected (still in
/// the bus, still called, still counted), and calling the bus from an id's `Clone` does not
/// deadlock.
#[test]
fn a_panicking_id_clone_leaves_the_handler_connected() {
    let calls = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Ping for Count {
        fn ping(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let connection = TOUCHY
        .connect_at(Touchy(1), Arc::new(Count(calls.clone())))
        .unwrap();
    EXPLODE.store(true, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(move || drop(connection)));
    EXPLODE.store(false, Ordering::SeqCst);
    assert!(result.is_err());
    assert_eq!(TOUCHY.handler_count(), 1);
    TOUCHY.broadcast(|handler| handler.ping());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(TOUCHY.disconnect_all(), 1);
    assert_eq!(TOUCHY.handler_count(), 0);
}

/// A queued item that panics: the items before it ran, the ones after it stay queued in order
/// for the next call.
#[test]
fn a_panicking_queued_item_keeps_the_rest_of_its_batch() {
    let bus = new_bus("QueuePanic");
    let ran = Arc::new(std::sync::Mutex::new(Vec::new()));
    for item in 0..4 {
        let ran = ran.clone();
        bus.queue_fn(move || {
            if item == 1 {
                panic!("queued item failed");
            }
            ran.lock().unwrap().push(item);
        })
        .unwrap();
    }
    let result = catch_unwind(AssertUnwindSafe(|| bus.execute_queued()));
    assert!(result.is_err());
    assert_eq!(*ran.lock().unwrap(), vec![0]);
    assert_eq!(bus.queued_len(), 2);
    assert_eq!(bus.execute_queued(), 2);
    assert_eq!(*ran.lock().unwrap(), vec![0, 2, 3]);
}
