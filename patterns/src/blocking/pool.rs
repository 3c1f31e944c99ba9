//! `BlockingPool`: the threads that run blocking jobs, started on demand, retired
//! when idle, fed by a crossbeam channel.
//!
//! ```text
//! submit (under the lock)                    a pool thread (Shared::work)
//!   an idle thread?   idle -= 1  ─┐            loop {
//!   room for another? start one  ─┼─► send ──►   recv_timeout(keep_alive)
//!   else (all busy)   unclaimed += 1 ─┘            Ok(job)  ─► run it; then, before waking
//!                                                            its task: unclaimed? take
//!                                                            one : idle += 1
//!                                                  Timeout  ─► nothing sent meanwhile?
//!                                                            idle -= 1, retire
//!                                                  Disconnected (shut down, and the
//!                                                    queue empty) ─► retire
//!                                              }
//! ```
//!
//! # Ground rules
//! - Every decision about threads is made under `state`'s lock, and every job is sent
//!   under it, so this stays true whenever the lock is free:
//!   *threads waiting in `recv` − `idle` = jobs in the channel − `unclaimed`*.
//!   In words: each queued job either has a waiting thread promised to it (the submit
//!   took that thread out of `idle`, or started it) or is counted in `unclaimed`,
//!   waiting for a busy thread to finish. So a job never waits while a thread could
//!   start, and no more than `max_threads` threads ever exist.
//! - A thread that times out retires only if, under the lock, the channel is empty;
//!   otherwise a job was sent to it just as it gave up, and it runs that job.
//! - **A job handed to the pool runs** (as tokio: its workers empty the queue before
//!   they look at the shutdown flag). Shutting down (drop, `shutdown_timeout`) takes
//!   the sender away; the channel reports `Disconnected` only once it is empty, so
//!   the threads first run every queued job, each promised a thread by the
//!   invariant, and then retire. Shutting down waits for that. Only a timeout cuts it
//!   short: when it expires, the jobs still queued are taken out and dropped, which
//!   cancels them (see `handle.rs`); the running ones finish, detached.
//! - A job submitted after the shutdown began (by a running job: `spawn_blocking` on
//!   a runtime pool's thread comes back to that pool, see `mod.rs`) is dropped at
//!   once, so its handle says it was cancelled (tokio refuses it likewise).
//! - No user code runs under the lock: jobs run, and cancelled jobs are dropped,
//!   outside it. A pool thread never unwinds: a job's panic, the drop of its result or
//!   panic payload, and its task's wake are all contained (`contain.rs`), so a
//!   thread the pool counts is a thread that is alive.

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::handle::{BlockingHandle, Job, new_job};
use super::{DEFAULT_BLOCKING_KEEP_ALIVE, DEFAULT_MAX_BLOCKING_THREADS};
use crate::contain::{drop_contained, run_contained};

thread_local! {
    /// The pool this thread works for (none on other threads): so a pool shut down
    /// from one of its own jobs does not wait for itself, and `spawn_blocking` in a
    /// job of a runtime's pool goes to that pool.
    static WORKER_OF: RefCell<Weak<Shared>> = const { RefCell::new(Weak::new()) };
}

/// A pool of threads for blocking work: threads start when jobs arrive (up to a
/// maximum), wait for more work for a keep-alive, then exit.
///
/// [`spawn_blocking`](crate::spawn_blocking) uses a global one; build your own to
/// bound a kind of work separately (a pool of 4 for a database driver, say).
///
/// **Dropping the pool** waits until every job handed to it has run: the running ones
/// and the queued ones (as tokio's blocking pool). [`shutdown_timeout`](Self::shutdown_timeout)
/// stops waiting after a while; the jobs no thread has started by then are cancelled
/// (their handles return a cancelled [`BlockingError`](crate::BlockingError)).
/// Dropping a runtime does not touch a pool you built: its tasks are dropped, so
/// their handles are, and their jobs run on, detached.
///
/// tokio equivalent: the runtime's blocking pool (`Builder::max_blocking_threads`,
/// `thread_keep_alive`, `Runtime::shutdown_timeout`). asyncio equivalent:
/// `concurrent.futures.ThreadPoolExecutor` passed to `loop.run_in_executor`.
///
/// ```
/// use std::time::Duration;
/// use patterns::BlockingPool;
///
/// let pool = BlockingPool::builder()
///     .max_threads(2)
///     .keep_alive(Duration::from_secs(1))
///     .build();
/// let sum = executor::block_on(async {
///     let a = pool.spawn(|| (1..=10).sum::<u32>());
///     let b = pool.spawn(|| (11..=20).sum::<u32>());
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 210);
/// assert!(pool.thread_count() <= 2);
/// ```
pub struct BlockingPool {
    shared: Arc<Shared>,
}

