//! `futures_io::AsyncRead` and `AsyncWrite` for [`TcpStream`] and [`UnixStream`] (and
//! their shared references), behind the `futures-io` cargo feature, so a glassbox
//! stream plugs into the wider ecosystem's readers, writers and codecs
//! (`futures::io::copy`, `BufReader`, …).
//!
//! # Ground rules
//! - These are the same polls as the inherent methods (`stream.rs`), with the same
//!   cancel safety: one syscall per `Ready`, nothing consumed by a `Pending`.
//! - A poll keeps no state between calls, so it cannot own a waiter entry as an async
//!   `read` does: the stream keeps one per direction for these polls. Several tasks
//!   polling the *same* direction this way wake only the last one to park (as with
//!   tokio); one task reading while another writes is fine.
//! - There is no user-space buffer, so `poll_flush` is always ready; `poll_close` shuts
//!   the writing side down (the peer reads end of stream).
//! - A shared stream (`&TcpStream`, say out of an `Rc`) reads and writes too, as
//!   `&std::net::TcpStream` does: one task can copy into it while another copies out.

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::TcpStream;
#[cfg(unix)]
use super::UnixStream;

/// `AsyncRead` and `AsyncWrite` for a stream type and for a shared reference to it,
/// forwarding to the stream's registration (`stream.rs`).
macro_rules! futures_io_for {
    ($($stream:ty),* $(,)?) => {$(
        impl AsyncRead for $stream {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.registration().poll_read(cx, buf)
            }
        }

        impl AsyncWrite for $stream {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.registration().poll_write(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.shutdown(Shutdown::Write))
            }
        }
    )*};
}

futures_io_for!(TcpStream, &TcpStream);
#[cfg(unix)]
futures_io_for!(UnixStream, &UnixStream);
