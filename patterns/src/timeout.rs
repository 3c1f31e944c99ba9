//! `timeout`, `timeout_at`, `timeout_or`: give a future a deadline.
//!
//! A [`Timeout`] is a race between two futures, polled in a fixed order on every
//! poll: the inner future first, then the timer.
//!
//! ```text
//! poll ─► inner.poll ─Ready(v)─► Ready(Ok(v))          (the timer is never touched
//!            │ Pending                                   if this happens first time)
//!            ▼
//!         timer.poll ─Ready─► Ready(Err(Elapsed)); the inner future is dropped
//!            │                with the Timeout, which cancels it
//!            │ Pending
//!            ▼
//!         Pending: whichever of the two wakes us first (the inner future's waker,
//!         or the timer wheel) gets us polled again
//! ```
//!
//! # Ground rules
//! - The inner future is polled first, so if it is ready on the poll where the
//!   deadline passes, its output wins (as in tokio).
//! - The timer is made lazily, once the inner future has first said `Pending`: a
//!   `timeout` around a future that is ready at once reads no clock and never
//!   touches the timer wheel (and needs no runtime). So `timeout`'s deadline counts
//!   from that first `Pending`, never earlier than from the call (the two are the
//!   same moment in `timeout(d, fut).await`); `timeout_at` fixes it at the call.
//! - When the deadline wins, the inner future is never polled again; it is dropped
//!   with the `Timeout`, which cancels it: its destructors run, its wait-list places
//!   are given up.
//! - The inner future is held inline, not boxed. Polling a field of a pinned struct
//!   needs pin projection, which needs `unsafe` (or the pin-project crate, as tokio
//!   uses): `Timeout::poll` holds the crate's one `unsafe` block, because a `Box` per
//!   timeout cost ~40% of the `timeout_ready` benchmark row.
//! - `Duration::MAX` (or a deadline past what the clock can count) never times out:
//!   the timer never fires, and the paused clock never jumps to it (as tokio, which
//!   makes no timer at all then).
//! - Cancelling means dropping the inner future, nothing more. A `JoinHandle` is a
//!   future whose drop *detaches* its task, so `timeout(d, handle)` gives up waiting
//!   but leaves the task running (unlike asyncio's `wait_for(task)`, which cancels
//!   it); call `abort` on timeout to stop it (see `examples/timeouts.rs`).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use executor::coop;
use executor::time::Timer;
use executor::waits::{self, WaitDetail, WaitLabel};

/// Runs `future`, giving up once `duration` has passed.
///
/// asyncio equivalent: `await asyncio.wait_for(aw, timeout)`, or
/// `async with asyncio.timeout(delay):` around a block (in Rust, wrap the block in
/// `async { ... }`).
/// tokio equivalent: `tokio::time::timeout`.
///
/// The deadline is `duration` after the first poll at which the future is not ready
/// (the clock is not read before: a future ready at once costs no clock read and no
/// timer). That is never earlier than `duration` after the call, and is the same in
/// `timeout(d, fut).await`; for a deadline fixed at the call, use [`timeout_at`]. If
/// the future is ready on the poll where the deadline passes, its output wins.
/// `Duration::MAX` never times out.
///
/// On timeout the inner future is dropped. For a [`JoinHandle`](executor::JoinHandle)
/// that only detaches the task, which runs on: unlike `asyncio.wait_for(task, t)`,
/// this does not cancel it. Keep the handle and `abort` it yourself:
///
/// ```
/// use std::time::Duration;
/// use patterns::{sleep, timeout};
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     let mut task = executor::spawn(sleep(Duration::from_secs(60)));
///     if timeout(Duration::from_secs(1), &mut task).await.is_err() {
///         task.abort(); // what wait_for would have done
///     }
///     assert!(task.await.unwrap_err().is_cancelled());
/// });
/// ```
///
/// ```
/// use std::time::Duration;
/// use patterns::{sleep, timeout};
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     let quick = timeout(Duration::from_secs(1), async { "done" }).await;
///     assert_eq!(quick, Ok("done"));
///
///     let slow = timeout(Duration::from_secs(1), sleep(Duration::from_secs(10))).await;
///     assert!(slow.is_err());
/// });
/// ```
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        timer: TimeoutTimer::NotYet(duration),
        at: Location::caller(),
    }
}

/// Runs `future`, giving up once the runtime's clock reaches `deadline`.
///
/// asyncio equivalent: `async with asyncio.timeout_at(when):`.
/// tokio equivalent: `tokio::time::timeout_at`.
///
/// ```
/// use std::time::Duration;
/// use patterns::{sleep, timeout_at};
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     let give_up_at = executor::time::now() + Duration::from_millis(500);
///     // Two steps share one deadline.
///     let first = timeout_at(give_up_at, sleep(Duration::from_millis(300))).await;
///     let second = timeout_at(give_up_at, sleep(Duration::from_millis(300))).await;
///     assert!(first.is_ok());
///     assert!(second.is_err());
/// });
/// ```
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        future: future.into_future(),
        timer: TimeoutTimer::Made(Timer::new(deadline)),
        at: Location::caller(),
    }
}

