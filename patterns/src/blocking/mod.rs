//! `spawn_blocking`: run blocking code on a thread pool, so the loop keeps running.
//!
//! A single-threaded loop runs one task at a time. A task that calls something that
//! blocks — `std::thread::sleep`, a synchronous file read, DNS resolution, a long
//! computation — freezes every other task, timer and socket until it returns (the
//! stall report names such polls, see `executor::StallReport`). The cure is to hand
//! the call to another thread and `.await` its result: the task parks like on any
//! other future, and the loop runs everything else meanwhile.
//!
//! ```text
//! task: spawn_blocking(f).await
//!        │ Pending (waker parked in the job's slot)        loop keeps running
//!        ▼                                                 other tasks, timers, I/O
//!   job queue (crossbeam) ─► pool thread: f() ─► slot ─► waker.wake() from that thread
//!                                                         ─► remote channel ─► task ready
//! ```
//!
//! | file | its one job |
//! |---|---|
//! | `mod.rs` | [`spawn_blocking`], each runtime's pool, the global pool, their defaults |
//! | `pool.rs` | [`BlockingPool`]: threads on demand, keep-alive, shutdown |
//! | `handle.rs` | [`BlockingHandle`], [`BlockingError`]: the result's way back |
//!
//! # Ground rules
//! - A job handed to a pool runs to completion; nothing can interrupt a thread. What
//!   can be cancelled is a job still in the queue, and only by a shutdown whose
//!   timeout expires before a thread takes it (or a job submitted, from a pool job,
//!   after its pool's shutdown began).
//! - Dropping a [`BlockingHandle`] detaches its job: it runs anyway.
//! - While a job is in flight, a paused clock does not jump (as tokio): the job works
//!   in real time, and virtual time must not race past it. The job takes an
//!   `executor::time::ClockHold` when it is submitted and releases it after waking its
//!   task. A job submitted outside any runtime holds no clock: there is none to hold.
//!   Nor does a job submitted from another job (a pool thread is outside the runtime).
//! - Each runtime has its own pool, made on its first `spawn_blocking` and kept as
//!   one of the runtime's resources (`executor::runtime_resource`), with threads named
//!   `rt{id}-blocking-{n}`. Dropping the runtime drops its tasks (and so their
//!   handles, which detaches their jobs), then the pool: every job already handed to
//!   it runs, queued ones included, and the drop waits for them, and for the threads
//!   to exit, so no thread is left behind. As tokio: a "save the state, then return
//!   from main" job is not lost. `Builder::shutdown_timeout` bounds the wait (as
//!   tokio's `Runtime::shutdown_timeout`): jobs no thread has started when it expires
//!   are cancelled, running ones finish detached. asyncio's `loop.close()` shuts its
//!   default executor down likewise (`shutdown(wait=True)`).
//! - A `spawn_blocking` inside a job of a runtime's pool goes to that same pool (its
//!   threads know their pool, `pool.rs`'s `WORKER_OF`), so the runtime's drop waits
//!   for it too; once that drop has begun, such a job is cancelled at once (as tokio
//!   refuses it), never lost and never waited for in vain.
//! - Outside any runtime, `spawn_blocking` uses one global pool, made on first use,
//!   which lives as long as the process.

mod handle;
mod pool;

use std::sync::OnceLock;
use std::time::Duration;

use executor::RuntimeInfo;

pub use handle::{BlockingError, BlockingHandle};
pub use pool::{BlockingPool, BlockingPoolBuilder};

/// The global pool's thread limit (tokio's, too). Blocking jobs mostly *wait* (on a
/// disk, a DNS server, a lock, a sleep) rather than compute, so the limit is about
/// threads, not cores; a generous one keeps jobs that wait on one another from
/// deadlocking for want of a thread, while still bounding a runaway loop. Threads
/// start only on demand, so a program that never blocks starts none.
pub const DEFAULT_MAX_BLOCKING_THREADS: usize = 512;

/// How long the global pool keeps an idle thread (tokio's, too): long enough that a
/// burst of jobs every few seconds reuses its threads, short enough that a quiet
/// program gives them back.
pub const DEFAULT_BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Runs the blocking function `f` on the current runtime's pool (outside any runtime:
/// the global pool; inside a job of a runtime's pool: that pool) and returns a future
/// of its result. The job starts at once, whether or not the handle is awaited.
///
/// Each pool is created on first use with [`DEFAULT_BLOCKING_KEEP_ALIVE`] and at most
/// [`DEFAULT_MAX_BLOCKING_THREADS`] threads (a runtime's:
/// `Builder::max_blocking_threads`); build a [`BlockingPool`] for other limits. A
/// runtime's pool shuts down when the runtime is dropped, after running every job
/// handed to it: see the module doc.
///
/// Called inside a runtime whose clock is paused, the job holds that clock: virtual
/// time does not jump while the job works in real time (as tokio). Called outside any
/// runtime, it holds none, since there is no clock to hold; a paused runtime that
/// later awaits the handle may jump ahead while the job runs. Call it from inside
/// the runtime that awaits it.
///
/// asyncio equivalent: `await loop.run_in_executor(None, f)` (or
/// `asyncio.to_thread(f)`). tokio equivalent: `tokio::task::spawn_blocking(f)`.
///
/// # Panics
/// If the OS refuses to start a thread and the pool has none running.
///
/// ```
/// use std::time::Duration;
///
/// let answer = executor::block_on(async {
///     // The loop is free while the pool thread sleeps.
///     let slow = patterns::spawn_blocking(|| {
///         std::thread::sleep(Duration::from_millis(20));
///         42
///     });
///     slow.await.expect("the job did not panic")
/// });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> BlockingHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    if let Some(runtime_pool) = executor::runtime_resource(RuntimePool::new) {
        return runtime_pool.pool.spawn(f);
    }
    // No runtime here. A thread of a runtime's pool (a job spawning a job) hands the
    // job to that pool, inside the runtime's shutdown; any other thread to the
    // global pool.
    match pool::spawn_on_this_threads_runtime_pool(f) {
        Ok(handle) => handle,
        Err(f) => {
            static GLOBAL: OnceLock<BlockingPool> = OnceLock::new();
            GLOBAL
                .get_or_init(|| BlockingPool::builder().build())
                .spawn(f)
        }
    }
}

/// A runtime's blocking pool, shut down with the runtime.
struct RuntimePool {
    pool: BlockingPool,
    shutdown_timeout: Option<Duration>,
}

impl RuntimePool {
    fn new(runtime: RuntimeInfo) -> RuntimePool {
        let mut builder = BlockingPool::builder()
            .thread_name(format!("rt{}-blocking", runtime.id))
            .of_a_runtime();
        if let Some(max) = runtime.max_blocking_threads {
            builder = builder.max_threads(max);
        }
        RuntimePool {
            pool: builder.build(),
            shutdown_timeout: runtime.shutdown_timeout,
        }
    }
}

impl Drop for RuntimePool {
    fn drop(&mut self) {
        self.pool.shut_down(self.shutdown_timeout);
        // `pool` drops next; it is shut down already, so that waits no more.
    }
}
