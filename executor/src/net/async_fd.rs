//! `AsyncFd<T>`: any file descriptor on the reactor, for the things glassbox has no
//! type for (a pipe, an eventfd, a timerfd, a tty, a netlink socket, a device). The
//! net types are this same machinery with the syscalls written in; here the caller
//! writes them.
//!
//! ```text
//! fd.readable().await ─► Reactor::poll_ready(token, Read) ─► Pending until an edge
//!       │ Ready (the reactor remembers "readable")
//!       ▼
//! guard.try_io(|fd| read(fd)) ─► data ─► Ok(Ok(n)); readiness kept: there may be more
//!       └─► WouldBlock ─► guard.clear_ready() ─► Err(TryIoError): wait for the next edge
//! ```
//!
//! # Why `clear_ready` exists
//!
//! mio registers the fd edge-triggered: the OS says "readable" once, when the fd turns
//! readable, not again for as long as it stays so. The reactor therefore *remembers*
//! readiness per direction (its rule 1), and forgets it only when a syscall proves the
//! fd drained (rule 3): a `WouldBlock`. For a socket, glassbox makes that syscall and
//! clears readiness itself. Here only the caller knows what its syscall said, so the
//! caller must tell the reactor, and `clear_ready` is how:
//!
//! - `try_io` does it for you: a closure that returns `WouldBlock` clears readiness
//!   and comes back as `Err(TryIoError)`, meaning "wait again".
//! - Forget to clear after draining, and `readable()` returns at once for ever: the
//!   task spins on `WouldBlock`, never parking.
//! - Clear *without* draining (the fd still holds data) and the task hangs: the OS owes
//!   no new edge for data that was already there. Clear only after a `WouldBlock`.
//!
//! Dropping a guard leaves readiness as it is, so the next `readable()` returns at
//! once: right after a read that may have left more behind.
//!
//! # Ground rules
//! - The fd must be non-blocking. With a blocking fd, a read after a spurious or
//!   stale readiness would block the loop's one thread, and every task with it; so
//!   `new` checks `O_NONBLOCK` and refuses a blocking fd (tokio accepts it, and leaves
//!   the hang to you).
//! - `new` fails with an error that says why when the poller refuses the fd: epoll
//!   refuses regular files and directories (`EPERM`: they are always ready, so there
//!   is nothing to wait for; read them with `spawn_blocking`), and an fd that is
//!   already registered (`EEXIST`: another `AsyncFd`, or a glassbox socket, owns it).
//! - `readable()` and `writable()` consume nothing: each is an `Io` whose operation is
//!   empty, so it is cancel-safe and resolves as soon as the direction is remembered
//!   ready. Asking for a direction the fd was not registered for is an error, not a
//!   wait that no event would end.
//! - `AsyncFd` owns `T`: dropping it deregisters the fd, then drops `T` (which closes
//!   it, if `T` owns it). `into_inner` deregisters and hands `T` back. Do not close or
//!   replace the fd through `get_mut` while it is registered.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::registration::Registration;
use crate::reactor::Direction;

/// A file descriptor driven by the runtime's reactor: wait for it to turn readable or
/// writable, then make the non-blocking syscall yourself.
///
/// Readiness is edge-triggered and remembered: once the fd is ready, every wait
/// returns at once until a syscall says `WouldBlock` and readiness is cleared
/// ([`try_io`](AsyncFdReadyGuard::try_io) does both). The fd must be non-blocking.
///
/// tokio equivalent: `tokio::io::unix::AsyncFd`. asyncio equivalent:
/// `loop.add_reader(fd, callback)` / `add_writer`.
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use executor::net::AsyncFd;
///
/// executor::block_on(async {
///     let (reader, mut writer) = UnixStream::pair().unwrap();
///     reader.set_nonblocking(true).unwrap();
///     let reader = AsyncFd::new(reader).unwrap();
///     writer.write_all(b"hi").unwrap();
///     let mut buf = [0; 8];
///     let read = loop {
///         let mut guard = reader.readable().await.unwrap();
///         // `WouldBlock` clears readiness and says "wait again".
///         if let Ok(result) = guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
///             break result.unwrap();
///         }
///     };
///     assert_eq!(&buf[..read], b"hi");
/// });
/// ```
pub struct AsyncFd<T: AsRawFd> {
    io: Registration<FdSource<T>>,
    interest: Interest,
}

/// Proof that an [`AsyncFd`] was ready in one direction, from
/// [`readable`](AsyncFd::readable) or [`writable`](AsyncFd::writable). Make the
/// syscall through [`try_io`](AsyncFdReadyGuard::try_io), or call
/// [`clear_ready`](AsyncFdReadyGuard::clear_ready) after one said `WouldBlock`.
///
/// tokio equivalent: `tokio::io::unix::AsyncFdReadyGuard`.
#[derive(Debug)]
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    async_fd: &'a AsyncFd<T>,
    direction: Direction,
}

/// [`AsyncFdReadyGuard::try_io`]'s "the fd was not ready after all": readiness has been
/// cleared; wait for it again.
///
/// tokio equivalent: `tokio::io::unix::TryIoError`.
#[derive(Debug)]
pub struct TryIoError(());

/// `T` as a mio `Source`: registered by its raw fd.
#[derive(Debug)]
struct FdSource<T>(T);

