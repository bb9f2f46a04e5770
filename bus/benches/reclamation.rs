//! How a bus protects the snapshot a dispatch reads, measured side by side in one run: `ebus`
//! itself and two models of the same dispatch built on well-kept crates, `arc-swap` and
//! `crossbeam-epoch`.
//!
//! Each model does what an `ebus` dispatch does: push a frame on a thread-local dispatch stack,
//! load the bus's current snapshot under the scheme's protection, call every handler after a
//! liveness check (the bus's generation, then the handler's flag), pop the frame. Writers copy the
//! snapshot, publish the copy and retire the old one by the scheme's rules.
//!
//! * `dispatch/{scheme}/{1,8,64}`: one broadcast.
//! * `threads/{scheme}/{1,2}`: 8 handlers, broadcast from 1 and from 2 threads at once.
//! * `churn/{scheme}`: connect + disconnect one handler next to 8 others.
//! * `pinned/{scheme}`: the same churn on bus B while another thread stays inside a dispatch on an
//!   unrelated bus A (does one bus's reader hold up another bus's reclamation?).
//!
//! `cargo bench -p ebus --bench reclamation` prints the table after the measurements.

use std::cell::Cell;
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};

mod common;
use common::{Mixer, Work, estimate_ns, handlers, output_directory, parallel};
use ebus::Bus;

// ----- what every model shares: entries, snapshots, the thread's dispatch stack ---------------

struct Entry {
    handler: Arc<dyn Work>,
    connected: Arc<AtomicBool>,
}

struct Snapshot {
    generation: u64,
    handlers: Vec<Entry>,
}

impl Snapshot {
    fn with(&self, generation: u64, edit: impl FnOnce(&mut Vec<Entry>)) -> Snapshot {
        let mut handlers: Vec<Entry> = self
            .handlers
            .iter()
            .map(|entry| Entry {
                handler: Arc::clone(&entry.handler),
                connected: Arc::clone(&entry.connected),
            })
            .collect();
        edit(&mut handlers);
        Snapshot {
            generation,
            handlers,
        }
    }
}

struct Frame {
    bus: *const (),
    prev: *const Frame,
}

thread_local! {
    static TOP: Cell<*const Frame> = const { Cell::new(std::ptr::null()) };
}

#[inline(always)]
fn with_frame<R>(bus: *const (), body: impl FnOnce() -> R) -> R {
    TOP.with(|top| {
        let frame = Frame {
            bus,
            prev: top.get(),
        };
        top.set(&frame);
        let result = body();
        top.set(frame.prev);
        black_box(frame.bus);
        result
    })
}

#[inline(always)]
fn call_all(generation: &AtomicU64, snapshot: &Snapshot, x: u64) -> u64 {
    let mut accumulator = 0;
    for entry in &snapshot.handlers {
        if generation.load(Ordering::Relaxed) == snapshot.generation
            || entry.connected.load(Ordering::Acquire)
        {
            accumulator ^= entry.handler.work(x);
        }
    }
    accumulator
}

/// A scheme for publishing snapshots.
trait Scheme: Sync + Send + 'static {
    fn name() -> &'static str;
    fn new() -> Self;
    fn broadcast(&self, x: u64) -> u64;
    /// Copies the snapshot through `edit`, publishes the copy, retires the old one.
    fn write(&self, edit: impl FnOnce(&mut Vec<Entry>));
    /// Runs `body` inside a dispatch (with the snapshot protected) on this bus.
    fn inside_dispatch(&self, body: impl FnOnce());
}

// ----- arc-swap ----------------------------------------------------------------------------

struct ArcSwapBus {
    current: arc_swap::ArcSwap<Snapshot>,
    generation: AtomicU64,
    writer: Mutex<()>,
}

impl Scheme for ArcSwapBus {
    fn name() -> &'static str {
        "arc_swap"
    }
    fn new() -> Self {
        ArcSwapBus {
            current: arc_swap::ArcSwap::from_pointee(Snapshot {
                generation: 0,
                handlers: Vec::new(),
            }),
            generation: AtomicU64::new(0),
            writer: Mutex::new(()),
        }
    }
    #[inline(always)]
    fn broadcast(&self, x: u64) -> u64 {
        with_frame(self as *const Self as *const (), || {
            let snapshot = self.current.load();
            call_all(&self.generation, &snapshot, x)
        })
    }
    fn write(&self, edit: impl FnOnce(&mut Vec<Entry>)) {
        let _writer = self.writer.lock().unwrap();
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let next = self.current.load().with(generation, edit);
        drop(self.current.swap(Arc::new(next)));
    }
    fn inside_dispatch(&self, body: impl FnOnce()) {
        with_frame(self as *const Self as *const (), || {
            let snapshot = self.current.load();
            body();
            drop(snapshot);
        })
    }
}

