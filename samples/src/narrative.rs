//! Timestamped output and logging set-up for the sample programs.

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

/// Sends `tracing` output to stderr with `filter` (a level or a directive; `warn` if invalid), so
/// stdout stays the program's own story. Colour codes only when stderr is a terminal, so log
/// files stay plain text.
pub fn init_logging(filter: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
