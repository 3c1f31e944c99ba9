//! `Queue`: asyncio.Queue, for producers and consumers.
//!
//! Producers `put`, consumers `get`; a bounded queue makes producers wait when it is
//! full, an empty one makes consumers wait. Each item counts as unfinished from its
//! put until a consumer calls `task_done` for it, and `join` waits for that count to
//! reach zero. Python 3.13's `shutdown` ends it all.
//!
//! ```text
//!          put ─► full? ─yes─► putters line (the item waits in the line with it)
//!                   │ no                         │ a get frees a slot: admit the
//!                   ▼                            ▼ front putter's item
//!   deliver(item) ─► a getter waiting? ─yes─► hand the item to the front getter and
//!                   │ no                      wake it ("in flight")
//!                   ▼
//!            items (VecDeque) ─► get / get_nowait pop the front
//!
//!   get dropped while its item is in flight ─► the item goes to the next getter,
//!                                              or back to the front of `items`
//!   put dropped while waiting                ─► it leaves the line with its item:
//!                                              it never took a slot
//! ```
//!
//! # Ground rules
//! - Strictly first in, first out among waiters: a getter that waits is handed items
//!   in the order it lined up, and a newcomer never snatches an item handed to
//!   someone in line (so getters waiting ⇒ `items` is empty); putters waiting ⇒ the
//!   queue is full, and freed slots go to the front putter.
//! - `qsize = items.len() + in_flight`: an item handed to a woken getter is still in
//!   the queue until that getter runs. `qsize <= maxsize` always (for a bounded
//!   queue). One consequence: while every item is in flight, `qsize()` is non-zero
//!   and yet `get_nowait` fails with `Empty`: those items are promised.
//! - Nothing is lost: every item put is either got exactly once, in the queue, in
//!   flight, or was removed by `shutdown(true)`; a dropped `put` never took a slot.
//! - `unfinished` grows by one per item that enters the queue and shrinks by
//!   `task_done` (and by `shutdown(true)` for each item it removes). When it reaches
//!   zero every `join` waiting then returns, as an asyncio `Event` would.
//! - Items are dropped and wakers woken only after the `RefCell` borrow ends: both
//!   run foreign code.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::wait_list::{WaitList, Waiter, Wakeups};

/// A first-in, first-out queue for tasks: asyncio.Queue, with Python 3.13's
/// `shutdown`. A `Queue` is a handle: clones share one queue.
///
/// asyncio equivalent: `asyncio.Queue(maxsize)`.
/// tokio equivalent: `tokio::sync::mpsc::channel` (bounded) for put/get, though tokio
/// has no `task_done`/`join`; the closest is a channel plus a counter.
///
/// ```
/// use patterns::Queue;
///
/// let mut rt = executor::Runtime::new().unwrap();
/// let total = rt.block_on(async {
///     let queue = Queue::new(2);
///     let consumer = executor::spawn({
///         let queue = queue.clone();
///         async move {
///             let mut total = 0;
///             while let Ok(n) = queue.get().await {
///                 total += n;
///                 queue.task_done().unwrap();
///             }
///             total
///         }
///     });
///     for n in 1..=10 {
///         queue.put(n).await.unwrap(); // waits while 2 items are queued
///     }
///     queue.join().await; // every item got and marked done
///     queue.shutdown(false); // the consumer's next get fails: it returns
///     consumer.await.unwrap()
/// });
/// assert_eq!(total, 55);
/// ```
pub struct Queue<T> {
    inner: Rc<RefCell<Inner<T>>>,
}

struct Inner<T> {
    /// Items nobody has been promised yet, oldest first.
    items: VecDeque<T>,
    /// Items handed to woken getters that have not run yet.
    in_flight: usize,
    /// 0 means unbounded.
    maxsize: usize,
    getters: WaitList<GetSlot<T>>,
    putters: WaitList<PutSlot<T>>,
    /// Each `join` waiting; its slot is `true` once unfinished reached zero.
    joiners: WaitList<bool>,
    /// Items that entered the queue and have not been marked done.
    unfinished: usize,
    shut_down: bool,
    /// Set by `shutdown(true)`: any item in flight then is discarded by its getter.
    emptied: bool,
}

/// What a waiting getter has been given.
enum GetSlot<T> {
    Waiting,
    Handed(T),
}

/// A waiting putter's item, until a slot frees.
enum PutSlot<T> {
    Waiting(T),
    Admitted,
}