// ----- crossbeam-epoch ---------------------------------------------------------------------

struct EpochBus {
    current: crossbeam_epoch::Atomic<Snapshot>,
    generation: AtomicU64,
    writer: Mutex<()>,
}

impl Drop for EpochBus {
    fn drop(&mut self) {
        // SAFETY: no other thread can reach the bus while it is dropped.
        unsafe {
            let guard = crossbeam_epoch::unprotected();
            let current = self.current.load(Ordering::Acquire, guard);
            if !current.is_null() {
                drop(current.into_owned());
            }
        }
    }
}

impl Scheme for EpochBus {
    fn name() -> &'static str {
        "crossbeam_epoch"
    }
    fn new() -> Self {
        EpochBus {
            current: crossbeam_epoch::Atomic::new(Snapshot {
                generation: 0,
                handlers: Vec::new(),
            }),
            generation: AtomicU64::new(0),
            writer: Mutex::new(()),
        }
    }
    #[inline(always)]
    fn broadcast(&self, x: u64) -> u64 {
        with_frame(self as *const Self as *const (), || {
            let guard = crossbeam_epoch::pin();
            let snapshot = self.current.load(Ordering::Acquire, &guard);
            // SAFETY: the snapshot is only destroyed after every guard pinned before its
            // retirement is dropped; `guard` lives to the end of this closure.
            match unsafe { snapshot.as_ref() } {
                Some(snapshot) => call_all(&self.generation, snapshot, x),
                None => 0,
            }
        })
    }
    fn write(&self, edit: impl FnOnce(&mut Vec<Entry>)) {
        let _writer = self.writer.lock().unwrap();
        let guard = crossbeam_epoch::pin();
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let current = self.current.load(Ordering::Acquire, &guard);
        // SAFETY: as in `broadcast`; writers are serialised, so `current` is the live snapshot.
        let next = unsafe { current.deref() }.with(generation, edit);
        let old = self
            .current
            .swap(crossbeam_epoch::Owned::new(next), Ordering::AcqRel, &guard);
        // SAFETY: `old` is unreachable through `current` now; readers pinned earlier keep it.
        unsafe { guard.defer_destroy(old) };
    }
    fn inside_dispatch(&self, body: impl FnOnce()) {
        with_frame(self as *const Self as *const (), || {
            let guard = crossbeam_epoch::pin();
            body();
            drop(guard);
        })
    }
}

// ----- ebus ------------------------------------------------------------------------------------

struct EbusBus {
    bus: &'static Bus<dyn Work>,
    connections: Mutex<Vec<ebus::Connection>>,
}

impl Scheme for EbusBus {
    fn name() -> &'static str {
        "ebus"
    }
    fn new() -> Self {
        EbusBus {
            bus: Box::leak(Box::new(Bus::new("bench"))),
            connections: Mutex::new(Vec::new()),
        }
    }
    #[inline(always)]
    fn broadcast(&self, x: u64) -> u64 {
        let mut accumulator = 0;
        self.bus.broadcast(|handler| accumulator ^= handler.work(x));
        accumulator
    }
    fn write(&self, edit: impl FnOnce(&mut Vec<Entry>)) {
        // Replay the edit as connects and disconnects.
        let mut entries = Vec::new();
        edit(&mut entries);
        let mut connections = self.connections.lock().unwrap();
        if entries.is_empty() {
            connections.pop();
        } else {
            for entry in entries {
                connections.push(self.bus.connect(entry.handler).expect("multiple handlers"));
            }
        }
    }
    fn inside_dispatch(&self, body: impl FnOnce()) {
        let mut body = Some(body);
        self.bus.broadcast_first(|_| {
            if let Some(body) = body.take() {
                body();
            }
        });
    }
}

fn connect(scheme: &impl Scheme, handler: Arc<dyn Work>) -> Arc<AtomicBool> {
    let connected = Arc::new(AtomicBool::new(true));
    let flag = Arc::clone(&connected);
    scheme.write(move |handlers| {
        handlers.push(Entry {
            handler,
            connected: flag,
        })
    });
    connected
}

