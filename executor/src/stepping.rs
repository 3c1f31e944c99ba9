//! Stepping the loop by hand: [`Runtime::turn`](crate::Runtime::turn) runs one turn
//! and hands back a [`Turn`](crate::Turn), the record of what that turn did
//! (`observe/turn.rs` writes it down).
//!
//! `block_on` turns the loop for you and shows you nothing. A reader who wants to see
//! the phases of `event_loop/mod.rs` happen (asyncio readers know `loop._run_once`,
//! futures' `LocalPool` has `run_until_stalled`) steps instead:
//!
//! ```
//! use std::time::Duration;
//! use executor::{Runtime, time};
//!
//! let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
//! rt.spawn(async { time::Timer::after(Duration::from_micros(40)).await });
//! // Polls the task, which parks on its timer; nothing else can run, so the paused
//! // clock jumps and the timer fires.
//! let first = rt.turn();
//! assert_eq!((first.polls.len(), first.timers.len()), (1, 1));
//! let second = rt.turn(); // the task finishes
//! assert!(second.polls[0].ready);
//! print!("{first:#}{second:#}");
//! ```
//!
//! prints (`{:#}` leaves out wall-clock durations, so a paused-clock run prints the
//! same text every time; `tests/step.rs` holds it as a golden test):
//!
//! ```text
//! ── turn 1 · 0.000 ms → 0.040 ms ──
//! polls  │ task 1 (src/main.rs:6:4) Pending, its first poll
//! park   │ did not wait
//! clock  │ jumped to 0.040 ms (paused, nothing else could run)
//! timers │ 0.040 ms L0 s40 late 0.000 ms
//! ── turn 2 · 0.040 ms → 0.040 ms ──
//! polls  │ task 1 (src/main.rs:6:4) Ready, woken by the timer due 0.040 ms
//! park   │ did not wait
//! ```
//!
//!
//!
//! # Ground rules
//! - A stepped turn is entered as `block_on` would be (the runtime current), and is
//!   recorded from its first phase to its last; `block_on` never records.
//! - There is no `block_on` future while stepping: a wake left for one from an
//!   earlier `block_on` does not count as ready work.

use crate::event_loop::WaitPolicy;
use crate::event_loop::context;
use crate::observe::turn::Turn;
use crate::record::recorded_turn;
use crate::runtime::Runtime;
use crate::snapshot::{self, Snapshot};

impl Runtime {
    /// Runs exactly one turn of the loop (phases 1–5 of `event_loop/mod.rs`) and returns
    /// what it did. Tasks spawned with [`Runtime::spawn`] run here as under
    /// `block_on`; there is no `block_on` future.
    ///
    /// Like a turn inside `block_on`, it sleeps in phase 3 when nothing is ready: until
    /// the next timer or an I/O event. A paused clock does not sleep; it jumps to the
    /// next timer's slot instead (a far timer's slot start may come before its
    /// deadline: the wheel cascades it there, and a later turn jumps again). With no
    /// timer pending it sleeps until an I/O event or a wake from another thread,
    /// however long that takes; but once no task is left alive it does not sleep, for
    /// nothing could wake it.
    ///
    /// asyncio equivalent: `loop._run_once()`. async-executor's `try_tick` runs one
    /// task; this runs one turn (up to `event_interval` tasks, then timers and I/O).
    ///
    /// # Panics
    /// If a runtime is already running on this thread (called from inside a task).
    pub fn turn(&mut self) -> Turn {
        self.turn_with(WaitPolicy::WhileTasksLive)
    }

    /// Turns the loop until a turn finds nothing to do, without ever sleeping and
    /// without jumping a paused clock: it stops where `turn` would start to wait for a
    /// timer, an I/O event or another thread. Returns the turns that did something, in
    /// order (the last, idle one is left out).
    ///
    /// A timer that is already due still fires, and I/O that has already arrived is
    /// still taken in (phase 3 looks without waiting). Parked on a later timer, the
    /// tasks stay parked and the clock stays where it is: call [`turn`](Runtime::turn)
    /// to let it jump. This is futures' `LocalPool::run_until_stalled`, not asyncio's
    /// `_run_once`, which would sleep until the timer.
    ///
    /// A task that is always ready never lets the loop stall, and then this never
    /// returns (as with futures').
    pub fn run_until_stalled(&mut self) -> Vec<Turn> {
        let mut turns = Vec::new();
        loop {
            let turn = self.turn_with(WaitPolicy::Never);
            if turn.is_idle() {
                return turns;
            }
            turns.push(turn);
        }
    }

    /// The loop's state now: clock, ready queue, tasks, timers, I/O sources, blocking
    /// jobs, warnings. See [`Snapshot`] for what it holds and how it prints; from
    /// inside a task, call [`snapshot`](crate::snapshot()) instead.
    pub fn snapshot(&self) -> Snapshot {
        snapshot::take(&self.core)
    }

    /// One recorded turn, entered as `block_on` would be.
    fn turn_with(&mut self, waiting: WaitPolicy) -> Turn {
        let _current = context::enter(&self.core);
        let core = &*self.core;
        // There is no `block_on` future to poll: a wake left for it from an earlier
        // `block_on` (or a clock hold's nudge) must not count as ready work.
        core.block_on_woken.set(false);
        let turn = match &self.recorder {
            Some(recorder) => recorder.turn(core, waiting),
            None => recorded_turn(core, waiting),
        };
        core.block_on_woken.set(false);
        turn
    }
}
