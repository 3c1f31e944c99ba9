//! [`GlassboxIo`]: a [`TcpStream`] or a [`UnixStream`] seen through hyper's I/O traits,
//! `hyper::rt::Read` and `hyper::rt::Write`.
//!
//! # Ground rules
//! - Each poll is the stream's own `poll_read` or `poll_write` (`net/stream.rs`, shared
//!   by both stream types, whose impls here are one macro's two expansions): one syscall per
//!   `Ready`, nothing consumed by a `Pending`, and the task parked in the reactor in
//!   between (the same contract as the `futures-io` impls in `net/futures_io.rs`).
//! - hyper's `ReadBufCursor` may point at uninitialised memory. Safe code cannot pass
//!   that to `read(2)`, and the crate keeps `unsafe` to the few files that need it, so
//!   a read goes into the thread's [`READ_CHUNK`]-byte scratch buffer, zeroed once per
//!   thread, and `put_slice` copies what arrived: a `memcpy` of the bytes read, which
//!   the syscall dwarfs. (A buffer on the stack would be zeroed on every poll, ready or
//!   not: 16 KiB of `memset` per keep-alive request, a fifth of hello world's time.)
//!   A zero-copy read would need an `unsafe` call to `cursor.advance(n)`.
//! - Vectored writes are real: `poll_write_vectored` is one `writev(2)`, so hyper
//!   sends a response's head and body without first copying them together.
//! - There is no user-space write buffer, so `poll_flush` is always ready;
//!   `poll_shutdown` shuts the writing side down, and the peer reads end of stream.

use std::cell::RefCell;
use std::io::{self, Read as _};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};

use crate::net::TcpStream;
#[cfg(unix)]
use crate::net::UnixStream;

/// The most one `poll_read` asks of the socket: hyper's first read buffer is this
/// size too, and larger bodies arrive in more reads rather than a bigger buffer.
const READ_CHUNK: usize = 8 * 1024;

thread_local! {
    /// Where reads land before hyper's buffer: one per thread, as a runtime is.
    static SCRATCH: RefCell<[u8; READ_CHUNK]> = const { RefCell::new([0; READ_CHUNK]) };
}

/// A [`TcpStream`] (or a [`UnixStream`]: `GlassboxIo<UnixStream>`) that hyper can
/// serve or send on: `hyper::rt::Read` and `hyper::rt::Write`.
///
/// hyper-util equivalent: `TokioIo`, which wraps anything tokio can read; this wraps
/// glassbox's two stream types.
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
pub struct GlassboxIo<S = TcpStream> {
    stream: S,
}

// === impl GlassboxIo ===

impl<S> GlassboxIo<S> {
    /// Wraps `stream` for hyper.
    pub fn new(stream: S) -> GlassboxIo<S> {
        GlassboxIo { stream }
    }

    /// The stream, for its addresses and options.
    pub fn inner(&self) -> &S {
        &self.stream
    }

    /// The stream back, for use without hyper.
    pub fn into_inner(self) -> S {
        self.stream
    }
}

/// hyper's `Read` and `Write` for `GlassboxIo` over one stream type.
macro_rules! hyper_io_for {
    ($stream:ty) => {
        impl Read for GlassboxIo<$stream> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                mut buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                let want = buf.remaining().min(READ_CHUNK);
                // An empty `want` returns `Ok(0)` at once, which hyper reads as "no
                // room". The scratch buffer is borrowed only for the syscall and the
                // copy, which run no code of anyone else's, so the borrow is never
                // taken twice.
                let registration = self.stream.registration();
                let read = registration.poll_read_with(cx, want, |mut socket| {
                    SCRATCH.with_borrow_mut(|chunk| {
                        let read = socket.read(&mut chunk[..want])?;
                        buf.put_slice(&chunk[..read]);
                        Ok(read)
                    })
                });
                read.map_ok(drop)
            }
        }

        impl Write for GlassboxIo<$stream> {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.stream.registration().poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.stream.registration().poll_write_vectored(cx, bufs)
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
    };
}

hyper_io_for!(TcpStream);
#[cfg(unix)]
hyper_io_for!(UnixStream);
