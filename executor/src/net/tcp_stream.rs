//! `TcpStream`: a connected TCP socket; `connect`, `read` and `write` park the task
//! until the reactor reports the socket ready.
//!
//! The bytes move in `stream.rs`, shared with `UnixStream`; this file makes and
//! converts the socket and answers what is TCP's own (addresses, `TCP_NODELAY`, TTL,
//! `peek`). `split.rs` cuts it into owned halves.
//!
//! # Ground rules
//! - A stream is registered for reading and writing at once (and for urgent data on
//!   Linux: `stream.rs` says why), and never re-registered: the read and write halves
//!   wait independently, on separate waiter lists.
//! - `connect` waits for the first write-readiness, then asks the socket how the
//!   connection went (`SO_ERROR`, then the peer address): an event alone proves nothing.
//! - `shutdown` wakes this stream's own waiters, so a task parked in `read` or `write`
//!   on a shared stream retries and gets the OS's answer (EOF, or `BrokenPipe`).
//! - `from_std` makes the socket non-blocking (the reactor needs that) and `into_std`
//!   deregisters it before handing it back, still non-blocking, with the same fd.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};

use super::registration::Registration;
use super::stream::stream_interest;
use crate::io::reactor::Direction;
use crate::observe::waits::told;

/// A TCP connection.
///
/// Methods take `&self` (see the [module docs](crate::net) for why): share a stream
/// between a reading task and a writing task with an `Rc`.
///
/// tokio equivalent: `tokio::net::TcpStream`. asyncio equivalent: the
/// `(StreamReader, StreamWriter)` pair from `asyncio.open_connection`.
///
/// ```
/// use std::net::Shutdown;
/// use executor::net::{TcpListener, TcpStream};
///
/// executor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     let (server, _) = listener.accept().await.unwrap();
///     client.write_all(b"ping").await.unwrap();
///     client.shutdown(Shutdown::Write).unwrap();
///     let mut got = [0; 4];
///     server.read_exact(&mut got).await.unwrap();
///     assert_eq!(&got, b"ping");
///     assert_eq!(server.read(&mut got).await.unwrap(), 0, "end of stream");
/// });
/// ```
pub struct TcpStream {
    io: Registration<mio::net::TcpStream>,
}

// === impl TcpStream ===

