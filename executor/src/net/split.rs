//! `into_split`: one stream cut into an [`OwnedReadHalf`] and an [`OwnedWriteHalf`],
//! so a reading task and a writing task can each own their side. Written once for
//! both stream types: `TcpStream::into_split` and `UnixStream::into_split`.
//!
//! A glassbox stream's methods take `&self`, so an `Rc<TcpStream>` already lets two
//! tasks share one (see the [module docs](crate::net)). The halves are tokio's shape of
//! the same idea, for code written against tokio: each half is an `Rc` of the stream
//! that offers only its own direction, and the type says which task may do what.
//!
//! The halves are generic over the stream, with `TcpStream` as the default:
//! `OwnedReadHalf` is TCP's, `OwnedReadHalf<UnixStream>` the Unix stream's (tokio's
//! `tokio::net::tcp::OwnedReadHalf` and `tokio::net::unix::OwnedReadHalf`). What a
//! half can do is one macro's expansion per stream type, as in `hyper/io.rs`.
//!
//! # Ground rules
//! - The halves share one registration: the reader parks on the read waiter list, the
//!   writer on the write list, and neither wakes the other.
//! - Dropping the write half shuts the writing side down (the peer reads end of
//!   stream), as tokio's does: a writer task that finishes ends the conversation's
//!   outgoing side without anyone calling `shutdown`. `forget` drops it without that.
//! - The socket closes when the last half is dropped; `reunite` gives the stream back
//!   only for two halves of the same stream.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::rc::Rc;

use super::TcpStream;
#[cfg(unix)]
use super::UnixStream;

/// The reading side of a stream, from [`TcpStream::into_split`] (or
/// [`UnixStream::into_split`]: `OwnedReadHalf<UnixStream>`).
///
/// tokio equivalent: `tokio::net::tcp::OwnedReadHalf` (`tokio::net::unix::OwnedReadHalf`).
#[derive(Debug)]
pub struct OwnedReadHalf<S = TcpStream> {
    stream: Rc<S>,
}

/// The writing side of a stream, from [`TcpStream::into_split`] (or
/// [`UnixStream::into_split`]). Dropping it shuts the writing side down; see
/// [`forget`](OwnedWriteHalf::forget).
///
/// tokio equivalent: `tokio::net::tcp::OwnedWriteHalf` (`tokio::net::unix::OwnedWriteHalf`).
pub struct OwnedWriteHalf<S = TcpStream> {
    stream: Rc<S>,
    /// The stream's `shutdown`, run on drop; `None` after `forget` and `reunite`, which
    /// end the half without ending the stream's outgoing side. A function rather than
    /// a trait bound, so that `Drop` holds for any `S`.
    shutdown_on_drop: Option<fn(&S, Shutdown) -> io::Result<()>>,
}

/// Two halves of different streams, given back by [`OwnedReadHalf::reunite`].
#[derive(Debug)]
pub struct ReuniteError<S = TcpStream>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

/// Cuts `stream` into its halves; `shutdown` is the stream's own, for the write half's
/// drop.
fn split<S>(
    stream: S,
    shutdown: fn(&S, Shutdown) -> io::Result<()>,
) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let stream = Rc::new(stream);
    let read = OwnedReadHalf {
        stream: Rc::clone(&stream),
    };
    let write = OwnedWriteHalf {
        stream,
        shutdown_on_drop: Some(shutdown),
    };
    (read, write)
}

// === impl TcpStream, UnixStream (split) ===

impl TcpStream {
    /// Cuts the stream into a read half and a write half that separate tasks can own.
    /// Cheap: one `Rc`, no syscall.
    ///
    /// ```
    /// use executor::net::{TcpListener, TcpStream};
    ///
    /// executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (server, _) = listener.accept().await.unwrap();
    ///     let (reader, writer) = client.into_split();
    ///     let sender = executor::spawn(async move { writer.write_all(b"hi").await });
    ///     let mut echo = [0; 2];
    ///     server.read_exact(&mut echo).await.unwrap();
    ///     server.write_all(&echo).await.unwrap();
    ///     reader.read_exact(&mut echo).await.unwrap();
    ///     assert_eq!(&echo, b"hi");
    ///     sender.await.unwrap().unwrap();
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split(self, TcpStream::shutdown)
    }
}