// === impl Queue ===

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items; `0` means unbounded.
    ///
    /// asyncio equivalent: `asyncio.Queue(maxsize=0)`.
    /// tokio equivalent: `tokio::sync::mpsc::channel(maxsize)` /
    /// `unbounded_channel()`.
    ///
    /// ```
    /// let queue: patterns::Queue<u8> = patterns::Queue::new(0);
    /// assert_eq!(queue.maxsize(), 0);
    /// assert!(!queue.full()); // unbounded: never full
    /// ```
    pub fn new(maxsize: usize) -> Queue<T> {
        Queue {
            inner: Rc::new(RefCell::new(Inner {
                items: VecDeque::new(),
                in_flight: 0,
                maxsize,
                getters: WaitList::new(),
                putters: WaitList::new(),
                joiners: WaitList::new(),
                unfinished: 0,
                shut_down: false,
                emptied: false,
            })),
        }
    }

    /// Puts `item` at the back, waiting while the queue is full (in line with other
    /// waiting putters). Dropping the future before it completes takes the item back
    /// out of the line: it never took a slot.
    ///
    /// asyncio equivalent: `await queue.put(item)`.
    /// tokio equivalent: `tokio::sync::mpsc::Sender::send`.
    ///
    /// # Errors
    /// [`QueueShutDown`] with the item, if the queue is shut down before or while
    /// waiting.
    ///
    /// ```
    /// let queue = patterns::Queue::new(1);
    /// executor::block_on(async {
    ///     queue.put("a").await.unwrap();
    ///     assert!(queue.full());
    /// });
    /// ```
    pub fn put(&self, item: T) -> Put<'_, T> {
        Put {
            queue: self,
            step: PutStep::Start(item),
        }
    }

    /// Puts `item` at the back if there is room now.
    ///
    /// asyncio equivalent: `queue.put_nowait(item)`.
    /// tokio equivalent: `tokio::sync::mpsc::Sender::try_send`.
    ///
    /// # Errors
    /// [`PutNowaitError::Full`] or [`PutNowaitError::ShutDown`], each giving the item
    /// back.
    ///
    /// ```
    /// use patterns::{PutNowaitError, Queue};
    ///
    /// let queue = Queue::new(1);
    /// queue.put_nowait(1).unwrap();
    /// assert!(matches!(queue.put_nowait(2), Err(PutNowaitError::Full(2))));
    /// ```
    pub fn put_nowait(&self, item: T) -> Result<(), PutNowaitError<T>> {
        let mut wakeups = Wakeups::default();
        let result = self.inner.borrow_mut().put_nowait(item, &mut wakeups);
        wakeups.wake_all();
        result
    }

    /// Removes and returns the front item, waiting while the queue is empty (in line
    /// with other waiting getters). Dropping the future after an item was handed to
    /// it passes the item on: to the next getter in line, or back to the front.
    ///
    /// asyncio equivalent: `await queue.get()`.
    /// tokio equivalent: `tokio::sync::mpsc::Receiver::recv`.
    ///
    /// # Errors
    /// [`QueueShutDown`] if the queue is shut down and has nothing left for this get.
    ///
    /// ```
    /// let queue = patterns::Queue::new(0);
    /// queue.put_nowait('x').unwrap();
    /// assert_eq!(executor::block_on(queue.get()), Ok('x'));
    /// ```
    pub fn get(&self) -> Get<'_, T> {
        Get {
            queue: self,
            step: GetStep::Start,
        }
    }

    /// Removes and returns the front item if one is there and not promised to a
    /// waiting getter.
    ///
    /// asyncio equivalent: `queue.get_nowait()`.
    /// tokio equivalent: `tokio::sync::mpsc::Receiver::try_recv`.
    ///
    /// # Errors
    /// [`GetNowaitError::Empty`], or [`GetNowaitError::ShutDown`] once the queue is
    /// shut down and drained.
    ///
    /// ```
    /// use patterns::{GetNowaitError, Queue};
    ///
    /// let queue = Queue::new(0);
    /// assert_eq!(queue.get_nowait(), Err::<u8, _>(GetNowaitError::Empty));
    /// ```
    pub fn get_nowait(&self) -> Result<T, GetNowaitError> {
        let mut wakeups = Wakeups::default();
        let result = self.inner.borrow_mut().get_nowait(&mut wakeups);
        wakeups.wake_all();
        result
    }

    /// Marks one item as processed. When every item put has been marked, `join`
    /// returns.
    ///
    /// asyncio equivalent: `queue.task_done()`.
    /// tokio equivalent: none.
    ///
    /// # Errors
    /// [`TaskDoneError`] if called more times than items entered the queue (asyncio
    /// raises `ValueError`). The count is left alone.
    ///
    /// ```
    /// let queue = patterns::Queue::new(0);
    /// queue.put_nowait(1).unwrap();
    /// queue.get_nowait().unwrap();
    /// assert!(queue.task_done().is_ok());
    /// assert!(queue.task_done().is_err()); // one item, two task_done calls
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut wakeups = Wakeups::default();
        let result = {
            let mut inner = self.inner.borrow_mut();
            match inner.unfinished {
                0 => Err(TaskDoneError(())),
                _ => {
                    inner.finish(1, &mut wakeups);
                    Ok(())
                }
            }
        };
        wakeups.wake_all();
        result
    }

    /// Waits until every item that entered the queue has been marked done with
    /// [`task_done`](Self::task_done). Returns at once if none is unfinished.
    ///
    /// asyncio equivalent: `await queue.join()`.
    /// tokio equivalent: none (a `tokio_util::task::TaskTracker` is the closest).
    ///
    /// ```
    /// let queue = patterns::Queue::new(0);
    /// queue.put_nowait("job").unwrap();
    /// executor::block_on(async {
    ///     let worker = executor::spawn({
    ///         let queue = queue.clone();
    ///         async move {
    ///             queue.get().await.unwrap();
    ///             queue.task_done().unwrap();
    ///         }
    ///     });
    ///     queue.join().await;
    ///     assert!(worker.is_finished());
    /// });
    /// ```
    pub fn join(&self) -> Join<'_, T> {
        Join {
            queue: self,
            step: JoinStep::Start,
        }
    }

    /// Shuts the queue down (Python 3.13): every later put fails, waiting putters fail
    /// with their items back, and waiting getters fail. With `immediate = false`,
    /// gets go on draining what is left, then fail. With `immediate = true`, the
    /// items left (including any handed to a getter that has not run yet) are
    /// removed and count as done, so a `join` returns once the items already got
    /// are marked done.
    ///
    /// asyncio equivalent: `queue.shutdown(immediate=False)`.
    /// tokio equivalent: `tokio::sync::mpsc::Receiver::close` (for `false`).
    ///
    /// ```
    /// let queue = patterns::Queue::new(0);
    /// queue.put_nowait(1).unwrap();
    /// queue.put_nowait(2).unwrap();
    /// queue.shutdown(false);
    /// assert!(queue.put_nowait(3).is_err());
    /// assert_eq!(queue.get_nowait(), Ok(1)); // draining still works
    /// queue.shutdown(true);
    /// assert_eq!(queue.qsize(), 0); // item 2 was removed...
    /// queue.task_done().unwrap(); // ...and counts as done: only item 1 was open
    /// executor::block_on(queue.join());
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        let mut wakeups = Wakeups::default();
        let removed = self.inner.borrow_mut().shutdown(immediate, &mut wakeups);
        wakeups.wake_all();
        drop(removed);
    }

    /// How many items are in the queue (including any handed to a waiting getter
    /// that has not run yet).
    ///
    /// asyncio equivalent: `queue.qsize()`.
    /// tokio equivalent: `tokio::sync::mpsc::Sender::max_capacity() - capacity()`.
    ///
    /// ```
    /// let queue = patterns::Queue::new(0);
    /// queue.put_nowait(()).unwrap();
    /// assert_eq!(queue.qsize(), 1);
    /// ```
    pub fn qsize(&self) -> usize {
        self.inner.borrow().qsize()
    }

    /// True if `qsize() == 0`.
    ///
    /// asyncio equivalent: `queue.empty()`.
    /// tokio equivalent: `tokio::sync::mpsc::Receiver::is_empty`.
    ///
    /// ```
    /// assert!(patterns::Queue::<i32>::new(0).empty());
    /// ```
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// True if the queue is bounded and holds `maxsize` items: a put would wait.
    ///
    /// asyncio equivalent: `queue.full()`.
    /// tokio equivalent: `tokio::sync::mpsc::Sender::capacity() == 0`.
    ///
    /// ```
    /// let queue = patterns::Queue::new(1);
    /// queue.put_nowait(1).unwrap();
    /// assert!(queue.full());
    /// ```
    pub fn full(&self) -> bool {
        self.inner.borrow().is_full()
    }

    /// The bound given to [`Queue::new`] (0: unbounded).
    ///
    /// asyncio equivalent: `queue.maxsize`.
    /// tokio equivalent: `tokio::sync::mpsc::Sender::max_capacity`.
    ///
    /// ```
    /// assert_eq!(patterns::Queue::<()>::new(8).maxsize(), 8);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.inner.borrow().maxsize
    }
}

