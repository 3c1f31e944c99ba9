//! The stall report: what the loop tells you when one poll blocked it.
//!
//! A single-threaded loop runs one task at a time. A task that calls a blocking
//! function (`std::thread::sleep`, a synchronous read, a heavy computation) inside
//! `poll` freezes every other task, timer and socket until it returns. The loop
//! times every poll, the `block_on` future's too; when one takes longer than the
//! threshold (100 ms by default, `Builder::stall_threshold`, env `GLASSBOX_STALL_MS`,
//! 0 = off), it reports which task (or `block_on`), where it was spawned (called),
//! how long the loop was blocked and how late the timers that came due meanwhile
//! fired.
//!
//! # Ground rules
//! - The report is made after the turn's timer phase, so the lateness it gives is the
//!   lateness those timers really had.
//! - One report per stalled poll: to stderr, or to the `on_stall` callback instead.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

use crate::task::TaskId;

/// One poll that blocked the loop for longer than the stall threshold.
///
/// tokio equivalent: none built in (tokio-console shows "busy" tasks). asyncio
/// equivalent: debug mode's "Executing <Task …> took 0.2 seconds" warning.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StallReport {
    /// The task whose poll blocked (`TaskId` 0 if it was the `block_on` future).
    pub task_id: TaskId,
    /// Where that task was spawned (or where `block_on` was called).
    pub spawned_at: &'static Location<'static>,
    /// True if the poll that blocked was the `block_on` future's, not a task's.
    pub in_block_on: bool,
    /// How long the poll (and so the whole loop) was blocked.
    pub blocked_for: Duration,
    /// Timers that came due while the loop was blocked (fired in the same turn).
    pub timers_due: usize,
    /// How late the latest of those timers fired.
    pub max_timer_lateness: Duration,
}

impl fmt::Display for StallReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blocked = self.blocked_for.as_millis();
        if self.in_block_on {
            write!(
                f,
                "glassbox: stall: the block_on future (block_on called at {}) blocked the loop for {blocked} ms; ",
                self.spawned_at
            )?;
        } else {
            write!(
                f,
                "glassbox: stall: task {} (spawned at {}) blocked the loop for {blocked} ms; ",
                self.task_id, self.spawned_at
            )?;
        }
        match self.timers_due {
            0 => write!(f, "no timer came due meanwhile; ")?,
            due => write!(
                f,
                "{due} timer(s) came due meanwhile and fired up to {} ms late; ",
                self.max_timer_lateness.as_millis()
            )?,
        }
        write!(
            f,
            "move blocking work into patterns::spawn_blocking so the loop keeps running"
        )
    }
}
