//! Who woke whom: the trace says what each wake came from (`wake   task=3 (local, by
//! task=2)`), and a stepped [`Turn`](crate::Turn) says, for each poll, why the task
//! was in the ready queue ([`PollRecord::woken_by`](crate::PollRecord::woken_by)).
//!
//! The loop's events already say where it is when a wake comes in: inside a poll
//! (between `PollBegins` and `PollEnds`), firing a timer (`TimerFired`), taking in
//! another thread's wake (a `Remote` path), or, in phase 3, waking the wakers that
//! the turn's I/O events released (each `IoReady` lists them: the reactor wakes them
//! all after the last event) and then the tasks whose coop budget ran out
//! (`ForcedYield`, earlier in the turn). This observer keeps that place, and names
//! it when a task is queued:
//!
//! ```text
//! PollBegins task 2 ─► now = task 2 ─► Queue::put wakes task 3 ─► Queued task 3
//!                                                    └─► "by task=2", kept for task 3
//! PollBegins task 3 ─► its poll record: woken by task 2
//! ```
//!
//! # Ground rules
//! - Only while someone reads it (the trace is on, or a turn is being recorded):
//!   otherwise each of these events costs one test.
//! - A remote wake's sender is not known (the channel carries the task, not the
//!   thread): it reads "another thread".
//! - Each task's cause is kept from its `Queued` to its next `PollBegins`, so the
//!   table holds at most the tasks in the ready queue.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::event::{TokenName, WakePath};
use crate::observe::turn::Millis;
use crate::observe::waits::WaitLabel;
use crate::task::TaskId;

/// Why a task was in the ready queue: what woke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WokenBy {
    /// Nothing yet: it was spawned, and this is its first poll.
    Spawn,
    /// The poll of this task (it released a permit, put an item, …).
    Task(TaskId),
    /// Its own poll (a `yield_now`, or a future that wakes itself).
    Itself,
    /// The poll of the `block_on` future.
    BlockOn,
    /// The timer due at this time from the runtime's start, as it fired.
    Timer(Duration),
    /// An I/O event on the source with this token (`key.generation`).
    Io {
        /// The token's slab key.
        key: usize,
        /// The token's generation.
        generation: usize,
        /// The event said readable.
        readable: bool,
        /// The event said writable.
        writable: bool,
    },
    /// The loop, at the end of phase 3: its coop budget had run out, so it yielded.
    Budget,
    /// Another thread, or code outside the loop (through the remote channel).
    OtherThread,
    /// The loop itself, outside any poll, timer or I/O event.
    Loop,
}

/// Where the loop is, and what each queued task was woken by.
#[derive(Debug)]
pub(crate) struct WakeCauses {
    now: Cell<WokenBy>,
    /// Tasks whose coop budget ran out this turn: woken by the loop in phase 3.
    budget_spent: RefCell<Vec<TaskId>>,
    /// Tasks an I/O event of this turn released, with that event: woken in phase 3.
    io_woken: RefCell<Vec<(TaskId, WokenBy)>>,
    /// Why each task in the ready queue is there.
    queued: RefCell<HashMap<TaskId, WokenBy>>,
    /// The wait the last wake that reached a task ends, as that task told it (for the
    /// trace's wake line, which comes right after).
    reached: Cell<Option<(TaskId, WaitLabel)>>,
}

impl Default for WakeCauses {
    fn default() -> WakeCauses {
        WakeCauses {
            now: Cell::new(WokenBy::Loop),
            budget_spent: RefCell::default(),
            io_woken: RefCell::default(),
            queued: RefCell::default(),
            reached: Cell::new(None),
        }
    }
}

impl WakeCauses {
    /// The loop is now in a poll, a timer's firing, an I/O event, or none of them.
    pub(crate) fn now(&self, cause: WokenBy) {
        self.now.set(cause);
    }

    pub(crate) fn budget_spent(&self, task: TaskId) {
        self.budget_spent.borrow_mut().push(task);
    }

    /// An I/O event (`cause`) released `task`'s waker, to be woken in phase 3.
    pub(crate) fn io_released(&self, task: TaskId, cause: WokenBy) {
        self.io_woken.borrow_mut().push((task, cause));
    }

