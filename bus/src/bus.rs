//! The bus: connection, dispatch, results, routers, hooks, queues and async requests.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use imbl::OrdMap;

use crate::connection::{Connection, HookGuard, Link, Node};
use crate::frames::{self, Frame, Scope, lock};
use crate::{AddressPolicy, Error, HandlerPolicy, RouterAction};

/// What an addressed bus's id type must provide. Implemented for every type that qualifies
/// (`u32`, `u64`, `String`, your own `#[derive(Clone, Ord, ...)]` id types, and `()` for
/// single-address buses).
pub trait Address: Clone + Ord + fmt::Debug + Send + Sync + 'static {}
impl<T: Clone + Ord + fmt::Debug + Send + Sync + 'static> Address for T {}

/// A typed event bus, usually declared as a `static`.
///
/// `I` is the interface, a trait object such as `dyn MyNotifications` whose trait is
/// `Send + Sync`; `Id` is the address type (`()` for a bus with a single address).
///
/// See the [crate documentation](crate) for an overview and examples.
pub struct Bus<I: ?Sized + 'static, Id: 'static = ()> {
    /// The published snapshot; empty until the first connection. `arc-swap` keeps a replaced
    /// snapshot alive exactly as long as a dispatch still reads it, and frees it then.
    current: ArcSwapOption<Snapshot<I, Id>>,
    /// Bumped on every change; a dispatch whose snapshot is older re-checks each handler.
    generation: AtomicU64,
    /// Keys for handlers, routers and hooks.
    next_key: AtomicU64,
    name: &'static str,
    handler_policy: HandlerPolicy,
    address_policy: AddressPolicy,
    /// Replaced snapshots that may still be read, for `disconnect_and_wait`.
    replaced: Mutex<Vec<Weak<Snapshot<I, Id>>>>,
    hooks: Mutex<Hooks<I, Id>>,
    queue: Mutex<QueueState<I, Id>>,
}

struct Entry<I: ?Sized> {
    handler: Arc<I>,
    node: Arc<Node>,
}

impl<I: ?Sized> Clone for Entry<I> {
    fn clone(&self) -> Self {
        Entry {
            handler: Arc::clone(&self.handler),
            node: Arc::clone(&self.node),
        }
    }
}

type List<I> = Arc<[Entry<I>]>;

/// An immutable view of a bus's connections. Dispatch iterates one; writers replace it.
struct Snapshot<I: ?Sized, Id> {
    generation: u64,
    routers: List<I>,
    handlers: List<I>,
    addresses: OrdMap<Id, List<I>>,
    /// Where each connected node is: its key and address (`None` for routers).
    nodes: OrdMap<u64, Option<Id>>,
    handler_count: usize,
}

impl<I: ?Sized, Id: Address> Snapshot<I, Id> {
    fn empty() -> Self {
        Snapshot {
            generation: 0,
            routers: Arc::from(Vec::new()),
            handlers: Arc::from(Vec::new()),
            addresses: OrdMap::new(),
            nodes: OrdMap::new(),
            handler_count: 0,
        }
    }

    fn duplicate(&self) -> Self {
        Snapshot {
            generation: self.generation,
            routers: Arc::clone(&self.routers),
            handlers: Arc::clone(&self.handlers),
            addresses: self.addresses.clone(),
            nodes: self.nodes.clone(),
            handler_count: self.handler_count,
        }
    }
}

type QueuedItem<I, Id> = Box<dyn FnOnce(&Bus<I, Id>) + Send>;
type HookFn<I, Id> = Arc<dyn Fn(&I, &Id) + Send + Sync>;
type Removed<I, Id> = Vec<(Option<Id>, Arc<I>, Arc<Node>)>;

struct QueueState<I: ?Sized + 'static, Id: 'static> {
    enabled: bool,
    items: VecDeque<QueuedItem<I, Id>>,
}

struct Hooks<I: ?Sized, Id> {
    on_connect: Vec<(u64, HookFn<I, Id>)>,
    on_disconnect: Vec<(u64, HookFn<I, Id>)>,
}

fn snapshot_ptr<I: ?Sized, Id>(snapshot: &Snapshot<I, Id>) -> *const () {
    snapshot as *const Snapshot<I, Id> as *const ()
}

