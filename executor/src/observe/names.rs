//! Task names: what `spawn_named` gave a task, as the trace, the snapshot, the stall
//! report and the timeline show it (asyncio's `create_task(name=…)`, tokio's
//! `task::Builder::name`).
//!
//! # Ground rules
//! - An unnamed task costs nothing here: names live in this table, not in the task's
//!   header, so the fixed cost of every task does not grow.
//! - A name is kept from the task's `Named` event until its last poll ends (it
//!   finished, or was aborted); the whole table goes with the runtime.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::task::TaskId;

/// The names of the live tasks that have one.
#[derive(Debug, Default)]
pub(crate) struct TaskNames(RefCell<HashMap<TaskId, Rc<str>>>);

impl TaskNames {
    pub(crate) fn name(&self, task: TaskId, name: &str) {
        self.0.borrow_mut().insert(task, Rc::from(name));
    }

    /// `task`'s name, if it has one.
    pub(crate) fn of(&self, task: TaskId) -> Option<Rc<str>> {
        self.0.borrow().get(&task).cloned()
    }

    /// `task` finished: its name goes. Called for every finished task, so a runtime
    /// that names none pays a length test, not a hash.
    #[inline]
    pub(crate) fn finished(&self, task: TaskId) {
        if !self.0.borrow().is_empty() {
            self.0.borrow_mut().remove(&task);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Runtime, spawn_named, yield_now};

    #[test]
    fn a_finished_or_aborted_task_leaves_no_name_behind() {
        let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
        rt.block_on(async {
            for n in 0..100 {
                spawn_named(&format!("done-{n}"), yield_now())
                    .await
                    .unwrap();
            }
            let parked = spawn_named("aborted", std::future::pending::<()>());
            yield_now().await;
            parked.abort();
            assert!(parked.await.is_err());
        });
        assert!(rt.core.observers.names.0.borrow().is_empty());
    }
}
