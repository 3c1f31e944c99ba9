//! The turn recorder: what one turn of the loop did, phase by phase, written down
//! while someone steps the loop by hand (`stepping.rs`: [`Runtime::turn`](crate::Runtime::turn)
//! hands back the [`Turn`]). It listens to the loop's events like every other observer
//! (`observe/mod.rs`).
//!
//! # Ground rules
//! - Recording costs nothing when nobody steps: every site in the loop goes through
//!   [`TurnRecorder::record`], which tests one `bool` before it touches the record.
//!   `block_on` never turns it on.
//! - Recording never changes what the loop does, only what it writes down.
//! - Recording ends with the turn, however the turn ends: a turn that unwinds (a
//!   panicking `on_stall` callback) stops it too ([`Recording`]'s `Drop`), or every
//!   later `block_on` would write down each of its polls, for ever.
//! - A `Turn` holds plain data (ids, spawn sites, durations), never a task or a waker.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use crate::event::Park;
use crate::observe::waits::{WaitLabel, WhatAndWhere};
use crate::observe::woken_by::WokenBy;
use crate::task::TaskId;

/// What one turn of the loop did, phase by phase. Returned by
/// [`Runtime::turn`](crate::Runtime::turn).
///
/// Times on the runtime's clock (`started_at`, deadlines, lateness) count from the
/// runtime's start, so with a paused clock they are the same on every run; the poll
/// durations and `parked_for` are wall-clock time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Turn {
    /// Which turn this was: 1 for the runtime's first (`Metrics::reactor_turns`).
    pub number: u64,
    /// The runtime's clock when the turn began.
    pub started_at: Duration,
    /// The runtime's clock when it ended (later than `started_at` when a paused clock
    /// jumped, or real time passed).
    pub ended_at: Duration,
    /// Phase 1: each task polled, in order.
    pub polls: Vec<PollRecord>,
    /// Phase 2 (and phase 5, after a jump): each timer that fired.
    pub timers: Vec<FiredTimer>,
    /// Phase 3: how long the loop was allowed to sleep.
    pub park: ParkLimit,
    /// Phase 3: how long it actually slept in `mio::Poll::poll` (wall clock).
    pub parked_for: Duration,
    /// Phase 3: each I/O readiness event taken in.
    pub io: Vec<IoEvent>,
    /// Phase 3: tasks whose coop budget ran out during phase 1, woken again now.
    pub forced_yields: Vec<TaskId>,
    /// Phase 4: tasks woken from other threads (or from outside the loop), taken in.
    pub remote_wakes: Vec<TaskId>,
    /// Phase 5: where a paused clock jumped to, if it did.
    pub clock_jump: Option<Duration>,
}

/// One poll of a task in phase 1.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollRecord {
    /// The task polled.
    pub task: TaskId,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// True if it finished (completed, panicked, or was cancelled by an abort).
    pub ready: bool,
    /// How long the poll took (wall clock).
    pub took: Duration,
    /// Why it was in the ready queue: what woke it (`None` if that wake came before
    /// the recording did, e.g. inside an earlier `block_on`).
    pub woken_by: Option<WokenBy>,
    /// The wait that wake ended, if the task had told it (`waits::note`): the
    /// `Queue::get` or `Semaphore::acquire` another task's poll let it out of.
    pub waited_in: Option<WaitLabel>,
}

/// One timer that came due.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FiredTimer {
    /// Its deadline, from the runtime's start.
    pub deadline: Duration,
    /// The wheel level it fired from (6: the overflow list).
    pub level: usize,
    /// The slot on that level.
    pub slot: usize,
    /// How long after its deadline it fired, on the runtime's clock.
    pub late: Duration,
}

/// One I/O readiness event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IoEvent {
    /// The source's token, shown as `key.generation`.
    pub token: String,
    /// The event said: readable (or closed for reading, or failed).
    pub readable: bool,
    /// The event said: writable (or closed for writing, or failed).
    pub writable: bool,
    /// Whose parked wakers it woke, in the order they were parked (readers first).
    pub woken: Vec<Owner>,
}

/// How long phase 3 was allowed to sleep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParkLimit {
    /// Not at all: work was ready, or the turn was not allowed to wait
    /// (`run_until_stalled`), or a paused clock only looked at I/O before jumping.
    #[default]
    NoWait,
    /// Until the next timer, due at this time from the runtime's start, or an event.
    UntilTimer(Duration),
    /// Until an I/O event or a wake from another thread: no timer was pending.
    UntilEvent,
}

// === impl Turn ===

impl Turn {
    /// True if the turn polled nothing, fired nothing, took in no event and no wake:
    /// the loop had nothing to do.
    pub fn is_idle(&self) -> bool {
        self.polls.is_empty()
            && self.timers.is_empty()
            && self.io.is_empty()
            && self.forced_yields.is_empty()
            && self.remote_wakes.is_empty()
            && self.clock_jump.is_none()
    }
}

