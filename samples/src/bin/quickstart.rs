//! The one-command quickstart: a whole multiplayer session on this machine, through the buses.
//!
//! ```sh
//! cargo run -p samples --bin quickstart
//! ```
//!
//! It starts `gamelift-local` in this process, starts the sample game server (in this process,
//! over its own WebSocket; or as child processes with `--child-processes`), then plays the story
//! with the client manager: create a session, find it, four players join over TCP with their
//! player session ids, a forged id is refused, a few ticks, everyone leaves, the session ends on
//! its own and a fresh process is ready for the next one. Exits 0 when every step worked;
//! otherwise it says which step failed and exits 1.

use std::net::SocketAddr;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_gamelift::types::MatchmakingConfigurationStatus as Status;
use clap::Parser;
use game_session::named::{
    Comparison, ConnectInfo, CreateMode, NAMED_SESSION_REQUESTS, NamedSessionError,
    NamedSessionRequests, SessionModification, SessionSearch,
};
use gamelift_client::GameLiftClientConfig;
use gamelift_client::explain::Endpoint;
use gamelift_local::{RunningServer, Server};
use gamelift_server::sdk::SdkConfig;
use samples::anywhere::{Compute, control_plane};
use samples::client::TcpPlayers;
use samples::matchmaking::{Bot, CONFIGURATION, Hero, HeroEvent};
use samples::narrative::Narrator;
use samples::server::{Credentials, GameServerOptions, ServerEvent};
use samples::story::GameClient;
use tokio::io::AsyncBufReadExt;
use tokio::sync::{mpsc, oneshot};

const FLEET: &str = "fleet-local";
const LOCATION: &str = "custom-local";
const REGION: &str = "us-west-2";

#[derive(Debug, Parser)]
#[command(
    name = "quickstart",
    about = "A whole GameLift session on this machine"
)]
struct Args {
    /// Tell the named-session story instead (EOS / Unreal style): typed attributes, a search,
    /// a join, start, end and destroy, and Unreal's create-on-start flow.
    #[arg(long)]
    named_sessions: bool,
    /// Tell the matchmaking story instead: eight players matched 4v4 by skill through FlexMatch
    /// on gamelift-local, with acceptance, a player who declines, and a player who leaves
    /// mid-game replaced by automatic backfill.
    #[arg(long, conflicts_with = "named_sessions")]
    matchmaking: bool,
    /// Players who join.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=32))]
    players: u32,
    /// Game ticks to play.
    #[arg(long, default_value_t = 3)]
    ticks: u32,
    /// Run game servers as child processes (the `game-server` binary next to this one)
    /// instead of in this process.
    #[arg(long)]
    child_processes: bool,
    /// How many game-server processes to start with --child-processes.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    servers: u32,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Log filter.
    #[arg(long, env = "RUST_LOG", default_value = "warn")]
    log: String,
}

/// A step that failed, and why.
struct Failed {
    step: String,
    error: String,
}

trait Step<T> {
    fn step(self, step: &str) -> Result<T, Failed>;
}

impl<T, E: ToString> Step<T> for Result<T, E> {
    fn step(self, step: &str) -> Result<T, Failed> {
        self.map_err(|e| Failed {
            step: step.to_string(),
            error: e.to_string(),
        })
    }
}

/// The game servers, in process or as children; their events arrive on one channel.
enum Servers {
    InProcess {
        stop: Option<oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<Result<(), String>>,
    },
    Children(Vec<tokio::process::Child>),
}

impl Servers {
    async fn stop(self) {
        match self {
            Servers::InProcess { mut stop, task } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
            }
            Servers::Children(children) => {
                for mut child in children {
                    let _ = child.kill().await;
                }
            }
        }
    }
}

