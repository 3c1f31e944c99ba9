//! The state a recorded page shows at the end of each turn, in one canonical form:
//! what `?dump#turn=K` prints and what each turn's digest is taken over.
//!
//! It is read from a [`Snapshot`] taken as the turn ends, so it is the runtime's own
//! account, not a model of it. The page rebuilds it from keyframes and deltas
//! (`viewer.js`), and its self-test checks each rebuilt turn against the digest
//! written here.
//!
//! # Ground rules
//! - The keys, their order and their values are the contract (issue 30):
//!   `{"turn", "now_us", "ready", "tasks": [{"id", "state", "polls", "wakes",
//!   "spawned_at", "waits_on", "wait_site"}], "timers": [{"deadline_us", "level",
//!   "slot", "task"}], "io": [{"token", "interest", "readable", "writable", "readers",
//!   "writers"}], "blocking_in_flight"}`. Tasks by id, timers by deadline (then
//!   level, slot), sources by token, as the snapshot lists them.
//! - A task that ended during the turn stays one turn more, as `finished`, with the
//!   polls the turn gave it; then it is gone.
//! - An owner is a task id, or the string `block_on` or `foreign`.

use std::collections::BTreeMap;

use crate::observe::turn::{Owner, Turn};
use crate::record::json;
use crate::snapshot::{IoRegistration, Snapshot, TaskInfo, TaskState, Wait};