/// A few aligned lines, one per phase that did something. The alternate form (`{:#}`)
/// leaves out wall-clock durations, so a paused-clock run prints the same every time.
impl fmt::Display for Turn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wall_times = !f.alternate();
        writeln!(
            f,
            "── turn {} · {} → {} ──",
            self.number,
            Millis(self.started_at),
            Millis(self.ended_at)
        )?;
        for poll in &self.polls {
            let outcome = if poll.ready { "Ready" } else { "Pending" };
            write!(
                f,
                "polls  │ task {} ({}) {outcome}",
                poll.task, poll.spawned_at
            )?;
            if wall_times {
                write!(f, " in {:?}", poll.took)?;
            }
            match poll.woken_by {
                Some(WokenBy::Spawn) => write!(f, ", its first poll")?,
                Some(woken_by) => write!(f, ", woken by {woken_by}")?,
                None => {}
            }
            writeln!(f)?;
            // A line of its own: with a call site, the row would pass 100 columns.
            if let Some(label) = poll.waited_in {
                writeln!(f, "       │   it waited in {}", WhatAndWhere(label))?;
            }
        }
        write!(f, "park   │ {}", self.park)?;
        if wall_times && self.park != ParkLimit::NoWait {
            write!(f, ", slept {:?}", self.parked_for)?;
        }
        writeln!(f)?;
        for event in &self.io {
            let readable = if event.readable { " READABLE" } else { "" };
            let writable = if event.writable { " WRITABLE" } else { "" };
            write!(f, "io     │ token {}{readable}{writable} → ", event.token)?;
            if event.woken.is_empty() {
                writeln!(f, "no waiter")?;
            } else {
                writeln!(f, "{}", Owners(&event.woken))?;
            }
        }
        if !self.forced_yields.is_empty() {
            writeln!(
                f,
                "yields │ {} (coop budget spent)",
                Tasks(&self.forced_yields)
            )?;
        }
        if !self.remote_wakes.is_empty() {
            writeln!(f, "remote │ {}", Tasks(&self.remote_wakes))?;
        }
        if let Some(to) = self.clock_jump {
            writeln!(
                f,
                "clock  │ jumped to {} (paused, nothing else could run)",
                Millis(to)
            )?;
        }
        for timer in &self.timers {
            writeln!(
                f,
                "timers │ {} L{} s{} late {}",
                Millis(timer.deadline),
                timer.level,
                timer.slot,
                Millis(timer.late)
            )?;
        }
        Ok(())
    }
}

impl ParkLimit {
    /// The limit `park` set, with the deadline as the wheel's tick `next_timer`.
    pub(crate) fn of(park: Park, next_timer: Option<u64>) -> ParkLimit {
        match (park, next_timer) {
            (Park::No, _) => ParkLimit::NoWait,
            (Park::Until(_), Some(tick)) => ParkLimit::UntilTimer(since_start(tick)),
            (Park::Until(_) | Park::UntilEvent, _) => ParkLimit::UntilEvent,
        }
    }
}

impl fmt::Display for ParkLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParkLimit::NoWait => f.write_str("did not wait"),
            ParkLimit::UntilTimer(due) => write!(f, "until the timer due at {}", Millis(*due)),
            ParkLimit::UntilEvent => f.write_str("until an event (no timer pending)"),
        }
    }
}

/// A duration as milliseconds to the µs: `12.000 ms`.
pub(crate) struct Millis(pub(crate) Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.as_micros();
        write!(f, "{}.{:03} ms", micros / 1000, micros % 1000)
    }
}

/// Task ids as a list: `task 3, task 5`.
struct Tasks<'a>(&'a [TaskId]);

impl fmt::Display for Tasks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, task) in self.0.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            write!(f, "{separator}task {task}")?;
        }
        Ok(())
    }
}

/// Whose waker the runtime holds in a timer or for a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Owner {
    /// A task of this runtime.
    Task(TaskId),
    /// The future passed to `block_on`.
    BlockOn,
    /// Any other waker: one that some combinator or another executor made, or a task
    /// of another runtime. Its insides are not this runtime's to read, so its owner
    /// is not guessed.
    Foreign,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Task(id) => write!(f, "task {id}"),
            Owner::BlockOn => f.write_str("block_on"),
            Owner::Foreign => f.write_str("a foreign waker"),
        }
    }
}

/// Owners as a list: `task 1, task 3` (also the `Turn`'s I/O lines).
pub(crate) struct Owners<'a>(pub(crate) &'a [Owner]);

impl fmt::Display for Owners<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, owner) in self.0.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            write!(f, "{separator}{owner}")?;
        }
        Ok(())
    }
}

// === The recorder the loop writes into ===

/// The `Turn` being recorded, if someone is stepping. Lives in the loop's `Core`.
#[derive(Debug, Default)]
pub(crate) struct TurnRecorder {
    recording: Cell<bool>,
    turn: RefCell<Turn>,
    /// When phase 3 began to wait, while recording.
    parked_at: Cell<Option<Instant>>,
    /// What woke the task being polled, and the wait that ended, while recording.
    woken_by: Cell<Option<WokenBy>>,
    waited_in: Cell<Option<WaitLabel>>,
}

