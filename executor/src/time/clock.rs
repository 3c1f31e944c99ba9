//! The runtime's clock: real time, or a paused virtual clock for tests.
//!
//! Time inside the runtime is counted in ticks of 1 µs from the runtime's start. The
//! timer wheel only ever sees ticks; this file is the one place that converts between
//! ticks and `Instant`s. (A tick used to be 1 ms, as tokio's is; at 1 µs a 250 µs
//! sleep can end 250 µs after it began, once the park is as fine: `io/reactor.rs`.)
//!
//! # Ground rules
//! - A deadline rounds *up* to the next tick and "now" rounds *down*, so a timer never
//!   fires before its deadline.
//! - The paused clock moves only when told: by `time::advance`, or by the loop jumping
//!   to the next timer when nothing else can make progress. It never goes backwards.
//! - Ticks are a `u64` of microseconds: the clock counts about 584,000 years. A
//!   deadline half that far from now or more ([`NEVER_AHEAD`]) never fires; every
//!   nearer one does. `time::advance` stops at half the count, so near deadlines keep
//!   their exact ticks; a paused clock that jumped further, to a timer as far ahead as
//!   that, may find a near deadline past the end of the count: it then fires at the
//!   last tick, the end of the clock, rather than never.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// One tick of the timer wheel.
pub(crate) const TICK: Duration = Duration::from_micros(1);

/// A deadline this far after now or further never fires (the wheel's `NEVER`): half
/// of what the clock counts, about 292,000 years.
const NEVER_AHEAD: Duration = Duration::from_micros(u64::MAX / 2);

/// The last tick a deadline can get: the one before the wheel's `NEVER`.
const LAST_TICK: u64 = u64::MAX - 1;

/// Real or virtual time, with the runtime's start as tick 0.
#[derive(Debug)]
pub(crate) struct Clock {
    start: Instant,
    /// `Some(elapsed)` when the clock is paused: virtual time since `start`.
    paused: Option<Cell<Duration>>,
}

