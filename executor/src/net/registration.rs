//! `Registration`: one I/O source registered with its runtime's reactor, and `Io`, the
//! future every net operation is.
//!
//! ```text
//! Registration::io(direction, op) ─► Io { waiter, op }, polled:
//!     loop:
//!       Reactor::poll_ready(token, direction, waiter) ─► Pending: the waker is parked
//!           │ Ready                                      in the operation's own entry
//!           ▼                                            of the source's slot
//!       op(&source), the non-blocking syscall
//!           ├─ WouldBlock  ─► Reactor::clear_ready, go round (and so park)
//!           ├─ Interrupted ─► go round; the 4th in one poll: back to the loop
//!           └─ anything else (data, EOF, an error) ─► remove the entry, Ready(result)
//! Io dropped while parked ─► Reactor::remove_waiter: nothing is left behind
//! ```
//!
//! # Ground rules
//! - A `Registration` owns its source and its token. It is registered when it is
//!   created (inside a runtime) and, when dropped, deregistered first and closed after:
//!   the reactor never holds a token for a closed fd. `into_source` (behind every
//!   `into_std`) deregisters the same way and hands the source back open instead: the
//!   fd leaves the poller before it leaves our hands, so it can be registered again,
//!   here or anywhere.
//! - An operation consumes data (bytes, a connection, a datagram) only in the poll that
//!   returns `Ready`. A pending operation has taken nothing, so dropping it loses
//!   nothing: every single-syscall operation built on `Io` is cancel-safe.
//! - An operation's waiter entry lives exactly as long as the operation: the `Io`
//!   removes it when it completes or is dropped (the reactor's rule 5).
//! - A source is only polled on the runtime that registered it. Anywhere else (its
//!   runtime was dropped, or this is another runtime's `block_on`) no reactor would
//!   ever wake it, so the operation fails at once instead of hanging.
//! - Every `Ready` spends one unit of the task's coop budget, that failure included:
//!   a loop that retries a failing operation still gives the loop back (coop.rs).
//! - `Interrupted` (EINTR: a signal cut the syscall short, nothing happened) is tried
//!   again, at most `INTERRUPTED_RETRIES` times in one poll. After that the task goes
//!   back to the loop (woken after its timers and I/O, as a spent budget does) with its
//!   readiness kept, and tries again on its next poll: a storm of signals, or an
//!   `AsyncFd::async_io` closure that always says `Interrupted`, cannot keep the thread
//!   from its timers, so a `timeout` around it still fires.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::event::Source;
use mio::{Interest, Token};

use crate::coop;
use crate::event::Event;
use crate::event_loop::context;
use crate::io::reactor::{Direction, FirstTry, Reactor, SideState, Waiter, token_name};

/// How many `Interrupted` in a row one poll retries before it gives the loop back.
const INTERRUPTED_RETRIES: u32 = 3;

/// An I/O source and its place in the reactor of the runtime that registered it.
pub(crate) struct Registration<S: Source> {
    /// `Some` for the registration's whole life. Only `into_source`, which consumes
    /// the registration, takes it out, so that `Drop` then finds nothing to deregister.
    source: Option<S>,
    token: Token,
    /// The reactor it is registered with, and that reactor's runtime: the only one
    /// whose loop can wake its operations.
    reactor: Rc<Reactor>,
    runtime_id: u64,
    /// For `poll_shared`: one waiter per direction (read, write).
    #[cfg(any(feature = "futures-io", feature = "hyper"))]
    shared: [std::cell::Cell<Waiter>; 2],
}

/// One net operation: runs `op` once the source is ready in `direction`, parking
/// until it is. Made by [`Registration::io`].
pub(crate) struct Io<'a, S: Source, F> {
    registration: &'a Registration<S>,
    direction: Direction,
    /// This operation's entry in the source's waiter list, once it has parked.
    waiter: Waiter,
    op: F,
}

// === impl Registration ===