impl<T> Clone for Queue<T> {
    /// Another handle to the same queue.
    fn clone(&self) -> Queue<T> {
        Queue {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("Queue")
            .field("qsize", &inner.qsize())
            .field("maxsize", &inner.maxsize)
            .field("unfinished", &inner.unfinished)
            .field("getters_waiting", &inner.getters.len())
            .field("putters_waiting", &inner.putters.len())
            .field("shut_down", &inner.shut_down)
            .finish()
    }
}

// === impl Inner ===

impl<T> Inner<T> {
    fn qsize(&self) -> usize {
        self.items.len() + self.in_flight
    }

    fn is_full(&self) -> bool {
        self.maxsize > 0 && self.qsize() >= self.maxsize
    }

    fn put_nowait(&mut self, item: T, wakeups: &mut Wakeups) -> Result<(), PutNowaitError<T>> {
        if self.shut_down {
            return Err(PutNowaitError::ShutDown(item));
        }
        if self.is_full() {
            return Err(PutNowaitError::Full(item));
        }
        self.unfinished += 1;
        self.deliver(item, wakeups);
        Ok(())
    }

    fn get_nowait(&mut self, wakeups: &mut Wakeups) -> Result<T, GetNowaitError> {
        match self.items.pop_front() {
            Some(item) => {
                self.admit_putters(wakeups);
                Ok(item)
            }
            None if self.shut_down => Err(GetNowaitError::ShutDown),
            None => Err(GetNowaitError::Empty),
        }
    }

