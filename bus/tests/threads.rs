//! Many threads connecting, dispatching and disconnecting at once. Every loop is bounded in
//! count and in time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};

use ebus::{AddressPolicy, Bus, HandlerPolicy};

trait Counter: Send + Sync {
    fn add(&self, amount: u64);
}

struct Tally(AtomicU64);

impl Counter for Tally {
    fn add(&self, amount: u64) {
        self.0.fetch_add(amount, Ordering::Relaxed);
    }
}

impl Tally {
    fn new() -> Arc<Self> {
        Arc::new(Tally(AtomicU64::new(0)))
    }
    fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

// Miri interprets every instruction: it runs the same code paths with fewer rounds.
const THREADS: usize = if cfg!(miri) { 3 } else { 8 };
const ROUNDS: usize = if cfg!(miri) { 4 } else { 200 };
const SPINS: usize = if cfg!(miri) { 20 } else { 1000 };
const QUEUED: usize = if cfg!(miri) { 50 } else { 5000 };
const EVENTS_PER_ROUND: u64 = 5;
const TIME_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn eight_threads_connect_dispatch_and_disconnect_and_every_increment_lands() {
    let shared: &'static Bus<dyn Counter> = leak(Bus::new("ThrashShared"));
    let addressed: &'static Bus<dyn Counter, usize> = leak(Bus::with_policies(
        "ThrashAddressed",
        HandlerPolicy::Multiple,
        AddressPolicy::ById,
    ));
    let permanent = Tally::new();
    let _permanent = shared.connect(permanent.clone()).unwrap();
    let start = Barrier::new(THREADS);
    let deadline = Instant::now() + TIME_LIMIT;
    let broadcasts = AtomicU64::new(0);

    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let start = &start;
            let broadcasts = &broadcasts;
            let permanent = &permanent;
            scope.spawn(move || {
                start.wait();
                for round in 0..ROUNDS {
                    assert!(Instant::now() < deadline, "thrash exceeded its time limit");
                    // A short-lived handler at this thread's own address.
                    let mine = Tally::new();
                    let connection = addressed.connect_at(thread, mine.clone()).unwrap();
                    for _ in 0..EVENTS_PER_ROUND {
                        addressed.event(&thread, |handler| handler.add(1));
                    }
                    // Only events addressed to this thread reach this handler, and every one
                    // of them does, while 7 other threads connect and disconnect beside it.
                    assert_eq!(mine.get(), EVENTS_PER_ROUND);
                    // Broadcasts reach the permanent handler plus whatever churn is connected.
                    let churn = Tally::new();
                    let churn_connection = shared.connect(churn.clone()).unwrap();
                    shared.broadcast(|handler| handler.add(1));
                    broadcasts.fetch_add(1, Ordering::Relaxed);
                    assert!(
                        churn.get() >= 1,
                        "a connected handler receives later broadcasts"
                    );
                    if round % 2 == 0 {
                        drop(churn_connection);
                    } else {
                        churn_connection.disconnect();
                    }
                    drop(connection);
                    assert!(permanent.get() >= 1);
                }
            });
        }
    });

    assert_eq!(
        permanent.get(),
        broadcasts.load(Ordering::SeqCst),
        "every broadcast reached the permanent handler exactly once"
    );
    assert_eq!(permanent.get(), (THREADS * ROUNDS) as u64);
    assert_eq!(shared.handler_count(), 1);
    assert_eq!(addressed.handler_count(), 0);
}

#[test]
fn many_threads_broadcast_to_one_handler_without_losing_an_increment() {
    // O3DE's LocklessDispatch thrash: 8 x 1000 increments must all land.
    let bus: &'static Bus<dyn Counter> = leak(Bus::new("Lockless"));
    let tally = Tally::new();
    let _c = bus.connect(tally.clone()).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..SPINS {
                    bus.broadcast(|handler| handler.add(1));
                }
            });
        }
    });
    assert_eq!(tally.get(), (THREADS * SPINS) as u64);
}

#[test]
fn after_disconnect_returns_dispatches_on_other_threads_never_call_the_handler() {
    let bus: &'static Bus<dyn Counter> = leak(Bus::new("CrossThreadDisconnect"));
    for _ in 0..(if cfg!(miri) { 3 } else { 50 }) {
        let victim = Tally::new();
        let connection = bus.connect(victim.clone()).unwrap();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let (disconnected_tx, disconnected_rx) = mpsc::channel::<()>();
        let dispatcher = {
            let victim = victim.clone();
            std::thread::spawn(move || {
                bus.broadcast(|handler| handler.add(1));
                ready_tx.send(()).unwrap();
                disconnected_rx
                    .recv_timeout(Duration::from_secs(10))
                    .expect("disconnect signalled");
                let before = victim.get();
                for _ in 0..(if cfg!(miri) { 5 } else { 100 }) {
                    bus.broadcast(|handler| handler.add(1));
                }
                victim.get() - before
            })
        };
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        connection.disconnect();
        disconnected_tx.send(()).unwrap();
        assert_eq!(dispatcher.join().unwrap(), 0);
        assert_eq!(victim.get(), 1);
    }
}

#[test]
fn queues_accept_items_from_many_threads_and_run_them_on_the_owner() {
    let bus: &'static Bus<dyn Counter, u32> = leak(Bus::addressed("QueueThreads"));
    let tally = Tally::new();
    let _c = bus.connect_at(1, tally.clone()).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..QUEUED {
                    bus.queue_event(1, |handler| handler.add(1)).unwrap();
                }
            });
        }
    });
    assert_eq!(tally.get(), 0, "nothing runs until the owner executes");
    assert_eq!(bus.queued_len(), 3 * QUEUED);
    assert_eq!(bus.execute_queued(), 3 * QUEUED);
    assert_eq!(tally.get(), 3 * QUEUED as u64);
}
