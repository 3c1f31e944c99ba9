//! The loop's whole state at one moment: [`Runtime::snapshot`](crate::Runtime::snapshot)
//! from outside, [`snapshot`] from inside a task.
//!
//! A trace tells you what happened; a snapshot tells you where everything *is*: which
//! tasks wait in the ready queue and in what order, which are parked and on what,
//! which timers sit in which slot of the wheel and whose they are, which sockets the
//! reactor watches and who waits on them. asyncio shows the same with
//! `asyncio.all_tasks()`, `loop._ready` and `loop._scheduled`; tokio-console keeps a
//! live task table, and lints it. Printed, it draws one pane per part of the loop,
//! within 100 columns (this is `examples/step.rs` after its first turn):
//!
//! ```text
//! ── after turn 1 · 0.000 ms · paused ──────────────────────────────────
//! ready  │ (none)
//! timers │ L1 s3: 0.250 ms → task 1 · L1 s46: 3.000 ms → task 2
//! io     │ token 0.0 (ready: readable, writable) · token 1.1 READABLE → task 4 (ready: writable)
//! tasks  │ id  state      polls wakes  self  spawned at             waits on
//!        │ 1   parked         1     0     0  examples/step.rs:31:8  timer 0.250 ms
//!        │                                                          sleep at examples/step.rs:37:9
//!        │ 2   parked         1     0     0  examples/step.rs:41:8  timer 3.000 ms
//!        │                                                          sleep at examples/step.rs:42:9
//!        │ 3   parked         1     0     0  examples/step.rs:45:8
//!        │     Queue::get at examples/step.rs:45:33, 1st in line
//!        │ 4   parked         1     0     0  examples/step.rs:33:9
//!        │     token 1.1 READABLE, UnixStream::read_exact at examples/step.rs:35:20
//! blocking jobs in flight: 0
//! ```
//!
//! # Who owns a waker
//!
//! The wheel and the reactor hold `Waker`s, and a `Waker` may be anybody's. But the
//! runtime knows its own: a task's waker carries the task waker vtable of
//! `task/raw_waker.rs` (`task::header_of` reads the task's id through it), and the
//! `block_on` waker points at the `Arc` the loop keeps. Anything else (a waker some
//! combinator or another executor made, or a task of another runtime) shows as
//! [`Owner::Foreign`]: named as such, never guessed. Joining the owners of timers and
//! sockets to the tasks gives each task its "waits on" column.
//!
//! What the snapshot cannot see by itself: the wait lists of the patterns crate (a
//! `Semaphore`'s, a `Queue`'s) and a blocking job's result slot. They live outside
//! the executor, so the futures that park there tell it (`observe/waits.rs`): the
//! snapshot shows `Semaphore::acquire at src/bank.rs:20:9, 2nd in line`. A `JoinHandle`
//! keeps its awaiter's waker in the joined task's cell, which the snapshot reads. A
//! task parked anywhere else (a channel of another crate, a waker kept in a variable)
//! shows how many of its wakers are alive: `a waker held elsewhere`.
//!
//! # Warnings
//!
//! Under the panes come tokio-console's two task lints (`snapshot/lints.rs`): a parked
//! task that no waker can reach any more ("lost waker": it will never run again), and
//! a task woken mostly by itself (it busy-waits). They are data too:
//! [`Snapshot::warnings`].
//!
//! # Ground rules
//! - Taking a snapshot may be slow (it walks every task, timer and source and
//!   allocates); not taking one costs nothing but three per-task counters
//!   (`Header::polls`, `wakes`, `self_wakes`), a load and a store each per poll or
//!   wake, and one compare per wake to tell a self-wake.
//! - A snapshot copies plain data out (ids, spawn sites, deadlines, owners) and
//!   borrows each of the loop's tables only while copying it, never across user code
//!   (naming an owner only reads the waker's pointers): it can be taken from inside a
//!   task.

use std::panic::Location;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::event_loop::Core;
use crate::event_loop::context;
use crate::observe::tasks_in_ready_queue;
pub use crate::observe::turn::Owner;
use crate::observe::turn::since_start;
use crate::observe::waits::WaitLabel;
use crate::task::{Header, TaskCounts, TaskId};

mod display;
mod lints;

pub use lints::Warning;

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
    /// What looks wrong: the lints (see [`Warning`]).
    pub warnings: Vec<Warning>,
}

/// One live task.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskInfo {
    /// Its id.
    pub id: TaskId,
    /// Its name, if it was spawned with one (`spawn_named`).
    pub name: Option<String>,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// Where it is in its lifecycle.
    pub state: TaskState,
    /// Times it was polled.
    pub polls: u32,
    /// Wakes it received (its own and others', local and remote).
    pub wakes: u32,
    /// Of those, the wakes from inside its own poll (a `yield_now`, a future that
    /// wakes itself before returning `Pending`). A coop forced yield is not one: the
    /// loop wakes the task after phase 3, outside its poll.
    pub self_wakes: u32,
    /// Clones of its `Waker` alive somewhere (a timer, a socket, a wait list, a
    /// variable). A parked task with none is lost: nothing can wake it.
    pub wakers: u32,
    /// What it waits on: the timers and sockets where one of its wakers is parked,
    /// the `JoinHandle` it awaits, then what the futures that parked it elsewhere said
    /// (a pattern's wait list, a blocking job). Empty while it is not parked.
    pub waits_on: Vec<Wait>,
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

