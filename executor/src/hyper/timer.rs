//! [`GlassboxTimer`] and its [`GlassboxSleep`]: `hyper::rt::Timer` on the runtime's
//! timer wheel.
//!
//! hyper times things out on its own: `header_read_timeout` closes a client that
//! opens a connection and never finishes its request head (a slowloris), and HTTP/2
//! sends keep-alive pings on an interval. It asks the runtime for sleeps through this
//! trait, and hyper's `Sleep` trait demands `Send + Sync`.
//!
//! # Why not wrap a [`Timer`](crate::time::Timer)
//!
//! A registered `Timer` holds an `Rc` to its runtime, so it is neither `Send` nor
//! `Sync`, and it must not be: an `Rc` cloned on two threads at once corrupts its
//! count. `unsafe impl Send` on a wrapper would be a promise we cannot keep (hyper's
//! bounds allow moving the sleep to another thread and dropping it there).
//! [`GlassboxSleep`] keeps nothing that is tied to a thread: a deadline, and, once
//! polled, the runtime's id and its key in the wheel, plain numbers. Each poll,
//! reset or drop finds the runtime in the thread's current-runtime slot
//! (`event_loop/context.rs`) and works on the wheel there with the same four steps `Timer` uses
//! (`time/driver.rs`: `arm`, `poll_armed`, `rearm`, `disarm`). So it is `Send + Sync`
//! by construction, and the compiler checks it.
//!
//! # Ground rules
//! - Creating a sleep touches no wheel; the first poll registers it, on the runtime
//!   current on the polling thread.
//! - A registered sleep belongs to that runtime. Polled or reset anywhere else (another
//!   thread, another runtime, none) it panics: no other loop fires its wheel entry,
//!   so it would never wake.
//! - `reset` moves the wheel entry in place: no allocation, no new entry. hyper's
//!   HTTP/1 server resets one sleep per keep-alive request, so a million requests on
//!   a connection leave the wheel as it was (`tests/http.rs` checks it).
//! - Dropped on its runtime's thread, a sleep removes its entry. Dropped anywhere
//!   else, it cannot reach the wheel: the entry stays until it fires and then until
//!   the runtime goes, one leaked slot rather than a crash in a destructor. hyper
//!   drops a connection's sleeps inside the connection's task, so it never happens
//!   in a server.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Sleep, Timer};

use crate::coop;
use crate::event_loop::context;
use crate::time::clock;
use crate::time::wheel::TimerKey;

/// `hyper::rt::Timer` for glassbox: sleeps in the current runtime's timer wheel, on
/// its clock (paused clocks included).
///
/// hyper-util equivalent: `TokioTimer`.
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
/// use executor::hyper::GlassboxTimer;
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     let timer = GlassboxTimer::new();
///     let start = timer.now();
///     timer.sleep(Duration::from_secs(30)).await;
///     assert_eq!(timer.now() - start, Duration::from_secs(30));
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GlassboxTimer {
    // Built with `new` or `default`, so a field can come later without a break.
    _private: (),
}

/// The sleep [`GlassboxTimer`] hands hyper: a deadline, and its wheel entry once
/// polled. `Send + Sync` without `unsafe` (see the module docs).
#[derive(Debug)]
pub struct GlassboxSleep {
    deadline: Instant,
    /// Set by the first poll that finds the deadline ahead; cleared when the poll
    /// that sees the firing removes the entry.
    armed: Option<Armed>,
}

/// A sleep's entry in one runtime's wheel.
#[derive(Debug, Clone, Copy)]
struct Armed {
    runtime: u64,
    key: TimerKey,
}

// === impl GlassboxTimer ===

impl GlassboxTimer {
    /// The timer for whichever runtime polls its sleeps.
    pub fn new() -> GlassboxTimer {
        GlassboxTimer::default()
    }
}