impl<I, Id> Bus<I, Id>
where
    I: ?Sized + Send + Sync + 'static,
    Id: Address,
{
    #[inline(always)]
    fn key(&self) -> *const () {
        self as *const Self as *const ()
    }

    #[inline(always)]
    fn is_live(&self, generation: u64, entry: &Entry<I>) -> bool {
        self.generation.load(Ordering::Relaxed) == generation || entry.node.is_connected()
    }

    /// Runs `visit` with the current snapshot (or `None`), which stays alive while it runs.
    fn with_snapshot<R>(&self, visit: impl FnOnce(Option<&Snapshot<I, Id>>) -> R) -> R {
        let guard = self.current.load();
        let snapshot = guard.as_deref();
        let frame = Frame::reading(self.key(), snapshot.map_or(ptr::null(), snapshot_ptr));
        let _scope = Scope::enter(&frame);
        visit(snapshot)
    }

    /// Builds a new snapshot from the current one with `edit` and publishes it, retrying from the
    /// newer snapshot if another writer published first. No lock is held while `edit` runs (it
    /// clones and compares ids, which is user code), and nothing changes unless the publish
    /// succeeds: a panic in `edit` leaves the bus as it was.
    fn edit<R>(
        &self,
        mut edit: impl FnMut(&mut Snapshot<I, Id>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        loop {
            let current = self.current.load_full();
            let mut next = match &current {
                Some(snapshot) => snapshot.duplicate(),
                None => Snapshot::empty(),
            };
            let result = edit(&mut next)?;
            next.generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
            next.handler_count = next.handlers.len()
                + next
                    .addresses
                    .values()
                    .map(|list| list.len())
                    .sum::<usize>();
            let previous = self
                .current
                .compare_and_swap(&current, Some(Arc::new(next)));
            let published = match (&*previous, &current) {
                (Some(previous), Some(current)) => Arc::ptr_eq(previous, current),
                (None, None) => true,
                _ => false,
            };
            drop(previous);
            if published {
                if let Some(replaced) = current {
                    self.remember_replaced(&replaced);
                }
                return Ok(result);
            }
        }
    }

    /// Keeps a weak reference to a replaced snapshot while dispatches may still read it.
    fn remember_replaced(&self, replaced: &Arc<Snapshot<I, Id>>) {
        let mut list = lock(&self.replaced);
        list.retain(|weak| weak.strong_count() > 0);
        if Arc::strong_count(replaced) > 1 {
            list.push(Arc::downgrade(replaced));
        }
    }

    /// Connects a handler at `Some(address)`, or a router with `None`.
    fn connect_node(
        &'static self,
        address: Option<Id>,
        handler: Arc<I>,
        order: i64,
    ) -> Result<Connection, Error> {
        let handler_policy = self.handler_policy;
        let router = address.is_none();
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let node = Arc::new(Node {
            key,
            order,
            connected: std::sync::atomic::AtomicBool::new(true),
            router,
        });
        self.edit(|next| {
            let entry = Entry {
                handler: Arc::clone(&handler),
                node: Arc::clone(&node),
            };
            match &address {
                None => next.routers = insert_sorted(&next.routers, entry, true),
                Some(address) if self.is_addressed() => {
                    let existing = next.addresses.get(address).cloned();
                    let existing = existing.unwrap_or_else(|| Arc::from(Vec::new()));
                    if handler_policy == HandlerPolicy::Single && !existing.is_empty() {
                        return Err(Error::AlreadyConnected {
                            bus: self.name,
                            address: self.is_addressed().then(|| format!("{address:?}")),
                        });
                    }
                    let ordered = handler_policy == HandlerPolicy::Ordered;
                    let list = insert_sorted(&existing, entry, ordered);
                    next.addresses.insert(address.clone(), list);
                }
                Some(address) => {
                    if handler_policy == HandlerPolicy::Single && !next.handlers.is_empty() {
                        return Err(Error::AlreadyConnected {
                            bus: self.name,
                            address: self.is_addressed().then(|| format!("{address:?}")),
                        });
                    }
                    let ordered = handler_policy == HandlerPolicy::Ordered;
                    next.handlers = insert_sorted(&next.handlers, entry, ordered);
                }
            }
            next.nodes.insert(key, address.clone());
            Ok(())
        })?;
        tracing::debug!(target: "ebus", bus = self.name, address = ?address, router, "connect");
        // The guard exists before the hooks run: if one panics, unwinding drops the guard and the
        // handler is disconnected again, never left connected with no guard.
        let connection = Connection::new(self.name, self, Arc::clone(&node));
        if let Some(address) = &address {
            self.run_hooks(true, address, &handler, &node);
        }
        Ok(connection)
    }

    /// Removes the nodes whose keys `select` picks, then marks them disconnected and runs the
    /// disconnect hooks. Returns the removed handlers and routers.
    fn remove_nodes(&self, select: impl Fn(&Snapshot<I, Id>) -> Vec<u64>) -> Removed<I, Id> {
        let outcome = self.edit(|next| {
            let mut removed: Removed<I, Id> = Vec::new();
            for key in select(next) {
                let Some(address) = next.nodes.remove(&key) else {
                    continue;
                };
                let mut take = |list: &List<I>| -> List<I> {
                    let mut kept = Vec::with_capacity(list.len());
                    for entry in list.iter() {
                        if entry.node.key == key {
                            removed.push((
                                address.clone(),
                                Arc::clone(&entry.handler),
                                Arc::clone(&entry.node),
                            ));
                        } else {
                            kept.push(entry.clone());
                        }
                    }
                    Arc::from(kept)
                };
                match &address {
                    None => next.routers = take(&next.routers),
                    Some(address) if self.is_addressed() => {
                        if let Some(list) = next.addresses.get(address).cloned() {
                            let list = take(&list);
                            if list.is_empty() {
                                next.addresses.remove(address);
                            } else {
                                next.addresses.insert(address.clone(), list);
                            }
                        }
                    }
                    Some(_) => next.handlers = take(&next.handlers),
                }
            }
            Ok(removed)
        });
        let Ok(removed) = outcome else {
            return Vec::new();
        };
        // Published: no dispatch that starts from now on sees these nodes, and one still
        // iterating an older snapshot skips them from here on.
        for (_, _, node) in &removed {
            node.connected.store(false, Ordering::Release);
        }
        for (address, handler, node) in &removed {
            tracing::debug!(target: "ebus", bus = self.name, address = ?address, router = node.router, "disconnect");
            if let Some(address) = address {
                self.run_hooks(false, address, handler, node);
            }
        }
        removed
    }

    /// Waits until no dispatch on another thread can still be calling any of the nodes `keys`:
    /// every replaced snapshot that contains one of them is released, except by this thread's
    /// own dispatches (waiting for those would never end; they skip the nodes from now on).
    fn wait_until_unused(&self, keys: &[u64]) {
        if keys.is_empty() {
            return;
        }
        let waiting: Vec<Weak<Snapshot<I, Id>>> = lock(&self.replaced).clone();
        for weak in waiting {
            let mut pause = Duration::from_micros(20);
            let mut spins = 0u32;
            loop {
                let Some(snapshot) = weak.upgrade() else {
                    break;
                };
                if !keys.iter().any(|key| snapshot.nodes.contains_key(key)) {
                    break;
                }
                let own = frames::holds(self.key(), snapshot_ptr(&snapshot));
                // One reference is ours (the upgrade); every other is a dispatch or a read.
                if Arc::strong_count(&snapshot) - 1 <= own {
                    break;
                }
                drop(snapshot);
                if spins < 64 {
                    spins += 1;
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(1));
                }
            }
        }
    }

    /// Runs the hooks outside every lock. A hook that panics stops the others and the panic
    /// goes on to the caller (for a connect, after the new connection is undone).
    fn run_hooks(&self, connecting: bool, address: &Id, handler: &Arc<I>, node: &Node) {
        let hooks: Vec<HookFn<I, Id>> = {
            let hooks = lock(&self.hooks);
            let list = if connecting {
                &hooks.on_connect
            } else {
                &hooks.on_disconnect
            };
            list.iter().map(|(_, hook)| Arc::clone(hook)).collect()
        };
        if hooks.is_empty() {
            return;
        }
        let frame = Frame::dispatch(self.key(), address as *const Id as *const (), ptr::null());
        let _scope = Scope::enter(&frame);
        for hook in &hooks {
            if connecting && !node.is_connected() {
                break;
            }
            hook(handler, address);
        }
    }

    /// The dispatch core. `call` is applied to routers (results discarded) and handlers (results
    /// passed to `sink`, which may stop the dispatch).
    #[inline(always)]
    fn dispatch<R>(
        &self,
        target: Option<&Id>,
        reverse: bool,
        routed: bool,
        call: &mut impl FnMut(&I) -> R,
        sink: &mut impl FnMut(R) -> ControlFlow<()>,
    ) {
        // The guard keeps the snapshot alive until the dispatch ends; it is dropped after the
        // frame's scope.
        let guard = self.current.load();
        let Some(snapshot) = guard.as_deref() else {
            return;
        };
        let frame = Frame::dispatch(
            self.key(),
            target.map_or(ptr::null(), |id| id as *const Id as *const ()),
            snapshot_ptr(snapshot),
        );
        let _scope = Scope::enter(&frame);
        if tracing::level_enabled!(tracing::Level::TRACE) {
            trace_dispatch(self.name, reverse, target.is_some());
        }
        if routed && !snapshot.routers.is_empty() && self.route(snapshot, &frame, call) {
            return;
        }
        let generation = snapshot.generation;
        match target {
            None if !self.is_addressed() => {
                let _ = self.call_list(generation, &snapshot.handlers, reverse, call, sink);
            }
            None => self.broadcast_addresses(snapshot, &frame, reverse, call, sink),
            Some(id) => {
                if self.is_addressed() {
                    if let Some((key, list)) = snapshot.addresses.get_key_value(id) {
                        frame.set_address(key as *const Id as *const ());
                        let _ = self.call_list(generation, list, reverse, call, sink);
                    }
                } else {
                    let _ = self.call_list(generation, &snapshot.handlers, reverse, call, sink);
                }
            }
        }
    }

    #[inline(always)]
    fn call_list<R>(
        &self,
        generation: u64,
        list: &[Entry<I>],
        reverse: bool,
        call: &mut impl FnMut(&I) -> R,
        sink: &mut impl FnMut(R) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if reverse {
            for entry in list.iter().rev() {
                if self.is_live(generation, entry) {
                    sink(call(&entry.handler))?;
                }
            }
        } else {
            for entry in list.iter() {
                if self.is_live(generation, entry) {
                    sink(call(&entry.handler))?;
                }
            }
        }
        ControlFlow::Continue(())
    }

    #[inline(never)]
    fn broadcast_addresses<R>(
        &self,
        snapshot: &Snapshot<I, Id>,
        frame: &Frame,
        reverse: bool,
        call: &mut impl FnMut(&I) -> R,
        sink: &mut impl FnMut(R) -> ControlFlow<()>,
    ) {
        let generation = snapshot.generation;
        let mut visit = |(id, list): (&Id, &List<I>)| {
            frame.set_address(id as *const Id as *const ());
            self.call_list(generation, list, reverse, call, sink)
        };
        let _ = if reverse {
            snapshot.addresses.iter().rev().try_for_each(&mut visit)
        } else {
            snapshot.addresses.iter().try_for_each(&mut visit)
        };
    }

    /// Runs the routers; returns whether the handlers must be skipped.
    #[inline(never)]
    fn route<R>(
        &self,
        snapshot: &Snapshot<I, Id>,
        frame: &Frame,
        call: &mut impl FnMut(&I) -> R,
    ) -> bool {
        let mut skip = false;
        for router in snapshot.routers.iter() {
            if !self.is_live(snapshot.generation, router) {
                continue;
            }
            frame.begin_routing();
            let _ = call(&router.handler);
            match frame.end_routing() {
                RouterAction::Continue => {}
                RouterAction::SkipHandlers => skip = true,
                RouterAction::Stop => return true,
            }
        }
        skip
    }

    fn innermost_frame<R>(&self, visit: impl Fn(&Frame) -> R) -> Option<R> {
        let key = self.key();
        frames::find_frame(|frame| (frame.bus() == key).then(|| visit(frame)))
    }
}