/// Something the runtime holds a task's waker for: what the task waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// A timer due at this time from the runtime's start.
    Timer(Duration),
    /// A read (or accept) parked on the source with this token (`key.generation`).
    Readable(String),
    /// A write (or connect) parked on the source with this token.
    Writable(String),
    /// The `JoinHandle` of this task, awaited.
    JoinHandle(TaskId),
    /// What the future that parked the task said it waits on (`waits::note`): a
    /// `Semaphore`'s or a `Queue`'s line, a blocking job.
    Told(WaitLabel),
}

/// One pending timer: where it sits in the wheel, when it is due, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingTimer {
    /// Its deadline, from the runtime's start.
    pub deadline: Duration,
    /// Its level: 0–5 the wheel, 6 the overflow list, 7 the never list.
    pub level: usize,
    /// Its slot on that level.
    pub slot: usize,
    /// Whose waker it will wake; `None` while it holds none (a `reset` revived it
    /// after it fired, and its owner has not polled it since).
    pub owner: Option<Owner>,
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
    /// Read operations parked on it, waiting for an event, by owner.
    pub readers: Vec<Owner>,
    /// Write operations parked on it, by owner.
    pub writers: Vec<Owner>,
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
    take(&core)
}

/// Copies the state out of `core`. Between polls `core.polling` is `TaskId::BLOCK_ON`, which
/// no task has, so no task shows as running.
pub(crate) fn take(core: &Core) -> Snapshot {
    let ready = tasks_in_ready_queue(&core.tasks.borrow(), &core.ready.borrow());
    let mut timers: Vec<PendingTimer> = core
        .time
        .wheel
        .borrow()
        .pending_timers()
        .map(|(deadline, location, waker)| PendingTimer {
            deadline: since_start(deadline),
            level: location.level,
            slot: location.slot,
            owner: waker.map(|waker| core.observers.owner_of(waker)),
        })
        .collect();
    timers.sort_by_key(|timer| timer.deadline);
    let io: Vec<IoRegistration> = core
        .reactor
        .sources(|waker| core.observers.owner_of(waker))
        .into_iter()
        .map(|source| IoRegistration {
            token: source.token.to_string(),
            readable: source.readable,
            writable: source.writable,
            readers: source.readers,
            writers: source.writers,
        })
        .collect();
    let mut wake_on_its_way = Vec::new();
    let joined_by = awaited_join_handles(core);
    let mut tasks: Vec<TaskInfo> = core
        .tasks
        .borrow()
        .iter()
        .map(|(_, task)| {
            let header = task.header();
            if header.remote_queued.is_raised() {
                wake_on_its_way.push(header.id());
            }
            let mut info = task_info(header, core.polling.get(), &timers, &io);
            info.name = core
                .observers
                .names
                .of(header.id())
                .map(|name| name.to_string());
            if info.state == TaskState::Parked {
                let joins = joined_by.iter().filter(|(_, by)| *by == header.id());
                info.waits_on
                    .extend(joins.map(|&(joined, _)| Wait::JoinHandle(joined)));
                let told = core
                    .observers
                    .waits
                    .of(header.key(), header.id(), info.polls);
                info.waits_on.extend(told.into_iter().map(Wait::Told));
            }
            info
        })
        .collect();
    tasks.sort_by_key(|task| task.id);
    let warnings = lints::check(&tasks, &wake_on_its_way);
    Snapshot {
        turns: core.observers.counters.reactor_turns.get(),
        now: since_start(core.time.clock.now_tick()),
        paused: core.time.clock.is_paused(),
        ready,
        tasks,
        timers,
        io,
        blocking_jobs: core.clock_holds.load(Ordering::Acquire),
        warnings,
    }
}

/// Each task whose `JoinHandle` a task of this runtime awaits, and that task:
/// `(joined, awaited by)`.
fn awaited_join_handles(core: &Core) -> Vec<(TaskId, TaskId)> {
    let tasks = core.tasks.borrow();
    let mut joined_by = Vec::new();
    for (_, task) in tasks.iter() {
        // Out and back in, with no code of anyone else's run between: naming an
        // owner only reads the waker's pointers.
        let cell = task.join_waker();
        let waker = cell.take();
        if let Some(Owner::Task(by)) = waker.as_ref().map(|w| core.observers.owner_of(w)) {
            joined_by.push((task.header().id(), by));
        }
        cell.set(waker);
    }
    joined_by
}

/// One task's row, with what it waits on found among the timers and sources.
fn task_info(
    header: &Header,
    polling: TaskId,
    timers: &[PendingTimer],
    io: &[IoRegistration],
) -> TaskInfo {
    let state = if header.id() == polling {
        TaskState::Running
    } else if header.is_scheduled() {
        TaskState::Scheduled
    } else {
        TaskState::Parked
    };
    let mine = |owner: &Owner| *owner == Owner::Task(header.id());
    let mut waits_on: Vec<Wait> = timers
        .iter()
        .filter(|timer| timer.owner.as_ref().is_some_and(mine))
        .map(|timer| Wait::Timer(timer.deadline))
        .collect();
    for source in io {
        if source.readers.iter().any(mine) {
            waits_on.push(Wait::Readable(source.token.clone()));
        }
        if source.writers.iter().any(mine) {
            waits_on.push(Wait::Writable(source.token.clone()));
        }
    }
    TaskInfo {
        id: header.id(),
        name: None,
        spawned_at: header.spawned_at,
        state,
        polls: TaskCounts::counted(&header.counts.polls),
        wakes: TaskCounts::counted(&header.counts.wakes),
        self_wakes: TaskCounts::counted(&header.counts.self_wakes),
        wakers: u32::try_from(header.wakers()).unwrap_or(u32::MAX),
        waits_on,
    }
}
