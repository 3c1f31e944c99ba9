//! tokio's current_thread runtime, under the shared names.
//!
//! Tasks are spawned with `spawn_local` on a `LocalSet`, because the scenarios share
//! state through `Rc`, as single-threaded glassbox code does. Where tokio has the
//! idea, the name is tokio's own, re-exported. Where it does not, this file builds
//! the closest equivalent from tokio primitives, and says so:
//! - [`Queue`], asyncio.Queue (with `task_done` and `join`), from a bounded `mpsc`
//!   channel, a `Mutex` around its receiver and a `Notify`;
//! - [`retry_if`], the hand-written backoff loop, with `tokio::time::sleep`;
//! - [`timeout_or`], as `timeout(..).await.unwrap_or(default)`;
//! - [`sleep_until`] (taking std's `Instant`) and [`TcpListener::bind`] (taking an
//!   address, not async), thin wrappers so both runtimes share one signature.
//!
//! # Ground rules
//! - Every function here has the signature of its namesake in `shim/glassbox.rs`.
//! - tokio has no stall detector: `block_on_watching_stalls` says so with `None`,
//!   and so does [`LiveStalls::reports`]. It does not show its forced yields either:
//!   `block_on_with_budget` gives `None`.

use std::cell::Cell;
use std::convert::Infallible;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use glassbox::{Backoff, LiveStall};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Mutex, Notify, mpsc};

pub use tokio::sync::Semaphore;
pub use tokio::task::{spawn_blocking, spawn_local as spawn, yield_now};
pub use tokio::time::{sleep, timeout};

// === running a scenario ===

/// Runs `future` on a fresh current_thread runtime with the real clock.
pub fn block_on<F: Future>(future: F) -> F::Output {
    run(
        tokio::runtime::Builder::new_current_thread().enable_all(),
        future,
    )
}

/// Runs `future` on a fresh current_thread runtime whose clock starts paused (it
/// jumps to the next timer whenever every task waits). Needs tokio's `test-util`.
pub fn block_on_paused<F: Future>(future: F) -> F::Output {
    run(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true),
        future,
    )
}

/// Runs `future` as [`block_on`] does. `None`: tokio has no built-in stall detector
/// (tokio-console can show tasks that are busy for long, from outside the process).
pub fn block_on_watching_stalls<F: Future>(
    _threshold: Duration,
    future: F,
) -> (F::Output, Option<Vec<Duration>>) {
    (block_on(future), None)
}

/// Runs `future` as [`block_on`] does. tokio's coop budget is always 128 per task
/// poll (`tokio::task::unconstrained` lifts it for one future, nothing sets it), so
/// `budget` must be that. `None` forced yields: tokio counts them only in its unstable
/// metrics (`RuntimeMetrics::budget_forced_yield_count`, built with
/// `--cfg tokio_unstable`).
pub fn block_on_with_budget<F: Future>(budget: Option<u32>, future: F) -> (F::Output, Option<u64>) {
    assert_eq!(budget, Some(128), "tokio's coop budget is fixed at 128");
    (block_on(future), None)
}

/// Runs the future `scenario` makes, as [`block_on`] does: there is no watchdog to
/// report a poll that runs too long.
pub fn block_on_watching_live_stalls<F: Future>(
    _threshold: Duration,
    scenario: impl FnOnce(LiveStalls) -> F,
) -> F::Output {
    block_on(scenario(LiveStalls))
}

/// Stands for glassbox's handle on its live stall reports; tokio has no detector, so
/// no report is ever awaited, and there are none to read.
pub struct LiveStalls;

impl LiveStalls {
    /// False: no report will come.
    pub fn awaited(&self) -> bool {
        false
    }

    /// `None`: tokio has no built-in stall detector.
    pub fn reports(&self) -> Option<Vec<LiveStall>> {
        None
    }
}

fn run<F: Future>(builder: &mut tokio::runtime::Builder, future: F) -> F::Output {
    let rt = builder.build().expect("tokio runtime");
    tokio::task::LocalSet::new().block_on(&rt, future)
}

/// The runtime's clock (virtual under `block_on_paused`).
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Sleeps until `deadline`, an instant of [`now`]'s clock. (tokio's own takes its
/// `tokio::time::Instant`, a thin wrapper of std's.)
pub fn sleep_until(deadline: Instant) -> tokio::time::Sleep {
    tokio::time::sleep_until(deadline.into())
}

// === timeout with a default ===

/// asyncio's "timeout with a default", as a tokio user writes it.
pub async fn timeout_or<F: IntoFuture>(
    duration: Duration,
    future: F,
    default: F::Output,
) -> F::Output {
    timeout(duration, future).await.unwrap_or(default)
}

// === retry: tokio has none ===

