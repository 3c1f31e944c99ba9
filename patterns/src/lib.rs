//! # patterns: asyncio's async programming patterns, on glassbox
//!
//! Each file is one pattern of Python asyncio's "Async Programming Patterns" lesson
//! (avoid blocking calls, timeouts, semaphores for rate limiting, async queues,
//! retry with backoff, timeout with a default), with the semantics asyncio and tokio
//! users rely on. Every public item's docs name its asyncio and tokio equivalents.
//!
//! | pattern | file | asyncio | tokio |
//! |---|---|---|---|
//! | [`sleep`], [`sleep_until`], [`Sleep`] | `sleep.rs` | `asyncio.sleep` | `tokio::time::sleep` |
//! | [`timeout`], [`timeout_at`], [`Timeout`], [`Elapsed`] | `timeout.rs` | `asyncio.wait_for`, `asyncio.timeout` | `tokio::time::timeout` |
//! | [`timeout_or`] (timeout with a default) | `timeout.rs` | `wait_for` + `except TimeoutError: return default` | `timeout(..).await.unwrap_or(default)` |
//! | [`Semaphore`], [`Permit`] | `semaphore.rs` | `asyncio.Semaphore` | `tokio::sync::Semaphore` |
//! | [`Queue`] | `queue.rs` (+ `queue/futures.rs`, `queue/error.rs`) | `asyncio.Queue` (with 3.13's `shutdown`) | `tokio::sync::mpsc` (no `join`) |
//! | `spawn_blocking` | `blocking.rs` | `loop.run_in_executor`, `asyncio.to_thread` | `tokio::task::spawn_blocking` |
//! | [`retry`], [`retry_if`], [`Backoff`] | `retry.rs` | a hand-written `retry_with_backoff` loop | the `tokio-retry` / `backon` crates |
//! | [`join_all`] | `join_all.rs` | `asyncio.gather(..., return_exceptions=True)` | `futures::future::join_all` |
//!
//! `wait_list.rs` holds the first-in, first-out line of parked futures that
//! `Semaphore` and `Queue` share: a future that cannot proceed parks its waker there,
//! and whoever makes progress possible (a released permit, a put, a get) wakes the
//! front of the line. `contain.rs` stops a panic in user code that a pattern runs on
//! someone else's behalf (a waker, a blocking job's unwanted result), payload and all,
//! so that the pattern still finishes what it was doing.
//!
//! Everything here runs on the runtime's one thread: the types are shared with `Rc`
//! (a [`Queue`] is itself a cheap handle) and need not be `Send`.
//!
//! ```
//! use std::time::Duration;
//! use patterns::{sleep, timeout};
//!
//! let mut rt = executor::Runtime::builder().paused_clock(true).build().unwrap();
//! rt.block_on(async {
//!     let slow = timeout(Duration::from_secs(2), sleep(Duration::from_secs(10)));
//!     assert!(slow.await.is_err()); // gave up after 2 virtual seconds
//! });
//! ```
#![deny(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unsafe_code
)]
// The one exception to `unsafe_code` is the pin projection in `Timeout::poll`.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod blocking;
mod contain;
mod join_all;
mod queue;
mod retry;
mod semaphore;
mod sleep;
mod timeout;
mod wait_list;

pub use blocking::{
    BlockingError, BlockingHandle, BlockingPool, BlockingPoolBuilder, DEFAULT_BLOCKING_KEEP_ALIVE,
    DEFAULT_MAX_BLOCKING_THREADS, spawn_blocking,
};
pub use join_all::join_all;
pub use queue::{
    Get, GetNowaitError, Join, Put, PutNowaitError, Queue, QueueShutDown, TaskDoneError,
};
pub use retry::{Backoff, retry, retry_if};
pub use semaphore::{Acquire, AcquireError, Permit, Semaphore, TryAcquireError};
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at, timeout_or};
