//! Helpers shared by the `reliability_*` and `peer_*` test files: the cancellation
//! harness, the grant-then-drop harness (`grants.rs`), hang guards, wakers that
//! misbehave on purpose, values that count their drops, and the `GLASSBOX_STRESS`
//! multiplier. Each test binary uses a different part of it, hence the `dead_code`
//! allowance.
#![allow(dead_code)]

pub mod grants;

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures::future::{Either, select};
use glassbox::net::TcpStream;
use glassbox::time::{self, Timer};
use glassbox::{Queue, Runtime};

// === stress ===

/// `n` times the `GLASSBOX_STRESS` multiplier (1 when the variable is unset). Heavier
/// runs: `GLASSBOX_STRESS=10 cargo test --release --test reliability_threads`.
///
/// # Panics
/// If `GLASSBOX_STRESS` is set to anything but a positive whole number.
pub fn stress(n: usize) -> usize {
    let factor = match std::env::var("GLASSBOX_STRESS") {
        Err(std::env::VarError::NotPresent) => 1,
        Ok(value) => value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&factor| factor > 0)
            .unwrap_or_else(|| {
                panic!(
                    "GLASSBOX_STRESS must be a positive whole number (a multiplier), got {value:?}"
                )
            }),
        Err(error) => panic!("GLASSBOX_STRESS is not valid unicode: {error}"),
    };
    n * factor
}

/// A property test's configuration: `cases` times [`stress`], failures saved next to
/// the test file (`*.proptest-regressions`) and replayed first on later runs.
pub fn property_config(cases: usize) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: stress(cases) as u32,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}

// === runtimes and time ===

/// A runtime on the paused clock: virtual time, which jumps when nothing can run.
pub fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

pub fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The number in `field: N` of the runtime's `Debug` output (`tasks`,
/// `pending_timers`): the only view from outside of what a runtime still holds.
pub fn debug_count(rt: &Runtime, field: &str) -> usize {
    debug_field(&format!("{rt:?}"), field)
}

/// The number in the first `field: N` of a `Debug` output.
pub fn debug_field(shown: &str, field: &str) -> usize {
    let key = format!("{field}: ");
    let at = shown
        .find(&key)
        .unwrap_or_else(|| panic!("no {field} in {shown}"));
    shown[at + key.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("no count after {key} in {shown}"))
}

/// Runs `future` but fails the test, naming `what`, if it is still pending after a
/// year on the runtime's clock. On the paused clock a task that nobody will ever wake
/// lets the clock jump straight to that year: a lost wake becomes a prompt failure
/// instead of a stuck test run.
pub async fn or_hang<F: Future>(what: &str, future: F) -> F::Output {
    let limit = Duration::from_secs(365 * 86_400);
    let deadline = Timer::new(time::now() + limit);
    match select(pin!(future), deadline).await {
        Either::Left((output, _)) => output,
        Either::Right(_) => panic!("{what}: still pending after {limit:?} (a lost wake?)"),
    }
}

/// Runs `f` on a thread of its own and fails, naming `what`, if it is not done within
/// `limit` of real time: for tests where a hang would not let a paused clock jump
/// (threads, blocking pools). A panic in `f` is passed on.
pub fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, outcome) = mpsc::channel();
    let worker = thread::Builder::new()
        .name(what.to_owned())
        .spawn(move || {
            let _ = done.send(f());
        })
        .unwrap();
    match outcome.recv_timeout(limit) {
        Ok(value) => {
            worker.join().unwrap();
            value
        }
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => panic::resume_unwind(payload),
            Ok(()) => unreachable!("the worker sends before it ends"),
        },
        Err(RecvTimeoutError::Timeout) => panic!("{what}: hung, not done after {limit:?}"),
    }
}

/// Threads of this process whose name starts with `prefix` (Linux: /proc). Counted
/// by name: other tests' harness threads come and go meanwhile.
pub fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

/// What a panic said, for assertions on its message.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<not a string>".to_owned())
}

// === sockets ===

// The executor's net tests already have these; `glassbox::net` is `executor::net`.
#[path = "../../executor/tests/net_support/mod.rs"]
mod net_support;
#[allow(unused_imports)] // each test binary uses a different part (see the top)
pub use net_support::{connected_pair, localhost};

/// Everything `stream` delivers until end of stream.
pub async fn read_to_end(stream: &TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0; 64 * 1024];
    loop {
        match stream.read(&mut buf).await.unwrap() {
            0 => return all,
            n => all.extend_from_slice(&buf[..n]),
        }
    }
}

// === queues ===

/// Marks `entered` items done, checks that no more were counted (a put that did not
/// go in must not count), and that `join` then returns.
pub async fn assert_join_counted_exactly<T>(queue: &Queue<T>, entered: usize) {
    for _ in 0..entered {
        queue.task_done().unwrap();
    }
    assert!(
        queue.task_done().is_err(),
        "join counted more than the {entered} items that went in"
    );
    queue.join().await;
}

// === the cancellation harness ===

/// Where [`run_until_cut`] cuts the future under test short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Dropped right after its `n`-th poll said `Pending`, before anything else ran.
    /// `AfterPoll(0)`: created and dropped, never polled.
    AfterPoll(usize),
    /// Dropped when woken after its `n`-th poll, instead of being polled again:
    /// whatever woke it (an item, a permit, a connection, a due timer) was handed
    /// over, and is never picked up by this future.
    OnWake(usize),
}

