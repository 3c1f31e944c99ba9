//! The timeline: the run written as Chrome trace-event JSON, for Perfetto to draw.
//!
//! The text trace (`trace.rs`) is a list of lines; a run with a dozen tasks is easier
//! to *look at*. Turned on with `Builder::trace_json(path)` or
//! `GLASSBOX_TRACE_JSON=path`, this file writes what tracing-chrome writes for tokio:
//! one track per task with a slice per poll, one track for the loop itself, and an
//! arrow from each wake to the poll it caused. Open it in <https://ui.perfetto.dev>
//! (or `chrome://tracing`):
//!
//! ```text
//! event loop   [timers]─┐   [park··········][reactor]─┐  ▁▃▁ ready queue (counter)
//! block_on     [poll]   │                             │
//! task 1 …:25           └─►[poll]                     │
//! task 2 …:31                 └─►[poll]  (wake from task 1)
//! task 3 …:40                                         └─►[poll]
//! ```
//!
//! Tracks (`tid`): 0 the loop (its phases that did something: `timers`, `park`,
//! `reactor`, `remote wakes`), 1 the `block_on` future, task id + 1 each task.
//! Flows (`"cat":"wake"`) start at the waker's side: inside the poll slice of the task
//! (or `block_on`) that called `wake`, or inside the loop slice whose timer, I/O event
//! or remote wake did. They end on the woken task's track, bound (`"bp":"e"`) to the
//! poll slice they caused. Spawns draw a flow too (`"name":"spawn"`). Stalls and
//! forced yields are instants on the task's track; the ready queue's length at the
//! start of each turn is a counter.
//!
//! # Ground rules
//! - Nothing is spent while it is off: every site in the loop goes through
//!   [`Timeline::write`], which tests one `Option` before it reads a clock.
//! - Slices on one track never overlap: a task is polled by one loop, one poll at a
//!   time, and the loop closes one phase before it opens the next.
//! - Every flow end has its start: a wake starts a flow only from inside a slice,
//!   and only the poll it caused ends it. A wake that happens outside any slice (a
//!   task's destructor at shutdown) draws no arrow.
//! - The file on disk is always whole JSON, closed, even when the process dies
//!   mid-run or the disk fills up; and no runtime writes over another's timeline.
//!   `file.rs` says how (which file, when it is flushed, what a failed write leaves).
//! - Times are wall-clock µs since the runtime started, to the ns, so a paused clock's
//!   run is drawn as it really ran (its jumps take no time).

mod file;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::panic::Location;
use std::time::Instant;

use crate::task::TaskId;
use file::Writer;
pub(crate) use file::{AskedBy, TimelineRequest, first_free};

/// The loop's track.
const LOOP_TRACK: u64 = 0;

/// The timeline of one runtime, or nothing when it is off. Lives in the loop's `Core`.
#[derive(Debug)]
pub(crate) struct Timeline(Option<TimelineFile>);

/// An open timeline file and what the writer must remember between events.
#[derive(Debug)]
pub(crate) struct TimelineFile {
    /// `None` once closed (or after a write failed).
    out: RefCell<Option<Writer>>,
    start: Instant,
    /// Where a wake happening now starts its arrow: a task's poll or a loop phase.
    waker_side: Cell<Option<FlowStart>>,
    /// The task being polled and when its poll began (ns since `start`).
    poll: Cell<Option<(TaskId, u64)>>,
    /// The open loop phase: its name, when it began, and whether to draw it empty.
    loop_phase: Cell<Option<LoopPhase>>,
    /// Arrows started inside the open loop phase: a phase with any is always drawn.
    flows_in_phase: Cell<u32>,
    /// The arrow each queued task's next poll ends: flow id and name, by task id.
    pending_flows: RefCell<HashMap<TaskId, (u64, &'static str)>>,
    next_flow_id: Cell<u64>,
}

#[derive(Debug, Clone, Copy)]
enum FlowStart {
    Task(TaskId),
    Loop,
}

#[derive(Debug, Clone, Copy)]
struct LoopPhase {
    name: &'static str,
    began_ns: u64,
    draw_even_if_empty: bool,
}

// === impl Timeline ===

impl Timeline {
    /// Creates the file `request` leads to (`file.rs`: which file) and writes the
    /// header, or stays off for `None`. An error names the setting and the file.
    pub(crate) fn open(request: Option<&TimelineRequest>) -> io::Result<Timeline> {
        let Some(request) = request else {
            return Ok(Timeline(None));
        };
        let file = TimelineFile {
            out: RefCell::new(Some(Writer::create(request)?)),
            start: Instant::now(),
            waker_side: Cell::new(None),
            poll: Cell::new(None),
            loop_phase: Cell::new(None),
            flows_in_phase: Cell::new(0),
            pending_flows: RefCell::new(HashMap::new()),
            next_flow_id: Cell::new(1),
        };
        file.write_line(
            true,
            r#"{"ph":"M","pid":1,"name":"process_name","args":{"name":"glassbox"}}"#,
        );
        file.name_track(LOOP_TRACK, "event loop");
        file.name_track(track_of(TaskId::BLOCK_ON), "block_on");
        // On disk at once: a file that cannot take even its header is refused here,
        // and a later failed write has a whole flush to cut back to.
        if let Some(writer) = file.out.borrow_mut().as_mut() {
            writer
                .write_out(true)
                .map_err(|error| io::Error::new(error.kind(), format!("{request}: {error}")))?;
        }
        Ok(Timeline(Some(file)))
    }