async fn start_servers(
    args: &Args,
    local: &RunningServer,
    events: mpsc::UnboundedSender<(usize, ServerEvent)>,
) -> Result<Servers, String> {
    if !args.child_processes {
        let (stop, stopped) = oneshot::channel::<()>();
        let options = GameServerOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            credentials: Credentials::Register {
                client: control_plane(Some(&local.endpoint()), REGION).await,
                endpoint: Endpoint::Local(local.endpoint()),
                compute: Compute {
                    fleet_id: FLEET.into(),
                    location: LOCATION.into(),
                    compute_name: "quickstart-host".into(),
                    ip_address: "127.0.0.1".into(),
                },
            },
            sdk: SdkConfig::default(),
            sessions: None,
            process_id: None,
            process_prefix: "quickstart".into(),
        };
        let (forward, mut reported) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(event) = reported.recv().await {
                let _ = events.send((0, event));
            }
        });
        let task = tokio::spawn(samples::server::run(options, forward, async move {
            let _ = stopped.await;
        }));
        return Ok(Servers::InProcess {
            stop: Some(stop),
            task,
        });
    }
    let binary = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name(format!("game-server{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        return Err(format!(
            "{} is missing; build it with `cargo build -p samples --bins`",
            binary.display()
        ));
    }
    let mut children = Vec::new();
    for index in 0..args.servers as usize {
        let mut child = tokio::process::Command::new(&binary)
            .args(["--register", "--control-endpoint", &local.endpoint()])
            .args(["--compute-name", &format!("quickstart-host-{index}")])
            .args(["--process-prefix", &format!("child-{index}")])
            .env_remove("GAMELIFT_SDK_PROCESS_ID")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let events = events.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(event) = line.parse() {
                    let _ = events.send((index, event));
                }
            }
        });
        children.push(child);
    }
    Ok(Servers::Children(children))
}

/// Waits for the first event `wanted` accepts.
async fn expect<T>(
    events: &mut mpsc::UnboundedReceiver<(usize, ServerEvent)>,
    what: &str,
    mut wanted: impl FnMut(usize, &ServerEvent) -> Option<T>,
) -> Result<T, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some((index, event))) => {
                if let Some(found) = wanted(index, &event) {
                    return Ok(found);
                }
            }
            Ok(None) => return Err(format!("the game servers stopped before {what}")),
            Err(_) => return Err(format!("no {what} within 30 s")),
        }
    }
}

