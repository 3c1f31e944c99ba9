//! What the loop tells the world: one [`Event`] per thing that happens, handed to
//! `Observers::emit` (`observe/`), which passes it to whoever listens.
//!
//! The loop, the reactor and the timer say only `emit(Event::…)`; they never name an
//! observer. This file is the whole vocabulary: the events and the few words they
//! carry ([`WakePath`], [`Park`], [`TokenName`]). It knows nothing of who listens.
//!
//! # Ground rules
//! - An event is plain data, borrowed for the length of the call: ids, ticks,
//!   durations, counts, a spawn site. Building one costs a few moves; formatting,
//!   writing and recording happen in the observers, only for those that are on.
//! - Emitting never changes what the loop does. An event is told after the loop has
//!   done what it describes (a wake is told once the task is queued), except the
//!   `…Begins` events, told just before.

use std::panic::Location;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::task::{Header, TaskId};

/// One thing that happened in the loop, or in a timer or I/O source it serves.
/// `TaskId::BLOCK_ON` is the `block_on` future wherever a task is named.
#[derive(Clone, Copy)]
pub(crate) enum Event<'a> {
    /// A task was created at `at` and queued.
    Spawned {
        task: TaskId,
        at: &'static Location<'static>,
    },
    /// `task` was given a name (`spawn_named`), told right after its `Spawned`.
    Named { task: TaskId, name: &'a str },
    /// A wake for `task` reached the loop by `path` (before it is known whether the
    /// task is still there, or already queued).
    WakeArrived { task: TaskId, path: WakePath },
    /// A wake reached a live task (`header`: its counters, its slab key). `self_wake`:
    /// it came from inside the task's own poll.
    WakeReachedTask { header: &'a Header, self_wake: bool },
    /// `task` joined the ready queue (or the `block_on` future was marked woken). A
    /// task woken inside its own poll joins when that poll ends, if still pending.
    Queued { task: TaskId, path: WakePath },
    /// A turn begins, with `ready` keys in the ready queue.
    TurnBegins { ready: usize },
    /// `task` is about to be polled (or, aborted, dropped); `header` is its header
    /// (`None` for the `block_on` future).
    PollBegins {
        task: TaskId,
        at: &'static Location<'static>,
        header: Option<&'a Header>,
    },
    /// The poll `PollBegins` announced is over (a finished task's drop included; the
    /// observers time it). `ready`: it returned `Ready`, so a task has finished.
    PollEnds {
        task: TaskId,
        at: &'static Location<'static>,
        ready: bool,
    },
    /// The `block_on` future's poll unwound (it panicked): the poll is over.
    PollUnwound,
    /// The task being polled spent its coop budget: it yields.
    ForcedYield { task: TaskId },
    /// Phase 2 (or 5) begins to fire due timers.
    TimersBegin,
    /// A timer fired `late` ticks after its `deadline` tick, from `level`/`slot`.
    TimerFired {
        deadline: u64,
        level: usize,
        slot: usize,
        late: u64,
    },
    /// The firing `TimersBegin` announced is over.
    TimersEnd,
    /// Phase 2 is over: `due` timers fired, the latest `max_lateness` late. (Stall
    /// reports wait for these figures.)
    TimerPhaseOver { due: usize, max_lateness: Duration },
    /// A timer future registered in the wheel under `key`, due at `deadline` (ticks).
    TimerArmed {
        key: usize,
        deadline: u64,
        level: usize,
        slot: usize,
    },
    /// A registered timer moved to `deadline`; `due`: it was due already, and woken.
    TimerReset {
        key: usize,
        deadline: u64,
        due: bool,
    },
    /// A registered timer was taken out of the wheel before it fired.
    TimerCancelled {
        key: usize,
        level: usize,
        slot: usize,
    },
    /// Phase 3 is about to wait as `park` allows; `has_work`: something is ready (a
    /// queued task, the `block_on` future, a deferred or remote wake).
    ParkBegins { park: Park, has_work: bool },
    /// Phase 3's wait returned: the reactor takes in its events.
    IoPhaseBegins,
    /// An I/O event for `token` released the wakers `woken` (about to be woken).
    IoReady {
        token: TokenName,
        readable: bool,
        writable: bool,
        woken: &'a [Waker],
    },
    /// An I/O event for a source already gone was dropped.
    IoStale { token: TokenName },
    /// Phase 3 (its wait, its I/O wakes and the coop-deferred wakes) is over;
    /// `next_timer` was the tick it could wait for.
    ParkEnds { park: Park, next_timer: Option<u64> },
    /// A source registered with the reactor under `token`, by the call `what`, for
    /// `interest` (`readable`, `writable`, or both).
    IoRegistered {
        token: TokenName,
        what: &'static str,
        interest: &'static str,
    },
    /// An operation on `token` parked, waiting to read (`reading`) or write.
    IoWaits { token: TokenName, reading: bool },
    /// A source left the reactor.
    IoDeregistered { token: TokenName },
    /// Phase 4 begins to take in wakes sent from other threads.
    RemoteWakesBegin,
    /// Phase 4 is over.
    RemoteWakesEnd,
    /// Phase 5 moved the paused clock to `tick`.
    ClockJumped { tick: u64 },
    /// The runtime is dropped: its tasks and resources are gone.
    RuntimeDropped,
}

/// How a wake reached the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WakePath {
    /// On the loop's thread, with the runtime current.
    Local,
    /// Through the channel, from another thread or from outside the loop.
    Remote,
}

/// How long the reactor's `park` may sleep, as the loop decides it in phase 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Park {
    /// Not at all: work is ready, only look.
    No,
    /// Until an event or this instant, the next timer's.
    Until(Instant),
    /// Until an event: no timer is pending.
    UntilEvent,
}

/// A reactor token as people read it: its slab key and its generation, `key.gen`
/// (written so by `observe/trace.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TokenName {
    pub(crate) key: usize,
    pub(crate) generation: usize,
}
