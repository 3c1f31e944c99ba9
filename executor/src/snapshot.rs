//! The loop's whole state at one moment: [`Runtime::snapshot`](crate::Runtime::snapshot)
//! from outside, [`snapshot`] from inside a task.
//!
//! A trace tells you what happened; a snapshot tells you where everything *is*: which
//! tasks wait in the ready queue and in what order, which are parked, which timers sit
//! in which slot of the wheel, which sockets the reactor watches. asyncio shows the
//! same with `asyncio.all_tasks()`, `loop._ready` and `loop._scheduled`; tokio-console
//! keeps a live task table. Printed, it draws one pane per part of the loop, within
//! 100 columns (this is `examples/step.rs` after its first turn):
//!
//! ```text
//! ── after turn 1 · 0.000 ms · paused ──────────────────────────────────
//! ready  │ (none)
//! timers │ L1 s3: 0.250 ms · L1 s46: 3.000 ms
//! io     │ token 0.0 readable writable · token 1.1 writable, 1 reader parked
//! tasks  │ id  state      polls wakes  spawned at
//!        │ 1   parked         1     0  examples/step.rs:30:8
//!        │ 2   parked         1     0  examples/step.rs:40:8
//!        │ 3   parked         1     0  examples/step.rs:44:8
//!        │ 4   parked         1     0  examples/step.rs:32:9
//! blocking jobs in flight: 0
//! ```
//!
//! What it leaves out, and why: who owns a timer or waits on a socket. The wheel and
//! the reactor hold `Waker`s, which are opaque (any `Waker` may be parked there, not
//! only a task's), so the owners are not known without the wakers' insides; they are
//! omitted rather than guessed. The counts of parked readers and writers are shown.
//!
//! # Ground rules
//! - Taking a snapshot may be slow (it walks every task, timer and source and
//!   allocates); not taking one costs nothing but the two per-task counters
//!   (`Header::polls`, `Header::wakes`), a load and a store each per poll and wake.
//! - A snapshot copies plain data out (ids, spawn sites, deadlines) and borrows each
//!   of the loop's tables only while copying it, never across user code: it can be
//!   taken from inside a task.

use std::fmt::{self, Write as _};
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::context;
use crate::event_loop::Core;
use crate::runtime::Runtime;
use crate::task::{Header, TaskId};
use crate::turn::{Millis, since_start};

/// The loop's state at one moment. `Display` draws it as panes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// Turns completed so far (`Metrics::reactor_turns`).
    pub turns: u64,
    /// The runtime's clock, from its start.
    pub now: Duration,
    /// Whether the clock is paused (virtual time).
    pub paused: bool,
    /// The ready queue, front first: the order phase 1 will poll them in.
    pub ready: Vec<TaskId>,
    /// Every live task, by id.
    pub tasks: Vec<TaskInfo>,
    /// Every pending timer, earliest deadline first.
    pub timers: Vec<PendingTimer>,
    /// Every source registered with the reactor.
    pub io: Vec<IoRegistration>,
    /// Blocking jobs running on other threads (those that hold the clock, as
    /// `spawn_blocking`'s do: `time::hold_clock`).
    pub blocking_jobs: usize,
}

/// One live task.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskInfo {
    /// Its id.
    pub id: TaskId,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// Where it is in its lifecycle.
    pub state: TaskState,
    /// Times it was polled.
    pub polls: u32,
    /// Wakes it received (its own and others', local and remote).
    pub wakes: u32,
}

/// Where a live task is in its lifecycle (see the diagram in `task/mod.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// In the ready queue, waiting for phase 1.
    Scheduled,
    /// Waiting for a wake: its waker is parked somewhere (a timer, a socket, a
    /// pattern's wait list), or nowhere if it was lost.
    Parked,
    /// Being polled: the snapshot was taken from inside it.
    Running,
}

/// One pending timer: where it sits in the wheel and when it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingTimer {
    /// Its deadline, from the runtime's start.
    pub deadline: Duration,
    /// Its level: 0–5 the wheel, 6 the overflow list, 7 the never list.
    pub level: usize,
    /// Its slot on that level.
    pub slot: usize,
}

/// One source registered with the reactor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IoRegistration {
    /// Its token, shown as `key.generation`.
    pub token: String,
    /// Reading is worth trying: an event said so, or nothing has drained it yet.
    pub readable: bool,
    /// Writing is worth trying.
    pub writable: bool,
    /// Read operations parked on it, waiting for an event.
    pub readers: usize,
    /// Write operations parked on it.
    pub writers: usize,
}

