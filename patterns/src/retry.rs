//! `retry` and `retry_if`: call a fallible async operation again, waiting longer
//! after each failure (exponential backoff).
//!
//! ```text
//! attempt 1 ─Err─► retryable? ─no─► Err(that error)
//!                     │ yes
//!                     ▼
//!        attempts left? ─no─► Err(the last error)
//!                     │ yes
//!                     ▼
//!        delay = min(cap, initial · factorⁿ), or a random part of it (full jitter)
//!        would the next attempt start at or past the deadline? ─yes─► Err(the last error)
//!                     │ no
//!                     ▼
//!        sleep(delay) ─► attempt n + 1 ...                 any Ok(value) ─► Ok(value)
//! ```
//!
//! # Ground rules
//! - A [`Backoff`] that could never make an attempt is refused where it is built: its
//!   builder methods panic with a message naming the mistake (0 attempts; a factor
//!   that is NaN, infinite or below 1). So `retry` always calls the operation at
//!   least once, and always ends with an `Ok` or with the error of the last attempt.
//! - The schedule is exact: with the paused clock, attempt n+1 starts exactly
//!   `delay(n)` after attempt n failed (1 µs resolution).
//! - The deadline bounds when attempts *start*: every attempt starts before it; an
//!   attempt in progress is not cut short (wrap the operation in `timeout` for that).
//! - Jitter needs randomness but this crate takes no dependency for it: a small
//!   xorshift generator, seeded from the system clock or by `jitter_seed` for
//!   reproducible tests. Good enough to spread retries; not for cryptography.

use std::future::Future;
use std::time::Duration;

use executor::time;

use crate::sleep::sleep_until;

mod jitter;

use jitter::{XorShift, seed_from_clock};

/// How to retry: the delays between attempts, how many attempts, and for how long.
///
/// asyncio equivalent: the parameters of the lesson's hand-written
/// `retry_with_backoff(coro, max_retries=3, base_delay=1.0)`.
/// tokio equivalent: none in tokio; `tokio_retry::strategy::ExponentialBackoff`
/// (with `jitter`) or the `backon` crate's `ExponentialBuilder`.
///
/// Defaults: factor 2, no cap, 3 attempts in all, no jitter, no deadline.
///
/// ```
/// use std::time::Duration;
/// use patterns::Backoff;
///
/// let policy = Backoff::new(Duration::from_millis(100))
///     .factor(3.0)
///     .max_delay(Duration::from_secs(1))
///     .max_attempts(5);
/// let ms: Vec<u128> = policy.delays().map(|d| d.as_millis()).collect();
/// assert_eq!(ms, [100, 300, 900, 1000]); // 4 waits between 5 attempts, capped at 1 s
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    initial_delay: Duration,
    factor: f64,
    max_delay: Duration,
    max_attempts: u32,
    jitter: bool,
    seed: Option<u64>,
    deadline: Option<Duration>,
}

// === impl Backoff ===

impl Backoff {
    /// A policy whose first retry waits `initial_delay`. A zero delay still yields
    /// between attempts (a zero `sleep` yields once), so other tasks run meanwhile;
    /// no wait is longer than about 30 years.
    ///
    /// asyncio equivalent: `base_delay` in the lesson's `retry_with_backoff`.
    /// tokio equivalent: `ExponentialBackoff::from_millis` (tokio-retry).
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = patterns::Backoff::new(Duration::from_secs(1));
    /// assert_eq!(policy.delays().collect::<Vec<_>>(),
    ///            [Duration::from_secs(1), Duration::from_secs(2)]);
    /// ```
    pub fn new(initial_delay: Duration) -> Backoff {
        Backoff {
            initial_delay,
            factor: 2.0,
            max_delay: Duration::MAX,
            max_attempts: 3,
            jitter: false,
            seed: None,
            deadline: None,
        }
    }

