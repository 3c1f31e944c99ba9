//! `Semaphore`: at most N at once. The asyncio lesson's rate limiter.
//!
//! A semaphore holds a count of permits. [`Semaphore::acquire`] takes one (or
//! [`acquire_many`](Semaphore::acquire_many) takes several), waiting in line if too
//! few are free; dropping the [`Permit`] gives them back, and they go to the front of
//! the line first.
//!
//! ```text
//! acquire_many(n), first poll ─► closed? ─► Err(AcquireError)
//!     │ line empty and n free: take them ─► Ready(Permit)
//!     │ otherwise: take what is free *if the line is empty*, join the line
//!     ▼
//! WaitList of Request { wanted, assigned } ─► Pending
//!     ▲
//!     │ release(k) (a Permit dropped, add_permits): fill the front request; once it
//!     │ has all it wanted, pop it and wake it; go on with the next; what is left
//!     │ over becomes `available`
//!     ▼
//! next poll ─► assigned == wanted ─► Ready(Permit)
//! dropped while waiting ─► leave the line, release(assigned): nothing is lost, and
//!                          the next in line is served
//! ```
//!
//! # Ground rules
//! - Strictly first come, first served: permits freed while anyone waits go to the
//!   front of the line, never to a newcomer. So while the line is non-empty,
//!   `available` is 0, and a large request at the front holds back later small ones
//!   (nobody starves), as in tokio.
//! - Conservation: total = available + permits held by `Permit`s + permits assigned
//!   to waiters. The total changes only through `add_permits` (up) and
//!   `Permit::forget` (down), and never exceeds [`Semaphore::MAX_PERMITS`].
//! - A request fully assigned is out of the line; its future turns it into a
//!   `Permit` on its next poll, or gives it all back if dropped first.
//! - Once closed, no request joins the line and every waiter has been woken; the
//!   stored wakers were taken (and so dropped) by `close`.

use std::cell::{RefCell, RefMut};
use std::fmt;
use std::panic::Location;

use crate::wait_list::{WaitList, Wakeups};

mod acquire;
mod error;

pub use acquire::Acquire;
pub use error::{AcquireError, TryAcquireError};

/// A count of permits with a first-in, first-out line of tasks waiting for them.
///
/// asyncio equivalent: `asyncio.Semaphore` (whose `async with sem:` is
/// `let _permit = sem.acquire().await?;` here: the permit needs a name, never `_`,
/// see [`Permit`]).
/// tokio equivalent: `tokio::sync::Semaphore`.
///
/// Share it between tasks with `Rc<Semaphore>`: everything runs on one thread.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use patterns::{Semaphore, join_all, sleep};
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// let most_at_once = rt.block_on(async {
///     let limit = Rc::new(Semaphore::new(3));
///     let (now, most) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
///     let requests = (0..10).map(|_| {
///         let (limit, now, most) = (limit.clone(), now.clone(), most.clone());
///         executor::spawn(async move {
///             let _permit = limit.acquire().await.unwrap();
///             now.set(now.get() + 1);
///             most.set(most.get().max(now.get()));
///             sleep(Duration::from_millis(100)).await; // the request
///             now.set(now.get() - 1);
///         })
///     });
///     join_all(requests).await;
///     most.get()
/// });
/// assert_eq!(most_at_once, 3);
/// ```
pub struct Semaphore {
    state: RefCell<State>,
}

struct State {
    /// Permits nobody holds or has been assigned. 0 while anyone waits.
    available: usize,
    /// Every permit the semaphore manages (see the conservation rule).
    total: usize,
    closed: bool,
    waiters: WaitList<Request>,
}

/// What a waiter asked for and what it has been given so far. Plain data (`Copy`), so
/// the wait list may keep a finished waiter's node for the next one.
#[derive(Clone, Copy)]
struct Request {
    wanted: u32,
    assigned: u32,
}