    /// A new item enters the queue: straight to the front waiting getter, if any.
    fn deliver(&mut self, item: T, wakeups: &mut Wakeups) {
        match self.getters.pop_front() {
            Some(getter) => {
                *getter.state() = GetSlot::Handed(item);
                self.in_flight += 1;
                wakeups.add(&getter);
            }
            None => self.items.push_back(item),
        }
    }

    /// Slots are free: let the front putters' items in.
    fn admit_putters(&mut self, wakeups: &mut Wakeups) {
        while !self.is_full() {
            let Some(putter) = self.putters.pop_front() else {
                return;
            };
            let slot = std::mem::replace(&mut *putter.state(), PutSlot::Admitted);
            if let PutSlot::Waiting(item) = slot {
                self.unfinished += 1;
                self.deliver(item, wakeups);
            }
            wakeups.add(&putter);
        }
    }

    /// `done` items were marked done (or removed by `shutdown(true)`).
    fn finish(&mut self, done: usize, wakeups: &mut Wakeups) {
        self.unfinished = self.unfinished.saturating_sub(done);
        if self.unfinished == 0 {
            for joiner in self.joiners.drain() {
                *joiner.state() = true;
                wakeups.add(&joiner);
            }
        }
    }

    /// See [`Queue::shutdown`]. Returns the removed items, to be dropped after the
    /// borrow ends.
    fn shutdown(&mut self, immediate: bool, wakeups: &mut Wakeups) -> VecDeque<T> {
        self.shut_down = true;
        let mut removed = VecDeque::new();
        if immediate {
            removed = std::mem::take(&mut self.items);
            let count = removed.len() + self.in_flight;
            self.in_flight = 0;
            self.emptied = true;
            self.finish(count, wakeups);
        }
        for getter in self.getters.drain() {
            wakeups.add(&getter);
        }
        for putter in self.putters.drain() {
            wakeups.add(&putter);
        }
        removed
    }
}

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
}

enum PutStep<T> {
    Start(T),
    Waiting(Rc<Waiter<PutSlot<T>>>),
    Done,
}

// The item is moved, never pinned, so `Put` may move even if `T` may not.
impl<T> Unpin for Put<'_, T> {}

