//! The futures that wait on a [`Queue`](super::Queue): `Put`, `Get` and `Join`.
//!
//! Each is a small state machine, `Start ─► Waiting(waiter) ─► Done`: the first poll
//! tries the operation on the queue's state and, if it must wait, joins a wait list;
//! later polls read what the queue wrote into the waiter; `Drop` while waiting leaves
//! the line and hands back whatever was handed over.
//!
//! # Ground rules
//! The queue's, in `queue.rs`; these futures are where the cancellation ones are
//! kept. A `Get` dropped after an item was handed to it gives the item to the next
//! getter (or back to the front of the queue). A `Put` keeps its item until the item
//! enters, so dropping it never puts: dropped in line it leaves the line, dropped
//! holding a reservation it hands the slot to the next putter (or frees it).

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use executor::coop;

use super::{GetNowaitError, GetSlot, PutSlot, Queue, QueueShutDown};
use crate::wait_list::{Waiter, Wakeups};

// === impl Put ===

/// The future returned by [`Queue::put`].
///
/// asyncio equivalent: the coroutine `queue.put(item)` returns.
/// tokio equivalent: the future of `tokio::sync::mpsc::Sender::send`.
///
/// ```
/// let queue = patterns::Queue::new(1);
/// queue.put_nowait(1).unwrap();
/// let waiting_put = queue.put(2); // would wait: the queue is full
/// drop(waiting_put); // never polled, never took a slot; 2 is dropped with it
/// assert_eq!(queue.qsize(), 1);
/// ```
#[must_use = "futures do nothing unless you .await them"]
pub struct Put<'a, T> {
    queue: &'a Queue<T>,
    step: PutStep<T>,
    /// Where the user called `put`, for the snapshot's "waits on".
    at: &'static Location<'static>,
}

enum PutStep<T> {
    Start(T),
    /// In line, or holding a reservation; the item goes in at the next poll after a
    /// reservation.
    Waiting(Rc<Waiter<PutSlot>>, T),
    Done,
}

impl<'a, T> Put<'a, T> {
    pub(super) fn new(queue: &'a Queue<T>, item: T, at: &'static Location<'static>) -> Put<'a, T> {
        Put {
            queue,
            step: PutStep::Start(item),
            at,
        }
    }
}

// The item is moved, never pinned, so `Put` may move even if `T` may not.
impl<T> Unpin for Put<'_, T> {}

impl<T> Future for Put<'_, T> {
    type Output = Result<(), QueueShutDown<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.holds_reservation() {
            // Owed a slot: put now, whatever the task's budget. Items enter in the
            // order their slots were reserved; a forced yield here would let a later
            // reservation's item in first.
            return self.poll_put(cx);
        }
        // A put that completes spends one unit of the task's coop budget, so a loop of
        // them that never waits still gives the loop back (executor/src/coop.rs).
        coop::poll_budgeted(cx, |cx| self.poll_put(cx))
    }
}

impl<T> Put<'_, T> {
    /// True once a freed slot has been reserved for this put.
    fn holds_reservation(&self) -> bool {
        matches!(&self.step, PutStep::Waiting(putter, _) if matches!(*putter.state(), PutSlot::Reserved))
    }

    /// The poll proper.
    fn poll_put(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), QueueShutDown<T>>> {
        let this = &mut *self;
        let mut wakeups = Wakeups::default();
        let poll = match std::mem::replace(&mut this.step, PutStep::Done) {
            PutStep::Start(item) => {
                let mut inner = this.queue.inner.borrow_mut();
                if inner.shut_down || !inner.is_full() {
                    let result = inner.put_nowait(item, &mut wakeups);
                    Poll::Ready(result.map_err(|error| QueueShutDown(error.into_inner())))
                } else {
                    let putter = inner.putters.push_back(PutSlot::Waiting, cx.waker());
                    inner
                        .putters
                        .tell(&putter, cx.waker(), "Queue::put", this.at);
                    this.step = PutStep::Waiting(putter, item);
                    // Pending: a slot freed by a get, or left free behind the
                    // reservations ahead of us once they are used, is reserved for us
                    // and we are woken; or shutdown wakes us to fail. Not reserving
                    // here, even beside a free slot, is what keeps us behind them: a
                    // reservation made in our own poll could be used at once, in
                    // the same poll of our task, before theirs.
                    Poll::Pending
                }
            }
            PutStep::Waiting(putter, item) => {
                let mut inner = this.queue.inner.borrow_mut();
                let slot = *putter.state();
                match slot {
                    PutSlot::Reserved => {
                        inner.reserved -= 1;
                        if inner.shut_down {
                            // Shut down since the slot was reserved: the put fails.
                            Poll::Ready(Err(QueueShutDown(item)))
                        } else {
                            inner.enter(item, &mut wakeups);
                            // Putters who lined up behind our reservation while a
                            // slot was free get their turn now.
                            inner.admit_putters(&mut wakeups);
                            Poll::Ready(Ok(()))
                        }
                    }
                    // Shut down while we waited: `shutdown` took us out of the line.
                    PutSlot::Waiting if inner.shut_down => Poll::Ready(Err(QueueShutDown(item))),
                    PutSlot::Waiting => {
                        drop(inner); // replacing a waker may drop one: foreign code
                        putter.set_waker(cx.waker());
                        let inner = this.queue.inner.borrow();
                        inner
                            .putters
                            .tell(&putter, cx.waker(), "Queue::put", this.at);
                        this.step = PutStep::Waiting(putter, item);
                        // Pending: still in line; a freed slot or shutdown wakes us.
                        Poll::Pending
                    }
                }
            }
            PutStep::Done => panic!("Put polled after it already returned its output"),
        };
        wakeups.wake_all();
        poll
    }
}

