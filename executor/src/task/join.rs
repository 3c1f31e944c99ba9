//! `JoinHandle` and `JoinError`: how a spawner gets a task's output back.
//!
//! # Ground rules
//! - Dropping a `JoinHandle` detaches the task: it keeps running, its output is
//!   dropped when it finishes.
//! - `abort` only asks: it marks the task and schedules it, and the loop drops the
//!   future at its next turn. A task that already finished keeps its output.
//! - A handle yields its output once; polling it again is a bug and panics.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::coop;
use crate::task::waker::wake_task;
use crate::task::{JoinRef, Output, TaskId};

/// An owned permission to await a spawned task's output.
///
/// Dropping a `JoinHandle` *detaches* the task: it keeps running, and its output is
/// dropped when it finishes. So does anything that drops the handle for you: a
/// `timeout(d, handle)` that expires, a `join_all` cut short. To stop the task, call
/// [`abort`](JoinHandle::abort). (asyncio's `wait_for(task, t)` cancels the task on
/// timeout; here, keep the handle and abort it, as `examples/timeouts.rs` shows.)
///
/// tokio equivalent: `tokio::task::JoinHandle` (which detaches on drop too). asyncio
/// equivalent: the `Task` returned by `asyncio.create_task` (awaiting it yields the
/// result).
///
/// ```
/// let out = executor::block_on(async {
///     let handle = executor::spawn(async { 6 * 7 });
///     handle.await
/// });
/// assert_eq!(out.unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    task: JoinRef<T>,
}

// === impl JoinHandle ===

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: JoinRef<T>) -> JoinHandle<T> {
        JoinHandle { task }
    }

    /// Cancels the task: at the loop's next turn its future is dropped (destructors
    /// run) and awaiting this handle yields a cancelled [`JoinError`]. Does nothing if
    /// the task has already finished.
    pub fn abort(&self) {
        if self.is_finished() {
            return;
        }
        let header = self.task.header();
        header.set_aborted();
        // Scheduled like any wake; the loop sees `aborted` and cancels instead of
        // polling.
        wake_task(header);
    }

    /// True once the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The task's id, as shown in traces and stall reports.
    pub fn id(&self) -> TaskId {
        self.task.header().id()
    }

    /// The output, once the task has finished; else parks the awaiter's waker.
    fn poll_output(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>> {
        match self.task.take_output() {
            Output::Ready(result) => {
                let id = self.task.header().id();
                Poll::Ready(result.map_err(|failure| JoinError::new(id, failure)))
            }
            Output::Pending => {
                // Pending: the loop wakes this waker when it stores the output.
                let join_waker = self.task.join_waker();
                let waker = match join_waker.take() {
                    Some(old) if old.will_wake(cx.waker()) => old,
                    _ => cx.waker().clone(),
                };
                join_waker.set(Some(waker));
                Poll::Pending
            }
            Output::Taken => {
                panic!("glassbox: JoinHandle polled after it already returned the task's output")
            }
        }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A finished handle spends coop budget, so a loop over ready handles yields.
        coop::poll_budgeted(cx, |cx| self.poll_output(cx))
    }
}

// The handle only points at the task's cell, and moving it moves nothing the task
// relies on, so it is `Unpin` whatever the output type (as tokio's is): a handle can
// be awaited through `&mut`, and kept to `abort` after a timeout gave up on it.
impl<T> Unpin for JoinHandle<T> {}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // Detach: a task finishing from now on drops its output at once. An output
        // already stored is dropped here, on the runtime's thread.
        drop(self.task.detach());
        drop(self.task.join_waker().take());
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why awaiting a [`JoinHandle`] gave no output: the task was cancelled, or it panicked.
///
/// tokio equivalent: `tokio::task::JoinError`. asyncio equivalent: awaiting a task
/// raises `CancelledError` or the task's exception.
pub struct JoinError {
    id: TaskId,
    repr: Failure,
}

/// How a task failed, as its cell stores it: a [`JoinError`] without the task's id,
/// which the `JoinHandle` adds. Sixteen bytes (the payload's box, with "cancelled" in
/// its null niche): every task's slot is at least as large as this, since it may
/// hold one, and a whole `JoinError` would make it 24.
pub(crate) enum Failure {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

// === impl JoinError ===

impl JoinError {
    pub(crate) fn new(id: TaskId, failure: Failure) -> JoinError {
        JoinError { id, repr: failure }
    }

    /// True if the task was aborted, or dropped with its runtime.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Failure::Cancelled)
    }

    /// True if the task panicked (in `poll` or in its destructor).
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Failure::Panic(_))
    }

    /// The id of the task that failed.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The panic payload, to re-raise it with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the task was cancelled rather than panicking (check [`is_panic`](Self::is_panic)).
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic().unwrap_or_else(|_| {
            panic!("glassbox: into_panic called on a JoinError that is a cancellation, not a panic")
        })
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Failure::Panic(payload) => Ok(payload),
            Failure::Cancelled => Err(self),
        }
    }

    /// The panic message, if the payload is a string (as `panic!("...")` makes it).
    fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Failure::Panic(payload) => payload
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str)),
            Failure::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Failure::Cancelled, _) => write!(f, "task {} was cancelled", self.id),
            (Failure::Panic(_), Some(message)) => write!(f, "task {} panicked: {message}", self.id),
            (Failure::Panic(_), None) => write!(f, "task {} panicked", self.id),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Failure::Cancelled, _) => write!(f, "JoinError::Cancelled({})", self.id),
            (Failure::Panic(_), Some(message)) => {
                write!(f, "JoinError::Panic({}, {message:?})", self.id)
            }
            (Failure::Panic(_), None) => write!(f, "JoinError::Panic({}, ..)", self.id),
        }
    }
}

impl std::error::Error for JoinError {}
