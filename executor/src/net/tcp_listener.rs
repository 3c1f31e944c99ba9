//! `TcpListener`: a listening socket whose `accept` parks the task until a connection
//! is queued.
//!
//! # Ground rules
//! - The listener is registered for reading only: a queued connection makes it
//!   readable, nothing makes it writable.
//! - `accept` takes a connection off the kernel's queue only in the poll that returns
//!   it, so a dropped `accept` loses none.
//! - `from_std` makes the socket non-blocking; `into_std` deregisters it first and
//!   hands back the same fd, still non-blocking.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;

use mio::Interest;

use super::registration::Registration;
use super::tcp_stream::TcpStream;
use crate::io::reactor::Direction;
use crate::observe::waits::told;

/// A TCP socket listening for connections.
///
/// tokio equivalent: `tokio::net::TcpListener`. asyncio equivalent:
/// `asyncio.start_server` (the server side of it).
///
/// ```
/// use executor::net::{TcpListener, TcpStream};
///
/// executor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let (_server_side, peer) = listener.accept().await.unwrap();
///     assert_eq!(peer, client.local_addr().unwrap());
/// });
/// ```
pub struct TcpListener {
    io: Registration<mio::net::TcpListener>,
}

// === impl TcpListener ===

impl TcpListener {
    /// Binds to `addr` (port 0 picks a free port) and listens, with a backlog of 1024
    /// and `SO_REUSEADDR` set. Binding never blocks, so this is not async.
    ///
    /// # Errors
    /// What the OS says: the address is in use, not local, or not permitted.
    ///
    /// # Panics
    /// Outside a runtime: the listener registers with the current runtime's reactor.
    #[track_caller]
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        let listener = mio::net::TcpListener::bind(addr)?;
        let io = Registration::new(listener, Interest::READABLE, "TcpListener::bind")?;
        Ok(TcpListener { io })
    }

    /// Takes over a listening socket made elsewhere, typically with options `bind`
    /// does not set (`SO_REUSEPORT`, so that one runtime per thread can each listen on
    /// the same port: `examples/http.rs --workers N`). It is switched to non-blocking
    /// mode here, since the reactor needs that.
    ///
    /// # Errors
    /// What the OS says.
    ///
    /// # Panics
    /// Outside a runtime: the listener registers with the current runtime's reactor.
    #[track_caller]
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        let listener = mio::net::TcpListener::from_std(listener);
        let io = Registration::new(listener, Interest::READABLE, "TcpListener::from_std")?;
        Ok(TcpListener { io })
    }

    /// Hands the listener back as a std listener with the same fd, taken out of the
    /// reactor first. It stays non-blocking, as tokio's does: call
    /// `set_nonblocking(false)` before blocking on it.
    ///
    /// # Errors
    /// None today: the `Result` is tokio's signature, kept so code moves across as is.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_source().into())
    }

    /// Waits for a connection and returns it with the peer's address. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says (for example, too many open files), or that the listener's
    /// runtime is not running.
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> {
        told("TcpListener::accept", async move {
            let accept = self.io.io(Direction::Read, mio::net::TcpListener::accept);
            let (stream, peer) = accept.await?;
            Ok((TcpStream::accepted(stream)?, peer))
        })
    }

    /// The address the listener is bound to (with the port the OS chose for port 0).
    ///
    /// # Errors
    /// What the OS says.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().local_addr()
    }

    /// The registration, for `AsRawFd`.
    pub(crate) fn registration(&self) -> &Registration<mio::net::TcpListener> {
        &self.io
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener").field("io", &self.io).finish()
    }
}
