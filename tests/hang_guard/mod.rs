//! A real-time bound on a test: a test that never finishes (it waits on time,
//! threads or sockets that never come, or a loop never goes idle) fails *by name*
//! within the bound, instead of sitting until CI's global timeout with nothing to
//! say which test hung. Every integration test of the workspace starts one.
//!
//! `let _hang = hang_guard::start();` as a test's first line. If the test is still
//! running when the bound passes, a watcher thread prints `hang_guard: test NAME is
//! still running after 60s` on stderr and ends the test binary with status 101, the
//! status libtest itself fails with. One watcher serves the whole binary; the guard's
//! drop (the test returning or panicking) takes the test off its list.
//!
//! The bound is 60 s: the slowest test takes a few seconds, so even a loaded 2-core
//! machine stays far inside it. It grows with `GLASSBOX_STRESS` (the heavier runs),
//! and `GLASSBOX_HANG_SECS` sets it outright (`scripts/valgrind.sh` raises it,
//! memcheck being 20–50 times slower).
//!
//! Shared by path (`#[path = ...] mod hang_guard;`) with the executor's and the
//! patterns' test files, which are other crates.
#![allow(dead_code)]

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

/// A test in progress: its name, and when it is declared hung.
struct Running {
    id: u64,
    name: String,
    deadline: Instant,
}

static RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static WATCHER: Once = Once::new();

/// Takes the test off the watch list when dropped.
#[must_use = "the guard watches the test only while it is alive: bind it to `_hang`"]
pub struct HangGuard {
    id: u64,
}

/// Starts watching the calling test (libtest names each test's thread after it).
pub fn start() -> HangGuard {
    let limit = limit();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let name = thread::current().name().unwrap_or("<unnamed>").to_owned();
    running().push(Running {
        id,
        name,
        deadline: Instant::now() + limit,
    });
    WATCHER.call_once(|| {
        thread::Builder::new()
            .name("hang-guard".into())
            .spawn(move || watch(limit))
            .expect("hang_guard: cannot start its watcher thread");
    });
    HangGuard { id }
}

impl Drop for HangGuard {
    fn drop(&mut self) {
        running().retain(|test| test.id != self.id);
    }
}

/// The bound: `GLASSBOX_HANG_SECS`, or 60 s times the `GLASSBOX_STRESS` multiplier
/// (the heavier runs do that many times the work).
fn limit() -> Duration {
    let whole_number = |name: &str| {
        std::env::var(name).ok().map(|value| {
            value
                .trim()
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{name} must be a whole number, got {value:?}"))
        })
    };
    let seconds = whole_number("GLASSBOX_HANG_SECS")
        .unwrap_or_else(|| 60 * whole_number("GLASSBOX_STRESS").unwrap_or(1).max(1));
    Duration::from_secs(seconds)
}

/// The list, even if a test panicked while holding it (the list stays usable).
fn running() -> std::sync::MutexGuard<'static, Vec<Running>> {
    RUNNING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn watch(limit: Duration) {
    loop {
        thread::sleep(Duration::from_millis(500));
        let now = Instant::now();
        if let Some(hung) = running().iter().find(|test| now >= test.deadline) {
            // Straight to fd 2: libtest captures `eprintln!` (for the watcher too, a
            // thread spawned from a test), and exiting would throw that away.
            let _ = writeln!(
                std::io::stderr(),
                "hang_guard: test {} is still running after {limit:?}: failing the test binary",
                hung.name
            );
            std::process::exit(101);
        }
    }
}
