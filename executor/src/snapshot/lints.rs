//! The snapshot's warnings: tokio-console's two task lints (`LostWaker` and
//! `SelfWakePercent` in its `tokio-console/src/warnings.rs`), judged from one snapshot.
//!
//! - **Lost waker.** A parked task is waiting for a wake, and only a clone of its
//!   `Waker` can deliver one. When no clone is left (`TaskInfo::wakers` is 0: its
//!   reference count holds only the slab's `TaskRef` and the `JoinHandle`'s), nothing
//!   can ever put it back on the ready queue. The usual cause is a hand-written
//!   future that returns `Pending` without storing `cx.waker()`, or a wait list that
//!   drops its wakers (a channel closed without waking). The task's memory stays
//!   taken until the runtime drops, or an abort cancels it.
//! - **Mostly self-wakes.** A task that wakes itself from inside its own poll, again
//!   and again, is polling in a loop: `yield_now` in a `loop` that checks a flag, say.
//!   It keeps the thread busy instead of parking on whatever would tell it that
//!   something changed. Flagged, as tokio-console does by default, when more than
//!   half its wakes are self-wakes; unlike tokio-console, only once it has had
//!   [`SELF_WAKE_MIN_WAKES`] wakes, so a task that yielded once out of one wake is not.
//!
//! # Ground rules
//! - A warning is never a guess. A lost waker is flagged only for a task that is
//!   parked (not scheduled, not running), has no waker left, and has no wake from
//!   another thread on its way (`Header::remote_queued`): each of those would bring
//!   it back. A waker a thread is dropping right now, or a `JoinHandle` half-dropped,
//!   can only make the count look higher, so the lint may miss a task, never accuse
//!   one.
//! - Lints read only the snapshot's plain data; they cost nothing while no snapshot is
//!   taken.

use std::fmt;
use std::panic::Location;

use super::{TaskInfo, TaskState};
use crate::task::TaskId;

/// A task needs this many wakes before its share of self-wakes is judged.
pub(super) const SELF_WAKE_MIN_WAKES: u32 = 10;

/// A task whose self-wakes are more than this percentage of its wakes is flagged
/// (tokio-console's default).
pub(super) const SELF_WAKE_PERCENT: u32 = 50;

/// Something a snapshot found that looks wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A parked task that no waker can reach any more: it will never run again.
    LostWaker {
        /// The task.
        task: TaskId,
        /// Where it was spawned.
        spawned_at: &'static Location<'static>,
    },
    /// A task woken mostly by itself, from inside its own poll: it busy-waits.
    MostlySelfWakes {
        /// The task.
        task: TaskId,
        /// Where it was spawned.
        spawned_at: &'static Location<'static>,
        /// Its self-wakes.
        self_wakes: u32,
        /// All its wakes.
        wakes: u32,
    },
}

/// The warnings about `tasks`. `wake_on_its_way`: tasks whose wake from another thread
/// sits in the channel, not yet taken in.
pub(super) fn check(tasks: &[TaskInfo], wake_on_its_way: &[TaskId]) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for task in tasks {
        let lost = task.state == TaskState::Parked
            && task.wakers == 0
            && !wake_on_its_way.contains(&task.id);
        if lost {
            warnings.push(Warning::LostWaker {
                task: task.id,
                spawned_at: task.spawned_at,
            });
        }
        if mostly_self_wakes(task.self_wakes, task.wakes) {
            warnings.push(Warning::MostlySelfWakes {
                task: task.id,
                spawned_at: task.spawned_at,
                self_wakes: task.self_wakes,
                wakes: task.wakes,
            });
        }
    }
    warnings
}

/// At least `SELF_WAKE_MIN_WAKES` wakes, of which more than `SELF_WAKE_PERCENT` were
/// self-wakes.
fn mostly_self_wakes(self_wakes: u32, wakes: u32) -> bool {
    wakes >= SELF_WAKE_MIN_WAKES
        && u64::from(self_wakes) * 100 > u64::from(wakes) * u64::from(SELF_WAKE_PERCENT)
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::LostWaker { task, spawned_at } => write!(
                f,
                "task {task} (spawned at {spawned_at}): lost waker — parked with no waker \
                 left; it will never run again"
            ),
            Warning::MostlySelfWakes {
                task,
                spawned_at,
                self_wakes,
                wakes,
            } => write!(
                f,
                "task {task} (spawned at {spawned_at}): mostly self-wakes — {self_wakes} of \
                 its {wakes} wakes came from its own poll; it busy-waits where it could park"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mostly_self_wakes;

    #[test]
    fn self_wakes_are_judged_only_after_ten_wakes_and_above_half() {
        assert!(!mostly_self_wakes(9, 9), "too few wakes to judge");
        assert!(mostly_self_wakes(10, 10));
        assert!(
            !mostly_self_wakes(5, 10),
            "exactly half is not more than half"
        );
        assert!(mostly_self_wakes(6, 10));
        assert!(!mostly_self_wakes(0, u32::MAX));
        assert!(mostly_self_wakes(u32::MAX, u32::MAX), "no overflow");
    }
}
