//! What every byte stream does, written once: `read`, `write`, `write_all`,
//! `read_exact`, `shutdown` and a non-blocking connect, for [`TcpStream`](super::TcpStream),
//! [`UnixStream`](super::UnixStream) and the halves of a split stream, as methods of
//! their `Registration`.
//!
//! A TCP socket and a Unix stream socket differ in how they are made and addressed,
//! not in how bytes move: both are `read(2)` and `write(2)` on an fd the reactor
//! watches. So the types keep their constructors and addresses, and forward the rest
//! here.
//!
//! # Ground rules
//! - Every read and write goes through `Registration::stream_transfer`: a transfer
//!   shorter than asked proves the socket drained in its direction, and clears the
//!   remembered readiness (the reactor's rule 3), so the next try parks at once
//!   instead of spending a syscall to hear `WouldBlock`.
//! - A peek is not a transfer: it leaves the bytes where they are, so a short peek
//!   proves nothing drained and clears nothing. Were it to clear, the next `read`
//!   would park on bytes already there, and no edge would come to wake it.
//! - An empty buffer reads `Ok(0)` at once: asked for nothing, Linux's `recv(2)` says
//!   `WouldBlock` on an empty socket, which would park the task until data came.
//! - `shutdown` wakes the stream's own waiters in the directions it closed, so a task
//!   parked on a shared stream retries and hears the OS's answer (end of stream, or
//!   `BrokenPipe`). Linux's epoll reports a socket's own shutdown too; the explicit
//!   wake means no poller has to.

use std::io::{self, Read, Write};
use std::net::Shutdown;
#[cfg(any(feature = "futures-io", feature = "hyper"))]
use std::task::{Context, Poll};

use mio::event::Source;

use super::registration::Registration;
use crate::reactor::Direction;

/// The calls a stream socket answers besides reading and writing, which mio gives
/// each socket type as inherent methods of the same names.
pub(crate) trait StreamSocket: Source {
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    fn take_error(&self) -> io::Result<Option<io::Error>>;
    /// Whether the socket has a peer: `NotConnected` while a connect is in flight.
    fn has_peer(&self) -> io::Result<()>;
}

impl StreamSocket for mio::net::TcpStream {
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        mio::net::TcpStream::shutdown(self, how)
    }
    fn take_error(&self) -> io::Result<Option<io::Error>> {
        mio::net::TcpStream::take_error(self)
    }
    fn has_peer(&self) -> io::Result<()> {
        self.peer_addr().map(drop)
    }
}

#[cfg(unix)]
impl StreamSocket for mio::net::UnixStream {
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        mio::net::UnixStream::shutdown(self, how)
    }
    fn take_error(&self) -> io::Result<Option<io::Error>> {
        mio::net::UnixStream::take_error(self)
    }
    fn has_peer(&self) -> io::Result<()> {
        self.peer_addr().map(drop)
    }
}

// === impl Registration (streams) ===

impl<S> Registration<S>
where
    S: StreamSocket,
    for<'a> &'a S: Read + Write,
{
    /// Waits for a non-blocking connect to finish, then asks the socket how it went
    /// (`SO_ERROR`, then whether it has a peer): a write-readiness event alone proves
    /// nothing.
    pub(crate) async fn connected(&self) -> io::Result<()> {
        // "Still connecting" is reported as `WouldBlock`: like a drained read, it
        // means "clear the readiness and wait for the next event".
        let connected = self.io(Direction::Write, |socket| {
            if let Some(error) = socket.take_error()? {
                return Err(error);
            }
            match socket.has_peer() {
                // Linux's getpeername says ENOTCONN while the handshake is in flight.
                Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                has_peer => has_peer,
            }
        });
        connected.await
    }

    /// Reads what is available, up to `buf.len()` bytes, waiting until something is.
    pub(crate) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let asked = buf.len();
        let read = self.io(Direction::Read, |mut socket| {
            let result = socket.read(buf);
            self.stream_transfer(Direction::Read, asked, result)
        });
        read.await
    }

    /// Writes some of `buf`, waiting until the send buffer has room.
    pub(crate) async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let write = self.io(Direction::Write, |mut socket| {
            let result = socket.write(buf);
            self.stream_transfer(Direction::Write, buf.len(), result)
        });
        write.await
    }

    /// Writes all of `buf`; `WriteZero` if the socket takes nothing.
    pub(crate) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                written => buf = &buf[written..],
            }
        }
        Ok(())
    }

    /// Fills all of `buf`; `UnexpectedEof` if the stream ends first.
    pub(crate) async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                read => buf = &mut buf[read..],
            }
        }
        Ok(())
    }

    /// Shuts down `how`, then wakes the waiters of what it closed so they retry.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.source().shutdown(how)?;
        self.wake_after_shutdown(how);
        Ok(())
    }

    /// [`read`](Registration::read) as a poll, for `futures_io::AsyncRead`.
    #[cfg(feature = "futures-io")]
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let asked = buf.len();
        self.poll_read_with(cx, asked, |mut socket| socket.read(buf))
    }

    /// [`poll_read`](Registration::poll_read) for a reader with no `&mut [u8]` to lend
    /// (hyper's cursor may be uninitialised): once the socket is ready, `read` makes
    /// the syscall itself, asking for at most `asked` bytes.
    #[cfg(any(feature = "futures-io", feature = "hyper"))]
    pub(crate) fn poll_read_with(
        &self,
        cx: &mut Context<'_>,
        asked: usize,
        mut read: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        if asked == 0 {
            return Poll::Ready(Ok(0));
        }
        self.poll_shared(cx, Direction::Read, |socket| {
            let result = read(socket);
            self.stream_transfer(Direction::Read, asked, result)
        })
    }

    /// [`write`](Registration::write) as a poll, for `futures_io::AsyncWrite` and
    /// `hyper::rt::Write`.
    #[cfg(any(feature = "futures-io", feature = "hyper"))]
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_shared(cx, Direction::Write, |mut socket| {
            let result = socket.write(buf);
            self.stream_transfer(Direction::Write, buf.len(), result)
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
        self.poll_shared(cx, Direction::Write, |mut socket| {
            let result = socket.write_vectored(bufs);
            self.stream_transfer(Direction::Write, asked, result)
        })
    }
}
