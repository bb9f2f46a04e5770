//! Named sessions in their async forms, against gamelift-local (`--auto-activate`, so sessions are
//! ACTIVE at once): one completion per request, delivered at once or queued for the game's tick,
//! and the awaitable `async fn`s.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use game_session::SessionState;
use game_session::named::*;
use gamelift_client::{GameLiftClientConfig, GameLiftClientManager};

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Local {
    runtime: tokio::runtime::Runtime,
    server: Option<gamelift_local::RunningServer>,
}

impl Local {
    fn start() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime
            .block_on(
                gamelift_local::Server::builder()
                    .bind("127.0.0.1:0".parse().unwrap())
                    .auto_activate(true)
                    .start(),
            )
            .unwrap();
        Local {
            runtime,
            server: Some(server),
        }
    }

    fn manager(&self, mode: CompletionMode) -> GameLiftClientManager {
        let endpoint = self.server.as_ref().unwrap().endpoint();
        let config = GameLiftClientConfig::builder()
            .region("us-west-2")
            .endpoint_url(endpoint)
            .static_credentials("local", "local")
            .fleet_id("fleet-local")
            .location("custom-local")
            .max_attempts(1)
            .named_completions(mode)
            .build();
        GameLiftClientManager::with_config(config).unwrap()
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(NamedSessionCompletion, std::thread::ThreadId)>>);

impl NamedSessionCompletions for Recorder {
    fn on_named_session_complete(&self, completion: &NamedSessionCompletion) {
        self.0
            .lock()
            .unwrap()
            .push((completion.clone(), std::thread::current().id()));
    }
}

impl Recorder {
    fn wait_for(&self, count: usize) -> Vec<(NamedSessionCompletion, std::thread::ThreadId)> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.0.lock().unwrap().len() < count && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.0.lock().unwrap().clone()
    }
}

fn settings() -> SessionSettings {
    SessionModification::new(gamelift_client::named::gamelift_limits())
        .max_players(4)
        .unwrap()
        .attribute("mode", "duel")
        .unwrap()
        .build()
}

#[test]
fn each_async_request_completes_once_at_once() {
    let _serial = serial();
    let local = Local::start();
    let manager = local.manager(CompletionMode::Immediate);
    let _active = manager.activate().unwrap();
    let recorder = Arc::new(Recorder::default());
    let _listener = NAMED_SESSION_COMPLETIONS.connect(recorder.clone()).unwrap();
    NAMED_SESSION_ASYNC_REQUESTS
        .broadcast(|p| p.create_session_async(7, "ada", "Game", settings(), CreateMode::Now));
    NAMED_SESSION_ASYNC_REQUESTS.broadcast(|p| p.start_session_async(8, "ada", "Nothing"));
    let seen = recorder.wait_for(2);
    std::thread::sleep(Duration::from_millis(100));
    let seen_after = recorder.0.lock().unwrap().len();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen_after, 2, "exactly one completion per request");
    let by_id = |id: u64| {
        seen.iter()
            .find(|(c, _)| c.request_id == id)
            .unwrap()
            .0
            .clone()
    };
    match by_id(7).result {
        Ok(NamedSessionOutcome::Session(info)) => assert_eq!(info.state, SessionState::Pending),
        other => panic!("{other:?}"),
    }
    assert_eq!(by_id(7).operation, "create");
    assert!(matches!(
        by_id(8).result,
        Err(NamedSessionError::SessionNotFound { .. })
    ));
}

#[test]
fn queued_completions_run_on_the_thread_that_pumps_them() {
    let _serial = serial();
    let local = Local::start();
    let manager = local.manager(CompletionMode::Queued);
    let _active = manager.activate().unwrap();
    let recorder = Arc::new(Recorder::default());
    let _listener = NAMED_SESSION_COMPLETIONS.connect(recorder.clone()).unwrap();
    NAMED_SESSION_ASYNC_REQUESTS
        .broadcast(|p| p.create_session_async(1, "bob", "Game", settings(), CreateMode::Now));
    // The work finishes in the background; nothing is delivered until the game's tick.
    let deadline = Instant::now() + Duration::from_secs(20);
    while NAMED_SESSION_COMPLETIONS.queued_len() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(recorder.0.lock().unwrap().is_empty());
    assert_eq!(NAMED_SESSION_COMPLETIONS.execute_queued(), 1);
    let seen = recorder.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].1,
        std::thread::current().id(),
        "delivered on the tick's thread"
    );
    assert!(seen[0].0.result.is_ok());
}

#[test]
fn the_awaitable_forms_return_the_results() {
    let _serial = serial();
    let local = Local::start();
    let manager = local.manager(CompletionMode::Immediate);
    let _active = manager.activate().unwrap();
    local.runtime.block_on(async {
        let created = awaitable::create_session("cleo", "Game", settings(), CreateMode::Now)
            .await
            .unwrap();
        assert_eq!(created.state, SessionState::Pending);
        let found = awaitable::find_sessions(
            "dan",
            SessionSearch::attributes()
                .with("mode", Comparison::Equal, "duel")
                .unwrap(),
        )
        .await
        .unwrap();
        assert!(
            found
                .iter()
                .any(|s| Some(&s.session_id) == created.session_id.as_ref())
        );
        let started = awaitable::start_session("cleo", "Game").await.unwrap();
        assert_eq!(started.state, SessionState::InProgress);
        assert!(matches!(
            awaitable::start_session("cleo", "Game").await,
            Err(NamedSessionError::InvalidState { .. })
        ));
        awaitable::destroy_session("cleo", "Game").await.unwrap();
    });
}
