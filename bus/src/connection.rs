//! Guards returned by connecting: dropping one undoes the connection.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The bus-side record of one connected handler or router.
#[derive(Debug)]
pub(crate) struct Node {
    /// Unique within the bus and increasing with connection time, so it also orders ties.
    pub(crate) key: u64,
    /// The explicit order key (0 unless the handler was connected with one).
    pub(crate) order: i64,
    /// Cleared once the bus has published a snapshot without this node.
    pub(crate) connected: AtomicBool,
    /// Whether this node is a router rather than a handler.
    pub(crate) router: bool,
}

impl Node {
    #[inline]
    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }
}

/// What a guard needs from its bus, without the bus's type parameters.
pub(crate) trait Link: Send + Sync {
    fn disconnect(&self, node: &Node);
    fn disconnect_and_wait(&self, node: &Node);
    fn remove_hook(&self, key: u64);
}

/// A live connection of a handler (or router) to a bus, at one address.
///
/// Dropping the guard disconnects the handler; so does [`disconnect`](Self::disconnect). Once
/// that returns:
///
/// * dispatches on the disconnecting thread never call the handler again, including the
///   dispatches it is inside of (a handler may disconnect itself or others mid-dispatch);
/// * dispatches on other threads that start afterwards never call it;
/// * a dispatch that was already running on another thread may still call it once: it checks
///   the handler's state just before each call, and a call it began before the disconnect may
///   still be running. [`disconnect_and_wait`](Self::disconnect_and_wait) waits for those.
///
/// The guard carries no type parameters, so it can be stored in any struct.
#[must_use = "dropping the connection disconnects the handler at once"]
pub struct Connection {
    bus: &'static str,
    link: Option<&'static dyn Link>,
    node: Arc<Node>,
}

impl Connection {
    pub(crate) fn new(bus: &'static str, link: &'static dyn Link, node: Arc<Node>) -> Self {
        Connection {
            bus,
            link: Some(link),
            node,
        }
    }

    /// Whether the handler is still connected. It may have been disconnected through the bus
    /// (for example by [`Bus::disconnect_address`](crate::Bus::disconnect_address)).
    pub fn is_connected(&self) -> bool {
        self.node.is_connected()
    }

    /// The name of the bus this connection belongs to.
    pub fn bus_name(&self) -> &'static str {
        self.bus
    }

    /// Disconnects now. Equivalent to dropping the guard.
    pub fn disconnect(mut self) {
        self.release();
    }

    /// Disconnects now and returns only once no other thread can still be calling the handler:
    /// a dispatch already running on another thread that may call it (or is calling it) has
    /// finished. This is O3DE's guarantee for a bus with a mutex, without the deadlock: called
    /// from inside a dispatch on this same thread, it does not wait for this thread's own
    /// dispatches (they skip the handler from now on), only for the other threads'.
    ///
    /// Do not call it while holding something a handler on another thread waits for: it would
    /// wait for that handler, which waits for you.
    pub fn disconnect_and_wait(mut self) {
        if let Some(link) = self.link.take() {
            link.disconnect_and_wait(&self.node);
        }
    }

    fn release(&mut self) {
        if let Some(link) = self.link.take() {
            link.disconnect(&self.node);
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.release();
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("bus", &self.bus)
            .field("router", &self.node.router)
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// A connection hook registered with [`Bus::on_connect`](crate::Bus::on_connect) or
/// [`Bus::on_disconnect`](crate::Bus::on_disconnect); dropping the guard removes it.
#[must_use = "dropping the guard removes the hook at once"]
pub struct HookGuard {
    link: Option<&'static dyn Link>,
    key: u64,
}

impl HookGuard {
    pub(crate) fn new(link: &'static dyn Link, key: u64) -> Self {
        HookGuard {
            link: Some(link),
            key,
        }
    }

    /// Keeps the hook installed for as long as the bus lives.
    pub fn keep(mut self) {
        self.link = None;
    }
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        if let Some(link) = self.link.take() {
            link.remove_hook(self.key);
        }
    }
}

impl fmt::Debug for HookGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookGuard").field("key", &self.key).finish()
    }
}