impl<S: Source> Registration<S> {
    /// Registers `source` with the current runtime's reactor. `what` names the call,
    /// for the panic outside a runtime and for the trace.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub(crate) fn new(
        source: S,
        interest: Interest,
        what: &'static str,
    ) -> io::Result<Registration<S>> {
        Registration::register(source, interest, what, FirstTry::Now)
    }

    /// As [`new`](Registration::new), but the source is not assumed ready: its first
    /// wait parks until epoll reports what the fd is ready for (for `AsyncFd`).
    ///
    /// # Panics
    /// Outside a runtime.
    #[cfg(unix)]
    #[track_caller]
    pub(crate) fn awaiting_first_event(
        source: S,
        interest: Interest,
        what: &'static str,
    ) -> io::Result<Registration<S>> {
        Registration::register(source, interest, what, FirstTry::AfterFirstEvent)
    }

    #[track_caller]
    fn register(
        mut source: S,
        interest: Interest,
        what: &'static str,
        first_try: FirstTry,
    ) -> io::Result<Registration<S>> {
        let core = context::expect_current(what);
        let reactor = Rc::clone(&core.reactor);
        let token = reactor.register(&mut source, interest, first_try)?;
        reactor.observers.emit(Event::IoRegistered {
            token: token_name(token),
            what,
            interest: match (interest.is_readable(), interest.is_writable()) {
                (true, true) => "readable, writable",
                (false, true) => "writable",
                _ => "readable",
            },
        });
        Ok(Registration {
            source: Some(source),
            token,
            reactor,
            runtime_id: core.id,
            #[cfg(any(feature = "futures-io", feature = "hyper"))]
            shared: Default::default(),
        })
    }

    /// The source, for calls that never block (addresses, options, shutdown).
    pub(crate) fn source(&self) -> &S {
        self.source
            .as_ref()
            .expect("glassbox bug: a registration used after into_source")
    }

    /// The source, mutably, for `AsyncFd::get_mut`.
    #[cfg(unix)]
    pub(crate) fn source_mut(&mut self) -> &mut S {
        self.source
            .as_mut()
            .expect("glassbox bug: a registration used after into_source")
    }

    /// Deregisters the source and hands it back, still open, for `into_std`.
    pub(crate) fn into_source(mut self) -> S {
        let mut source = self
            .source
            .take()
            .expect("glassbox bug: into_source on an emptied registration");
        self.deregister(&mut source);
        source
    }

    /// The future that runs the non-blocking `op` once the source is ready in
    /// `direction`; `op` returning `WouldBlock` means "not ready after all".
    pub(crate) fn io<R, F>(&self, direction: Direction, op: F) -> Io<'_, S, F>
    where
        F: FnMut(&S) -> io::Result<R> + Unpin,
    {
        Io {
            registration: self,
            direction,
            waiter: Waiter::default(),
            op,
        }
    }

    /// `Io`'s poll, for callers that keep no state between polls (`futures_io`'s
    /// `poll_read` and `poll_write`, `hyper::rt`'s `Read` and `Write`). They share one waiter per direction, so when
    /// several tasks poll the same direction this way, only the last to park is woken
    /// (as with tokio's `poll_read_ready`); the async methods have no such limit.
    #[cfg(any(feature = "futures-io", feature = "hyper"))]
    pub(crate) fn poll_shared<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let shared = &self.shared[direction as usize];
        let mut waiter = shared.take();
        let polled = self.poll_io(cx, direction, &mut waiter, op);
        shared.set(waiter);
        polled
    }

    /// Runs `op` once the source is ready in `direction`, parking in `waiter`'s entry
    /// until it is; the entry is removed when the operation is over.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        waiter: &mut Waiter,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let reactor = &self.reactor;
        // An operation that completes spends one unit of the task's coop budget, and
        // so does an error: an accept loop failing with EMFILE at once, again and
        // again, still gives the loop back every 128 tries (coop.rs). The error of a
        // socket polled off its runtime too: a loop retrying it would spin for ever.
        coop::poll_budgeted(cx, |cx| {
            if !context::with_runtime(self.runtime_id, |_| {}) {
                return Poll::Ready(Err(not_on_its_runtime()));
            }
            let mut interrupted = 0;
            loop {
                if reactor
                    .poll_ready(self.token, direction, waiter, cx)
                    .is_pending()
                {
                    self.reactor.observers.emit(Event::IoWaits {
                        token: token_name(self.token),
                        reading: direction == Direction::Read,
                    });
                    // Pending: the waker is parked in this operation's waiter entry;
                    // the next readiness event for this token (run_once phase 3) wakes
                    // the task.
                    return Poll::Pending;
                }
                match op(self.source()) {
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                        // Drained: the OS now owes us an edge. Going round parks the task.
                        reactor.clear_ready(self.token, direction);
                    }
                    // A signal cut the syscall short; nothing happened, try again, a few
                    // times: then give the loop back, readiness kept.
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                        interrupted += 1;
                        if interrupted > INTERRUPTED_RETRIES {
                            // Pending: the loop wakes the task after its timers and
                            // I/O, and its next poll tries again.
                            coop::yield_to_the_loop(cx);
                            return Poll::Pending;
                        }
                    }
                    result => {
                        reactor.remove_waiter(self.token, direction, waiter);
                        return Poll::Ready(result);
                    }
                }
            }
        })
    }

    /// Notes a stream's short transfer in `direction` (some bytes, fewer than asked,
    /// where the kernel's short transfer proves the socket drained: `stream.rs` says
    /// when): the next try parks at once instead of paying a syscall to hear
    /// `WouldBlock` (the reactor's rule 3). The reactor keeps a closed side, and a read
    /// side that has seen urgent data, as they are.
    pub(crate) fn clear_ready_after_short_transfer(&self, direction: Direction) {
        let reactor = &self.reactor;
        reactor.clear_ready_after_short_transfer(self.token, direction);
    }

    /// Wakes the tasks waiting in the directions `how` shut down, so they retry and
    /// hear the OS's answer (end of stream, `BrokenPipe`): a change the process made
    /// itself, which not every poller announces.
    pub(crate) fn wake_after_shutdown(&self, how: Shutdown) {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.reactor.wake(self.token, Direction::Read);
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.reactor.wake(self.token, Direction::Write);
        }
    }

    /// Forgets that `direction` was ready, as a `WouldBlock` does (the reactor's rule
    /// 3): for `AsyncFd`, whose caller makes the syscalls and tells us what they said.
    #[cfg(unix)]
    pub(crate) fn clear_ready(&self, direction: Direction) {
        self.reactor.clear_ready(self.token, direction);
    }

    /// What the reactor knows of `direction` now, for an `AsyncFd` guard.
    #[cfg(unix)]
    pub(crate) fn side_state(&self, direction: Direction) -> SideState {
        self.reactor.side_state(self.token, direction)
    }

    /// Clears `direction` unless an event raised it after `tick`: for an `AsyncFd`
    /// guard's `clear_ready`, which may come long after its syscall.
    #[cfg(unix)]
    pub(crate) fn clear_ready_unless_raised_since(&self, direction: Direction, tick: u32) {
        let reactor = &self.reactor;
        reactor.clear_ready_unless_raised_since(self.token, direction, tick);
    }

    /// Takes `source` out of the poller and frees this registration's slot.
    fn deregister(&self, source: &mut S) {
        self.reactor.observers.emit(Event::IoDeregistered {
            token: token_name(self.token),
        });
        self.reactor.deregister(self.token, source);
    }
}