    /// Each delay is the previous one times `factor` (default 2; 1 keeps it constant).
    ///
    /// asyncio equivalent: the `2 ** attempt` in the lesson.
    /// tokio equivalent: `ExponentialBackoff::factor` (tokio-retry).
    ///
    /// # Panics
    /// If `factor` is NaN, infinite, or below 1: such a policy would wait a
    /// nonsensical or shrinking time.
    ///
    /// ```
    /// use std::time::Duration;
    /// let constant = patterns::Backoff::new(Duration::from_millis(50)).factor(1.0);
    /// assert!(constant.delays().all(|d| d == Duration::from_millis(50)));
    /// ```
    #[track_caller]
    pub fn factor(mut self, factor: f64) -> Backoff {
        assert!(
            factor.is_finite() && factor >= 1.0,
            "Backoff::factor: {factor} is not a valid factor; it must be a finite number \
             of at least 1.0 (1.0 keeps the delay constant)"
        );
        self.factor = factor;
        self
    }

    /// No delay is longer than `max_delay` (default: no cap).
    ///
    /// asyncio equivalent: `min(cap, delay)` in a hand-written loop.
    /// tokio equivalent: `ExponentialBackoff::max_delay` (tokio-retry).
    ///
    /// ```
    /// use std::time::Duration;
    /// let capped = patterns::Backoff::new(Duration::from_secs(1))
    ///     .max_delay(Duration::from_secs(3))
    ///     .max_attempts(5);
    /// assert_eq!(capped.delays().last(), Some(Duration::from_secs(3)));
    /// ```
    pub fn max_delay(mut self, max_delay: Duration) -> Backoff {
        self.max_delay = max_delay;
        self
    }

    /// At most `attempts` calls of the operation, the first one included (default 3).
    ///
    /// asyncio equivalent: `max_retries` in the lesson (which also counts the first
    /// try).
    /// tokio equivalent: `.take(attempts - 1)` on a tokio-retry strategy.
    ///
    /// # Panics
    /// If `attempts` is 0: the operation would never run.
    ///
    /// ```
    /// use std::time::Duration;
    /// let once = patterns::Backoff::new(Duration::from_secs(1)).max_attempts(1);
    /// assert_eq!(once.delays().count(), 0); // one attempt, no waiting
    /// ```
    #[track_caller]
    pub fn max_attempts(mut self, attempts: u32) -> Backoff {
        assert!(
            attempts > 0,
            "Backoff::max_attempts: 0 attempts would never run the operation; use at \
             least 1 (1 means no retries)"
        );
        self.max_attempts = attempts;
        self
    }

    /// Full jitter: each wait is a random time between zero and the computed delay,
    /// so many clients that failed together do not retry together.
    ///
    /// asyncio equivalent: `await asyncio.sleep(random.uniform(0, delay))`.
    /// tokio equivalent: `tokio_retry::strategy::jitter`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use patterns::{Backoff, retry};
    ///
    /// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
    /// let waited = rt.block_on(async {
    ///     let start = executor::time::now();
    ///     let policy = Backoff::new(Duration::from_millis(100)).max_attempts(2).full_jitter();
    ///     let _: Result<(), ()> = retry(policy, || async { Err(()) }).await;
    ///     executor::time::now() - start
    /// });
    /// // One wait, somewhere in [0, 100 ms] (plus the wheel's rounding up to 1 µs).
    /// assert!(waited <= Duration::from_millis(101));
    /// ```
    pub fn full_jitter(mut self) -> Backoff {
        self.jitter = true;
        self
    }

    /// Full jitter from a fixed seed: the same seed gives the same waits. For tests.
    ///
    /// asyncio equivalent: `random.seed(seed)` before the loop.
    /// tokio equivalent: none.
    ///
    /// ```
    /// use std::time::Duration;
    /// use patterns::{Backoff, retry};
    ///
    /// let run = |seed| {
    ///     let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
    ///     rt.block_on(async move {
    ///         let start = executor::time::now();
    ///         let policy = Backoff::new(Duration::from_secs(1)).max_attempts(5).jitter_seed(seed);
    ///         let _: Result<(), ()> = retry(policy, || async { Err(()) }).await;
    ///         executor::time::now() - start
    ///     })
    /// };
    /// assert_eq!(run(7), run(7));
    /// ```
    pub fn jitter_seed(mut self, seed: u64) -> Backoff {
        self.jitter = true;
        self.seed = Some(seed);
        self
    }

