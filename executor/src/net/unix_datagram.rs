//! `UnixDatagram`: a Unix-domain datagram socket; `send*` and `recv*` park the task
//! until the reactor reports it ready. `UdpSocket`'s rules, addressed by paths.
//!
//! # Ground rules
//! - One datagram per call, taken off the queue only in the poll that returns it
//!   (cancel-safe). Unlike UDP, Unix datagrams are reliable and ordered: a full
//!   receiver makes the sender wait (write readiness), it never drops a datagram.
//! - Datagram calls are not stream transfers: one shorter than the buffer says nothing
//!   about the next, so they never clear readiness early (the reactor's rule 3).
//! - `bind` leaves a socket file behind, as `UnixListener::bind` does, and a second
//!   bind at that path fails with `AddrInUse` naming it. A path that starts with NUL
//!   is a Linux abstract name, for `bind`, `connect` and `send_to` alike
//!   (`unix_address.rs`).
//! - The socket is std's, registered by its fd (`FdSource`): mio's has no calls that
//!   take an abstract address.
//! - `from_std` makes the socket non-blocking; `into_std` deregisters it first and
//!   hands back the same fd, still non-blocking.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use mio::Interest;

use super::fd_source::FdSource;
use super::registration::Registration;
use super::unix_address::{bind_error, socket_address};
use crate::io::reactor::Direction;
use crate::observe::waits::told;

/// std's socket, registered by its fd.
type Socket = FdSource<std::os::unix::net::UnixDatagram>;

/// A Unix-domain datagram socket.
///
/// tokio equivalent: `tokio::net::UnixDatagram`. asyncio equivalent:
/// `loop.create_datagram_endpoint(family=socket.AF_UNIX)`.
///
/// ```
/// use executor::net::UnixDatagram;
///
/// executor::block_on(async {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     a.send(b"one").await.unwrap();
///     let mut buf = [0; 16];
///     let len = b.recv(&mut buf).await.unwrap();
///     assert_eq!(&buf[..len], b"one");
/// });
/// ```
pub struct UnixDatagram {
    io: Registration<Socket>,
}

// === impl UnixDatagram ===

impl UnixDatagram {
    /// Creates a socket file at `path` and binds to it (on Linux, binds to an abstract
    /// name if `path` starts with a NUL byte: `"\0name"`).
    ///
    /// # Errors
    /// What the OS says; `AddrInUse`, naming the path, when a file is already there;
    /// `InvalidInput` for a NUL byte anywhere but first, saying where.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let address = socket_address(path)?;
        let socket = std::os::unix::net::UnixDatagram::bind_addr(&address)
            .map_err(|error| bind_error(path, error))?;
        UnixDatagram::register(socket, "UnixDatagram::bind")
    }

    /// A socket bound to no path: it can send (to a path, or once connected) but no
    /// one can address a reply to it.
    ///
    /// # Errors
    /// What the OS says.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn unbound() -> io::Result<UnixDatagram> {
        let socket = std::os::unix::net::UnixDatagram::unbound()?;
        UnixDatagram::register(socket, "UnixDatagram::unbound")
    }

    /// Two sockets connected to each other (`socketpair(2)`).
    ///
    /// # Errors
    /// What the OS says.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        let a = UnixDatagram::register(a, "UnixDatagram::pair")?;
        let b = UnixDatagram::register(b, "UnixDatagram::pair")?;
        Ok((a, b))
    }

    /// Takes over a std socket and switches it to non-blocking mode, which the
    /// reactor needs.
    ///
    /// # Errors
    /// What the OS says.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::register(socket, "UnixDatagram::from_std")
    }

    /// Hands the socket back as a std socket with the same fd, taken out of the
    /// reactor first. It stays non-blocking, as tokio's does.
    ///
    /// # Errors
    /// None today: the `Result` is tokio's signature, kept so code moves across as is.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        Ok(self.io.into_source().0)
    }

    /// Makes `socket` non-blocking, which the reactor needs, and registers it.
    #[track_caller]
    fn register(
        socket: std::os::unix::net::UnixDatagram,
        what: &'static str,
    ) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        let interest = Interest::READABLE | Interest::WRITABLE;
        Ok(UnixDatagram {
            io: Registration::new(FdSource(socket), interest, what)?,
        })
    }

    /// std's socket, for the calls that never block.
    fn socket(&self) -> &std::os::unix::net::UnixDatagram {
        &self.io.source().0
    }

    /// Sets the default destination for [`send`](UnixDatagram::send) and accepts
    /// datagrams from `path` only. Not async, as tokio's is not: a local connect
    /// never waits.
    ///
    /// # Errors
    /// What the OS says (`NotFound`, `ConnectionRefused`); `InvalidInput` for a NUL
    /// byte anywhere but first in `path`, saying where.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.socket().connect_addr(&socket_address(path.as_ref())?)
    }

    /// Sends one datagram to the connected address; returns its length. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says (`NotConnected`, `ConnectionRefused` once the peer is gone).
    #[track_caller]
    pub fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        told("UnixDatagram::send", async move {
            self.io
                .io(Direction::Write, |socket| socket.0.send(buf))
                .await
        })
    }

    /// Receives one datagram; returns its length. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says.
    #[track_caller]
    pub fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        told("UnixDatagram::recv", async move {
            let recv = self.io.io(Direction::Read, |socket| socket.0.recv(buf));
            recv.await
        })
    }

    /// Sends one datagram to the socket bound at `path`; returns its length.
    /// Cancel-safe.
    ///
    /// # Errors
    /// What the OS says (`NotFound`, `ConnectionRefused` when nothing is bound there);
    /// `InvalidInput` for a NUL byte anywhere but first in `path`, saying where.
    #[track_caller]
    pub fn send_to(
        &self,
        buf: &[u8],
        path: impl AsRef<Path>,
    ) -> impl Future<Output = io::Result<usize>> {
        told("UnixDatagram::send_to", async move {
            let address = socket_address(path.as_ref())?;
            self.io
                .io(Direction::Write, |socket| {
                    socket.0.send_to_addr(buf, &address)
                })
                .await
        })
    }

    /// Receives one datagram; returns its length and the sender's address (unnamed if
    /// the sender is unbound). Cancel-safe.
    ///
    /// # Errors
    /// What the OS says.
    #[track_caller]
    pub fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> {
        told("UnixDatagram::recv_from", async move {
            self.io
                .io(Direction::Read, |socket| socket.0.recv_from(buf))
                .await
        })
    }

    /// Shuts down receiving, sending or both, and wakes the tasks parked on this
    /// socket in those directions so they retry and hear the OS's answer.
    ///
    /// # Errors
    /// What the OS says.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.socket().shutdown(how)?;
        self.io.wake_after_shutdown(how);
        Ok(())
    }

    /// The address this socket is bound to (unnamed if it is not).
    ///
    /// # Errors
    /// What the OS says.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket().local_addr()
    }

    /// The address this socket is connected to.
    ///
    /// # Errors
    /// What the OS says (`NotConnected`).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket().peer_addr()
    }

    /// The registration, for `AsRawFd`.
    pub(crate) fn registration(&self) -> &Registration<Socket> {
        &self.io
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("io", &self.io)
            .finish()
    }
}
