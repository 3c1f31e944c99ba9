//! Sockets and file descriptors driven by the runtime's reactor.
//!
//! | type | what it is | file |
//! |---|---|---|
//! | [`TcpListener`], [`TcpStream`] | TCP; [`TcpStream::into_split`] gives [`OwnedReadHalf`] and [`OwnedWriteHalf`] | `tcp_listener.rs`, `tcp_stream.rs`, `split.rs` |
//! | [`UdpSocket`] | UDP datagrams | `udp.rs` |
//! | [`UnixListener`], [`UnixStream`], [`UnixDatagram`] | Unix-domain sockets, addressed by path; [`UnixStream::into_split`] gives `OwnedReadHalf<UnixStream>` and `OwnedWriteHalf<UnixStream>` (or, on Linux, by an abstract name: `"\0name"`) | `unix_listener.rs`, `unix_stream.rs`, `unix_datagram.rs`, `unix_address.rs`, `split.rs` |
//! | [`AsyncFd`] | any non-blocking fd (a pipe, an eventfd, …): you make the syscalls | `async_fd.rs` |
//!
//! Behind them: `registration.rs` (a source's place in the reactor, and the `Io`
//! future every operation is), `stream.rs` (reads and writes, written once for TCP and
//! Unix streams), `split.rs` (a stream's owned halves, for both kinds),
//! `unix_address.rs` (a path or an abstract name as a socket address), `fd_source.rs`
//! (any fd as a mio source), `conversions.rs` (`AsRawFd`, `AsFd`). Every type converts from and
//! into its std counterpart (`from_std`, `into_std`), keeping the same fd.
//!
//! Each socket is a non-blocking mio socket registered with the reactor of the runtime
//! it was created in (see `io/reactor.rs` for the readiness contract). One `read().await`,
//! end to end:
//!
//! ```text
//! task polls read ─► recv() says WouldBlock ─► readiness cleared, waker parked
//!     in the socket's reactor slot ─► Pending ─► the task is parked
//! bytes arrive ─► epoll reports the token ─► Reactor::park (run_once phase 3) marks
//!     the slot readable and wakes the waker ─► task back on the ready queue
//! task polled again ─► recv() returns the bytes ─► Ready
//! ```
//!
//! # Methods take `&self`
//!
//! tokio's `TcpStream::read` takes `&mut self`; glassbox's take `&self`, as
//! `std::io::Read` is implemented for `&std::net::TcpStream`. On one thread that
//! costs nothing and buys sharing: put a stream in an `Rc` and one task can read while
//! another writes, with no `split()` (`into_split` exists too, in tokio's shape). The reactor keeps separate waiter lists for
//! reading and writing, so both can wait at once; several tasks may even wait in the
//! same direction (each is woken, and whoever calls the syscall first gets the data).
//! Each waiting call owns its entry in the list and takes it out when it returns or
//! is dropped, so a read that a timeout cuts short leaves nothing behind.
//!
//! # Cancel safety
//!
//! `accept`, `read`, `write`, `send`, `recv`, `send_to` and `recv_from` are one
//! syscall each, made only in the poll that returns `Ready`: dropping a pending call
//! loses no connection and no byte, and retrying is always safe. `write_all` and
//! `read_exact` loop, so a dropped one may have moved part of the buffer (as in tokio).
//!
//! # No name resolution
//!
//! TCP and UDP take a [`SocketAddr`](std::net::SocketAddr), Unix sockets a path. Resolving a host name
//! (`"example.com:80".to_socket_addrs()`) is a *blocking* call that may wait on DNS
//! for seconds, so it does not belong on the loop: run it with `spawn_blocking` and
//! pass the address it returns. Binding never blocks, so `bind` is not async.
//!
//! A socket must be created inside a runtime (it registers with that runtime's
//! reactor) and used only there; used after its runtime is dropped, every operation
//! fails with an error rather than waiting forever.
//!
//! ```
//! use executor::net::{TcpListener, TcpStream};
//!
//! executor::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
//!     let addr = listener.local_addr()?;
//!     let server = executor::spawn(async move {
//!         let (stream, _peer) = listener.accept().await?;
//!         let mut buf = [0; 5];
//!         stream.read_exact(&mut buf).await?;
//!         stream.write_all(&buf).await // echo it back
//!     });
//!     let client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello").await?;
//!     let mut echo = [0; 5];
//!     client.read_exact(&mut echo).await?;
//!     assert_eq!(&echo, b"hello");
//!     server.await.unwrap()
//! })
//! .unwrap();
//! ```

#[cfg(unix)]
#[allow(unsafe_code)] // one fcntl(F_GETFL): is the fd non-blocking? (see the file)
mod async_fd;
#[cfg(unix)]
mod conversions;
#[cfg(unix)]
mod fd_source;
#[cfg(feature = "futures-io")]
mod futures_io;
pub(crate) mod registration;
mod split;
mod stream;
mod tcp_listener;
mod tcp_stream;
mod udp;
#[cfg(unix)]
mod unix_address;
#[cfg(unix)]
mod unix_datagram;
#[cfg(unix)]
mod unix_listener;
#[cfg(unix)]
mod unix_stream;

#[cfg(unix)]
pub use async_fd::{AsyncFd, AsyncFdReadyGuard, Ready, TryIoError};
/// Which directions an [`AsyncFd`] is registered for: mio's own type, re-exported,
/// since the reactor is mio (`Interest::READABLE | Interest::WRITABLE`, as tokio's
/// `Interest` is written).
pub use mio::Interest;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use tcp_listener::TcpListener;
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix_datagram::UnixDatagram;
#[cfg(unix)]
pub use unix_listener::UnixListener;
#[cfg(unix)]
pub use unix_stream::UnixStream;
