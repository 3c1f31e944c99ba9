//! What each parked task waits on, in its own code's words: `Semaphore::acquire at
//! src/bank.rs:20:9, 2nd in line`. The snapshot's "waits on" column reads it.
//!
//! The snapshot finds some waits by itself, since it knows whose waker the runtime
//! holds: a timer's, a socket's, a `JoinHandle`'s. A pattern's wait list (a
//! `Semaphore`'s, a `Queue`'s) or a blocking job's result slot lives outside the
//! executor, where it cannot look. So the future that parks there says so, with
//! [`note`], as it returns `Pending`:
//!
//! ```text
//! Acquire::poll ─► joins the line ─► waits::note(cx.waker(), WaitLabel { … }) ─► Pending
//!                                          │ the waker names the task and its poll count
//!                                          ▼
//!                         this runtime's table: task 3 → [label], told in poll 1
//! snapshot ─► task 3 parked, still at poll 1? ─► "waits on: Semaphore::acquire at …"
//! ```
//!
//! # Ground rules
//! - A label is kept with the poll it was told in (the task's poll count): once the
//!   task is polled again, the labels of that older poll no longer count. A future
//!   still waiting tells again at each `Pending`, so nothing stale is ever shown.
//! - Telling costs a store in a table indexed by the task's slab key (no hashing: a
//!   contended `Semaphore` tells once per acquire), paid only by futures that park
//!   outside the runtime's sight. An entry names its task's id, so a finished task's
//!   entry is dead once its key is reused, and nothing needs removing: the table
//!   is never longer than the most tasks alive at once.
//! - A waker that is not a task's of a runtime current on this thread (a
//!   combinator's, the `block_on` future's, another runtime's) tells nothing.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::task::Waker;

use crate::event_loop::context;
use crate::task::{self, Header, TaskCounts, TaskId};

/// A wait, as the future that parks a task describes it to the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitLabel {
    /// The operation waited on, as its users write it: `"Semaphore::acquire"`.
    pub what: &'static str,
    /// Where the user's code called it (`#[track_caller]`).
    pub at: &'static Location<'static>,
    /// Where the task stands, if the operation has a line or a job.
    pub detail: WaitDetail,
}

/// Where a waiting task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitDetail {
    /// Nothing more to say.
    None,
    /// Its place in a first-in, first-out line when it last parked: 1 is the front.
    InLine(usize),
    /// The blocking job with this id (as the trace names it: `block  submit job=…`).
    Job(u64),
}

/// Tells the runtime that the task whose waker is `waker` waits on `label`: call it as
/// the future that parks the task returns `Pending`. Does nothing for a waker that is
/// not a task's of the runtime current on this thread.
///
/// ```
/// use std::panic::Location;
/// use std::task::Poll;
/// use executor::waits::{WaitDetail, WaitLabel, note};
///
/// let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
/// rt.spawn(std::future::poll_fn(|cx| {
///     let at = Location::caller();
///     note(cx.waker(), WaitLabel { what: "Gate::open", at, detail: WaitDetail::None });
///     Poll::<()>::Pending
/// }));
/// rt.run_until_stalled();
/// let seen = rt.snapshot().to_string();
/// assert!(seen.contains("Gate::open at"), "{seen}");
/// ```
pub fn note(waker: &Waker, label: WaitLabel) {
    let Some(header) = task::header_of(waker) else {
        return;
    };
    context::with_runtime(header.remote.runtime_id, |core| {
        let poll = TaskCounts::counted(&header.counts.polls);
        core.observers
            .waits
            .note(header.key(), header.id(), poll, label);
    });
}

/// `future`, telling the snapshot at each `Pending` that its task waits on `what`,
/// called where the caller of this function's caller was: the socket operations
/// (`net/`) are `#[track_caller]` functions that wrap their work in it, so "waits
/// on" reads `TcpStream::read at src/main.rs:12:20`.
#[track_caller]
pub(crate) fn told<F: Future>(what: &'static str, future: F) -> impl Future<Output = F::Output> {
    let at = Location::caller();
    async move {
        let mut future = std::pin::pin!(future);
        std::future::poll_fn(move |cx| {
            let polled = future.as_mut().poll(cx);
            if polled.is_pending() {
                let detail = WaitDetail::None;
                note(cx.waker(), WaitLabel { what, at, detail });
            }
            polled
        })
        .await
    }
}

/// The labels told for each task, by slab key, with the task and the poll they were
/// told in.
#[derive(Debug, Default)]
pub(crate) struct TaskWaits(RefCell<Vec<Told>>);

#[derive(Debug)]
struct Told {
    task: TaskId,
    poll: u32,
    labels: Vec<WaitLabel>,
}

impl TaskWaits {
    fn note(&self, key: u32, task: TaskId, poll: u32, label: WaitLabel) {
        let mut table = self.0.borrow_mut();
        let key = key as usize;
        if table.len() <= key {
            table.resize_with(key + 1, || Told {
                task: TaskId::BLOCK_ON, // no task's: an empty entry
                poll: 0,
                labels: Vec::new(),
            });
        }
        let told = &mut table[key];
        if (told.task, told.poll) != (task, poll) {
            (told.task, told.poll) = (task, poll);
            told.labels.clear(); // keeps its memory for the next label
        }
        // A future polled twice in one poll of its task (a `select` loop) tells twice.
        if !told.labels.contains(&label) {
            // Grown one label at a time, not to `Vec`'s first four: the table keeps an
            // entry's memory for the next task in its slot, so every slot a burst of
            // waiting tasks touched holds it until the runtime goes.
            told.labels.reserve_exact(1);
            told.labels.push(label);
        }
    }