    /// Starts no attempt at or after `budget` since the first one started, and does
    /// not wait for an attempt that would start then: the last error is returned at
    /// once. (An attempt due exactly at the deadline does not start.)
    ///
    /// asyncio equivalent: checking `loop.time()` against a deadline in the loop.
    /// tokio equivalent: none built in.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::time::Duration;
    /// use patterns::{Backoff, retry};
    ///
    /// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
    /// let calls = Cell::new(0);
    /// let gave_up_after = rt.block_on(async {
    ///     let start = executor::time::now();
    ///     let policy = Backoff::new(Duration::from_secs(1))
    ///         .max_attempts(100)
    ///         .deadline(Duration::from_secs(10));
    ///     let _: Result<(), ()> = retry(policy, || async {
    ///         calls.set(calls.get() + 1);
    ///         Err(())
    ///     })
    ///     .await;
    ///     executor::time::now() - start
    /// });
    /// // Attempts at 0, 1, 3 and 7 s; the next would start at 15 s, past the deadline.
    /// assert_eq!(calls.get(), 4);
    /// assert_eq!(gave_up_after, Duration::from_secs(7));
    /// ```
    pub fn deadline(mut self, budget: Duration) -> Backoff {
        self.deadline = Some(budget);
        self
    }

    /// The waits between attempts, before jitter: `max_attempts - 1` of them.
    ///
    /// asyncio equivalent: `[base_delay * 2 ** n for n in range(max_retries - 1)]`.
    /// tokio equivalent: iterating a tokio-retry strategy.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = patterns::Backoff::new(Duration::from_millis(10)).max_attempts(4);
    /// let ms: Vec<u128> = policy.delays().map(|d| d.as_millis()).collect();
    /// assert_eq!(ms, [10, 20, 40]);
    /// ```
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let cap = self.max_delay;
        let cap_nanos = cap.as_nanos() as f64;
        let factor = self.factor;
        let mut next = self.initial_delay.as_nanos() as f64;
        (1..self.max_attempts).map(move |_| {
            let delay = if next >= cap_nanos {
                cap
            } else {
                nanos_to_duration(next)
            };
            next *= factor;
            delay
        })
    }
}

/// Whole nanoseconds (as `f64`) to a `Duration`, exactly for any realistic delay and
/// saturating for absurd ones.
fn nanos_to_duration(nanos: f64) -> Duration {
    if nanos < u64::MAX as f64 {
        Duration::from_nanos(nanos.round() as u64)
    } else {
        Duration::try_from_secs_f64(nanos / 1e9).unwrap_or(Duration::MAX)
    }
}

/// Calls `operation` until it succeeds, waiting between attempts as `backoff` says.
/// Every error is retried; returns the last error once attempts (or the deadline)
/// run out.
///
/// asyncio equivalent: the lesson's `retry_with_backoff(coro_func)`.
/// tokio equivalent: `tokio_retry::Retry::spawn(strategy, action)`.
///
/// ```
/// use std::cell::Cell;
/// use std::time::Duration;
/// use patterns::{Backoff, retry};
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// let calls = Cell::new(0);
/// let result = rt.block_on(retry(Backoff::new(Duration::from_millis(100)), || async {
///     calls.set(calls.get() + 1);
///     if calls.get() < 3 { Err("flaky") } else { Ok("data") }
/// }));
/// assert_eq!(result, Ok("data"));
/// assert_eq!(calls.get(), 3); // failed, waited 100 ms, failed, waited 200 ms, succeeded
/// ```
pub async fn retry<Op, Fut, T, E>(backoff: Backoff, operation: Op) -> Result<T, E>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_if(backoff, operation, |_: &E| true).await
}