impl<T> Drop for Put<'_, T> {
    fn drop(&mut self) {
        let PutStep::Waiting(putter, _item) = &self.step else {
            return;
        };
        // The item never went in; it is dropped with `step`, after the borrow.
        let mut wakeups = Wakeups::default();
        {
            let mut inner = self.queue.inner.borrow_mut();
            let slot = *putter.state();
            match slot {
                PutSlot::Waiting => {
                    inner.putters.remove(putter);
                }
                PutSlot::Reserved => {
                    // Woken to fill a slot, but we will never run: the slot goes to
                    // the next putter in line, or is free again.
                    inner.reserved -= 1;
                    inner.admit_putters(&mut wakeups);
                }
            }
        }
        wakeups.wake_all();
    }
}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.step {
            PutStep::Start(_) => "start",
            PutStep::Waiting(..) => "waiting",
            PutStep::Done => "done",
        };
        f.debug_struct("Put").field("step", &step).finish()
    }
}

// === impl Get ===

/// The future returned by [`Queue::get`].
///
/// asyncio equivalent: the coroutine `queue.get()` returns.
/// tokio equivalent: the future of `tokio::sync::mpsc::Receiver::recv`.
///
/// ```
/// let queue = patterns::Queue::new(0);
/// let get = queue.get();
/// queue.put_nowait(7).unwrap();
/// assert_eq!(executor::block_on(get), Ok(7));
/// ```
#[must_use = "futures do nothing unless you .await them"]
pub struct Get<'a, T> {
    queue: &'a Queue<T>,
    step: GetStep<T>,
    /// Where the user called `get`, for the snapshot's "waits on".
    at: &'static Location<'static>,
}

enum GetStep<T> {
    Start,
    Waiting(Rc<Waiter<GetSlot<T>>>),
    Done,
}

impl<'a, T> Get<'a, T> {
    pub(super) fn new(queue: &'a Queue<T>, at: &'static Location<'static>) -> Get<'a, T> {
        Get {
            queue,
            step: GetStep::Start,
            at,
        }
    }
}

impl<T> Future for Get<'_, T> {
    type Output = Result<T, QueueShutDown>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A get that completes spends one unit of the task's coop budget,
        // so a loop of them that never waits still gives the loop back
        // (executor/src/coop.rs).
        coop::poll_budgeted(cx, |cx| self.poll_get(cx))
    }
}

impl<T> Get<'_, T> {
    /// The poll proper.
    fn poll_get(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, QueueShutDown>> {
        let this = &mut *self;
        let mut wakeups = Wakeups::default();
        let poll = match std::mem::replace(&mut this.step, GetStep::Done) {
            GetStep::Start => {
                let mut inner = this.queue.inner.borrow_mut();
                match inner.get_nowait(&mut wakeups) {
                    Ok(item) => Poll::Ready(Ok(item)),
                    Err(GetNowaitError::ShutDown) => Poll::Ready(Err(QueueShutDown(()))),
                    Err(GetNowaitError::Empty) => {
                        let getter = inner.getters.push_back(GetSlot::Waiting, cx.waker());
                        inner
                            .getters
                            .tell(&getter, cx.waker(), "Queue::get", this.at);
                        this.step = GetStep::Waiting(getter);
                        // Pending: a put hands us an item and wakes us, or shutdown
                        // wakes us to drain what is left, or fail.
                        Poll::Pending
                    }
                }
            }
            GetStep::Waiting(getter) => {
                let mut inner = this.queue.inner.borrow_mut();
                let slot = std::mem::replace(&mut *getter.state(), GetSlot::Waiting);
                match slot {
                    GetSlot::Handed(item) => {
                        inner.took_handed(&getter);
                        inner.admit_putters(&mut wakeups);
                        Poll::Ready(Ok(item))
                    }
                    // Woken by shutdown (it took us out of the line, and took back
                    // any item handed to us): drain what is left, from the front.
                    GetSlot::Waiting if inner.shut_down => match inner.get_nowait(&mut wakeups) {
                        Ok(item) => Poll::Ready(Ok(item)),
                        Err(_) => Poll::Ready(Err(QueueShutDown(()))),
                    },
                    GetSlot::Waiting => {
                        drop(inner); // replacing a waker may drop one: foreign code
                        getter.set_waker(cx.waker());
                        let inner = this.queue.inner.borrow();
                        inner
                            .getters
                            .tell(&getter, cx.waker(), "Queue::get", this.at);
                        this.step = GetStep::Waiting(getter);
                        // Pending: still in line; a put, a handed item passed on, or
                        // shutdown wakes us.
                        Poll::Pending
                    }
                }
            }
            GetStep::Done => panic!("Get polled after it already returned its output"),
        };
        wakeups.wake_all();
        poll
    }
}