/// The canonical state at the end of one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    turn: u64,
    now_us: u64,
    ready: Vec<u64>,
    pub(crate) tasks: Vec<TaskRow>,
    timers: Vec<TimerRow>,
    io: Vec<IoRow>,
    blocking_in_flight: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskRow {
    id: u64,
    state: &'static str,
    polls: u32,
    wakes: u32,
    pub(crate) spawned_at: String,
    waits_on: String,
    pub(crate) wait_site: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TimerRow {
    deadline_us: u64,
    level: usize,
    slot: usize,
    task: Option<Owner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct IoRow {
    token: String,
    interest: Option<String>,
    readable: bool,
    writable: bool,
    readers: Vec<Owner>,
    writers: Vec<Owner>,
}

impl State {
    /// The state in `snapshot`, taken as `turn` ended; `before` is the state at the
    /// end of the turn before (its live tasks that are gone now finished in `turn`).
    pub(crate) fn of(snapshot: &Snapshot, turn: &Turn, before: Option<&State>) -> State {
        let mut tasks: Vec<TaskRow> = snapshot.tasks.iter().map(TaskRow::of).collect();
        let live: Vec<u64> = tasks.iter().map(|task| task.id).collect();
        let finished = before
            .into_iter()
            .flat_map(|before| &before.tasks)
            .filter(|task| task.state != "finished" && !live.contains(&task.id))
            .map(|task| {
                let polled = turn.polls.iter().filter(|poll| poll.task.0 == task.id);
                TaskRow {
                    state: "finished",
                    polls: task.polls + polled.count() as u32,
                    waits_on: String::new(),
                    wait_site: None,
                    ..task.clone()
                }
            });
        tasks.extend(finished.collect::<Vec<_>>());
        tasks.sort_by_key(|task| task.id);
        State {
            turn: snapshot.turns,
            now_us: micros(snapshot.now),
            ready: snapshot.ready.iter().map(|id| id.0).collect(),
            tasks,
            timers: snapshot
                .timers
                .iter()
                .map(|timer| TimerRow {
                    deadline_us: micros(timer.deadline),
                    level: timer.level,
                    slot: timer.slot,
                    task: timer.owner,
                })
                .collect(),
            io: snapshot.io.iter().map(IoRow::of).collect(),
            blocking_in_flight: snapshot.blocking_jobs,
        }
    }

    /// The state before anything ran: what the page starts from.
    pub(crate) fn empty() -> State {
        State {
            turn: 0,
            now_us: 0,
            ready: Vec::new(),
            tasks: Vec::new(),
            timers: Vec::new(),
            io: Vec::new(),
            blocking_in_flight: 0,
        }
    }

    /// The turns completed when it was taken.
    pub(crate) fn turn(&self) -> u64 {
        self.turn
    }

    /// The canonical JSON text: what the digest is taken over.
    pub(crate) fn to_json(&self) -> String {
        let mut out = String::new();
        out.push('{');
        json::key(&mut out, true, "turn");
        json::number(&mut out, self.turn);
        json::key(&mut out, false, "now_us");
        json::number(&mut out, self.now_us);
        json::key(&mut out, false, "ready");
        json::array(&mut out, &self.ready, |out, id| json::number(out, *id));
        json::key(&mut out, false, "tasks");
        json::array(&mut out, &self.tasks, |out, task| task.write(out));
        json::key(&mut out, false, "timers");
        json::array(&mut out, &self.timers, |out, timer| timer.write(out));
        json::key(&mut out, false, "io");
        json::array(&mut out, &self.io, |out, source| source.write(out));
        json::key(&mut out, false, "blocking_in_flight");
        json::number(&mut out, self.blocking_in_flight as u64);
        out.push('}');
        out
    }

    /// What changed since `before`, as the page applies it: each top-level field that
    /// changed, whole, but the tasks, which come as `tasks_set` (rows new or changed)
    /// and `tasks_gone` (ids).
    pub(crate) fn delta_json(&self, before: &State) -> String {
        let mut out = String::from("{");
        json::key(&mut out, true, "turn");
        json::number(&mut out, self.turn);
        if self.now_us != before.now_us {
            json::key(&mut out, false, "now_us");
            json::number(&mut out, self.now_us);
        }
        if self.ready != before.ready {
            json::key(&mut out, false, "ready");
            json::array(&mut out, &self.ready, |out, id| json::number(out, *id));
        }
        let old: BTreeMap<u64, &TaskRow> = before.tasks.iter().map(|t| (t.id, t)).collect();
        let set: Vec<&TaskRow> = (self.tasks.iter())
            .filter(|task| old.get(&task.id) != Some(task))
            .collect();
        if !set.is_empty() {
            json::key(&mut out, false, "tasks_set");
            json::array(&mut out, &set, |out, task| task.write(out));
        }
        let gone: Vec<u64> = (old.keys().copied())
            .filter(|id| !self.tasks.iter().any(|task| task.id == *id))
            .collect();
        if !gone.is_empty() {
            json::key(&mut out, false, "tasks_gone");
            json::array(&mut out, &gone, |out, id| json::number(out, *id));
        }
        if self.timers != before.timers {
            json::key(&mut out, false, "timers");
            json::array(&mut out, &self.timers, |out, timer| timer.write(out));
        }
        if self.io != before.io {
            json::key(&mut out, false, "io");
            json::array(&mut out, &self.io, |out, source| source.write(out));
        }
        if self.blocking_in_flight != before.blocking_in_flight {
            json::key(&mut out, false, "blocking_in_flight");
            json::number(&mut out, self.blocking_in_flight as u64);
        }
        out.push('}');
        out
    }

    /// Gives each source the interest it was registered with, by token.
    pub(crate) fn with_interests(mut self, interest_of: impl Fn(&str) -> Option<String>) -> State {
        for source in &mut self.io {
            source.interest = interest_of(&source.token);
        }
        self
    }
}

impl TaskRow {
    fn of(task: &TaskInfo) -> TaskRow {
        let waits: Vec<String> = task.waits_on.iter().map(ToString::to_string).collect();
        let wait_site = task.waits_on.iter().find_map(|wait| match wait {
            Wait::Told(label) => Some(label.at.to_string()),
            _ => None,
        });
        TaskRow {
            id: task.id.0,
            state: match task.state {
                TaskState::Scheduled => "scheduled",
                TaskState::Running => "running",
                _ => "parked",
            },
            polls: task.polls,
            wakes: task.wakes,
            spawned_at: task.spawned_at.to_string(),
            waits_on: waits.join("; "),
            wait_site,
        }
    }

    fn write(&self, out: &mut String) {
        out.push('{');
        json::key(out, true, "id");
        json::number(out, self.id);
        json::key(out, false, "state");
        json::string(out, self.state);
        json::key(out, false, "polls");
        json::number(out, u64::from(self.polls));
        json::key(out, false, "wakes");
        json::number(out, u64::from(self.wakes));
        json::key(out, false, "spawned_at");
        json::string(out, &self.spawned_at);
        json::key(out, false, "waits_on");
        json::string(out, &self.waits_on);
        json::key(out, false, "wait_site");
        json::optional_string(out, self.wait_site.as_deref());
        out.push('}');
    }
}

impl TimerRow {
    fn write(&self, out: &mut String) {
        out.push('{');
        json::key(out, true, "deadline_us");
        json::number(out, self.deadline_us);
        json::key(out, false, "level");
        json::number(out, self.level as u64);
        json::key(out, false, "slot");
        json::number(out, self.slot as u64);
        json::key(out, false, "task");
        match self.task {
            Some(owner) => write_owner(out, &owner),
            None => out.push_str("null"),
        }
        out.push('}');
    }
}

impl IoRow {
    fn of(source: &IoRegistration) -> IoRow {
        IoRow {
            token: source.token.clone(),
            interest: None,
            readable: source.readable,
            writable: source.writable,
            readers: source.readers.clone(),
            writers: source.writers.clone(),
        }
    }

    fn write(&self, out: &mut String) {
        out.push('{');
        json::key(out, true, "token");
        json::string(out, &self.token);
        json::key(out, false, "interest");
        json::optional_string(out, self.interest.as_deref());
        json::key(out, false, "readable");
        out.push_str(if self.readable { "true" } else { "false" });
        json::key(out, false, "writable");
        out.push_str(if self.writable { "true" } else { "false" });
        json::key(out, false, "readers");
        json::array(out, &self.readers, write_owner);
        json::key(out, false, "writers");
        json::array(out, &self.writers, write_owner);
        out.push('}');
    }
}

/// A task's id, or `"block_on"`, or `"foreign"`.
pub(crate) fn write_owner(out: &mut String, owner: &Owner) {
    match owner {
        Owner::Task(id) => json::number(out, id.0),
        Owner::BlockOn => json::string(out, "block_on"),
        Owner::Foreign => json::string(out, "foreign"),
    }
}

/// A duration as whole microseconds (the wheel's tick), saturating.
pub(crate) fn micros(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}
