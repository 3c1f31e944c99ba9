//! The third column: each chapter's scenario once more, written for asyncio and run
//! by CPython, the runtime whose lesson glassbox's patterns follow.
//!
//! A chapter's twin is `asyncio/<chapter>_twin.py`: the same scenario as an asyncio
//! user writes it, standard library only, printing what it observed as one JSON
//! object whose keys are the fields of the chapter's Rust observation. The chapter
//! reads that into its own observation type, so the same code judges all three.
//!
//! ```text
//! main ── Python::locate() ─► none: the column says why, once; the tour goes on
//!   │                         found: each chapter gets a Twin
//!   ▼
//! chapter ── Twin::Beside: spawned before the chapter's Rust runs, read after
//!         └─ Twin::After:  spawned after them, alone (its timing would suffer
//!                          from sharing the machine's 2 cores with them)
//!         ── twin.observe() ─► Some(JSON), or None (and a line saying why)
//! ```
//!
//! # Ground rules
//! - `GLASSBOX_PYTHON` names the interpreter (a path or a command); unset, it is
//!   `python3` from the PATH. `GLASSBOX_PYTHON=/nonexistent` is how the tests and a
//!   reader check the tour without Python.
//! - Every wait on a child process is bounded: a twin that hangs is killed after
//!   [`TWIN_LIMIT`] and reported, and the tour goes on.
//! - A twin that fails costs its chapter the asyncio column, never the tour.
//! - The interpreter runs with `-B -E -s`: no `__pycache__` in the source tree, and
//!   no `PYTHON*` variable or user site-packages changing what the twin imports.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use serde_json::Value;

/// The longest a twin may run. The slowest takes about a second.
pub const TWIN_LIMIT: Duration = Duration::from_secs(30);
/// The oldest CPython the twins run on (`asyncio.timeout`, `asyncio.Runner`).
pub const OLDEST: (u32, u32) = (3, 11);

/// Where the twins are.
pub fn twins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tour/asyncio")
}

// === finding CPython ===

/// A CPython interpreter new enough for the twins.
#[derive(Debug, Clone)]
pub struct Python {
    /// The interpreter itself (`sys.executable`): a launcher such as a pyenv shim
    /// is resolved once, not on every twin.
    executable: PathBuf,
    /// `3.11.7`.
    pub version: String,
}

impl Python {
    /// The interpreter `GLASSBOX_PYTHON` names, else `python3` on the PATH; `Err`
    /// says why there is none to use.
    pub fn locate() -> Result<Python, String> {
        let named = std::env::var_os("GLASSBOX_PYTHON");
        Python::locate_at(named.unwrap_or_else(|| OsString::from("python3")))
    }

    /// The interpreter `command` runs, if it is CPython 3.11 or newer.
    pub fn locate_at(command: impl Into<OsString>) -> Result<Python, String> {
        let command = command.into();
        let shown = command.to_string_lossy().into_owned();
        let child = Command::new(&command)
            .args([
                "-c",
                "import sys; print(sys.executable); print(sys.version.split()[0])",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("{shown} could not be started: {error}"))?;
        let answer = Running::watch(child, &shown).finish()?;
        let mut lines = answer.lines();
        let (Some(executable), Some(version)) = (lines.next(), lines.next()) else {
            return Err(format!("{shown} did not say what it is: {answer:?}"));
        };
        let mut numbers = version
            .split('.')
            .map(|part| part.parse::<u32>().unwrap_or(0));
        let major_minor = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
        if major_minor < OLDEST {
            return Err(format!(
                "{shown} is Python {version}; the twins need 3.11 or newer"
            ));
        }
        Ok(Python {
            executable: PathBuf::from(executable),
            version: version.to_string(),
        })
    }

    /// The interpreter's path.
    pub fn executable(&self) -> &Path {
        &self.executable
    }

    /// Starts `asyncio/<chapter>_twin.py` with `args`.
    pub fn spawn_twin(&self, chapter: &str, args: &[&str]) -> Running {
        let script = twins_dir().join(format!("{chapter}_twin.py"));
        let name = format!("{chapter}_twin.py");
        let child = Command::new(&self.executable)
            .args(["-B", "-E", "-s"])
            .arg(&script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match child {
            Ok(child) => Running::watch(child, &name),
            Err(error) => Running::failed(format!("{name} could not be started: {error}")),
        }
    }

    /// Runs a twin to the end and parses what it printed.
    pub fn run_twin(&self, chapter: &str, args: &[&str]) -> Result<Value, String> {
        self.spawn_twin(chapter, args).observation()
    }
}

// === a twin in flight ===

/// A child process whose output is being collected.
pub struct Running {
    name: String,
    state: Result<(Child, Readers), String>,
}

/// Threads draining the child's stdout and stderr, so a full pipe never blocks it.
type Readers = (JoinHandle<String>, JoinHandle<String>);

impl Running {
    /// Collects what `child` prints; `name` says which it is in errors.
    pub fn watch(mut child: Child, name: &str) -> Running {
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            thread::spawn(move || {
                let mut text = String::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_string(&mut text);
                }
                text
            })
        };
        let stdout = drain(child.stdout.take().map(|pipe| Box::new(pipe) as _));
        let stderr = drain(child.stderr.take().map(|pipe| Box::new(pipe) as _));
        Running {
            name: name.to_string(),
            state: Ok((child, (stdout, stderr))),
        }
    }