#[cold]
#[inline(never)]
fn trace_dispatch(bus: &'static str, reverse: bool, addressed: bool) {
    tracing::trace!(target: "ebus", bus, reverse, addressed, "dispatch");
}

fn insert_sorted<I: ?Sized>(list: &[Entry<I>], entry: Entry<I>, ordered: bool) -> List<I> {
    let mut entries: Vec<Entry<I>> = Vec::with_capacity(list.len() + 1);
    entries.extend(list.iter().cloned());
    let position = if ordered {
        let order = entry.node.order;
        entries.partition_point(|existing| existing.node.order <= order)
    } else {
        entries.len()
    };
    entries.insert(position, entry);
    Arc::from(entries)
}

impl<I, Id> Link for Bus<I, Id>
where
    I: ?Sized + Send + Sync + 'static,
    Id: Address,
{
    fn disconnect(&self, node: &Node) {
        if !node.is_connected() {
            return;
        }
        let key = node.key;
        self.remove_nodes(|_| vec![key]);
    }

    fn disconnect_and_wait(&self, node: &Node) {
        let key = node.key;
        if node.is_connected() {
            self.remove_nodes(|_| vec![key]);
        }
        self.wait_until_unused(&[key]);
    }

    fn remove_hook(&self, key: u64) {
        let removed = {
            let mut hooks = lock(&self.hooks);
            let mut removed = Vec::new();
            let Hooks {
                on_connect,
                on_disconnect,
            } = &mut *hooks;
            for list in [on_connect, on_disconnect] {
                if let Some(position) = list.iter().position(|(hook_key, _)| *hook_key == key) {
                    removed.push(list.remove(position));
                }
            }
            removed
        };
        drop(removed);
    }
}

