//! Named sessions: the state machine against a model under random call sequences, every limit and
//! rate limit, and each typed error.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use game_session::SessionState;
use game_session::named::*;
use proptest::prelude::*;

fn settings(max_players: u32) -> SessionSettings {
    SessionModification::new(Limits::default())
        .max_players(max_players)
        .unwrap()
        .build()
}

fn ok() -> Result<BackendSession, NamedSessionError> {
    Ok(BackendSession {
        session_id: Some("gs-1".into()),
        connect: None,
    })
}

fn failed() -> Result<BackendSession, NamedSessionError> {
    Err(NamedSessionError::Backend(
        game_session::SessionError::Failed("backend said no".into()),
    ))
}

fn unlimited() -> Limits {
    Limits {
        lifecycle_calls: u32::MAX,
        player_calls: u32::MAX,
        ..Limits::default()
    }
}

// ----- the state machine against a model -----------------------------------------------------

#[derive(Debug, Clone)]
enum Call {
    Create(usize),
    Join(usize),
    Start(usize),
    End(usize),
    Update(usize),
    Destroy(usize),
    /// Finish the outstanding ticket at this index (modulo their count), successfully or not.
    Finish(usize, bool),
}

fn call() -> impl Strategy<Value = Call> {
    let name = 0usize..3;
    prop_oneof![
        name.clone().prop_map(Call::Create),
        name.clone().prop_map(Call::Join),
        name.clone().prop_map(Call::Start),
        name.clone().prop_map(Call::End),
        name.clone().prop_map(Call::Update),
        name.prop_map(Call::Destroy),
        (0usize..8, any::<bool>()).prop_map(|(i, ok)| Call::Finish(i, ok)),
        (0usize..8, any::<bool>()).prop_map(|(i, ok)| Call::Finish(i, ok)),
    ]
}

/// The model: the state of each name, and which begun calls are outstanding.
#[derive(Default)]
struct Model {
    states: HashMap<String, (SessionState, u64)>,
    next: u64,
}

