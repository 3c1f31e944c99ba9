//! The [`Acquire`] future: one request waiting in the semaphore's line.
//!
//! # Ground rules
//! - `Start ─► Waiting ─► Done`: a request joins the line at most once and leaves
//!   it exactly once (served, or dropped).
//! - Dropped while waiting, it gives back every permit already assigned to it, so
//!   the next request in line is served: nothing is lost.
//! - However it leaves `Waiting` (served, failed on close, dropped), `leave_line`
//!   hands its node back to the wait list, so the next request to wait reuses it
//!   rather than allocating one: under contention nearly every acquire waits.

use std::cell::RefMut;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use executor::coop;

use super::{AcquireError, Permit, Request, Semaphore, State};
use crate::contain::drop_contained;
use crate::wait_list::Waiter;

/// What a parked acquire says it waits on, in the snapshot.
const WHAT: &str = "Semaphore::acquire";

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
    /// Where the user called `acquire`, for the snapshot's "waits on".
    at: &'static Location<'static>,
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
    #[inline]
    pub(super) fn new(
        semaphore: &'a Semaphore,
        wanted: u32,
        at: &'static Location<'static>,
    ) -> Acquire<'a> {
        Acquire {
            semaphore,
            wanted,
            step: Step::Start,
            at,
        }
    }

    /// `Waiting ─► Done`: takes this request out of the line if it is still in it,
    /// hands its node back to the wait list for the next waiter to reuse, and returns
    /// the permits it had been assigned (all it wanted, if served), which the request
    /// no longer holds: the caller turns them into a `Permit` or gives them back.
    /// Returns 0 in any other step.
    fn leave_line(&mut self) -> u32 {
        let Step::Waiting(waiter) = std::mem::replace(&mut self.step, Step::Done) else {
            return 0;
        };
        // A waker still stored (dropped while in line) is foreign code even to drop:
        // take it out here, and let it go only after the borrow below ends, contained,
        // so that a panic there cannot keep the caller from giving the permits back.
        let waker = waiter.take_waker();
        let request = {
            let mut state = self.semaphore.state.borrow_mut();
            let request = *waiter.state();
            if request.assigned < request.wanted {
                // Not served, so maybe still in line. (A served request is out of it
                // already.)
                state.waiters.remove(&waiter);
            }
            state.waiters.recycle(waiter);
            request
        };
        if let Some(waker) = waker {
            // Only a request dropped while in line still holds one: the served one's
            // was taken to wake it.
            drop_contained(waker);
        }
        request.assigned
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

    #[inline] // the fast path below is a few instructions: keep it in the caller's loop
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // An acquire that completes spends one unit of the task's coop budget,
        // so a loop of them that never waits still gives the loop back
        // (executor/src/coop.rs).
        coop::poll_budgeted(cx, |cx| self.poll_acquire(cx))
    }
}

impl<'a> Acquire<'a> {
    /// The poll proper: admits, queues or reports the grant.
    #[inline]
    fn poll_acquire(&mut self, cx: &mut Context<'_>) -> Poll<Result<Permit<'a>, AcquireError>> {
        if !matches!(self.step, Step::Start) {
            return self.poll_waiting(cx);
        }
        let semaphore = self.semaphore;
        let mut state = semaphore.state.borrow_mut();
        let wanted = self.wanted as usize;
        // Zero permits pass nobody (tokio: succeeds at once).
        let nobody_ahead = state.waiters.is_empty() || wanted == 0;
        if !state.closed && nobody_ahead && state.available >= wanted {
            // The fast path (the permits are free and nobody waits): take them. No
            // waiter is built, so there is nothing to tear down either.
            state.available -= wanted;
            self.step = Step::Done;
            return Poll::Ready(Ok(self.granted()));
        }
        self.fail_or_join_line(state, cx)
    }

    /// The first poll, when the fast path cannot take the permits: fails if the
    /// semaphore is closed, or joins the line.
    fn fail_or_join_line(
        &mut self,
        mut state: RefMut<'_, State>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Permit<'a>, AcquireError>> {
        if state.closed {
            self.step = Step::Done;
            return Poll::Ready(Err(AcquireError(())));
        }
        // Join the line. If it is empty we are the front, so we may take what is free
        // now; if not, `available` is 0 and we take nothing.
        let wanted = self.wanted as usize;
        let taken = state.available.min(wanted);
        state.available -= taken;
        let request = Request {
            wanted: self.wanted,
            assigned: taken as u32,
        };
        let waiter = state.waiters.push_back(request, cx.waker());
        state.waiters.tell(&waiter, cx.waker(), WHAT, self.at);
        self.step = Step::Waiting(waiter);
        // Pending: `release` wakes us once our request is complete, or `close` wakes
        // us to fail.
        Poll::Pending
    }

    /// A later poll: reports the grant, or the close, or waits on in line.
    fn poll_waiting(&mut self, cx: &mut Context<'_>) -> Poll<Result<Permit<'a>, AcquireError>> {
        let Step::Waiting(waiter) = &self.step else {
            panic!("Acquire polled after it already returned its output");
        };
        let request = *waiter.state();
        if request.assigned == request.wanted {
            self.leave_line();
            return Poll::Ready(Ok(self.granted()));
        }
        if self.semaphore.is_closed() {
            let given_back = self.leave_line();
            self.semaphore.release(given_back as usize);
            return Poll::Ready(Err(AcquireError(())));
        }
        waiter.set_waker(cx.waker());
        let state = self.semaphore.state.borrow();
        state.waiters.tell(waiter, cx.waker(), WHAT, self.at);
        // Pending: still in line; `release` or `close` wakes us.
        Poll::Pending
    }
}

impl Drop for Acquire<'_> {
    #[inline] // most acquires end `Done`, holding nothing: keep that check in the caller
    fn drop(&mut self) {
        if !matches!(self.step, Step::Waiting(_)) {
            return;
        }
        // Leave the line (if still in it) and give back whatever we were assigned:
        // part of the request, or all of it if it completed after our last poll.
        let given_back = self.leave_line();
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
