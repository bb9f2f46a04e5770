//! Named-session calls as `async fn`s, for tokio, Bevy or any executor: each sends the request
//! on [`NAMED_SESSION_ASYNC_REQUESTS`] and awaits its completion from
//! [`NAMED_SESSION_COMPLETIONS`]. No runtime is needed here: the future is woken by whichever
//! thread delivers the completion (with [`CompletionMode::Queued`](super::CompletionMode), the
//! thread that pumps the completions bus).
//!
//! Request ids from `2^63` up are this module's; give your own async requests smaller ids.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use ebus::Connection;

use super::error::NamedSessionError;
use super::interfaces::{
    CreateMode, NAMED_SESSION_ASYNC_REQUESTS, NAMED_SESSION_COMPLETIONS, NamedSessionAsyncRequests,
    NamedSessionCompletion, NamedSessionCompletions, NamedSessionOutcome,
};
use super::search::{SessionDetails, SessionSearch};
use super::settings::SessionSettings;
use super::store::{NamedSessionInfo, PlayerChange};

/// The first request id the awaitable calls use.
pub const AWAITABLE_REQUEST_IDS: u64 = 1 << 63;

#[derive(Default)]
struct Slot {
    result: Option<Result<NamedSessionOutcome, NamedSessionError>>,
    waker: Option<Waker>,
}

#[derive(Default)]
struct Waiters {
    slots: Mutex<HashMap<u64, Arc<Mutex<Slot>>>>,
}

impl NamedSessionCompletions for Waiters {
    fn on_named_session_complete(&self, completion: &NamedSessionCompletion) {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&completion.request_id);
        if let Some(slot) = slot {
            let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
            slot.result = Some(completion.result.clone());
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        }
    }
}

fn waiters() -> &'static Arc<Waiters> {
    static WAITERS: OnceLock<(Arc<Waiters>, Option<Connection>)> = OnceLock::new();
    let (waiters, _) = WAITERS.get_or_init(|| {
        let waiters = Arc::new(Waiters::default());
        let connection = NAMED_SESSION_COMPLETIONS.connect(waiters.clone()).ok();
        (waiters, connection)
    });
    waiters
}

/// One awaited completion.
struct Pending {
    slot: Arc<Mutex<Slot>>,
}

impl Future for Pending {
    type Output = Result<NamedSessionOutcome, NamedSessionError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match slot.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

async fn call(
    operation: &'static str,
    send: impl FnOnce(&dyn NamedSessionAsyncRequests, u64),
) -> Result<NamedSessionOutcome, NamedSessionError> {
    static NEXT: AtomicU64 = AtomicU64::new(AWAITABLE_REQUEST_IDS);
    let waiters = waiters();
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let slot = Arc::new(Mutex::new(Slot::default()));
    waiters
        .slots
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, slot.clone());
    let provider = NAMED_SESSION_ASYNC_REQUESTS.first_handler();
    let sent = provider.is_some();
    if let Some(provider) = provider {
        send(&*provider, id);
    }
    if !sent {
        waiters
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        return Err(NamedSessionError::NotSupported {
            operation,
            missing: "no NamedSessionAsyncRequests provider is connected".into(),
        });
    }
    Pending { slot }.await
}

fn session(outcome: NamedSessionOutcome) -> Result<NamedSessionInfo, NamedSessionError> {
    match outcome {
        NamedSessionOutcome::Session(info) => Ok(*info),
        other => Err(unexpected(other)),
    }
}

fn unexpected(outcome: NamedSessionOutcome) -> NamedSessionError {
    NamedSessionError::Backend(crate::SessionError::Failed(format!(
        "the provider completed with an unexpected outcome: {outcome:?}"
    )))
}

/// Creates a session and waits for it.
pub async fn create_session(
    user: &str,
    name: &str,
    settings: SessionSettings,
    mode: CreateMode,
) -> Result<NamedSessionInfo, NamedSessionError> {
    session(
        call("create", |p, id| {
            p.create_session_async(id, user, name, settings, mode)
        })
        .await?,
    )
}

/// Updates a session's settings.
pub async fn update_session(
    user: &str,
    name: &str,
    settings: SessionSettings,
) -> Result<NamedSessionInfo, NamedSessionError> {
    session(
        call("update", |p, id| {
            p.update_session_async(id, user, name, settings)
        })
        .await?,
    )
}

/// Starts a session.
pub async fn start_session(user: &str, name: &str) -> Result<NamedSessionInfo, NamedSessionError> {
    session(call("start", |p, id| p.start_session_async(id, user, name)).await?)
}

/// Ends a session.
pub async fn end_session(user: &str, name: &str) -> Result<NamedSessionInfo, NamedSessionError> {
    session(call("end", |p, id| p.end_session_async(id, user, name)).await?)
}

/// Destroys a session.
pub async fn destroy_session(user: &str, name: &str) -> Result<(), NamedSessionError> {
    match call("destroy", |p, id| p.destroy_session_async(id, user, name)).await? {
        NamedSessionOutcome::Destroyed => Ok(()),
        other => Err(unexpected(other)),
    }
}

/// Finds sessions.
pub async fn find_sessions(
    user: &str,
    search: SessionSearch,
) -> Result<Vec<SessionDetails>, NamedSessionError> {
    match call("find", |p, id| p.find_sessions_async(id, user, search)).await? {
        NamedSessionOutcome::Found(found) => Ok(found),
        other => Err(unexpected(other)),
    }
}

/// Joins a found session under a local name.
pub async fn join_session(
    user: &str,
    name: &str,
    found: SessionDetails,
) -> Result<NamedSessionInfo, NamedSessionError> {
    session(call("join", |p, id| p.join_session_async(id, user, name, found)).await?)
}

/// Registers players.
pub async fn register_players(
    user: &str,
    name: &str,
    players: Vec<String>,
) -> Result<PlayerChange, NamedSessionError> {
    match call("register", |p, id| {
        p.register_players_async(id, user, name, players)
    })
    .await?
    {
        NamedSessionOutcome::Players(change) => Ok(change),
        other => Err(unexpected(other)),
    }
}

/// Unregisters players.
pub async fn unregister_players(
    user: &str,
    name: &str,
    players: Vec<String>,
) -> Result<PlayerChange, NamedSessionError> {
    match call("unregister", |p, id| {
        p.unregister_players_async(id, user, name, players)
    })
    .await?
    {
        NamedSessionOutcome::Players(change) => Ok(change),
        other => Err(unexpected(other)),
    }
}