impl TcpStream {
    /// Opens a connection to `addr`. Takes an address, not a host name: resolving a
    /// name blocks, so do it in `spawn_blocking` first.
    ///
    /// # Errors
    /// What the OS says: `ConnectionRefused` when nothing listens there (promptly, on
    /// the RST), `TimedOut`, `HostUnreachable`, and so on.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<TcpStream>> {
        told("TcpStream::connect", async move {
            // A non-blocking connect: this returns at once, the handshake goes on in the
            // kernel, and the socket turns writable when it is over (either way).
            let socket = mio::net::TcpStream::connect(addr)?;
            let stream = TcpStream::register(socket, "TcpStream::connect")?;
            stream.io.connected().await?;
            Ok(stream)
        })
    }

    /// Wraps a connection that `TcpListener::accept` returned.
    pub(crate) fn accepted(socket: mio::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::register(socket, "TcpListener::accept")
    }

    /// Takes over a connected std stream (made by blocking code, or handed over by
    /// another thread) and switches it to non-blocking mode, which the reactor needs.
    ///
    /// # Errors
    /// What the OS says.
    ///
    /// # Panics
    /// Outside a runtime: the stream registers with the current runtime's reactor.
    #[track_caller]
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        let socket = mio::net::TcpStream::from_std(stream);
        TcpStream::register(socket, "TcpStream::from_std")
    }

    /// Hands the connection back as a std stream with the same fd, taken out of the
    /// reactor first. It stays non-blocking, as tokio's does: call
    /// `set_nonblocking(false)` before blocking on it.
    ///
    /// # Errors
    /// None today: the `Result` is tokio's signature, kept so code moves across as is.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.io.into_source().into())
    }

    #[track_caller]
    fn register(socket: mio::net::TcpStream, what: &'static str) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Registration::new(socket, stream_interest(), what)?,
        })
    }

    /// Reads what is available, up to `buf.len()` bytes, waiting until something is.
    /// `Ok(0)` means end of stream (the peer shut down its writing side), or an empty
    /// `buf` (returned at once, without waiting). Cancel-safe.
    ///
    /// # Errors
    /// What the OS says (`ConnectionReset`, …).
    #[track_caller]
    pub fn read(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        told("TcpStream::read", async move { self.io.read(buf).await })
    }

    /// Reads what is available, up to `buf.len()` bytes, waiting until something is,
    /// and leaves it in the socket: the next `read` returns the same bytes. Cancel-safe.
    ///
    /// # Errors
    /// As [`read`](TcpStream::read).
    #[track_caller]
    pub fn peek(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        told("TcpStream::peek", async move {
            if buf.is_empty() {
                return Ok(0);
            }
            // Not `transferred`: the bytes stay, so a short peek drained nothing.
            let peek = self.io.io(Direction::Read, |socket| socket.peek(buf));
            peek.await
        })
    }

    /// Writes some of `buf`, waiting until the send buffer has room; returns how much.
    /// Cancel-safe.
    ///
    /// # Errors
    /// What the OS says (`BrokenPipe` after a shutdown, `ConnectionReset`, …).
    #[track_caller]
    pub fn write(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        told("TcpStream::write", async move { self.io.write(buf).await })
    }

    /// Writes all of `buf`. Not cancel-safe: dropped midway, part of `buf` may have
    /// been sent.
    ///
    /// # Errors
    /// As [`write`](TcpStream::write), and `WriteZero` if the socket accepts nothing.
    #[track_caller]
    pub fn write_all(&self, buf: &[u8]) -> impl Future<Output = io::Result<()>> {
        told("TcpStream::write_all", async move {
            self.io.write_all(buf).await
        })
    }

    /// Fills all of `buf`. Not cancel-safe: dropped midway, the bytes read so far are
    /// in `buf` but the caller cannot know how many.
    ///
    /// # Errors
    /// As [`read`](TcpStream::read), and `UnexpectedEof` if the stream ends first.
    #[track_caller]
    pub fn read_exact(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<()>> {
        told("TcpStream::read_exact", async move {
            self.io.read_exact(buf).await
        })
    }

    /// Shuts down reading, writing or both. After `Shutdown::Write` the peer reads end
    /// of stream and may still write back (a half-close). Tasks parked on this stream
    /// are woken to retry: a pending `read` then sees end of stream, a pending `write`
    /// `BrokenPipe`.
    ///
    /// # Errors
    /// What the OS says (`NotConnected`, …).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// The address of the other end.
    ///
    /// # Errors
    /// What the OS says (`NotConnected` after a reset, …).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().peer_addr()
    }

    /// The address of this end.
    ///
    /// # Errors
    /// What the OS says.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().local_addr()
    }

    /// Turns Nagle's algorithm off (`true`) or on: with it off, small writes go out at
    /// once instead of waiting to be coalesced.
    ///
    /// # Errors
    /// What the OS says.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.source().set_nodelay(nodelay)
    }

    /// Whether Nagle's algorithm is off (`TCP_NODELAY`).
    ///
    /// # Errors
    /// What the OS says.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.source().nodelay()
    }

    /// Sets the IP time-to-live of the packets this stream sends (`IP_TTL`).
    ///
    /// # Errors
    /// What the OS says (`InvalidInput` for 0 or more than 255 on Linux).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.source().set_ttl(ttl)
    }

    /// The IP time-to-live of the packets this stream sends.
    ///
    /// # Errors
    /// What the OS says.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.source().ttl()
    }

    /// The registration, for the `futures-io` and `hyper` adapters and `AsRawFd`.
    pub(crate) fn registration(&self) -> &Registration<mio::net::TcpStream> {
        &self.io
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream").field("io", &self.io).finish()
    }
}