async fn story(args: &Args, say: Narrator) -> Result<(), Failed> {
    let local = Server::builder()
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .require_auth_token(true)
        .start()
        .await
        .step("start gamelift-local")?;
    say.say(format!(
        "gamelift-local is up: control plane {}, game servers connect to {}",
        local.endpoint(),
        local.sdk_endpoint()
    ));

    let (events_in, mut events) = mpsc::unbounded_channel();
    let servers = start_servers(args, &local, events_in)
        .await
        .step("start the game servers")?;
    let expected = if args.child_processes {
        args.servers
    } else {
        1
    };
    let mut ports = std::collections::HashMap::new();
    for _ in 0..expected {
        let (index, process, port) =
            expect(
                &mut events,
                "a ready game server",
                |index, event| match event {
                    ServerEvent::Ready { process_id, port } => {
                        Some((index, process_id.clone(), *port))
                    }
                    _ => None,
                },
            )
            .await
            .step("wait for the game servers")?;
        ports.insert(index, port);
        say.say(format!(
            "game server {process} is ready (registered its compute, connected over the SDK 5 WebSocket, players on port {port})"
        ));
    }

    let config = GameLiftClientConfig::builder()
        .region(REGION)
        .endpoint_url(local.endpoint())
        .static_credentials("local", "local")
        .fleet_id(FLEET)
        .location(LOCATION)
        .matchmaking_poll_interval(Duration::from_millis(200))
        .build();
    let client = GameClient::start(config).step("start the client manager")?;
    say.say("client manager is handling the session request buses");
    if args.matchmaking {
        matchmaking_story(&say, &client, &local, &mut events).await?;
        drop(client);
        servers.stop().await;
        local.shutdown().await;
        return Ok(());
    }
    if args.named_sessions {
        named_story(&say, &client, &mut events).await?;
        drop(client);
        servers.stop().await;
        local.shutdown().await;
        return Ok(());
    }

    let started = Instant::now();
    let session_id = client
        .create_session("quickstart duel", args.players)
        .await
        .step("create a session")?;
    say.say(format!(
        "created session {session_id} in {} ms",
        started.elapsed().as_millis()
    ));
    let (host, max_players) =
        expect(
            &mut events,
            "the session on a server",
            |index, event| match event {
                ServerEvent::SessionStarted {
                    session_id: started,
                    max_players,
                } if *started == session_id => Some((index, *max_players)),
                _ => None,
            },
        )
        .await
        .step("the server hosts the session")?;
    say.say(format!(
        "game server #{host} voted yes and activated it ({max_players} players max)"
    ));

    let found = client
        .find_session(&session_id)
        .await
        .step("search for the session")?;
    say.say(format!(
        "search found it: {:?}, {}/{} players, {}:{}",
        found.status, found.current_players, found.max_players, found.ip_address, found.port
    ));

    for n in 1..=args.players {
        let player = format!("player-{n}");
        let joined = Instant::now();
        let connection = client
            .join(&session_id, &player)
            .await
            .step(&format!("{player} joins"))?;
        say.say(format!(
            "{player} joined with {} in {} ms: connected over TCP, the server validated the ticket",
            connection.player_session_id,
            joined.elapsed().as_millis()
        ));
    }
    let port = ports.get(&host).copied().unwrap_or(found.port);
    let refused = TcpPlayers::try_ticket("127.0.0.1", port, "psess-forged-ticket")
        .step("present a forged ticket")?;
    if !refused.starts_with(samples::protocol::DENIED) {
        return Err(Failed {
            step: "present a forged ticket".into(),
            error: format!("the server answered {refused:?}"),
        });
    }
    say.say(format!("a forged ticket was refused: {refused}"));

    for tick in 1..=args.ticks {
        let states = client.tick(tick).await.step(&format!("tick {tick}"))?;
        let expected = format!("STATE {tick} {}", args.players);
        if states.iter().any(|state| *state != expected) {
            return Err(Failed {
                step: format!("tick {tick}"),
                error: format!("expected {expected:?} for every player, got {states:?}"),
            });
        }
        say.say(format!(
            "tick {tick}: all {} players see {expected:?}",
            states.len()
        ));
    }

    client.leave().await.step("players leave")?;
    say.say(format!("all {} players left", args.players));
    expect(
        &mut events,
        "the end of the session",
        |index, event| match event {
            ServerEvent::SessionEnded { .. } if index == host => Some(()),
            _ => None,
        },
    )
    .await
    .step("the session ends when the last player leaves")?;
    say.say("the last player left, so the server ended the session (ProcessEnding)");
    let (process, _) = expect(&mut events, "a fresh process", |index, event| match event {
        ServerEvent::Ready { process_id, port } if index == host => {
            Some((process_id.clone(), *port))
        }
        _ => None,
    })
    .await
    .step("a fresh process gets ready")?;
    say.say(format!(
        "a fresh process {process} is ready for the next session"
    ));

    drop(client);
    servers.stop().await;
    local.shutdown().await;
    Ok(())
}

/// A named-session request on the bus, off the async workers (the calls block).
async fn named<T: Send + 'static>(
    call: impl FnOnce(&dyn NamedSessionRequests) -> Result<T, NamedSessionError> + Send + 'static,
) -> Result<T, NamedSessionError> {
    tokio::task::spawn_blocking(move || match NAMED_SESSION_REQUESTS.first_handler() {
        Some(provider) => call(&*provider),
        None => Err(NamedSessionError::NotSupported {
            operation: "named sessions",
            missing: "no NamedSessionRequests provider".into(),
        }),
    })
    .await
    .unwrap_or_else(|error| {
        Err(NamedSessionError::Backend(
            game_session::SessionError::Failed(error.to_string()),
        ))
    })
}

