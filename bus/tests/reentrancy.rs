//! Re-entrancy: handlers that dispatch, connect and disconnect during a dispatch, one test per
//! case, and proof that no lock is held while a handler runs.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use ebus::{AddressPolicy, Bus, Connection, HandlerPolicy};

trait Events: Send + Sync {
    fn ping(&self, depth: u32);
}

type EventsBus = Bus<dyn Events>;
type AddressedBus = Bus<dyn Events, u32>;

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

type Script = Box<dyn Fn(&Scripted, u32) + Send + Sync>;

/// A handler whose behaviour on `ping` is a closure, and which counts its calls.
struct Scripted {
    calls: AtomicU32,
    script: Script,
    /// The handler's own connection, so it can disconnect itself.
    own: Mutex<Option<Connection>>,
}

impl Scripted {
    fn new(script: impl Fn(&Scripted, u32) + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Scripted {
            calls: AtomicU32::new(0),
            script: Box::new(script),
            own: Mutex::new(None),
        })
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Events for Scripted {
    fn ping(&self, depth: u32) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        (self.script)(self, depth);
    }
}

fn quiet() -> Arc<Scripted> {
    Scripted::new(|_, _| {})
}

#[test]
fn handler_broadcasts_on_the_same_bus() {
    let bus: &'static EventsBus = leak(Bus::new("Nested"));
    let reentrant_seen = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&reentrant_seen);
    let recursive = Scripted::new(move |_, depth| {
        if bus.is_reentrant_this_thread() {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        if depth < 4 {
            bus.broadcast(|handler| handler.ping(depth + 1));
        }
    });
    let other = quiet();
    let _a = bus.connect(recursive.clone()).unwrap();
    let _b = bus.connect(other.clone()).unwrap();
    bus.broadcast(|handler| handler.ping(0));
    // Each of the 5 levels reaches both handlers; the recursive one starts the next level.
    assert_eq!(recursive.calls(), 5);
    assert_eq!(other.calls(), 5);
    // The outermost call is not re-entrant; the 4 nested ones are.
    assert_eq!(reentrant_seen.load(Ordering::SeqCst), 4);
    assert!(!bus.is_dispatching_this_thread());
}

#[test]
fn handler_connects_a_handler_during_dispatch() {
    let bus: &'static EventsBus = leak(Bus::new("ConnectDuring"));
    let late = quiet();
    let late_for_script = Arc::clone(&late);
    let kept: Arc<Mutex<Vec<Connection>>> = Arc::new(Mutex::new(Vec::new()));
    let kept_for_script = Arc::clone(&kept);
    let connector = Scripted::new(move |this, _| {
        if this.calls() == 1 {
            let connection = bus.connect(late_for_script.clone()).unwrap();
            kept_for_script.lock().unwrap().push(connection);
        }
    });
    let _c = bus.connect(connector.clone()).unwrap();
    bus.broadcast(|handler| handler.ping(0));
    assert_eq!(
        late.calls(),
        0,
        "a handler connected mid-dispatch misses that dispatch"
    );
    assert_eq!(bus.handler_count(), 2);
    bus.broadcast(|handler| handler.ping(0));
    assert_eq!(late.calls(), 1, "and receives the next one");
    assert_eq!(connector.calls(), 2);
}

#[test]
fn handler_disconnects_itself() {
    let bus: &'static EventsBus = leak(Bus::new("SelfDisconnect"));
    let leaver = Scripted::new(|this, _| {
        let own = this.own.lock().unwrap().take();
        drop(own);
    });
    let after = quiet();
    *leaver.own.lock().unwrap() = Some(bus.connect(leaver.clone()).unwrap());
    let _after = bus.connect(after.clone()).unwrap();
    bus.broadcast(|handler| handler.ping(0));
    bus.broadcast(|handler| handler.ping(0));
    assert_eq!(leaver.calls(), 1);
    assert_eq!(after.calls(), 2, "handlers after the leaver still run");
    assert_eq!(bus.handler_count(), 1);
}

