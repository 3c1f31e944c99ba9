//! The stall report: what the loop tells you when one poll blocked it.
//! (The observer lives here too, below: [`StallWatch`] keeps each poll over the
//! threshold that `Observers` notes, and hands the reports out after phase 2, once
//! the timers' lateness is known.)
//!
//! A single-threaded loop runs one task at a time. A task that calls a blocking
//! function (`std::thread::sleep`, a synchronous read, a heavy computation) inside
//! `poll`, or that loops over futures that are always ready, freezes every other task,
//! timer and socket until it returns. The loop times every poll, the `block_on`
//! future's too; when one takes longer than the threshold (100 ms by default,
//! `Builder::stall_threshold`, env `GLASSBOX_STALL_MS`, 0 = off), it reports which task
//! (or `block_on`), where it was spawned (called), how long the loop was blocked,
//! which tasks sat in the ready queue meanwhile, and how late the timers that came due
//! meanwhile fired.
//!
//! Two reports, two moments:
//! - [`LiveStall`], from the watchdog thread (`watchdog.rs`) *while* the poll still
//!   runs: at the threshold T, then 2T, 4T, ... A poll that never returns is reported
//!   too.
//! - [`StallReport`], from the loop once the poll has returned.
//!
//! Both say what the loop thread was doing, when the watchdog could tell: spinning
//! (on the CPU the whole time) wants an await point or `consume_budget`; blocked (off
//! the CPU) wants `spawn_blocking`.
//!
//! # Ground rules
//! - The loop's report is made after the turn's timer phase, so the lateness it gives
//!   is the lateness those timers really had.
//! - One loop report per stalled poll: to stderr, or to the `on_stall` callback
//!   instead. Live reports go to stderr, or to `on_live_stall`.

use std::cell::RefCell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use crate::observe::trace::{Tracer, trace};
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
    /// The task's name, if it was spawned with one (`spawn_named`).
    pub task_name: Option<String>,
    /// Where that task was spawned (or where `block_on` was called).
    pub spawned_at: &'static Location<'static>,
    /// True if the poll that blocked was the `block_on` future's, not a task's.
    pub in_block_on: bool,
    /// How long the poll (and so the whole loop) was blocked: never under the truth;
    /// with a threshold of 40 ms or more, up to one tick of the kernel's coarse clock
    /// (1–4 ms) over it (`observe/poll_clock.rs`).
    pub blocked_for: Duration,
    /// Timers that came due while the loop was blocked (fired in the same turn).
    pub timers_due: usize,
    /// How late the latest of those timers fired.
    pub max_timer_lateness: Duration,
    /// The tasks that sat in the ready queue, front first, when the poll ended: ready
    /// to run, and kept waiting by it. (A timer that fired before the stall has
    /// queued its task already: it is counted here, not in `timers_due`.)
    pub tasks_kept_waiting: Vec<TaskId>,
    /// What the loop thread was doing meanwhile, as the watchdog saw it (`Unknown`
    /// if the watchdog did not report this poll while it ran).
    pub cause: StallCause,
}

impl fmt::Display for StallReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_whose_poll(f, self.in_block_on, self.task_id, self.spawned_at)?;
        if let Some(name) = &self.task_name {
            write!(f, " \"{name}\"")?;
        }
        write!(
            f,
            " blocked the loop for {} ms; ",
            self.blocked_for.as_millis()
        )?;
        write_kept_waiting(f, &self.tasks_kept_waiting)?;
        match self.timers_due {
            0 => write!(f, "no timer came due meanwhile; ")?,
            due => write!(
                f,
                "{due} timer(s) came due meanwhile and fired up to {} ms late; ",
                self.max_timer_lateness.as_millis()
            )?,
        }
        f.write_str(self.cause.advice())
    }
}

