//! Resources a runtime owns for other crates: one value per type per runtime, made on
//! first use and dropped with the runtime, after its tasks.
//!
//! This is the seam through which `patterns` gives each runtime its own blocking pool,
//! as tokio does: `spawn_blocking` inside a runtime asks for that runtime's pool, and
//! dropping the runtime shuts the pool down (every job already handed to it runs,
//! queued ones included, and is waited for, up to `Builder::shutdown_timeout`).
//!
//! ```text
//! runtime_resource::<T>(init) ─► the current runtime's T, made by init(RuntimeInfo) once
//! Runtime::drop ─► drop every task ─► drop every resource, newest first
//! ```
//!
//! # Ground rules
//! - A resource is reachable only on its runtime's thread, while that runtime is
//!   current: it is an `Rc`, and the table lives in the runtime.
//! - Resources are dropped after the tasks, so a task's destructor can still use them,
//!   and newest first, so a resource made from another is dropped before it.
//! - `init` runs outside the table's borrow: it may ask for resources of other types.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::event_loop::context;

/// What a runtime tells the resources it owns about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeInfo {
    /// Distinguishes runtimes in one process (for thread names, say).
    pub id: u64,
    /// [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads).
    pub max_blocking_threads: Option<usize>,
    /// [`Builder::shutdown_timeout`](crate::Builder::shutdown_timeout): how long the
    /// runtime's drop waits for blocking work still running; `None`: until it ends.
    pub shutdown_timeout: Option<Duration>,
}

/// A runtime's resources, oldest first, and what they are told of it.
pub(crate) struct Resources {
    info: RuntimeInfo,
    values: RefCell<Vec<(TypeId, Rc<dyn Any>)>>,
}

impl Resources {
    pub(crate) fn new(info: RuntimeInfo) -> Resources {
        Resources {
            info,
            values: RefCell::new(Vec::new()),
        }
    }

    fn get(&self, type_id: TypeId) -> Option<Rc<dyn Any>> {
        let values = self.values.borrow();
        let found = values.iter().find(|(id, _)| *id == type_id);
        found.map(|(_, value)| Rc::clone(value))
    }

    /// Drops every resource, newest first. Each is dropped outside the borrow: its
    /// destructor may ask for another resource (and gets a new one, dropped next).
    pub(crate) fn drop_all(&self) {
        loop {
            // Its own statement: a `while let` would keep the `RefMut` alive through
            // the body, and the destructor's own request would find the table borrowed.
            let newest = self.values.borrow_mut().pop();
            let Some(newest) = newest else { break };
            drop(newest);
        }
    }
}

/// The current runtime's resource of type `T`, made by `init` the first time it is
/// asked for, and dropped when the runtime is (after its tasks). `None` outside a
/// runtime.
///
/// ```
/// use std::cell::Cell;
///
/// struct Counter(Cell<u32>);
/// executor::block_on(async {
///     let counter = executor::runtime_resource(|_| Counter(Cell::new(0))).unwrap();
///     counter.0.set(counter.0.get() + 1);
///     let again = executor::runtime_resource(|_| Counter(Cell::new(100))).unwrap();
///     assert_eq!(again.0.get(), 1, "made once per runtime");
/// });
/// assert!(executor::runtime_resource(|_| Counter(Cell::new(0))).is_none());
/// ```
pub fn runtime_resource<T: 'static>(init: impl FnOnce(RuntimeInfo) -> T) -> Option<Rc<T>> {
    let core = context::current()?;
    let type_id = TypeId::of::<T>();
    let value = match core.resources.get(type_id) {
        Some(value) => value,
        None => {
            let value: Rc<dyn Any> = Rc::new(init(core.resources.info));
            let entry = (type_id, Rc::clone(&value));
            core.resources.values.borrow_mut().push(entry);
            value
        }
    };
    Some(
        value
            .downcast()
            .expect("a resource is stored under its own type"),
    )
}
