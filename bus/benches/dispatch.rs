//! Dispatch cost of `ebus`, each figure next to a baseline measured in the same run.
//!
//! * `broadcast/{1,8,64}`: a broadcast vs a plain loop over `Vec<Arc<dyn I>>`.
//! * `threads`: 8 handlers, broadcast from 1 thread and from 2 threads at once, for both; the
//!   handlers write no shared memory, so ideal scaling keeps the time per broadcast unchanged.
//! * `churn`: connect + disconnect one handler next to 8 others vs push + remove in a
//!   `Mutex<Vec<Arc<dyn I>>>`.
//! * `fanout/8`: one event to 8 receivers through `tokio::sync::broadcast` vs an `ebus` broadcast.
//!
//! After the measurements the ratios are printed as a table (`cargo bench -p ebus`).

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use criterion::{BenchmarkId, Criterion};

mod common;
use common::{Mixer, Work, estimate_ns, handlers, output_directory, parallel};
use ebus::Bus;

fn plain_broadcast(list: &[Arc<dyn Work>], x: u64) -> u64 {
    let mut accumulator = 0;
    for handler in list {
        accumulator ^= handler.work(x);
    }
    accumulator
}

fn bus_broadcast(bus: &Bus<dyn Work>, x: u64) -> u64 {
    let mut accumulator = 0;
    bus.broadcast(|handler| accumulator ^= handler.work(x));
    accumulator
}

/// A bus for one benchmark. Buses are process-wide singletons, so benchmarks leak theirs.
fn new_bus() -> &'static Bus<dyn Work> {
    Box::leak(Box::new(Bus::new("bench")))
}

fn connect_all(bus: &'static Bus<dyn Work>, list: &[Arc<dyn Work>]) -> Vec<ebus::Connection> {
    list.iter()
        .map(|handler| {
            bus.connect(Arc::clone(handler))
                .expect("multiple-handler bus")
        })
        .collect()
}

fn broadcast(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast");
    for count in [1usize, 8, 64] {
        let list = handlers(count);
        let bus = new_bus();
        let _connections = connect_all(bus, &list);
        let mut x = 0u64;
        group.bench_function(BenchmarkId::new("plain_loop", count), |b| {
            b.iter(|| {
                x = x.wrapping_add(1);
                black_box(plain_broadcast(black_box(&list), x))
            })
        });
        group.bench_function(BenchmarkId::new("ebus", count), |b| {
            b.iter(|| {
                x = x.wrapping_add(1);
                black_box(bus_broadcast(black_box(bus), x))
            })
        });
    }
    group.finish();
}

fn threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("threads");
    let list = handlers(8);
    let bus = new_bus();
    let _connections = connect_all(bus, &list);
    let plain = |iterations: u64| {
        for x in 0..iterations {
            black_box(plain_broadcast(black_box(&list), x));
        }
    };
    let ebus = |iterations: u64| {
        for x in 0..iterations {
            black_box(bus_broadcast(black_box(bus), x));
        }
    };
    for threads in [1usize, 2] {
        group.bench_function(BenchmarkId::new("plain_loop", threads), |b| {
            b.iter_custom(|iterations| parallel(threads, iterations, &plain))
        });
        group.bench_function(BenchmarkId::new("ebus", threads), |b| {
            b.iter_custom(|iterations| parallel(threads, iterations, &ebus))
        });
    }
    group.finish();
}

fn churn(c: &mut Criterion) {
    let mut group = c.benchmark_group("churn");
    let list = handlers(8);
    let extra: Arc<dyn Work> = Arc::new(Mixer(99));
    let locked: Mutex<Vec<Arc<dyn Work>>> = Mutex::new(list.clone());
    group.bench_function("mutex_vec", |b| {
        b.iter(|| {
            let mut vec = locked.lock().unwrap();
            vec.push(Arc::clone(&extra));
            let position = vec
                .iter()
                .position(|handler| Arc::ptr_eq(handler, &extra))
                .unwrap();
            vec.remove(position);
        })
    });
    let bus = new_bus();
    let _connections = connect_all(bus, &list);
    group.bench_function("ebus", |b| {
        b.iter(|| {
            let connection = bus.connect(Arc::clone(&extra)).unwrap();
            drop(black_box(connection));
        })
    });
    group.finish();
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    let list = handlers(8);
    let (sender, _) = tokio::sync::broadcast::channel::<u64>(16);
    let mut receivers: Vec<_> = (0..8).map(|_| sender.subscribe()).collect();
    let mut x = 0u64;
    group.bench_function(BenchmarkId::new("tokio_broadcast", 8), |b| {
        b.iter(|| {
            x = x.wrapping_add(1);
            sender.send(x).unwrap();
            let mut accumulator = 0;
            for (receiver, handler) in receivers.iter_mut().zip(&list) {
                accumulator ^= handler.work(receiver.try_recv().unwrap());
            }
            black_box(accumulator)
        })
    });
    let bus = new_bus();
    let _connections = connect_all(bus, &list);
    group.bench_function(BenchmarkId::new("ebus", 8), |b| {
        b.iter(|| {
            x = x.wrapping_add(1);
            black_box(bus_broadcast(bus, x))
        })
    });
    group.finish();
}

fn report(directory: &std::path::Path) {
    let get = |id: &str| estimate_ns(directory, id);
    println!();
    println!("| measure | ebus | baseline | ratio | target |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, ours: &str, base: &str, target: &str| {
        if let (Some(ours), Some(base)) = (get(ours), get(base)) {
            println!(
                "| {name} | {ours:.2} ns | {base:.2} ns | {:.2}x | {target} |",
                ours / base
            );
        }
    };
    row(
        "broadcast, 1 handler, vs plain loop",
        "broadcast/ebus/1",
        "broadcast/plain_loop/1",
        "<= 2x",
    );
    row(
        "broadcast, 8 handlers, vs plain loop",
        "broadcast/ebus/8",
        "broadcast/plain_loop/8",
        "<= 1.3x",
    );
    row(
        "broadcast, 64 handlers, vs plain loop",
        "broadcast/ebus/64",
        "broadcast/plain_loop/64",
        "",
    );
    row(
        "connect + disconnect vs Mutex<Vec> push + remove",
        "churn/ebus",
        "churn/mutex_vec",
        "",
    );
    row(
        "fan-out to 8 vs tokio::sync::broadcast",
        "fanout/ebus/8",
        "fanout/tokio_broadcast/8",
        "<= 0.33x",
    );
    if let (Some(p1), Some(p2), Some(e1), Some(e2)) = (
        get("threads/plain_loop/1"),
        get("threads/plain_loop/2"),
        get("threads/ebus/1"),
        get("threads/ebus/2"),
    ) {
        // Scaling = how much of the single-thread speed each of 2 threads keeps (1.0 = perfect).
        let plain = p1 / p2;
        let ours = e1 / e2;
        println!(
            "| 2-thread scaling (1 thread / 2 threads per broadcast) | {ours:.2} | {plain:.2} | {:.0}% of the plain loop's | >= 90% |",
            100.0 * ours / plain
        );
    }
}

fn main() {
    let directory = output_directory();
    let mut criterion = Criterion::default()
        .output_directory(&directory)
        .configure_from_args();
    broadcast(&mut criterion);
    threads(&mut criterion);
    churn(&mut criterion);
    fanout(&mut criterion);
    criterion.final_summary();
    report(&directory);
}
