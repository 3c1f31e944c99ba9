//! How a blocking job's result travels back: the `Job` a pool thread runs, the `Slot`
//! it writes into, the [`BlockingHandle`] that reads it, and [`BlockingError`].
//!
//! ```text
//! loop thread                              pool thread
//! BlockingPool::spawn
//!   time::hold_clock()  ─► Job (f, slot, hold) ─► Job::run: f() under catch_unwind
//!   BlockingHandle(slot)                            the thread marks itself idle
//!                                                   Slot::complete: store, take waker
//!                                                   waker.wake() ─► remote channel + eventfd
//!                                                   drop the ClockHold
//! BlockingHandle::poll: result in the slot? Ready : park the waker there, Pending
//! ```
//!
//! # Ground rules
//! - A job completes its slot exactly once: with its result when it runs, or with
//!   `Cancelled` when it is dropped without running (its pool's shutdown timed out
//!   first). Dropping *is* cancelling, so no path can lose a job without telling its
//!   handle.
//! - No user code runs while a slot's lock is held: the waker is woken, and a result
//!   nobody will read is dropped, after the lock is released.
//! - All that user code is contained (`contain.rs`): a panicking wake, a result or
//!   panic payload whose destructor panics (even with a payload that panics in turn),
//!   a cancelled closure whose captures panic when dropped. None of it may unwind
//!   into the pool thread, which the pool would go on counting, nor stop a cancelled
//!   job's handle from being told.
//! - The clock hold is released after the wake. The loop reads the hold count before
//!   it drains remote wakes, so it never sees "no job in flight" without also seeing
//!   the wake that the job sent (see `executor::time::ClockHold`).
//! - Dropping the handle detaches the job: it still runs to completion and its result
//!   is dropped on the pool thread.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use executor::coop;
use executor::time::ClockHold;
use executor::waits::{WaitDetail, WaitLabel};

use crate::contain::{drop_contained, run_contained};

/// A job as the pool sees it: whatever its closure and result types.
pub(crate) trait Job: Send {
    /// Runs the job, calls `before_waking` once the closure has returned, then hands
    /// the result to the handle and wakes its task. Never unwinds: every piece of
    /// user code in it is contained.
    ///
    /// `before_waking` lets the pool thread mark itself idle *before* the task learns
    /// the result: a task that submits its next job as soon as it is woken then finds
    /// this thread idle instead of starting another one.
    fn run(self: Box<Self>, before_waking: &dyn Fn());
}

/// Builds the job for `f` and the handle that will receive its result.
#[track_caller]
pub(crate) fn new_job<F, T>(f: F, hold: ClockHold) -> (Box<dyn Job>, BlockingHandle<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let slot = Arc::new(Slot {
        state: Mutex::new(State::Waiting(None)),
    });
    let job = Work {
        f: Some(f),
        slot: Arc::clone(&slot),
        _hold: hold,
    };
    // Ids only name jobs in the trace; Relaxed is enough for a unique counter.
    static NEXT_JOB_ID: AtomicU64 = AtomicU64::new(1);
    let id = NEXT_JOB_ID.fetch_add(1, Ordering::Relaxed);
    let at = Location::caller();
    (Box::new(job), BlockingHandle { slot, id, at })
}

/// One job: the closure (until it runs), where its result goes, and the clock hold.
struct Work<F, T> {
    /// `None` once the closure has run.
    f: Option<F>,
    slot: Arc<Slot<T>>,
    /// Held only for its `Drop`. Declared last, so it is released after `Drop::drop`
    /// (or `run`) has woken the handle.
    _hold: ClockHold,
}

impl<F, T> Job for Work<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(mut self: Box<Self>, before_waking: &dyn Fn()) {
        if let Some(f) = self.f.take() {
            // The pool thread survives a panicking job: the payload becomes the result.
            let result = panic::catch_unwind(AssertUnwindSafe(f)).map_err(BlockingError::panic);
            before_waking();
            self.slot.complete(result);
        }
        // `self` drops here: the clock hold goes last, after the wake.
    }
}

impl<F, T> Drop for Work<F, T> {
    fn drop(&mut self) {
        // Still holding the closure: the job never ran (its pool's shutdown timed out
        // first, or had begun when it was submitted).
        if let Some(f) = self.f.take() {
            // The closure's captures are user values; a panic in their destructor
            // (and in its payload's) must not stop the handle from learning that its
            // job was cancelled, nor unwind into the pool's shutdown.
            drop_contained(f);
            self.slot.complete(Err(BlockingError::cancelled()));
        }
    }
}

/// Where a job's result waits for its handle. Shared by the job and the handle.
struct Slot<T> {
    state: Mutex<State<T>>,
}

enum State<T> {
    /// The job has not finished; the waker of the task that last polled the handle.
    Waiting(Option<Waker>),
    /// The result, until the handle takes it.
    Done(Result<T, BlockingError>),
    /// Nobody will read a result any more: the handle returned it, or was dropped.
    Taken,
}

// === impl Slot ===

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No user code runs under this lock, so it cannot be poisoned mid-update.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the result and wakes the task awaiting the handle, if any.
    fn complete(&self, result: Result<T, BlockingError>) {
        let mut state = self.lock();
        let waker = match &mut *state {
            State::Waiting(waker) => waker.take(),
            // The handle is gone (detached): drop the result here, outside the lock
            // and contained: it is a user value, or a panic payload, and its
            // destructor may panic. (`Done` cannot be seen: a job completes once.)
            State::Taken | State::Done(_) => {
                drop(state);
                drop_contained(result);
                return;
            }
        };
        *state = State::Done(result);
        drop(state);
        if let Some(waker) = waker {
            run_contained(|| waker.wake());
        }
    }
}

