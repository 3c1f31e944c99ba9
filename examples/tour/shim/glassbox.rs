//! glassbox, under the shared names: mostly glassbox's own API, re-exported as is.
//!
//! # Ground rules
//! - Every runtime this module builds has the stall report off (the tour makes its
//!   own), except the ones `block_on_watching_stalls` and
//!   `block_on_watching_live_stalls` build, which collect the reports instead of
//!   printing them.
//! - With `--record DIR`, every runtime built here records its run as a page
//!   ([`record_to`]).
//! - The only wrappers are the TCP types, to share one spelling with tokio's, and
//!   [`LiveStalls`], the handle through which a scenario sees the watchdog's reports.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use glassbox::{
    Queue, Semaphore, retry_if, sleep, sleep_until, spawn, spawn_blocking, timeout, timeout_or,
    yield_now,
};

// === running a scenario ===

/// Runs `future` on a fresh glassbox runtime with the real clock.
pub fn block_on<F: Future>(future: F) -> F::Output {
    build(builder()).block_on(future)
}

/// Runs `future` on a fresh glassbox runtime whose clock is paused: virtual time that
/// jumps to the next timer whenever every task waits.
pub fn block_on_paused<F: Future>(future: F) -> F::Output {
    build(builder().paused_clock(true)).block_on(future)
}

/// Runs `future` with the stall report on at `threshold`; returns its output and,
/// for each poll that blocked the loop longer than that, how long it blocked.
/// (`Some`: glassbox has a stall detector.)
pub fn block_on_watching_stalls<F: Future>(
    threshold: Duration,
    future: F,
) -> (F::Output, Option<Vec<Duration>>) {
    let stalls = Rc::new(RefCell::new(Vec::new()));
    let mut rt = builder()
        .stall_threshold(Some(threshold))
        .on_stall({
            let stalls = stalls.clone();
            move |report| stalls.borrow_mut().push(report.blocked_for)
        })
        .build()
        .expect("glassbox runtime");
    let output = rt.block_on(future);
    (output, Some(stalls.take()))
}

/// Runs `future` with the cooperative budget at `budget` (`None`: off); returns its
/// output and how many times the budget cut a poll short. (`Some`: glassbox counts
/// them, in `Metrics::forced_yields`.)
pub fn block_on_with_budget<F: Future>(budget: Option<u32>, future: F) -> (F::Output, Option<u64>) {
    let mut rt = build(builder().coop_budget(budget));
    let output = rt.block_on(future);
    (output, Some(rt.metrics().forced_yields))
}

/// Runs the future `scenario` makes, on a runtime whose watchdog thread reports any
/// poll still running after `threshold` into the [`LiveStalls`] it hands `scenario`.
pub fn block_on_watching_live_stalls<F: Future>(
    threshold: Duration,
    scenario: impl FnOnce(LiveStalls) -> F,
) -> F::Output {
    let live = LiveStalls::default();
    let mut rt = builder()
        .stall_threshold(Some(threshold))
        .on_live_stall({
            let reports = live.0.clone();
            move |stall| reports.lock().unwrap().push(stall.clone())
        })
        // The report the loop makes once the poll has returned is the `blocking`
        // chapter's subject; here it would only print.
        .on_stall(|_| {})
        .build()
        .expect("glassbox runtime");
    rt.block_on(scenario(live))
}

/// The watchdog's reports of a poll still running, as they come in. The watchdog
/// thread adds them while the loop's thread is stuck in that poll, hence the `Mutex`.
#[derive(Default)]
pub struct LiveStalls(Arc<Mutex<Vec<glassbox::LiveStall>>>);

impl LiveStalls {
    /// True while a report is still to come: glassbox has a detector, and it has
    /// reported nothing yet.
    pub fn awaited(&self) -> bool {
        self.0.lock().unwrap().is_empty()
    }

    /// The reports so far. (`Some`: glassbox has a live stall detector.)
    pub fn reports(&self) -> Option<Vec<glassbox::LiveStall>> {
        Some(self.0.lock().unwrap().clone())
    }
}

/// Where this process's glassbox runtimes record their runs, if `--record` asked:
/// the page every runtime built here writes (numbered after the first: `queue.html`,
/// `queue.2.html`, …).
static RECORD_TO: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Records every glassbox runtime built from now on to `page` (numbered), or none.
pub fn record_to(page: Option<PathBuf>) {
    *RECORD_TO.lock().unwrap() = page;
}

/// A runtime builder, recording if `--record` asked.
fn builder() -> glassbox::Builder {
    let builder = glassbox::Runtime::builder();
    match &*RECORD_TO.lock().unwrap() {
        Some(page) => builder.record(page),
        None => builder,
    }
}

fn build(builder: glassbox::Builder) -> glassbox::Runtime {
    builder
        .stall_threshold(None)
        .build()
        .expect("glassbox runtime")
}

/// The runtime's clock (virtual under `block_on_paused`).
pub fn now() -> Instant {
    glassbox::time::now()
}

// === TCP ===

/// A listening socket. glassbox's `bind` is not async: binding never blocks.
pub struct TcpListener(glassbox::net::TcpListener);

impl TcpListener {
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        glassbox::net::TcpListener::bind(addr).map(TcpListener)
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }

    pub async fn accept(&self) -> io::Result<TcpStream> {
        let (stream, _peer) = self.0.accept().await?;
        Ok(TcpStream(stream))
    }
}

/// A connection. glassbox's methods take `&self` (a stream can be shared through an
/// `Rc`); these take `&mut self` only to match tokio's.
pub struct TcpStream(glassbox::net::TcpStream);

impl TcpStream {
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        glassbox::net::TcpStream::connect(addr).await.map(TcpStream)
    }

    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.0.set_nodelay(nodelay)
    }

    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).await
    }

    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_exact(buf).await
    }

    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).await
    }

    /// Half-close: the peer reads end of stream. (Not async on glassbox: shutdown(2)
    /// never blocks.)
    pub async fn shutdown_write(&mut self) -> io::Result<()> {
        self.0.shutdown(Shutdown::Write)
    }
}