#[test]
fn handler_disconnects_the_next_handler() {
    let bus: &'static EventsBus = leak(Bus::new("NextDisconnect"));
    let victim = quiet();
    let victim_connection: Arc<Mutex<Option<Connection>>> = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&victim_connection);
    let killer = Scripted::new(move |_, _| {
        drop(slot.lock().unwrap().take());
    });
    let _k = bus.connect(killer.clone()).unwrap();
    *victim_connection.lock().unwrap() = Some(bus.connect(victim.clone()).unwrap());
    let last = quiet();
    let _l = bus.connect(last.clone()).unwrap();
    bus.broadcast(|handler| handler.ping(0));
    assert_eq!(
        victim.calls(),
        0,
        "disconnected before its turn: never called"
    );
    assert_eq!(last.calls(), 1);
    bus.broadcast_reverse(|handler| handler.ping(0));
    assert_eq!(victim.calls(), 0);
}

#[test]
fn handler_disconnects_a_whole_address() {
    let bus: &'static AddressedBus = leak(Bus::with_policies(
        "AddressDisconnect",
        HandlerPolicy::Multiple,
        AddressPolicy::ByIdOrdered,
    ));
    let at_two = [quiet(), quiet()];
    let at_three = quiet();
    let killer = Scripted::new(move |_, _| {
        assert_eq!(bus.current_address(), Some(1));
        assert_eq!(bus.disconnect_address(&2), 2);
        assert_eq!(bus.current_address(), Some(1));
    });
    let _k = bus.connect_at(1, killer.clone()).unwrap();
    let guards_two: Vec<Connection> = at_two
        .iter()
        .map(|handler| bus.connect_at(2, handler.clone()).unwrap())
        .collect();
    let _t = bus.connect_at(3, at_three.clone()).unwrap();
    bus.broadcast(|handler| handler.ping(0));
    assert!(at_two.iter().all(|handler| handler.calls() == 0));
    assert_eq!(
        at_three.calls(),
        1,
        "the address after the removed one is still visited"
    );
    assert!(guards_two.iter().all(|guard| !guard.is_connected()));
    assert_eq!(bus.addresses(), vec![1, 3]);
    drop(guards_two); // dropping guards of already-removed handlers is harmless
    assert_eq!(bus.handler_count(), 2);
}

#[test]
fn last_handler_at_an_address_disconnects_forward_and_reverse() {
    for reverse in [false, true] {
        let bus: &'static AddressedBus = leak(Bus::addressed("LastHandler"));
        let leaver = Scripted::new(|this, _| drop(this.own.lock().unwrap().take()));
        let neighbour = quiet();
        *leaver.own.lock().unwrap() = Some(bus.connect_at(5, leaver.clone()).unwrap());
        let _n = bus.connect_at(6, neighbour.clone()).unwrap();
        if reverse {
            bus.broadcast_reverse(|handler| handler.ping(0));
        } else {
            bus.broadcast(|handler| handler.ping(0));
        }
        assert_eq!(leaver.calls(), 1);
        assert_eq!(neighbour.calls(), 1);
        assert!(!bus.has_handlers_at(&5));
        assert_eq!(bus.addresses(), vec![6]);
    }
}

#[test]
fn handler_disconnects_everything_during_dispatch() {
    let bus: &'static EventsBus = leak(Bus::new("DisconnectAll"));
    let first = Scripted::new(move |_, _| {
        assert_eq!(bus.disconnect_all(), 3);
    });
    let others = [quiet(), quiet()];
    let _f = bus.connect(first.clone()).unwrap();
    let _o: Vec<Connection> = others
        .iter()
        .map(|handler| bus.connect(handler.clone()).unwrap())
        .collect();
    bus.broadcast(|handler| handler.ping(0));
    assert!(others.iter().all(|handler| handler.calls() == 0));
    assert!(!bus.has_handlers());
}

