//! `Queue`: asyncio.Queue, for producers and consumers.
//!
//! Producers `put`, consumers `get`; a bounded queue makes producers wait when it is
//! full, an empty one makes consumers wait. Each item counts as unfinished from its
//! put until a consumer calls `task_done` for it, and `join` waits for that count to
//! reach zero. Python 3.13's `shutdown` ends it all.
//!
//! ```text
//!   put ─► a free slot, and no putter ahead? ─no─► putters line (the item stays
//!            │ yes                                  │ with its put)
//!            │                 a get frees a slot:  ▼ reserve it for the front
//!            │                 putter and wake it ("reserved")
//!            │                                      │ that putter runs
//!            ▼                                      ▼
//!   enter(item) ─► a getter waiting? ─yes─► hand the item to the front getter and
//!            │ no                      wake it ("in flight")
//!            ▼
//!     items (VecDeque) ─► get / get_nowait pop the front: a slot frees
//!
//!   get dropped while its item is in flight ─► the item goes to the next getter,
//!                                              or back to the front of `items`
//!   put dropped while waiting in line         ─► it leaves the line: it never put
//!   put dropped while its slot is reserved    ─► the slot goes to the next putter in
//!                                              line, or is free again: it never put
//! ```
//!
//! # Why a freed slot is reserved, not filled
//! The first version put the front putter's item straight into the slot a get freed.
//! But that putter had not run yet, and a task can be cancelled between its wake and
//! its next poll. Its `JoinHandle` then said "cancelled" while its item sat in the
//! queue, counted by `join`, and a fresh put waited for a slot the cancelled one had
//! filled. asyncio and tokio both promise that a cancelled put did not put. So a
//! freed slot is only *reserved* for the putter: its item goes in when it runs, and
//! a putter dropped before that hands the reservation on. The getter side needs no
//! such step: an item handed to a getter that is dropped before it runs is passed
//! on, and a get that did not return took nothing.
//!
//! # Ground rules
//! - Strictly first in, first out among waiters. A getter that waits is handed items
//!   in the order it lined up, and a newcomer never snatches an item handed to
//!   someone in line (so getters waiting ⇒ `items` is empty). Freed slots are
//!   reserved for putters in the order they lined up, and no put passes a
//!   reservation: while one is outstanding a newcomer lines up even beside a free
//!   slot (`put_nowait` says `Full`), so putters waiting ⇒ the queue is `full()`.
//!   The newcomer gets that slot when the reservation ahead is used or dropped,
//!   never in its own poll (which could use it at once, before the putters ahead
//!   run). Reserved putters are woken in line order and the loop runs woken tasks
//!   in wake order, so items go in in the order their puts were offered. A reserved
//!   putter puts whatever its task's coop budget says (`futures.rs`): cut off, it
//!   would let a later reservation's item in first.
//! - `qsize = items.len() + handed.len()` (the items in flight) counts items, not
//!   reservations (as asyncio).
//!   An item handed to a woken getter is still in the queue until that getter runs.
//!   For a bounded queue `qsize + reserved <= maxsize` always. Two consequences:
//!   while every item is in flight, `qsize()` is non-zero yet `get_nowait` fails with
//!   `Empty` (those items are promised); while a slot is reserved, `full()` is true
//!   though `qsize() < maxsize` (a put would wait). asyncio's `full()` is only
//!   `qsize() >= maxsize`, because its woken putter does not hold the slot: a
//!   `put_nowait` may take it first.
//! - Nothing is lost: every item put is either got exactly once, in the queue, in
//!   flight, or was removed by `shutdown(true)`. A put that did not return `Ok`
//!   never put, and holds no slot once it is gone.
//! - `unfinished` grows by one per item that enters the queue and shrinks by
//!   `task_done` (and by `shutdown(true)` for each item it removes). When it reaches
//!   zero every `join` waiting then returns, as an asyncio `Event` would. A
//!   reservation is not an item: it is not counted.
//! - After `shutdown`, every put fails, a reserved one too (its item never enters;
//!   the reservation lapses). Gets go on draining what is queued, and every getter
//!   woken before or by the shutdown does too when it runs: `shutdown` takes each
//!   item in flight back to the front, oldest first, so whichever getter runs first
//!   takes it (as in CPython 3.13, where items stay in the queue until a getter
//!   runs). Before, a getter woken by the shutdown that ran before the getter an
//!   item was handed to found nothing: the explorer found that (issue 31).
//! - Items are dropped and wakers woken only after the `RefCell` borrow ends: both
//!   run foreign code.
//!
//! This file holds the queue's shared state and the non-waiting operations;
//! `queue/futures.rs` the futures that wait (`Put`, `Get`, `Join`);
//! `queue/error.rs` the errors.

mod error;
mod futures;

pub use error::{GetNowaitError, PutNowaitError, QueueShutDown, TaskDoneError};
pub use futures::{Get, Join, Put};

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

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
    /// The getters handed an item (in hand-over order) that have not run yet: their
    /// items are in flight. Kept so that `shutdown` can take those items back.
    handed: VecDeque<Rc<Waiter<GetSlot<T>>>>,
    /// 0 means unbounded.
    maxsize: usize,
    /// Slots reserved for putters woken to put, that have not run yet.
    reserved: usize,
    getters: WaitList<GetSlot<T>>,
    putters: WaitList<PutSlot>,
    /// Each `join` waiting; its slot is `true` once unfinished reached zero.
    joiners: WaitList<bool>,
    /// Items that entered the queue and have not been marked done.
    unfinished: usize,
    shut_down: bool,
}

/// What a waiting getter has been given.
enum GetSlot<T> {
    Waiting,
    Handed(T),
}

