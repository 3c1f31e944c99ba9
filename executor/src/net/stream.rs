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
//! - Every read and write goes through `Registration::transferred`: a transfer shorter
//!   than asked, where that proves the socket drained in its direction, clears the
//!   remembered readiness (the reactor's rule 3), so the next try parks at once
//!   instead of spending a syscall to hear `WouldBlock`. Where it proves nothing, the
//!   next try makes the syscall and waits for `WouldBlock`:
//!   - a read that stopped at TCP's urgent mark, bytes still queued behind it: the
//!     socket is registered for `EPOLLPRI`, and once urgent data has been reported, the
//!     reactor stops believing short reads on it (Linux; elsewhere TCP reads never take
//!     the shortcut);
//!   - any Unix stream read: the kernel also stops one after a message that carried
//!     fds (`SCM_RIGHTS`), between two writers' messages (`SO_PASSCRED`) and at a
//!     `MSG_OOB` mark, and no event says which;
//!   - a `writev` of more slices than the kernel takes in one call (`IOV_MAX`): it is
//!     cut to the first `MAX_WRITE_SLICES` before the call, so "fewer than asked" is
//!     measured against the slices the kernel really saw.
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

use mio::Interest;
use mio::event::Source;

use super::registration::Registration;
use crate::io::reactor::Direction;

/// The most slices one vectored write hands to `writev(2)`: what std passes on at
/// most (`UIO_MAXIOV` on Linux and Android, `IOV_MAX` on Apple's systems and the
/// BSDs, where both are 1,024), and POSIX's least `IOV_MAX` elsewhere. The rest go in
/// the next call.
#[cfg(feature = "hyper")]
const MAX_WRITE_SLICES: usize = if cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
)) {
    1024
} else {
    16
};

/// The calls a stream socket answers besides reading and writing, which mio gives
/// each socket type as inherent methods of the same names.
pub(crate) trait StreamSocket: Source {
    /// Whether a read that returns fewer bytes than asked proves the receive buffer
    /// empty, unless urgent data was reported (see the ground rules).
    const SHORT_READ_DRAINS: bool;
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    fn take_error(&self) -> io::Result<Option<io::Error>>;
    /// Whether the socket has a peer: `NotConnected` while a connect is in flight.
    fn has_peer(&self) -> io::Result<()>;
}

impl StreamSocket for mio::net::TcpStream {
    /// Only where the reactor hears of urgent data (`EPOLLPRI`, `stream_interest`).
    const SHORT_READ_DRAINS: bool = cfg!(any(target_os = "linux", target_os = "android"));
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
    const SHORT_READ_DRAINS: bool = false;
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

/// What a stream socket is registered for: both directions, and urgent data where
/// the poller reports it, so that a short read at the urgent mark is not taken for a
/// drained socket (the ground rules).
pub(crate) fn stream_interest() -> Interest {
    let both = Interest::READABLE | Interest::WRITABLE;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let both = both | Interest::PRIORITY;
    both
}

// === impl Registration (streams) ===

impl<S> Registration<S>
where
    S: StreamSocket,
    for<'a> &'a S: Read + Write,
{
    /// Passes a read's or write's `result` through, first noting a short transfer
    /// (some bytes, fewer than `asked`) where it proves the socket drained in
    /// `direction` (the ground rules). Not for datagrams, nor peeks.
    fn transferred(
        &self,
        direction: Direction,
        asked: usize,
        result: io::Result<usize>,
    ) -> io::Result<usize> {
        let proves_drained = direction == Direction::Write || S::SHORT_READ_DRAINS;
        if proves_drained
            && let Ok(moved) = result
            && 0 < moved
            && moved < asked
        {
            self.clear_ready_after_short_transfer(direction);
        }
        result
    }

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
            self.transferred(Direction::Read, asked, result)
        });
        read.await
    }

    /// Writes some of `buf`, waiting until the send buffer has room.
    pub(crate) async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let write = self.io(Direction::Write, |mut socket| {
            let result = socket.write(buf);
            self.transferred(Direction::Write, buf.len(), result)
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
            self.transferred(Direction::Read, asked, result)
        })
    }

    /// [`write`](Registration::write) as a poll, for `futures_io::AsyncWrite` and
    /// `hyper::rt::Write`.
    #[cfg(any(feature = "futures-io", feature = "hyper"))]
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_shared(cx, Direction::Write, |mut socket| {
            let result = socket.write(buf);
            self.transferred(Direction::Write, buf.len(), result)
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
        // Past the kernel's limit the call would take only the first slices, and a
        // full write of those would look short against the whole.
        let bufs = &bufs[..bufs.len().min(MAX_WRITE_SLICES)];
        let asked = bufs.iter().map(|buf| buf.len()).sum();
        self.poll_shared(cx, Direction::Write, |mut socket| {
            let result = socket.write_vectored(bufs);
            self.transferred(Direction::Write, asked, result)
        })
    }
}
