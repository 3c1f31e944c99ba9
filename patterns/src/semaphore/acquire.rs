//! The [`Acquire`] future: one request waiting in the semaphore's line.
//!
//! # Ground rules
//! - `Start ─► Waiting ─► Done`: a request joins the line at most once and leaves
//!   it exactly once (served, or dropped).
//! - Dropped while waiting, it gives back every permit already assigned to it, so
//!   the next request in line is served: nothing is lost.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use executor::coop;

use super::{AcquireError, Permit, Request, Semaphore};
use crate::wait_list::Waiter;

/// The future returned by [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
///
/// asyncio equivalent: the coroutine `sem.acquire()` returns.
/// tokio equivalent: the future of `tokio::sync::Semaphore::acquire_many`.
///
/// Dropping it while it waits gives back any permits already assigned to it and
/// serves the next waiter.
///
/// ```
/// use patterns::Semaphore;
///
/// let sem = Semaphore::new(1);
/// let permit = executor::block_on(async { sem.acquire().await.unwrap() });
/// assert_eq!(sem.available_permits(), 0);
/// drop(permit);
/// ```
#[must_use = "futures do nothing unless you .await them"]
pub struct Acquire<'a> {
    semaphore: &'a Semaphore,
    wanted: u32,
    step: Step,
}

/// Where an [`Acquire`] is in its life.
enum Step {
    /// Not polled yet: not in line, holds nothing.
    Start,
    /// In line (or just taken out of it with everything it wanted).
    Waiting(Rc<Waiter<Request>>),
    /// Returned its output; holds nothing.
    Done,
}

// === impl Acquire ===

impl<'a> Acquire<'a> {
    /// A request for `wanted` permits, not yet in line.
    pub(super) fn new(semaphore: &'a Semaphore, wanted: u32) -> Acquire<'a> {
        Acquire {
            semaphore,
            wanted,
            step: Step::Start,
        }
    }

    /// The permit this request turns into once it has everything it wanted.
    fn granted(&self) -> Permit<'a> {
        Permit {
            semaphore: self.semaphore,
            permits: self.wanted,
        }
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<Permit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // An acquire that completes spends one unit of the task's coop budget,
        // so a loop of them that never waits still gives the loop back
        // (executor/src/coop.rs).
        coop::poll_budgeted(cx, |cx| self.poll_acquire(cx))
    }
}

impl<'a> Acquire<'a> {
    /// The poll proper: admits, queues or reports the grant.
    fn poll_acquire(&mut self, cx: &mut Context<'_>) -> Poll<Result<Permit<'a>, AcquireError>> {
        let this = &mut *self;
        let semaphore = this.semaphore;
        match &this.step {
            Step::Start => {
                let mut state = semaphore.state.borrow_mut();
                if state.closed {
                    this.step = Step::Done;
                    return Poll::Ready(Err(AcquireError(())));
                }
                let wanted = this.wanted as usize;
                // Zero permits pass nobody (tokio: succeeds at once).
                let nobody_ahead = state.waiters.is_empty() || wanted == 0;
                if nobody_ahead && state.available >= wanted {
                    state.available -= wanted;
                    this.step = Step::Done;
                    return Poll::Ready(Ok(this.granted()));
                }
                // Join the line. If it is empty we are the front, so we may take what
                // is free now; if not, `available` is 0 and we take nothing.
                let taken = state.available.min(wanted);
                state.available -= taken;
                let request = Request {
                    wanted: this.wanted,
                    assigned: taken as u32,
                };
                let waiter = state.waiters.push_back(request, cx.waker());
                this.step = Step::Waiting(waiter);
                // Pending: `release` wakes us once our request is complete, or
                // `close` wakes us to fail.
                Poll::Pending
            }
            Step::Waiting(waiter) => {
                let mut request = waiter.state();
                if request.assigned == request.wanted {
                    drop(request);
                    this.step = Step::Done;
                    return Poll::Ready(Ok(this.granted()));
                }
                if semaphore.is_closed() {
                    let given_back = std::mem::take(&mut request.assigned);
                    drop(request);
                    this.step = Step::Done;
                    semaphore.release(given_back as usize);
                    return Poll::Ready(Err(AcquireError(())));
                }
                drop(request);
                waiter.set_waker(cx.waker());
                // Pending: still in line; `release` or `close` wakes us.
                Poll::Pending
            }
            Step::Done => panic!("Acquire polled after it already returned its output"),
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Step::Waiting(waiter) = &self.step else {
            return;
        };
        // Leave the line (if still in it) and give back whatever we were assigned:
        // part of the request, or all of it if it completed after our last poll.
        self.semaphore.state.borrow_mut().waiters.remove(waiter);
        let given_back = std::mem::take(&mut waiter.state().assigned);
        if given_back > 0 {
            self.semaphore.release(given_back as usize);
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match &self.step {
            Step::Start => "start",
            Step::Waiting(_) => "waiting",
            Step::Done => "done",
        };
        f.debug_struct("Acquire")
            .field("wanted", &self.wanted)
            .field("step", &step)
            .finish()
    }
}