impl TurnRecorder {
    /// Runs `write` on the turn being recorded; does nothing (one `bool` test) when
    /// nobody is stepping.
    #[inline]
    pub(crate) fn record(&self, write: impl FnOnce(&mut Turn)) {
        if self.recording.get() {
            write(&mut self.turn.borrow_mut());
        }
    }

    /// Phase 1: a task was polled.
    #[inline]
    pub(crate) fn polled(
        &self,
        task: TaskId,
        spawned_at: &'static Location<'static>,
        ready: bool,
        took: Duration,
    ) {
        self.record(|turn| {
            let poll = PollRecord {
                task,
                spawned_at,
                ready,
                took,
                woken_by: self.woken_by.take(),
                waited_in: self.waited_in.take(),
            };
            turn.polls.push(poll);
        });
    }

    /// Phase 1: the task about to be polled was woken by `cause`, out of the wait it
    /// had told, `waited_in`.
    #[inline]
    pub(crate) fn woken_by(&self, cause: Option<WokenBy>, waited_in: Option<WaitLabel>) {
        self.woken_by.set(cause);
        self.waited_in.set(waited_in);
    }

    /// Phase 2 (or 5): a timer fired from `level`/`slot`, `late` ticks after its
    /// `deadline` tick.
    #[inline]
    pub(crate) fn fired(&self, deadline: u64, level: usize, slot: usize, late: u64) {
        self.record(|turn| {
            turn.timers.push(FiredTimer {
                deadline: since_start(deadline),
                level,
                slot,
                late: since_start(late),
            });
        });
    }

    /// Phase 3 is about to wait: the stopwatch starts (no clock read unless recording).
    #[inline]
    pub(crate) fn park_begins(&self) {
        if self.recording.get() {
            self.parked_at.set(Some(Instant::now()));
        }
    }

    /// Phase 3: the loop parked as `park` allowed, since `park_begins`.
    #[inline]
    pub(crate) fn parked(&self, park: Park, next_timer: Option<u64>) {
        self.record(|turn| {
            turn.park = ParkLimit::of(park, next_timer);
            turn.parked_for = self
                .parked_at
                .take()
                .map_or(Duration::ZERO, |at| at.elapsed());
        });
    }

    /// Phase 3: a task's coop budget ran out during phase 1.
    #[inline]
    pub(crate) fn forced_yield(&self, task: TaskId) {
        self.record(|turn| turn.forced_yields.push(task));
    }

    /// Phase 4: a wake from another thread was taken in.
    #[inline]
    pub(crate) fn remote_wake(&self, task: TaskId) {
        self.record(|turn| turn.remote_wakes.push(task));
    }

    /// Phase 5: a paused clock jumped to `tick`.
    #[inline]
    pub(crate) fn jumped(&self, tick: u64) {
        self.record(|turn| turn.clock_jump = Some(since_start(tick)));
    }

    /// Starts recording turn `number`, which begins at `now_tick`, until the
    /// returned [`Recording`] is finished or dropped.
    pub(crate) fn start(&self, number: u64, now_tick: u64) -> Recording<'_> {
        *self.turn.borrow_mut() = Turn {
            number,
            started_at: Duration::from_micros(now_tick),
            ..Turn::default()
        };
        self.recording.set(true);
        Recording(self)
    }

    /// True while a turn is being recorded.
    #[inline]
    pub(crate) fn is_recording(&self) -> bool {
        self.recording.get()
    }
}

/// A turn being recorded. Dropped without [`finish`](Recording::finish) (the turn
/// unwound), it stops the recording and throws the half-written turn away.
pub(crate) struct Recording<'a>(&'a TurnRecorder);

impl Recording<'_> {
    /// Stops recording and hands back the turn, which ended at `now_tick`.
    pub(crate) fn finish(self, now_tick: u64) -> Turn {
        let mut turn = std::mem::take(&mut *self.0.turn.borrow_mut());
        turn.ended_at = Duration::from_micros(now_tick);
        turn
    }
}

impl Drop for Recording<'_> {
    fn drop(&mut self) {
        self.0.recording.set(false);
        *self.0.turn.borrow_mut() = Turn::default();
    }
}

/// A tick count as the `Duration` from the runtime's start that `Turn` reports.
pub(crate) fn since_start(tick: u64) -> Duration {
    Duration::from_micros(tick)
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::time::Duration;

    use crate::Runtime;

    #[test]
    fn a_turn_that_unwinds_stops_recording() {
        let mut rt = Runtime::builder()
            .stall_threshold(Some(Duration::from_millis(1)))
            .on_stall(|_| panic!("on_stall panics"))
            .on_live_stall(|_| {})
            .build()
            .unwrap();
        rt.spawn(async { std::thread::sleep(Duration::from_millis(5)) });
        let unwound = catch_unwind(AssertUnwindSafe(|| rt.turn()));
        assert!(unwound.is_err(), "the stall report's callback panicked");
        // Still recording, every later `block_on` would write down each of its polls.
        assert!(!rt.core.observers.recorder.is_recording());
    }
}
