//! `futures_io::AsyncRead` and `AsyncWrite` for [`TcpStream`] (and `&TcpStream`), behind
//! the `futures-io` cargo feature, so a glassbox stream plugs into the wider
//! ecosystem's readers, writers and codecs (`futures::io::copy`, `BufReader`, …).
//!
//! # Ground rules
//! - These are the same polls as the inherent methods, with the same cancel safety:
//!   one syscall per `Ready`, nothing consumed by a `Pending`.
//! - A poll keeps no state between calls, so it cannot own a waiter entry as an async
//!   `read` does: the stream keeps one per direction for these polls. Several tasks
//!   polling the *same* direction this way wake only the last one to park (as with
//!   tokio); one task reading while another writes is fine.
//! - There is no user-space buffer, so `poll_flush` is always ready; `poll_close` shuts
//!   the writing side down (the peer reads end of stream).

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::TcpStream;

// === impl AsyncRead / AsyncWrite for TcpStream ===

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        TcpStream::poll_read(&self, cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        TcpStream::poll_write(&self, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

// === impl AsyncRead / AsyncWrite for &TcpStream ===
// A shared stream (`&TcpStream`, say out of an `Rc`) reads and writes too, as
// `&std::net::TcpStream` does: one task can copy into it while another copies out.

impl AsyncRead for &TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        TcpStream::poll_read(&self, cx, buf)
    }
}

impl AsyncWrite for &TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        TcpStream::poll_write(&self, cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}