/// Connects `connect`'s player over TCP and keeps the connection.
fn connect(client: &GameClient, connect: &ConnectInfo) -> Result<(), String> {
    let (host, port) = connect
        .address
        .rsplit_once(':')
        .ok_or_else(|| format!("{} is not host:port", connect.address))?;
    let config = game_session::SessionConnectionConfig {
        player_session_id: connect.ticket.clone(),
        ip_address: host.to_string(),
        dns_name: String::new(),
        port: port
            .parse()
            .map_err(|e| format!("{}: {e}", connect.address))?,
    };
    client.players.connect(&config)
}

async fn named_story(
    say: &Narrator,
    client: &GameClient,
    events: &mut mpsc::UnboundedReceiver<(usize, ServerEvent)>,
) -> Result<(), Failed> {
    let settings = SessionModification::new(gamelift_client::named::gamelift_limits())
        .bucket_id("quickstart")
        .and_then(|m| m.max_players(4))
        .and_then(|m| m.attribute("mode", "duel"))
        .and_then(|m| m.attribute("level", 12i64))
        .and_then(|m| m.attribute("ranked", true))
        .and_then(|m| m.local_attribute("password", "stays on this client"))
        .step("build the settings")?
        .build();
    let created = named(|p| p.create_session("ada", "Game", settings, CreateMode::Now))
        .await
        .step("ada creates \"Game\"")?;
    say.say(format!(
        "ada created \"Game\" ({:?}): {}",
        created.state,
        created.session_id.clone().unwrap_or_default()
    ));
    expect(events, "the session on a server", |_, event| match event {
        ServerEvent::SessionStarted { .. } => Some(()),
        _ => None,
    })
    .await
    .step("a game server hosts it")?;

    let search = SessionSearch::attributes()
        .bucket("quickstart")
        .and_then(|s| s.with("level", Comparison::GreaterOrEqual, 10i64))
        .step("build the search")?;
    let found = named(move |p| p.find_sessions("bob", &search))
        .await
        .step("bob searches")?;
    let details = found.first().cloned().ok_or(Failed {
        step: "bob searches".into(),
        error: "nothing found".into(),
    })?;
    let attributes: Vec<String> = details
        .settings
        .attributes
        .iter()
        .map(|(k, a)| format!("{k}={:?}", a.value))
        .collect();
    say.say(format!(
        "bob found it by level >= 10: {} players max, attributes {}",
        details.settings.max_players,
        attributes.join(", ")
    ));
    let joining = details.clone();
    let joined = named(move |p| p.join_session("bob", "Game", &joining))
        .await
        .step("bob joins")?;
    let ticket = joined.connect.clone().unwrap_or_default();
    connect(client, &ticket).step("bob connects to the game server")?;
    say.say(format!(
        "bob joined \"Game\" and connected to {} with {}: the server validated it",
        ticket.address, ticket.ticket
    ));
    let registered = named(|p| p.register_players("ada", "Game", &["bob".to_string()]))
        .await
        .step("ada registers bob")?;
    say.say(format!("ada registered {:?}", registered.changed));
    let started = named(|p| p.start_session("ada", "Game"))
        .await
        .step("ada starts")?;
    say.say(format!("ada started \"Game\": {:?}", started.state));
    let late = details.clone();
    match named(move |p| p.join_session("carol", "Game", &late)).await {
        Err(error) => say.say(format!("carol cannot join a started session: {error}")),
        Ok(_) => {
            return Err(Failed {
                step: "carol is refused".into(),
                error: "carol joined a started session without join in progress".into(),
            });
        }
    }
    let ended = named(|p| p.end_session("ada", "Game"))
        .await
        .step("ada ends")?;
    say.say(format!("ada ended \"Game\": {:?}", ended.state));
    named(|p| p.destroy_session("ada", "Game"))
        .await
        .step("ada destroys")?;
    named(|p| p.destroy_session("bob", "Game"))
        .await
        .step("bob destroys")?;
    client.players.leave_all();
    say.say("ada destroyed \"Game\" (TerminateGameSession); bob left");
    session_ends_and_a_process_is_ready(events).await?;

    // Unreal's flow: create stores the settings; start creates, joins the owner and resolves
    // the connect string.
    let unreal = SessionModification::new(gamelift_client::named::gamelift_limits())
        .max_players(2)
        .step("build the settings")?
        .build();
    let stored = named(|p| p.create_session("dave", "Unreal", unreal, CreateMode::OnStart))
        .await
        .step("dave creates (Unreal)")?;
    say.say(format!(
        "dave created \"Unreal\" locally ({:?}, no backend session yet)",
        stored.state
    ));
    let started = named(|p| p.start_session("dave", "Unreal"))
        .await
        .step("dave starts (Unreal)")?;
    let ticket = started.connect.clone().unwrap_or_default();
    connect(client, &ticket).step("dave connects")?;
    say.say(format!(
        "dave started \"Unreal\" ({:?}): connect string {} with {}, validated by the server",
        started.state, ticket.address, ticket.ticket
    ));
    client.players.leave_all();
    named(|p| p.destroy_session("dave", "Unreal"))
        .await
        .step("dave destroys")?;
    expect(
        events,
        "the end of dave's session",
        |_, event| match event {
            ServerEvent::SessionEnded { .. } => Some(()),
            _ => None,
        },
    )
    .await
    .step("the server ends dave's session")?;
    say.say("named-session story finished");
    Ok(())
}

