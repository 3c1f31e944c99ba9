//! What the loop tells whoever watches it. Each event of `event_loop.rs` is one call
//! here, which hands it to the three observers:
//!
//! ```text
//!                      ┌─► trace!     a line on stderr        (trace.rs,    GLASSBOX_TRACE=1)
//! loop ─► observe_* ───┼─► timeline   Chrome trace-event JSON (timeline.rs, GLASSBOX_TRACE_JSON)
//!                      └─► recorder   the `Turn` being stepped (turn.rs,    Runtime::turn)
//! ```
//!
//! # Ground rules
//! - Watching costs nothing when nobody watches: each observer tests one `bool` (or
//!   `Option`) before it formats, writes or records anything, and an event that needs
//!   a clock reading takes it only for an observer that is on.
//! - Observing never changes what the loop does, only what is written down.

use std::fmt;
use std::panic::Location;
use std::task::Waker;
use std::time::{Duration, Instant};

use mio::Token;

use crate::clock::ShowTicks;
use crate::event_loop::{Core, WakePath};
use crate::park_timer::Park;
use crate::reactor::ShowToken;
use crate::snapshot::owner_of;
use crate::task::TaskId;
use crate::timeline::TimelineFile;
use crate::timer::Fired;
use crate::trace::trace;
use crate::turn::IoEvent;

/// The `block_on` future's place among task ids, in the trace and the timeline.
const BLOCK_ON: TaskId = TaskId(0);

impl Core {
    /// A task was created at `spawned_at`.
    #[inline]
    pub(crate) fn observe_spawn(&self, task: TaskId, spawned_at: &'static Location<'static>) {
        trace!(self, "spawn  task={task} at {spawned_at}");
        self.timeline.write(|t| t.spawned(task, spawned_at));
    }

    /// A task (or, as `TaskId(0)`, the `block_on` future) joined the ready queue.
    #[inline]
    pub(crate) fn observe_wake(&self, task: TaskId, path: WakePath) {
        trace!(self, "wake   {} ({})", Subject(task), path.name());
        self.timeline.write(|t| t.woke(task));
    }

    /// Phase 1 (or `block_on`) is about to poll `task`.
    #[inline]
    pub(crate) fn observe_poll_begins(&self, task: TaskId) {
        self.timeline.write(|t| t.poll_begins(task));
    }

    /// The poll `observe_poll_begins` announced returned after `took`.
    #[inline]
    pub(crate) fn observe_poll_ends(
        &self,
        task: TaskId,
        spawned_at: &'static Location<'static>,
        ready: bool,
        took: Duration,
    ) {
        trace!(self, "poll   {} -> {}", Subject(task), Outcome(task, ready));
        // The `block_on` future is never polled while a `Turn` is recorded.
        self.recorder.polled(task, spawned_at, ready, took);
        self.timeline.write(|t| t.poll_ends(ready));
    }

    /// Phase 2 (or 5) fired `timer`, `late` ticks after its deadline.
    #[inline]
    pub(crate) fn observe_timer(&self, timer: &Fired, late: u64) {
        trace!(
            self,
            "timer  fire deadline={} level={} slot={} late={}",
            ShowTicks(timer.deadline),
            timer.location.level,
            timer.location.slot,
            ShowTicks(late)
        );
        self.recorder.fired(timer, late);
    }

    /// Phase 3 is about to wait as `park` allows. Returns the time now if a `Turn` is
    /// being recorded (it shows how long the park took), else `None`: no clock read.
    #[inline]
    pub(crate) fn observe_park_begins(&self, park: Park) -> Option<Instant> {
        trace!(self, "park   {park}");
        self.timeline.write(|t| t.park_begins(park != Park::No));
        self.recorder.stopwatch()
    }

    /// Phase 3's wait (with `next_timer` pending) and its wakes are over.
    #[inline]
    pub(crate) fn observe_park_ends(
        &self,
        park: Park,
        next_timer: Option<u64>,
        parked_at: Option<Instant>,
    ) {
        self.recorder.parked(park, next_timer, parked_at);
        self.timeline.write(TimelineFile::loop_phase_ends);
    }

    /// Phase 3 took in an I/O event for the source registered under `token`, which
    /// released the parked wakers `woken` (about to be woken).
    #[inline]
    pub(crate) fn observe_io(&self, token: Token, readable: bool, writable: bool, woken: &[Waker]) {
        trace!(
            self,
            "io     token={} readable={readable} writable={writable}",
            ShowToken(token)
        );
        self.recorder.record(|turn| {
            turn.io.push(IoEvent {
                token: ShowToken(token).to_string(),
                readable,
                writable,
                woken: woken.iter().map(|waker| owner_of(self, waker)).collect(),
            });
        });
    }

    /// The task being polled spent its coop budget: it yields (`coop.rs`).
    #[inline]
    pub(crate) fn observe_forced_yield(&self) {
        let task = self.polling.get();
        trace!(self, "coop   task={task} budget spent: yield");
        self.recorder.forced_yield(task);
        self.timeline.write(|t| t.instant(task, "forced yield"));
    }

    /// Phase 4 took in a wake for `task` from another thread.
    #[inline]
    pub(crate) fn observe_remote_wake(&self, task: TaskId) {
        if task != BLOCK_ON {
            self.recorder.remote_wake(task);
        }
    }

    /// Phase 5 moved the paused clock to `tick`.
    #[inline]
    pub(crate) fn observe_clock_jump(&self, tick: u64) {
        trace!(
            self,
            "clock  jump to {} (paused, nothing else can run)",
            ShowTicks(tick)
        );
        self.recorder.jumped(tick);
    }
}

/// A task as the trace names it: `task=3`, or `block_on` for `TaskId(0)`.
struct Subject(TaskId);

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            BLOCK_ON => f.write_str("block_on"),
            task => write!(f, "task={task}"),
        }
    }
}

/// What a poll returned, as the trace says it: a task that is ready has finished.
struct Outcome(TaskId, bool);

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match *self {
            Outcome(_, false) => "pending",
            Outcome(BLOCK_ON, true) => "ready",
            Outcome(_, true) => "ready (finished)",
        })
    }
}
