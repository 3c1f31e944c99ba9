//! How a [`Snapshot`] prints: one pane per part of the loop, within 100 columns.
//!
//! Arrows name owners: `→ task 2` is the task whose waker a timer or a socket holds.
//! In the I/O pane, upper case is what a parked operation waits for (`READABLE →
//! task 1`) and the parenthesis is what the reactor remembers (`(ready: writable)`:
//! an operation would just try). A waker the runtime did not make shows as `a foreign
//! waker`, never as a guess.

use std::fmt;

use super::{IoRegistration, Snapshot, TaskInfo, TaskState, Wait};
use crate::observe::turn::{Millis, Owners};

/// The width the panes wrap at.
const COLUMNS: usize = 100;

/// Where a pane's continuation lines start.
const CONTINUATION: &str = "       │ ";

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
            let owner = match timer.owner {
                Some(owner) => owner.to_string(),
                None => "no waker yet".to_string(),
            };
            let deadline = Millis(timer.deadline);
            format!("L{} s{}: {deadline} → {owner}", timer.level, timer.slot)
        });
        pane(f, "timers", timers.collect(), " · ")?;
        pane(f, "io", self.io.iter().map(show_io).collect(), " · ")?;
        tasks_pane(f, &self.tasks)?;
        writeln!(f, "blocking jobs in flight: {}", self.blocking_jobs)?;
        for warning in &self.warnings {
            wrapped(f, "warn", &warning.to_string())?;
        }
        Ok(())
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::Timer(deadline) => write!(f, "timer {}", Millis(*deadline)),
            Wait::Readable(token) => write!(f, "token {token} READABLE"),
            Wait::Writable(token) => write!(f, "token {token} WRITABLE"),
            Wait::JoinHandle(task) => write!(f, "JoinHandle of task {task}"),
            Wait::Told(label) => label.fmt(f),
        }
    }
}

/// One source: `token 1.1 READABLE → task 4 (ready: writable)`.
fn show_io(source: &IoRegistration) -> String {
    let mut parts = Vec::new();
    if !source.readers.is_empty() {
        parts.push(format!("READABLE → {}", Owners(&source.readers)));
    }
    if !source.writers.is_empty() {
        parts.push(format!("WRITABLE → {}", Owners(&source.writers)));
    }
    let remembered = match (source.readable, source.writable) {
        (true, true) => "(ready: readable, writable)",
        (true, false) => "(ready: readable)",
        (false, true) => "(ready: writable)",
        (false, false) => "(drained)",
    };
    parts.push(remembered.to_string());
    format!("token {} {}", source.token, parts.join(" "))
}

/// The task table, with a `waits on` column after the spawn sites (padded to the
/// widest, so the column lines up).
fn tasks_pane(f: &mut fmt::Formatter<'_>, tasks: &[TaskInfo]) -> fmt::Result {
    // A named task's site leads with its name: tasks spawned on one line differ.
    let sites: Vec<String> = tasks
        .iter()
        .map(|task| match &task.name {
            Some(name) => format!("\"{name}\" {}", task.spawned_at),
            None => task.spawned_at.to_string(),
        })
        .collect();
    let width = sites.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let width = width.max("spawned at".len());
    let header = format!(
        "tasks  │ id  state      polls wakes  self  {:<width$}",
        "spawned at"
    );
    writeln!(f, "{header}  waits on")?;
    for (task, site) in tasks.iter().zip(&sites) {
        let state = match task.state {
            TaskState::Scheduled => "scheduled",
            TaskState::Parked => "parked",
            TaskState::Running => "running",
        };
        let row = format!(
            "{CONTINUATION}{:<3} {state:<9} {:>6} {:>5} {:>5}  {site:<width$}  ",
            task.id, task.polls, task.wakes, task.self_wakes
        );
        let mut waits: Vec<String> = task.waits_on.iter().map(ToString::to_string).collect();
        if waits.is_empty() && task.state == TaskState::Parked {
            // Parked, but on nothing the runtime holds or was told of: a channel of
            // another crate, a waker kept in a variable. Say how many wakers are out
            // there, not where.
            waits.push(match task.wakers {
                0 => "nothing: no waker left".to_string(),
                1 => "a waker held elsewhere".to_string(),
                n => format!("{n} wakers held elsewhere"),
            });
        }
        let indent = row.chars().count();
        let all_fit = !waits.is_empty()
            && (waits.iter()).all(|wait| indent + wait.chars().count() <= COLUMNS);
        if all_fit {
            wrap(f, row, indent, waits, ", ")?;
        } else {
            // Nothing to show, or a wait too long for the column (a label with its
            // call site): they go on the lines below, indented under the row.
            writeln!(f, "{}", row.trim_end())?;
            if !waits.is_empty() {
                let below = format!("{CONTINUATION}    ");
                let indent = below.chars().count();
                wrap(f, below, indent, waits, ", ")?;
            }
        }
    }
    Ok(())
}

/// A pane: `label  │ item · item · …`, wrapped onto continuation lines at `COLUMNS`.
fn pane(
    f: &mut fmt::Formatter<'_>,
    label: &str,
    items: Vec<String>,
    separator: &str,
) -> fmt::Result {
    let line = format!("{label:<6} │ ");
    if items.is_empty() {
        return writeln!(f, "{line}(none)");
    }
    wrap(f, line, CONTINUATION.chars().count(), items, separator)
}

/// A sentence in a pane, wrapped between words at `COLUMNS`.
fn wrapped(f: &mut fmt::Formatter<'_>, label: &str, text: &str) -> fmt::Result {
    let line = format!("{label:<6} │ ");
    let words = text.split(' ').map(str::to_string).collect();
    wrap(f, line, CONTINUATION.chars().count() + 2, words, " ")
}

/// Writes `line` followed by `items`, separated by `separator`; an item that would end
/// past `COLUMNS` starts a continuation line, indented to `indent` columns.
fn wrap(
    f: &mut fmt::Formatter<'_>,
    mut line: String,
    indent: usize,
    items: Vec<String>,
    separator: &str,
) -> fmt::Result {
    let mut at_line_start = true;
    for item in items {
        let width = line.chars().count() + separator.chars().count() + item.chars().count();
        if !at_line_start && width > COLUMNS {
            writeln!(f, "{line}")?;
            let pad = indent.saturating_sub(CONTINUATION.chars().count());
            line = format!("{CONTINUATION}{:pad$}", "");
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
