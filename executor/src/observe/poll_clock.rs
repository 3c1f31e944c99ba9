//! How the observers time a poll: with the precise clock when someone looks closely,
//! else with the kernel's coarse one, five times cheaper.
//!
//! Every poll is timed: its length feeds the stall report and
//! `Metrics::longest_poll`. So a clock read sits on every poll's path, and
//! `Instant::now()` (a vDSO call) costs ~25 ns on the development VM: a quarter of a
//! contended semaphore's hand-over, two polls a permit. Linux's
//! `CLOCK_MONOTONIC_COARSE` costs ~5 ns: it returns the time of the last timer tick,
//! so it moves in steps of one tick (1 to 4 ms, by the kernel's `HZ`).
//!
//! ```text
//! a poll's length, coarse:   measured in whole ticks, then one tick added
//!   true 97.3 ms ─► reads 96 or 100 ms ─► reported as 100 or 104 ms  (never under)
//! ```
//!
//! # Ground rules
//! - A poll is timed with the precise clock whenever its length is shown to the
//!   microsecond or compared with a short threshold: while the trace is on, a turn
//!   is recorded (stepping, the recorder), or the stall threshold is
//!   under [`COARSE_THRESHOLD_FLOOR`] (or off Linux, or if the coarse clock ticks
//!   slower than [`COARSE_TICK_LIMIT`]). The choice is made when a poll's timing
//!   starts, and its end is read on the same clock. (The timeline reads its own
//!   clock for its slices.)
//! - A coarse length is rounded up by one tick, so it is never shorter than the poll
//!   was: a stall report never understates how long the loop was held. It may
//!   overstate it by up to a tick, so a poll up to one tick under the threshold
//!   can be reported; with the default threshold (100 ms) that is 4% at most.
//!   `longest_poll` is rounded up alike.

use std::time::{Duration, Instant};

/// The shortest stall threshold timed with the coarse clock: ten of its slowest
/// usual ticks (4 ms, `HZ=250`), so its rounding is at most a tenth of the threshold.
pub(crate) const COARSE_THRESHOLD_FLOOR: Duration = Duration::from_millis(40);

/// The coarsest tick the coarse clock may have to be used at all.
pub(crate) const COARSE_TICK_LIMIT: Duration = Duration::from_millis(4);

/// A reading of the poll clock.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stamp {
    Precise(Instant),
    /// `CLOCK_MONOTONIC_COARSE`, since its origin.
    Coarse(Duration),
}

/// The poll clock of one runtime.
#[derive(Debug)]
pub(crate) struct PollClock {
    /// The coarse clock's tick, if polls may be timed with it at all.
    coarse_tick: Option<Duration>,
}

impl PollClock {
    /// A poll clock for a runtime with this stall threshold.
    pub(crate) fn new(stall_threshold: Option<Duration>) -> PollClock {
        let threshold_allows = stall_threshold.is_none_or(|t| t >= COARSE_THRESHOLD_FLOOR);
        let coarse_tick =
            coarse::tick().filter(|&tick| threshold_allows && tick <= COARSE_TICK_LIMIT);
        PollClock { coarse_tick }
    }

    /// Now, on the precise clock if `precise` or if the coarse one is not allowed.
    #[inline]
    pub(crate) fn now(&self, precise: bool) -> Stamp {
        match (precise, self.coarse_tick) {
            (false, Some(_)) => Stamp::Coarse(coarse::now()),
            _ => Stamp::Precise(Instant::now()),
        }
    }

    /// Now, on the clock `start` was read on, and the length since `start` (coarse:
    /// rounded up by a tick).
    #[inline]
    pub(crate) fn since(&self, start: Stamp) -> (Stamp, Duration) {
        match start {
            Stamp::Coarse(began) => {
                let now = coarse::now();
                // A coarse stamp is only ever made when the tick is known.
                let tick = self.coarse_tick.unwrap_or_default();
                (Stamp::Coarse(now), now.saturating_sub(began) + tick)
            }
            Stamp::Precise(began) => {
                let now = Instant::now();
                (Stamp::Precise(now), now - began)
            }
        }
    }
}

#[cfg(all(target_os = "linux", not(miri)))]
mod coarse {
    use std::time::Duration;

    /// `CLOCK_MONOTONIC_COARSE` now, as a duration since its origin.
    #[inline]
    pub(super) fn now() -> Duration {
        read(libc::clock_gettime).unwrap_or_default()
    }

    /// The coarse clock's tick, or `None` if the kernel will not say.
    pub(super) fn tick() -> Option<Duration> {
        read(libc::clock_getres).filter(|tick| !tick.is_zero())
    }

    /// Calls `call` (`clock_gettime` or `clock_getres`) for the coarse clock.
    #[inline]
    fn read(
        call: unsafe extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int,
    ) -> Option<Duration> {
        let mut time = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // Both calls only write the one `timespec` they are given, which is valid and
        // ours; the clock id is a constant every Linux since 2.6.32 knows (an unknown
        // one fails with EINVAL, and is checked below).
        // SAFETY: a valid out-pointer and a plain clock id (above).
        let status = unsafe { call(libc::CLOCK_MONOTONIC_COARSE, &mut time) };
        let seconds = u64::try_from(time.tv_sec).ok()?;
        let nanos = u32::try_from(time.tv_nsec).ok()?;
        (status == 0).then(|| Duration::new(seconds, nanos))
    }
}

/// Off Linux (and under Miri): no coarse clock; every poll is timed precisely.
#[cfg(any(not(target_os = "linux"), miri))]
mod coarse {
    use std::time::Duration;

    pub(super) fn now() -> Duration {
        Duration::ZERO
    }

    pub(super) fn tick() -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_threshold_or_none_decides_whether_the_coarse_clock_may_be_used() {
        let short = PollClock::new(Some(Duration::from_millis(10)));
        assert!(matches!(short.now(false), Stamp::Precise(_)));
        let default = PollClock::new(Some(Duration::from_millis(100)));
        let expected_coarse = cfg!(all(target_os = "linux", not(miri)));
        assert_eq!(
            matches!(default.now(false), Stamp::Coarse(_)),
            expected_coarse
        );
        assert!(
            matches!(default.now(true), Stamp::Precise(_)),
            "asked precise"
        );
        let off = PollClock::new(None);
        assert_eq!(matches!(off.now(false), Stamp::Coarse(_)), expected_coarse);
    }

    #[test]
    fn a_coarse_length_is_never_shorter_than_the_poll() {
        let clock = PollClock::new(None);
        for wait in [0, 1, 3, 7] {
            let start = clock.now(false);
            let precise_start = Instant::now();
            std::thread::sleep(Duration::from_millis(wait));
            let true_length = precise_start.elapsed();
            let (_, took) = clock.since(start);
            assert!(
                took >= true_length,
                "{took:?} < {true_length:?} for {wait} ms"
            );
        }
    }

    #[test]
    fn a_precise_stamp_stays_precise() {
        let clock = PollClock::new(None);
        let start = clock.now(true);
        std::thread::sleep(Duration::from_millis(2));
        let (end, took) = clock.since(start);
        assert!(matches!(end, Stamp::Precise(_)));
        assert!(took >= Duration::from_millis(2) && took < Duration::from_secs(5));
    }
}
