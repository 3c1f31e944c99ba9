//! `TcpStream::into_split`: one stream cut into an [`OwnedReadHalf`] and an
//! [`OwnedWriteHalf`], so a reading task and a writing task can each own their side.
//!
//! A glassbox stream's methods take `&self`, so an `Rc<TcpStream>` already lets two
//! tasks share one (see the [module docs](crate::net)). The halves are tokio's shape of
//! the same idea, for code written against tokio: each half is an `Rc` of the stream
//! that offers only its own direction, and the type says which task may do what.
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
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

use super::TcpStream;

/// The reading side of a [`TcpStream`], from [`TcpStream::into_split`].
///
/// tokio equivalent: `tokio::net::tcp::OwnedReadHalf`.
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Rc<TcpStream>,
}

/// The writing side of a [`TcpStream`], from [`TcpStream::into_split`]. Dropping it
/// shuts the writing side down; see [`forget`](OwnedWriteHalf::forget).
///
/// tokio equivalent: `tokio::net::tcp::OwnedWriteHalf`.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Rc<TcpStream>,
    /// Cleared by `forget` and `reunite`, which end the half without ending the
    /// stream's outgoing side.
    shutdown_on_drop: bool,
}

/// Two halves of different streams, given back by [`OwnedReadHalf::reunite`].
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

// === impl TcpStream (split) ===

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
        let stream = Rc::new(self);
        let read = OwnedReadHalf {
            stream: Rc::clone(&stream),
        };
        let write = OwnedWriteHalf {
            stream,
            shutdown_on_drop: true,
        };
        (read, write)
    }
}

// === impl OwnedReadHalf ===

impl OwnedReadHalf {
    /// As [`TcpStream::read`]. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf).await
    }

    /// As [`TcpStream::read_exact`]. Not cancel-safe.
    ///
    /// # Errors
    /// What the OS says, and `UnexpectedEof` if the stream ends first.
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.stream.read_exact(buf).await
    }

    /// As [`TcpStream::peek`]. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.peek(buf).await
    }

    /// The address of the other end.
    ///
    /// # Errors
    /// What the OS says.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The address of this end.
    ///
    /// # Errors
    /// What the OS says.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Puts the stream back together from its two halves, or gives them back if they
    /// come from different streams.
    ///
    /// # Errors
    /// [`ReuniteError`], holding both halves, if `write` belongs to another stream.
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Rc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        // The write half goes without shutting anything down; the read half's `Rc`
        // is then the only one left.
        write.shutdown_on_drop = false;
        drop(write);
        let only = Rc::try_unwrap(self.stream);
        Ok(only.expect("glassbox bug: a stream's halves are its only two Rcs"))
    }
}

// === impl OwnedWriteHalf ===

impl OwnedWriteHalf {
    /// As [`TcpStream::write`]. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf).await
    }

    /// As [`TcpStream::write_all`]. Not cancel-safe.
    ///
    /// # Errors
    /// What the OS says, and `WriteZero` if the socket accepts nothing.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.stream.write_all(buf).await
    }

    /// The address of the other end.
    ///
    /// # Errors
    /// What the OS says.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The address of this end.
    ///
    /// # Errors
    /// What the OS says.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Drops the write half without shutting the writing side down: the peer reads
    /// end of stream only when the read half is dropped too (and the socket closes).
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // An error means there is nothing left to shut down (the peer reset the
            // connection, say); a destructor has no one to tell.
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }
}

// === impl ReuniteError ===

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same TcpStream")
    }
}

impl Error for ReuniteError {}
