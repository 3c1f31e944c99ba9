//! A task: one spawned future, its output slot and its bookkeeping.
//!
//! Lifecycle (the arrows name the functions that move a task):
//!
//! ```text
//!            spawn()                    run_once(): pop + TaskCell::poll
//!   (none) ──────────► SCHEDULED ───────────────────────────────► RUNNING
//!                         ▲                                         │
//!                         │ Core::wake_local / remote drain         │ Poll::Pending
//!                         │ (scheduled: false -> true)              ▼
//!                         └──────────────────────────────────── PARKED
//!
//!   RUNNING ── Poll::Ready / panic ──► FINISHED (output stored, JoinHandle woken, slot freed)
//!   SCHEDULED ── popped with `aborted` set: TaskCell::cancel ──► FINISHED (cancelled)
//!   any state ── Runtime::drop: TaskCell::cancel ──► FINISHED (cancelled)
//! ```
//!
//! # Ground rules
//! - `scheduled` is true exactly while the task's key sits in the ready queue, so a task
//!   woken many times before it runs is queued once. It is cleared just before the poll,
//!   so a wake during the poll queues the task again, behind everyone already waiting.
//! - The future is only ever touched by the loop: polled by `poll`, dropped by `poll`
//!   (once it is ready or has panicked) or by `cancel`. Neither runs while a `RefCell`
//!   of the runtime is borrowed, so user code in `poll` or `Drop` may spawn and wake.
//! - The output is written once, then taken once by the `JoinHandle`.
//! - A panic in the future's `poll` or `Drop` is caught and becomes the task's
//!   `JoinError`; it never unwinds into the loop.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::join::JoinError;

/// A task's unique id within its runtime, never reused. Shown in traces and stall
/// reports; [`JoinHandle::id`](crate::JoinHandle::id) returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the loop needs to know about a task, whatever its output type.
pub(crate) struct Header {
    pub(crate) id: TaskId,
    /// True while the key is in the ready queue (see the ground rules).
    pub(crate) scheduled: Cell<bool>,
    /// Set by `JoinHandle::abort`; the loop cancels instead of polling.
    pub(crate) aborted: Cell<bool>,
    /// The task's own waker, built once at spawn and lent to every poll.
    pub(crate) waker: Waker,
    /// Where `spawn` was called, for stall reports and traces.
    pub(crate) spawned_at: &'static Location<'static>,
}

/// The loop's view of a task: type-erased over the output.
pub(crate) trait Task {
    fn header(&self) -> &Header;
    /// Polls the future once. `Ready` means the task is finished (output stored,
    /// `JoinHandle` woken) and its slab slot may be freed.
    fn poll(&self) -> Poll<()>;
    /// Drops the future without running it to completion; the output becomes a
    /// cancelled `JoinError`, or a panic one if the destructor panicked.
    fn cancel(&self);
}

/// The output slot shared by the task and its `JoinHandle`.
pub(crate) enum Output<T> {
    Pending,
    Ready(Result<T, JoinError>),
    Taken,
}

/// One spawned future, its output, and the waker of whoever awaits its `JoinHandle`.
/// Shared (`Rc`) by the runtime's slab and the `JoinHandle`.
pub(crate) struct TaskCell<T> {
    pub(crate) header: Header,
    /// `None` once the future is dropped (finished, panicked or cancelled).
    future: RefCell<Option<Pin<Box<dyn Future<Output = T>>>>>,
    pub(crate) output: RefCell<Output<T>>,
    pub(crate) join_waker: Cell<Option<Waker>>,
}

// === impl TaskCell ===

impl<T> TaskCell<T> {
    pub(crate) fn new(header: Header, future: Pin<Box<dyn Future<Output = T>>>) -> TaskCell<T> {
        TaskCell {
            header,
            future: RefCell::new(Some(future)),
            output: RefCell::new(Output::Pending),
            join_waker: Cell::new(None),
        }
    }

    /// Stores the output and wakes the `JoinHandle`'s awaiter, if any.
    fn finish(&self, result: Result<T, JoinError>) {
        *self.output.borrow_mut() = Output::Ready(result);
        if let Some(waker) = self.join_waker.take() {
            waker.wake();
        }
    }

    /// Drops the future (if still there) outside any borrow; returns the payload if its
    /// destructor panicked.
    fn drop_future(&self) -> Option<Box<dyn Any + Send>> {
        let future = self.future.borrow_mut().take();
        panic::catch_unwind(AssertUnwindSafe(move || drop(future))).err()
    }
}

impl<T> Task for TaskCell<T> {
    fn header(&self) -> &Header {
        &self.header
    }

    fn poll(&self) -> Poll<()> {
        let mut cx = Context::from_waker(&self.header.waker);
        let polled = {
            let mut slot = self.future.borrow_mut();
            let Some(future) = slot.as_mut() else {
                return Poll::Ready(());
            };
            panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)))
        };
        let result = match polled {
            // Pending: the future parked `cx.waker()` somewhere (a timer, a socket, a
            // pattern's wait list); that is who will schedule it again.
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(value)) => match self.drop_future() {
                None => Ok(value),
                Some(payload) => Err(JoinError::panic(self.header.id, payload)),
            },
            Err(payload) => {
                // A future that panicked must not be polled again, but it is still
                // dropped; a second panic from its destructor is swallowed, the first
                // one is the story.
                let _ = self.drop_future();
                Err(JoinError::panic(self.header.id, payload))
            }
        };
        self.finish(result);
        Poll::Ready(())
    }

    fn cancel(&self) {
        if !matches!(*self.output.borrow(), Output::Pending) {
            return;
        }
        let result = match self.drop_future() {
            None => JoinError::cancelled(self.header.id),
            Some(payload) => JoinError::panic(self.header.id, payload),
        };
        self.finish(Err(result));
    }
}