/// The hosted session ends and a fresh process gets ready for the next one.
async fn session_ends_and_a_process_is_ready(
    events: &mut mpsc::UnboundedReceiver<(usize, ServerEvent)>,
) -> Result<(), Failed> {
    expect(events, "the end of the session", |_, event| match event {
        ServerEvent::SessionEnded { .. } => Some(()),
        _ => None,
    })
    .await
    .step("the server ends the session")?;
    expect(events, "a fresh process", |_, event| match event {
        ServerEvent::Ready { .. } => Some(()),
        _ => None,
    })
    .await
    .step("a fresh process gets ready")?;
    Ok(())
}

/// Every bot is asked to accept, and does.
async fn all_accept(control: &aws_sdk_gamelift::Client, bots: &[&Bot]) -> Result<(), Failed> {
    for bot in bots {
        bot.wait_for(control, Status::RequiresAcceptance)
            .await
            .step(&format!("{} is asked", bot.id))?;
        bot.answer(control, true)
            .await
            .step(&format!("{} accepts", bot.id))?;
    }
    Ok(())
}

/// The hero's next notification must be `wanted`.
async fn hero_hears(hero: &mut Hero, wanted: HeroEvent) -> Result<(), Failed> {
    let heard = hero
        .next()
        .await
        .step(&format!("{} hears {wanted:?}", hero.id))?;
    if heard == wanted {
        Ok(())
    } else {
        Err(Failed {
            step: format!("{} hears {wanted:?}", hero.id),
            error: format!("heard {heard:?} first"),
        })
    }
}

/// Bots that start matchmaking with the given skills.
async fn bots(
    control: &aws_sdk_gamelift::Client,
    names: &[(&str, f64)],
) -> Result<Vec<Bot>, Failed> {
    let mut out = Vec::new();
    for (name, skill) in names {
        out.push(
            Bot::start(control, name, *skill)
                .await
                .step(&format!("{name} starts matchmaking"))?,
        );
    }
    Ok(out)
}