    /// Runs `event` on the open file; does nothing (one `Option` test) when off.
    #[inline]
    pub(crate) fn write(&self, event: impl FnOnce(&TimelineFile)) {
        if let Some(file) = &self.0 {
            event(file);
        }
    }
}

// === impl TimelineFile: the events the loop reports ===

impl TimelineFile {
    /// A task was spawned: name its track, and start a `spawn` arrow to its first poll.
    pub(crate) fn spawned(&self, task: TaskId, spawned_at: &Location<'static>) {
        self.name_track(track_of(task), &format!("task {task} {spawned_at}"));
        self.start_flow(task, "spawn");
    }

    /// `task` was given a name: its track says it.
    pub(crate) fn named(&self, task: TaskId, name: &str) {
        self.name_track(track_of(task), &format!("task {task} {name}"));
    }

    /// `task` (`TaskId::BLOCK_ON`: the `block_on` future) was queued by a wake.
    pub(crate) fn woke(&self, task: TaskId) {
        self.start_flow(task, "wake");
    }

    /// A poll of `task` begins: the arrow that queued it ends here.
    pub(crate) fn poll_begins(&self, task: TaskId) {
        let now = self.now_ns();
        self.poll.set(Some((task, now)));
        self.waker_side.set(Some(FlowStart::Task(task)));
        if let Some((id, name)) = self.pending_flows.borrow_mut().remove(&task) {
            // One ns in: `"bp":"e"` binds the arrow to the slice enclosing it.
            let line = format!(
                r#"{{"ph":"f","bp":"e","pid":1,"tid":{},"ts":{},"id":{id},"cat":"wake","name":"{name}"}}"#,
                track_of(task),
                Micros(now + 1)
            );
            self.write_line(false, &line);
        }
    }

    /// The poll begun by `poll_begins` ended: its slice.
    pub(crate) fn poll_ends(&self, ready: bool) {
        self.waker_side.set(None);
        let Some((task, began)) = self.poll.take() else {
            return;
        };
        let ended = self.now_ns().max(began + 2);
        let outcome = if ready { "Ready" } else { "Pending" };
        let line = format!(
            r#"{{"ph":"X","pid":1,"tid":{},"ts":{},"dur":{},"cat":"poll","name":"poll","args":{{"outcome":"{outcome}"}}}}"#,
            track_of(task),
            Micros(began),
            Micros(ended - began)
        );
        self.write_line(false, &line);
    }

    /// The loop enters one of its phases; the previous one, if open, ends here.
    pub(crate) fn loop_phase_begins(&self, name: &'static str, draw_even_if_empty: bool) {
        self.loop_phase_ends();
        self.loop_phase.set(Some(LoopPhase {
            name,
            began_ns: self.now_ns(),
            draw_even_if_empty,
        }));
        self.flows_in_phase.set(0);
        self.waker_side.set(Some(FlowStart::Loop));
    }

    /// The open loop phase ends: its slice, if it did something worth drawing.
    pub(crate) fn loop_phase_ends(&self) {
        let Some(phase) = self.loop_phase.take() else {
            return;
        };
        self.waker_side.set(None);
        if phase.draw_even_if_empty || self.flows_in_phase.get() > 0 {
            let ended = self.now_ns().max(phase.began_ns + 1);
            let line = format!(
                r#"{{"ph":"X","pid":1,"tid":{LOOP_TRACK},"ts":{},"dur":{},"cat":"loop","name":"{}"}}"#,
                Micros(phase.began_ns),
                Micros(ended - phase.began_ns),
                phase.name
            );
            self.write_line(false, &line);
        }
    }

