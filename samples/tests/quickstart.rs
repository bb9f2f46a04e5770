//! The quickstart, run as a newcomer runs it, tells the whole story and exits 0.

use std::process::Command;

/// Runs the quickstart with `args`; it must exit 0. Returns what it printed.
fn story(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .args(args)
        .output()
        .expect("the quickstart runs");
    let story = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "exit {:?}\n{story}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    story
}

#[test]
fn the_quickstart_plays_the_whole_story() {
    let story = story(&["--timeout", "60"]);
    for step in [
        "gamelift-local is up",
        "is ready (registered its compute",
        "created session arn:aws:gamelift:",
        "voted yes and activated it (4 players max)",
        "search found it: Active, 0/4 players",
        "player-4 joined with psess-",
        "a forged ticket was refused: DENIED",
        "tick 3: all 4 players see \"STATE 3 4\"",
        "all 4 players left",
        "the server ended the session",
        "is ready for the next session",
        "quickstart finished",
    ] {
        assert!(story.contains(step), "missing {step:?} in:\n{story}");
    }
}

#[test]
fn the_named_session_story_runs_from_one_command() {
    let story = story(&["--named-sessions", "--timeout", "60"]);
    for step in [
        "ada created \"Game\" (Pending)",
        "bob found it by level >= 10",
        "level=Int(12)",
        "the server validated it",
        "ada registered [\"bob\"]",
        "ada started \"Game\": InProgress",
        "carol cannot join a started session",
        "ada ended \"Game\": Ended",
        "dave created \"Unreal\" locally (Pending, no backend session yet)",
        "dave started \"Unreal\" (InProgress): connect string 127.0.0.1:",
        "named-session story finished",
    ] {
        assert!(story.contains(step), "missing {step:?} in:\n{story}");
    }
    assert!(
        !story.contains("password"),
        "local attributes never leave:\n{story}"
    );
}

#[test]
fn the_matchmaking_story_runs_from_one_command() {
    let story = story(&["--matchmaking", "--timeout", "90"]);
    for step in [
        "8 players are looking for a 4v4 match",
        "ada was asked to accept the proposed match (MatchmakingNotifications::on_match_acceptance)",
        "all 8 accepted; the match goes to the queue",
        "activated the match's session (8 players max)",
        "ada joined the match's session over TCP",
        "all 8 players joined the game",
        "eve left mid-game",
        "ivy matched into the running game: the server manager got MATCHMAKING_DATA_UPDATED (8 players",
        "ivy joined the running game on team red",
        "kim declined: kim's ticket is Cancelled, the 7 who accepted are Searching again",
        "lee arrived: a new match is proposed",
        "the new match was placed and all 8 joined (ada accepted each proposal",
        "the tracker reported on_match_failure",
        "matchmaking story finished",
    ] {
        assert!(story.contains(step), "missing {step:?} in:\n{story}");
    }
}

#[test]
fn server_events_read_back_what_they_print() {
    use samples::server::ServerEvent;
    for event in [
        ServerEvent::Ready {
            process_id: "p-1".into(),
            port: 7777,
        },
        ServerEvent::SessionStarted {
            session_id: "arn:aws:gamelift:us-west-2::gamesession/f/g".into(),
            max_players: 4,
        },
        ServerEvent::PlayerJoined {
            connection: 3,
            player_session_id: "psess-1".into(),
        },
        ServerEvent::PlayerRefused {
            connection: 4,
            ticket: "forged ticket".into(),
        },
        ServerEvent::PlayerLeft { connection: 3 },
        ServerEvent::SessionUpdated {
            reason: "MATCHMAKING_DATA_UPDATED".into(),
            players: 8,
        },
        ServerEvent::SessionEnded {
            session_id: "s".into(),
        },
    ] {
        assert_eq!(event.to_string().parse::<ServerEvent>(), Ok(event));
    }
    assert!("NONSENSE 1".parse::<ServerEvent>().is_err());
    assert!("READY p not-a-port".parse::<ServerEvent>().is_err());
}