fn disconnect_last(scheme: &impl Scheme) {
    scheme.write(|handlers| {
        if let Some(entry) = handlers.pop() {
            entry.connected.store(false, Ordering::Release);
        }
    });
}

// ----- the measurements ----------------------------------------------------------------------

fn dispatch<S: Scheme>(c: &mut Criterion) {
    let mut group = c.benchmark_group("dispatch");
    for count in [1usize, 8, 64] {
        let scheme = S::new();
        for handler in handlers(count) {
            connect(&scheme, handler);
        }
        let mut x = 0u64;
        group.bench_function(BenchmarkId::new(S::name(), count), |b| {
            b.iter(|| {
                x = x.wrapping_add(1);
                black_box(black_box(&scheme).broadcast(x))
            })
        });
    }
    group.finish();
}

fn threads<S: Scheme>(c: &mut Criterion) {
    let mut group = c.benchmark_group("threads");
    let scheme = S::new();
    for handler in handlers(8) {
        connect(&scheme, handler);
    }
    let run = |iterations: u64| {
        for x in 0..iterations {
            black_box(black_box(&scheme).broadcast(x));
        }
    };
    for threads in [1usize, 2] {
        group.bench_function(BenchmarkId::new(S::name(), threads), |b| {
            b.iter_custom(|iterations| parallel(threads, iterations, &run))
        });
    }
    group.finish();
}

fn churn<S: Scheme>(c: &mut Criterion) {
    let mut group = c.benchmark_group("churn");
    let scheme = S::new();
    for handler in handlers(8) {
        connect(&scheme, handler);
    }
    let extra: Arc<dyn Work> = Arc::new(Mixer(99));
    group.bench_function(S::name(), |b| {
        b.iter(|| {
            connect(&scheme, Arc::clone(&extra));
            disconnect_last(&scheme);
        })
    });
    group.finish();
}

fn pinned<S: Scheme>(c: &mut Criterion) {
    let mut group = c.benchmark_group("pinned");
    let busy = S::new();
    for handler in handlers(1) {
        connect(&busy, handler);
    }
    let written = S::new();
    for handler in handlers(8) {
        connect(&written, handler);
    }
    let extra: Arc<dyn Work> = Arc::new(Mixer(99));
    let inside = Barrier::new(2);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            busy.inside_dispatch(|| {
                inside.wait();
                while !done.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        });
        inside.wait();
        group.bench_function(S::name(), |b| {
            b.iter(|| {
                connect(&written, Arc::clone(&extra));
                disconnect_last(&written);
            })
        });
        done.store(true, Ordering::Release);
    });
    group.finish();
}

fn all<S: Scheme>(c: &mut Criterion) {
    dispatch::<S>(c);
    threads::<S>(c);
    churn::<S>(c);
    pinned::<S>(c);
}

fn report(directory: &Path) {
    let schemes = ["ebus", "arc_swap", "crossbeam_epoch"];
    let get = |group: &str, scheme: &str, rest: &str| {
        let id = if rest.is_empty() {
            format!("{group}/{scheme}")
        } else {
            format!("{group}/{scheme}/{rest}")
        };
        estimate_ns(directory, &id)
    };
    println!();
    println!("| measure | ebus | arc-swap | crossbeam-epoch |");
    println!("|---|---|---|---|");
    let row = |name: &str, group: &str, rest: &str| {
        let cells: Vec<String> = schemes
            .iter()
            .map(
                |scheme| match (get(group, scheme, rest), get(group, "ebus", rest)) {
                    (Some(value), Some(base)) if *scheme != "ebus" => {
                        format!("{value:.2} ns ({:.2}x)", value / base)
                    }
                    (Some(value), _) => format!("{value:.2} ns"),
                    _ => "-".into(),
                },
            )
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    };
    row("broadcast, 1 handler", "dispatch", "1");
    row("broadcast, 8 handlers", "dispatch", "8");
    row("broadcast, 64 handlers", "dispatch", "64");
    row("8 handlers, 1 thread", "threads", "1");
    row("8 handlers, each of 2 threads", "threads", "2");
    row("connect + disconnect", "churn", "");
    row(
        "connect + disconnect while another bus is inside a dispatch",
        "pinned",
        "",
    );
}

fn main() {
    let directory = output_directory();
    let mut criterion = Criterion::default()
        .output_directory(&directory)
        .configure_from_args();
    all::<EbusBus>(&mut criterion);
    all::<ArcSwapBus>(&mut criterion);
    all::<EpochBus>(&mut criterion);
    criterion.final_summary();
    report(&directory);
}