    /// Phase 3 begins; if the loop may sleep, what is written so far goes to disk
    /// first, so a program that hangs there leaves its timeline behind.
    pub(crate) fn park_begins(&self, may_sleep: bool) {
        if may_sleep {
            self.flush();
        }
        self.loop_phase_begins("park", may_sleep);
    }

    /// Writes the collected events, closed, and steps back over the closing.
    fn flush(&self) {
        self.write_out(true);
    }

    /// An instant on `task`'s track: a stall, a forced yield.
    pub(crate) fn instant(&self, task: TaskId, name: &str) {
        let line = format!(
            r#"{{"ph":"i","s":"t","pid":1,"tid":{},"ts":{},"cat":"loop","name":"{name}"}}"#,
            track_of(task),
            Micros(self.now_ns())
        );
        self.write_line(false, &line);
    }

    /// The ready queue's length at the start of a turn.
    pub(crate) fn ready_queue(&self, length: usize) {
        let line = format!(
            r#"{{"ph":"C","pid":1,"tid":{LOOP_TRACK},"ts":{},"name":"ready queue","args":{{"tasks":{length}}}}}"#,
            Micros(self.now_ns())
        );
        self.write_line(false, &line);
    }

    /// The last flush, which leaves the closing in place. The runtime is dropping;
    /// nothing follows.
    pub(crate) fn close(&self) {
        self.write_out(false);
        self.out.borrow_mut().take();
    }
}

// === impl TimelineFile: writing ===

impl TimelineFile {
    /// Starts an arrow to `task`'s next poll from the waker's side, unless one is
    /// already waiting for that poll or no slice encloses the waker.
    fn start_flow(&self, task: TaskId, name: &'static str) {
        let Some(side) = self.waker_side.get() else {
            return;
        };
        let mut pending = self.pending_flows.borrow_mut();
        if pending.contains_key(&task) {
            return;
        }
        let id = self.next_flow_id.replace(self.next_flow_id.get() + 1);
        pending.insert(task, (id, name));
        drop(pending);
        let tid = match side {
            FlowStart::Task(waker) => track_of(waker),
            FlowStart::Loop => {
                self.flows_in_phase.set(self.flows_in_phase.get() + 1);
                LOOP_TRACK
            }
        };
        let line = format!(
            r#"{{"ph":"s","pid":1,"tid":{tid},"ts":{},"id":{id},"cat":"wake","name":"{name}"}}"#,
            Micros(self.now_ns())
        );
        self.write_line(false, &line);
    }

    fn name_track(&self, tid: u64, name: &str) {
        let mut line =
            format!(r#"{{"ph":"M","pid":1,"tid":{tid},"name":"thread_name","args":{{"name":"#);
        push_json_string(&mut line, name);
        line.push_str("}}");
        self.write_line(false, &line);
    }

    /// One event on its own line; every line but the first starts with the comma.
    fn write_line(&self, first: bool, event: &str) {
        let full = match self.out.borrow_mut().as_mut() {
            Some(writer) => writer.push_event(first, event),
            None => return,
        };
        if full {
            self.flush();
        }
    }

    /// Writes what has collected (`file.rs`). A failed write stops the timeline, not
    /// the run: said once on stderr, and nothing more is written.
    fn write_out(&self, more_may_follow: bool) {
        let mut out = self.out.borrow_mut();
        let Some(writer) = out.as_mut() else {
            return;
        };
        if let Err(error) = writer.write_out(more_may_follow) {
            *out = None;
            eprintln!("glassbox: {error}");
        }
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A task's track: 1 for the `block_on` future (`TaskId::BLOCK_ON`), id + 1 for a task.
fn track_of(task: TaskId) -> u64 {
    task.0 + 1
}

/// Nanoseconds written as µs with three decimals, exactly (no float rounding, so an
/// arrow's start inside a slice stays inside it).
struct Micros(u64);

impl std::fmt::Display for Micros {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// Appends `text` as a JSON string literal, escaping quotes, backslashes and control
/// characters (a spawn site's path may hold any of them).
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_backslashes_and_control_characters() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn micros_are_exact_to_the_nanosecond() {
        assert_eq!(Micros(12_345_678).to_string(), "12345.678");
        assert_eq!(Micros(7).to_string(), "0.007");
    }
}
