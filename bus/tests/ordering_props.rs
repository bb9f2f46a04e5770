//! Property tests: after any sequence of connects and disconnects, dispatch order matches a
//! reference model (order key, then connection order; addresses ascending) and reverse is its
//! exact mirror.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ebus::{AddressPolicy, Bus, Connection, HandlerPolicy};
use proptest::prelude::*;

trait Named: Send + Sync {
    fn id(&self) -> u32;
}

struct Id(u32);

impl Named for Id {
    fn id(&self) -> u32 {
        self.0
    }
}

#[derive(Debug, Clone)]
enum Op {
    Connect { address: u8, order: i8 },
    Disconnect { pick: usize },
    DisconnectAddress { address: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..4, -3i8..4).prop_map(|(address, order)| Op::Connect { address, order }),
        3 => any::<usize>().prop_map(|pick| Op::Disconnect { pick }),
        1 => (0u8..4).prop_map(|address| Op::DisconnectAddress { address }),
    ]
}

/// The reference: live handlers as (address, order, sequence, id).
#[derive(Default)]
struct Model {
    live: Vec<(u8, i64, u32)>,
}

impl Model {
    fn expected(&self, addressed: bool) -> Vec<u32> {
        let mut by_address: BTreeMap<u8, Vec<(i64, u32)>> = BTreeMap::new();
        for &(address, order, id) in &self.live {
            let key = if addressed { address } else { 0 };
            by_address.entry(key).or_default().push((order, id));
        }
        by_address
            .into_values()
            .flat_map(|mut handlers| {
                // Sequence == id (ids increase with connection time): a stable sort by order
                // keeps connection order among equal keys.
                handlers.sort_by_key(|(order, id)| (*order, *id));
                handlers.into_iter().map(|(_, id)| id)
            })
            .collect()
    }
}

fn check(ops: Vec<Op>, addressed: bool) -> Result<(), TestCaseError> {
    let address_policy = if addressed {
        AddressPolicy::ByIdOrdered
    } else {
        AddressPolicy::Single
    };
    let bus: &'static Bus<dyn Named, u8> = Box::leak(Box::new(Bus::with_policies(
        "Props",
        HandlerPolicy::Ordered,
        address_policy,
    )));
    let mut model = Model::default();
    let mut connections: Vec<(u32, Connection)> = Vec::new();
    let mut next_id = 0u32;
    for op in ops {
        match op {
            Op::Connect { address, order } => {
                let id = next_id;
                next_id += 1;
                let connection = bus
                    .connect_at_ordered(address, Arc::new(Id(id)), i64::from(order))
                    .unwrap();
                connections.push((id, connection));
                model.live.push((address, i64::from(order), id));
            }
            Op::Disconnect { pick } => {
                if !connections.is_empty() {
                    let (id, connection) = connections.remove(pick % connections.len());
                    drop(connection);
                    model.live.retain(|(_, _, live)| *live != id);
                }
            }
            Op::DisconnectAddress { address } => {
                let removed = bus.disconnect_address(&address);
                let before = model.live.len();
                if addressed {
                    model.live.retain(|(at, _, _)| *at != address);
                } else {
                    model.live.clear();
                }
                prop_assert_eq!(removed, before - model.live.len());
                connections.retain(|(_, connection)| connection.is_connected());
            }
        }
        let expected = model.expected(addressed);
        let seen = Mutex::new(Vec::new());
        bus.broadcast(|handler| seen.lock().unwrap().push(handler.id()));
        prop_assert_eq!(seen.into_inner().unwrap(), expected.clone());
        let mut mirrored = bus.broadcast_collect_reverse(|handler| handler.id());
        mirrored.reverse();
        prop_assert_eq!(mirrored, expected.clone());
        prop_assert_eq!(bus.handler_count(), expected.len());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 200 }))]

    #[test]
    fn ordered_handlers_follow_the_model(ops in prop::collection::vec(op(), 1..40)) {
        check(ops, false)?;
    }

    #[test]
    fn ordered_addresses_follow_the_model(ops in prop::collection::vec(op(), 1..40)) {
        check(ops, true)?;
    }
}