    fn failed(why: String) -> Running {
        Running {
            name: String::new(),
            state: Err(why),
        }
    }

    /// Waits (at most [`TWIN_LIMIT`]) for the process to end; its stdout, or why
    /// there is none.
    pub fn finish(self) -> Result<String, String> {
        let (mut child, (stdout, stderr)) = self.state?;
        let name = self.name;
        let deadline = Instant::now() + TWIN_LIMIT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    // Killing closes its pipes, which ends the reader threads.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{name} still ran after {TWIN_LIMIT:?}: killed"));
                }
                Err(error) => return Err(format!("{name}: {error}")),
            }
        };
        let (stdout, stderr) = (stdout.join(), stderr.join());
        let stdout = stdout.map_err(|_| format!("{name}: stdout reader panicked"))?;
        if !status.success() {
            let stderr = stderr.unwrap_or_default();
            let last = stderr.lines().last().unwrap_or("no message");
            return Err(format!("{name} failed ({status}): {last}"));
        }
        Ok(stdout)
    }

    /// Waits for the twin and parses its JSON.
    pub fn observation(self) -> Result<Value, String> {
        let name = self.name.clone();
        let stdout = self.finish()?;
        serde_json::from_str(&stdout).map_err(|error| format!("{name} printed no JSON: {error}"))
    }
}

// === what a chapter gets ===

/// A chapter's asyncio twin, as the tour schedules it.
pub enum Twin {
    /// No asyncio column (no Python, or `--no-asyncio`): the tour said why once.
    Off,
    /// Started before the chapter's Rust runs, beside them: the twin's verdicts rest
    /// on virtual time or order, which sharing the machine cannot change.
    Beside(Running),
    /// To be run once the chapter's Rust runs are done, alone: real-clock timings.
    After(Python, &'static str),
}

impl Twin {
    /// asyncio's observation, or `None` (and a line saying why, if the twin failed).
    pub fn observe(self) -> Option<Value> {
        let observed = match self {
            Twin::Off => return None,
            Twin::Beside(running) => running.observation(),
            Twin::After(python, chapter) => python.run_twin(chapter, &[]),
        };
        observed
            .map_err(|why| println!("asyncio column left out: {why}"))
            .ok()
    }
}

// === reading a twin's JSON ===

/// `twin[key]`, which the twin must have printed (tests/vs_asyncio.rs checks).
pub fn field<'a>(twin: &'a Value, key: &str) -> &'a Value {
    twin.get(key)
        .unwrap_or_else(|| panic!("the asyncio twin printed no {key:?}: {twin}"))
}

pub fn text(twin: &Value, key: &str) -> String {
    let value = field(twin, key);
    value
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string())
}

pub fn number(twin: &Value, key: &str) -> f64 {
    field(twin, key)
        .as_f64()
        .unwrap_or_else(|| panic!("asyncio's {key:?} is not a number: {twin}"))
}

pub fn numbers(twin: &Value, key: &str) -> Vec<f64> {
    let list = field(twin, key).as_array();
    let list = list.unwrap_or_else(|| panic!("asyncio's {key:?} is not a list: {twin}"));
    list.iter().filter_map(Value::as_f64).collect()
}

/// Milliseconds as a duration, to the nearest nanosecond (so the twin's `300.0`
/// is exactly 300 ms, not a float's 299.999999).
pub fn from_millis(ms: f64) -> Duration {
    Duration::from_nanos((ms.max(0.0) * 1e6).round() as u64)
}

/// A list of milliseconds, as durations.
pub fn millis(twin: &Value, key: &str) -> Vec<Duration> {
    numbers(twin, key).into_iter().map(from_millis).collect()
}
