//! Routers, connection hooks, queue semantics, the instance registry, errors and tracing.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use ebus::{AddressPolicy, Bus, Error, HandlerPolicy, Interface, RouterAction};

trait Chat: Send + Sync {
    fn say(&self, text: &str) -> usize;
}

type Log = Arc<Mutex<Vec<String>>>;

struct Speaker {
    name: &'static str,
    log: Log,
    /// What a router asks for when it is called (ignored for plain handlers).
    action: Option<RouterAction>,
    bus: &'static Bus<dyn Chat>,
}

impl Chat for Speaker {
    fn say(&self, text: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{text}", self.name));
        if let Some(action) = self.action {
            assert!(self.bus.is_routing());
            assert!(self.bus.set_router_action(action));
        }
        text.len()
    }
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn speaker(
    bus: &'static Bus<dyn Chat>,
    name: &'static str,
    log: &Log,
    action: Option<RouterAction>,
) -> Arc<Speaker> {
    Arc::new(Speaker {
        name,
        log: Arc::clone(log),
        action,
        bus,
    })
}

fn drain(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[test]
fn routers_run_first_in_order_and_may_skip_handlers_or_stop() {
    let bus: &'static Bus<dyn Chat> = leak(Bus::new("Routed"));
    let log: Log = Arc::default();
    let _handler = bus.connect(speaker(bus, "handler", &log, None)).unwrap();
    let late = bus.connect_router(speaker(bus, "late", &log, Some(RouterAction::Continue)), 10);
    let early = bus.connect_router(
        speaker(bus, "early", &log, Some(RouterAction::Continue)),
        -1,
    );
    assert_eq!(bus.handler_count(), 1, "routers are not handlers");

    // Router results are discarded: only the handler's value comes back.
    assert_eq!(bus.broadcast_collect(|chat| chat.say("hi")), vec![2]);
    assert_eq!(drain(&log), ["early:hi", "late:hi", "handler:hi"]);

    // SkipHandlers: the remaining routers still run, the handlers do not.
    let skipper = bus.connect_router(
        speaker(bus, "skip", &log, Some(RouterAction::SkipHandlers)),
        0,
    );
    assert_eq!(bus.broadcast_result(|chat| chat.say("a")), None);
    assert_eq!(drain(&log), ["early:a", "skip:a", "late:a"]);
    drop(skipper);

    // Stop: nothing after it runs.
    let stopper = bus.connect_router(speaker(bus, "stop", &log, Some(RouterAction::Stop)), 0);
    bus.broadcast(|chat| {
        chat.say("b");
    });
    assert_eq!(drain(&log), ["early:b", "stop:b"]);
    drop(stopper);

    // Queued events are routed when they execute, not when they are queued.
    bus.queue_broadcast(|chat| {
        chat.say("q");
    })
    .unwrap();
    drop(early);
    assert_eq!(bus.execute_queued(), 1);
    assert_eq!(drain(&log), ["late:q", "handler:q"]);

    // Enumeration does not pass through routers.
    let mut seen = 0;
    bus.enumerate_handlers(|_| {
        seen += 1;
        true
    });
    assert_eq!(seen, 1);
    drop(late);
    assert!(
        !bus.set_router_action(RouterAction::Stop),
        "not routing: no effect"
    );
    bus.broadcast(|chat| {
        chat.say("c");
    });
    assert_eq!(drain(&log), ["handler:c"]);
}

trait Session: Send + Sync {
    fn on_state(&self, state: &str);
}

struct Subscriber {
    states: Mutex<Vec<String>>,
}

impl Session for Subscriber {
    fn on_state(&self, state: &str) {
        self.states.lock().unwrap().push(state.to_string());
    }
}

#[test]
fn connect_hooks_hand_late_subscribers_the_current_state() {
    let bus: &'static Bus<dyn Session, u32> = leak(Bus::addressed("SessionState"));
    let current = Arc::new(Mutex::new("Creating".to_string()));
    let state = Arc::clone(&current);
    let hook = bus.on_connect(move |handler, address| {
        assert_eq!(bus.current_address(), Some(*address));
        handler.on_state(&state.lock().unwrap());
    });
    let disconnected = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&disconnected);
    let farewell = bus.on_disconnect(move |handler, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        handler.on_state("Disconnected");
    });

    let early = Arc::new(Subscriber {
        states: Mutex::new(Vec::new()),
    });
    let early_connection = bus.connect_at(1, early.clone()).unwrap();
    *current.lock().unwrap() = "InProgress".to_string();
    bus.broadcast(|session| session.on_state("InProgress"));
    let late = Arc::new(Subscriber {
        states: Mutex::new(Vec::new()),
    });
    let late_connection = bus.connect_at(2, late.clone()).unwrap();
    assert_eq!(*early.states.lock().unwrap(), ["Creating", "InProgress"]);
    assert_eq!(
        *late.states.lock().unwrap(),
        ["InProgress"],
        "handed the state on connect"
    );

