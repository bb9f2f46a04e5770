//! The server manager over the real SDK against `gamelift-local`: notifications on the buses,
//! players validated by the service, and the passive destroy when the last player leaves.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{eventually, fast, start};
use game_session::testing::{RecordingSessionNotifications, SessionCall};
use game_session::{
    PlayerConnectionConfig, SESSION_HANDLING_PROVIDER_REQUESTS, SESSION_NOTIFICATIONS,
};
use gamelift_server::manager::{
    GAMELIFT_SERVER_REQUESTS, GameLiftServerManager, GameLiftServerRequests, ServerManagerConfig,
};

fn validate(connection: u32, ticket: &str) -> bool {
    let config = PlayerConnectionConfig {
        player_connection_id: connection,
        player_session_id: ticket.to_string(),
    };
    SESSION_HANDLING_PROVIDER_REQUESTS
        .broadcast_result(|provider| provider.validate_player_join_session(&config))
        .unwrap_or(false)
}

fn leave(connection: u32) {
    let config = PlayerConnectionConfig {
        player_connection_id: connection,
        player_session_id: String::new(),
    };
    SESSION_HANDLING_PROVIDER_REQUESTS
        .broadcast(|provider| provider.handle_player_leave_session(&config));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_from_placement_to_passive_destroy_and_the_next_process() {
    let local = start().await;
    let game = Arc::new(RecordingSessionNotifications::default());
    let _game = SESSION_NOTIFICATIONS.connect(game.clone()).unwrap();
    let config = ServerManagerConfig {
        port: 7201,
        log_paths: vec!["/tmp/game.log".into()],
        ..Default::default()
    };
    let manager = GameLiftServerManager::with_sdk(fast(), config).unwrap();
    let _active = manager.activate().unwrap();

    let first = local.parameters("host-1", "process-a").await;
    let second = local.parameters("host-1", "process-b").await;
    let ready = {
        let manager = manager.clone();
        tokio::task::spawn_blocking(move || {
            manager.initialize_sdk(first)?;
            GAMELIFT_SERVER_REQUESTS
                .broadcast_result(|server| server.notify_process_ready())
                .expect("the manager is connected")
        })
        .await
        .unwrap()
    };
    ready.expect("process ready");
    eventually("a health check", || {
        game.calls().contains(&SessionCall::HealthCheck)
    })
    .await;

    let arn = local.create_session(4).await;
    eventually("the session to start", || {
        game.calls().contains(&SessionCall::CreateSessionEnd)
    })
    .await;
    let begin = game.calls().into_iter().find_map(|call| match call {
        SessionCall::CreateSessionBegin(config) => Some(config),
        _ => None,
    });
    let begin = begin.unwrap();
    assert_eq!(begin.session_id, arn);
    assert_eq!(begin.port, 7201);
    assert_eq!(begin.session_properties["mode"], "ctf");
    assert_eq!(local.session_status(&arn).await, "ACTIVE");

    let one = local.join(&arn, "player-1").await;
    let two = local.join(&arn, "player-2").await;
    let (a, b, forged) = tokio::task::spawn_blocking({
        let (one, two) = (one.clone(), two.clone());
        move || {
            (
                validate(1, &one),
                validate(2, &two),
                validate(3, "psess-forged"),
            )
        }
    })
    .await
    .unwrap();
    assert!(a && b, "real player sessions are accepted");
    assert!(!forged, "a forged ticket is refused");
    assert_eq!(local.player_status(&one).await, "ACTIVE");
    assert_eq!(manager.connected_players(), 2);

    tokio::task::spawn_blocking(|| leave(1)).await.unwrap();
    assert_eq!(local.player_status(&one).await, "COMPLETED");
    assert!(!game.calls().contains(&SessionCall::DestroySessionEnd));
    tokio::task::spawn_blocking(|| leave(2)).await.unwrap();
    assert!(game.calls().ends_with(&[
        SessionCall::DestroySessionBegin,
        SessionCall::DestroySessionEnd
    ]));
    assert_eq!(local.session_status(&arn).await, "TERMINATED");
    assert!(!SESSION_HANDLING_PROVIDER_REQUESTS.has_handlers());

    // The next process on the same host: a new id, ready for the next session.
    tokio::task::spawn_blocking({
        let manager = manager.clone();
        move || {
            manager.shutdown_sdk()?;
            manager.initialize_sdk(second)?;
            manager.notify_process_ready()
        }
    })
    .await
    .unwrap()
    .expect("the next process is ready");
    game.take_calls();
    let next = local.create_session(4).await;
    eventually("the next session", || {
        game.calls().contains(&SessionCall::CreateSessionEnd)
    })
    .await;
    assert_eq!(local.session_status(&next).await, "ACTIVE");
    tokio::time::sleep(Duration::from_millis(10)).await;
    tokio::task::spawn_blocking(move || manager.shutdown_sdk())
        .await
        .unwrap()
        .unwrap();
}