impl<I: ?Sized + 'static> Bus<I, ()> {
    /// A bus with a single address and any number of handlers, called in connection order.
    /// [`Bus::with_policies`] declares the other shapes.
    pub const fn new(name: &'static str) -> Self {
        Self::with_policies(name, HandlerPolicy::Multiple, AddressPolicy::Single)
    }
}

impl<I: ?Sized + 'static, Id: 'static> Bus<I, Id> {
    /// An addressed bus ([`AddressPolicy::ById`]): handlers connect at an id, events go to one
    /// id, broadcasts reach every id.
    pub const fn addressed(name: &'static str) -> Self {
        Self::with_policies(name, HandlerPolicy::Multiple, AddressPolicy::ById)
    }

    /// A bus with any combination of policies. With [`AddressPolicy::Single`] every handler
    /// is connected at the one address `()`-like address and events ignore the id.
    ///
    /// ```
    /// use ebus::{AddressPolicy, Bus, HandlerPolicy};
    /// pub trait SessionRequests: Send + Sync {
    ///     fn create(&self) -> String;
    /// }
    /// // One provider: a second connect is an error, not a silent replacement.
    /// static REQUESTS: Bus<dyn SessionRequests> =
    ///     Bus::with_policies("SessionRequests", HandlerPolicy::Single, AddressPolicy::Single);
    /// # assert_eq!(REQUESTS.handler_policy(), HandlerPolicy::Single);
    /// ```
    pub const fn with_policies(
        name: &'static str,
        handler_policy: HandlerPolicy,
        address_policy: AddressPolicy,
    ) -> Self {
        Bus {
            current: ArcSwapOption::const_empty(),
            generation: AtomicU64::new(0),
            next_key: AtomicU64::new(0),
            name,
            handler_policy,
            address_policy,
            replaced: Mutex::new(Vec::new()),
            hooks: Mutex::new(Hooks {
                on_connect: Vec::new(),
                on_disconnect: Vec::new(),
            }),
            queue: Mutex::new(QueueState {
                enabled: true,
                items: VecDeque::new(),
            }),
        }
    }

    /// The bus's name, used in errors and tracing.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The handler policy.
    pub const fn handler_policy(&self) -> HandlerPolicy {
        self.handler_policy
    }

    /// The address policy.
    pub const fn address_policy(&self) -> AddressPolicy {
        self.address_policy
    }
}

impl<I> Bus<I, ()>
where
    I: ?Sized + Send + Sync + 'static,
{
    /// Connects a handler. On a [`HandlerPolicy::Single`] bus a second handler is refused with
    /// [`Error::AlreadyConnected`]. Connection hooks run before this returns.
    ///
    /// A handler connected during a dispatch does not receive that dispatch.
    pub fn connect(&'static self, handler: Arc<I>) -> Result<Connection, Error> {
        self.connect_at((), handler)
    }

    /// Connects a handler with an explicit order key on a [`HandlerPolicy::Ordered`] bus
    /// (elsewhere: [`Error::OrderNotSupported`]):
    /// lower keys are called first; equal keys keep connection order.
    pub fn connect_ordered(
        &'static self,
        handler: Arc<I>,
        order: i64,
    ) -> Result<Connection, Error> {
        self.connect_at_ordered((), handler, order)
    }
}