/// Configures a [`BlockingPool`]. Made by [`BlockingPool::builder`].
#[derive(Debug, Clone)]
pub struct BlockingPoolBuilder {
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
    of_a_runtime: bool,
}

/// What the pool and its threads share.
struct Shared {
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
    /// A runtime's pool: `spawn_blocking` in one of its jobs comes back to it.
    of_a_runtime: bool,
    /// The job queue. Every thread receives from it; a shutdown that times out
    /// drains it.
    jobs: Receiver<Box<dyn Job>>,
    state: Mutex<State>,
    /// Signalled when a thread retires; shutdown waits on it.
    thread_retired: Condvar,
}

/// The counts behind the ground rules' invariant.
struct State {
    /// `None` once the pool is shut down.
    sender: Option<Sender<Box<dyn Job>>>,
    /// Threads alive (started and not yet retired).
    threads: usize,
    /// Threads waiting for a job that no submit has claimed yet.
    idle: usize,
    /// Queued jobs that wait for a busy thread to finish.
    unclaimed: usize,
    /// For thread names.
    threads_started: u64,
}

// === impl BlockingPoolBuilder ===

impl BlockingPoolBuilder {
    /// At most this many threads run jobs at once; more jobs wait in the queue.
    /// Default [`DEFAULT_MAX_BLOCKING_THREADS`].
    ///
    /// # Panics
    /// If `max` is 0: no job could ever run.
    #[track_caller]
    pub fn max_threads(mut self, max: usize) -> BlockingPoolBuilder {
        assert!(
            max > 0,
            "glassbox: BlockingPoolBuilder::max_threads must be at least 1 (got 0)"
        );
        self.max_threads = max;
        self
    }

    /// How long a thread with nothing to do waits for a job before it exits.
    /// Default [`DEFAULT_BLOCKING_KEEP_ALIVE`].
    pub fn keep_alive(mut self, keep_alive: Duration) -> BlockingPoolBuilder {
        self.keep_alive = keep_alive;
        self
    }

    /// Names the threads `{prefix}-0`, `{prefix}-1`, … (shown by debuggers and in
    /// panic messages). Default `glassbox-blocking`. The OS takes no NUL byte in a
    /// thread's name: [`build`](Self::build) refuses a prefix with one.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> BlockingPoolBuilder {
        self.thread_name = prefix.into();
        self
    }

    /// Marks the pool as a runtime's (see `mod.rs`).
    pub(super) fn of_a_runtime(mut self) -> BlockingPoolBuilder {
        self.of_a_runtime = true;
        self
    }

    /// Creates the pool. No thread starts until the first job arrives.
    ///
    /// # Panics
    /// If the [`thread_name`](Self::thread_name) prefix contains a NUL byte: no
    /// thread could be started with it. (Found here, not at the first `spawn`, deep
    /// inside `std::thread`.)
    #[track_caller]
    pub fn build(self) -> BlockingPool {
        assert!(
            !self.thread_name.contains('\0'),
            "glassbox: BlockingPoolBuilder::thread_name must not contain a NUL byte \
             (got {:?}): the OS cannot name a thread with one",
            self.thread_name
        );
        let (sender, jobs) = crossbeam_channel::unbounded();
        BlockingPool {
            shared: Arc::new(Shared {
                max_threads: self.max_threads,
                keep_alive: self.keep_alive,
                thread_name: self.thread_name,
                of_a_runtime: self.of_a_runtime,
                jobs,
                state: Mutex::new(State {
                    sender: Some(sender),
                    threads: 0,
                    idle: 0,
                    unclaimed: 0,
                    threads_started: 0,
                }),
                thread_retired: Condvar::new(),
            }),
        }
    }
}