impl<T> Future for Put<'_, T> {
    type Output = Result<(), QueueShutDown<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut wakeups = Wakeups::default();
        let poll = match std::mem::replace(&mut this.step, PutStep::Done) {
            PutStep::Start(item) => {
                let mut inner = this.queue.inner.borrow_mut();
                if !inner.shut_down && inner.is_full() {
                    this.step = PutStep::Waiting(
                        inner.putters.push_back(PutSlot::Waiting(item), cx.waker()),
                    );
                    // Pending: a get that frees a slot admits us and wakes us, or
                    // shutdown wakes us to fail.
                    Poll::Pending
                } else {
                    let result = inner.put_nowait(item, &mut wakeups);
                    Poll::Ready(result.map_err(|error| QueueShutDown(error.into_inner())))
                }
            }
            PutStep::Waiting(putter) => {
                let mut slot = putter.state();
                match &*slot {
                    PutSlot::Admitted => Poll::Ready(Ok(())),
                    PutSlot::Waiting(_) if this.queue.inner.borrow().shut_down => {
                        match std::mem::replace(&mut *slot, PutSlot::Admitted) {
                            PutSlot::Waiting(item) => Poll::Ready(Err(QueueShutDown(item))),
                            PutSlot::Admitted => unreachable!("matched Waiting above"),
                        }
                    }
                    PutSlot::Waiting(_) => {
                        drop(slot);
                        putter.set_waker(cx.waker());
                        this.step = PutStep::Waiting(putter);
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
        if let PutStep::Waiting(putter) = &self.step {
            // Leave the line; our item is dropped with `putter` (after the borrow).
            // If we were admitted already, the item is in the queue: nothing to do.
            self.queue.inner.borrow_mut().putters.remove(putter);
        }
    }
}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.step {
            PutStep::Start(_) => "start",
            PutStep::Waiting(_) => "waiting",
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
}

enum GetStep<T> {
    Start,
    Waiting(Rc<Waiter<GetSlot<T>>>),
    Done,
}

impl<T> Future for Get<'_, T> {
    type Output = Result<T, QueueShutDown>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut wakeups = Wakeups::default();
        let mut discarded = None;
        let poll = match std::mem::replace(&mut this.step, GetStep::Done) {
            GetStep::Start => {
                let mut inner = this.queue.inner.borrow_mut();
                match inner.get_nowait(&mut wakeups) {
                    Ok(item) => Poll::Ready(Ok(item)),
                    Err(GetNowaitError::ShutDown) => Poll::Ready(Err(QueueShutDown(()))),
                    Err(GetNowaitError::Empty) => {
                        this.step =
                            GetStep::Waiting(inner.getters.push_back(GetSlot::Waiting, cx.waker()));
                        // Pending: a put hands us an item and wakes us, or shutdown
                        // wakes us to fail.
                        Poll::Pending
                    }
                }
            }
            GetStep::Waiting(getter) => {
                let mut inner = this.queue.inner.borrow_mut();
                let slot = std::mem::replace(&mut *getter.state(), GetSlot::Waiting);
                match slot {
                    GetSlot::Handed(item) if inner.emptied => {
                        // shutdown(true) removed it (and counted it done) while it
                        // was in flight to us.
                        discarded = Some(item);
                        Poll::Ready(Err(QueueShutDown(())))
                    }
                    GetSlot::Handed(item) => {
                        inner.in_flight -= 1;
                        inner.admit_putters(&mut wakeups);
                        Poll::Ready(Ok(item))
                    }
                    GetSlot::Waiting if inner.shut_down => Poll::Ready(Err(QueueShutDown(()))),
                    GetSlot::Waiting => {
                        getter.set_waker(cx.waker());
                        this.step = GetStep::Waiting(getter);
                        // Pending: still in line; a put or shutdown wakes us.
                        Poll::Pending
                    }
                }
            }
            GetStep::Done => panic!("Get polled after it already returned its output"),
        };
        wakeups.wake_all();
        drop(discarded);
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
        let discarded = {
            let mut inner = self.queue.inner.borrow_mut();
            match slot {
                GetSlot::Waiting => {
                    inner.getters.remove(getter);
                    None
                }
                GetSlot::Handed(item) if inner.emptied => Some(item),
                GetSlot::Handed(item) => {
                    // We were woken with an item but will never run: pass it on. It
                    // is the oldest item around, so it goes to the next getter in
                    // line, or back to the front.
                    inner.in_flight -= 1;
                    match inner.getters.is_empty() {
                        true => inner.items.push_front(item),
                        false => inner.deliver(item, &mut wakeups),
                    }
                    None
                }
            }
        };
        wakeups.wake_all();
        drop(discarded);
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
}

enum JoinStep {
    Start,
    Waiting(Rc<Waiter<bool>>),
    Done,
}

impl<T> Future for Join<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match &this.step {
            JoinStep::Start => {
                let mut inner = this.queue.inner.borrow_mut();
                if inner.unfinished == 0 {
                    this.step = JoinStep::Done;
                    return Poll::Ready(());
                }
                this.step = JoinStep::Waiting(inner.joiners.push_back(false, cx.waker()));
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

// === errors ===

/// The error of [`Queue::put`] and [`Queue::get`]: the queue was shut down. A put
/// gets its item back in the field; a get's field is `()`.
///
/// asyncio equivalent: `asyncio.QueueShutDown` (Python 3.13).
/// tokio equivalent: `tokio::sync::mpsc::error::SendError` (which also carries the
/// value back).
///
/// ```
/// use patterns::{Queue, QueueShutDown};
///
/// let queue = Queue::new(0);
/// queue.shutdown(false);
/// let refused = executor::block_on(queue.put("letter"));
/// assert_eq!(refused, Err(QueueShutDown("letter")));
/// assert_eq!(executor::block_on(queue.get()), Err(QueueShutDown(())));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> QueueShutDown<T> {
    /// The item that was refused.
    ///
    /// asyncio equivalent: none (the item is simply not queued).
    /// tokio equivalent: `SendError`'s field `.0`.
    ///
    /// ```
    /// assert_eq!(patterns::QueueShutDown(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueShutDown(..)")
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl<T> std::error::Error for QueueShutDown<T> {}

/// The error of [`Queue::put_nowait`]. Either way the item comes back.
///
/// asyncio equivalent: `asyncio.QueueFull` / `asyncio.QueueShutDown`.
/// tokio equivalent: `tokio::sync::mpsc::error::TrySendError`.
///
/// ```
/// use patterns::{PutNowaitError, Queue};
///
/// let queue = Queue::new(1);
/// queue.put_nowait("first").unwrap();
/// let err = queue.put_nowait("second").unwrap_err();
/// assert!(matches!(err, PutNowaitError::Full(_)));
/// assert_eq!(err.into_inner(), "second");
/// ```
#[doc(alias = "QueueFull")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutNowaitError<T> {
    /// The queue holds `maxsize` items (asyncio's `QueueFull`).
    Full(T),
    /// The queue was shut down (asyncio's `QueueShutDown`).
    ShutDown(T),
}

impl<T> PutNowaitError<T> {
    /// The item that was refused.
    ///
    /// asyncio equivalent: none (the item is simply not queued).
    /// tokio equivalent: `TrySendError::into_inner`.
    ///
    /// ```
    /// assert_eq!(patterns::PutNowaitError::Full('q').into_inner(), 'q');
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutNowaitError::Full(item) | PutNowaitError::ShutDown(item) => item,
        }
    }
}

