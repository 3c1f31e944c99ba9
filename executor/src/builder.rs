//! `Builder`: how a runtime is configured before it starts.
//!
//! # Ground rules
//! - An explicit builder call wins over the environment (`GLASSBOX_STALL_MS`,
//!   `GLASSBOX_TRACE`, `GLASSBOX_TRACE_JSON`), which wins over the default.
//! - A bad value is refused where it is given: a builder method panics naming the
//!   mistake; a bad environment variable makes `build` return `InvalidInput`.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::coop::DEFAULT_COOP_BUDGET;
use crate::event_loop::{Chooser, LoopSettings};
use crate::explore::{Schedule, chooser_for};
use crate::observe::ObserverSettings;
use crate::observe::stall::{LiveStall, StallCallback, StallReport, StallSettings};
use crate::observe::timeline::{AskedBy, TimelineRequest};
use crate::observe::watchdog::LiveStallCallback;
use crate::record::claim;
use crate::runtime::{Config, Runtime};

/// Task polls between two looks at timers and I/O. tokio's current_thread runtime
/// uses 61: large enough that the reactor's syscall is spread over many polls, small
/// enough that a timer or socket waits at most a few dozen short polls. We keep the
/// same number so the two runtimes interleave work the same way in the tour.
pub const DEFAULT_EVENT_INTERVAL: u32 = 61;

/// The default stall threshold: a poll this long is a bug worth a line on stderr.
pub const DEFAULT_STALL_THRESHOLD: Duration = Duration::from_millis(100);

/// A user's stall callback.
/// Configures and builds a [`Runtime`].
///
/// tokio equivalent: `tokio::runtime::Builder::new_current_thread()`. asyncio
/// equivalent: `asyncio.new_event_loop()` plus `loop.set_debug(True)`.
///
/// ```
/// use std::time::Duration;
/// let mut rt = executor::Runtime::builder()
///     .paused_clock(true)
///     .stall_threshold(Some(Duration::from_millis(50)))
///     .event_interval(32)
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
/// ```
pub struct Builder {
    paused_clock: bool,
    event_interval: u32,
    /// `None`: not set by a builder call (the environment or the default decides).
    stall_threshold: Option<Option<Duration>>,
    on_stall: Option<StallCallback>,
    on_live_stall: Option<LiveStallCallback>,
    trace: Option<bool>,
    /// `None`: not set by a builder call (`GLASSBOX_TRACE_JSON` decides).
    trace_json: Option<PathBuf>,
    /// `None`: not set by a builder call (`GLASSBOX_RECORD` decides, unless
    /// `record_env` is off).
    record: Option<PathBuf>,
    record_env: bool,
    /// Who picks where FIFO would (`schedule`, or the explorer's own); `None`:
    /// not set by a builder call (`GLASSBOX_SCHEDULE` decides).
    chooser: Option<Option<Rc<dyn Chooser>>>,
    coop_budget: Option<u32>,
    max_blocking_threads: Option<usize>,
    shutdown_timeout: Option<Duration>,
}

// === impl Builder ===

impl Runtime {
    /// A runtime with the default settings (real clock, stall reports on).
    ///
    /// # Errors
    /// If the OS refuses the poller, or an environment variable is malformed
    /// (see [`Builder::build`]).
    pub fn new() -> io::Result<Runtime> {
        Runtime::builder().build()
    }

    /// Starts configuring a runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }
}

impl Builder {
    pub(crate) fn new() -> Builder {
        Builder {
            paused_clock: false,
            event_interval: DEFAULT_EVENT_INTERVAL,
            stall_threshold: None,
            on_stall: None,
            on_live_stall: None,
            trace: None,
            trace_json: None,
            record: None,
            record_env: true,
            chooser: None,
            coop_budget: Some(DEFAULT_COOP_BUDGET),
            max_blocking_threads: None,
            shutdown_timeout: None,
        }
    }

    /// Virtual time: the clock stands still while tasks run, and jumps straight to the
    /// next timer when nothing else can make progress (no task ready, no I/O, no
    /// blocking job in flight). A one-hour sleep then takes microseconds. For tests.
    /// tokio equivalent: `start_paused(true)`.
    pub fn paused_clock(mut self, paused: bool) -> Builder {
        self.paused_clock = paused;
        self
    }

