//! Which runtime is running on this thread, if any.
//!
//! `spawn`, `time::now`, the `Timer` future and the net types find their runtime
//! here instead of taking it as a parameter, exactly as `tokio::spawn` does. A task's
//! waker also looks here: a wake that happens on the runtime's own thread, while the
//! runtime is current, takes the fast path (push on the ready queue, no atomics, no
//! syscall); every other wake takes the remote path.
//!
//! # Ground rules
//! - At most one runtime is current per thread. [`enter`] refuses to nest (a nested
//!   `block_on` would need the outer loop to stop turning, which it cannot do while a
//!   task of it is being polled); [`enter_for_drop`] may nest, because dropping a
//!   runtime polls nothing.
//! - The slot is restored by a guard's `Drop`, so a panic that unwinds out of
//!   `block_on` leaves the thread clean.
//! - Code that may run during thread-local teardown (dropping a runtime, waking,
//!   looking up the current runtime) uses `try_with`: the slot may already be
//!   destroyed then, and `with` would panic inside a destructor, which aborts.

use std::cell::RefCell;
use std::rc::Rc;

use crate::event_loop::Core;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// Restores the previous occupant of the thread's runtime slot when dropped.
pub(crate) struct EnterGuard {
    previous: Option<Rc<Core>>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: during thread teardown the slot may already be gone; then there
        // is nothing left to restore.
        let _ = CURRENT.try_with(|current| *current.borrow_mut() = previous);
    }
}

/// Makes `core` the current runtime for the duration of a `block_on`.
///
/// Panics if a runtime is already running on this thread.
pub(crate) fn enter(core: &Rc<Core>) -> EnterGuard {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        if current.is_some() {
            panic!(
                "glassbox: block_on called while a runtime is already running on this thread. \
                 A nested block_on would stop the outer loop; inside async code, spawn the \
                 future with glassbox::spawn and .await its JoinHandle instead"
            );
        }
        EnterGuard {
            previous: current.replace(Rc::clone(core)),
        }
    })
}

/// Makes `core` current while it drops its tasks, so their destructors can cancel
/// timers, deregister sockets and even spawn. Nesting is allowed here.
///
/// Returns `None` during thread-local teardown, when the slot itself is already gone
/// (a runtime kept in a `thread_local!` is dropped at thread exit, possibly after
/// the slot): the tasks are then dropped without a current runtime.
pub(crate) fn enter_for_drop(core: &Rc<Core>) -> Option<EnterGuard> {
    CURRENT
        .try_with(|current| EnterGuard {
            previous: current.borrow_mut().replace(Rc::clone(core)),
        })
        .ok()
}

/// The current runtime, if any.
pub(crate) fn current() -> Option<Rc<Core>> {
    CURRENT
        .try_with(|current| current.borrow().clone())
        .ok()
        .flatten()
}

/// The current runtime; panics with a message naming `what` outside one.
#[track_caller]
pub(crate) fn expect_current(what: &str) -> Rc<Core> {
    current().unwrap_or_else(|| {
        panic!(
            "glassbox: {what} must be called from inside a runtime (within Runtime::block_on \
             or a task it runs); none is running on this thread"
        )
    })
}

/// Runs `f` on the current runtime if it is the one whose id is `runtime_id`.
/// Returns `false` (and does nothing) otherwise: the caller then takes the remote path.
///
/// This is the wake fast path, so it borrows the slot instead of cloning the `Rc`.
pub(crate) fn with_runtime(runtime_id: u64, f: impl FnOnce(&Core)) -> bool {
    CURRENT
        .try_with(|current| match &*current.borrow() {
            Some(core) if core.id == runtime_id => {
                f(core);
                true
            }
            _ => false,
        })
        .unwrap_or(false)
}
