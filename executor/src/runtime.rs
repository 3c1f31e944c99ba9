//! `Runtime`: owns the loop, runs a future to completion with `block_on`, and drops
//! every task when it goes.
//!
//! # Ground rules
//! - `block_on` makes the runtime current on this thread for its duration (see
//!   `context`), polls its own future whenever it is woken, and otherwise turns the
//!   loop (`Core::run_once`). It never busy-waits: with nothing ready, the thread
//!   sleeps in the reactor.
//! - Dropping the runtime cancels every task with the runtime current, so their
//!   destructors can still cancel timers and deregister sockets; tasks spawned by
//!   those destructors are dropped too, for up to 100 rounds, after which `spawn`
//!   panics inside the destructor that calls it (a destructor that spawns its like
//!   would otherwise keep the drop going for ever). That holds at thread exit as well
//!   (a runtime kept in a `thread_local!`), where the runtime can no longer be made
//!   current.

use std::fmt;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::path::PathBuf;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::event::Event;
use crate::event_loop::context;
use crate::event_loop::{Chooser, Core, DROP_ROUNDS, LoopSettings, WaitPolicy};
use crate::observe::metrics::Metrics;
use crate::observe::{ObserverSettings, Observers};
use crate::record::RunRecorder;
use crate::resources::{Resources, RuntimeInfo};
use crate::task::TaskId;
use crate::task::join::JoinHandle;

/// A single-threaded async runtime: a task slab, a ready queue, a timer wheel and a
/// mio reactor, all turned by one thread.
///
/// tokio equivalent: `tokio::runtime::Runtime` built with `new_current_thread()`.
/// asyncio equivalent: the event loop (`asyncio.new_event_loop()`).
///
/// ```
/// let mut rt = executor::Runtime::new().unwrap();
/// let answer = rt.block_on(async {
///     let a = executor::spawn(async { 40 });
///     let b = executor::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub struct Runtime {
    pub(crate) core: Rc<Core>,
    /// The recording of this run, if one was asked for (`Builder::record`).
    pub(crate) recorder: Option<RunRecorder>,
}

/// The settings a runtime runs with, by who uses them.
#[derive(Clone)]
pub(crate) struct Config {
    /// The loop's own (`event_loop/`).
    pub(crate) run: LoopSettings,
    /// What to watch (`observe/`).
    pub(crate) observe: ObserverSettings,
    /// Where to write the run's page, if anywhere (`record/`).
    pub(crate) record: Option<PathBuf>,
    /// Who picks where FIFO would, if a schedule is explored (`explore/`).
    pub(crate) chooser: Option<Rc<dyn Chooser>>,
    /// For the resources other crates keep (the blocking pool).
    pub(crate) max_blocking_threads: Option<usize>,
    pub(crate) shutdown_timeout: Option<Duration>,
}

impl Config {
    /// What the resources of runtime `id` are told about it.
    pub(crate) fn resources_for(&self, id: u64) -> RuntimeInfo {
        RuntimeInfo {
            id,
            max_blocking_threads: self.max_blocking_threads,
            shutdown_timeout: self.shutdown_timeout,
        }
    }
}

// === impl Runtime ===

impl Runtime {
    pub(crate) fn from_config(id: u64, config: Config) -> io::Result<Runtime> {
        let resources = Resources::new(config.resources_for(id));
        let observers = Observers::new(id, config.observe)?;
        Ok(Runtime {
            core: Rc::new(Core::new(
                id,
                config.run,
                resources,
                observers,
                config.chooser,
            )?),
            recorder: config.record.map(RunRecorder::new),
        })
    }

    /// Runs `future` to completion on this thread, running spawned tasks, timers and
    /// I/O meanwhile. Returns its output.
    ///
    /// # Panics
    /// If called while a runtime is already running on this thread (from inside a
    /// task or another `block_on`), and if `future` panics.
    #[track_caller]
    pub fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        let called_at = Location::caller();
        let _current = context::enter(&self.core);
        let core = &*self.core;
        let mut future = pin!(future);
        let mut cx = Context::from_waker(&core.block_on_waker);
        core.block_on_woken.set(true);
        loop {
            if core.block_on_woken.replace(false) {
                core.emit(Event::PollBegins {
                    task: TaskId::BLOCK_ON,
                    at: called_at,
                    header: None,
                });
                // A panic in the future unwinds out of `block_on`: the guard ends its
                // poll then, so the runtime, caught and reused, is not left mid-poll.
                let ends_on_unwind = EndsPollOnUnwind(core);
                let polled = core.poll_one(TaskId::BLOCK_ON, || future.as_mut().poll(&mut cx));
                std::mem::forget(ends_on_unwind);
                // Timed like a task's poll: blocking here stalls every task too.
                core.emit(Event::PollEnds {
                    task: TaskId::BLOCK_ON,
                    at: called_at,
                    ready: polled.is_ready(),
                });
                if let Poll::Ready(output) = polled {
                    report_stalls_now(core);
                    return output;
                }
                // Pending: whatever the future awaits holds `block_on_waker` and sets
                // `block_on_woken` when it fires.
            }
            match &self.recorder {
                None => core.run_once(WaitPolicy::Allowed),
                Some(recorder) => {
                    recorder.turn(core, WaitPolicy::Allowed);
                }
            }
        }
    }

    /// Spawns a task on this runtime from outside it; it starts running at the next
    /// `block_on`.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core.spawn(future, Location::caller())
    }

    /// What the runtime has done so far.
    pub fn metrics(&self) -> Metrics {
        self.core.observers.counters.snapshot()
    }
}