/// The error of an operation polled where its reactor is not running.
fn not_on_its_runtime() -> io::Error {
    io::Error::other(
        "glassbox: this socket belongs to a runtime that is not running on this thread \
         (it was dropped, or this is another runtime); no reactor would ever wake this \
         operation",
    )
}

impl<S: Source> Drop for Registration<S> {
    fn drop(&mut self) {
        if let Some(mut source) = self.source.take() {
            self.deregister(&mut source);
            // `source` is dropped at the end of this block, and that closes the fd.
        }
    }
}

// === impl Io ===

impl<S: Source, R, F> Future for Io<'_, S, F>
where
    F: FnMut(&S) -> io::Result<R> + Unpin,
{
    type Output = io::Result<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let this = &mut *self;
        // Pending (if it is): poll_io parked the waker in this operation's entry.
        this.registration
            .poll_io(cx, this.direction, &mut this.waiter, &mut this.op)
    }
}

impl<S: Source, F> Drop for Io<'_, S, F> {
    fn drop(&mut self) {
        // Dropped while parked (a timeout won, say): take the entry out now rather
        // than leave a dead waker for the next event (the reactor's rule 5).
        let registration = self.registration;
        let reactor = &registration.reactor;
        reactor.remove_waiter(registration.token, self.direction, &mut self.waiter);
    }
}

impl<S: Source + fmt::Debug> fmt::Debug for Registration<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("token", &format_args!("{}", token_name(self.token)))
            .field("source", self.source())
            .finish()
    }
}