impl<I, Id> Bus<I, Id>
where
    I: ?Sized + Send + Sync + 'static,
    Id: Address,
{
    fn list_at<'s>(&self, snapshot: &'s Snapshot<I, Id>, address: &Id) -> Option<&'s List<I>> {
        if self.is_addressed() {
            snapshot.addresses.get(address)
        } else {
            Some(&snapshot.handlers)
        }
    }

    #[inline(always)]
    fn is_addressed(&self) -> bool {
        !matches!(self.address_policy, AddressPolicy::Single)
    }

    // ----- connecting -----------------------------------------------------------------------

    /// Connects a handler at `address` (on a single-address bus the address is `()`).
    ///
    /// One handler object may be connected at several addresses: pass clones of its `Arc` and
    /// keep every guard. On a [`HandlerPolicy::Single`] bus a second handler at the same address
    /// is refused with [`Error::AlreadyConnected`].
    pub fn connect_at(&'static self, address: Id, handler: Arc<I>) -> Result<Connection, Error> {
        self.connect_node(Some(address), handler, 0)
    }

    /// Connects a handler at `address` with an explicit order key; see
    /// [`connect_ordered`](Bus::connect_ordered).
    pub fn connect_at_ordered(
        &'static self,
        address: Id,
        handler: Arc<I>,
        order: i64,
    ) -> Result<Connection, Error> {
        if self.handler_policy != HandlerPolicy::Ordered {
            return Err(Error::OrderNotSupported { bus: self.name });
        }
        self.connect_node(Some(address), handler, order)
    }

    /// Connects a router: an interceptor that receives every dispatch (immediate or queued, at
    /// execution) before the handlers, in ascending `order` (ties: connection order). Inside the
    /// call a router may call [`set_router_action`](Self::set_router_action). Routers' return
    /// values are discarded; enumeration and async requests do not pass through routers.
    pub fn connect_router(&'static self, router: Arc<I>, order: i64) -> Connection {
        match self.connect_node(None, router, order) {
            Ok(connection) => connection,
            // Routers have no handler policy to violate, so connecting one cannot fail.
            Err(error) => unreachable!("connecting a router failed: {error}"),
        }
    }

    /// From inside a router's call: what to do with the dispatch. Returns `false` (and does
    /// nothing) when this thread is not running a router of this bus.
    pub fn set_router_action(&self, action: RouterAction) -> bool {
        self.innermost_frame(|frame| frame.set_action(action))
            .unwrap_or(false)
    }

    /// Whether this thread is currently running a router of this bus.
    pub fn is_routing(&self) -> bool {
        self.innermost_frame(Frame::is_routing).unwrap_or(false)
    }

    /// Registers code that runs each time a handler connects, on the connecting thread, after the
    /// handler is in place and with no bus lock held: the place to hand a late subscriber the
    /// current state. While it runs, [`current_address`](Self::current_address) is the new
    /// handler's address.
    pub fn on_connect(&'static self, hook: impl Fn(&I, &Id) + Send + Sync + 'static) -> HookGuard {
        self.add_hook(true, Arc::new(hook))
    }

    /// Registers code that runs each time a handler disconnects (also through
    /// [`disconnect_address`](Self::disconnect_address) or [`disconnect_all`](Self::disconnect_all)),
    /// after bus events stopped reaching it, with no bus lock held.
    pub fn on_disconnect(
        &'static self,
        hook: impl Fn(&I, &Id) + Send + Sync + 'static,
    ) -> HookGuard {
        self.add_hook(false, Arc::new(hook))
    }

    fn add_hook(&'static self, connecting: bool, hook: HookFn<I, Id>) -> HookGuard {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        {
            let mut hooks = lock(&self.hooks);
            if connecting {
                hooks.on_connect.push((key, hook));
            } else {
                hooks.on_disconnect.push((key, hook));
            }
        }
        HookGuard::new(self, key)
    }

    /// Disconnects every handler at `address`; returns how many. Safe to call from inside a
    /// dispatch, including one delivering to that address.
    pub fn disconnect_address(&self, address: &Id) -> usize {
        let removed = self.remove_nodes(|snapshot| {
            let list = if self.is_addressed() {
                snapshot.addresses.get(address)
            } else {
                Some(&snapshot.handlers)
            };
            list.map(|list| list.iter().map(|entry| entry.node.key).collect())
                .unwrap_or_default()
        });
        count_handlers(&removed)
    }

    /// Disconnects every handler (not the routers); returns how many.
    pub fn disconnect_all(&self) -> usize {
        let removed = self.remove_nodes(|snapshot| {
            snapshot
                .handlers
                .iter()
                .chain(snapshot.addresses.values().flat_map(|list| list.iter()))
                .map(|entry| entry.node.key)
                .collect()
        });
        count_handlers(&removed)
    }

    // ----- dispatch ---------------------------------------------------------------------------

    #[inline(always)]
    fn run<R>(
        &self,
        target: Option<&Id>,
        reverse: bool,
        mut call: impl FnMut(&I) -> R,
        mut sink: impl FnMut(R) -> ControlFlow<()>,
    ) {
        self.dispatch(target, reverse, true, &mut call, &mut sink);
    }

    /// Calls `event` on every handler (on an addressed bus: at every address), in order.
    #[inline]
    pub fn broadcast(&self, event: impl FnMut(&I)) {
        self.run(None, false, event, |()| ControlFlow::Continue(()));
    }

    /// [`broadcast`](Self::broadcast) in reverse order (addresses too).
    pub fn broadcast_reverse(&self, event: impl FnMut(&I)) {
        self.run(None, true, event, |()| ControlFlow::Continue(()));
    }

    /// Broadcasts and returns the last handler's result (`None` with no handler).
    pub fn broadcast_result<R>(&self, event: impl FnMut(&I) -> R) -> Option<R> {
        let mut last = None;
        self.run(None, false, event, |value| {
            last = Some(value);
            ControlFlow::Continue(())
        });
        last
    }

    /// Broadcasts in reverse order and returns the last result (the first handler's).
    pub fn broadcast_result_reverse<R>(&self, event: impl FnMut(&I) -> R) -> Option<R> {
        let mut last = None;
        self.run(None, true, event, |value| {
            last = Some(value);
            ControlFlow::Continue(())
        });
        last
    }

    /// Broadcasts and collects every handler's result, in call order.
    pub fn broadcast_collect<R>(&self, event: impl FnMut(&I) -> R) -> Vec<R> {
        let mut all = Vec::new();
        self.run(None, false, event, |value| {
            all.push(value);
            ControlFlow::Continue(())
        });
        all
    }

    /// Broadcasts in reverse order and collects every result, in call order.
    pub fn broadcast_collect_reverse<R>(&self, event: impl FnMut(&I) -> R) -> Vec<R> {
        let mut all = Vec::new();
        self.run(None, true, event, |value| {
            all.push(value);
            ControlFlow::Continue(())
        });
        all
    }

    /// Broadcasts and folds the results into `init`: `|a, b| a && b` for a vote in which every
    /// handler must agree, `|a, b| a + b` for a sum. Every handler is called.
    pub fn broadcast_reduce<R, A>(
        &self,
        init: A,
        event: impl FnMut(&I) -> R,
        mut fold: impl FnMut(A, R) -> A,
    ) -> A {
        let mut accumulator = Some(init);
        self.run(None, false, event, |value| {
            accumulator = accumulator.take().map(|acc| fold(acc, value));
            ControlFlow::Continue(())
        });
        accumulator.expect("the accumulator is put back after every fold")
    }

    /// Calls only the first handler (in broadcast order) and returns its result.
    pub fn broadcast_first<R>(&self, event: impl FnMut(&I) -> R) -> Option<R> {
        let mut first = None;
        self.run(None, false, event, |value| {
            first = Some(value);
            ControlFlow::Break(())
        });
        first
    }

    /// Calls `event` on every handler at `address`, in order. Nothing happens if no handler is
    /// connected there.
    #[inline]
    pub fn event(&self, address: &Id, event: impl FnMut(&I)) {
        self.run(Some(address), false, event, |()| ControlFlow::Continue(()));
    }

    /// [`event`](Self::event) in reverse handler order.
    pub fn event_reverse(&self, address: &Id, event: impl FnMut(&I)) {
        self.run(Some(address), true, event, |()| ControlFlow::Continue(()));
    }

    /// Sends to `address` and returns the last handler's result.
    pub fn event_result<R>(&self, address: &Id, event: impl FnMut(&I) -> R) -> Option<R> {
        let mut last = None;
        self.run(Some(address), false, event, |value| {
            last = Some(value);
            ControlFlow::Continue(())
        });
        last
    }

    /// Sends to `address` in reverse order and returns the last result.
    pub fn event_result_reverse<R>(&self, address: &Id, event: impl FnMut(&I) -> R) -> Option<R> {
        let mut last = None;
        self.run(Some(address), true, event, |value| {
            last = Some(value);
            ControlFlow::Continue(())
        });
        last
    }

    /// Sends to `address` and collects every result.
    pub fn event_collect<R>(&self, address: &Id, event: impl FnMut(&I) -> R) -> Vec<R> {
        let mut all = Vec::new();
        self.run(Some(address), false, event, |value| {
            all.push(value);
            ControlFlow::Continue(())
        });
        all
    }

    /// Sends to `address` in reverse order and collects every result.
    pub fn event_collect_reverse<R>(&self, address: &Id, event: impl FnMut(&I) -> R) -> Vec<R> {
        let mut all = Vec::new();
        self.run(Some(address), true, event, |value| {
            all.push(value);
            ControlFlow::Continue(())
        });
        all
    }

    /// Sends to `address` and folds the results; see [`broadcast_reduce`](Self::broadcast_reduce).
    pub fn event_reduce<R, A>(
        &self,
        address: &Id,
        init: A,
        event: impl FnMut(&I) -> R,
        mut fold: impl FnMut(A, R) -> A,
    ) -> A {
        let mut accumulator = Some(init);
        self.run(Some(address), false, event, |value| {
            accumulator = accumulator.take().map(|acc| fold(acc, value));
            ControlFlow::Continue(())
        });
        accumulator.expect("the accumulator is put back after every fold")
    }

    /// Calls only the first handler at `address` and returns its result.
    pub fn event_first<R>(&self, address: &Id, event: impl FnMut(&I) -> R) -> Option<R> {
        let mut first = None;
        self.run(Some(address), false, event, |value| {
            first = Some(value);
            ControlFlow::Break(())
        });
        first
    }

    /// Visits handlers in broadcast order (routers are not visited) until `visit` returns
    /// `false`. While visiting an addressed bus, [`current_address`](Self::current_address) is
    /// the handler's address.
    pub fn enumerate_handlers(&self, mut visit: impl FnMut(&I) -> bool) {
        self.dispatch(None, false, false, &mut visit, &mut |keep_going| {
            if keep_going {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        });
    }

    /// Visits the handlers at `address` until `visit` returns `false`.
    pub fn enumerate_handlers_at(&self, address: &Id, mut visit: impl FnMut(&I) -> bool) {
        self.dispatch(Some(address), false, false, &mut visit, &mut |keep_going| {
            if keep_going {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        });
    }

    // ----- introspection ----------------------------------------------------------------------

    /// Whether any handler is connected.
    pub fn has_handlers(&self) -> bool {
        self.handler_count() > 0
    }

    /// Whether any handler is connected at `address`.
    pub fn has_handlers_at(&self, address: &Id) -> bool {
        self.handler_count_at(address) > 0
    }

    /// The number of connected handlers, at every address (routers not counted).
    pub fn handler_count(&self) -> usize {
        self.with_snapshot(|snapshot| snapshot.map_or(0, |snapshot| snapshot.handler_count))
    }

    /// The number of handlers connected at `address`.
    pub fn handler_count_at(&self, address: &Id) -> usize {
        self.with_snapshot(|snapshot| {
            snapshot
                .and_then(|snapshot| self.list_at(snapshot, address))
                .map_or(0, |list| list.len())
        })
    }

    /// The addresses that have at least one handler, in broadcast order.
    pub fn addresses(&self) -> Vec<Id> {
        self.with_snapshot(|snapshot| {
            snapshot.map_or_else(Vec::new, |snapshot| {
                snapshot.addresses.keys().cloned().collect()
            })
        })
    }

    /// Every connected handler, in broadcast order (for example to call async methods).
    pub fn handlers(&self) -> Vec<Arc<I>> {
        self.with_snapshot(|snapshot| {
            snapshot.map_or_else(Vec::new, |snapshot| {
                snapshot
                    .handlers
                    .iter()
                    .chain(snapshot.addresses.values().flat_map(|list| list.iter()))
                    .map(|entry| Arc::clone(&entry.handler))
                    .collect()
            })
        })
    }

    /// The handlers connected at `address`, in order.
    pub fn handlers_at(&self, address: &Id) -> Vec<Arc<I>> {
        self.with_snapshot(|snapshot| {
            snapshot
                .and_then(|snapshot| self.list_at(snapshot, address))
                .map_or_else(Vec::new, |list| {
                    list.iter()
                        .map(|entry| Arc::clone(&entry.handler))
                        .collect()
                })
        })
    }

    /// The first handler in broadcast order.
    pub fn first_handler(&self) -> Option<Arc<I>> {
        self.with_snapshot(|snapshot| {
            let snapshot = snapshot?;
            snapshot
                .handlers
                .first()
                .or_else(|| snapshot.addresses.values().find_map(|list| list.first()))
                .map(|entry| Arc::clone(&entry.handler))
        })
    }

    /// The first handler at `address`.
    pub fn first_handler_at(&self, address: &Id) -> Option<Arc<I>> {
        self.with_snapshot(|snapshot| {
            let list = self.list_at(snapshot?, address)?;
            list.first().map(|entry| Arc::clone(&entry.handler))
        })
    }

    /// While this thread is dispatching on this bus (or running one of its connection hooks),
    /// the address being delivered; `None` otherwise, and on single-address buses.
    pub fn current_address(&self) -> Option<Id> {
        if !self.is_addressed() {
            return None;
        }
        self.innermost_frame(|frame| {
            let address = frame.address() as *const Id;
            // SAFETY: a frame's address points at an id that outlives the frame: the caller's
            // argument, a key of the pinned snapshot, or the hook's argument.
            unsafe { address.as_ref() }.cloned()
        })
        .flatten()
    }

    /// Whether this thread is inside a dispatch (or connection hook) of this bus.
    pub fn is_dispatching_this_thread(&self) -> bool {
        self.innermost_frame(|_| ()).is_some()
    }

    /// Whether this thread's dispatch stack holds this bus twice at the same address as the
    /// innermost dispatch of this bus: a handler that re-entered its own bus (directly or
    /// through other buses). Different addresses do not count.
    pub fn is_reentrant_this_thread(&self) -> bool {
        let key = self.key();
        let mut innermost: Option<*const ()> = None;
        frames::find_frame(|frame| {
            if frame.bus() != key {
                return None;
            }
            let address = frame.address();
            match innermost {
                None => {
                    innermost = Some(address);
                    None
                }
                Some(first) => same_address::<Id>(first, address).then_some(()),
            }
        })
        .is_some()
    }

    // ----- queued events ----------------------------------------------------------------------

    fn enqueue(&self, item: QueuedItem<I, Id>) -> Result<(), Error> {
        let mut queue = lock(&self.queue);
        if !queue.enabled {
            tracing::warn!(target: "ebus", bus = self.name, "queuing is switched off; item dropped");
            return Err(Error::QueuingDisabled { bus: self.name });
        }
        queue.items.push_back(item);
        Ok(())
    }

    /// Queues a broadcast; it runs (through routers and handlers connected at that time) when the
    /// owner calls [`execute_queued`](Self::execute_queued). Move the arguments into `event`.
    pub fn queue_broadcast(&self, event: impl FnMut(&I) + Send + 'static) -> Result<(), Error> {
        self.enqueue(Box::new(move |bus| bus.broadcast(event)))
    }

    /// Queues a reverse broadcast.
    pub fn queue_broadcast_reverse(
        &self,
        event: impl FnMut(&I) + Send + 'static,
    ) -> Result<(), Error> {
        self.enqueue(Box::new(move |bus| bus.broadcast_reverse(event)))
    }

    /// Queues an event to `address`.
    pub fn queue_event(
        &self,
        address: Id,
        event: impl FnMut(&I) + Send + 'static,
    ) -> Result<(), Error> {
        self.enqueue(Box::new(move |bus| bus.event(&address, event)))
    }

    /// Queues an event to `address` in reverse handler order.
    pub fn queue_event_reverse(
        &self,
        address: Id,
        event: impl FnMut(&I) + Send + 'static,
    ) -> Result<(), Error> {
        self.enqueue(Box::new(move |bus| bus.event_reverse(&address, event)))
    }

    /// Queues any closure, run in FIFO order with the queued events (for example to disconnect a
    /// handler on the owner's tick, or as a fence).
    pub fn queue_fn(&self, function: impl FnOnce() + Send + 'static) -> Result<(), Error> {
        self.enqueue(Box::new(move |_| function()))
    }

    /// Runs everything queued so far, in FIFO order, on this thread; returns how many items ran.
    /// Items queued while this runs wait for the next call.
    ///
    /// If an item panics, the items after it in this batch go back to the front of the queue, in
    /// order, for the next call (unless queuing was switched off meanwhile), and the panic
    /// continues to the caller; the item that panicked is gone.
    pub fn execute_queued(&self) -> usize {
        let mut items = std::mem::take(&mut lock(&self.queue).items);
        let mut count = 0;
        while let Some(item) = items.pop_front() {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| item(self))) {
                let mut queue = lock(&self.queue);
                if queue.enabled {
                    while let Some(rest) = items.pop_back() {
                        queue.items.push_front(rest);
                    }
                }
                drop(queue);
                drop(items);
                resume_unwind(panic);
            }
            count += 1;
        }
        count
    }

    /// Drops everything queued without running it; returns how many items were dropped. The
    /// items are dropped after the queue's lock is released.
    pub fn clear_queued(&self) -> usize {
        let items = std::mem::take(&mut lock(&self.queue).items);
        let count = items.len();
        drop(items);
        count
    }

    /// How many items wait for [`execute_queued`](Self::execute_queued).
    pub fn queued_len(&self) -> usize {
        lock(&self.queue).items.len()
    }

    /// Switches queuing on or off. Switching it off drops what is queued; while off, `queue_*`
    /// refuses items with [`Error::QueuingDisabled`].
    pub fn set_queuing(&self, enabled: bool) {
        let dropped = {
            let mut queue = lock(&self.queue);
            queue.enabled = enabled;
            if enabled {
                VecDeque::new()
            } else {
                std::mem::take(&mut queue.items)
            }
        };
        drop(dropped);
    }

    /// Whether queuing is on (it is by default).
    pub fn is_queuing(&self) -> bool {
        lock(&self.queue).enabled
    }

    // ----- async ------------------------------------------------------------------------------

    /// Awaits a request on the first handler (the provider of a single-handler request bus), for
    /// interfaces whose methods are `async` (for example with `async-trait`):
    /// `bus.request(|provider| async move { provider.load(id).await }).await`.
    ///
    /// No bus state is held across the await; the handler stays alive through its `Arc`.
    pub async fn request<F, Fut>(&self, request: F) -> Result<Fut::Output, Error>
    where
        F: FnOnce(Arc<I>) -> Fut,
        Fut: Future,
    {
        let handler = self
            .first_handler()
            .ok_or(Error::NoHandler { bus: self.name })?;
        Ok(request(handler).await)
    }

    /// Awaits a request on the first handler at `address`.
    pub async fn request_at<F, Fut>(&self, address: &Id, request: F) -> Result<Fut::Output, Error>
    where
        F: FnOnce(Arc<I>) -> Fut,
        Fut: Future,
    {
        let handler = self
            .first_handler_at(address)
            .ok_or_else(|| Error::NoHandlerAt {
                bus: self.name,
                address: format!("{address:?}"),
            })?;
        Ok(request(handler).await)
    }

    /// Awaits `request` on every handler, one after the other in broadcast order, and collects
    /// the results.
    pub async fn broadcast_async<F, Fut>(&self, mut request: F) -> Vec<Fut::Output>
    where
        F: FnMut(Arc<I>) -> Fut,
        Fut: Future,
    {
        let mut results = Vec::new();
        for handler in self.handlers() {
            results.push(request(handler).await);
        }
        results
    }
}

fn count_handlers<I: ?Sized, Id>(removed: &Removed<I, Id>) -> usize {
    removed
        .iter()
        .filter(|(address, _, _)| address.is_some())
        .count()
}

fn same_address<Id: Address>(a: *const (), b: *const ()) -> bool {
    // SAFETY: both pointers come from live frames of this thread (see `current_address`).
    match unsafe { ((a as *const Id).as_ref(), (b as *const Id).as_ref()) } {
        (Some(a), Some(b)) => a == b,
        (None, None) => true,
        _ => false,
    }
}

impl<I: ?Sized + 'static, Id: 'static> fmt::Debug for Bus<I, Id> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("name", &self.name)
            .field("handler_policy", &self.handler_policy)
            .field("address_policy", &self.address_policy)
            .finish()
    }
}
