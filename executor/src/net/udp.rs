//! `UdpSocket`: datagrams; `send*` and `recv*` park the task until the reactor reports
//! the socket ready.
//!
//! # Ground rules
//! - One datagram per call: `recv`/`recv_from` take exactly one off the queue, in the
//!   poll that returns it (cancel-safe); a datagram longer than the buffer is truncated
//!   by the OS, as with std.
//! - An asynchronous error (an ICMP "port unreachable" after `send` on a connected
//!   socket) arrives as an error event, which wakes both directions; the pending call
//!   retries and returns the error (`ConnectionRefused`).
//! - `from_std` makes the socket non-blocking; `into_std` deregisters it first and
//!   hands back the same fd, still non-blocking.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;

use mio::Interest;

use super::registration::Registration;
use crate::io::reactor::Direction;
use crate::observe::waits::told;

/// A UDP socket.
///
/// tokio equivalent: `tokio::net::UdpSocket`. asyncio equivalent:
/// `loop.create_datagram_endpoint`.
///
/// ```
/// use executor::net::UdpSocket;
///
/// executor::block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
///     a.send_to(b"hi", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0; 16];
///     let (len, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!((&buf[..len], from), (&b"hi"[..], a.local_addr().unwrap()));
/// });
/// ```
pub struct UdpSocket {
    io: Registration<mio::net::UdpSocket>,
}

// === impl UdpSocket ===

impl UdpSocket {
    /// Binds to `addr` (port 0 picks a free port). Binding never blocks, so this is not
    /// async.
    ///
    /// # Errors
    /// What the OS says: the address is in use, not local, or not permitted.
    ///
    /// # Panics
    /// Outside a runtime: the socket registers with the current runtime's reactor.
    #[track_caller]
    pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
        let socket = mio::net::UdpSocket::bind(addr)?;
        let interest = Interest::READABLE | Interest::WRITABLE;
        Ok(UdpSocket {
            io: Registration::new(socket, interest, "UdpSocket::bind")?,
        })
    }

    /// Takes over a std socket and switches it to non-blocking mode, which the reactor
    /// needs.
    ///
    /// # Errors
    /// What the OS says.
    ///
    /// # Panics
    /// Outside a runtime: the socket registers with the current runtime's reactor.
    #[track_caller]
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        let socket = mio::net::UdpSocket::from_std(socket);
        let interest = Interest::READABLE | Interest::WRITABLE;
        Ok(UdpSocket {
            io: Registration::new(socket, interest, "UdpSocket::from_std")?,
        })
    }

    /// Hands the socket back as a std socket with the same fd, taken out of the
    /// reactor first. It stays non-blocking, as tokio's does: call
    /// `set_nonblocking(false)` before blocking on it.
    ///
    /// # Errors
    /// None today: the `Result` is tokio's signature, kept so code moves across as is.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(self.io.into_source().into())
    }

    /// Sets the default destination for [`send`](UdpSocket::send) and accepts
    /// datagrams from `addr` only. It does not block (UDP has no handshake); it is
    /// async to match tokio.
    ///
    /// # Errors
    /// What the OS says.
    #[track_caller]
    pub fn connect(&self, addr: SocketAddr) -> impl Future<Output = io::Result<()>> {
        told("UdpSocket::connect", async move {
            self.io.source().connect(addr)
        })
    }

    /// Sends one datagram to the connected address; returns its length. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says; `ConnectionRefused` if an earlier datagram bounced.
    #[track_caller]
    pub fn send(&self, buf: &[u8]) -> impl Future<Output = io::Result<usize>> {
        told("UdpSocket::send", async move {
            self.io
                .io(Direction::Write, |socket| socket.send(buf))
                .await
        })
    }

    /// Receives one datagram from the connected address; returns its length.
    /// Cancel-safe.
    ///
    /// # Errors
    /// What the OS says; `ConnectionRefused` if a datagram sent earlier bounced (ICMP
    /// port unreachable).
    #[track_caller]
    pub fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        told("UdpSocket::recv", async move {
            self.io.io(Direction::Read, |socket| socket.recv(buf)).await
        })
    }

    /// Sends one datagram to `target`; returns its length. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says.
    #[track_caller]
    pub fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> {
        told("UdpSocket::send_to", async move {
            self.io
                .io(Direction::Write, |socket| socket.send_to(buf, target))
                .await
        })
    }

    /// Receives one datagram; returns its length and sender. Cancel-safe.
    ///
    /// # Errors
    /// What the OS says.
    #[track_caller]
    pub fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> {
        told("UdpSocket::recv_from", async move {
            self.io
                .io(Direction::Read, |socket| socket.recv_from(buf))
                .await
        })
    }

    /// The address the socket is bound to (with the port the OS chose for port 0).
    ///
    /// # Errors
    /// What the OS says.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().local_addr()
    }

    /// The registration, for `AsRawFd`.
    pub(crate) fn registration(&self) -> &Registration<mio::net::UdpSocket> {
        &self.io
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket").field("io", &self.io).finish()
    }
}