async fn matchmaking_story(
    say: &Narrator,
    client: &GameClient,
    local: &RunningServer,
    events: &mut mpsc::UnboundedReceiver<(usize, ServerEvent)>,
) -> Result<(), Failed> {
    let control = control_plane(Some(&local.endpoint()), REGION).await;
    samples::matchmaking::set_up(&control, FLEET)
        .await
        .step("set up FlexMatch")?;
    say.say(format!(
        "FlexMatch is set up: rule set and configuration {CONFIGURATION} (two teams of 4, team skill within 10 of the match's, 50 after 10 s; acceptance required; automatic backfill)"
    ));

    // 1. Eight players, everyone accepts.
    let mut hero = Hero::new("ada").step("listen on MatchmakingNotifications")?;
    let ticket = hero.start(12.0).await.step("ada starts matchmaking")?;
    let mut others = bots(
        &control,
        &[
            ("bob", 9.0),
            ("cho", 14.0),
            ("dev", 11.0),
            ("eve", 8.0),
            ("fay", 13.0),
            ("gus", 10.0),
            ("hal", 15.0),
        ],
    )
    .await?;
    say.say(format!(
        "8 players are looking for a 4v4 match (ada through the buses, ticket {ticket}; 7 more through the AWS SDK)"
    ));
    hero_hears(&mut hero, HeroEvent::Acceptance).await?;
    say.say("ada was asked to accept the proposed match (MatchmakingNotifications::on_match_acceptance)");
    hero.answer(&ticket, true).await.step("ada accepts")?;
    all_accept(&control, &others.iter().collect::<Vec<_>>()).await?;
    say.say("all 8 accepted; the match goes to the queue and onto a game server process");
    let (host, max_players) =
        expect(
            events,
            "the match's session on a server",
            |index, event| match event {
                ServerEvent::SessionStarted { max_players, .. } => Some((index, *max_players)),
                _ => None,
            },
        )
        .await
        .step("the match is placed")?;
    say.say(format!(
        "game server #{host} activated the match's session ({max_players} players max)"
    ));
    hero.accept_until_complete(&ticket, &tokio::sync::Notify::new())
        .await
        .step("ada's match completes")?;
    say.say("ada joined the match's session over TCP (the tracker found the ticket COMPLETED; on_match_complete)");
    let mut teams: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    teams.entry("(ada)".into()).or_default();
    for bot in &others {
        let team = bot
            .join(&control)
            .await
            .step(&format!("{} joins", bot.id))?;
        teams.entry(team).or_default().push(bot.id.clone());
    }
    teams.remove("(ada)");
    say.say(format!(
        "all 8 players joined the game; the others' teams: {}",
        teams
            .iter()
            .map(|(team, players)| format!("{team} {players:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    // 2. One leaves mid-game; automatic backfill finds a replacement.
    let leaver = others.remove(3);
    leaver.connection.leave_all();
    expect(events, "a player leaving", |_, event| match event {
        ServerEvent::PlayerLeft { .. } => Some(()),
        _ => None,
    })
    .await
    .step("eve leaves")?;
    say.say(format!(
        "{} left mid-game; gamelift-local opens an automatic backfill ticket for the free slot",
        leaver.id
    ));
    let newcomer = Bot::start(&control, "ivy", 10.0)
        .await
        .step("ivy starts matchmaking")?;
    newcomer
        .wait_for(&control, Status::RequiresAcceptance)
        .await
        .step("ivy is asked to accept the backfill match")?;
    newcomer.answer(&control, true).await.step("ivy accepts")?;
    let players = expect(events, "the backfill update", |_, event| match event {
        ServerEvent::SessionUpdated { reason, players } if reason == "MATCHMAKING_DATA_UPDATED" => {
            Some(*players)
        }
        _ => None,
    })
    .await
    .step("the server hears of the backfill")?;
    say.say(format!(
        "ivy matched into the running game: the server manager got MATCHMAKING_DATA_UPDATED ({players} players in the matchmaker data)"
    ));
    let team = newcomer.join(&control).await.step("ivy joins")?;
    say.say(format!("ivy joined the running game on team {team}"));

    // The match ends: everyone leaves, and the process gets ready for the next one.
    client.players.leave_all();
    for bot in others.iter().chain(std::iter::once(&newcomer)) {
        bot.connection.leave_all();
    }
    session_ends_and_a_process_is_ready(events).await?;
    say.say("everyone left; the session ended and a fresh process is ready");

    // 3. A player declines: the others go back to searching, a ninth completes the match.
    let ticket = hero
        .start(12.0)
        .await
        .step("ada starts matchmaking again")?;
    let mut again = bots(
        &control,
        &[
            ("bob", 9.0),
            ("cho", 14.0),
            ("dev", 11.0),
            ("eve", 8.0),
            ("fay", 13.0),
            ("gus", 10.0),
            ("kim", 15.0),
        ],
    )
    .await?;
    let decliner = again.pop().ok_or_else(|| Failed {
        step: "pick the decliner".into(),
        error: "no bots".into(),
    })?;
    // ada answers every proposal through the buses while the others answer theirs; kim
    // declines once ada has accepted.
    let ada_accepted = tokio::sync::Notify::new();
    let others_answer = async {
        all_accept(&control, &again.iter().collect::<Vec<_>>()).await?;
        decliner
            .wait_for(&control, Status::RequiresAcceptance)
            .await
            .step("kim is asked")?;
        tokio::time::timeout(Duration::from_secs(30), ada_accepted.notified())
            .await
            .step("ada accepts first")?;
        decliner
            .answer(&control, false)
            .await
            .step("kim declines")?;
        let declined = decliner.ticket(&control).await.step("kim's ticket")?;
        let searching = again[0].ticket(&control).await.step("bob's ticket")?;
        say.say(format!(
            "kim declined: kim's ticket is {:?}, the 7 who accepted are {:?} again",
            declined.status().cloned().unwrap_or(Status::Failed),
            searching.status().cloned().unwrap_or(Status::Failed),
        ));
        let replacement = Bot::start(&control, "lee", 12.0)
            .await
            .step("lee starts matchmaking")?;
        say.say("lee arrived: a new match is proposed");
        all_accept(
            &control,
            &again
                .iter()
                .chain(std::iter::once(&replacement))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok::<Bot, Failed>(replacement)
    };
    let (asked, replacement) = tokio::join!(
        hero.accept_until_complete(&ticket, &ada_accepted),
        others_answer
    );
    let asked = asked.step("ada's second match completes")?;
    again.push(replacement?);
    for bot in &again {
        bot.join(&control)
            .await
            .step(&format!("{} joins", bot.id))?;
    }
    say.say(format!(
        "the new match was placed and all 8 joined (ada accepted each proposal as on_match_acceptance announced it, {asked} announcements, then on_match_complete)"
    ));
    client.players.leave_all();
    for bot in &again {
        bot.connection.leave_all();
    }
    expect(
        events,
        "the end of the second match",
        |_, event| match event {
            ServerEvent::SessionEnded { .. } => Some(()),
            _ => None,
        },
    )
    .await
    .step("the second match's session ends")?;
    // 4. ada stops looking: the tracker reports the failure.
    let ticket = hero
        .start(12.0)
        .await
        .step("ada starts matchmaking once more")?;
    hero.stop(&ticket).await.step("ada stops matchmaking")?;
    hero_hears(&mut hero, HeroEvent::Failure).await?;
    say.say(
        "ada stopped looking: her ticket is CANCELLED and the tracker reported on_match_failure",
    );
    say.say("matchmaking story finished");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    samples::narrative::init_logging(&args.log);
    let say = Narrator::new();
    match tokio::time::timeout(Duration::from_secs(args.timeout), story(&args, say)).await {
        Ok(Ok(())) => {
            say.say(format!("quickstart finished in {:.2} s", say.elapsed()));
            ExitCode::SUCCESS
        }
        Ok(Err(failed)) => {
            eprintln!(
                "quickstart FAILED at step \"{}\": {}",
                failed.step, failed.error
            );
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "quickstart FAILED: did not finish within {} s",
                args.timeout
            );
            ExitCode::FAILURE
        }
    }
}