    /// How many task polls may run before the loop looks at timers and I/O again.
    /// Default [`DEFAULT_EVENT_INTERVAL`].
    ///
    /// # Panics
    /// If `polls` is 0: the loop would never run a task.
    #[track_caller]
    pub fn event_interval(mut self, polls: u32) -> Builder {
        assert!(
            polls > 0,
            "glassbox: Builder::event_interval must be at least 1 (got 0)"
        );
        self.event_interval = polls;
        self
    }

    /// Report any single poll longer than this (`None` or zero: never). Default
    /// 100 ms, or `GLASSBOX_STALL_MS` milliseconds if that is set. A threshold of
    /// 40 ms or more lets the loop time polls with the kernel's coarse clock (~5 ns a
    /// read instead of ~25; it ticks every 1–4 ms), so a poll up to one tick under
    /// the threshold may be reported, never one over it missed.
    pub fn stall_threshold(mut self, threshold: Option<Duration>) -> Builder {
        self.stall_threshold = Some(threshold.filter(|t| !t.is_zero()));
        self
    }

    /// Send stall reports to `callback` instead of stderr. It runs on the loop's
    /// thread, once the stalled poll has returned.
    pub fn on_stall(mut self, callback: impl Fn(&StallReport) + 'static) -> Builder {
        self.on_stall = Some(Rc::new(callback));
        self
    }

    /// Send the watchdog's live reports (a poll still running past the threshold) to
    /// `callback` instead of stderr. It runs on the watchdog thread, while the loop's
    /// thread is still stuck in the poll, hence `Send + Sync`. That one thread watches
    /// every runtime of the process, so a callback that blocks delays the other
    /// runtimes' live reports; it is never called once the runtime has dropped.
    pub fn on_live_stall(
        mut self,
        callback: impl Fn(&LiveStall) + Send + Sync + 'static,
    ) -> Builder {
        self.on_live_stall = Some(Arc::new(callback));
        self
    }

    /// How many leaf operations (a read, an accept, a fired timer, a queue get...) a
    /// task may complete in one poll before it is made to yield: default
    /// [`DEFAULT_COOP_BUDGET`] (128). `None` turns the budget off: a task that is
    /// always ready then keeps the loop for as long as it likes (see `coop.rs`).
    ///
    /// tokio equivalent: none (tokio's budget is fixed; `unconstrained` lifts it).
    ///
    /// # Panics
    /// If the budget is `Some(0)`: no task could ever complete anything.
    #[track_caller]
    pub fn coop_budget(mut self, budget: Option<u32>) -> Builder {
        assert!(
            budget != Some(0),
            "glassbox: Builder::coop_budget must be at least 1 (got Some(0)); None turns it off"
        );
        self.coop_budget = budget;
        self
    }

    /// Print one line per runtime event to stderr. Default off, or on if
    /// `GLASSBOX_TRACE=1`.
    pub fn trace(mut self, on: bool) -> Builder {
        self.trace = Some(on);
        self
    }

    /// Write the run as Chrome trace-event JSON to `path`, for <https://ui.perfetto.dev>
    /// or `chrome://tracing` to draw: a track per task with a slice per poll, the
    /// loop's own track, and an arrow from each wake to the poll it caused
    /// (`observe/timeline.rs`). Default: off, or the path in `GLASSBOX_TRACE_JSON` if that is
    /// set and not empty. The file is whole JSON at every moment, and has every event
    /// once the runtime is dropped.
    ///
    /// One file per runtime: the first runtime of the process to ask for `path` writes
    /// `path`; a later one (alive at the same time or not) writes `path` numbered
    /// before its extension, `trace.2.json`, `trace.3.json`, … and says so on stderr,
    /// so that no timeline of this process is written over.
    ///
    /// tokio equivalent: none built in; `tracing-chrome` over tokio's `tracing` spans.
    pub fn trace_json(mut self, path: impl Into<PathBuf>) -> Builder {
        self.trace_json = Some(path.into());
        self
    }