    /// The first wait the task of `header` told in its latest poll, if it told one:
    /// the wait a wake of it now ends (the trace's `it waited in …`).
    pub(crate) fn told_by(&self, header: &Header) -> Option<WaitLabel> {
        let poll = TaskCounts::counted(&header.counts.polls);
        match self.0.borrow().get(header.key() as usize) {
            Some(told) if (told.task, told.poll) == (header.id(), poll) => {
                told.labels.first().copied()
            }
            _ => None,
        }
    }

    /// What `task` (under slab `key`) said it waits on in its poll number `poll` (its
    /// latest).
    pub(crate) fn of(&self, key: u32, task: TaskId, poll: u32) -> Vec<WaitLabel> {
        match self.0.borrow().get(key as usize) {
            Some(told) if (told.task, told.poll) == (task, poll) => told.labels.clone(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for WaitLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail {
            WaitDetail::Job(id) => write!(f, "{} job {id} at {}", self.what, self.at),
            WaitDetail::None => write!(f, "{} at {}", self.what, self.at),
            WaitDetail::InLine(place) => {
                write!(
                    f,
                    "{} at {}, {} in line",
                    self.what,
                    self.at,
                    Ordinal(place)
                )
            }
        }
    }
}

/// A wait without the task's place in it, `Queue::get at src/main.rs:9:5`: what a
/// wake ended.
pub(crate) struct WhatAndWhere(pub(crate) WaitLabel);

impl fmt::Display for WhatAndWhere {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.0.what, self.0.at)
    }
}

/// `1st`, `2nd`, `3rd`, `4th`, …, `11th`, `12th`, `13th`, `21st`.
pub(crate) struct Ordinal(pub(crate) usize);

impl fmt::Display for Ordinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let suffix = match (n % 10, n % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        write!(f, "{n}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Wait;
    use crate::{Runtime, TaskId, spawn, yield_now};
    use std::future::poll_fn;
    use std::task::Poll;

    fn label(what: &'static str) -> WaitLabel {
        WaitLabel {
            what,
            at: Location::caller(),
            detail: WaitDetail::None,
        }
    }

    fn told(rt: &Runtime, task: TaskId) -> Vec<Wait> {
        let snapshot = rt.snapshot();
        let info = snapshot.tasks.iter().find(|info| info.id == task).unwrap();
        info.waits_on.clone()
    }

    #[test]
    fn a_label_counts_only_until_the_task_is_polled_again() {
        let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
        let gate = label("Gate::open");
        let parked = std::rc::Rc::new(std::cell::Cell::new(None));
        let mut polls = 0;
        let task = rt.spawn(poll_fn({
            let parked = parked.clone();
            move |cx| {
                polls += 1;
                if polls == 1 {
                    note(cx.waker(), gate);
                    note(cx.waker(), gate); // told twice in one poll: shown once
                    parked.set(Some(cx.waker().clone()));
                }
                Poll::<()>::Pending
            }
        }));
        rt.run_until_stalled();
        assert_eq!(told(&rt, task.id()), [Wait::Told(gate)], "after poll 1");
        parked.take().unwrap().wake(); // from outside the loop: polled again
        rt.run_until_stalled();
        assert_eq!(told(&rt, task.id()), [], "poll 2 told nothing");
    }

    #[test]
    fn a_new_task_under_a_finished_ones_key_shows_none_of_its_labels() {
        let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
        rt.block_on(async {
            let mut parked = false;
            let told_then_done = poll_fn(move |cx| {
                if std::mem::replace(&mut parked, true) {
                    return Poll::Ready(());
                }
                note(cx.waker(), label("Once::wait"));
                cx.waker().wake_by_ref();
                Poll::Pending
            });
            spawn(told_then_done).await.unwrap();
            // Its key is free again: the next task takes it, and parks untold.
            let next = spawn(std::future::pending::<()>());
            yield_now().await;
            let seen = crate::snapshot();
            let info = seen.tasks.iter().find(|t| t.id == next.id()).unwrap();
            assert_eq!(info.waits_on, [], "{seen}");
            assert_eq!(rt_keys_told(), 1, "one entry, reused: nothing grows");
        });
    }

    /// How many entries the current runtime's table holds.
    fn rt_keys_told() -> usize {
        context::expect_current("test")
            .observers
            .waits
            .0
            .borrow()
            .len()
    }

    #[test]
    fn the_block_on_future_and_foreign_wakers_tell_nothing() {
        let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
        rt.block_on(poll_fn(|cx| {
            note(cx.waker(), label("BlockOn::wait"));
            note(std::task::Waker::noop(), label("Noop::wait"));
            Poll::Ready(())
        }));
        note(std::task::Waker::noop(), label("Outside::wait"));
        assert!(rt.core.observers.waits.0.borrow().is_empty());
    }

    #[test]
    fn a_label_reads_what_at_where_and_place() {
        let at = Location::caller();
        let in_line = WaitLabel {
            what: "Semaphore::acquire",
            at,
            detail: WaitDetail::InLine(2),
        };
        let job = WaitLabel {
            what: "spawn_blocking",
            at,
            detail: WaitDetail::Job(12),
        };
        assert_eq!(
            in_line.to_string(),
            format!("Semaphore::acquire at {at}, 2nd in line")
        );
        assert_eq!(job.to_string(), format!("spawn_blocking job 12 at {at}"));
    }

    #[test]
    fn ordinals_read_as_english() {
        let read: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112]
            .into_iter()
            .map(|n| Ordinal(n).to_string())
            .collect();
        assert_eq!(
            read,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd",
                "101st", "111th", "112th"
            ]
        );
    }
}