impl Clock {
    pub(crate) fn new(paused: bool) -> Clock {
        Clock {
            start: Instant::now(),
            paused: paused.then(|| Cell::new(Duration::ZERO)),
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.is_some()
    }

    /// The current instant: real, or `start` plus the virtual elapsed time.
    pub(crate) fn now(&self) -> Instant {
        match &self.paused {
            None => Instant::now(),
            Some(elapsed) => self.start + elapsed.get(),
        }
    }

    /// The tick that `now` falls in (rounded down: the tick has begun).
    pub(crate) fn now_tick(&self) -> u64 {
        self.tick_at(self.now())
    }

    /// The tick that `at` falls in (rounded down).
    pub(crate) fn tick_at(&self, at: Instant) -> u64 {
        ticks_floor(at.saturating_duration_since(self.start))
    }

    /// The first tick at or after `deadline` (rounded up: the timer never fires early).
    /// A deadline [`NEVER_AHEAD`] from `now` (the caller's reading of [`Clock::now`],
    /// which arming a timer needs anyway) or later is `u64::MAX`, the timer wheel's
    /// `NEVER`; a nearer one past the end of the count is the last tick.
    pub(crate) fn deadline_tick(&self, deadline: Instant, now: Instant) -> u64 {
        if deadline.saturating_duration_since(now) >= NEVER_AHEAD {
            return u64::MAX;
        }
        let since_start = deadline.saturating_duration_since(self.start);
        let floor = ticks_floor(since_start);
        let part_of_a_tick_left = since_start > Duration::from_micros(floor);
        let ceiling = floor.saturating_add(u64::from(part_of_a_tick_left));
        ceiling.min(LAST_TICK)
    }

    /// The instant at which `tick` begins. Saturates far in the future rather than
    /// overflowing `Instant`.
    pub(crate) fn instant_of(&self, tick: u64) -> Instant {
        self.start
            .checked_add(Duration::from_micros(tick))
            .unwrap_or_else(|| far_future(self.start))
    }

    /// Moves the paused clock forward by `by`.
    ///
    /// # Panics
    /// If the clock is not paused: real time cannot be advanced. If `now() + by` is
    /// past half of what the clock can count (ticks are a `u64` of microseconds, about
    /// 584,000 years; past the half, a deadline a few seconds ahead could lie past
    /// the end), or does not fit an `Instant`: `Duration::MAX`, say. The clock is left
    /// as it was then, so the runtime stays usable.
    #[track_caller]
    pub(crate) fn advance(&self, by: Duration) {
        let Some(elapsed) = &self.paused else {
            panic!(
                "glassbox: time::advance needs a paused clock; build the runtime with \
                 Runtime::builder().paused_clock(true)"
            );
        };
        let advanced = elapsed.get().checked_add(by).filter(|&advanced| {
            advanced < NEVER_AHEAD && self.start.checked_add(advanced).is_some()
        });
        let Some(advanced) = advanced else {
            panic!(
                "glassbox: time::advance({by:?}) would move the paused clock past half of \
                 what it can count (1 µs ticks in a u64: about 584,000 years; it stops at \
                 292,000 so that every deadline nearer than that can still fire); advance \
                 by less (a sleep of Duration::MAX never ends, however far the clock goes)"
            );
        };
        elapsed.set(advanced);
    }

    /// Moves the paused clock forward to the start of `tick`, if that is later.
    pub(crate) fn jump_to_tick(&self, tick: u64) {
        if let Some(elapsed) = &self.paused {
            elapsed.set(elapsed.get().max(Duration::from_micros(tick)));
        }
    }
}

/// Whole ticks in `duration` (rounded down).
fn ticks_floor(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// How far after `from` [`deadline_after`] puts "never": about 1.2 million years, twice
/// what the clock can count, so a timer made outside a runtime still lies past the
/// count of a runtime started long after it.
const BEYOND_THE_CLOCK: Duration = Duration::from_secs(u64::MAX / 500_000);

/// The instant `duration` after `from`. Where `Instant` cannot hold that
/// (`Duration::MAX`, say), an instant past what the clock can count instead: a timer
/// for it never fires, which is what such a duration asks for.
pub(crate) fn deadline_after(from: Instant, duration: Duration) -> Instant {
    from.checked_add(duration)
        .or_else(|| from.checked_add(BEYOND_THE_CLOCK))
        // No std platform's `Instant` is that small (they hold some 292 billion
        // years); on one that were, "never" would be about 30 years.
        .unwrap_or_else(|| far_future(from))
}

/// An instant about 30 years after `from`: far enough to outlive any process, near
/// enough that `Instant` arithmetic on it cannot overflow.
pub(crate) fn far_future(from: Instant) -> Instant {
    from + Duration::from_secs(86_400 * 365 * 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_and_now_rounds_down() {
        let clock = Clock::new(true);
        let start = clock.now();
        assert_eq!(clock.deadline_tick(start, clock.now()), 0);
        assert_eq!(
            clock.deadline_tick(start + Duration::from_nanos(1), clock.now()),
            1
        );
        assert_eq!(
            clock.deadline_tick(start + Duration::from_micros(250), clock.now()),
            250
        );
        assert_eq!(
            clock.deadline_tick(start + Duration::from_nanos(250_001), clock.now()),
            251
        );
        clock.advance(Duration::from_nanos(5_999));
        assert_eq!(clock.now_tick(), 5);
        assert_eq!(clock.instant_of(251) - start, Duration::from_micros(251));
    }

    #[test]
    fn instants_before_the_start_are_tick_zero() {
        let clock = Clock::new(true);
        let before = clock.now().checked_sub(Duration::from_secs(1));
        if let Some(before) = before {
            assert_eq!(clock.deadline_tick(before, clock.now()), 0);
        }
    }

    #[test]
    fn huge_ticks_saturate_instead_of_overflowing() {
        let clock = Clock::new(true);
        assert!(clock.instant_of(u64::MAX) > clock.now());
    }

    #[test]
    #[should_panic(expected = "paused clock")]
    fn advancing_a_real_clock_panics_with_advice() {
        Clock::new(false).advance(Duration::from_secs(1));
    }

    #[test]
    fn a_near_deadline_past_the_end_of_the_count_is_the_last_tick_not_never() {
        let clock = Clock::new(true);
        // Where a jump to a far timer can take a paused clock (advance stops at half).
        clock.jump_to_tick(u64::MAX - 2_000_000);
        let in_three_seconds = clock.now() + Duration::from_secs(3);
        // The literal, not the constant: a test that compares with the constant moves
        // with it.
        assert_eq!(
            clock.deadline_tick(in_three_seconds, clock.now()),
            u64::MAX - 1
        );
        let beyond = clock.now() + NEVER_AHEAD;
        assert_eq!(clock.deadline_tick(beyond, clock.now()), u64::MAX, "never");
    }

    #[test]
    fn a_deadline_half_the_count_ahead_never_fires_and_a_nearer_one_keeps_its_tick() {
        let clock = Clock::new(true);
        let start = clock.now();
        assert_eq!(
            clock.deadline_tick(start + NEVER_AHEAD, clock.now()),
            u64::MAX
        );
        let just_nearer = NEVER_AHEAD - Duration::from_micros(1);
        assert_eq!(
            clock.deadline_tick(start + just_nearer, clock.now()),
            u64::MAX / 2 - 1,
            "an exact tick"
        );
    }

    #[test]
    fn the_paused_clock_advances_to_just_short_of_half_its_count_and_no_further() {
        let half = Duration::from_micros(u64::MAX / 2);
        let clock = Clock::new(true);
        clock.advance(half - TICK);
        assert_eq!(clock.now_tick(), u64::MAX / 2 - 1);
        let further = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            clock.advance(TICK);
        }));
        assert!(further.is_err(), "half the count itself is refused");
        assert_eq!(
            clock.now_tick(),
            u64::MAX / 2 - 1,
            "and the clock did not move"
        );
    }

    #[test]
    fn advancing_past_what_the_clock_can_count_panics_and_leaves_it_alone() {
        let clock = Clock::new(true);
        clock.advance(Duration::from_secs(1));
        let before = clock.now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            clock.advance(Duration::MAX)
        }));
        let payload = outcome.expect_err("Duration::MAX cannot be added");
        let message = payload.downcast_ref::<String>().unwrap();
        assert!(message.contains("time::advance"), "{message}");
        assert_eq!(clock.now(), before, "the clock did not move");
    }
}