const NAMES: [&str; 3] = ["Game", "Party", "Lobby"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_state_machine_follows_the_model(calls in proptest::collection::vec(call(), 1..60)) {
        let mut store = LocalSessions::new(unlimited());
        let mut model = Model::default();
        // Outstanding tickets with what the model expects at finish: (ticket, incarnation, from).
        let mut tickets: Vec<(Ticket, u64, SessionState)> = Vec::new();
        let now = Instant::now();
        for call in calls {
            match call {
                Call::Create(i) | Call::Join(i) => {
                    let name = NAMES[i];
                    let result = if matches!(call, Call::Create(_)) {
                        store.begin_create("u", name, settings(4), now)
                    } else {
                        store.begin_join("u", name, settings(4), None, now)
                    };
                    match model.states.get(name) {
                        Some(_) => prop_assert!(matches!(result, Err(NamedSessionError::SessionAlreadyExists { .. })), "{:?}", result),
                        None => {
                            let ticket = result.expect("a free name can be created");
                            model.next += 1;
                            model.states.insert(name.into(), (SessionState::Creating, model.next));
                            tickets.push((ticket, model.next, SessionState::NoSession));
                        }
                    }
                }
                Call::Start(i) | Call::End(i) | Call::Update(i) | Call::Destroy(i) => {
                    let name = NAMES[i];
                    let result = match call {
                        Call::Start(_) => store.begin_start("u", name, now),
                        Call::End(_) => store.begin_end("u", name, now),
                        Call::Update(_) => store.begin_update("u", name, settings(6), now),
                        _ => store.begin_destroy("u", name, now),
                    };
                    let Some((state, incarnation)) = model.states.get(name).copied() else {
                        prop_assert!(matches!(result, Err(NamedSessionError::SessionNotFound { .. })), "{:?}", result);
                        continue;
                    };
                    use SessionState::*;
                    let next = match (&call, state) {
                        (Call::Destroy(_), Destroying) => None,
                        (Call::Destroy(_), _) => Some(Destroying),
                        (_, Destroying) => None,
                        (Call::Start(_), Pending | Ended) => Some(Starting),
                        (Call::End(_), InProgress) => Some(Ending),
                        (Call::Update(_), Pending | Starting | InProgress | Ending | Ended) => Some(state),
                        _ => None,
                    };
                    match next {
                        Some(next) => {
                            let ticket = result.expect("an allowed call begins");
                            model.states.insert(name.into(), (next, incarnation));
                            tickets.push((ticket, incarnation, state));
                        }
                        None => {
                            let error = result.expect_err("a call the state does not allow is refused");
                            if state == Destroying {
                                prop_assert!(matches!(error, NamedSessionError::AlreadyPending { .. }), "{error:?}");
                            } else {
                                prop_assert!(matches!(error, NamedSessionError::InvalidState { .. }), "{error:?}");
                            }
                        }
                    }
                }
                Call::Finish(index, success) => {
                    if tickets.is_empty() {
                        continue;
                    }
                    let (ticket, incarnation, from) = tickets.remove(index % tickets.len());
                    let name = ticket.name.clone();
                    let operation = ticket.operation.clone();
                    let answer = if success { ok() } else { failed() };
                    let result = store.finish(ticket, answer);
                    let current = model.states.get(&name).copied();
                    let live = current.filter(|(_, inc)| *inc == incarnation);
                    use SessionState::*;
                    let superseded = match live {
                        None => true,
                        Some((Destroying, _)) => operation != Operation::Destroy,
                        Some(_) => false,
                    };
                    if superseded {
                        prop_assert!(matches!(result, Err(NamedSessionError::Superseded { .. })), "{result:?}");
                        continue;
                    }
                    let after = match (&operation, success) {
                        (Operation::Destroy, _) => None,
                        (Operation::Create | Operation::Join, true) => Some(Pending),
                        (Operation::Create | Operation::Join, false) => None,
                        (Operation::Start { .. }, true) => Some(InProgress),
                        (Operation::Start { .. }, false) => Some(from),
                        (Operation::End, true) => Some(Ended),
                        (Operation::End, false) => Some(InProgress),
                        (Operation::Update(_), _) => live.map(|(state, _)| state),
                    };
                    match after {
                        Some(state) => { model.states.insert(name.clone(), (state, incarnation)); }
                        None => { model.states.remove(&name); }
                    }
                    prop_assert_eq!(result.is_ok(), success, "{:?}", result);
                }
            }
            // The store and the model agree on every name after every call.
            for name in NAMES {
                let expected = model.states.get(name).map_or(SessionState::NoSession, |(s, _)| *s);
                prop_assert_eq!(store.state("u", name), expected, "{}", name);
            }
        }
        // Every state change recorded is a real change.
        for change in store.drain_changes() {
            prop_assert_ne!(change.from, change.to);
        }
    }
}

// ----- each typed error ------------------------------------------------------------------------

fn created(store: &mut LocalSessions, user: &str, name: &str) {
    let ticket = store
        .begin_create(user, name, settings(4), Instant::now())
        .unwrap();
    store.finish(ticket, ok()).unwrap();
}

#[test]
fn typed_errors_for_calls_in_the_wrong_state() {
    let mut store = LocalSessions::new(unlimited());
    let now = Instant::now();
    created(&mut store, "ada", "Game");
    assert!(matches!(
        store.begin_create("ada", "Game", settings(4), now),
        Err(NamedSessionError::SessionAlreadyExists { .. })
    ));
    assert!(matches!(
        store.begin_join("ada", "Game", settings(4), None, now),
        Err(NamedSessionError::SessionAlreadyExists { .. })
    ));
    assert!(matches!(
        store.begin_end("ada", "Game", now),
        Err(NamedSessionError::InvalidState {
            operation: "end",
            state: SessionState::Pending,
            ..
        })
    ));
    let start = store.begin_start("ada", "Game", now).unwrap();
    store.finish(start, ok()).unwrap();
    let error = store.begin_start("ada", "Game", now).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot start session \"Game\" while it is InProgress"
    );
    let end = store.begin_end("ada", "Game", now).unwrap();
    store.finish(end, ok()).unwrap();
    // Ended sessions may start again.
    let again = store.begin_start("ada", "Game", now).unwrap();
    let destroy = store.begin_destroy("ada", "Game", now).unwrap();
    assert!(matches!(
        store.begin_destroy("ada", "Game", now),
        Err(NamedSessionError::AlreadyPending { .. })
    ));
    // The start was overtaken by the destroy.
    assert!(matches!(
        store.finish(again, ok()),
        Err(NamedSessionError::Superseded {
            operation: "start",
            ..
        })
    ));
    store.finish(destroy, ok()).unwrap();
    assert_eq!(store.state("ada", "Game"), SessionState::NoSession);
    assert!(matches!(
        store.begin_start("ada", "Game", now),
        Err(NamedSessionError::SessionNotFound { .. })
    ));
}