impl<T> fmt::Debug for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(_) => f.write_str("Full(..)"),
            PutNowaitError::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for PutNowaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutNowaitError::Full(_) => f.write_str("queue is full"),
            PutNowaitError::ShutDown(_) => f.write_str("queue is shut down"),
        }
    }
}

impl<T> std::error::Error for PutNowaitError<T> {}

/// The error of [`Queue::get_nowait`].
///
/// asyncio equivalent: `asyncio.QueueEmpty` / `asyncio.QueueShutDown`.
/// tokio equivalent: `tokio::sync::mpsc::error::TryRecvError`.
///
/// ```
/// use patterns::{GetNowaitError, Queue};
///
/// let queue = Queue::<u8>::new(0);
/// assert_eq!(queue.get_nowait().unwrap_err(), GetNowaitError::Empty);
/// queue.shutdown(false);
/// assert_eq!(queue.get_nowait().unwrap_err(), GetNowaitError::ShutDown);
/// ```
#[doc(alias = "QueueEmpty")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetNowaitError {
    /// Nothing to get now (asyncio's `QueueEmpty`).
    Empty,
    /// Shut down and drained (asyncio's `QueueShutDown`).
    ShutDown,
}

impl fmt::Display for GetNowaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetNowaitError::Empty => f.write_str("queue is empty"),
            GetNowaitError::ShutDown => f.write_str("queue is shut down"),
        }
    }
}

impl std::error::Error for GetNowaitError {}

/// The error of [`Queue::task_done`] called more times than items entered the queue.
///
/// asyncio equivalent: `ValueError('task_done() called too many times')`.
/// tokio equivalent: none.
///
/// ```
/// let queue = patterns::Queue::<()>::new(0);
/// let err = queue.task_done().unwrap_err();
/// assert_eq!(err.to_string(), "task_done() called more times than items were put");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError(());

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than items were put")
    }
}

impl std::error::Error for TaskDoneError {}