/// The result of a blocking job, as a future: `.await` it from a task.
///
/// Created by [`spawn_blocking`](crate::spawn_blocking) or
/// [`BlockingPool::spawn`](crate::BlockingPool::spawn). Dropping it detaches the job:
/// the job still runs to completion and its result is dropped.
///
/// tokio equivalent: the `JoinHandle` returned by `tokio::task::spawn_blocking`.
/// asyncio equivalent: the future returned by `loop.run_in_executor`.
pub struct BlockingHandle<T> {
    slot: Arc<Slot<T>>,
    /// Names the job in the trace (`block  submit job=…` / `block  result job=…`).
    pub(crate) id: u64,
    /// Where the user spawned it, for the snapshot's "waits on".
    at: &'static Location<'static>,
}

// === impl BlockingHandle ===

impl<T> BlockingHandle<T> {
    /// True once the job has finished (ran, panicked or was cancelled) and its
    /// result is waiting to be awaited.
    pub fn is_finished(&self) -> bool {
        matches!(*self.slot.lock(), State::Done(_))
    }
}

impl<T> Future for BlockingHandle<T> {
    type Output = Result<T, BlockingError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A result taken spends one unit of the task's coop budget, so a loop of
        // ready handles still gives the loop back (executor/src/coop.rs).
        coop::poll_budgeted(cx, |cx| self.poll_result(cx))
    }
}

impl<T> BlockingHandle<T> {
    /// The poll proper: the job's result, or the waker parked for it.
    fn poll_result(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, BlockingError>> {
        let mut state = self.slot.lock();
        match std::mem::replace(&mut *state, State::Taken) {
            State::Done(result) => {
                drop(state);
                if executor::trace::enabled() {
                    let id = self.id;
                    executor::trace::emit(format_args!("block  result job={id} back on the loop"));
                }
                Poll::Ready(result)
            }
            State::Waiting(old) => {
                let (waker, replaced) = match old {
                    Some(old) if old.will_wake(cx.waker()) => (old, None),
                    old => (cx.waker().clone(), old),
                };
                *state = State::Waiting(Some(waker));
                drop(state);
                let detail = WaitDetail::Job(self.id);
                let label = WaitLabel {
                    what: "spawn_blocking",
                    at: self.at,
                    detail,
                };
                executor::waits::note(cx.waker(), label);
                // A waker's drop is foreign code: outside the lock, contained.
                drop_contained(replaced);
                // Pending: the pool thread wakes this waker in Slot::complete, after
                // the job returns (or when the pool cancels it).
                Poll::Pending
            }
            State::Taken => {
                panic!("glassbox: BlockingHandle polled after it already returned the job's result")
            }
        }
    }
}

impl<T> Drop for BlockingHandle<T> {
    fn drop(&mut self) {
        // Detach: the job will find `Taken` and drop its result itself. A result
        // already here (or a waker) is dropped outside the lock, contained, as the
        // pool thread would have dropped it (and as tokio drops an output nobody
        // took).
        let old = std::mem::replace(&mut *self.slot.lock(), State::Taken);
        drop_contained(old);
    }
}

impl<T> fmt::Debug for BlockingHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a blocking job produced no value: it panicked, or it was cancelled because its
/// pool shut down before the job started.
///
/// tokio equivalent: the `JoinError` of a `spawn_blocking` handle. asyncio
/// equivalent: the exception (or `CancelledError`) raised by awaiting
/// `run_in_executor`'s future.
pub struct BlockingError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

// === impl BlockingError ===

impl BlockingError {
    fn cancelled() -> BlockingError {
        BlockingError {
            repr: Repr::Cancelled,
        }
    }

    fn panic(payload: Box<dyn Any + Send + 'static>) -> BlockingError {
        BlockingError {
            repr: Repr::Panic(payload),
        }
    }

    /// True if the job never ran: its pool's shutdown timed out while it was still
    /// queued (or had begun when the job was submitted, from another job).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the job panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to re-raise it with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the job was cancelled rather than panicking (check [`is_panic`](Self::is_panic)).
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic().unwrap_or_else(|_| {
            panic!(
                "glassbox: into_panic called on a BlockingError that is a cancellation, not a panic"
            )
        })
    }

    /// The panic payload, or the error back if the job was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, BlockingError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, if the payload is a string (as `panic!("...")` makes it).
    fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(payload) => payload
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str)),
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Display for BlockingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => write!(
                f,
                "blocking job was cancelled: its pool shut down before the job started"
            ),
            (Repr::Panic(_), Some(message)) => write!(f, "blocking job panicked: {message}"),
            (Repr::Panic(_), None) => write!(f, "blocking job panicked"),
        }
    }
}

impl fmt::Debug for BlockingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => write!(f, "BlockingError::Cancelled"),
            (Repr::Panic(_), Some(message)) => write!(f, "BlockingError::Panic({message:?})"),
            (Repr::Panic(_), None) => write!(f, "BlockingError::Panic(..)"),
        }
    }
}

impl std::error::Error for BlockingError {}
