//! [`GlassboxIo`]: a [`TcpStream`] seen through hyper's I/O traits, `hyper::rt::Read`
//! and `hyper::rt::Write`.
//!
//! # Ground rules
//! - Each poll is the stream's own `poll_read` or `poll_write`: one syscall per
//!   `Ready`, nothing consumed by a `Pending`, and the task parked in the reactor in
//!   between (the same contract as the `futures-io` impls in `net/futures_io.rs`).
//! - hyper's `ReadBufCursor` may point at uninitialised memory. Safe code cannot pass
//!   that to `read(2)`, and the crate keeps `unsafe` to the few files that need it, so
//!   a read goes into [`READ_CHUNK`] bytes on the stack and `put_slice` copies what arrived. The
//!   copy costs what `memcpy` of the bytes read costs; the syscall dwarfs it. A
//!   zero-copy read would need an `unsafe` call to `cursor.advance(n)`, and the
//!   benchmark has not asked for it.
//! - Vectored writes are real: `poll_write_vectored` is one `writev(2)`, so hyper
//!   sends a response's head and body without first copying them together.
//! - There is no user-space write buffer, so `poll_flush` is always ready;
//!   `poll_shutdown` shuts the writing side down, and the peer reads end of stream.

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};

use crate::net::TcpStream;

/// The most one `poll_read` asks of the socket: hyper's first read buffer is this
/// size too, and larger bodies arrive in more reads rather than a bigger stack frame.
const READ_CHUNK: usize = 8 * 1024;

/// A [`TcpStream`] that hyper can serve or send on: `hyper::rt::Read` and
/// `hyper::rt::Write`.
///
/// hyper-util equivalent: `TokioIo`. It wraps glassbox's TCP stream only, the one
/// connection type the runtime has.
///
/// ```
/// use executor::hyper::GlassboxIo;
/// use executor::net::{TcpListener, TcpStream};
///
/// executor::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let io = GlassboxIo::new(TcpStream::connect(listener.local_addr().unwrap()).await.unwrap());
///     io.inner().set_nodelay(true).unwrap();
///     let stream: TcpStream = io.into_inner();
///     assert!(stream.peer_addr().is_ok());
/// });
/// ```
#[derive(Debug)]
pub struct GlassboxIo {
    stream: TcpStream,
}

// === impl GlassboxIo ===

impl GlassboxIo {
    /// Wraps `stream` for hyper.
    pub fn new(stream: TcpStream) -> GlassboxIo {
        GlassboxIo { stream }
    }

    /// The stream, for its addresses and options.
    pub fn inner(&self) -> &TcpStream {
        &self.stream
    }

    /// The stream back, for use without hyper.
    pub fn into_inner(self) -> TcpStream {
        self.stream
    }
}

impl Read for GlassboxIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut chunk = [0; READ_CHUNK];
        let want = buf.remaining().min(READ_CHUNK);
        // An empty `want` returns `Ok(0)` at once, which hyper reads as "no room".
        let read = std::task::ready!(self.stream.poll_read(cx, &mut chunk[..want]))?;
        buf.put_slice(&chunk[..read]);
        Poll::Ready(Ok(()))
    }
}

impl Write for GlassboxIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.stream.shutdown(Shutdown::Write))
    }
}