/// `2 tasks sat in the ready queue meanwhile (2, 5); `: the first few, by id.
fn write_kept_waiting(f: &mut fmt::Formatter<'_>, tasks: &[TaskId]) -> fmt::Result {
    const NAMED: usize = 5;
    match tasks {
        [] => f.write_str("no task sat in the ready queue meanwhile; "),
        [task] => write!(f, "1 task sat in the ready queue meanwhile (task {task}); "),
        _ => {
            write!(
                f,
                "{} tasks sat in the ready queue meanwhile (tasks ",
                tasks.len()
            )?;
            for (i, task) in tasks.iter().take(NAMED).enumerate() {
                let comma = if i == 0 { "" } else { ", " };
                write!(f, "{comma}{task}")?;
            }
            let more = if tasks.len() > NAMED { ", …" } else { "" };
            write!(f, "{more}); ")
        }
    }
}

/// The start both reports share: `glassbox: stall:` and whose poll it is.
fn write_whose_poll(
    f: &mut fmt::Formatter<'_>,
    in_block_on: bool,
    task_id: TaskId,
    spawned_at: &'static Location<'static>,
) -> fmt::Result {
    if in_block_on {
        write!(
            f,
            "glassbox: stall: the block_on future (block_on called at {spawned_at})"
        )
    } else {
        write!(
            f,
            "glassbox: stall: task {task_id} (spawned at {spawned_at})"
        )
    }
}

/// What a stalled loop thread was doing, judged by the CPU time it used while the
/// watchdog watched (Linux: the thread's CPU clock; elsewhere always `Unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StallCause {
    /// On the CPU most of the time: computing, or looping over futures that are
    /// always ready. It needs an await point that can be pending, or
    /// `consume_budget().await` in its loop.
    Spinning,
    /// Off the CPU most of the time: blocked in a system call (a sleep, synchronous
    /// I/O, a lock). It belongs in `patterns::spawn_blocking`.
    Blocking,
    /// The watchdog did not see it, or cannot read the thread's CPU time.
    Unknown,
}

impl StallCause {
    /// Spinning above half of the wall time on the CPU, blocking below.
    pub(crate) fn from_cpu_share(share: Option<f64>) -> StallCause {
        match share {
            Some(share) if share >= 0.5 => StallCause::Spinning,
            Some(_) => StallCause::Blocking,
            None => StallCause::Unknown,
        }
    }

    /// The advice that ends a report.
    fn advice(self) -> &'static str {
        match self {
            StallCause::Spinning => {
                "it is spinning (on the CPU, never awaiting anything pending): add \
                 executor::consume_budget().await or yield_now().await to its loop"
            }
            StallCause::Blocking => {
                "it is blocked in a call that does not return (a sleep, synchronous I/O, a \
                 lock): move that call into patterns::spawn_blocking so the loop keeps running"
            }
            StallCause::Unknown => {
                "move blocking work into patterns::spawn_blocking, and give long loops an \
                 await point (executor::consume_budget), so the loop keeps running"
            }
        }
    }

    /// Two bits, for the watchdog's verdict word.
    pub(crate) fn code(self) -> u64 {
        match self {
            StallCause::Unknown => 0,
            StallCause::Spinning => 1,
            StallCause::Blocking => 2,
        }
    }

    pub(crate) fn from_code(code: u64) -> StallCause {
        match code {
            1 => StallCause::Spinning,
            2 => StallCause::Blocking,
            _ => StallCause::Unknown,
        }
    }
}

/// A poll that has held the loop longer than the stall threshold and is *still
/// running*, reported by the watchdog thread (at T, then 2T, 4T, ...).
///
/// tokio equivalent: none built in. asyncio equivalent: none (debug mode reports a
/// slow callback only once it returns).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LiveStall {
    /// The task whose poll is running (`TaskId` 0 if it is the `block_on` future).
    pub task_id: TaskId,
    /// Where that task was spawned (or where `block_on` was called).
    pub spawned_at: &'static Location<'static>,
    /// True if the poll is the `block_on` future's, not a task's.
    pub in_block_on: bool,
    /// How long the poll has held the loop so far, at least (timed from the
    /// watchdog's first look at it, up to half a threshold after it began).
    pub running_for: Duration,
    /// What the loop thread is doing.
    pub cause: StallCause,
    /// The share of the watched time the loop thread spent on the CPU (0.0 to 1.0),
    /// if it could be read.
    pub cpu_share: Option<f64>,
}