#[test]
fn a_failed_backend_call_puts_the_session_back() {
    let mut store = LocalSessions::new(unlimited());
    let now = Instant::now();
    let creating = store.begin_create("ada", "Game", settings(4), now).unwrap();
    assert!(store.finish(creating, failed()).is_err());
    assert_eq!(store.state("ada", "Game"), NoSession);
    created(&mut store, "ada", "Game");
    let start = store.begin_start("ada", "Game", now).unwrap();
    assert!(store.finish(start, failed()).is_err());
    assert_eq!(store.state("ada", "Game"), Pending);
    let changes: Vec<(SessionState, SessionState)> = store
        .drain_changes()
        .into_iter()
        .map(|c| (c.from, c.to))
        .collect();
    use SessionState::{Creating, NoSession, Pending, Starting};
    assert_eq!(
        changes,
        vec![
            (NoSession, Creating),
            (Creating, NoSession),
            (NoSession, Creating),
            (Creating, Pending),
            (Pending, Starting),
            (Starting, Pending),
        ]
    );
}

// ----- limits ----------------------------------------------------------------------------------

#[test]
fn settings_limits_name_the_field_and_the_limit() {
    let limits = Limits::default();
    let error = SessionModification::new(limits.clone())
        .max_players(1001)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid max_players: must be 1 to 1000, not 1001"
    );
    let gamelift = Limits {
        max_players: 200,
        ..Limits::default()
    };
    assert!(
        SessionModification::new(gamelift)
            .max_players(201)
            .unwrap_err()
            .to_string()
            .contains("1 to 200")
    );
    let mut builder = SessionModification::new(limits.clone());
    for index in 0..100 {
        builder = builder
            .attribute(format!("a{index}"), index as i64)
            .unwrap();
    }
    assert!(matches!(
        builder.clone().attribute("one-more", true),
        Err(NamedSessionError::LimitExceeded { limit: 100, .. })
    ));
    // Replacing an existing attribute is not one more.
    builder = builder.attribute("a0", "replaced").unwrap();
    assert_eq!(builder.settings().attributes.len(), 100);
    let long = "n".repeat(1001);
    assert!(
        SessionModification::new(limits.clone())
            .attribute(long, 1i64)
            .unwrap_err()
            .to_string()
            .contains("1 to 1000 characters")
    );
    assert!(
        SessionModification::new(limits.clone())
            .attribute("x", f64::NAN)
            .is_err()
    );
    assert!(
        SessionModification::new(limits.clone())
            .session_id_override("short")
            .unwrap_err()
            .to_string()
            .contains("16 to 64")
    );
    let update = SessionModification::update(limits, settings(8), 5);
    assert!(
        update
            .max_players(4)
            .unwrap_err()
            .to_string()
            .contains("5 registered players")
    );
}

#[test]
fn a_user_has_at_most_sixteen_sessions() {
    let mut store = LocalSessions::new(unlimited());
    for index in 0..16 {
        created(&mut store, "ada", &format!("s{index}"));
    }
    assert!(matches!(
        store.begin_create("ada", "s16", settings(4), Instant::now()),
        Err(NamedSessionError::LimitExceeded { limit: 16, .. })
    ));
    // Another user is not affected.
    created(&mut store, "bob", "s0");
}

