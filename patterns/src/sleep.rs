//! `sleep` and `sleep_until`: wait for a moment in time without blocking the loop.
//!
//! The non-blocking counterpart of `std::thread::sleep`, and the first rule of the
//! asyncio lesson ("avoid blocking calls"): a task that calls `std::thread::sleep`
//! holds the whole loop; a task that awaits a [`Sleep`] parks its waker in the timer
//! wheel and lets every other task run meanwhile.
//!
//! ```text
//! sleep(d) ─► Sleep { Timer(deadline = now + d) } ─► first poll: Timer inserts itself
//!             in the wheel ─► Pending ... run_once fires the tick ─► woken ─► Ready
//! ```
//!
//! # Ground rules
//! - A `Sleep` is a thin wrapper over `executor::time::Timer`: registration is lazy
//!   (creating one needs no runtime; polling one does), and it is `Unpin`.
//! - `Duration::MAX` (or any deadline past what the clock can count) sleeps for ever:
//!   the timer never fires and the paused clock never jumps to it. tokio's ends
//!   after about 30 years instead; asyncio's `sleep(math.inf)` never ends either.
//! - A deadline that has already passed (`Duration::ZERO`) yields once: the task goes
//!   to the back of the ready queue, as `await asyncio.sleep(0)` does, so a loop of
//!   zero sleeps lets the other tasks run. tokio's is ready at once when its deadline
//!   is due (it spends one unit of coop budget instead), though on its real clock a
//!   zero sleep rounds up to the next 1 ms tick and waits for it.
//! - Deadlines round up to the runtime's 1 µs tick: a sleep never ends early, and on
//!   Linux the loop parks until that µs (a timerfd), so it ends tens of µs late, not a
//!   millisecond as tokio's does.
//! - `reset` moves the deadline of a sleep another task may be waiting on: the waiter
//!   wakes at the new deadline, earlier or later.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use executor::time::Timer;
use executor::waits::{self, WaitDetail, WaitLabel};

/// Waits until `duration` has passed on the runtime's clock.
///
/// asyncio equivalent: `await asyncio.sleep(seconds)`.
/// tokio equivalent: `tokio::time::sleep`.
///
/// The clock is read when `sleep` is called (on the current runtime's clock, which is
/// virtual if the runtime was built with `paused_clock(true)`). `Duration::MAX` sleeps
/// for ever: no timer the clock can reach is set (tokio's ends after about 30 years).
///
/// `Duration::ZERO` yields once and returns: other ready tasks run first, as with
/// `await asyncio.sleep(0)`. tokio's differs: ready at once on its paused clock,
/// after its next 1 ms tick on the real one.
///
/// ```
/// use std::time::Duration;
/// use patterns::sleep;
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     let start = executor::time::now();
///     sleep(Duration::from_secs(90)).await;
///     assert_eq!(executor::time::now() - start, Duration::from_secs(90));
/// });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Timer::after(duration))
}

/// Waits until the runtime's clock reaches `deadline`. A deadline in the past yields
/// once, then completes, as a zero [`sleep`] does.
///
/// asyncio equivalent: `await asyncio.sleep(when - loop.time())` (asyncio has no
/// absolute sleep; `loop.call_at` is the callback form).
/// tokio equivalent: `tokio::time::sleep_until`.
///
/// ```
/// use std::time::Duration;
/// use patterns::sleep_until;
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     let wake_at = executor::time::now() + Duration::from_millis(250);
///     sleep_until(wake_at).await;
///     assert!(executor::time::now() >= wake_at);
/// });
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Timer::new(deadline))
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// asyncio equivalent: the coroutine `asyncio.sleep(...)` returns.
/// tokio equivalent: `tokio::time::Sleep` (which is `!Unpin`; this one is `Unpin`,
/// because its timer entry lives in the wheel's slab rather than inside the future).
///
/// ```
/// use std::pin::pin;
/// use std::time::Duration;
/// use patterns::sleep;
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     let start = executor::time::now();
///     let mut nap = pin!(sleep(Duration::from_secs(60)));
///     // Changed our mind: wake up after one second instead.
///     nap.as_mut().reset(start + Duration::from_secs(1));
///     assert_eq!(nap.deadline(), start + Duration::from_secs(1));
///     nap.await;
///     assert_eq!(executor::time::now() - start, Duration::from_secs(1));
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await them"]
pub struct Sleep {
    timer: Timer,
    /// Set by the first poll: only that one turns a passed deadline into a yield.
    polled: bool,
    /// Where the user's code called `sleep`: told to the snapshot while it waits.
    at: &'static Location<'static>,
}

// === impl Sleep ===

impl Sleep {
    #[track_caller]
    fn new(timer: Timer) -> Sleep {
        Sleep {
            timer,
            polled: false,
            at: Location::caller(),
        }
    }

    /// When this sleep ends.
    ///
    /// asyncio equivalent: none (`asyncio.Timeout.when()` is the closest).
    /// tokio equivalent: `tokio::time::Sleep::deadline`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let at = std::time::Instant::now() + Duration::from_secs(3);
    /// assert_eq!(patterns::sleep_until(at).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.timer.deadline()
    }

    /// Moves the deadline, earlier or later, even after the sleep has completed. A
    /// task already waiting on this sleep (it may be another task: the sleep can be
    /// shared, say in an `Rc<RefCell<Pin<Box<Sleep>>>>`) is woken at the new
    /// deadline, or at once if it has passed: the timer's entry moves in the wheel
    /// with that task's waker in it.
    ///
    /// asyncio equivalent: `asyncio.Timeout.reschedule(when)`.
    /// tokio equivalent: `tokio::time::Sleep::reset`.
    ///
    /// ```
    /// use std::pin::pin;
    /// use std::time::Duration;
    ///
    /// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
    /// rt.block_on(async {
    ///     let start = executor::time::now();
    ///     let mut nap = pin!(patterns::sleep(Duration::from_millis(10)));
    ///     nap.as_mut().await;
    ///     nap.as_mut().reset(start + Duration::from_millis(30));
    ///     nap.await;
    ///     assert_eq!(executor::time::now() - start, Duration::from_millis(30));
    /// });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.get_mut().timer.reset(deadline);
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let first_poll = !std::mem::replace(&mut self.polled, true);
        match Pin::new(&mut self.timer).poll(cx) {
            // The deadline had passed before we ever waited: yield once. Pending: we
            // woke ourselves, so the loop polls us again after the tasks already in
            // the ready queue (asyncio's `sleep(0)`).
            Poll::Ready(()) if first_poll => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            // The Timer parked our waker in the wheel; run_once's timer phase wakes us
            // when the deadline's tick comes. The snapshot finds the timer; this says
            // where the user's code waits on it.
            Poll::Pending => {
                let at = self.at;
                let label = WaitLabel {
                    what: "sleep",
                    at,
                    detail: WaitDetail::None,
                };
                waits::note(cx.waker(), label);
                Poll::Pending
            }
            ready => ready,
        }
    }
}
