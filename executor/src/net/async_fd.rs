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
//! A guard may live across awaits, and a byte may arrive during one: the loop takes
//! its edge in, and the fd is readable again. A `clear_ready` made after that would
//! erase the new edge, and the next wait would hang with the byte in the pipe. So a
//! guard remembers how many events its direction had seen when it was made (the
//! reactor's tick) and clears only if no event came since, as tokio's does.
//!
//! # A new `AsyncFd` is not assumed ready
//!
//! Registering an fd makes epoll look at it and report at once what it is ready for,
//! so a new `AsyncFd` waits for that report instead of guessing: an empty pipe, an
//! eventfd never signalled and an armed timerfd are not "readable" until the kernel
//! says so (as with tokio). The sockets start the other way, ready both ways, because
//! their own syscalls clear a wrong guess at the cost of one `WouldBlock`; here the
//! guess would be handed to your code as a guard.
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
//! - `readable()`, `writable()` and `ready()` consume nothing: each waits on `Io`s
//!   whose operation is empty, so it is cancel-safe and resolves as soon as a direction
//!   is remembered ready. Asking for a direction the fd was not registered for is an
//!   error, not a wait that no event would end.
//! - A guard's `clear_ready` clears a direction only if no event raised it since the
//!   guard was made; `try_io` clears on the `WouldBlock` it just heard, which is never
//!   stale.
//! - `async_io` retries `Interrupted` at once a few times, then gives the loop back for
//!   a turn before it tries again (`registration.rs`): it never returns `Interrupted`,
//!   and it never keeps the thread from its timers.
//! - `AsyncFd` owns `T`: dropping it deregisters the fd, then drops `T` (which closes
//!   it, if `T` owns it). `into_inner` deregisters and hands `T` back. Do not close or
//!   replace the fd through `get_mut` while it is registered.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::Poll;

use mio::Interest;

use super::fd_source::FdSource;
use super::registration::Registration;
use crate::io::reactor::Direction;
use crate::observe::waits::told;

/// A file descriptor driven by the runtime's reactor: wait for it to turn readable or
/// writable, then make the non-blocking syscall yourself.
///
/// Readiness is edge-triggered and remembered: once the fd is ready, every wait
/// returns at once until a syscall says `WouldBlock` and readiness is cleared
/// ([`try_io`](AsyncFdReadyGuard::try_io) does both). A new `AsyncFd` is ready for
/// nothing until the kernel's first report, which registering it asks for. The fd
/// must be non-blocking.
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

/// Proof that an [`AsyncFd`] was ready, from [`readable`](AsyncFd::readable),
/// [`writable`](AsyncFd::writable) or [`ready`](AsyncFd::ready); the guard's own
/// [`ready`](AsyncFdReadyGuard::ready) says for what. Make the syscall through
/// [`try_io`](AsyncFdReadyGuard::try_io), or call
/// [`clear_ready`](AsyncFdReadyGuard::clear_ready) after one said `WouldBlock`.
///
/// tokio equivalent: `tokio::io::unix::AsyncFdReadyGuard`.
#[derive(Debug)]
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    async_fd: &'a AsyncFd<T>,
    ready: Ready,
    /// The reactor's tick of the read side when the guard was made, if the guard
    /// proves it ready: `clear_ready` leaves it alone if it moved since.
    read_tick: Option<u32>,
    /// The same for the write side.
    write_tick: Option<u32>,
}

/// What an [`AsyncFdReadyGuard`] found the fd ready for: readable, writable, or
/// closed (the peer hung up, or the fd failed: the next syscall says which).
///
/// tokio equivalent: `tokio::io::Ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ready {
    readable: bool,
    writable: bool,
    read_closed: bool,
    write_closed: bool,
}