/// The current runtime's state, taken from inside a task (or the `block_on` future).
///
/// # Panics
/// Outside a runtime.
///
/// ```
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.block_on(async {
///     executor::spawn(async {});
///     let seen = executor::snapshot();
///     assert_eq!(seen.ready.len(), 1);
/// });
/// ```
#[track_caller]
pub fn snapshot() -> Snapshot {
    let core = context::expect_current("executor::snapshot");
    take(&core, Some(core.polling.get()))
}

impl Runtime {
    /// The loop's state now: clock, ready queue, tasks, timers, I/O sources, blocking
    /// jobs. See [`Snapshot`] for what it holds and how it prints; from inside a task,
    /// call [`snapshot`](crate::snapshot()) instead.
    pub fn snapshot(&self) -> Snapshot {
        take(&self.core, None)
    }
}

/// Copies the state out of `core`. `polling`: the task being polled, if any.
pub(crate) fn take(core: &Core, polling: Option<TaskId>) -> Snapshot {
    let ready = {
        let tasks = core.tasks.borrow();
        let queue = core.ready.borrow();
        queue
            .iter()
            .filter_map(|&key| tasks.get(key as usize).map(|task| task.header().id))
            .collect()
    };
    let mut tasks: Vec<TaskInfo> = core
        .tasks
        .borrow()
        .iter()
        .map(|(_, task)| {
            let header = task.header();
            let state = if Some(header.id) == polling {
                TaskState::Running
            } else if Header::flag(&header.scheduled) {
                TaskState::Scheduled
            } else {
                TaskState::Parked
            };
            TaskInfo {
                id: header.id,
                spawned_at: header.spawned_at,
                state,
                polls: Header::counted(&header.polls),
                wakes: Header::counted(&header.wakes),
            }
        })
        .collect();
    tasks.sort_by_key(|task| task.id);
    let mut timers: Vec<PendingTimer> = core
        .timers
        .borrow()
        .pending_timers()
        .map(|(deadline, location)| PendingTimer {
            deadline: since_start(deadline),
            level: location.level,
            slot: location.slot,
        })
        .collect();
    timers.sort_by_key(|timer| timer.deadline);
    Snapshot {
        turns: core.counters.reactor_turns.get(),
        now: since_start(core.clock.now_tick()),
        paused: core.clock.is_paused(),
        ready,
        tasks,
        timers,
        io: core.reactor.registrations(),
        blocking_jobs: core.clock_holds.load(Ordering::Acquire),
    }
}

// === impl Display ===

/// The width the panes wrap at.
const COLUMNS: usize = 100;

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = if self.paused { "paused" } else { "real" };
        let title = format!(
            "── after turn {} · {} · {clock} ",
            self.turns,
            Millis(self.now)
        );
        writeln!(f, "{title:─<70}")?;
        let ready = self.ready.iter().map(|id| format!("task {id}"));
        pane(f, "ready", ready.collect(), " → ")?;
        let timers = self.timers.iter().map(|timer| {
            let deadline = Millis(timer.deadline);
            format!("L{} s{}: {deadline}", timer.level, timer.slot)
        });
        pane(f, "timers", timers.collect(), " · ")?;
        pane(f, "io", self.io.iter().map(show_io).collect(), " · ")?;
        writeln!(f, "tasks  │ id  state      polls wakes  spawned at")?;
        for task in &self.tasks {
            let state = match task.state {
                TaskState::Scheduled => "scheduled",
                TaskState::Parked => "parked",
                TaskState::Running => "running",
            };
            writeln!(
                f,
                "       │ {:<3} {state:<9} {:>6} {:>5}  {}",
                task.id, task.polls, task.wakes, task.spawned_at
            )?;
        }
        writeln!(f, "blocking jobs in flight: {}", self.blocking_jobs)
    }
}

/// One source: `token 1.1 writable, 1 reader parked`.
fn show_io(source: &IoRegistration) -> String {
    let mut shown = format!("token {}", source.token);
    let readiness = [(source.readable, "readable"), (source.writable, "writable")];
    for (_, word) in readiness.iter().filter(|(ready, _)| *ready) {
        let _ = write!(shown, " {word}");
    }
    let parked = [(source.readers, "reader"), (source.writers, "writer")];
    for (count, what) in parked.iter().filter(|(count, _)| *count > 0) {
        let plural = if *count == 1 { "" } else { "s" };
        let _ = write!(shown, ", {count} {what}{plural} parked");
    }
    shown
}

/// A pane: `label  │ item · item · …`, wrapped onto continuation lines at `COLUMNS`.
fn pane(
    f: &mut fmt::Formatter<'_>,
    label: &str,
    items: Vec<String>,
    separator: &str,
) -> fmt::Result {
    let mut line = format!("{label:<6} │ ");
    let mut at_line_start = true;
    if items.is_empty() {
        line.push_str("(none)");
    }
    for item in items {
        let width = line.chars().count() + separator.chars().count() + item.chars().count();
        if !at_line_start && width > COLUMNS {
            writeln!(f, "{line}")?;
            line = String::from("       │ ");
            at_line_start = true;
        }
        if !at_line_start {
            line.push_str(separator);
        }
        line.push_str(&item);
        at_line_start = false;
    }
    writeln!(f, "{line}")
}
