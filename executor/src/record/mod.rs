//! The recording: a whole run as one HTML page that steps it forwards and backwards
//! (`Builder::record(path)`, or `GLASSBOX_RECORD=path`).
//!
//! A recorded runtime turns its loop as always, but each turn is written down as the
//! stepping API writes it (`observe/turn.rs`: what was polled and why, the timers
//! that fired, the park, the I/O events, the remote wakes, a clock jump), and as the
//! turn ends a [`Snapshot`](crate::Snapshot) is taken and kept in its canonical
//! form (`state.rs`). When the runtime is dropped, `page.rs` writes the page: the
//! viewer (`viewer.html`, `viewer.css`, `viewer.js`, written here, no framework, no
//! network) with the run embedded.
//!
//! ```text
//! block_on ─► recorded_turn ─► Turn ─┐
//!                                     ├─► frame: events, state (keyframe or delta), digest
//!          ─► snapshot::take ─► State ┘
//! Runtime::drop ─► page.rs ─► run.html
//! ```
//!
//! # Ground rules
//! - Off, it costs one `Option` test per turn of `block_on`; nothing else in the loop
//!   knows it exists.
//! - Every `KEYFRAME_EVERY`th turn keeps the whole state, the others what changed, so
//!   the page rebuilds any turn from the nearest keyframe before it.
//! - A paused-clock run records the same bytes every time: wall-clock durations (a
//!   poll's, a park's) are written only for a real-clock run.
//! - At most `MAX_TURNS` turns or `MAX_BYTES` of frames: past either, the recording
//!   stops, and the page says where the run was cut.

mod json;
mod page;
pub(crate) mod state;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::fmt::Write;
use std::ops::Not;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use crate::event_loop::{Core, WaitPolicy};
use crate::observe::timeline::first_free;
use crate::observe::turn::{Owner, Turn};
use crate::observe::woken_by::WokenBy;
use crate::snapshot;
use state::{State, micros, write_owner};

/// A keyframe every this many turns.
const KEYFRAME_EVERY: u64 = 64;
/// The most turns a recording keeps.
const MAX_TURNS: u64 = 50_000;
/// The most bytes of frames a recording keeps (the page holds them all).
const MAX_BYTES: usize = 64 << 20;

/// One turn of `core`, written down as it runs (the stepping API's, and the
/// recording's).
pub(crate) fn recorded_turn(core: &Core, waiting: WaitPolicy) -> Turn {
    let number = core.observers.counters.reactor_turns.get() + 1;
    let recording = core
        .observers
        .recorder
        .start(number, core.time.clock.now_tick());
    core.run_once(waiting);
    recording.finish(core.time.clock.now_tick())
}

/// Every recording path this process has claimed, absolute: no runtime writes over
/// another's page.
static CLAIMED: LazyLock<Mutex<HashSet<PathBuf>>> = LazyLock::new(Mutex::default);

/// The path a runtime asking for `asked` records to: `asked` the first time this
/// process asks for it, then `asked` numbered before its extension (`run.2.html`).
pub(crate) fn claim(asked: &Path) -> PathBuf {
    let mut claimed = CLAIMED.lock().unwrap_or_else(PoisonError::into_inner);
    let (path, absolute) = first_free(asked, &claimed);
    claimed.insert(absolute);
    if path != asked {
        eprintln!(
            "glassbox: {} holds another runtime's recording of this process; this \
             runtime's goes to {}",
            asked.display(),
            path.display()
        );
    }
    path
}

/// A runtime's recording, written to `path` when the runtime is dropped.
pub(crate) struct RunRecorder {
    path: PathBuf,
    frames: RefCell<Frames>,
}

/// The frames so far, as the page's JSON, and what the next one needs.
#[derive(Default)]
struct Frames {
    /// Each frame's JSON, comma-separated.
    json: String,
    count: u64,
    /// The state at the end of the last frame (the next delta's base).
    last: Option<State>,
    /// Where the run was cut, if it was.
    cut: Option<String>,
    /// Every spawn and wait site seen, for the source excerpts.
    sites: BTreeSet<String>,
    /// Each named task's name.
    names: Vec<(u64, String)>,
    paused: bool,
}

impl RunRecorder {
    pub(crate) fn new(path: PathBuf) -> RunRecorder {
        RunRecorder {
            path,
            frames: RefCell::default(),
        }
    }