impl Timer for GlassboxTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(GlassboxSleep::new(clock::deadline_after(
            crate::time::now(),
            duration,
        )))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(GlassboxSleep::new(deadline))
    }

    /// The runtime's clock, so hyper's deadlines and the wheel agree when the clock
    /// is paused.
    fn now(&self) -> Instant {
        crate::time::now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<GlassboxSleep>() {
            Some(ours) => ours.get_mut().reset(new_deadline),
            // Someone else's sleep: we cannot move it, so replace it.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

// === impl GlassboxSleep ===

impl GlassboxSleep {
    /// A sleep until `deadline`. Nothing is registered until the first poll.
    pub fn new(deadline: Instant) -> GlassboxSleep {
        GlassboxSleep {
            deadline,
            armed: None,
        }
    }

    /// When this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline, earlier or later, without allocating: a registered entry
    /// moves in the wheel with its waker (and is woken at once if already due).
    ///
    /// # Panics
    /// If the sleep is registered with a runtime that is not current on this thread.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if let Some(Armed { runtime, key }) = self.armed {
            let moved = context::with_runtime(runtime, |core| core.time.rearm(key, deadline));
            if !moved {
                off_its_runtime("reset");
            }
        }
    }

    /// The poll proper: registers on the first poll, and completes once fired.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(Armed { runtime, key }) = self.armed else {
            let core = context::expect_current("polling a hyper sleep (GlassboxSleep)");
            let Some(key) = core.time.arm(self.deadline, cx.waker()) else {
                return Poll::Ready(());
            };
            self.armed = Some(Armed {
                runtime: core.id,
                key,
            });
            // Pending: run_once's timer phase wakes us when the tick comes.
            return Poll::Pending;
        };
        let mut fired = Poll::Pending;
        if !context::with_runtime(runtime, |core| {
            fired = core.time.poll_armed(key, cx.waker())
        }) {
            off_its_runtime("polled");
        }
        if fired.is_ready() {
            // The key is spent; a later poll registers afresh and sees the deadline
            // passed.
            self.armed = None;
        }
        // Pending: still in the wheel; run_once's timer phase wakes us.
        fired
    }
}

impl Future for GlassboxSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Spends one unit of the task's coop budget when it fires, as `Timer` does.
        coop::poll_budgeted(cx, |cx| this.poll_deadline(cx))
    }
}

impl Sleep for GlassboxSleep {}

impl Drop for GlassboxSleep {
    fn drop(&mut self) {
        if let Some(Armed { runtime, key }) = self.armed.take() {
            // Off its runtime's thread this does nothing: see the module's ground rules.
            context::with_runtime(runtime, |core| core.time.disarm(key));
        }
    }
}

/// The panic for a registered sleep used where its runtime is not current.
fn off_its_runtime(what: &str) -> ! {
    panic!(
        "glassbox: a hyper sleep registered with one runtime was {what} outside it, on \
         another thread or runtime or none; only its own runtime's loop can fire it, so \
         it would never wake. Serve each connection on the runtime that accepted it"
    )
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;
    use crate::Runtime;

    fn assert_send_sync<T: Send + Sync>() {}

    /// Pending timers in the current runtime's wheel.
    fn pending() -> usize {
        context::expect_current("test")
            .time
            .wheel
            .borrow()
            .pending()
    }

    /// Polls `sleep` once; it must still be pending.
    async fn poll_once(sleep: &mut Pin<Box<dyn Sleep>>) {
        poll_fn(|cx| {
            assert!(sleep.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
    }

    fn paused_runtime() -> Runtime {
        Runtime::builder().paused_clock(true).build().unwrap()
    }

    #[test]
    fn the_sleep_is_send_and_sync_without_unsafe() {
        assert_send_sync::<GlassboxSleep>();
        assert_send_sync::<GlassboxTimer>();
    }

    #[test]
    fn reset_moves_the_same_sleep_and_its_one_wheel_entry() {
        let _hang = crate::hang_guard::start();
        paused_runtime().block_on(async {
            let timer = GlassboxTimer::new();
            let start = timer.now();
            let mut sleep = timer.sleep(Duration::from_secs(30));
            poll_once(&mut sleep).await;
            let before: *const dyn Sleep = &*sleep;
            timer.reset(&mut sleep, start + Duration::from_secs(5));
            // The same box: hyper's reset of our sleep allocates nothing.
            assert!(std::ptr::addr_eq(before, &*sleep));
            assert_eq!(pending(), 1, "moved, not added");
            sleep.await;
            assert_eq!(timer.now() - start, Duration::from_secs(5));
            assert_eq!(pending(), 0);
        });
    }

    #[test]
    fn dropping_a_registered_sleep_removes_its_entry() {
        let _hang = crate::hang_guard::start();
        paused_runtime().block_on(async {
            let mut sleep = GlassboxTimer::new().sleep(Duration::from_secs(30));
            poll_once(&mut sleep).await;
            assert_eq!(pending(), 1);
            drop(sleep);
            assert_eq!(pending(), 0);
        });
    }

    #[test]
    fn a_sleep_in_the_past_is_ready_without_touching_the_wheel() {
        let _hang = crate::hang_guard::start();
        paused_runtime().block_on(async {
            let timer = GlassboxTimer::new();
            timer.sleep_until(timer.now()).await;
            assert_eq!(pending(), 0);
        });
    }

    #[test]
    #[should_panic(expected = "outside it")]
    fn a_registered_sleep_polled_on_another_runtime_panics() {
        let _hang = crate::hang_guard::start();
        let mut sleep = GlassboxTimer::new().sleep(Duration::from_secs(30));
        paused_runtime().block_on(poll_once(&mut sleep));
        // Its runtime is gone: nobody would ever fire it.
        paused_runtime().block_on(poll_once(&mut sleep));
    }
}