/// The retry loop a tokio user writes by hand (or takes from the tokio-retry crate):
/// try, and on a retryable error sleep the policy's next delay with
/// `tokio::time::sleep`. It reads only the delays of the [`Backoff`] (no jitter, no
/// deadline: the tour's policies use neither).
pub async fn retry_if<Op, Fut, T, E, P>(
    policy: Backoff,
    mut operation: Op,
    mut should_retry: P,
) -> Result<T, E>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    P: FnMut(&E) -> bool,
{
    let mut delays = policy.delays();
    loop {
        let error = match operation().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if !should_retry(&error) {
            return Err(error);
        }
        let Some(delay) = delays.next() else {
            return Err(error); // that was the last attempt
        };
        sleep(delay).await;
    }
}

// === Queue: tokio has none ===

/// asyncio.Queue, as close as tokio's parts get: a bounded `mpsc` channel carries the
/// items (so `put` waits while it is full), a `Mutex` lets several consumers share
/// its one receiver, and an unfinished-item count with a `Notify` gives
/// `task_done` and `join`. The queue holds both ends of its channel, so the channel
/// never closes and neither `put` nor `get` can fail (`Infallible`).
pub struct Queue<T> {
    shared: Rc<Shared<T>>,
}

struct Shared<T> {
    sender: mpsc::Sender<T>,
    receiver: Mutex<mpsc::Receiver<T>>,
    /// Items put and not yet marked done with `task_done`.
    unfinished: Cell<usize>,
    /// Notified when `unfinished` drops to zero.
    all_done: Notify,
}

impl<T> Queue<T> {
    /// A queue of at most `maxsize` items.
    ///
    /// # Panics
    /// If `maxsize` is 0: asyncio's "unbounded" would need tokio's other channel
    /// kind, and the tour uses only bounded queues.
    pub fn new(maxsize: usize) -> Queue<T> {
        assert!(
            maxsize > 0,
            "tour's tokio Queue: maxsize must be at least 1"
        );
        let (sender, receiver) = mpsc::channel(maxsize);
        Queue {
            shared: Rc::new(Shared {
                sender,
                receiver: Mutex::new(receiver),
                unfinished: Cell::new(0),
                all_done: Notify::new(),
            }),
        }
    }

    /// Waits for room, then puts `item` at the back.
    pub async fn put(&self, item: T) -> Result<(), Infallible> {
        let sent = self.shared.sender.send(item).await;
        sent.unwrap_or_else(|_| unreachable!("the queue holds its own receiver"));
        self.shared.unfinished.set(self.shared.unfinished.get() + 1);
        Ok(())
    }

    /// Waits for an item. Consumers line up for the receiver (tokio's `Mutex` is
    /// fair), and the first in line waits in `recv`.
    pub async fn get(&self) -> Result<T, Infallible> {
        let mut receiver = self.shared.receiver.lock().await;
        let item = receiver.recv().await;
        Ok(item.unwrap_or_else(|| unreachable!("the queue holds its own sender")))
    }

    /// Marks one item got earlier as processed.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let unfinished = self.shared.unfinished.get();
        if unfinished == 0 {
            return Err(TaskDoneError);
        }
        self.shared.unfinished.set(unfinished - 1);
        if unfinished == 1 {
            self.shared.all_done.notify_waiters();
        }
        Ok(())
    }

    /// Waits until every item put has been marked done.
    pub async fn join(&self) {
        // Create the `Notified` before checking: `notify_waiters` reaches every
        // `Notified` that exists when it is called, polled yet or not.
        let all_done = self.shared.all_done.notified();
        if self.shared.unfinished.get() > 0 {
            all_done.await;
        }
    }

    /// The number of items in the queue: the channel's capacity not free.
    pub fn qsize(&self) -> usize {
        self.shared.sender.max_capacity() - self.shared.sender.capacity()
    }
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Queue<T> {
        Queue {
            shared: self.shared.clone(),
        }
    }
}

/// `task_done` was called more often than items were put (asyncio: `ValueError`).
#[derive(Debug)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called more times than there were items")
    }
}

// === TCP ===

/// A listening socket. tokio's own `bind` is async (it may resolve a name); this one
/// takes an address, as glassbox's does, and adopts a bound std listener.
pub struct TcpListener(tokio::net::TcpListener);

impl TcpListener {
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        tokio::net::TcpListener::from_std(listener).map(TcpListener)
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    pub async fn accept(&self) -> io::Result<TcpStream> {
        let (stream, _peer) = self.0.accept().await?;
        Ok(TcpStream(stream))
    }
}

/// A connection. tokio's reads and writes come from the `AsyncReadExt` and
/// `AsyncWriteExt` traits and take `&mut self`.
pub struct TcpStream(tokio::net::TcpStream);

impl TcpStream {
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        tokio::net::TcpStream::connect(addr).await.map(TcpStream)
    }

    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.0.set_nodelay(nodelay)
    }

    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).await
    }

    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_exact(buf).await.map(drop)
    }

    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).await
    }

    /// Half-close: the peer reads end of stream.
    pub async fn shutdown_write(&mut self) -> io::Result<()> {
        self.0.shutdown().await
    }
}
