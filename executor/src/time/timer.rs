//! The `Timer` future: a deadline registered in the runtime's timer wheel.
//!
//! ```text
//! first poll ─► deadline passed? ─yes─► Ready (the wheel is never touched)
//!                   │ no
//!                   ▼
//!        Wheel::insert(tick, waker) ─► Pending ... run_once phase 2: Wheel::advance
//!                                                   hands the waker back, it is woken
//! next poll ─► Wheel::is_fired? ─yes─► Wheel::remove, Ready
//! reset     ─► Wheel::reset: the entry moves, its waker with it (or is woken, if due)
//! drop      ─► Wheel::remove (cancel: O(1) unlink)
//! ```
//!
//! # Ground rules
//! - Registration is lazy: creating a `Timer` costs nothing and needs no runtime;
//!   the first poll must happen inside one.
//! - While registered, the `Timer` owns its wheel entry: the key stays valid (the
//!   wheel keeps fired entries until removed) and is removed exactly once, by the
//!   poll that observes the firing or by `Drop`.
//! - `reset` moves a registered entry in place and keeps its waker. The task waiting
//!   on a shared timer may not be the one that moves it, and nobody else would
//!   register the new deadline for it: cancel on reset, and the waiter sleeps for ever.
//! - A registered `Timer` belongs to the runtime it registered with. Polled anywhere
//!   else it panics: no other loop fires that runtime's wheel, so it would never wake.
//! - A deadline half of what the clock can count from now or later (`Duration::MAX`
//!   from now, say; `clock.rs`) never fires: its entry sits at the wheel's `NEVER` tick, where the paused clock never
//!   jumps, and waits only for a `reset`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::clock;
use super::driver::TimeDriver;
use super::wheel::TimerKey;
use crate::coop;
use crate::event_loop::context;

/// A future that completes at (or, by up to one tick, after) a deadline.
///
/// The low-level piece behind `patterns::sleep` and `patterns::timeout`. Deadlines
/// round up to the next 1 µs tick. It is `Unpin`, so it can be reset in place.
///
/// ```
/// use std::time::Duration;
/// use executor::time::{self, Timer};
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     let start = time::now();
///     Timer::new(start + Duration::from_secs(3600)).await;
///     assert!(time::now() - start >= Duration::from_secs(3600));
/// });
/// ```
pub struct Timer {
    deadline: Instant,
    registration: Option<Registration>,
}

/// A live entry in a runtime's wheel, owned by one `Timer`.
struct Registration {
    time: Rc<TimeDriver>,
    key: TimerKey,
}

// === impl Timer ===

impl Timer {
    /// A timer for `deadline`. Nothing is registered until the first poll. A deadline
    /// half of what the clock can count from now or later (about 292,000 years) never
    /// fires.
    pub fn new(deadline: Instant) -> Timer {
        Timer {
            deadline,
            registration: None,
        }
    }

    /// A timer for `duration` from now, on the current runtime's clock (the real one
    /// outside a runtime). `Duration::MAX`, and any duration that ends past what the
    /// clock can count, never fires.
    ///
    /// ```
    /// use std::time::Duration;
    /// use executor::time::{self, Timer};
    ///
    /// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
    /// rt.block_on(async {
    ///     let start = time::now();
    ///     Timer::after(Duration::from_secs(90)).await;
    ///     assert_eq!(time::now() - start, Duration::from_secs(90));
    /// });
    /// ```
    // Inlined into the callers in `patterns`: as a plain cross-crate call it cost
    // 8 ns per `timeout` (the `timeout_ready` row went from 0.66 to 0.83 of tokio).
    #[inline]
    pub fn after(duration: Duration) -> Timer {
        Timer::new(clock::deadline_after(crate::time::now(), duration))
    }

    /// When this timer completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline, earlier or later. If the timer is registered, its wheel
    /// entry moves with the waker in it, so whichever task is waiting on the timer is
    /// woken at the new deadline (at once, if it has passed). Otherwise the next poll
    /// registers the new deadline.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if let Some(Registration { time, key }) = &self.registration {
            time.rearm(*key, deadline);
        }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A timer that fires spends one unit of the task's coop budget (coop.rs).
        coop::poll_budgeted(cx, |cx| self.poll_deadline(cx))
    }
}

impl Timer {
    /// The poll proper: registers on the first poll, and completes once fired.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &self.registration {
            None => {
                let core = context::expect_current("polling a Timer (sleep, timeout)");
                let time = Rc::clone(&core.time);
                let Some(key) = time.arm(self.deadline, cx.waker()) else {
                    return Poll::Ready(());
                };
                self.registration = Some(Registration { time, key });
                // Pending: run_once's timer phase wakes us when the tick comes.
                Poll::Pending
            }
            Some(Registration { time, key }) => {
                if !context::with_runtime(time.runtime_id, |_| {}) {
                    panic!(
                        "glassbox: a Timer (sleep, timeout) registered with one runtime was \
                         polled outside it, on another runtime or none; only its own \
                         runtime's loop can fire it, so it would never wake. Create the \
                         sleep or timeout on the runtime that awaits it"
                    );
                }
                let fired = time.poll_armed(*key, cx.waker());
                if fired.is_ready() {
                    // Later polls take the first branch and see the deadline passed.
                    self.registration = None;
                }
                // Pending: still in the wheel; run_once's timer phase wakes us.
                fired
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // Removes the wheel entry, if any.
        if let Some(Registration { time, key }) = self.registration.take() {
            time.disarm(key);
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("deadline", &self.deadline)
            .field("registered", &self.registration.is_some())
            .finish()
    }
}