/// For `block_on` returning straight after a stalled poll, when no turn follows to
/// report it: the report goes out now, with the timers due by now counted in the
/// wheel, not fired (firing them would change what the loop does next).
fn report_stalls_now(core: &Core) {
    if !core.observers.stalls_noted() {
        return;
    }
    let now = core.time.clock.now_tick();
    let (due, max_late) = core
        .time
        .wheel
        .borrow()
        .pending_timers()
        .filter(|&(deadline, _, _)| deadline <= now)
        .fold((0, 0), |(due, late), (deadline, _, _)| {
            (due + 1, late.max(now - deadline))
        });
    core.emit(Event::TimerPhaseOver {
        due,
        max_lateness: Duration::from_micros(max_late),
    });
}

/// Ends the `block_on` future's poll if it unwinds (forgotten when it returns).
struct EndsPollOnUnwind<'a>(&'a Core);

impl Drop for EndsPollOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.poll_unwound();
    }
}

// Dropping every task lives here, with the runtime's end, not in the loop: the loop
// runs tasks; a runtime going away cancels them.

impl Drop for Core {
    fn drop(&mut self) {
        // A backstop: `Runtime::drop` has normally emptied both already.
        self.drop_all_tasks();
        self.resources.drop_all();
    }
}

impl Core {
    /// Drops every task, including tasks spawned by those tasks' destructors, for up
    /// to [`DROP_ROUNDS`] rounds; after that, `spawn` panics (inside the destructor
    /// that calls it, which its task's `JoinError` contains), so a destructor that
    /// spawns a task like itself cannot keep the drop going for ever.
    ///
    /// It must run before the last `TaskRef` of a task goes, whatever happens: a
    /// `Waker` on another thread may hold the last reference after that, and the
    /// cell it frees must hold no `!Send` future ("Empty before free", `task/mod.rs`).
    /// `Runtime::drop` calls it; `Core`'s own `Drop` calls it again as a backstop.
    pub(crate) fn drop_all_tasks(&self) {
        for round in 1.. {
            if round > DROP_ROUNDS {
                self.refusing_spawns.set(true);
            }
            let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
            self.ready.borrow_mut().clear();
            if tasks.is_empty() {
                break;
            }
            for (_, task) in tasks {
                task.cancel();
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // `None` at thread exit, once the thread's runtime slot is destroyed: the
        // tasks are dropped all the same, only without a current runtime.
        let _current = context::enter_for_drop(&self.core);
        if let Some(recorder) = &self.recorder {
            recorder.write();
        }
        self.core.drop_all_tasks();
        // After the tasks, whose destructors may still use them: the blocking pool
        // runs the jobs already handed to it and waits for them here.
        self.core.resources.drop_all();
        self.core.emit(Event::RuntimeDropped);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("id", &self.core.id)
            .field("tasks", &self.core.tasks.borrow().len())
            .field("pending_timers", &self.core.time.wheel.borrow().pending())
            .field("paused_clock", &self.core.time.clock.is_paused())
            .finish_non_exhaustive()
    }
}

/// Spawns a task on the current runtime. The future need not be `Send`: it never
/// leaves this thread.
///
/// tokio equivalent: `tokio::spawn` (or `tokio::task::spawn_local`). asyncio
/// equivalent: `asyncio.create_task`.
///
/// # Panics
/// Outside a runtime (not within `block_on` or a task it runs), and inside a task's
/// destructor while the runtime drops its tasks, once 100 rounds of destructors have
/// each spawned again (the future is then leaked, neither run nor dropped).
///
/// ```
/// let out = executor::block_on(async {
///     let handle = executor::spawn(async { "hello from a task" });
///     handle.await.unwrap()
/// });
/// assert_eq!(out, "hello from a task");
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let spawned_at = Location::caller();
    context::expect_current("glassbox::spawn").spawn(future, spawned_at)
}

/// Spawns `future` on the current runtime, as [`spawn`] does, under a `name` that the
/// trace, `snapshot()`, stall reports and the timeline show beside
/// its id: tasks spawned on one line (a pool of workers) tell themselves apart.
///
/// asyncio equivalent: `asyncio.create_task(coro, name="consumer-1")`. tokio
/// equivalent: `tokio::task::Builder::new().name("consumer-1").spawn(future)`.
///
/// # Panics
/// As [`spawn`].
///
/// ```
/// let mut rt = executor::Runtime::new().unwrap();
/// rt.block_on(async {
///     let worker = executor::spawn_named("worker-1", std::future::pending::<()>());
///     let tasks = executor::snapshot().tasks;
///     assert_eq!(tasks[0].name.as_deref(), Some("worker-1"));
///     worker.abort();
/// });
/// ```
#[track_caller]
pub fn spawn_named<F>(name: &str, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let spawned_at = Location::caller();
    let core = context::expect_current("glassbox::spawn_named");
    let handle = core.spawn(future, spawned_at);
    core.emit(Event::Named {
        task: handle.id(),
        name,
    });
    handle
}

/// Runs `future` to completion on a fresh default runtime, which is dropped after.
///
/// # Panics
/// If the runtime cannot be created, if called inside a running runtime, or if
/// `future` panics.
///
/// ```
/// assert_eq!(executor::block_on(async { 7 }), 7);
/// ```
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut runtime =
        Runtime::new().unwrap_or_else(|error| panic!("glassbox: cannot create a runtime: {error}"));
    runtime.block_on(future)
}
