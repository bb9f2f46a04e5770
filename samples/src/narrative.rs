//! Timestamped output for the sample programs.

use std::time::Instant;

/// Prints lines prefixed with the time since it was made.
#[derive(Debug, Clone, Copy)]
pub struct Narrator {
    start: Instant,
}

impl Default for Narrator {
    fn default() -> Self {
        Self::new()
    }
}

impl Narrator {
    /// Starts the clock.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }

    /// Seconds since start.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Prints one step of the story.
    pub fn say(&self, text: impl AsRef<str>) {
        println!("[{:7.3}s] {}", self.elapsed(), text.as_ref());
    }
}