/// Runs `future`; if `duration` passes first, returns `default` instead.
///
/// asyncio equivalent: the lesson's "timeout with a default":
/// `try: return await asyncio.wait_for(aw, t) except TimeoutError: return default`.
/// tokio equivalent: `tokio::time::timeout(d, fut).await.unwrap_or(default)`.
///
/// ```
/// use std::time::Duration;
/// use patterns::{sleep, timeout_or};
///
/// async fn fetch_price() -> u32 {
///     sleep(Duration::from_secs(30)).await; // a very slow upstream
///     105
/// }
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// let price = rt.block_on(timeout_or(Duration::from_secs(2), fetch_price(), 100));
/// assert_eq!(price, 100);
/// ```
#[track_caller]
pub fn timeout_or<F: IntoFuture>(
    duration: Duration,
    future: F,
    default: F::Output,
) -> impl Future<Output = F::Output> {
    let guarded = timeout(duration, future);
    async move { guarded.await.unwrap_or(default) }
}

/// The future returned by [`timeout`] and [`timeout_at`]: the inner future's output,
/// or [`Elapsed`] if the deadline came first.
///
/// asyncio equivalent: the awaitable `asyncio.wait_for` returns.
/// tokio equivalent: `tokio::time::Timeout`.
///
/// ```
/// use std::time::Duration;
/// use patterns::{Timeout, timeout};
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     let start = executor::time::now();
///     let guarded: Timeout<_> = timeout(Duration::from_secs(5), std::future::pending::<()>());
///     assert_eq!(guarded.deadline(), start + Duration::from_secs(5));
///     assert!(guarded.await.is_err());
/// });
/// ```
#[must_use = "futures do nothing unless you .await them"]
pub struct Timeout<F> {
    /// Structurally pinned: see the one `unsafe` block in `poll`.
    future: F,
    timer: TimeoutTimer,
    /// Where the user's code called `timeout`: told to the snapshot while it waits.
    at: &'static Location<'static>,
}

/// A `Timeout`'s timer: made at the first `Pending` of the future (`timeout`), or at
/// the call (`timeout_at`).
#[derive(Debug)]
enum TimeoutTimer {
    /// Not made yet: the duration to count from when it is.
    NotYet(Duration),
    Made(Timer),
}

// === impl Timeout ===

impl<F> Timeout<F> {
    /// When this timeout gives up. For a `timeout` whose future has not yet been
    /// found pending, the deadline it would have if that happened now.
    ///
    /// asyncio equivalent: `asyncio.Timeout.when()`.
    /// tokio equivalent: none (tokio's `Timeout` exposes its inner future instead).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(patterns::timeout_at(at, async {}).deadline(), at);
    /// ```
    pub fn deadline(&self) -> Instant {
        match &self.timer {
            TimeoutTimer::Made(timer) => timer.deadline(),
            // Not started: the deadline it would have if it started now.
            TimeoutTimer::NotYet(after) => Timer::after(*after).deadline(),
        }
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    // The inner future is held inline and pinned through the `Timeout`: one `unsafe`
    // projection instead of a `Box` per timeout. The benchmark's `timeout_ready` row
    // (a million timeouts around ready futures) showed the box cost ~40% of the work.
    #[allow(unsafe_code)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Structural pinning of `future`: it is never moved out of `self`
        // (no method hands it out by value or `&mut`, and `Timeout` has no `Drop`
        // impl that could move it), and `Timeout` is `Unpin` only when `F` is (the
        // auto trait follows the fields). `timer` is `Unpin`, so it needs no pin.
        // SAFETY: `future` is structurally pinned and never moved (above).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` stays where it is for the `Timeout`'s life.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        // 1. The inner future first: if it is ready, it wins, even at the deadline.
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // 2. Then the timer (registered in the wheel on its first poll, only now). If
        //    the inner future spent the last of the coop budget, the deadline is looked
        //    at anyway: an inner future that is always ready would otherwise spend the
        //    budget on every poll and never let the timeout elapse.
        if let TimeoutTimer::NotYet(after) = this.timer {
            this.timer = TimeoutTimer::Made(Timer::after(after));
        }
        let TimeoutTimer::Made(timer) = &mut this.timer else {
            unreachable!("made just above")
        };
        let timer = Pin::new(timer);
        let polled = if had_budget && !coop::has_budget_remaining() {
            coop::with_unconstrained(|| timer.poll(cx))
        } else {
            timer.poll(cx)
        };
        match polled {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            // Pending: the inner future parked our waker wherever it waits, and the
            // timer parked it in the wheel; whichever fires first wakes us.
            Poll::Pending => {
                let label = WaitLabel {
                    what: "timeout",
                    at: this.at,
                    detail: WaitDetail::None,
                };
                waits::note(cx.waker(), label);
                Poll::Pending
            }
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("timer", &self.timer)
            .finish_non_exhaustive()
    }
}

/// The error of a [`Timeout`] whose deadline passed before its future finished.
///
/// asyncio equivalent: `TimeoutError` (`asyncio.TimeoutError` before Python 3.11).
/// tokio equivalent: `tokio::time::error::Elapsed`.
///
/// ```
/// use std::time::Duration;
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// let err = rt
///     .block_on(patterns::timeout(Duration::ZERO, std::future::pending::<()>()))
///     .unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// let _: &dyn std::error::Error = &err;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}