#[test]
fn rate_limits_answer_when_to_retry() {
    let mut store = LocalSessions::new(Limits::default());
    let start = Instant::now();
    for index in 0..30 {
        let ticket = store
            .begin_create("ada", &format!("s{}", index % 10), settings(4), start)
            .or_else(|_| store.begin_destroy("ada", &format!("s{}", index % 10), start));
        if let Ok(ticket) = ticket {
            let _ = store.finish(ticket, ok());
        }
    }
    let later = start + Duration::from_secs(20);
    let error = store
        .begin_create("ada", "extra", settings(4), later)
        .unwrap_err();
    match error {
        NamedSessionError::TooManyRequests {
            class: CallClass::Lifecycle,
            retry_after,
            ..
        } => assert_eq!(retry_after, Duration::from_secs(40)),
        other => panic!("{other:?}"),
    }
    // Another user has a limit of their own; and after the window, calls are accepted again.
    assert!(
        store
            .begin_create("bob", "Game", settings(4), later)
            .is_ok()
    );
    assert!(
        store
            .begin_create("ada", "extra", settings(4), start + Duration::from_secs(60))
            .is_ok()
    );
}

#[test]
fn player_calls_have_their_own_limit_of_a_hundred() {
    let mut store = LocalSessions::new(Limits::default());
    created(&mut store, "ada", "Game");
    let now = Instant::now();
    let players: Vec<String> = vec!["p".into()];
    for _ in 0..50 {
        store
            .register_players("ada", "Game", &players, |_| false, now)
            .unwrap();
        store
            .unregister_players("ada", "Game", &players, now)
            .unwrap();
    }
    assert!(matches!(
        store.register_players("ada", "Game", &players, |_| false, now),
        Err(NamedSessionError::TooManyRequests {
            class: CallClass::Players,
            ..
        })
    ));
}

#[test]
fn registering_players_reports_registered_sanctioned_and_no_change() {
    let mut store = LocalSessions::new(unlimited());
    let now = Instant::now();
    let sanctioned = SessionModification::new(Limits::default())
        .max_players(3)
        .unwrap()
        .sanctions_enabled(true)
        .build();
    let ticket = store.begin_create("ada", "Game", sanctioned, now).unwrap();
    store.finish(ticket, ok()).unwrap();
    let ids = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let change = store
        .register_players(
            "ada",
            "Game",
            &ids(&["a", "b", "cheater"]),
            |p| p == "cheater",
            now,
        )
        .unwrap();
    assert_eq!(change.changed, ids(&["a", "b"]));
    assert_eq!(change.sanctioned, ids(&["cheater"]));
    assert!(store.is_player_in_session("ada", "Game", "a"));
    assert!(matches!(
        store.register_players("ada", "Game", &ids(&["a"]), |_| false, now),
        Err(NamedSessionError::NoChange(_))
    ));
    assert!(matches!(
        store.register_players("ada", "Game", &ids(&["c", "d"]), |_| false, now),
        Err(NamedSessionError::SessionFull { max_players: 3, .. })
    ));
    let gone = store
        .unregister_players("ada", "Game", &ids(&["a", "zed"]), now)
        .unwrap();
    assert_eq!(gone.changed, ids(&["a"]));
    assert!(matches!(
        store.unregister_players("ada", "Game", &ids(&["zed"]), now),
        Err(NamedSessionError::NoChange(_))
    ));
    let dump = store.dump("ada", "Game");
    assert!(
        dump.contains("Pending") && dump.contains("1/3 players"),
        "{dump}"
    );
}

// ----- search ----------------------------------------------------------------------------------

fn details(
    id: &str,
    players: u32,
    build: impl FnOnce(SessionModification) -> SessionModification,
) -> SessionDetails {
    SessionDetails {
        session_id: id.into(),
        owner: None,
        settings: build(
            SessionModification::new(Limits::default())
                .max_players(4)
                .unwrap()
                .bucket_id("eu")
                .unwrap(),
        )
        .build(),
        player_count: players,
        registered_players: Vec::new(),
        host_address: None,
    }
}

