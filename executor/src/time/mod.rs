//! Time as the runtime sees it: `now`, `advance` for the paused clock, the `Timer`
//! future, and `ClockHold` for work that runs outside the loop.
//!
//! Inside, one room: the clock (`clock.rs`), a pure timer wheel that takes time as a
//! parameter (`wheel.rs`), the driver a runtime shares with its timers (`driver.rs`),
//! and the `Timer` future (`timer.rs`). The loop fires what is due in phase 2.
//!
//! # Ground rules
//! - `now()` is the runtime's clock: real time, or virtual time when the runtime was
//!   built with `paused_clock(true)`. Outside a runtime it is `Instant::now()`.
//! - Resolution is 1 µs: deadlines round up to the next tick.
//! - A timer holds its runtime's driver, never the loop; only `event_loop/` fires
//!   timers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::event_loop::context;
use crate::task::yield_now::yield_now;

pub(crate) mod clock;
pub(crate) mod driver;
mod timer;
pub(crate) mod wheel;

pub use timer::Timer;

/// The current instant on the current runtime's clock (virtual if paused).
///
/// tokio equivalent: `tokio::time::Instant::now()`. asyncio equivalent: `loop.time()`.
pub fn now() -> Instant {
    context::current().map_or_else(Instant::now, |core| core.time.clock.now())
}

/// Moves a paused clock forward by `by`, fires the timers that came due, and yields
/// so their tasks run before this returns.
///
/// tokio equivalent: `tokio::time::advance`.
///
/// # Panics
/// Outside a runtime, if the runtime's clock is not paused, or if `by` would carry
/// the clock past half of what it can count (about 292,000 years; `Duration::MAX`,
/// say; tokio panics too). The clock is left unmoved then.
///
/// ```
/// use std::time::Duration;
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     let start = executor::time::now();
///     executor::time::advance(Duration::from_secs(5)).await;
///     assert_eq!(executor::time::now() - start, Duration::from_secs(5));
/// });
/// ```
pub async fn advance(by: Duration) {
    let core = context::expect_current("time::advance");
    core.time.clock.advance(by);
    core.fire_due_timers();
    drop(core);
    yield_now().await;
}

/// Keeps a paused clock from jumping while work runs outside the loop.
///
/// A paused clock jumps to the next timer as soon as no task can run. If a task is
/// waiting for a job on another thread (`spawn_blocking`), that would be wrong: the
/// job is still working, in real time. Whoever starts such a job takes a `ClockHold`
/// and drops it *after* waking the waiting task; the loop does not jump while any
/// hold is alive. With a real clock a hold changes nothing. `Send`: it is dropped on
/// the thread that did the work.
#[derive(Debug)]
#[must_use = "the clock is held only while the ClockHold is alive"]
pub struct ClockHold {
    holds: Option<Arc<AtomicUsize>>,
    /// Paused clock only: the `block_on` waker, woken when the last hold goes. A job
    /// nobody awaits wakes no task, and the loop, parked until a hold-holder's wake,
    /// must still learn that it may jump again.
    nudge: Option<Waker>,
}

/// Takes a [`ClockHold`] on the current runtime (an inert one outside any runtime).
pub fn hold_clock() -> ClockHold {
    let core = context::current();
    let holds = core.as_ref().map(|core| Arc::clone(&core.clock_holds));
    if let Some(holds) = &holds {
        holds.fetch_add(1, Ordering::AcqRel);
    }
    let nudge = core
        .filter(|core| core.time.clock.is_paused())
        .map(|core| core.block_on_waker.clone());
    ClockHold { holds, nudge }
}

impl Drop for ClockHold {
    fn drop(&mut self) {
        if let Some(holds) = &self.holds {
            // Release: the wake sent before this drop is visible to the loop that
            // reads the count (Acquire) and then drains the remote channel.
            let was_last = holds.fetch_sub(1, Ordering::AcqRel) == 1;
            if was_last && let Some(nudge) = &self.nudge {
                nudge.wake_by_ref();
            }
        }
    }
}
