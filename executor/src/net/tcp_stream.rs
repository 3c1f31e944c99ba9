//! `TcpStream`: a connected TCP socket; `connect`, `read` and `write` park the task
//! until the reactor reports the socket ready.
//!
//! # Ground rules
//! - A stream is registered for reading and writing at once, and never re-registered:
//!   the read and write halves wait independently, on separate waiter lists.
//! - `connect` waits for the first write-readiness, then asks the socket how the
//!   connection went (`SO_ERROR`, then the peer address): an event alone proves nothing.
//! - `shutdown` wakes this stream's own waiters, so a task parked in `read` or `write`
//!   on a shared stream retries and gets the OS's answer (EOF, or `BrokenPipe`).
//!   Linux's epoll happens to report a socket's own shutdown too; the explicit wake
//!   means we need not count on every poller doing so.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
#[cfg(any(feature = "futures-io", feature = "hyper"))]
use std::task::{Context, Poll};

use mio::Interest;

use super::registration::Registration;
use crate::reactor::Direction;

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
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        // A non-blocking connect: this returns at once, the handshake goes on in the
        // kernel, and the socket turns writable when it is over (either way).
        let socket = mio::net::TcpStream::connect(addr)?;
        let stream = TcpStream::register(socket, "TcpStream::connect")?;
        stream.io.io(Direction::Write, connected).await?;
        Ok(stream)
    }

    /// Wraps a connection that `TcpListener::accept` returned.
    pub(crate) fn accepted(socket: mio::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::register(socket, "TcpListener::accept")
    }

    #[track_caller]
    fn register(socket: mio::net::TcpStream, what: &'static str) -> io::Result<TcpStream> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        Ok(TcpStream {
            io: Registration::new(socket, interest, what)?,
        })
    }

    /// Reads what is available, up to `buf.len()` bytes, waiting until something is.
    /// `Ok(0)` means end of stream (the peer shut down its writing side), or an empty
    /// `buf` (returned at once, without waiting). Cancel-safe.
    ///
    /// # Errors
    /// What the OS says (`ConnectionReset`, …).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // An empty buffer reads nothing, at once. Asked to, Linux's recv(2) says "would
        // block" on a socket with no data, which would park the task until data came.
        if buf.is_empty() {
            return Ok(0);
        }
        let asked = buf.len();
        let read = self.io.io(Direction::Read, |mut socket| {
            let result = socket.read(buf);
            self.io.stream_transfer(Direction::Read, asked, result)
        });
        read.await
    }

    /// Writes some of `buf`, waiting until the send buffer has room; returns how much.
    /// Cancel-safe.
    ///
    /// # Errors
    /// What the OS says (`BrokenPipe` after a shutdown, `ConnectionReset`, …).
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let write = self.io.io(Direction::Write, |mut socket| {
            let result = socket.write(buf);
            self.io.stream_transfer(Direction::Write, buf.len(), result)
        });
        write.await
    }

    /// Writes all of `buf`. Not cancel-safe: dropped midway, part of `buf` may have
    /// been sent.
    ///
    /// # Errors
    /// As [`write`](TcpStream::write), and `WriteZero` if the socket accepts nothing.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                written => buf = &buf[written..],
            }
        }
        Ok(())
    }

    /// Fills all of `buf`. Not cancel-safe: dropped midway, the bytes read so far are
    /// in `buf` but the caller cannot know how many.
    ///
    /// # Errors
    /// As [`read`](TcpStream::read), and `UnexpectedEof` if the stream ends first.
    pub async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                read => buf = &mut buf[read..],
            }
        }
        Ok(())
    }

    /// Shuts down reading, writing or both. After `Shutdown::Write` the peer reads end
    /// of stream and may still write back (a half-close). Tasks parked on this stream
    /// are woken to retry: a pending `read` then sees end of stream, a pending `write`
    /// `BrokenPipe`.
    ///
    /// # Errors
    /// What the OS says (`NotConnected`, …).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.source().shutdown(how)?;
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.io.wake(Direction::Read);
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.io.wake(Direction::Write);
        }
        Ok(())
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

    /// [`read`](TcpStream::read) as a poll, for `futures_io::AsyncRead`.
    #[cfg(feature = "futures-io")]
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let asked = buf.len();
        self.poll_read_with(cx, asked, |mut socket| socket.read(buf))
    }

    /// [`poll_read`](TcpStream::poll_read) for a reader with no `&mut [u8]` to lend
    /// (hyper's cursor may be uninitialised): once the socket is ready, `read` makes
    /// the syscall itself, asking for at most `asked` bytes.
    #[cfg(any(feature = "futures-io", feature = "hyper"))]
    pub(crate) fn poll_read_with(
        &self,
        cx: &mut Context<'_>,
        asked: usize,
        mut read: impl FnMut(&mio::net::TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        // As in `read`: an empty buffer must not wait for data.
        if asked == 0 {
            return Poll::Ready(Ok(0));
        }
        self.io.poll_shared(cx, Direction::Read, |socket| {
            let result = read(socket);
            self.io.stream_transfer(Direction::Read, asked, result)
        })
    }

    /// [`write`](TcpStream::write) as a poll, for `futures_io::AsyncWrite` and
    /// `hyper::rt::Write`.
    #[cfg(any(feature = "futures-io", feature = "hyper"))]
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_shared(cx, Direction::Write, |mut socket| {
            let result = socket.write(buf);
            self.io.stream_transfer(Direction::Write, buf.len(), result)
        })
    }

    /// Several buffers in one `writev(2)`, as a poll, for `hyper::rt::Write`: hyper
    /// hands a response's head and body as separate slices, and this sends them in
    /// one syscall without copying them together first.
    #[cfg(feature = "hyper")]
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let asked = bufs.iter().map(|buf| buf.len()).sum();
        self.io.poll_shared(cx, Direction::Write, |mut socket| {
            let result = socket.write_vectored(bufs);
            self.io.stream_transfer(Direction::Write, asked, result)
        })
    }
}

/// How a non-blocking connect went, asked once the socket turns writable. "Still
/// connecting" is reported as `WouldBlock`: like a drained read, it means "clear the
/// readiness and wait for the next event".
fn connected(socket: &mio::net::TcpStream) -> io::Result<()> {
    if let Some(error) = socket.take_error()? {
        return Err(error);
    }
    match socket.peer_addr() {
        Ok(_) => Ok(()),
        // Linux's getpeername says ENOTCONN while the handshake is in flight.
        Err(error) if error.kind() == io::ErrorKind::NotConnected => {
            Err(io::ErrorKind::WouldBlock.into())
        }
        Err(error) => Err(error),
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream").field("io", &self.io).finish()
    }
}
