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
//! - A deadline beyond what `Instant` can hold (`Duration::MAX`) becomes
//!   [`far_future`]: about 30 years from now, as tokio does. "Forever", without
//!   overflow.
//! - Deadlines round up to the runtime's 1 ms tick: a sleep never ends early.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use executor::time::{self, Timer};

/// Waits until `duration` has passed on the runtime's clock.
///
/// asyncio equivalent: `await asyncio.sleep(seconds)`.
/// tokio equivalent: `tokio::time::sleep`.
///
/// The clock is read when `sleep` is called (on the current runtime's clock, which is
/// virtual if the runtime was built with `paused_clock(true)`). `Duration::MAX`, or
/// any duration whose end `Instant` cannot represent, sleeps about 30 years, which is
/// to say forever.
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
pub fn sleep(duration: Duration) -> Sleep {
    let now = time::now();
    let deadline = now.checked_add(duration).unwrap_or_else(|| far_future(now));
    sleep_until(deadline)
}

/// Waits until the runtime's clock reaches `deadline`. A deadline in the past
/// completes on the first poll.
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
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        timer: Timer::new(deadline),
    }
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
}

// === impl Sleep ===

impl Sleep {
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

    /// Moves the deadline, earlier or later, even after the sleep has completed. The
    /// old timer entry is cancelled; the next poll registers the new deadline.
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
        // Pending (if it is): the Timer parked our waker in the wheel; run_once's
        // timer phase wakes us when the deadline's tick comes.
        Pin::new(&mut self.timer).poll(cx)
    }
}

/// "Never": an instant about 30 years after `from`, far enough to outlive any
/// process, near enough that arithmetic on it cannot overflow `Instant`.
pub(crate) fn far_future(from: Instant) -> Instant {
    const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);
    from + THIRTY_YEARS
}