    /// Which order the loop takes where it has a choice: [`Schedule::Fifo`] (the
    /// default: tasks in the order they were woken, timers by deadline then arming)
    /// or [`Schedule::Seeded`], the explorer's default strategy from a seed (any
    /// ready task may run next, timers due together fire in any order, now and then
    /// a poll gets a small coop budget or a parked task is woken for nothing).
    /// [`Explorer`](crate::explore::Explorer) tries many seeds and shrinks a failure.
    ///
    /// tokio equivalent: none (`rng_seed` orders only `select!`'s branches).
    pub fn schedule(mut self, schedule: Schedule) -> Builder {
        self.chooser = Some(chooser_for(schedule));
        self
    }

    /// Not `GLASSBOX_RECORD`: the explorer's runtimes record only the failing
    /// schedule, when asked, not each of a thousand runs.
    pub(crate) fn ignoring_record_env(mut self) -> Builder {
        self.record_env = false;
        self
    }

    /// The explorer's chooser, for the runtime it builds for one schedule.
    pub(crate) fn chooser(mut self, chooser: Rc<dyn Chooser>) -> Builder {
        self.chooser = Some(Some(chooser));
        self
    }

    /// Record the run as one HTML page at `path`, written when the runtime is dropped:
    /// open it in any browser (from `file://`, no server, no network) and step the run
    /// forwards and backwards, turn by turn and event by event, with the ready queue,
    /// the timer wheel, the reactor's sources and every task at each step
    /// (`record/`). Default: off, or the path in `GLASSBOX_RECORD` if that is set and
    /// not empty; with that variable, a process's later runtimes write `path` numbered
    /// before its extension (`run.2.html`, …), as [`trace_json`](Builder::trace_json)
    /// does.
    ///
    /// Recording costs a snapshot of the runtime's state at the end of every turn:
    /// for learning and debugging, not for production. It keeps at most 50,000 turns
    /// (64 MiB of frames); the page says where a longer run was cut.
    ///
    /// tokio equivalent: none (tokio-console records, but has no replay).
    pub fn record(mut self, path: impl Into<PathBuf>) -> Builder {
        self.record = Some(path.into());
        self
    }

    /// At most this many threads in the runtime's blocking pool (`patterns`'
    /// `spawn_blocking` inside this runtime); more jobs wait in its queue. Default: the
    /// pool's own (512, as tokio's).
    ///
    /// tokio equivalent: `max_blocking_threads`.
    ///
    /// # Panics
    /// If `threads` is 0: no job could ever run.
    #[track_caller]
    pub fn max_blocking_threads(mut self, threads: usize) -> Builder {
        assert!(
            threads > 0,
            "glassbox: Builder::max_blocking_threads must be at least 1 (got 0)"
        );
        self.max_blocking_threads = Some(threads);
        self
    }

    /// How long dropping the runtime waits for the blocking jobs handed to its pool,
    /// queued or running, to run. Default: until they end. Past `timeout`, jobs no
    /// thread has started are cancelled, and running ones are left to finish, detached.
    ///
    /// tokio equivalent: `Runtime::shutdown_timeout`.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Builder {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Creates the runtime: its poller, its remote-wake channel and its timer wheel.
    ///
    /// # Errors
    /// If the OS refuses the poller (`epoll_create`, the eventfd), or the timeline's
    /// file cannot be created (the error keeps the OS's kind, and names the setting
    /// and the path), or if
    /// `GLASSBOX_STALL_MS` / `GLASSBOX_TRACE` hold something that is not a number /
    /// not `0` or `1`.
    pub fn build(self) -> io::Result<Runtime> {
        let stall_threshold = match self.stall_threshold {
            Some(explicit) => explicit,
            None => stall_threshold_from_env(std::env::var_os("GLASSBOX_STALL_MS"))?,
        };
        let trace = match self.trace {
            Some(explicit) => explicit,
            None => trace_from_env()?,
        };
        let trace_json = match self.trace_json {
            Some(path) => Some((path, AskedBy::Builder)),
            None => std::env::var_os("GLASSBOX_TRACE_JSON")
                .filter(|path| !path.is_empty())
                .map(|path| (PathBuf::from(path), AskedBy::Environment)),
        }
        .map(|(path, asked_by)| TimelineRequest { path, asked_by });
        let from_env = || std::env::var_os("GLASSBOX_RECORD").map(PathBuf::from);
        let record = (self.record)
            .or_else(|| self.record_env.then(from_env).flatten())
            .filter(|path| !path.as_os_str().is_empty())
            .map(|path| claim(&path));
        let config = Config {
            run: LoopSettings {
                paused_clock: self.paused_clock,
                event_interval: self.event_interval,
                coop_budget: self.coop_budget,
            },
            observe: ObserverSettings {
                trace,
                trace_json,
                stalls: StallSettings {
                    threshold: stall_threshold,
                    on_stall: self.on_stall,
                },
                on_live_stall: self.on_live_stall,
                recording: record.is_some(),
            },
            record,
            chooser: match self.chooser {
                Some(explicit) => explicit,
                None => chooser_for(schedule_from_env(std::env::var_os("GLASSBOX_SCHEDULE"))?),
            },
            max_blocking_threads: self.max_blocking_threads,
            shutdown_timeout: self.shutdown_timeout,
        };
        static NEXT_RUNTIME_ID: AtomicU64 = AtomicU64::new(1);
        Runtime::from_config(NEXT_RUNTIME_ID.fetch_add(1, Ordering::Relaxed), config)
    }
}

