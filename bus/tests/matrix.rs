//! The O3DE matrix: every address policy x every handler policy, each checked for broadcast,
//! reverse, results, addressed events and queued events, with call counts and order.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use ebus::{AddressPolicy, Bus, Connection, Error, HandlerPolicy};

trait Probe: Send + Sync {
    /// Records the call and returns the handler's id.
    fn hit(&self) -> u32;
}

type ProbeBus = Bus<dyn Probe, u32>;
/// (handler id, address seen through `current_address`) per call.
type CallLog = Arc<Mutex<Vec<(u32, Option<u32>)>>>;
/// Handlers at one address: (order key, connection sequence, id).
type AddressPlan = (u32, Vec<(i64, usize, u32)>);

struct Handler {
    id: u32,
    bus: &'static ProbeBus,
    calls: AtomicU32,
    log: CallLog,
}

impl Probe for Handler {
    fn hit(&self) -> u32 {
        self.calls.fetch_add(1, Ordering::Relaxed);
        assert!(self.bus.is_dispatching_this_thread());
        self.log
            .lock()
            .unwrap()
            .push((self.id, self.bus.current_address()));
        self.id
    }
}

struct Fixture {
    bus: &'static ProbeBus,
    log: CallLog,
    handlers: Vec<Arc<Handler>>,
    connections: Vec<Connection>,
    /// Expected broadcast order: (handler id, address as seen by `current_address`).
    expected: Vec<(u32, Option<u32>)>,
    /// The addresses handlers were connected at, in connection order.
    addresses: Vec<u32>,
}

impl Fixture {
    fn new(address_policy: AddressPolicy, handler_policy: HandlerPolicy) -> Self {
        let bus: &'static ProbeBus = Box::leak(Box::new(Bus::with_policies(
            "Matrix",
            handler_policy,
            address_policy,
        )));
        let log = Arc::new(Mutex::new(Vec::new()));
        let addressed = address_policy != AddressPolicy::Single;
        // Connected out of key order so that address ordering is visible.
        let addresses: Vec<u32> = if addressed { vec![30, 10, 20] } else { vec![0] };
        let orders: Vec<i64> = match handler_policy {
            HandlerPolicy::Single => vec![0],
            HandlerPolicy::Multiple => vec![0, 0, 0],
            // Ties (5, 5) must keep connection order; 1 goes first.
            HandlerPolicy::Ordered => vec![5, 1, 5],
        };
        let mut fixture = Fixture {
            bus,
            log,
            handlers: Vec::new(),
            connections: Vec::new(),
            expected: Vec::new(),
            addresses: addresses.clone(),
        };
        let mut per_address: Vec<AddressPlan> = Vec::new();
        let mut sequence = 0usize;
        for &address in &addresses {
            let mut here = Vec::new();
            for &order in &orders {
                let id = address * 100 + sequence as u32;
                let handler = Arc::new(Handler {
                    id,
                    bus,
                    calls: AtomicU32::new(0),
                    log: Arc::clone(&fixture.log),
                });
                let connection = if handler_policy == HandlerPolicy::Ordered {
                    bus.connect_at_ordered(address, handler.clone(), order)
                } else {
                    bus.connect_at(address, handler.clone())
                }
                .expect("connect");
                fixture.handlers.push(handler);
                fixture.connections.push(connection);
                here.push((order, sequence, id));
                sequence += 1;
            }
            here.sort();
            per_address.push((address, here));
        }
        if addressed {
            per_address.sort_by_key(|(address, _)| *address);
            for (address, here) in &per_address {
                fixture
                    .expected
                    .extend(here.iter().map(|(_, _, id)| (*id, Some(*address))));
            }
        } else {
            let mut all: Vec<(i64, usize, u32)> =
                per_address.into_iter().flat_map(|(_, here)| here).collect();
            all.sort();
            fixture
                .expected
                .extend(all.iter().map(|(_, _, id)| (*id, None)));
        }
        fixture
    }

    fn take_log(&self) -> Vec<(u32, Option<u32>)> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    fn ids(&self) -> Vec<u32> {
        self.expected.iter().map(|(id, _)| *id).collect()
    }

    fn expected_at(&self, address: u32) -> Vec<(u32, Option<u32>)> {
        if self.bus.address_policy() == AddressPolicy::Single {
            return self.expected.clone();
        }
        self.expected
            .iter()
            .filter(|(_, at)| *at == Some(address))
            .cloned()
            .collect()
    }

    fn total_calls(&self) -> u32 {
        self.handlers
            .iter()
            .map(|handler| handler.calls.load(Ordering::Relaxed))
            .sum()
    }
}

fn reversed<T: Clone>(items: &[T]) -> Vec<T> {
    items.iter().rev().cloned().collect()
}

