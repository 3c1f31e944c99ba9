//! glassbox, under the shared names: mostly glassbox's own API, re-exported as is.
//!
//! # Ground rules
//! - Every runtime this module builds has the stall report off (the tour makes its
//!   own), except the one `block_on_watching_stalls` builds, which collects the
//!   reports instead of printing them.
//! - The only wrappers are the TCP types, to share one spelling with tokio's.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

pub use glassbox::{
    Queue, Semaphore, retry_if, sleep, sleep_until, spawn, spawn_blocking, timeout, timeout_or,
    yield_now,
};

// === running a scenario ===

/// Runs `future` on a fresh glassbox runtime with the real clock.
pub fn block_on<F: Future>(future: F) -> F::Output {
    build(glassbox::Runtime::builder()).block_on(future)
}

/// Runs `future` on a fresh glassbox runtime whose clock is paused: virtual time that
/// jumps to the next timer whenever every task waits.
pub fn block_on_paused<F: Future>(future: F) -> F::Output {
    build(glassbox::Runtime::builder().paused_clock(true)).block_on(future)
}

/// Runs `future` with the stall report on at `threshold`; returns its output and,
/// for each poll that blocked the loop longer than that, how long it blocked.
/// (`Some`: glassbox has a stall detector.)
pub fn block_on_watching_stalls<F: Future>(
    threshold: Duration,
    future: F,
) -> (F::Output, Option<Vec<Duration>>) {
    let stalls = Rc::new(RefCell::new(Vec::new()));
    let mut rt = glassbox::Runtime::builder()
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
