//! Stopping cleanly on Ctrl-C and on SIGTERM, the signal process managers, the GameLift Agent and
//! `gamelift-local --launch` send to a game server they want to stop. A game server that waits on
//! [`shutdown_signal`] can end its session (ProcessEnding) and exit 0 instead of dying mid-call.
//!
//! ```no_run
//! # async fn run() {
//! let stop = gamelift_server::signals::shutdown_signal();
//! // ... initialise the SDK, call process_ready, host sessions ...
//! stop.await;
//! // ... ProcessEnding, destroy, exit 0 ...
//! # }
//! ```

use std::future::Future;

/// A future that resolves on Ctrl-C (SIGINT) or SIGTERM. On Unix the handlers are installed when
/// this is called, not when the future is first polled, so call it at start-up: a signal that
/// arrives before the program waits for it is still seen instead of ending the process on the
/// spot. Must be called inside a tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            match (interrupt, terminate) {
                (Some(mut interrupt), Some(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
