//! The crate's error type.

/// Everything that can go wrong when using a bus or the instance registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A second handler tried to connect to an address of a single-handler bus.
    #[error(
        "bus `{bus}` allows one handler per address, and {} already has one",
        where_(address)
    )]
    AlreadyConnected {
        /// The bus's name.
        bus: &'static str,
        /// The address, formatted with `Debug`; `None` on a single-address bus.
        address: Option<String>,
    },
    /// An order key was given on a bus whose handlers are not ordered.
    #[error(
        "bus `{bus}` does not order its handlers: connect without an order key, or declare the bus with `HandlerPolicy::Ordered`"
    )]
    OrderNotSupported {
        /// The bus's name.
        bus: &'static str,
    },
    /// Queuing is switched off on this bus (see [`Bus::set_queuing`](crate::Bus::set_queuing)).
    #[error("queuing is switched off on bus `{bus}`; the item was not queued")]
    QueuingDisabled {
        /// The bus's name.
        bus: &'static str,
    },
    /// A request needed a handler and none is connected.
    #[error("no handler is connected to bus `{bus}`")]
    NoHandler {
        /// The bus's name.
        bus: &'static str,
    },
    /// A request needed a handler at an address and none is connected there.
    #[error("no handler is connected to bus `{bus}` at address {address}")]
    NoHandlerAt {
        /// The bus's name.
        bus: &'static str,
        /// The address, formatted with `Debug`.
        address: String,
    },
    /// An instance of this interface is already registered.
    #[error("an instance of `{interface}` is already registered")]
    AlreadyRegistered {
        /// The interface's type name.
        interface: &'static str,
    },
}

fn where_(address: &Option<String>) -> String {
    match address {
        Some(address) => format!("address {address}"),
        None => "its only address".to_string(),
    }
}