    /// Runs one turn of `core`, recorded, and returns it. The state is read as the
    /// turn begins too: between turns the `block_on` future (or the code stepping)
    /// may have spawned, woken or dropped tasks.
    pub(crate) fn turn(&self, core: &Core, waiting: WaitPolicy) -> Turn {
        let before = self.is_full().not().then(|| {
            let snapshot = snapshot::take(core);
            State::of(&snapshot, &Turn::default(), None)
                .with_interests(|token| core.observers.interest_of(token))
        });
        let turn = recorded_turn(core, waiting);
        self.add(core, &turn, before);
        turn
    }

    /// True once the recording has stopped at its cap.
    fn is_full(&self) -> bool {
        self.frames.borrow().cut.is_some()
    }

    /// Adds the frame of `turn`, which just ended on `core`; `before`: the state as it
    /// began.
    fn add(&self, core: &Core, turn: &Turn, before: Option<State>) {
        let mut frames = self.frames.borrow_mut();
        if frames.cut.is_some() {
            return;
        }
        if frames.count >= MAX_TURNS || frames.json.len() >= MAX_BYTES {
            frames.cut = Some(format!(
                "the recording stopped after turn {} (it keeps at most {MAX_TURNS} turns and \
                 {} MiB); the run went on",
                frames.last.as_ref().map_or(0, |last| last.turn()),
                MAX_BYTES >> 20
            ));
            return;
        }
        let snapshot = snapshot::take(core);
        frames.paused = snapshot.paused;
        for task in &snapshot.tasks {
            if let Some(name) = &task.name
                && !frames.names.iter().any(|(id, _)| *id == task.id.0)
            {
                frames.names.push((task.id.0, name.clone()));
            }
        }
        let state = State::of(&snapshot, turn, frames.last.as_ref())
            .with_interests(|token| core.observers.interest_of(token));
        for task in &state.tasks {
            frames.sites.insert(task.spawned_at.clone());
            frames.sites.extend(task.wait_site.clone());
        }
        let mut frame = String::from("{");
        json::key(&mut frame, true, "turn");
        json::number(&mut frame, turn.number);
        json::key(&mut frame, false, "started_us");
        json::number(&mut frame, micros(turn.started_at));
        json::key(&mut frame, false, "ended_us");
        json::number(&mut frame, micros(turn.ended_at));
        json::key(&mut frame, false, "events");
        let stalled = |took| core.observers.is_stall(took);
        write_events(&mut frame, turn, !snapshot.paused, stalled);
        if let Some(before) = before {
            // As a delta from the last turn's end (or from nothing, before the first).
            let empty = State::empty();
            let last = frames.last.as_ref().unwrap_or(&empty);
            if before != *last {
                json::key(&mut frame, false, "before");
                frame.push_str(&before.delta_json(last));
            }
        }
        let canonical = state.to_json();
        match &frames.last {
            Some(last) if !frames.count.is_multiple_of(KEYFRAME_EVERY) => {
                json::key(&mut frame, false, "delta");
                frame.push_str(&state.delta_json(last));
            }
            _ => {
                json::key(&mut frame, false, "state");
                frame.push_str(&canonical);
            }
        }
        json::key(&mut frame, false, "digest");
        json::string(&mut frame, &json::digest(&canonical));
        json::key(&mut frame, false, "warnings");
        let warnings: Vec<String> = snapshot.warnings.iter().map(ToString::to_string).collect();
        json::array(&mut frame, &warnings, |out, warning| {
            json::string(out, warning)
        });
        frame.push('}');
        if frames.count > 0 {
            frames.json.push(',');
        }
        frames.json.push_str(&frame);
        frames.count += 1;
        frames.last = Some(state);
    }

    /// Writes the page to the recording's path; says on stderr where, or why not.
    pub(crate) fn write(&self) {
        let frames = self.frames.borrow();
        let page = page::render(&page::Run {
            frames: &frames.json,
            turns: frames.count,
            paused: frames.paused,
            cut: frames.cut.as_deref(),
            sites: &frames.sites,
            names: &frames.names,
        });
        match std::fs::write(&self.path, page) {
            Ok(()) => eprintln!(
                "glassbox: recorded {} turns to {} (open it in a browser)",
                frames.count,
                self.path.display()
            ),
            Err(error) => eprintln!(
                "glassbox: cannot write the recording to {}: {error}",
                self.path.display()
            ),
        }
    }
}