#[test]
fn attribute_predicates_filters_and_distance() {
    let sessions = vec![
        details("a", 0, |m| {
            m.attribute("level", 10i64)
                .unwrap()
                .attribute("map", "harbour")
                .unwrap()
        }),
        details("b", 2, |m| {
            m.attribute("level", 30i64)
                .unwrap()
                .attribute("map", "desert")
                .unwrap()
        }),
        details("c", 4, |m| {
            m.attribute("level", 21i64)
                .unwrap()
                .attribute("map", "harbour-night")
                .unwrap()
        }),
        details("d", 1, |m| {
            m.attribute("level", 19.5)
                .unwrap()
                .local_attribute("map", "secret")
                .unwrap()
        }),
    ];
    let ids = |search: SessionSearch| -> Vec<String> {
        search
            .rank(sessions.clone())
            .into_iter()
            .map(|s| s.session_id)
            .collect()
    };
    let search = || SessionSearch::attributes();
    assert_eq!(
        ids(search().with("map", Comparison::Equal, "harbour").unwrap()),
        ["a"]
    );
    assert_eq!(
        ids(search()
            .with("map", Comparison::NotEqual, "harbour")
            .unwrap()),
        ["b", "c", "d"]
    );
    assert_eq!(
        ids(search().with("level", Comparison::Greater, 20i64).unwrap()),
        ["b", "c"]
    );
    assert_eq!(
        ids(search()
            .with("level", Comparison::GreaterOrEqual, 21i64)
            .unwrap()),
        ["b", "c"]
    );
    assert_eq!(
        ids(search().with("level", Comparison::Less, 20i64).unwrap()),
        ["a", "d"]
    );
    assert_eq!(
        ids(search()
            .with("level", Comparison::LessOrEqual, 19.5)
            .unwrap()),
        ["a", "d"]
    );
    assert_eq!(
        ids(search().with("level", Comparison::Distance, 20i64).unwrap()),
        ["d", "c", "a", "b"]
    );
    assert_eq!(
        ids(search()
            .with_values(
                "map",
                Comparison::AnyOf,
                vec!["desert".into(), "harbour".into()]
            )
            .unwrap()),
        ["a", "b"]
    );
    assert_eq!(
        ids(search()
            .with_values(
                "map",
                Comparison::NotAnyOf,
                vec!["desert".into(), "harbour".into()]
            )
            .unwrap()),
        ["c", "d"]
    );
    // A local attribute is never seen by a search.
    assert_eq!(
        ids(search()
            .with("map", Comparison::Contains, "harbour")
            .unwrap()),
        ["a", "c"]
    );
    assert_eq!(
        ids(search()
            .with("map", Comparison::Contains, "secret")
            .unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(ids(search().empty_only().unwrap()), ["a"]);
    assert_eq!(ids(search().non_empty_only().unwrap()), ["b", "c", "d"]);
    assert_eq!(ids(search().min_free_slots(3).unwrap()), ["a", "d"]);
    assert_eq!(ids(search().bucket("us").unwrap()), Vec::<String>::new());
    assert_eq!(ids(search().max_results(2).unwrap()), ["a", "b"]);
    // Predicates AND.
    assert_eq!(
        ids(search()
            .with("level", Comparison::Greater, 5i64)
            .unwrap()
            .with("level", Comparison::NotEqual, 10i64)
            .unwrap()
            .with("map", Comparison::Contains, "harbour")
            .unwrap()),
        ["c"]
    );
}

#[test]
fn searches_are_checked_as_they_are_built() {
    assert!(
        SessionSearch::attributes()
            .max_results(201)
            .unwrap_err()
            .to_string()
            .contains("1 to 200")
    );
    assert!(
        SessionSearch::attributes()
            .with("level", Comparison::Greater, "x")
            .is_err()
    );
    assert!(
        SessionSearch::attributes()
            .with("map", Comparison::Contains, 3i64)
            .is_err()
    );
    assert!(
        SessionSearch::attributes()
            .with_values("map", Comparison::Equal, vec![])
            .is_err()
    );
    // The modes do not mix.
    assert!(
        SessionSearch::by_id("gs-1")
            .with("map", Comparison::Equal, "x")
            .is_err()
    );
    assert!(SessionSearch::by_user("ada").bucket("eu").is_err());
    let mut session = details("gs-1", 1, |m| m);
    assert!(SessionSearch::by_id("gs-1").matches(&session));
    session.registered_players = vec!["ada".into()];
    assert!(SessionSearch::by_user("ada").matches(&session));
    assert!(!SessionSearch::by_user("bob").matches(&session));
}