/// [`retry`], but only errors for which `should_retry` returns true are retried; any
/// other error is returned at once.
///
/// asyncio equivalent: `except TransientError:` in the retry loop (other exceptions
/// propagate).
/// tokio equivalent: `tokio_retry::RetryIf::spawn(strategy, action, condition)`.
///
/// ```
/// use std::cell::Cell;
/// use std::io::{Error, ErrorKind};
/// use std::time::Duration;
/// use patterns::{Backoff, retry_if};
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// let calls = Cell::new(0);
/// let result: Result<(), Error> = rt.block_on(retry_if(
///     Backoff::new(Duration::from_secs(1)).max_attempts(10),
///     || async {
///         calls.set(calls.get() + 1);
///         Err(Error::from(ErrorKind::PermissionDenied))
///     },
///     |error| error.kind() != ErrorKind::PermissionDenied, // not worth retrying
/// ));
/// assert_eq!(result.unwrap_err().kind(), ErrorKind::PermissionDenied);
/// assert_eq!(calls.get(), 1);
/// ```
pub async fn retry_if<Op, Fut, T, E, P>(
    backoff: Backoff,
    mut operation: Op,
    mut should_retry: P,
) -> Result<T, E>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    P: FnMut(&E) -> bool,
{
    let started = time::now();
    let give_up_at = backoff.deadline.map(|budget| {
        started
            .checked_add(budget)
            .unwrap_or(started + LONGEST_WAIT)
    });
    let mut jitter = backoff
        .jitter
        .then(|| XorShift::new(backoff.seed.unwrap_or_else(seed_from_clock)));
    let mut delays = backoff.delays();
    loop {
        let error = match operation().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if !should_retry(&error) {
            return Err(error);
        }
        let Some(delay) = delays.next() else {
            return Err(error); // that was the last attempt
        };
        let delay = match &mut jitter {
            Some(rng) => rng.up_to(delay),
            None => delay,
        };
        let now = time::now();
        let next_attempt_at = now + delay.min(LONGEST_WAIT);
        if let Some(give_up_at) = give_up_at
            && next_attempt_at >= give_up_at
        {
            return Err(error); // the next attempt would start too late
        }
        sleep_until(next_attempt_at).await;
    }
}

/// The longest wait between attempts, and the budget `Duration::MAX` stands for:
/// about 30 years. Far enough to outlive any process, near enough that the clock can
/// count it (a sleep past what it can count would never end) and that arithmetic on
/// it cannot overflow `Instant`.
const LONGEST_WAIT: Duration = Duration::from_secs(86_400 * 365 * 30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_by_the_factor_and_stop_at_the_cap() {
        let policy = Backoff::new(Duration::from_millis(100))
            .max_delay(Duration::from_millis(500))
            .max_attempts(6);
        let ms: Vec<u128> = policy.delays().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 500, 500]);
    }

    #[test]
    fn delays_are_exact_in_nanoseconds() {
        let policy = Backoff::new(Duration::from_nanos(1_000_001))
            .factor(1.5)
            .max_attempts(4);
        let nanos: Vec<u128> = policy.delays().map(|d| d.as_nanos()).collect();
        assert_eq!(nanos, [1_000_001, 1_500_002, 2_250_002]);
    }

    #[test]
    fn an_uncapped_policy_saturates_instead_of_overflowing() {
        let policy = Backoff::new(Duration::from_secs(1 << 40))
            .factor(1e6)
            .max_attempts(20);
        assert_eq!(policy.delays().last(), Some(Duration::MAX));
    }

    #[test]
    fn a_delay_past_u64_nanoseconds_is_kept_not_saturated() {
        // 2e19 ns (634 years) does not fit a u64 of ns, but fits a `Duration`.
        let long = Duration::from_secs(20_000_000_000);
        let policy = Backoff::new(long).factor(1.0).max_attempts(2);
        assert_eq!(policy.delays().collect::<Vec<_>>(), [long]);
        assert_eq!(nanos_to_duration(f64::INFINITY), Duration::MAX);
    }

    #[test]
    #[should_panic(expected = "0 attempts would never run the operation")]
    fn zero_attempts_is_refused() {
        let _ = Backoff::new(Duration::from_millis(1)).max_attempts(0);
    }

    #[test]
    #[should_panic(expected = "NaN is not a valid factor")]
    fn a_nan_factor_is_refused() {
        let _ = Backoff::new(Duration::from_millis(1)).factor(f64::NAN);
    }

    #[test]
    #[should_panic(expected = "-2 is not a valid factor")]
    fn a_negative_factor_is_refused() {
        let _ = Backoff::new(Duration::from_millis(1)).factor(-2.0);
    }
}
