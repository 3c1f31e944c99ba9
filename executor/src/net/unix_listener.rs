//! `UnixListener`: a Unix-domain socket listening at a filesystem path, whose
//! `accept` parks the task until a connection is queued.
//!
//! # Ground rules
//! - Registered for reading only, as `TcpListener`: a queued connection makes it
//!   readable, and `accept` takes one off the queue only in the poll that returns it.
//! - Binding creates the socket file at the path, and nothing removes it: not closing
//!   the listener, not the end of the process (as with std and tokio). Binding again
//!   where a file was left behind fails with `AddrInUse`; the error names the path
//!   and says so, because the bare OS message ("Address in use") sends people looking
//!   for another process. Remove the file first, once you know nothing listens there.
//! - `from_std` makes the socket non-blocking; `into_std` deregisters it first and
//!   hands back the same fd, still non-blocking.

use std::fmt;
use std::future::Future;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use mio::Interest;

use super::registration::Registration;
use super::unix_address::{bind_error, socket_address};
use super::unix_stream::UnixStream;
use crate::io::reactor::Direction;
use crate::observe::waits::told;

/// A Unix-domain socket listening for connections.
///
/// tokio equivalent: `tokio::net::UnixListener`. asyncio equivalent:
/// `asyncio.start_unix_server` (the server side of it).
///
/// ```
/// use executor::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("glassbox-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("listener.sock");
/// executor::block_on(async {
///     let listener = UnixListener::bind(&path).unwrap();
///     let client = UnixStream::connect(&path).await.unwrap();
///     let (server, _) = listener.accept().await.unwrap();
///     client.write_all(b"hi").await.unwrap();
///     let mut got = [0; 2];
///     server.read_exact(&mut got).await.unwrap();
///     assert_eq!(&got, b"hi");
/// });
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct UnixListener {
    io: Registration<mio::net::UnixListener>,
}

// === impl UnixListener ===

impl UnixListener {
    /// Creates a socket file at `path` and listens on it. Binding never blocks, so
    /// this is not async. On Linux, a `path` that starts with a NUL byte (`"\0name"`)
    /// is an abstract name instead: no file is made.
    ///
    /// # Errors
    /// What the OS says; `AddrInUse`, naming the path, when a file is already there
    /// (a socket left behind by an earlier run, typically); `InvalidInput` for a NUL
    /// byte anywhere but first, saying where.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let address = socket_address(path)?;
        let listener =
            mio::net::UnixListener::bind_addr(&address).map_err(|error| bind_error(path, error))?;
        let io = Registration::new(listener, Interest::READABLE, "UnixListener::bind")?;
        Ok(UnixListener { io })
    }

    /// Takes over a listening std socket and switches it to non-blocking mode, which
    /// the reactor needs.
    ///
    /// # Errors
    /// What the OS says.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        let listener = mio::net::UnixListener::from_std(listener);
        let io = Registration::new(listener, Interest::READABLE, "UnixListener::from_std")?;
        Ok(UnixListener { io })
    }

    /// Hands the listener back as a std listener with the same fd, taken out of the
    /// reactor first. It stays non-blocking, as tokio's does.
    ///
    /// # Errors
    /// None today: the `Result` is tokio's signature, kept so code moves across as is.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(self.io.into_source().into())
    }

    /// Waits for a connection and returns it with the peer's address (usually
    /// unnamed: a client need not bind). Cancel-safe.
    ///
    /// # Errors
    /// What the OS says (too many open files, …).
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(UnixStream, SocketAddr)>> {
        told("UnixListener::accept", async move {
            let accept = self.io.io(Direction::Read, mio::net::UnixListener::accept);
            let (stream, peer) = accept.await?;
            Ok((UnixStream::accepted(stream)?, peer))
        })
    }

    /// The address the listener is bound to: its path.
    ///
    /// # Errors
    /// What the OS says.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.source().local_addr()
    }

    /// The registration, for `AsRawFd`.
    pub(crate) fn registration(&self) -> &Registration<mio::net::UnixListener> {
        &self.io
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("io", &self.io)
            .finish()
    }
}