#[cfg(unix)]
impl UnixStream {
    /// Cuts the stream into a read half and a write half that separate tasks can own,
    /// as [`TcpStream::into_split`]. Cheap: one `Rc`, no syscall.
    ///
    /// ```
    /// use executor::net::UnixStream;
    ///
    /// executor::block_on(async {
    ///     let (ours, theirs) = UnixStream::pair().unwrap();
    ///     let (reader, writer) = ours.into_split();
    ///     writer.write_all(b"ping").await.unwrap();
    ///     drop(writer); // shuts our writing side down
    ///     let mut got = Vec::new();
    ///     let mut buf = [0; 8];
    ///     loop {
    ///         match theirs.read(&mut buf).await.unwrap() {
    ///             0 => break, // end of stream
    ///             read => got.extend_from_slice(&buf[..read]),
    ///         }
    ///     }
    ///     assert_eq!(got, b"ping");
    ///     theirs.write_all(b"pong").await.unwrap();
    ///     reader.read_exact(&mut buf[..4]).await.unwrap();
    ///     assert_eq!(&buf[..4], b"pong");
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf<UnixStream>, OwnedWriteHalf<UnixStream>) {
        split(self, UnixStream::shutdown)
    }
}

// === impl OwnedReadHalf, OwnedWriteHalf ===

/// What each half of a `$stream` can do, forwarding to the stream (whose methods say
/// more); `$addr` is its address type.
macro_rules! halves_of {
    ($stream:ty, $addr:ty) => {
        impl OwnedReadHalf<$stream> {
            /// As the stream's `read`. Cancel-safe.
            ///
            /// # Errors
            /// What the OS says.
            #[track_caller]
            pub fn read(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
                self.stream.read(buf)
            }

            /// As the stream's `read_exact`. Not cancel-safe.
            ///
            /// # Errors
            /// What the OS says, and `UnexpectedEof` if the stream ends first.
            #[track_caller]
            pub fn read_exact(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<()>> {
                self.stream.read_exact(buf)
            }

            /// The address of the other end.
            ///
            /// # Errors
            /// What the OS says.
            pub fn peer_addr(&self) -> io::Result<$addr> {
                self.stream.peer_addr()
            }

            /// The address of this end.
            ///
            /// # Errors
            /// What the OS says.
            pub fn local_addr(&self) -> io::Result<$addr> {
                self.stream.local_addr()
            }
        }

        impl OwnedWriteHalf<$stream> {
            /// As the stream's `write`. Cancel-safe.
            ///
            /// # Errors
            /// What the OS says.
            #[track_caller]
            pub fn write(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
                self.stream.write(buf)
            }

            /// As the stream's `write_all`. Not cancel-safe.
            ///
            /// # Errors
            /// What the OS says, and `WriteZero` if the socket accepts nothing.
            #[track_caller]
            pub fn write_all(&self, buf: &[u8]) -> impl Future<Output = io::Result<()>> {
                self.stream.write_all(buf)
            }

            /// The address of the other end.
            ///
            /// # Errors
            /// What the OS says.
            pub fn peer_addr(&self) -> io::Result<$addr> {
                self.stream.peer_addr()
            }

            /// The address of this end.
            ///
            /// # Errors
            /// What the OS says.
            pub fn local_addr(&self) -> io::Result<$addr> {
                self.stream.local_addr()
            }
        }
    };
}

halves_of!(TcpStream, std::net::SocketAddr);
#[cfg(unix)]
halves_of!(UnixStream, std::os::unix::net::SocketAddr);

impl OwnedReadHalf<TcpStream> {
    /// As [`TcpStream::peek`]. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says.
    #[track_caller]
    pub fn peek(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        self.stream.peek(buf)
    }
}

impl<S> OwnedReadHalf<S> {
    /// Puts the stream back together from its two halves, or gives them back if they
    /// come from different streams.
    ///
    /// # Errors
    /// [`ReuniteError`], holding both halves, if `write` belongs to another stream.
    pub fn reunite(self, mut write: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Rc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        // The write half goes without shutting anything down; the read half's `Rc`
        // is then the only one left.
        write.shutdown_on_drop = None;
        drop(write);
        let only = Rc::try_unwrap(self.stream);
        let only = only.ok();
        Ok(only.expect("glassbox bug: a stream's halves are its only two Rcs"))
    }
}

impl<S> OwnedWriteHalf<S> {
    /// Drops the write half without shutting the writing side down: the peer reads
    /// end of stream only when the read half is dropped too (and the socket closes).
    pub fn forget(mut self) {
        self.shutdown_on_drop = None;
    }
}

impl<S> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown_on_drop {
            // An error means there is nothing left to shut down (the peer reset the
            // connection, say); a destructor has no one to tell.
            let _ = shutdown(&self.stream, Shutdown::Write);
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for OwnedWriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedWriteHalf")
            .field("stream", &self.stream)
            .field("shutdown_on_drop", &self.shutdown_on_drop.is_some())
            .finish()
    }
}

// === impl ReuniteError ===

impl<S> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl<S: fmt::Debug> Error for ReuniteError<S> {}