/// Where a waiting putter stands. Its item stays in its `Put` until it enters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PutSlot {
    /// In line.
    Waiting,
    /// Out of the line: a slot is reserved for it, and it has been woken to fill it.
    Reserved,
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
                handed: VecDeque::new(),
                reserved: 0,
                maxsize,
                getters: WaitList::new(),
                putters: WaitList::new(),
                joiners: WaitList::new(),
                unfinished: 0,
                shut_down: false,
            })),
        }
    }

    /// Puts `item` at the back, waiting while the queue is full (in line with other
    /// waiting putters). When a slot frees, it is reserved for the putter at the
    /// front of the line, whose item goes in when it next runs. Dropping the future
    /// before it completes means it did not put: it leaves the line, or hands its
    /// reservation to the next putter, and its item is dropped with it.
    ///
    /// asyncio equivalent: `await queue.put(item)`.
    /// tokio equivalent: `tokio::sync::mpsc::Sender::send`.
    ///
    /// # Errors
    /// [`QueueShutDown`] with the item, if the queue is shut down before it went in
    /// (while waiting in line, or holding a reservation).
    ///
    /// ```
    /// let queue = patterns::Queue::new(1);
    /// executor::block_on(async {
    ///     queue.put("a").await.unwrap();
    ///     assert!(queue.full());
    /// });
    /// ```
    #[track_caller]
    pub fn put(&self, item: T) -> Put<'_, T> {
        Put::new(self, item, Location::caller())
    }

    /// Puts `item` at the back if there is room now. A slot reserved for a putter
    /// that was woken to fill it is not room: nobody passes a waiting putter.
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
    #[track_caller]
    pub fn get(&self) -> Get<'_, T> {
        Get::new(self, Location::caller())
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
                0 => Err(TaskDoneError::new()),
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
    #[track_caller]
    pub fn join(&self) -> Join<'_, T> {
        Join::new(self, Location::caller())
    }

    /// Shuts the queue down (Python 3.13): every later put fails, and waiting
    /// putters fail with their items back (one a slot was reserved for as well).
    /// Waiting getters are woken. With `immediate = false`, gets go on draining what
    /// is left, then fail; a woken getter drains too, so an item handed to a getter
    /// that is cancelled before it runs reaches one of them. With `immediate = true`,
    /// the items left (including any handed to a getter that has not run yet) are
    /// removed and count as done, so a `join` returns once the items already got are
    /// marked done.
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
    /// that has not run yet). A slot reserved for a putter that has not run yet is
    /// not counted: its item is not in.
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

    /// True if a put would wait: the queue is bounded and holds `maxsize` items, or
    /// a freed slot is reserved for a putter that has not run yet (nobody passes it;
    /// see the module's ground rules).
    ///
    /// asyncio equivalent: `queue.full()` (which is `qsize() >= maxsize` only).
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
            .field("reserved", &inner.reserved)
            .field("shut_down", &inner.shut_down)
            .finish()
    }
}

// === impl Inner ===

impl<T> Inner<T> {
    fn qsize(&self) -> usize {
        self.items.len() + self.handed.len()
    }

    /// A put would have to wait: no free slot, or a reservation it must not pass.
    fn is_full(&self) -> bool {
        self.maxsize > 0 && (self.reserved > 0 || self.qsize() >= self.maxsize)
    }

    fn put_nowait(&mut self, item: T, wakeups: &mut Wakeups) -> Result<(), PutNowaitError<T>> {
        if self.shut_down {
            return Err(PutNowaitError::ShutDown(item));
        }
        if self.is_full() {
            return Err(PutNowaitError::Full(item));
        }
        self.enter(item, wakeups);
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

    /// A new item enters the queue: it counts as unfinished until its `task_done`.
    fn enter(&mut self, item: T, wakeups: &mut Wakeups) {
        self.unfinished += 1;
        self.deliver(item, wakeups);
    }

    /// An item goes to the front waiting getter, if any, else to the back of `items`.
    fn deliver(&mut self, item: T, wakeups: &mut Wakeups) {
        match self.getters.pop_front() {
            Some(getter) => {
                *getter.state() = GetSlot::Handed(item);
                wakeups.add(&getter);
                self.handed.push_back(getter);
            }
            None => self.items.push_back(item),
        }
    }

    /// `getter` ran (or was dropped) holding the item it was handed: it is no longer
    /// in flight. Getters usually run in the order they were handed items, so the
    /// search from the front ends at once.
    fn took_handed(&mut self, getter: &Rc<Waiter<GetSlot<T>>>) {
        if let Some(at) = self.handed.iter().position(|g| Rc::ptr_eq(g, getter)) {
            self.handed.remove(at);
        }
    }

    /// Slots nobody has a claim on: reserve them for the front putters, and wake
    /// those to come and fill them.
    fn admit_putters(&mut self, wakeups: &mut Wakeups) {
        while self.maxsize == 0 || self.qsize() + self.reserved < self.maxsize {
            let Some(putter) = self.putters.pop_front() else {
                return;
            };
            *putter.state() = PutSlot::Reserved;
            self.reserved += 1;
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
        // Items in flight come back to the front, oldest first: every getter that
        // runs from now on drains the queue (see the ground rules).
        for getter in self.handed.drain(..).rev() {
            if let GetSlot::Handed(item) = std::mem::replace(&mut *getter.state(), GetSlot::Waiting)
            {
                self.items.push_front(item);
            }
        }
        let mut removed = VecDeque::new();
        if immediate {
            removed = std::mem::take(&mut self.items);
            self.finish(removed.len(), wakeups);
        }
        for getter in self.getters.drain() {
            wakeups.add(&getter);
        }
        // Reserved putters are out of the line already; they fail when they run.
        for putter in self.putters.drain() {
            wakeups.add(&putter);
        }
        removed
    }
}
