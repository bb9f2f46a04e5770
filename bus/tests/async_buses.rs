//! Async buses on tokio: request buses whose handlers are `async` (async-trait), and the O3DE
//! form where a request returns at once and the provider broadcasts a completion later.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ebus::{AddressPolicy, Bus, Error, HandlerPolicy};
use tokio::sync::mpsc;

// ----- request buses with async handlers -----------------------------------------------------

#[async_trait]
trait Inventory: Send + Sync {
    async fn count(&self, item: &str) -> Result<u32, String>;
}

struct Warehouse {
    stock: Vec<(&'static str, u32)>,
}

#[async_trait]
impl Inventory for Warehouse {
    async fn count(&self, item: &str) -> Result<u32, String> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.stock
            .iter()
            .find(|(name, _)| *name == item)
            .map(|(_, count)| *count)
            .ok_or_else(|| format!("unknown item `{item}`"))
    }
}

static INVENTORY: Bus<dyn Inventory> =
    Bus::with_policies("Inventory", HandlerPolicy::Single, AddressPolicy::Single);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_request_is_awaited_and_returns_the_result() {
    assert_eq!(
        INVENTORY
            .request(|provider| async move { provider.count("sword").await })
            .await,
        Err(Error::NoHandler { bus: "Inventory" })
    );
    let _provider = INVENTORY
        .connect(Arc::new(Warehouse {
            stock: vec![("sword", 3), ("shield", 1)],
        }))
        .unwrap();
    let swords = INVENTORY
        .request(|provider| async move { provider.count("sword").await })
        .await
        .unwrap();
    assert_eq!(swords, Ok(3));
    let missing = INVENTORY
        .request(|provider| async move { provider.count("bow").await })
        .await
        .unwrap();
    assert_eq!(missing, Err("unknown item `bow`".to_string()));

    // Requests may run concurrently from spawned tasks.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            tokio::spawn(async {
                INVENTORY
                    .request(|provider| async move { provider.count("shield").await })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), Ok(1));
    }
}

#[tokio::test]
async fn async_requests_reach_addressed_handlers_and_every_handler() {
    static SHARDS: Bus<dyn Inventory, u8> = Bus::addressed("Shards");
    let _a = SHARDS
        .connect_at(
            1,
            Arc::new(Warehouse {
                stock: vec![("gem", 2)],
            }),
        )
        .unwrap();
    let _b = SHARDS
        .connect_at(
            2,
            Arc::new(Warehouse {
                stock: vec![("gem", 5)],
            }),
        )
        .unwrap();
    let second = SHARDS
        .request_at(&2, |shard| async move { shard.count("gem").await })
        .await
        .unwrap();
    assert_eq!(second, Ok(5));
    assert!(matches!(
        SHARDS
            .request_at(&9, |shard| async move { shard.count("gem").await })
            .await,
        Err(Error::NoHandlerAt { bus: "Shards", .. })
    ));
    let all = SHARDS
        .broadcast_async(|shard| async move { shard.count("gem").await.unwrap() })
        .await;
    assert_eq!(
        all,
        vec![2, 5],
        "awaited one after the other, in address order"
    );
}

// ----- the O3DE form: request now, completion notification later ------------------------------

trait MatchRequests: Send + Sync {
    /// Returns at once; the result arrives on `MATCH_NOTIFICATIONS`.
    fn find_match_async(&self, player: String);
}

trait MatchNotifications: Send + Sync {
    fn on_find_match_complete(&self, player: &str, result: &Result<String, String>);
}

static MATCH_REQUESTS: Bus<dyn MatchRequests> = Bus::with_policies(
    "MatchRequests",
    HandlerPolicy::Single,
    AddressPolicy::Single,
);
static MATCH_NOTIFICATIONS: Bus<dyn MatchNotifications> = Bus::new("MatchNotifications");

struct Matchmaker {
    runtime: tokio::runtime::Handle,
    started: AtomicU32,
}

impl MatchRequests for Matchmaker {
    fn find_match_async(&self, player: String) {
        if player.is_empty() {
            // An invalid request completes at once, before the call returns.
            MATCH_NOTIFICATIONS.broadcast(|listener| {
                listener.on_find_match_complete("", &Err("player id is empty".into()))
            });
            return;
        }
        self.started.fetch_add(1, Ordering::SeqCst);
        self.runtime.spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let result = Ok(format!("match-for-{player}"));
            MATCH_NOTIFICATIONS
                .broadcast(|listener| listener.on_find_match_complete(&player, &result));
        });
    }
}

struct Listener {
    completions: mpsc::UnboundedSender<(String, Result<String, String>)>,
    seen: Mutex<Vec<String>>,
}

impl MatchNotifications for Listener {
    fn on_find_match_complete(&self, player: &str, result: &Result<String, String>) {
        self.seen.lock().unwrap().push(player.to_string());
        let _ = self.completions.send((player.to_string(), result.clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_request_returns_at_once_and_completion_is_broadcast_once() {
    let provider = Arc::new(Matchmaker {
        runtime: tokio::runtime::Handle::current(),
        started: AtomicU32::new(0),
    });
    let _provider = MATCH_REQUESTS.connect(provider.clone()).unwrap();
    let (sender, mut completions) = mpsc::unbounded_channel();
    let listener = Arc::new(Listener {
        completions: sender,
        seen: Mutex::new(Vec::new()),
    });
    let _listener = MATCH_NOTIFICATIONS.connect(listener.clone()).unwrap();

    MATCH_REQUESTS.broadcast(|requests| requests.find_match_async("ada".into()));
    assert!(
        listener.seen.lock().unwrap().is_empty(),
        "the request returned at once"
    );
    let (player, result) = tokio::time::timeout(Duration::from_secs(5), completions.recv())
        .await
        .expect("completion within 5 s")
        .expect("channel open");
    assert_eq!(player, "ada");
    assert_eq!(result, Ok("match-for-ada".to_string()));

    // Invalid request: the completion fires before the request returns, with the error.
    MATCH_REQUESTS.broadcast(|requests| requests.find_match_async(String::new()));
    assert_eq!(listener.seen.lock().unwrap().len(), 2);
    let (_, result) = completions.recv().await.unwrap();
    assert_eq!(result, Err("player id is empty".to_string()));

    // Exactly one completion per request.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(completions.try_recv().is_err());
    assert_eq!(provider.started.load(Ordering::SeqCst), 1);
}
