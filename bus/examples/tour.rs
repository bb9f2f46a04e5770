//! A tour of `ebus`: a request bus with one provider, a notification bus with several listeners,
//! an addressed bus, a vote, a router, a connection hook and a queue drained on a "tick".
//!
//! Run with `cargo run -p ebus --example tour`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use ebus::{AddressPolicy, Bus, HandlerPolicy, RouterAction};

/// Requests: one provider answers.
trait SessionRequests: Send + Sync {
    fn create_session(&self, name: &str) -> Result<String, String>;
}

/// Notifications: any number of listeners; `on_create_session_begin` is a vote.
trait SessionNotifications: Send + Sync {
    fn on_create_session_begin(&self, session_id: &str) -> bool;
    fn on_create_session_end(&self, session_id: &str);
}

/// Per-player events, addressed by player number.
trait PlayerEvents: Send + Sync {
    fn on_joined(&self, session_id: &str) -> String;
}

static SESSION_REQUESTS: Bus<dyn SessionRequests> = Bus::with_policies(
    "SessionRequests",
    HandlerPolicy::Single,
    AddressPolicy::Single,
);
static SESSION_NOTIFICATIONS: Bus<dyn SessionNotifications> = Bus::new("SessionNotifications");
static PLAYER_EVENTS: Bus<dyn PlayerEvents, u32> = Bus::with_policies(
    "PlayerEvents",
    HandlerPolicy::Multiple,
    AddressPolicy::ByIdOrdered,
);

struct Provider {
    created: AtomicU32,
}

impl SessionRequests for Provider {
    fn create_session(&self, name: &str) -> Result<String, String> {
        if name.is_empty() {
            return Err("the session name is empty".into());
        }
        let id = format!(
            "session-{}",
            self.created.fetch_add(1, Ordering::Relaxed) + 1
        );
        let approved = SESSION_NOTIFICATIONS.broadcast_reduce(
            true,
            |listener| listener.on_create_session_begin(&id),
            |a, b| a && b,
        );
        if !approved {
            return Err(format!("a listener refused {id}"));
        }
        SESSION_NOTIFICATIONS.broadcast(|listener| listener.on_create_session_end(&id));
        Ok(id)
    }
}

struct LevelLoader {
    name: &'static str,
    accept: bool,
}

impl SessionNotifications for LevelLoader {
    fn on_create_session_begin(&self, session_id: &str) -> bool {
        println!("  {} votes {} for {session_id}", self.name, self.accept);
        self.accept
    }
    fn on_create_session_end(&self, session_id: &str) {
        println!("  {} sees {session_id} created", self.name);
    }
}

struct Player;

impl PlayerEvents for Player {
    fn on_joined(&self, session_id: &str) -> String {
        let number = PLAYER_EVENTS.current_address().unwrap_or_default();
        format!("player {number} joined {session_id}")
    }
}

/// A router that logs every session notification before the listeners see it.
struct Audit(Mutex<Vec<String>>);

impl SessionNotifications for Audit {
    fn on_create_session_begin(&self, session_id: &str) -> bool {
        self.0.lock().unwrap().push(format!("begin {session_id}"));
        SESSION_NOTIFICATIONS.set_router_action(RouterAction::Continue);
        true
    }
    fn on_create_session_end(&self, session_id: &str) {
        self.0.lock().unwrap().push(format!("end {session_id}"));
    }
}

fn main() {
    println!("1. a provider connects to the single-handler request bus");
    let _provider = SESSION_REQUESTS
        .connect(Arc::new(Provider {
            created: AtomicU32::new(0),
        }))
        .expect("first provider");
    let second = SESSION_REQUESTS.connect(Arc::new(Provider {
        created: AtomicU32::new(0),
    }));
    println!("   a second provider is refused: {}", second.unwrap_err());

    println!("2. two listeners and an audit router on the notification bus");
    let _game = SESSION_NOTIFICATIONS
        .connect(Arc::new(LevelLoader {
            name: "game",
            accept: true,
        }))
        .unwrap();
    let _ui = SESSION_NOTIFICATIONS
        .connect(Arc::new(LevelLoader {
            name: "ui",
            accept: true,
        }))
        .unwrap();
    let audit = Arc::new(Audit(Mutex::new(Vec::new())));
    let _router = SESSION_NOTIFICATIONS.connect_router(audit.clone(), 0);

    println!("3. game code requests a session through the bus");
    let created = SESSION_REQUESTS.broadcast_result(|provider| provider.create_session("arena"));
    println!("   result: {created:?}");
    let refused = SESSION_REQUESTS.broadcast_result(|provider| provider.create_session(""));
    println!("   invalid request: {refused:?}");

    println!("4. a listener that votes no makes the next creation fail");
    let veto = SESSION_NOTIFICATIONS
        .connect(Arc::new(LevelLoader {
            name: "veto",
            accept: false,
        }))
        .unwrap();
    let vetoed = SESSION_REQUESTS.broadcast_result(|provider| provider.create_session("arena"));
    println!("   result: {vetoed:?}");
    drop(veto);

    println!("5. players on an addressed bus; a hook greets late joiners");
    let _greeting = PLAYER_EVENTS.on_connect(|player, number| {
        println!(
            "  hook: {}",
            player.on_joined(&format!("lobby (as player {number})"))
        );
    });
    let players: Vec<_> = [3, 1, 2]
        .into_iter()
        .map(|number| PLAYER_EVENTS.connect_at(number, Arc::new(Player)).unwrap())
        .collect();
    for line in PLAYER_EVENTS.broadcast_collect(|player| player.on_joined("session-1")) {
        println!("   {line}");
    }

    println!("6. events queued from other threads run on the owner's tick");
    std::thread::scope(|scope| {
        for number in [1u32, 2] {
            scope.spawn(move || {
                PLAYER_EVENTS
                    .queue_event(number, |player| {
                        println!("   queued: {}", player.on_joined("session-2"))
                    })
                    .unwrap();
            });
        }
    });
    println!("   {} events waiting; tick:", PLAYER_EVENTS.queued_len());
    PLAYER_EVENTS.execute_queued();
    drop(players);

    println!(
        "7. the router saw every notification: {:?}",
        audit.0.lock().unwrap()
    );
}