    drop(early_connection);
    assert_eq!(bus.disconnect_address(&2), 1);
    assert!(!late_connection.is_connected());
    assert_eq!(disconnected.load(Ordering::SeqCst), 2);
    assert_eq!(early.states.lock().unwrap().last().unwrap(), "Disconnected");
    assert_eq!(late.states.lock().unwrap().last().unwrap(), "Disconnected");

    drop(hook);
    farewell.keep(); // stays for the bus's lifetime
    let third = Arc::new(Subscriber {
        states: Mutex::new(Vec::new()),
    });
    let third_connection = bus.connect_at(3, third.clone()).unwrap();
    assert!(third.states.lock().unwrap().is_empty());
    drop(third_connection);
    assert_eq!(disconnected.load(Ordering::SeqCst), 3);
}

#[test]
fn queue_runs_fifo_and_items_queued_while_executing_wait_for_the_next_call() {
    let bus: &'static Bus<dyn Chat> = leak(Bus::new("Queue"));
    let log: Log = Arc::default();
    let _handler = bus.connect(speaker(bus, "h", &log, None)).unwrap();
    let fn_log = Arc::clone(&log);
    bus.queue_broadcast(|chat| {
        chat.say("1");
    })
    .unwrap();
    bus.queue_fn(move || {
        fn_log.lock().unwrap().push("fn".to_string());
        // Queued during execution: runs on the next call.
        bus.queue_broadcast(|chat| {
            chat.say("3");
        })
        .unwrap();
    })
    .unwrap();
    bus.queue_broadcast(|chat| {
        chat.say("2");
    })
    .unwrap();
    assert_eq!(bus.execute_queued(), 3);
    assert_eq!(drain(&log), ["h:1", "fn", "h:2"]);
    assert_eq!(bus.queued_len(), 1);
    assert_eq!(bus.execute_queued(), 1);
    assert_eq!(drain(&log), ["h:3"]);

    // Clear drops without running.
    bus.queue_broadcast(|chat| {
        chat.say("dropped");
    })
    .unwrap();
    assert_eq!(bus.clear_queued(), 1);
    assert_eq!(bus.execute_queued(), 0);
    assert!(drain(&log).is_empty());

    // Switching queuing off drops what is queued and refuses new items.
    bus.queue_broadcast(|chat| {
        chat.say("lost");
    })
    .unwrap();
    bus.set_queuing(false);
    assert!(!bus.is_queuing());
    assert_eq!(bus.queued_len(), 0);
    assert_eq!(
        bus.queue_fn(|| {}),
        Err(Error::QueuingDisabled { bus: "Queue" })
    );
    bus.set_queuing(true);
    bus.queue_fn(|| {}).unwrap();
    assert_eq!(bus.execute_queued(), 1);
}

#[test]
fn connect_errors_name_the_bus_and_the_address() {
    let single: &'static Bus<dyn Chat, String> = leak(Bus::with_policies(
        "Lobby",
        HandlerPolicy::Single,
        AddressPolicy::ById,
    ));
    let log: Log = Arc::default();
    let plain: &'static Bus<dyn Chat> = leak(Bus::new("Plain"));
    let _first = single
        .connect_at("eu".into(), speaker(plain, "a", &log, None))
        .unwrap();
    let error = single
        .connect_at("eu".into(), speaker(plain, "b", &log, None))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "bus `Lobby` allows one handler per address, and address \"eu\" already has one"
    );
    // Another address is fine.
    let _second = single
        .connect_at("us".into(), speaker(plain, "c", &log, None))
        .unwrap();
    let error = plain
        .connect_ordered(speaker(plain, "d", &log, None), 3)
        .unwrap_err();
    assert_eq!(error, Error::OrderNotSupported { bus: "Plain" });
    assert!(error.to_string().contains("does not order its handlers"));
}

#[test]
fn one_handler_object_may_listen_at_several_addresses() {
    let bus: &'static Bus<dyn Chat, u32> = leak(Bus::addressed("Multi"));
    let log: Log = Arc::default();
    let plain: &'static Bus<dyn Chat> = leak(Bus::new("Unused"));
    let shared = speaker(plain, "shared", &log, None);
    let first = bus.connect_at(1, shared.clone()).unwrap();
    let _second = bus.connect_at(2, shared.clone()).unwrap();
    assert_eq!(bus.handler_count(), 2);
    assert_eq!(bus.event_collect(&1, |chat| chat.say("x")), vec![1]);
    assert_eq!(bus.broadcast_collect(|chat| chat.say("yy")), vec![2, 2]);
    drop(first);
    assert_eq!(bus.addresses(), vec![2]);
    assert_eq!(bus.event_result(&1, |chat| chat.say("z")), None);
    assert!(Arc::ptr_eq(
        &bus.first_handler_at(&2).unwrap(),
        &(shared.clone() as Arc<dyn Chat>)
    ));
}

