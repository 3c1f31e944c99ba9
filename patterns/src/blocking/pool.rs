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
//!                                                  Disconnected (shut down) ─► retire
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
//! - Shutting down (drop, `shutdown_timeout`) takes the sender away, which
//!   disconnects the channel once the queued jobs are drained. Drained jobs are
//!   dropped, which cancels them (see `handle.rs`); running jobs finish.
//! - No user code runs under the lock: jobs run, and cancelled jobs are dropped,
//!   outside it.

use std::cell::Cell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::handle::{BlockingHandle, Job, new_job};
use super::{DEFAULT_BLOCKING_KEEP_ALIVE, DEFAULT_MAX_BLOCKING_THREADS};

thread_local! {
    /// The id of the pool this thread works for (0: none), so a pool dropped from one
    /// of its own jobs does not wait for itself.
    static WORKER_OF: Cell<u64> = const { Cell::new(0) };
}

/// A pool of threads for blocking work: threads start when jobs arrive (up to a
/// maximum), wait for more work for a keep-alive, then exit.
///
/// [`spawn_blocking`](crate::spawn_blocking) uses a global one; build your own to
/// bound a kind of work separately (a pool of 4 for a database driver, say).
///
/// **Dropping the pool** cancels the jobs that no thread has started (their handles
/// return a cancelled [`BlockingError`](crate::BlockingError)) and waits for the
/// running ones to finish; [`shutdown_timeout`](Self::shutdown_timeout) stops waiting
/// after a while. Dropping a runtime does not touch a pool: its tasks are dropped, so
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
}

/// What the pool and its threads share.
struct Shared {
    /// Distinguishes pools, for `WORKER_OF`.
    id: u64,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
    /// The job queue. Every thread receives from it; shutdown drains it.
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
    /// panic messages). Default `glassbox-blocking`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> BlockingPoolBuilder {
        self.thread_name = prefix.into();
        self
    }

    /// Creates the pool. No thread starts until the first job arrives.
    pub fn build(self) -> BlockingPool {
        static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(1);
        let (sender, jobs) = crossbeam_channel::unbounded();
        BlockingPool {
            shared: Arc::new(Shared {
                id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
                max_threads: self.max_threads,
                keep_alive: self.keep_alive,
                thread_name: self.thread_name,
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
    pub fn spawn<F, T>(&self, f: F) -> BlockingHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, handle) = new_job(f, executor::time::hold_clock());
        self.shared.submit(job);
        if executor::trace::enabled() {
            let (id, threads) = (handle.id, self.thread_count());
            executor::trace::emit(format_args!(
                "block  submit job={id} (pool threads: {threads})"
            ));
        }
        handle
    }

    /// Threads alive now, busy or idle. Idle threads exit after the keep-alive.
    pub fn thread_count(&self) -> usize {
        self.shared.lock().threads
    }

    /// Shuts the pool down: cancels the jobs no thread has started, then waits at
    /// most `timeout` for the running ones. Returns `true` if they all finished in
    /// time; the others run on, detached, and their threads exit when they finish.
    pub fn shutdown_timeout(self, timeout: Duration) -> bool {
        self.shut_down(Some(timeout))
        // `self` drops here; the pool is already shut down, so that waits no more.
    }

    /// Shuts the pool down in place, waiting at most `timeout` (`None`: until the
    /// running jobs end); for a runtime's pool, whose owner sets the timeout.
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

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock, so it cannot be poisoned mid-update.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job`, first promising it a thread: an idle one, a new one, or the next
    /// busy one to finish.
    fn submit(self: &Arc<Self>, job: Box<dyn Job>) {
        let mut state = self.lock();
        if state.sender.is_none() {
            // Unreachable while a `&BlockingPool` exists (shutting down consumes the
            // pool), but a job must never vanish silently: dropping it cancels it.
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
    /// shuts down.
    fn work(self: Arc<Self>) {
        WORKER_OF.with(|pool| pool.set(self.id));
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
            // A panic in the job's closure is its result (see `Job::run`). What can
            // still panic is user code that runs after it: the destructor of a result
            // nobody awaits, or the waker of the task that awaits it. That must not
            // end this thread: the pool counts it as alive (and, by now, idle), so a
            // dead one would leave jobs queued for ever and make shutdown wait for
            // ever. The panic hook has already reported the panic.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| job.run(&|| self.back_from_job())));
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
    /// was sent just before the lock was taken: then returns that job to run.
    fn retire_if_still_idle(&self) -> Option<Box<dyn Job>> {
        let mut state = self.lock();
        if state.sender.is_some() {
            if let Ok(job) = self.jobs.try_recv() {
                return Some(job);
            }
            // The channel is empty, so by the invariant every waiting thread,
            // this one included, is counted in `idle`.
            state.idle -= 1;
        }
        self.retire(&mut state);
        None
    }

    fn retire(&self, state: &mut State) {
        state.threads -= 1;
        self.thread_retired.notify_all();
    }

    /// Cancels the queued jobs and waits (at most `timeout`) for the running ones.
    /// Returns `true` if none is left running. A second call returns at once.
    fn shutdown(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let mut state = self.lock();
        let Some(sender) = state.sender.take() else {
            return true;
        };
        // Once the queue is empty, the dropped sender wakes every waiting thread
        // with `Disconnected`, and each retires.
        drop(sender);
        let cancelled: Vec<Box<dyn Job>> = self.jobs.try_iter().collect();
        drop(state);
        // Each dropped job wakes its handle with a cancelled error: outside the lock.
        drop(cancelled);

        // A pool dropped from one of its own jobs must not wait for that job.
        let this_thread = usize::from(WORKER_OF.with(Cell::get) == self.id);
        let mut state = self.lock();
        while state.threads > this_thread {
            state = match deadline {
                None => self
                    .thread_retired
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
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
}
