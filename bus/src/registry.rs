//! A typed, process-wide registry holding at most one instance per interface, like O3DE's
//! `AZ::Interface<T>`.
//!
//! ```
//! use std::sync::Arc;
//! use ebus::Interface;
//!
//! trait Clock: Send + Sync {
//!     fn now_ms(&self) -> u64;
//! }
//! struct FixedClock;
//! impl Clock for FixedClock {
//!     fn now_ms(&self) -> u64 { 42 }
//! }
//!
//! assert!(Interface::<dyn Clock>::get().is_none());
//! let registration = Interface::<dyn Clock>::register(Arc::new(FixedClock)).unwrap();
//! assert_eq!(Interface::<dyn Clock>::get().unwrap().now_ms(), 42);
//!
//! // A second instance is refused while the first is registered.
//! assert!(Interface::<dyn Clock>::register(Arc::new(FixedClock)).is_err());
//!
//! drop(registration); // unregisters
//! assert!(Interface::<dyn Clock>::get().is_none());
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock, RwLock};

use crate::Error;

type Slots = RwLock<HashMap<TypeId, Box<dyn Any + Send + Sync>>>;

fn slots() -> &'static Slots {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    SLOTS.get_or_init(|| RwLock::new(HashMap::new()))
}

/// The registry for interface `T` (usually a trait object, `Interface::<dyn MyRequests>`).
pub struct Interface<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized + Send + Sync + 'static> Interface<T> {
    /// Registers `instance` as the one instance of `T`; refused with
    /// [`Error::AlreadyRegistered`] if another is registered. The instance stays registered until
    /// the returned guard is dropped or [`Registration::unregister`] is called.
    pub fn register(instance: Arc<T>) -> Result<Registration<T>, Error> {
        let mut slots = slots()
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = TypeId::of::<T>();
        if slots.contains_key(&key) {
            return Err(Error::AlreadyRegistered {
                interface: std::any::type_name::<T>(),
            });
        }
        slots.insert(key, Box::new(Arc::clone(&instance)));
        tracing::debug!(target: "ebus", interface = std::any::type_name::<T>(), "register");
        Ok(Registration {
            instance: Some(instance),
        })
    }

    /// The registered instance, if any.
    pub fn get() -> Option<Arc<T>> {
        let slots = slots()
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots
            .get(&TypeId::of::<T>())
            .and_then(|slot| slot.downcast_ref::<Arc<T>>())
            .map(Arc::clone)
    }

    /// Whether an instance is registered.
    pub fn is_registered() -> bool {
        Self::get().is_some()
    }
}

/// Keeps an instance registered with [`Interface::register`]; dropping it unregisters.
#[must_use = "dropping the registration unregisters the instance at once"]
pub struct Registration<T: ?Sized + Send + Sync + 'static> {
    instance: Option<Arc<T>>,
}

impl<T: ?Sized + Send + Sync + 'static> Registration<T> {
    /// The registered instance.
    pub fn instance(&self) -> Option<&Arc<T>> {
        self.instance.as_ref()
    }

    /// Unregisters now. Equivalent to dropping the guard.
    pub fn unregister(mut self) {
        self.release();
    }

    fn release(&mut self) {
        let Some(instance) = self.instance.take() else {
            return;
        };
        let removed = {
            let mut slots = slots()
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let key = TypeId::of::<T>();
            let ours = slots
                .get(&key)
                .and_then(|slot| slot.downcast_ref::<Arc<T>>())
                .is_some_and(|registered| Arc::ptr_eq(registered, &instance));
            if ours { slots.remove(&key) } else { None }
        };
        tracing::debug!(target: "ebus", interface = std::any::type_name::<T>(), "unregister");
        // Dropped outside the lock: the instance's destructor may use the registry.
        drop(removed);
    }
}

impl<T: ?Sized + Send + Sync + 'static> Drop for Registration<T> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<T: ?Sized + Send + Sync + 'static> fmt::Debug for Registration<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("interface", &std::any::type_name::<T>())
            .field("registered", &self.instance.is_some())
            .finish()
    }
}