#[test]
fn introspection_reports_dispatch_state() {
    let bus: &'static Bus<dyn Chat> = leak(Bus::new("Introspect"));
    assert!(!bus.has_handlers());
    assert!(bus.first_handler().is_none());
    assert!(!bus.is_dispatching_this_thread());
    assert!(!ebus::is_dispatching_this_thread());
    struct Checker(&'static Bus<dyn Chat>);
    impl Chat for Checker {
        fn say(&self, _: &str) -> usize {
            assert!(self.0.is_dispatching_this_thread());
            assert!(ebus::is_dispatching_this_thread());
            assert!(!self.0.is_reentrant_this_thread());
            assert_eq!(self.0.current_address(), None, "single-address bus");
            7
        }
    }
    let _c = bus.connect(Arc::new(Checker(bus))).unwrap();
    assert_eq!(bus.broadcast_result(|chat| chat.say("")), Some(7));
    assert_eq!(bus.handlers().len(), 1);
    assert!(!bus.is_dispatching_this_thread());
    let other: &'static Bus<dyn Chat> = leak(Bus::new("Other"));
    let checked = Arc::new(AtomicU32::new(0));
    struct OnOther(&'static Bus<dyn Chat>, Arc<AtomicU32>);
    impl Chat for OnOther {
        fn say(&self, _: &str) -> usize {
            // Dispatching on another bus is not dispatching on this one.
            assert!(!self.0.is_dispatching_this_thread());
            self.1.fetch_add(1, Ordering::SeqCst);
            0
        }
    }
    let _o = other
        .connect(Arc::new(OnOther(bus, Arc::clone(&checked))))
        .unwrap();
    other.broadcast(|chat| {
        chat.say("");
    });
    assert_eq!(checked.load(Ordering::SeqCst), 1);
}

// ----- the instance registry --------------------------------------------------------------------

trait GameLiftRequests: Send + Sync {
    fn region(&self) -> String;
}

struct Manager(&'static str);

impl GameLiftRequests for Manager {
    fn region(&self) -> String {
        self.0.to_string()
    }
}

#[test]
fn registry_holds_one_instance_per_interface() {
    assert!(Interface::<dyn GameLiftRequests>::get().is_none());
    let registration =
        Interface::<dyn GameLiftRequests>::register(Arc::new(Manager("us-west-2"))).unwrap();
    assert_eq!(
        Interface::<dyn GameLiftRequests>::get().unwrap().region(),
        "us-west-2"
    );
    let refused = Interface::<dyn GameLiftRequests>::register(Arc::new(Manager("eu-west-1")));
    assert!(matches!(refused, Err(Error::AlreadyRegistered { .. })));
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("GameLiftRequests")
    );
    // The first registration is untouched by the refused one.
    assert_eq!(
        Interface::<dyn GameLiftRequests>::get().unwrap().region(),
        "us-west-2"
    );
    registration.unregister();
    assert!(!Interface::<dyn GameLiftRequests>::is_registered());
    let again =
        Interface::<dyn GameLiftRequests>::register(Arc::new(Manager("eu-west-1"))).unwrap();
    assert_eq!(again.instance().unwrap().region(), "eu-west-1");
    drop(again);
    assert!(Interface::<dyn GameLiftRequests>::get().is_none());
}

// ----- tracing ------------------------------------------------------------------------------------

#[test]
fn tracing_events_name_the_bus() {
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    struct Visitor<'a>(&'a mut String);
    impl tracing::field::Visit for Visitor<'_> {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!("{}={:?} ", field.name(), value));
        }
        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            self.0.push_str(&format!("{}={} ", field.name(), value));
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut line = String::new();
            event.record(&mut Visitor(&mut line));
            self.0.lock().unwrap().push(line);
        }
    }

    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry()
        .with(recorder.clone())
        .with(tracing_subscriber::filter::LevelFilter::TRACE);
    tracing::subscriber::with_default(subscriber, || {
        let bus: &'static Bus<dyn Chat> = leak(Bus::new("Traced"));
        let log: Log = Arc::default();
        let connection = bus.connect(speaker(bus, "t", &log, None)).unwrap();
        bus.broadcast(|chat| {
            chat.say("x");
        });
        drop(connection);
    });
    let lines = recorder.0.lock().unwrap().clone();
    let find = |what: &str| {
        lines
            .iter()
            .any(|line| line.contains("bus=Traced") && line.contains(what))
    };
    assert!(find("message=connect"), "{lines:?}");
    assert!(find("message=dispatch"), "{lines:?}");
    assert!(find("message=disconnect"), "{lines:?}");
}