impl fmt::Display for LiveStall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_whose_poll(f, self.in_block_on, self.task_id, self.spawned_at)?;
        write!(
            f,
            " has held the loop for at least {} ms and is still running; ",
            self.running_for.as_millis()
        )?;
        if let Some(share) = self.cpu_share {
            write!(
                f,
                "its thread was on the CPU {:.0}% of the time; ",
                share * 100.0
            )?;
        }
        f.write_str(self.cause.advice())
    }
}

// === the observer: noting stalls and reporting them ===

/// What the user asked of stall reports (`Builder`).
#[derive(Clone)]
pub(crate) struct StallSettings {
    /// A poll longer than this is a stall; `None`: off.
    pub(crate) threshold: Option<Duration>,
    /// Where reports go; `None`: stderr.
    pub(crate) on_stall: Option<StallCallback>,
}

/// The callback `Builder::on_stall` installs.
pub(crate) type StallCallback = Rc<dyn Fn(&StallReport)>;

/// A poll that exceeded the stall threshold, waiting for phase 2's timer figures.
pub(crate) struct Stall {
    pub(crate) task_id: TaskId,
    pub(crate) name: Option<Rc<str>>,
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) blocked_for: Duration,
    pub(crate) in_block_on: bool,
    pub(crate) cause: StallCause,
    pub(crate) kept_waiting: Vec<TaskId>,
}

/// Tells a stall from a poll, keeps the stalls noted, and reports them once the
/// turn's timers have fired (`Event::TimerPhaseOver`).
pub(crate) struct StallWatch {
    settings: StallSettings,
    /// Polls that stalled since the last report.
    noted: RefCell<Vec<Stall>>,
}

impl StallWatch {
    pub(crate) fn new(settings: StallSettings) -> StallWatch {
        StallWatch {
            settings,
            noted: RefCell::new(Vec::new()),
        }
    }

    /// True if a stall waits to be reported.
    pub(crate) fn any_noted(&self) -> bool {
        !self.noted.borrow().is_empty()
    }

    /// True if a poll that took `took` is a stall.
    #[inline]
    pub(crate) fn is_stall(&self, took: Duration) -> bool {
        self.settings
            .threshold
            .is_some_and(|threshold| took > threshold)
    }

    /// Notes a stall, to be reported after the turn's timers have fired.
    pub(crate) fn note(&self, stall: Stall) {
        self.noted.borrow_mut().push(stall);
    }

    /// Reports every stall noted since the last call, with the figures of the timers
    /// that came due meanwhile.
    pub(crate) fn report(&self, timers_due: usize, max_timer_lateness: Duration, tracer: &Tracer) {
        if self.noted.borrow().is_empty() {
            return; // every turn but a stalled one
        }
        // Taken out first: the callback is user code, and may even stall again.
        let stalls = std::mem::take(&mut *self.noted.borrow_mut());
        for stall in stalls {
            let report = StallReport {
                task_id: stall.task_id,
                task_name: stall.name.as_deref().map(str::to_string),
                spawned_at: stall.spawned_at,
                blocked_for: stall.blocked_for,
                timers_due,
                max_timer_lateness,
                tasks_kept_waiting: stall.kept_waiting,
                in_block_on: stall.in_block_on,
                cause: stall.cause,
            };
            trace!(
                tracer,
                "stall  task={} blocked={:?}", report.task_id, report.blocked_for
            );
            match &self.settings.on_stall {
                Some(callback) => callback(&report),
                None => eprintln!("{report}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_on_the_cpu_half_the_time_or_more_is_spinning_less_is_blocking() {
        assert_eq!(StallCause::from_cpu_share(Some(0.97)), StallCause::Spinning);
        assert_eq!(StallCause::from_cpu_share(Some(0.5)), StallCause::Spinning);
        assert_eq!(StallCause::from_cpu_share(Some(0.49)), StallCause::Blocking);
        assert_eq!(StallCause::from_cpu_share(Some(0.0)), StallCause::Blocking);
        assert_eq!(StallCause::from_cpu_share(None), StallCause::Unknown);
    }

    #[test]
    fn a_cause_survives_the_watchdogs_two_bit_code() {
        for cause in [
            StallCause::Spinning,
            StallCause::Blocking,
            StallCause::Unknown,
        ] {
            assert_eq!(StallCause::from_code(cause.code()), cause);
        }
    }
}