/// Polls `future` as a task would (once per wake of the task), until `cut` says to
/// stop; then drops it. Returns its output if it finished before the cut.
pub async fn run_until_cut<F: Future>(future: F, cut: Cut) -> Option<F::Output> {
    let (limit, on_wake) = match cut {
        Cut::AfterPoll(n) => (n, false),
        Cut::OnWake(n) => (n, true),
    };
    let mut future = pin!(future);
    let mut polls = 0;
    poll_fn(|cx| {
        if polls == limit {
            // `OnWake`: this poll is the wake after the last allowed poll.
            return Poll::Ready(None);
        }
        polls += 1;
        match future.as_mut().poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending if polls == limit && !on_wake => Poll::Ready(None),
            // Pending: the future under test parked this task's waker; its wake
            // brings the task back here.
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// The most polls any scenario is allowed before its future must have completed.
pub const MAX_POLLS: usize = 400;

/// Runs `scenario` once per cut: never polled, then dropped after 1, 2, … polls,
/// each way (`AfterPoll`, `OnWake`), until the future under test completes uncut.
///
/// Each run gets a fresh paused runtime. `scenario(cut)` builds its state, runs the
/// future under test with [`run_until_cut`], lets its script play out, checks its
/// invariants and returns whether the future completed. Every run is guarded by
/// [`or_hang`] (a lost wake fails instead of hanging). After each run the harness
/// checks what the runtime still holds: no task and no timer may be left behind.
/// A failure names the cut. Returns how many cuts were tried.
pub fn cancel_at_every_poll<S, F>(what: &str, scenario: S) -> usize
where
    S: Fn(Cut) -> F,
    F: Future<Output = bool>,
{
    let mut tried = 0;
    for n in 0..=MAX_POLLS {
        let cuts: &[Cut] = if n == 0 {
            &[Cut::AfterPoll(0)]
        } else {
            &[Cut::AfterPoll(n), Cut::OnWake(n)]
        };
        let mut completed = false;
        for &cut in cuts {
            tried += 1;
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                let mut rt = paused();
                let done = rt.block_on(or_hang(what, scenario(cut)));
                // Let aborted tasks be cancelled, then look at what is left.
                rt.block_on(async {
                    for _ in 0..3 {
                        glassbox::yield_now().await;
                    }
                });
                assert_eq!(debug_count(&rt, "tasks"), 0, "a task was left behind");
                assert_eq!(
                    debug_count(&rt, "pending_timers"),
                    0,
                    "a timer was left in the wheel"
                );
                done
            }));
            match outcome {
                Ok(done) => completed |= done && cut == Cut::AfterPoll(n),
                Err(payload) => panic!("{what}, cut {cut:?}: {}", panic_message(&*payload)),
            }
        }
        if completed {
            return tried;
        }
    }
    panic!("{what}: the future under test did not complete within {MAX_POLLS} polls");
}

// === values that count ===

/// Counts drops of [`Tracked`] values; `Send`, so results of blocking jobs can use it.
#[derive(Debug, Clone, Default)]
pub struct DropCount(Arc<AtomicUsize>);

impl DropCount {
    pub fn track(&self) -> Tracked {
        Tracked(self.clone())
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A value whose drop is counted by its [`DropCount`].
#[derive(Debug)]
pub struct Tracked(DropCount);

impl Drop for Tracked {
    fn drop(&mut self) {
        (self.0).0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A value whose destructor panics with `"PanicOnDrop"`.
#[derive(Debug)]
pub struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("PanicOnDrop");
    }
}

// === wakers ===

/// A waker that counts its wakes.
#[derive(Debug, Default)]
pub struct CountingWaker {
    pub wakes: AtomicUsize,
}

impl CountingWaker {
    pub fn new() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());
        (counter, waker)
    }

    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker whose `wake` panics with `"PanickingWaker"`: a user's hand-made waker with
/// a bug.
#[derive(Debug)]
pub struct PanickingWaker;

impl PanickingWaker {
    pub fn waker() -> Waker {
        Waker::from(Arc::new(PanickingWaker))
    }
}

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("PanickingWaker");
    }
}

/// Polls `future` once with `waker` instead of the task's own. Returns what it said.
pub fn poll_with<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    std::pin::Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Lowers `RLIMIT_NOFILE` so that only `spare` more descriptors can be opened (for a
/// child process: the limit is the whole process's).
#[cfg(target_os = "linux")]
pub fn lower_fd_limit_to_spare(spare: u64) {
    let highest_open_fd = || {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
            .max()
            .unwrap()
    };
    // The limit caps fd *numbers*, and a new fd takes the lowest free number: fill
    // the holes below the highest open fd first, or they would be spare fds too.
    let highest = highest_open_fd();
    let mut fillers = Vec::new();
    loop {
        let filler = std::fs::File::open("/dev/null").unwrap();
        if std::os::fd::AsRawFd::as_raw_fd(&filler) as u64 > highest {
            break; // no hole left; this one closes again
        }
        fillers.push(filler);
    }
    std::mem::forget(fillers); // held for the life of the child
    let limit = libc::rlimit {
        rlim_cur: highest + 1 + spare,
        rlim_max: highest + 1 + spare,
    };
    // SAFETY: `limit` is a valid rlimit for the duration of the call.
    let status = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    assert_eq!(status, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Runs the ignored test `name` of this same test binary in a child process (for a
/// test that must change something process-wide, such as a limit), and returns what
/// it printed and how it ended.
pub fn run_child_test(name: &str) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap()
}