fn run(address_policy: AddressPolicy, handler_policy: HandlerPolicy) {
    let fixture = Fixture::new(address_policy, handler_policy);
    let bus = fixture.bus;
    let count = fixture.expected.len();
    let addressed = address_policy != AddressPolicy::Single;

    // Counts.
    assert_eq!(bus.handler_count(), count);
    assert!(bus.has_handlers());
    for &address in &fixture.addresses {
        assert_eq!(
            bus.handler_count_at(&address),
            fixture.expected_at(address).len()
        );
    }
    if addressed {
        assert!(!bus.has_handlers_at(&99));
        let mut sorted = fixture.addresses.clone();
        sorted.sort();
        assert_eq!(bus.addresses(), sorted);
    }

    // A second handler on a single-handler address is refused, never a silent replacement.
    if handler_policy == HandlerPolicy::Single {
        let intruder = Arc::new(Handler {
            id: 999,
            bus,
            calls: AtomicU32::new(0),
            log: Arc::clone(&fixture.log),
        });
        let refused = bus.connect_at(fixture.addresses[0], intruder);
        assert!(matches!(
            refused,
            Err(Error::AlreadyConnected { bus: "Matrix", .. })
        ));
        assert_eq!(bus.handler_count(), count);
    }

    // Broadcast: every handler once, in order, with the right current address.
    bus.broadcast(|handler| {
        handler.hit();
    });
    assert_eq!(fixture.take_log(), fixture.expected);
    assert_eq!(fixture.total_calls(), count as u32);

    // Reverse.
    bus.broadcast_reverse(|handler| {
        handler.hit();
    });
    assert_eq!(fixture.take_log(), reversed(&fixture.expected));

    // Results.
    assert_eq!(
        bus.broadcast_collect(|handler| handler.hit()),
        fixture.ids()
    );
    assert_eq!(
        bus.broadcast_collect_reverse(|handler| handler.hit()),
        reversed(&fixture.ids())
    );
    assert_eq!(
        bus.broadcast_result(|handler| handler.hit()),
        fixture.ids().last().copied()
    );
    assert_eq!(
        bus.broadcast_result_reverse(|handler| handler.hit()),
        fixture.ids().first().copied()
    );
    assert_eq!(
        bus.broadcast_reduce(0u64, |handler| handler.hit(), |sum, id| sum + u64::from(id)),
        fixture.ids().iter().map(|id| u64::from(*id)).sum::<u64>()
    );
    assert!(bus.broadcast_reduce(true, |handler| handler.hit() < 10_000, |a, b| a && b));
    fixture.take_log();
    assert_eq!(
        bus.broadcast_first(|handler| handler.hit()),
        fixture.ids().first().copied()
    );
    assert_eq!(fixture.take_log().len(), 1, "first-only calls one handler");
    let calls_so_far = fixture.total_calls();
    assert_eq!(calls_so_far, (count * 8 + 1) as u32);

    // Events to each address, and to an address nobody listens on.
    for &address in &fixture.addresses {
        let expected = fixture.expected_at(address);
        bus.event(&address, |handler| {
            handler.hit();
        });
        assert_eq!(fixture.take_log(), expected);
        bus.event_reverse(&address, |handler| {
            handler.hit();
        });
        assert_eq!(fixture.take_log(), reversed(&expected));
        let ids: Vec<u32> = expected.iter().map(|(id, _)| *id).collect();
        assert_eq!(bus.event_collect(&address, |handler| handler.hit()), ids);
        assert_eq!(
            bus.event_collect_reverse(&address, |handler| handler.hit()),
            reversed(&ids)
        );
        assert_eq!(
            bus.event_result(&address, |handler| handler.hit()),
            ids.last().copied()
        );
        assert_eq!(
            bus.event_result_reverse(&address, |handler| handler.hit()),
            ids.first().copied()
        );
        assert_eq!(
            bus.event_reduce(&address, 0u32, |handler| handler.hit(), |n, _| n + 1),
            ids.len() as u32
        );
        assert_eq!(
            bus.event_first(&address, |handler| handler.hit()),
            ids.first().copied()
        );
        fixture.take_log();
    }
    if addressed {
        let before = fixture.total_calls();
        bus.event(&12345, |handler| {
            handler.hit();
        });
        assert_eq!(bus.event_result(&12345, |handler| handler.hit()), None);
        assert_eq!(
            fixture.total_calls(),
            before,
            "no handler at 12345: a no-op"
        );
    }

    // Queued: nothing runs until the owner executes, then FIFO.
    bus.queue_broadcast(|handler| {
        handler.hit();
    })
    .unwrap();
    bus.queue_broadcast_reverse(|handler| {
        handler.hit();
    })
    .unwrap();
    let first_address = fixture.addresses[0];
    bus.queue_event(first_address, |handler| {
        handler.hit();
    })
    .unwrap();
    bus.queue_event_reverse(first_address, |handler| {
        handler.hit();
    })
    .unwrap();
    assert_eq!(bus.queued_len(), 4);
    assert!(fixture.take_log().is_empty());
    assert_eq!(bus.execute_queued(), 4);
    let mut expected = fixture.expected.clone();
    expected.extend(reversed(&fixture.expected));
    let at_first = fixture.expected_at(first_address);
    expected.extend(at_first.clone());
    expected.extend(reversed(&at_first));
    assert_eq!(fixture.take_log(), expected);
    assert_eq!(bus.queued_len(), 0);

    // Disconnecting everything through the guards empties the bus.
    drop(fixture.connections);
    assert_eq!(bus.handler_count(), 0);
    assert!(!bus.has_handlers());
    bus.broadcast(|handler| {
        handler.hit();
    });
    assert!(fixture.log.lock().unwrap().is_empty());
}

macro_rules! matrix {
    ($($name:ident: $address:ident x $handler:ident;)*) => {
        $(
            #[test]
            fn $name() {
                run(AddressPolicy::$address, HandlerPolicy::$handler);
            }
        )*
    };
}

matrix! {
    one_to_one: Single x Single;
    one_to_many: Single x Multiple;
    one_to_many_ordered: Single x Ordered;
    many_to_one: ById x Single;
    many_to_many: ById x Multiple;
    many_to_many_ordered: ById x Ordered;
    many_ordered_to_one: ByIdOrdered x Single;
    many_ordered_to_many: ByIdOrdered x Multiple;
    many_ordered_to_many_ordered: ByIdOrdered x Ordered;
}
