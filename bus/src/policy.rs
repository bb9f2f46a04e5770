//! Handler and address policies, and router actions.

/// How many handlers an address accepts, and in which order they are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandlerPolicy {
    /// At most one handler per address; a second connect is refused with
    /// [`Error::AlreadyConnected`](crate::Error::AlreadyConnected), never silently replaced.
    Single,
    /// Any number of handlers, called in connection order (reverse forms: the opposite).
    Multiple,
    /// Any number of handlers, called in ascending order of the `order` key given when they
    /// connect; equal keys keep connection order.
    Ordered,
}

/// How a bus is addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressPolicy {
    /// One implicit address: every handler receives every event.
    Single,
    /// Handlers connect at an id; events go to one id, broadcasts to all ids. Broadcasts visit
    /// addresses in an unspecified but deterministic order (currently ascending id order).
    ById,
    /// Like [`ById`](Self::ById), and broadcasts are guaranteed to visit addresses in ascending
    /// id order (the reverse forms descend). For another order, give the id type another `Ord`.
    ByIdOrdered,
}

/// What a router wants done with the dispatch it is looking at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouterAction {
    /// Let the remaining routers and then the handlers run (the default).
    #[default]
    Continue,
    /// Let the remaining routers run, but do not call the handlers.
    SkipHandlers,
    /// Stop now: no further router and no handler runs.
    Stop,
}