/// Permits taken from a [`Semaphore`], given back when dropped.
///
/// asyncio equivalent: being inside `async with sem:` (leaving the block releases).
/// tokio equivalent: `tokio::sync::SemaphorePermit`.
///
/// ```
/// use patterns::Semaphore;
///
/// let sem = Semaphore::new(2);
/// let permit = sem.try_acquire().unwrap();
/// assert_eq!(permit.num_permits(), 1);
/// assert_eq!(sem.available_permits(), 1);
/// drop(permit);
/// assert_eq!(sem.available_permits(), 2);
/// ```
///
/// # Hold it in a named binding: `let _permit`, never `let _`
///
/// `let _ = sem.acquire().await;` limits nothing. `_` is not a name: it binds
/// nothing, so the permit is dropped, and given back, at the end of that statement,
/// before the work it was meant to guard has begun; and `let _` silences the
/// `#[must_use]` warning. `examples/rate_limit.rs` written that way let all 100 of
/// its requests through at once. A name (`_permit` will do) keeps the permit to the
/// end of the block, where `async with` would leave:
///
/// ```
/// let sem = patterns::Semaphore::new(1);
/// executor::block_on(async {
///     let _ = sem.acquire().await; // the trap: given back at once
///     assert_eq!(sem.available_permits(), 1);
///
///     let _permit = sem.acquire().await; // held until the end of the block
///     assert_eq!(sem.available_permits(), 0);
/// });
/// ```
#[must_use = "the permits are released as soon as the Permit is dropped"]
pub struct Permit<'a> {
    semaphore: &'a Semaphore,
    permits: u32,
}

// === impl Semaphore ===