/// The schedule `GLASSBOX_SCHEDULE` (given as `value`) asks for: unset, empty or
/// `fifo` is FIFO; a number is that seed (as `Schedule::Seeded`). It lets a whole
/// test suite run under one explored schedule (`.ci/run` runs the patterns' tests so).
fn schedule_from_env(value: Option<OsString>) -> io::Result<Schedule> {
    let Some(value) = value.filter(|v| !v.to_string_lossy().trim().is_empty()) else {
        return Ok(Schedule::Fifo);
    };
    let text = value.to_string_lossy();
    match text.trim() {
        "fifo" => Ok(Schedule::Fifo),
        seed => seed.parse().map(Schedule::Seeded).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "GLASSBOX_SCHEDULE must be `fifo` or a seed (a whole number), got {value:?}"
                ),
            )
        }),
    }
}

/// The stall threshold that `GLASSBOX_STALL_MS` (given as `value`) asks for.
fn stall_threshold_from_env(value: Option<OsString>) -> io::Result<Option<Duration>> {
    // Unset or empty (`GLASSBOX_STALL_MS= cargo run`) means the default, as an empty
    // `GLASSBOX_TRACE` means off.
    let Some(value) = value.filter(|v| !v.to_string_lossy().trim().is_empty()) else {
        return Ok(Some(DEFAULT_STALL_THRESHOLD));
    };
    let millis: u64 = value.to_str().and_then(|v| v.trim().parse().ok()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("GLASSBOX_STALL_MS must be a whole number of milliseconds (0 = off), got {value:?}"),
        )
    })?;
    Ok((millis > 0).then(|| Duration::from_millis(millis)))
}

fn trace_from_env() -> io::Result<bool> {
    match std::env::var_os("GLASSBOX_TRACE") {
        None => Ok(false),
        Some(value) => match value.to_str().map(str::trim) {
            Some("1") => Ok(true),
            Some("0") | Some("") => Ok(false),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("GLASSBOX_TRACE must be 1 (on) or 0 (off), got {value:?}"),
            )),
        },
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("paused_clock", &self.paused_clock)
            .field("event_interval", &self.event_interval)
            .field("stall_threshold", &self.stall_threshold)
            .field("on_stall", &self.on_stall.as_ref().map(|_| "callback"))
            .field(
                "on_live_stall",
                &self.on_live_stall.as_ref().map(|_| "callback"),
            )
            .field("trace", &self.trace)
            .field("trace_json", &self.trace_json)
            .field("coop_budget", &self.coop_budget)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stall_ms(value: Option<&str>) -> io::Result<Option<Duration>> {
        stall_threshold_from_env(value.map(OsString::from))
    }

    #[test]
    fn glassbox_stall_ms_sets_the_threshold_and_zero_turns_it_off() {
        assert_eq!(stall_ms(None).unwrap(), Some(DEFAULT_STALL_THRESHOLD));
        assert_eq!(
            stall_ms(Some(" 250 ")).unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(stall_ms(Some("0")).unwrap(), None);
    }

    #[test]
    fn a_malformed_glassbox_stall_ms_is_refused_naming_the_variable() {
        let error = stall_ms(Some("fast")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("GLASSBOX_STALL_MS"), "{error}");
    }
}