/// A turn's events, in the order the loop did them: polls (phase 1), timers
/// (phase 2), the park and its I/O events (phase 3), tasks cut off by their budget,
/// remote wakes (phase 4), a clock jump and the timers it fired (phase 5).
fn write_events(
    out: &mut String,
    turn: &Turn,
    wall_times: bool,
    stalled: impl Fn(Duration) -> bool,
) {
    let mut events: Vec<String> = Vec::new();
    for poll in &turn.polls {
        let mut event = String::from("{");
        json::key(&mut event, true, "kind");
        json::string(&mut event, "poll");
        json::key(&mut event, false, "task");
        json::number(&mut event, poll.task.0);
        json::key(&mut event, false, "ready");
        event.push_str(if poll.ready { "true" } else { "false" });
        write_cause(&mut event, poll.woken_by);
        json::key(&mut event, false, "waited_in");
        let waited_in = poll
            .waited_in
            .map(|label| format!("{} at {}", label.what, label.at));
        json::optional_string(&mut event, waited_in.as_deref());
        if wall_times {
            json::key(&mut event, false, "took_us");
            json::number(&mut event, micros(poll.took));
        }
        // Marked even on a paused clock: a stall is real time, and worth the mark.
        if stalled(poll.took) {
            json::key(&mut event, false, "stall");
            event.push_str("true");
        }
        event.push('}');
        events.push(event);
    }
    let fired = |events: &mut Vec<String>| {
        for timer in &turn.timers {
            events.push(format!(
                "{{\"kind\":\"timer\",\"deadline_us\":{},\"level\":{},\"slot\":{},\"late_us\":{}}}",
                micros(timer.deadline),
                timer.level,
                timer.slot,
                micros(timer.late)
            ));
        }
    };
    if turn.clock_jump.is_none() {
        fired(&mut events);
    }
    let mut park = String::from("{\"kind\":\"park\",\"text\":");
    json::string(&mut park, &turn.park.to_string());
    if wall_times {
        let _ = write!(park, ",\"slept_us\":{}", micros(turn.parked_for));
    }
    park.push('}');
    events.push(park);
    for io in &turn.io {
        let mut event = String::from("{\"kind\":\"io\",\"token\":");
        json::string(&mut event, &io.token);
        let _ = write!(
            event,
            ",\"readable\":{},\"writable\":{},\"woken\":",
            io.readable, io.writable
        );
        json::array(&mut event, &io.woken, write_owner);
        event.push('}');
        events.push(event);
    }
    for task in &turn.forced_yields {
        events.push(format!("{{\"kind\":\"forced_yield\",\"task\":{}}}", task.0));
    }
    for task in &turn.remote_wakes {
        events.push(format!("{{\"kind\":\"remote\",\"task\":{}}}", task.0));
    }
    if let Some(to) = turn.clock_jump {
        events.push(format!("{{\"kind\":\"clock\",\"to_us\":{}}}", micros(to)));
        fired(&mut events);
    }
    json::array(out, &events, |out, event| out.push_str(event));
}

/// A poll's cause: `"cause"` as a reader says it, `"cause_kind"` and what the page
/// links to (`"cause_task"`, `"cause_timer_us"`, `"cause_token"`).
fn write_cause(out: &mut String, woken_by: Option<WokenBy>) {
    json::key(out, false, "cause");
    let text = woken_by.map(|cause| match cause {
        WokenBy::Spawn => "its spawn (first poll)".to_string(),
        cause => cause.to_string(),
    });
    json::optional_string(out, text.as_deref());
    let kind = match woken_by {
        None => "unknown",
        Some(WokenBy::Spawn) => "spawn",
        Some(WokenBy::Task(_)) => "task",
        Some(WokenBy::Itself) => "itself",
        Some(WokenBy::BlockOn) => "block_on",
        Some(WokenBy::Timer(_)) => "timer",
        Some(WokenBy::Io { .. }) => "io",
        Some(WokenBy::Budget) => "budget",
        Some(WokenBy::OtherThread) => "thread",
        Some(_) => "loop",
    };
    json::key(out, false, "cause_kind");
    json::string(out, kind);
    match woken_by {
        Some(WokenBy::Task(task)) => {
            json::key(out, false, "cause_task");
            write_owner(out, &Owner::Task(task));
        }
        Some(WokenBy::Timer(deadline)) => {
            json::key(out, false, "cause_timer_us");
            json::number(out, micros(deadline));
        }
        Some(WokenBy::Io {
            key, generation, ..
        }) => {
            json::key(out, false, "cause_token");
            json::string(out, &format!("{key}.{generation}"));
        }
        _ => {}
    }
}