impl Semaphore {
    /// The most permits one semaphore can manage, in all: `usize::MAX >> 3`, as in
    /// tokio. `new` and `add_permits` panic past it.
    ///
    /// asyncio equivalent: none (Python integers do not overflow).
    /// tokio equivalent: `tokio::sync::Semaphore::MAX_PERMITS`.
    ///
    /// ```
    /// use std::panic::{AssertUnwindSafe, catch_unwind};
    /// use patterns::Semaphore;
    ///
    /// let sem = Semaphore::new(Semaphore::MAX_PERMITS); // the most it can hold
    /// assert!(catch_unwind(AssertUnwindSafe(|| sem.add_permits(1))).is_err());
    /// ```
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` permits.
    ///
    /// asyncio equivalent: `asyncio.Semaphore(value)`.
    /// tokio equivalent: `tokio::sync::Semaphore::new`.
    ///
    /// # Panics
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    ///
    /// ```
    /// let sem = patterns::Semaphore::new(10);
    /// assert_eq!(sem.available_permits(), 10);
    /// ```
    #[track_caller]
    pub fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Semaphore::MAX_PERMITS,
            "Semaphore::new: {permits} permits exceeds Semaphore::MAX_PERMITS ({})",
            Semaphore::MAX_PERMITS
        );
        Semaphore {
            state: RefCell::new(State {
                available: permits,
                total: permits,
                closed: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Waits for one permit. Fails only if the semaphore is closed (before or while
    /// waiting).
    ///
    /// asyncio equivalent: `await sem.acquire()` (or `async with sem:`).
    /// tokio equivalent: `tokio::sync::Semaphore::acquire`.
    ///
    /// Bind the [`Permit`] to a name for as long as the guarded work runs:
    /// `let _permit = sem.acquire().await?;`. With `let _ = ...` the permit is given
    /// back at the end of that statement, and the semaphore limits nothing.
    ///
    /// ```
    /// let sem = patterns::Semaphore::new(1);
    /// executor::block_on(async {
    ///     let permit = sem.acquire().await.unwrap();
    ///     assert!(sem.try_acquire().is_err()); // the only permit is taken
    ///     drop(permit);
    ///     assert!(sem.try_acquire().is_ok());
    /// });
    /// ```
    #[track_caller]
    #[inline] // the common case is a counter check: no call to make it
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits at once, in line with everyone else.
    ///
    /// asyncio equivalent: none (asyncio's semaphore counts one at a time).
    /// tokio equivalent: `tokio::sync::Semaphore::acquire_many`.
    ///
    /// The request keeps its place in line while permits trickle in, and it counts
    /// permits added later with [`add_permits`](Self::add_permits), so asking for more
    /// than exist right now waits rather than failing. While it waits at the front,
    /// later requests wait behind it, even small ones (first come, first served).
    /// `acquire_many(0)` succeeds at once with an empty permit (unless the semaphore
    /// is closed), as in tokio.
    ///
    /// # Panics
    /// If `n` exceeds [`Semaphore::MAX_PERMITS`] (possible only where `usize` is
    /// 32 bits): such a request could never be served.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use patterns::Semaphore;
    ///
    /// let mut rt = executor::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sem = Rc::new(Semaphore::new(1));
    ///     let big = executor::spawn({
    ///         let sem = sem.clone();
    ///         async move { sem.acquire_many(3).await.unwrap().num_permits() }
    ///     });
    ///     executor::yield_now().await; // `big` queues, holding the one free permit
    ///     sem.add_permits(2);          // ...and these complete its request
    ///     assert_eq!(big.await.unwrap(), 3);
    /// });
    /// ```
    #[track_caller]
    #[inline]
    pub fn acquire_many(&self, n: u32) -> Acquire<'_> {
        assert!(
            usize::try_from(n).is_ok_and(|n| n <= Semaphore::MAX_PERMITS),
            "Semaphore::acquire_many: {n} permits exceeds Semaphore::MAX_PERMITS ({}); \
             the request could never be served",
            Semaphore::MAX_PERMITS
        );
        Acquire::new(self, n, Location::caller())
    }

    /// Takes one permit if one is free and nobody is waiting.
    ///
    /// asyncio equivalent: none (`sem.locked()` only asks).
    /// tokio equivalent: `tokio::sync::Semaphore::try_acquire`.
    ///
    /// # Errors
    /// [`TryAcquireError::Closed`] if closed, [`TryAcquireError::NoPermits`] if no
    /// permit is free or others are already waiting for one.
    ///
    /// ```
    /// use patterns::{Semaphore, TryAcquireError};
    ///
    /// let sem = Semaphore::new(1);
    /// let _held = sem.try_acquire().unwrap();
    /// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    /// ```
    pub fn try_acquire(&self) -> Result<Permit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is waiting. `n = 0` always
    /// succeeds unless the semaphore is closed.
    ///
    /// asyncio equivalent: none.
    /// tokio equivalent: `tokio::sync::Semaphore::try_acquire_many`.
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// ```
    /// let sem = patterns::Semaphore::new(5);
    /// let four = sem.try_acquire_many(4).unwrap();
    /// assert!(sem.try_acquire_many(2).is_err());
    /// assert_eq!(four.num_permits(), 4);
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Result<Permit<'_>, TryAcquireError> {
        let mut state = self.state.borrow_mut();
        if state.closed {
            return Err(TryAcquireError::Closed);
        }
        let wanted = n as usize;
        // Nobody jumps the line (zero permits pass nobody, as in `acquire_many`).
        if n > 0 && (!state.waiters.is_empty() || state.available < wanted) {
            return Err(TryAcquireError::NoPermits);
        }
        state.available -= wanted;
        Ok(Permit {
            semaphore: self,
            permits: n,
        })
    }

    /// Adds `n` permits. They go to the waiters first, front of the line first.
    ///
    /// asyncio equivalent: calling `sem.release()` `n` times without acquiring.
    /// tokio equivalent: `tokio::sync::Semaphore::add_permits`.
    ///
    /// # Panics
    /// If the semaphore would then manage more than [`Semaphore::MAX_PERMITS`]
    /// permits in all (free, held and assigned). Nothing changes in that case.
    ///
    /// ```
    /// let sem = patterns::Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        {
            let mut state = self.state.borrow_mut();
            assert!(
                n <= Semaphore::MAX_PERMITS - state.total,
                "Semaphore::add_permits: adding {n} permits to the {} this semaphore \
                 manages would exceed Semaphore::MAX_PERMITS ({})",
                state.total,
                Semaphore::MAX_PERMITS
            );
            state.total += n;
        }
        self.release(n);
    }

    /// Permits free right now (0 while anyone waits).
    ///
    /// asyncio equivalent: `sem._value` (private); `sem.locked()` is `== 0`.
    /// tokio equivalent: `tokio::sync::Semaphore::available_permits`.
    ///
    /// ```
    /// let sem = patterns::Semaphore::new(3);
    /// let _two = sem.try_acquire_many(2).unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.state.borrow().available
    }

    /// Closes the semaphore: every waiter wakes with [`AcquireError`] (its stored
    /// waker is taken and dropped), and every later acquire fails at once. Permits
    /// already held stay valid and are still returned when dropped.
    ///
    /// asyncio equivalent: none (cancel the waiting tasks instead).
    /// tokio equivalent: `tokio::sync::Semaphore::close`.
    ///
    /// ```
    /// let sem = patterns::Semaphore::new(1);
    /// sem.close();
    /// assert!(sem.is_closed());
    /// assert!(executor::block_on(sem.acquire()).is_err());
    /// ```
    pub fn close(&self) {
        let mut wakeups = Wakeups::default();
        {
            let mut state = self.state.borrow_mut();
            state.closed = true;
            for waiter in state.waiters.drain() {
                wakeups.add(&waiter);
            }
        }
        wakeups.wake_all();
    }

    /// True once [`close`](Self::close) has been called.
    ///
    /// asyncio equivalent: none.
    /// tokio equivalent: `tokio::sync::Semaphore::is_closed`.
    ///
    /// ```
    /// assert!(!patterns::Semaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.state.borrow().closed
    }

    /// Gives `n` permits back: to the front of the line first, the rest to
    /// `available`. Wakes every waiter whose request is now complete.
    #[inline] // the common case (nobody waits) is a borrow and an add
    fn release(&self, n: usize) {
        let mut state = self.state.borrow_mut();
        if state.waiters.is_empty() {
            // Nobody waits (the common case): the permits just go back.
            state.available += n;
            return;
        }
        Semaphore::serve_the_line(state, n);
    }

    /// `release` with someone waiting: fills the front requests in order, takes
    /// each complete one out of the line, and wakes those after the borrow ends.
    fn serve_the_line(mut state: RefMut<'_, State>, n: usize) {
        let mut wakeups = Wakeups::default();
        let mut rest = n;
        while rest > 0 {
            let Some(front) = state.waiters.front() else {
                break;
            };
            let mut request = front.state();
            let missing = (request.wanted - request.assigned) as usize;
            let given = rest.min(missing);
            request.assigned += given as u32;
            rest -= given;
            if given < missing {
                break; // `rest` is 0: the front request takes it all and waits on.
            }
            drop(request);
            let served = state.waiters.pop_front().expect("the front was just read");
            wakeups.add(&served);
        }
        state.available += rest;
        drop(state);
        wakeups.wake_all();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Semaphore")
            .field("available", &state.available)
            .field("total", &state.total)
            .field("waiting", &state.waiters.len())
            .field("closed", &state.closed)
            .finish()
    }
}

// === impl Permit ===

impl Permit<'_> {
    /// How many permits this holds.
    ///
    /// asyncio equivalent: none (always 1).
    /// tokio equivalent: `tokio::sync::SemaphorePermit::num_permits`.
    ///
    /// ```
    /// let sem = patterns::Semaphore::new(4);
    /// assert_eq!(sem.try_acquire_many(3).unwrap().num_permits(), 3);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// Drops the permits without giving them back: the semaphore shrinks for good.
    ///
    /// asyncio equivalent: acquiring and never releasing.
    /// tokio equivalent: `tokio::sync::SemaphorePermit::forget`.
    ///
    /// ```
    /// let sem = patterns::Semaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        let permits = std::mem::take(&mut self.permits);
        self.semaphore.state.borrow_mut().total -= permits as usize;
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.release(self.permits as usize);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("permits", &self.permits)
            .finish()
    }
}
