//! `UnixStream`: a connected Unix-domain stream socket, a byte stream between two
//! processes (or two tasks) on one machine, addressed by a filesystem path instead of
//! an IP address and port.
//!
//! Everything but making the socket is shared with `TcpStream` (`stream.rs`): the
//! same reads and writes, the same cancel safety, and the same owned halves
//! (`split.rs`). One difference: a short read never proves a Unix stream drained
//! (`stream.rs` says why).
//!
//! # Ground rules
//! - Registered for reading and writing at once, never re-registered, as `TcpStream`.
//! - `connect` is non-blocking like TCP's and is confirmed the same way (`SO_ERROR`,
//!   then the peer). A local connect usually completes at once; when the listener's
//!   backlog is full, Linux refuses it with `WouldBlock` (`EAGAIN`) rather than
//!   waiting, and `connect` returns that error, as tokio's does.
//! - `pair` makes two sockets already connected to each other: no path, no listener.
//! - `from_std` makes the socket non-blocking; `into_std` deregisters it first and
//!   hands back the same fd, still non-blocking.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use super::registration::Registration;
use super::stream::stream_interest;
use super::unix_address::socket_address;
use crate::observe::waits::told;

/// A connected Unix-domain stream socket.
///
/// Methods take `&self`, as [`TcpStream`](super::TcpStream)'s do: share it between a
/// reading task and a writing task with an `Rc`.
///
/// tokio equivalent: `tokio::net::UnixStream`. asyncio equivalent: the
/// `(StreamReader, StreamWriter)` pair from `asyncio.open_unix_connection`.
///
/// ```
/// use executor::net::UnixStream;
///
/// executor::block_on(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     a.write_all(b"ping").await.unwrap();
///     let mut got = [0; 4];
///     b.read_exact(&mut got).await.unwrap();
///     assert_eq!(&got, b"ping");
/// });
/// ```
pub struct UnixStream {
    io: Registration<mio::net::UnixStream>,
}

// === impl UnixStream ===

impl UnixStream {
    /// Connects to the socket listening at `path` (on Linux, an abstract name if it
    /// starts with a NUL byte: `"\0name"`).
    ///
    /// # Errors
    /// What the OS says: `NotFound` when no file is there, `ConnectionRefused` when
    /// nothing listens on it, `WouldBlock` when its backlog is full; `InvalidInput` for
    /// a NUL byte anywhere but first, saying where.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn connect(path: impl AsRef<Path>) -> impl Future<Output = io::Result<UnixStream>> {
        told("UnixStream::connect", async move {
            let address = socket_address(path.as_ref())?;
            let socket = mio::net::UnixStream::connect_addr(&address)?;
            let stream = UnixStream::register(socket, "UnixStream::connect")?;
            stream.io.connected().await?;
            Ok(stream)
        })
    }

    /// Two sockets connected to each other (`socketpair(2)`).
    ///
    /// # Errors
    /// What the OS says (out of file descriptors, …).
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        let a = UnixStream::register(a, "UnixStream::pair")?;
        let b = UnixStream::register(b, "UnixStream::pair")?;
        Ok((a, b))
    }

    /// Wraps a connection that `UnixListener::accept` returned.
    pub(crate) fn accepted(socket: mio::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::register(socket, "UnixListener::accept")
    }

    /// Takes over a connected std socket and switches it to non-blocking mode, which
    /// the reactor needs.
    ///
    /// # Errors
    /// What the OS says.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        let socket = mio::net::UnixStream::from_std(stream);
        UnixStream::register(socket, "UnixStream::from_std")
    }

    /// Hands the socket back as a std socket with the same fd, taken out of the
    /// reactor first. It stays non-blocking, as tokio's does.
    ///
    /// # Errors
    /// None today: the `Result` is tokio's signature, kept so code moves across as is.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(self.io.into_source().into())
    }

    #[track_caller]
    fn register(socket: mio::net::UnixStream, what: &'static str) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Registration::new(socket, stream_interest(), what)?,
        })
    }

    /// Reads what is available, up to `buf.len()` bytes, waiting until something is.
    /// `Ok(0)` means end of stream, or an empty `buf`. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says (`ConnectionReset`, …).
    #[track_caller]
    pub fn read(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        told("UnixStream::read", async move { self.io.read(buf).await })
    }

    /// Writes some of `buf`, waiting until the send buffer has room; returns how much.
    /// Cancel-safe.
    ///
    /// # Errors
    /// What the OS says (`BrokenPipe` after a shutdown, …).
    #[track_caller]
    pub fn write(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        told("UnixStream::write", async move { self.io.write(buf).await })
    }

    /// Writes all of `buf`. Not cancel-safe: dropped midway, part of `buf` may have
    /// been sent.
    ///
    /// # Errors
    /// As [`write`](UnixStream::write), and `WriteZero` if the socket accepts nothing.
    #[track_caller]
    pub fn write_all(&self, buf: &[u8]) -> impl Future<Output = io::Result<()>> {
        told("UnixStream::write_all", async move {
            self.io.write_all(buf).await
        })
    }

    /// Fills all of `buf`. Not cancel-safe.
    ///
    /// # Errors
    /// As [`read`](UnixStream::read), and `UnexpectedEof` if the stream ends first.
    #[track_caller]
    pub fn read_exact(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<()>> {
        told("UnixStream::read_exact", async move {
            self.io.read_exact(buf).await
        })
    }

    /// Shuts down reading, writing or both, and wakes the tasks parked on this stream
    /// in those directions so they retry (as [`TcpStream::shutdown`](super::TcpStream::shutdown)).
    ///
    /// # Errors
    /// What the OS says.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// The address of this end (unnamed, for a `connect`ed or `pair`ed socket).
    ///
    /// # Errors
    /// What the OS says.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().local_addr()
    }

    /// The address of the other end: the listener's path, or unnamed.
    ///
    /// # Errors
    /// What the OS says.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().peer_addr()
    }

    /// The registration, for the `futures-io` and `hyper` adapters and `AsRawFd`.
    pub(crate) fn registration(&self) -> &Registration<mio::net::UnixStream> {
        &self.io
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream").field("io", &self.io).finish()
    }
}
