//! Typed request and notification buses in the style of O3DE's EBus.
//!
//! An *interface* is a trait whose methods take `&self`; a [`Bus`] is a value, usually a
//! `static`, typed by the trait object. Providers and listeners connect handlers to the bus and
//! get a [`Connection`] guard back; whoever wants something done dispatches on the bus and never
//! needs to know who handles it.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use ebus::Bus;
//!
//! // 1. Declare an interface and its bus.
//! pub trait ScoreNotifications: Send + Sync {
//!     fn on_score(&self, player: &str, points: u32);
//!     fn total(&self) -> u32;
//! }
//! pub static SCORE: Bus<dyn ScoreNotifications> = Bus::new("ScoreNotifications");
//!
//! // 2. Implement and connect a handler. Dropping the guard disconnects it.
//! #[derive(Default)]
//! struct Scoreboard { total: AtomicU32 }
//! impl ScoreNotifications for Scoreboard {
//!     fn on_score(&self, _player: &str, points: u32) {
//!         self.total.fetch_add(points, Ordering::Relaxed);
//!     }
//!     fn total(&self) -> u32 { self.total.load(Ordering::Relaxed) }
//! }
//! let board = Arc::new(Scoreboard::default());
//! let connection = SCORE.connect(board.clone()).unwrap();
//!
//! // 3. Broadcast, and collect results.
//! SCORE.broadcast(|handler| handler.on_score("ada", 3));
//! assert_eq!(SCORE.broadcast_result(|handler| handler.total()), Some(3));
//! let all: Vec<u32> = SCORE.broadcast_collect(|handler| handler.total());
//! assert_eq!(all, vec![3]);
//!
//! // 4. Queue events from anywhere; the owner runs them on its tick.
//! SCORE.queue_broadcast(|handler| handler.on_score("bob", 2)).unwrap();
//! assert_eq!(board.total(), 3);
//! assert_eq!(SCORE.execute_queued(), 1);
//! assert_eq!(board.total(), 5);
//!
//! drop(connection);
//! assert!(!SCORE.has_handlers());
//! ```
//!
//! # Shapes
//!
//! A bus has a handler policy ([`HandlerPolicy`]) and an address policy ([`AddressPolicy`]):
//!
//! | declaration | handlers | addresses |
//! |---|---|---|
//! | `Bus::new("N")` | any number, connection order | one |
//! | `Bus::addressed("N")` | any number per address, connection order | by id |
//! | `Bus::with_policies("N", handler_policy, address_policy)` | [`HandlerPolicy`]: single, multiple, ordered by key | [`AddressPolicy`]: single, by id, by id ordered |
//!
//! A single-handler bus refuses a second handler at an address with [`Error::AlreadyConnected`]. On an addressed bus, [`Bus::event`] sends to
//! one address (nothing happens if it has no handler) and [`Bus::broadcast`] reaches every
//! address.
//!
//! ```
//! use std::sync::Arc;
//! use ebus::{AddressPolicy, Bus, HandlerPolicy};
//!
//! pub trait Health: Send + Sync {
//!     fn damage(&self, amount: i32) -> i32;
//! }
//! static HEALTH: Bus<dyn Health, u64> =
//!     Bus::with_policies("Health", HandlerPolicy::Multiple, AddressPolicy::ByIdOrdered);
//!
//! struct Entity(i32);
//! impl Health for Entity {
//!     fn damage(&self, amount: i32) -> i32 {
//!         let entity = HEALTH.current_address().unwrap(); // which entity is being called
//!         assert!(entity == 7 || entity == 9);
//!         self.0 - amount
//!     }
//! }
//! let _a = HEALTH.connect_at(7, Arc::new(Entity(100))).unwrap();
//! let _b = HEALTH.connect_at(9, Arc::new(Entity(50))).unwrap();
//! assert_eq!(HEALTH.event_result(&9, |h| h.damage(10)), Some(40));
//! assert_eq!(HEALTH.event_result(&8, |h| h.damage(10)), None); // no handler at 8
//! assert_eq!(HEALTH.broadcast_collect(|h| h.damage(1)), vec![99, 49]);
//! ```
//!
//! # Results
//!
//! [`Bus::broadcast_result`] keeps the last value, [`Bus::broadcast_collect`] all of them,
//! [`Bus::broadcast_reduce`] folds them (`|a, b| a && b` for a vote, `|a, b| a + b` for a sum)
//! and [`Bus::broadcast_first`] calls only the first handler. Each has an `event_*` twin for
//! one address and the main ones a `*_reverse` twin.
//!
//! # Re-entrancy and threads
//!
//! Dispatch never holds a lock while a handler runs: it iterates an immutable snapshot of the
//! connections. A handler may broadcast on the same bus, connect handlers, or disconnect itself,
//! other handlers or whole addresses; a handler connected during a dispatch does not receive that
//! dispatch, and one disconnected during it is not called afterwards. Broadcasts from many threads
//! run in parallel without writing any shared memory, and connects and disconnects may run
//! concurrently with them. See [`Connection`] for the exact guarantee across threads, and
//! [`Connection::disconnect_and_wait`] for O3DE's stronger one (the handler is not running anywhere
//! once it returns).
//!
//! # Queues, routers, hooks
//!
//! * [`Bus::queue_broadcast`], [`Bus::queue_event`], [`Bus::queue_fn`] and
//!   [`Bus::execute_queued`]: a command buffer run FIFO on the owner's tick.
//! * [`Bus::connect_router`]: interceptors that see every dispatch first and may let it continue,
//!   skip the handlers or stop ([`RouterAction`]).
//! * [`Bus::on_connect`] / [`Bus::on_disconnect`]: code that runs when a handler connects (hand a
//!   late subscriber the current state) or disconnects.
//!
//! # Async
//!
//! For interfaces with `async` methods (through `async-trait`), [`Bus::request`] awaits the
//! provider's answer. The O3DE form, where a request returns at once and the provider broadcasts
//! a completion notification later, needs nothing special: the provider spawns its work and
//! broadcasts on the notification bus when done (see `tests/async_buses.rs`).
//!
//! # Tracing
//!
//! Connects and disconnects are `debug` events and dispatches `trace` events with target `ebus`,
//! naming the bus. With no subscriber enabled at that level they cost one relaxed load.
//!
//! # The instance registry
//!
//! [`Interface`] holds one instance per interface type, like `AZ::Interface<T>`.
#![warn(missing_docs)]

mod bus;
mod connection;
mod error;
mod frames;
mod policy;
pub mod registry;

pub use bus::{Address, Bus};
pub use connection::{Connection, HookGuard};
pub use error::Error;
pub use policy::{AddressPolicy, HandlerPolicy, RouterAction};
pub use registry::{Interface, Registration};

/// Whether this thread is inside a dispatch of any bus.
pub fn is_dispatching_this_thread() -> bool {
    frames::find_frame(|frame| (!frame.bus().is_null()).then_some(())).is_some()
}

/// The examples in `README.md`, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
