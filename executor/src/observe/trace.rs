//! The event trace: one line per event on stderr, so a reader can follow a run.
//!
//! Turned on with `Builder::trace(true)` or `GLASSBOX_TRACE=1`. Every line starts
//! with the time since the runtime started, then the event and its fields:
//!
//! ```text
//! [      0.047ms] spawn  task=1 at examples/trace.rs:25:23
//! [      0.248ms] poll   task=1 -> pending
//! [      1.348ms] park   until the timer due in 6.83235ms
//! [     10.237ms] timer  fire deadline=10.223ms level=0 slot=47 late=0.013ms
//! ```
//!
//! Crates built on the executor add their own events with [`enabled`] and [`emit`]
//! (the patterns crate traces blocking jobs that way).
//!
//! # Ground rules
//! - Zero cost when off: every call site goes through the `trace!` macro (or checks
//!   [`enabled`]), which tests one `bool` before it formats anything.
//! - Tracing never changes what the runtime does, only what it prints.

use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::event::{Park, TokenName, WakePath};
use crate::event_loop::context;
use crate::observe::waits::{WaitLabel, WhatAndWhere};
use crate::task::TaskId;

/// `trace!(tracer, "format", args…)`: emit a trace line if `tracer` is on.
macro_rules! trace {
    ($tracer:expr, $($arg:tt)*) => {
        if $tracer.enabled() {
            $tracer.emit(format_args!($($arg)*));
        }
    };
}

pub(crate) use trace;

/// True if the runtime current on this thread is tracing. Check it before building
/// an expensive event.
pub fn enabled() -> bool {
    context::current().is_some_and(|core| core.observers.tracer.enabled())
}

/// Emits one trace line on the current runtime, if it is tracing; otherwise (or
/// outside a runtime) does nothing.
///
/// ```
/// let mut rt = executor::Runtime::builder().trace(true).build().unwrap();
/// rt.block_on(async {
///     if executor::trace::enabled() {
///         executor::trace::emit(format_args!("custom my-event answer={}", 42));
///     }
/// });
/// ```
pub fn emit(event: fmt::Arguments<'_>) {
    if let Some(core) = context::current() {
        trace!(core.observers.tracer, "{event}");
    }
}

/// Writes trace lines, or does nothing when tracing is off.
#[derive(Debug)]
pub(crate) struct Tracer {
    enabled: bool,
    start: Instant,
}

impl Tracer {
    pub(crate) fn new(enabled: bool) -> Tracer {
        Tracer {
            enabled,
            start: Instant::now(),
        }
    }

    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        // Building with `RUSTFLAGS="--cfg glassbox_trace_off"` compiles every trace
        // site out; BENCHMARKS.md compares that build with the normal one to show
        // what the one `bool` test costs when tracing is off.
        !cfg!(glassbox_trace_off) && self.enabled
    }

    /// The moment `ago` before now, as the trace's first column counts time.
    pub(crate) fn at(&self, ago: Duration) -> ShowMoment {
        let since_start = self.start.elapsed().saturating_sub(ago);
        ShowMoment(since_start.as_secs_f64() * 1000.0)
    }

    /// Prints one line. Call through [`trace!`], which checks `enabled` first.
    #[cold]
    pub(crate) fn emit(&self, event: fmt::Arguments<'_>) {
        let since_start = self.start.elapsed().as_secs_f64() * 1000.0;
        eprintln!("[{since_start:>11.3}ms] {event}");
    }
}

/// A moment as the trace prints it, in ms since the runtime started: `0.254ms`.
pub(crate) struct ShowMoment(f64);

impl fmt::Display for ShowMoment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}ms", self.0)
    }
}

/// A count of ticks (µs) as the trace prints it: `10.223ms`.
pub(crate) struct ShowTicks(pub(crate) u64);

impl fmt::Display for ShowTicks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}ms", self.0 / 1000, self.0 % 1000)
    }
}

/// A park as the trace prints it: `park   until the timer due in 10.584197ms`. The
/// `bool`: something is ready, which is why a `Park::No` does not wait.
pub(crate) struct ShowPark(pub(crate) Park, pub(crate) bool);

impl fmt::Display for ShowPark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Park::No if self.1 => f.write_str("none (work is ready)"),
            // Nothing ready: a paused clock about to jump, or a turn told never to
            // wait (`run_until_stalled`, or no task left to wait for).
            Park::No => f.write_str("none (nothing ready: only a look for I/O)"),
            Park::Until(deadline) => {
                let due_in = deadline.saturating_duration_since(Instant::now());
                write!(f, "until the timer due in {due_in:?}")
            }
            Park::UntilEvent => f.write_str("until an event"),
        }
    }
}

/// A wake's path as the trace prints it: `local` or `remote`.
pub(crate) struct ShowPath(pub(crate) WakePath);

impl fmt::Display for ShowPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            WakePath::Local => "local",
            WakePath::Remote => "remote",
        })
    }
}

/// A token as the trace, the snapshot and a `Turn` write it: `key.generation`.
impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.key, self.generation)
    }
}

/// A task as the trace names it: `task=3`, `task=3 (consumer-1)` if it was given a
/// name, or `block_on` for `TaskId::BLOCK_ON`.
pub(crate) struct Subject(pub(crate) TaskId, pub(crate) Option<Rc<str>>);

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject(TaskId::BLOCK_ON, _) => f.write_str("block_on"),
            Subject(task, Some(name)) => write!(f, "task={task} ({name})"),
            Subject(task, None) => write!(f, "task={task}"),
        }
    }
}

/// `; it waited in Queue::get at src/main.rs:9:5` after a wake's cause, when the
/// woken task had told its wait; nothing otherwise.
pub(crate) struct ItWaitedIn(pub(crate) Option<WaitLabel>);

impl fmt::Display for ItWaitedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(label) => write!(f, "; it waited in {}", WhatAndWhere(label)),
            None => Ok(()),
        }
    }
}

/// What a poll returned, as the trace says it: a task that is ready has finished.
pub(crate) struct Outcome(pub(crate) TaskId, pub(crate) bool);

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match *self {
            Outcome(_, false) => "pending",
            Outcome(TaskId::BLOCK_ON, true) => "ready",
            Outcome(_, true) => "ready (finished)",
        })
    }
}