    /// Phase 3 is over: the tasks cut off by their budget have been woken.
    pub(crate) fn park_over(&self) {
        self.now.set(WokenBy::Loop);
        self.budget_spent.borrow_mut().clear();
        self.io_woken.borrow_mut().clear();
    }

    /// A wake reached `task`, which had told it waits on `told` (if it did).
    pub(crate) fn reached(&self, task: TaskId, told: Option<WaitLabel>) {
        self.reached.set(told.map(|label| (task, label)));
    }

    /// The wait that `task`, just queued by `cause`, was in, as it told it. Only a
    /// poll's wake or another thread's can end a wait told to `waits::note` (a
    /// timer's or an I/O event's wake ends the runtime's own waits, never told).
    pub(crate) fn ended_wait(&self, task: TaskId, cause: WokenBy) -> Option<WaitLabel> {
        match (self.reached.take(), cause) {
            (
                Some((reached, label)),
                WokenBy::Task(_) | WokenBy::BlockOn | WokenBy::OtherThread,
            ) if reached == task => Some(label),
            _ => None,
        }
    }

    /// `task` joined the ready queue by `path`: what woke it, kept for its poll.
    pub(crate) fn queued(&self, task: TaskId, path: WakePath) -> WokenBy {
        let io_event = || {
            let io_woken = self.io_woken.borrow();
            io_woken
                .iter()
                .find(|(woken, _)| *woken == task)
                .map(|&(_, by)| by)
        };
        let cause = match (path, self.now.get()) {
            (WakePath::Remote, _) => WokenBy::OtherThread,
            (_, WokenBy::Task(by)) if by == task => WokenBy::Itself,
            (_, WokenBy::BlockOn) if task == TaskId::BLOCK_ON => WokenBy::Itself,
            (_, now @ (WokenBy::Task(_) | WokenBy::BlockOn | WokenBy::Timer(_))) => now,
            // Phase 3 wakes these with no event between: the I/O events' wakers, then
            // the tasks whose budget ran out.
            _ => match io_event() {
                Some(by) => by,
                None if self.budget_spent.borrow().contains(&task) => WokenBy::Budget,
                None => WokenBy::Loop,
            },
        };
        self.queued.borrow_mut().insert(task, cause);
        cause
    }

    /// `task` is about to be polled (`first_poll`: for the first time, so it was
    /// queued by its spawn): why it was queued, if that was seen.
    pub(crate) fn polled(&self, task: TaskId, first_poll: bool) -> Option<WokenBy> {
        let mut queued = self.queued.borrow_mut();
        let seen = if queued.is_empty() {
            None
        } else {
            queued.remove(&task)
        };
        if first_poll {
            Some(WokenBy::Spawn)
        } else {
            seen
        }
    }
}

impl WokenBy {
    pub(crate) fn io(token: TokenName, readable: bool, writable: bool) -> WokenBy {
        WokenBy::Io {
            key: token.key,
            generation: token.generation,
            readable,
            writable,
        }
    }
}

/// As the trace and a `Turn` say it: `task 2`, `the timer due 10.223 ms`.
impl fmt::Display for WokenBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WokenBy::Spawn => f.write_str("its spawn"),
            WokenBy::Task(task) => write!(f, "task {task}"),
            WokenBy::Itself => f.write_str("itself"),
            WokenBy::BlockOn => f.write_str("block_on"),
            WokenBy::Timer(deadline) => write!(f, "the timer due {}", Millis(deadline)),
            WokenBy::Io {
                key,
                generation,
                readable,
                writable,
            } => {
                let ready = match (readable, writable) {
                    (true, true) => "readable, writable",
                    (true, false) => "readable",
                    (false, true) => "writable",
                    (false, false) => "no readiness",
                };
                write!(f, "I/O on token {key}.{generation} ({ready})")
            }
            WokenBy::Budget => f.write_str("the loop (coop budget spent)"),
            WokenBy::OtherThread => f.write_str("another thread"),
            WokenBy::Loop => f.write_str("the loop"),
        }
    }
}