/// [`AsyncFdReadyGuard::try_io`]'s "the fd was not ready after all": readiness has been
/// cleared; wait for it again.
///
/// tokio equivalent: `tokio::io::unix::TryIoError`.
#[derive(Debug)]
pub struct TryIoError(());

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
        let source = FdSource(inner);
        let io = Registration::awaiting_first_event(source, interest, "AsyncFd::new")
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
    #[track_caller]
    pub fn readable(&self) -> impl Future<Output = io::Result<AsyncFdReadyGuard<'_, T>>> {
        told("AsyncFd::readable", async move {
            self.ready(Interest::READABLE).await
        })
    }

    /// Waits until the fd is writable (or remembered so), then returns a guard to
    /// write with. Cancel-safe.
    ///
    /// # Errors
    /// `InvalidInput` if the fd was registered without `Interest::WRITABLE`; an error
    /// if the runtime it was registered with is not running.
    #[track_caller]
    pub fn writable(&self) -> impl Future<Output = io::Result<AsyncFdReadyGuard<'_, T>>> {
        told("AsyncFd::writable", async move {
            self.ready(Interest::WRITABLE).await
        })
    }

    /// Waits until the fd is ready for any of `interest` (`READABLE`, `WRITABLE` or
    /// both), then returns a guard whose [`ready`](AsyncFdReadyGuard::ready) says
    /// which. Cancel-safe.
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use executor::net::{AsyncFd, Interest};
    ///
    /// executor::block_on(async {
    ///     let (ours, _peer) = UnixStream::pair().unwrap();
    ///     ours.set_nonblocking(true).unwrap();
    ///     let fd = AsyncFd::new(ours).unwrap();
    ///     let guard = fd.ready(Interest::READABLE | Interest::WRITABLE).await.unwrap();
    ///     // Nothing was sent: the kernel reports room to write, nothing to read.
    ///     assert!(guard.ready().is_writable());
    ///     assert!(!guard.ready().is_readable());
    /// });
    /// ```
    ///
    /// # Errors
    /// `InvalidInput` if `interest` holds a direction the fd was not registered for,
    /// or neither direction; an error if the runtime it was registered with is not
    /// running.
    #[track_caller]
    pub fn ready(
        &self,
        interest: Interest,
    ) -> impl Future<Output = io::Result<AsyncFdReadyGuard<'_, T>>> {
        told("AsyncFd::ready", async move {
            let (read, write) = (interest.is_readable(), interest.is_writable());
            if !read && !write {
                return Err(invalid_interest(format!(
                    "AsyncFd::ready waits for Interest::READABLE, Interest::WRITABLE or both, \
                     not {interest:?}"
                )));
            }
            // Operations with nothing to do: each completes as soon as the reactor
            // remembers its direction as ready, and parks the task in its own waiter
            // entry until then.
            let wait = |wanted: bool, direction| -> io::Result<_> {
                if !wanted {
                    return Ok(None);
                }
                self.check_interest(direction)?;
                Ok(Some(self.io.io(direction, |_| Ok(()))))
            };
            let mut waits = [wait(read, Direction::Read)?, wait(write, Direction::Write)?];
            poll_fn(|cx| {
                for wait in waits.iter_mut().flatten() {
                    if let Poll::Ready(result) = Pin::new(wait).poll(cx) {
                        return Poll::Ready(result);
                    }
                }
                // Pending: each wait parked the waker in its direction's list; an event
                // for either wakes the task (Reactor::park, run_once phase 3).
                Poll::Pending
            })
            .await?;
            Ok(self.guard(read, write))
        })
    }

    /// Waits for `interest` (`READABLE` or `WRITABLE`, one of them) and runs `op`,
    /// again after each `WouldBlock`, until it returns anything else: the loop of
    /// `readable` and `try_io`, written once. glassbox's own sockets are this call
    /// with the syscall filled in.
    ///
    /// An `op` that says `Interrupted` (EINTR) is tried again, at once up to 3 times in
    /// one poll; then the task gives the loop back (its timers and I/O run) and tries
    /// again on its next poll. So `Interrupted` never comes back from here, and an `op`
    /// that says it for ever still lets a `timeout` around this call fire. (tokio's
    /// returns the first `Interrupted` to the caller instead.)
    ///
    /// # Errors
    /// What `op` returns; `InvalidInput` for an interest that is not exactly one
    /// direction this fd was registered for.
    #[track_caller]
    pub fn async_io<R>(
        &self,
        interest: Interest,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> impl Future<Output = io::Result<R>> {
        told("AsyncFd::async_io", async move {
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
        })
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

    /// A guard for the directions asked for that the reactor remembers as ready now,
    /// with their ticks.
    fn guard(&self, read: bool, write: bool) -> AsyncFdReadyGuard<'_, T> {
        let seen = |asked: bool, direction| {
            let state = asked.then(|| self.io.side_state(direction));
            state.filter(|state| state.ready)
        };
        let (read, write) = (seen(read, Direction::Read), seen(write, Direction::Write));
        AsyncFdReadyGuard {
            async_fd: self,
            ready: Ready {
                readable: read.is_some(),
                writable: write.is_some(),
                read_closed: read.is_some_and(|state| state.closed),
                write_closed: write.is_some_and(|state| state.closed),
            },
            read_tick: read.map(|state| state.tick),
            write_tick: write.map(|state| state.tick),
        }
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
    /// What the fd was found ready for when this guard was made.
    pub fn ready(&self) -> Ready {
        self.ready
    }

    /// Forgets the readiness this guard proved: the next `readable()` (or
    /// `writable()`) waits for a new edge. Call it only after a syscall said
    /// `WouldBlock`: the reactor is edge-triggered, so cleared while data is still
    /// there, the wait hangs (no new edge comes for old data); never cleared, it spins
    /// (every wait returns at once).
    ///
    /// A direction that an event raised again since the guard was made (data came
    /// while you awaited something else) is left ready: that event's edge is not
    /// erased.
    pub fn clear_ready(&mut self) {
        self.clear_ready_matching(Ready::READABLE.or(Ready::WRITABLE));
    }

    /// [`clear_ready`](AsyncFdReadyGuard::clear_ready) for the directions in `ready`
    /// only: `Ready::READABLE` after a read said `WouldBlock` on a guard from
    /// [`AsyncFd::ready`] that proved both directions.
    pub fn clear_ready_matching(&mut self, ready: Ready) {
        let io = &self.async_fd.io;
        if ready.readable
            && let Some(tick) = self.read_tick.take()
        {
            io.clear_ready_unless_raised_since(Direction::Read, tick);
            self.ready.readable = false;
        }
        if ready.writable
            && let Some(tick) = self.write_tick.take()
        {
            io.clear_ready_unless_raised_since(Direction::Write, tick);
            self.ready.writable = false;
        }
    }

    /// Runs `op`, the one non-blocking syscall. If it says `WouldBlock`, the readiness
    /// this guard proved is cleared and `Err(TryIoError)` comes back: wait again.
    /// Anything else, success or error, comes back as `Ok(result)`, and readiness is
    /// kept. On a guard that proved both directions, a `WouldBlock` clears both (as
    /// tokio's does): use one direction's guard, or `clear_ready_matching`, when the
    /// syscall only speaks for one.
    ///
    /// # Errors
    /// [`TryIoError`] when `op` returned `WouldBlock`.
    pub fn try_io<R>(
        &mut self,
        op: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match op(self.async_fd) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                // Heard just now, so never stale: cleared whatever the ticks say.
                let io = &self.async_fd.io;
                if self.read_tick.take().is_some() {
                    io.clear_ready(Direction::Read);
                }
                if self.write_tick.take().is_some() {
                    io.clear_ready(Direction::Write);
                }
                self.ready = Ready::default();
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

// === impl Ready ===

impl Ready {
    /// Readable.
    pub const READABLE: Ready = Ready {
        readable: true,
        writable: false,
        read_closed: false,
        write_closed: false,
    };

    /// Writable.
    pub const WRITABLE: Ready = Ready {
        readable: false,
        writable: true,
        read_closed: false,
        write_closed: false,
    };

    /// Both sets at once.
    #[must_use]
    pub const fn or(self, other: Ready) -> Ready {
        Ready {
            readable: self.readable || other.readable,
            writable: self.writable || other.writable,
            read_closed: self.read_closed || other.read_closed,
            write_closed: self.write_closed || other.write_closed,
        }
    }

    /// Worth a read: data, end of stream or an error waits.
    pub fn is_readable(self) -> bool {
        self.readable
    }

    /// Worth a write: room, or an error waits.
    pub fn is_writable(self) -> bool {
        self.writable
    }

    /// The peer hung up its sending side, or the fd failed.
    pub fn is_read_closed(self) -> bool {
        self.read_closed
    }

    /// The peer hung up its receiving side, or the fd failed.
    pub fn is_write_closed(self) -> bool {
        self.write_closed
    }

    /// Ready for nothing (a guard after `clear_ready`).
    pub fn is_empty(self) -> bool {
        !self.readable && !self.writable
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