#[test]
fn no_lock_is_held_while_a_handler_runs() {
    // From inside a handler, another thread connects, dispatches, counts and disconnects on the
    // same bus. If dispatch held any bus lock, that thread would block and the timeout fire.
    let bus: &'static EventsBus = leak(Bus::new("NoLockHeld"));
    let (done_tx, done_rx) = mpsc::channel::<u32>();
    let waiter = Scripted::new(move |_, depth| {
        if depth > 0 {
            return;
        }
        let done = done_tx.clone();
        let worker = std::thread::spawn(move || {
            let helper = quiet();
            let connection = bus.connect(helper.clone()).unwrap();
            bus.broadcast(|handler| handler.ping(1));
            let count = bus.handler_count() as u32;
            drop(connection);
            let _ = done.send(count);
            helper.calls()
        });
        let count = done_rx_timeout(&worker);
        assert_eq!(count, 1);
    });
    let _w = bus.connect(waiter.clone()).unwrap();
    bus.broadcast(|handler| handler.ping(0));
    let count = done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the other thread finished while the handler was running");
    assert_eq!(count, 2);
}

/// Joins `worker`, failing (not hanging) if it does not finish within 10 s.
fn done_rx_timeout(worker: &std::thread::JoinHandle<u32>) -> u32 {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !worker.is_finished() {
        assert!(
            std::time::Instant::now() < deadline,
            "a bus lock was held while a handler ran"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    1
}

#[test]
fn a_disconnected_handler_is_released_once_no_dispatch_can_see_it() {
    let bus: &'static EventsBus = leak(Bus::new("Release"));
    let handler = quiet();
    let weak: Weak<Scripted> = Arc::downgrade(&handler);
    let connection = bus.connect(handler).unwrap();
    bus.broadcast(|handler| handler.ping(0));
    drop(connection);
    assert!(
        released(&weak),
        "the bus let go of the handler once no dispatch could see it"
    );

    // Disconnected from inside a dispatch: released when that dispatch ends.
    let handler = Scripted::new(|this, _| drop(this.own.lock().unwrap().take()));
    let weak = Arc::downgrade(&handler);
    *handler.own.lock().unwrap() = Some(bus.connect(handler.clone()).unwrap());
    drop(handler);
    let alive_during = Arc::new(AtomicUsize::new(0));
    let probe = Arc::clone(&alive_during);
    let weak_for_probe = weak.clone();
    let observer = Scripted::new(move |_, _| {
        probe.store(
            usize::from(weak_for_probe.upgrade().is_some()),
            Ordering::SeqCst,
        );
    });
    let _o = bus.connect(observer).unwrap();
    bus.broadcast(|handler| handler.ping(0));
    assert_eq!(
        alive_during.load(Ordering::SeqCst),
        1,
        "still alive mid-dispatch"
    );
    assert!(released(&weak), "released after the dispatch");
}

/// Whether `weak` dies within 5 s. Release is immediate unless another thread of this test
/// binary is inside a dispatch at that moment, in which case that thread frees it on leaving.
fn released(weak: &Weak<Scripted>) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while weak.upgrade().is_some() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

#[test]
fn connection_hooks_may_dispatch_and_disconnect() {
    let bus: &'static EventsBus = leak(Bus::new("HookReentry"));
    let hook = bus.on_connect(move |handler, _| {
        assert!(bus.is_dispatching_this_thread());
        handler.ping(99);
        // Dispatching on the same bus from a hook is allowed.
        bus.broadcast(|other| other.ping(100));
    });
    let first = quiet();
    let _f = bus.connect(first.clone()).unwrap();
    assert_eq!(
        first.calls(),
        2,
        "direct call from the hook, then the broadcast"
    );
    drop(hook);
    let second = quiet();
    let _s = bus.connect(second.clone()).unwrap();
    assert_eq!(second.calls(), 0, "the hook was removed with its guard");
}