// === impl AsyncFd ===

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s fd for reading and writing.
    ///
    /// # Errors
    /// `PermissionDenied` for a file epoll cannot watch (a regular file, a directory),
    /// `AlreadyExists` for an fd already registered, `InvalidInput` for a blocking fd;
    /// each message says what to do. `inner` is dropped.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `inner`'s fd for the directions in `interest` only: say
    /// `Interest::READABLE` for a read end that is never written to.
    ///
    /// # Errors
    /// As [`new`](AsyncFd::new).
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        let fd = inner.as_raw_fd();
        let io = Registration::new(FdSource(inner), interest, "AsyncFd::new")
            .map_err(|error| refused(fd, error))?;
        if !is_nonblocking(fd)? {
            let message = format!(
                "glassbox: AsyncFd needs a non-blocking fd, and fd {fd} is blocking: a read \
                 on it could block the runtime's one thread. Set O_NONBLOCK first \
                 (set_nonblocking(true) on std sockets)"
            );
            return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        }
        Ok(AsyncFd { io, interest })
    }

    /// Waits until the fd is readable (or remembered so), then returns a guard to
    /// read with. Cancel-safe.
    ///
    /// # Errors
    /// `InvalidInput` if the fd was registered without `Interest::READABLE`; an error
    /// if the runtime it was registered with is not running.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Direction::Read).await
    }

    /// Waits until the fd is writable (or remembered so), then returns a guard to
    /// write with. Cancel-safe.
    ///
    /// # Errors
    /// `InvalidInput` if the fd was registered without `Interest::WRITABLE`; an error
    /// if the runtime it was registered with is not running.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Direction::Write).await
    }

    /// Waits for `interest` (`READABLE` or `WRITABLE`, one of them) and runs `op`,
    /// again after each `WouldBlock`, until it returns anything else: the loop of
    /// `readable` and `try_io`, written once. glassbox's own sockets are this call
    /// with the syscall filled in.
    ///
    /// # Errors
    /// What `op` returns; `InvalidInput` for an interest that is not exactly one
    /// direction this fd was registered for.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let direction = if interest == Interest::READABLE {
            Direction::Read
        } else if interest == Interest::WRITABLE {
            Direction::Write
        } else {
            return Err(invalid_interest(format!(
                "AsyncFd::async_io waits for one direction, Interest::READABLE or \
                 Interest::WRITABLE, not {interest:?}"
            )));
        };
        self.check_interest(direction)?;
        let io = self.io.io(direction, |source| op(&source.0));
        io.await
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        &self.io.source().0
    }

    /// The wrapped value, mutably. Do not close or replace its fd: the reactor still
    /// watches it.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io.source_mut().0
    }

    /// Takes the fd out of the reactor and hands the value back.
    pub fn into_inner(self) -> T {
        self.io.into_source().0
    }

    async fn ready(&self, direction: Direction) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.check_interest(direction)?;
        // An operation with nothing to do: it completes as soon as the reactor
        // remembers `direction` as ready, and parks the task until then.
        self.io.io(direction, |_| Ok(())).await?;
        Ok(AsyncFdReadyGuard {
            async_fd: self,
            direction,
        })
    }

    /// Refuses to wait on a direction no event will ever be reported for.
    fn check_interest(&self, direction: Direction) -> io::Result<()> {
        let (registered, name) = match direction {
            Direction::Read => (self.interest.is_readable(), "READABLE"),
            Direction::Write => (self.interest.is_writable(), "WRITABLE"),
        };
        if registered {
            return Ok(());
        }
        Err(invalid_interest(format!(
            "AsyncFd was registered with {:?}, without Interest::{name}: waiting for that \
             would never end. Register it with AsyncFd::with_interest",
            self.interest
        )))
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("io", &self.io)
            .field("interest", &self.interest)
            .finish()
    }
}

// === impl AsyncFdReadyGuard ===

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// Forgets this direction's readiness: the next `readable()` (or `writable()`)
    /// waits for a new edge. Call it only after a syscall said `WouldBlock`: the
    /// reactor is edge-triggered, so cleared while data is still there, the wait
    /// hangs (no new edge comes for old data); never cleared, it spins (every wait
    /// returns at once).
    pub fn clear_ready(&mut self) {
        self.async_fd.io.clear_ready(self.direction);
    }

    /// Runs `op`, the one non-blocking syscall. If it says `WouldBlock`, readiness is
    /// cleared and `Err(TryIoError)` comes back: wait again. Anything else, success or
    /// error, comes back as `Ok(result)`, and readiness is kept.
    ///
    /// # Errors
    /// [`TryIoError`] when `op` returned `WouldBlock`.
    pub fn try_io<R>(
        &mut self,
        op: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match op(self.async_fd) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The `AsyncFd` this guard is for.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.async_fd
    }

    /// The value inside the `AsyncFd`.
    pub fn get_inner(&self) -> &'a T {
        self.async_fd.get_ref()
    }
}

// === impl FdSource ===

impl<T: AsRawFd> Source for FdSource<T> {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}

/// Says why the poller refused `fd`, where the OS's own words would puzzle.
fn refused(fd: RawFd, error: io::Error) -> io::Error {
    let why = match error.kind() {
        io::ErrorKind::PermissionDenied => {
            "epoll cannot watch this kind of file: a regular file or a directory is \
             always ready, so there is nothing to wait for. Read it in spawn_blocking"
        }
        io::ErrorKind::AlreadyExists => {
            "the fd is already registered with this runtime's reactor (by another \
             AsyncFd, or by a glassbox socket that owns it)"
        }
        _ => "the reactor could not register it",
    };
    let message = format!("glassbox: AsyncFd cannot watch fd {fd}: {why} ({error})");
    io::Error::new(error.kind(), message)
}

fn invalid_interest(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("glassbox: {message}"))
}

/// Whether `fd`'s open file description has `O_NONBLOCK` set.
fn is_nonblocking(fd: RawFd) -> io::Result<bool> {
    // F_GETFL only reads the status flags of the file description behind `fd`; an fd
    // that is not open makes it fail with EBADF, which is reported below.
    // SAFETY: F_GETFL passes no pointer, and any fd number is valid input.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(flags & libc::O_NONBLOCK != 0)
}