// === impl BlockingPool ===

impl BlockingPool {
    /// Starts configuring a pool.
    pub fn builder() -> BlockingPoolBuilder {
        BlockingPoolBuilder {
            max_threads: DEFAULT_MAX_BLOCKING_THREADS,
            keep_alive: DEFAULT_BLOCKING_KEEP_ALIVE,
            thread_name: "glassbox-blocking".to_owned(),
            of_a_runtime: false,
        }
    }

    /// Runs `f` on one of the pool's threads; `.await` the handle for its result.
    ///
    /// The job is queued at once, whether or not the handle is ever awaited. Called
    /// inside a runtime with a paused clock, it holds the clock until the job's result
    /// has been delivered (see [`executor::time::hold_clock`]). Called outside any
    /// runtime it holds no clock: a paused runtime that awaits the handle later may
    /// jump its clock ahead while the job still runs. Spawn the job from inside the
    /// runtime that awaits it.
    ///
    /// # Panics
    /// If the OS refuses to start a thread and the pool has none running.
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> BlockingHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.shared.spawn(f)
    }

    /// Threads alive now, busy or idle. Idle threads exit after the keep-alive.
    pub fn thread_count(&self) -> usize {
        self.shared.lock().threads
    }

    /// Shuts the pool down: waits at most `timeout` for every job handed to it, queued
    /// or running, to run. Returns `true` if they all finished in time. Otherwise the
    /// jobs no thread had started are cancelled, and the running ones run on,
    /// detached; their threads exit when they finish.
    ///
    /// tokio equivalent: `Runtime::shutdown_timeout`.
    pub fn shutdown_timeout(self, timeout: Duration) -> bool {
        self.shut_down(Some(timeout))
        // `self` drops here; the pool is already shut down, so that waits no more.
    }

    /// Shuts the pool down in place, waiting at most `timeout` (`None`: until every
    /// job handed to it has run); for a runtime's pool, whose owner sets the timeout.
    pub(super) fn shut_down(&self, timeout: Option<Duration>) -> bool {
        self.shared.shutdown(timeout)
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        self.shared.shutdown(None);
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("BlockingPool")
            .field("max_threads", &self.shared.max_threads)
            .field("keep_alive", &self.shared.keep_alive)
            .field("threads", &state.threads)
            .field("idle", &state.idle)
            .field("queued", &self.shared.jobs.len())
            .field("shut_down", &state.sender.is_none())
            .finish()
    }
}

// === impl Shared ===