impl<T> Drop for Get<'_, T> {
    fn drop(&mut self) {
        let GetStep::Waiting(getter) = &self.step else {
            return;
        };
        let mut wakeups = Wakeups::default();
        let slot = std::mem::replace(&mut *getter.state(), GetSlot::Waiting);
        {
            let mut inner = self.queue.inner.borrow_mut();
            match slot {
                GetSlot::Waiting => {
                    inner.getters.remove(getter);
                }
                GetSlot::Handed(item) => {
                    // We were woken with an item but will never run: pass it on. It
                    // is the oldest item around, so it goes to the next getter in
                    // line, or back to the front.
                    inner.took_handed(getter);
                    match inner.getters.is_empty() {
                        true => inner.items.push_front(item),
                        false => inner.deliver(item, &mut wakeups),
                    }
                }
            }
        }
        wakeups.wake_all();
    }
}

impl<T> fmt::Debug for Get<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.step {
            GetStep::Start => "start",
            GetStep::Waiting(_) => "waiting",
            GetStep::Done => "done",
        };
        f.debug_struct("Get").field("step", &step).finish()
    }
}

// === impl Join ===

/// The future returned by [`Queue::join`].
///
/// asyncio equivalent: the coroutine `queue.join()` returns.
/// tokio equivalent: none.
///
/// ```
/// let queue = patterns::Queue::<u8>::new(0);
/// executor::block_on(queue.join()); // nothing unfinished: returns at once
/// ```
#[must_use = "futures do nothing unless you .await them"]
pub struct Join<'a, T> {
    queue: &'a Queue<T>,
    step: JoinStep,
    /// Where the user called `join`, for the snapshot's "waits on".
    at: &'static Location<'static>,
}

enum JoinStep {
    Start,
    Waiting(Rc<Waiter<bool>>),
    Done,
}

impl<'a, T> Join<'a, T> {
    pub(super) fn new(queue: &'a Queue<T>, at: &'static Location<'static>) -> Join<'a, T> {
        Join {
            queue,
            step: JoinStep::Start,
            at,
        }
    }
}

impl<T> Future for Join<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A join that completes spends one unit of the task's coop budget,
        // so a loop of them that never waits still gives the loop back
        // (executor/src/coop.rs).
        coop::poll_budgeted(cx, |cx| self.poll_join(cx))
    }
}

impl<T> Join<'_, T> {
    /// The poll proper.
    fn poll_join(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match &this.step {
            JoinStep::Start => {
                let mut inner = this.queue.inner.borrow_mut();
                if inner.unfinished == 0 {
                    this.step = JoinStep::Done;
                    return Poll::Ready(());
                }
                let joiner = inner.joiners.push_back(false, cx.waker());
                inner
                    .joiners
                    .tell(&joiner, cx.waker(), "Queue::join", this.at);
                this.step = JoinStep::Waiting(joiner);
                // Pending: the task_done (or shutdown(true)) that brings unfinished
                // to zero wakes us.
                Poll::Pending
            }
            JoinStep::Waiting(joiner) => {
                if *joiner.state() {
                    this.step = JoinStep::Done;
                    return Poll::Ready(());
                }
                joiner.set_waker(cx.waker());
                let inner = this.queue.inner.borrow();
                inner
                    .joiners
                    .tell(joiner, cx.waker(), "Queue::join", this.at);
                // Pending: still waiting for unfinished to reach zero.
                Poll::Pending
            }
            JoinStep::Done => panic!("Join polled after it already returned"),
        }
    }
}

impl<T> Drop for Join<'_, T> {
    fn drop(&mut self) {
        if let JoinStep::Waiting(joiner) = &self.step {
            self.queue.inner.borrow_mut().joiners.remove(joiner);
        }
    }
}

impl<T> fmt::Debug for Join<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiting = matches!(self.step, JoinStep::Waiting(_));
        f.debug_struct("Join").field("waiting", &waiting).finish()
    }
}
