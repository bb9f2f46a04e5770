//! What the benchmarks share: the handler interface and its implementation, thread fan-out, and
//! reading criterion's saved estimates for the closing tables.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

/// The interface every benchmark dispatches.
pub trait Work: Send + Sync {
    fn work(&self, x: u64) -> u64;
}

/// A handler that does a few arithmetic operations and writes no shared memory.
pub struct Mixer(pub u64);

impl Work for Mixer {
    #[inline(never)]
    fn work(&self, x: u64) -> u64 {
        x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ self.0
    }
}

/// `count` handlers.
pub fn handlers(count: usize) -> Vec<Arc<dyn Work>> {
    (0..count)
        .map(|index| Arc::new(Mixer(index as u64)) as Arc<dyn Work>)
        .collect()
}

/// Runs `body(iterations)` on `threads` threads at once; returns the slowest thread's time.
pub fn parallel(threads: usize, iterations: u64, body: &(dyn Fn(u64) + Sync)) -> Duration {
    let start = Barrier::new(threads);
    let slowest = Mutex::new(Duration::ZERO);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                start.wait();
                let began = Instant::now();
                body(iterations);
                let elapsed = began.elapsed();
                let mut slowest = slowest.lock().unwrap();
                *slowest = (*slowest).max(elapsed);
            });
        }
    });
    slowest.into_inner().unwrap()
}

/// Where criterion writes its results.
pub fn output_directory() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("criterion")
}

/// The time (ns) criterion measured for `group/bench`, from its saved estimates: its primary
/// estimate (the slope of the linear fit), or the median where it fitted none.
pub fn estimate_ns(directory: &Path, id: &str) -> Option<f64> {
    let path = directory.join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| json["median"]["point_estimate"].as_f64())
}