/// Hands `f` to the runtime pool this thread works for, if it is a thread of a
/// runtime's pool (a job calling `spawn_blocking`); gives `f` back otherwise.
#[track_caller]
pub(super) fn spawn_on_this_threads_runtime_pool<F, T>(f: F) -> Result<BlockingHandle<T>, F>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match WORKER_OF.with_borrow(Weak::upgrade) {
        Some(pool) if pool.of_a_runtime => Ok(pool.spawn(f)),
        _ => Err(f),
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock, so it cannot be poisoned mid-update.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `f` as a job, and returns its handle.
    #[track_caller]
    fn spawn<F, T>(self: &Arc<Self>, f: F) -> BlockingHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, handle) = new_job(f, executor::time::hold_clock());
        self.submit(job);
        if executor::trace::enabled() {
            let (id, threads) = (handle.id, self.lock().threads);
            executor::trace::emit(format_args!(
                "block  submit job={id} (pool threads: {threads})"
            ));
        }
        handle
    }

    /// Queues `job`, first promising it a thread: an idle one, a new one, or the next
    /// busy one to finish.
    fn submit(self: &Arc<Self>, job: Box<dyn Job>) {
        let mut state = self.lock();
        if state.sender.is_none() {
            // Shut down already: only a job of this pool submits now (see the ground
            // rules). A job must never vanish silently: dropping it cancels it.
            drop(state);
            drop(job);
            return;
        }
        if state.idle > 0 {
            state.idle -= 1;
        } else if state.threads < self.max_threads {
            self.start_thread(&mut state);
        } else {
            state.unclaimed += 1;
        }
        if let Some(sender) = &state.sender {
            // Cannot fail: `self.jobs` is a receiver that lives as long as we do.
            let _ = sender.send(job);
        }
    }

    /// Starts one more thread, promised to the job being submitted.
    fn start_thread(self: &Arc<Self>, state: &mut State) {
        let name = format!("{}-{}", self.thread_name, state.threads_started);
        let shared = Arc::clone(self);
        match thread::Builder::new()
            .name(name)
            .spawn(move || shared.work())
        {
            Ok(_) => {
                state.threads += 1;
                state.threads_started += 1;
            }
            // Out of threads (an OS limit): a running thread will take the job later.
            Err(_) if state.threads > 0 => state.unclaimed += 1,
            Err(error) => panic!(
                "glassbox: the blocking pool cannot start a thread and has none running \
                 to take the job: {error}"
            ),
        }
    }

    /// A pool thread's life: take jobs until none comes for `keep_alive`, or the pool
    /// shuts down and its queue is empty.
    fn work(self: Arc<Self>) {
        WORKER_OF.with_borrow_mut(|pool| *pool = Arc::downgrade(&self));
        loop {
            let job = match self.jobs.recv_timeout(self.keep_alive) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => match self.retire_if_still_idle() {
                    Some(job) => job,
                    None => return,
                },
                Err(RecvTimeoutError::Disconnected) => {
                    let mut state = self.lock();
                    self.retire(&mut state);
                    return;
                }
            };
            // `Job::run` contains everything user code does in it (the closure, the
            // drop of a result nobody wants, the wake); this is the last net. A
            // thread that unwound out of here would still be counted, idle, by a
            // pool whose next job then waits for it for ever.
            run_contained(|| job.run(&|| self.back_from_job()));
        }
    }

    /// After a job: take over a queued job's promise, or become idle.
    fn back_from_job(&self) {
        let mut state = self.lock();
        if state.unclaimed > 0 {
            state.unclaimed -= 1;
        } else {
            state.idle += 1;
        }
    }

    /// The keep-alive passed with nothing received. Retires the thread, unless a job
    /// was sent just before the lock was taken: then returns that job to run (shut
    /// down or not: a job handed over runs).
    fn retire_if_still_idle(&self) -> Option<Box<dyn Job>> {
        let mut state = self.lock();
        if let Ok(job) = self.jobs.try_recv() {
            return Some(job);
        }
        if state.sender.is_some() {
            // The channel is empty, so by the invariant every waiting thread,
            // this one included, is counted in `idle`. (Once shut down, nothing
            // reads the counts but the thread count.)
            state.idle -= 1;
        }
        self.retire(&mut state);
        None
    }

    fn retire(&self, state: &mut State) {
        state.threads -= 1;
        self.thread_retired.notify_all();
    }

    /// Stops taking jobs and waits (at most `timeout`) until every job handed over
    /// has run and the threads have retired; past the timeout, cancels the jobs
    /// still queued. Returns `true` if nothing was left running. A second call returns
    /// at once.
    fn shutdown(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let mut state = self.lock();
        // Once the queue is empty, the dropped sender wakes every waiting thread
        // with `Disconnected`, and each retires. Until then they run what is queued.
        if state.sender.take().is_none() {
            return true;
        }

        // A pool shut down from one of its own jobs must not wait for that job.
        let on_own_thread = WORKER_OF.with_borrow(|pool| std::ptr::eq(pool.as_ptr(), self));
        let this_thread = usize::from(on_own_thread);
        while state.threads > this_thread {
            state = match deadline {
                None => self
                    .thread_retired
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        drop(state);
                        self.cancel_queued();
                        return false;
                    }
                    self.thread_retired
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        true
    }

    /// Takes the jobs no thread has started out of the queue and drops them, which
    /// tells each handle it was cancelled. A thread receiving at the same moment gets
    /// a job or not: each job is run or cancelled, never both, never neither.
    fn cancel_queued(&self) {
        for job in self.jobs.try_iter() {
            // `Work::drop` contains the closure's drop; this is the last net.
            drop_contained(job);
        }
    }
}
