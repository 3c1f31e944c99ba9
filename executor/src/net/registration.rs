//! `Registration`: one I/O source registered with its runtime's reactor, and the loop
//! every net operation runs through.
//!
//! ```text
//! Registration::poll_io(cx, direction, op)
//!     loop:
//!       Reactor::poll_ready(token, direction) ─► Pending: the waker is parked in the
//!           │ Ready                              source's slot; an event wakes it
//!           ▼
//!       op(&source), the non-blocking syscall
//!           ├─ WouldBlock  ─► Reactor::clear_ready, go round (and so park)
//!           └─ anything else (data, EOF, an error) ─► Ready(result)
//! ```
//!
//! # Ground rules
//! - A `Registration` owns its source and its token. It is registered when it is
//!   created (inside a runtime) and, when dropped, deregistered first and closed after:
//!   the reactor never holds a token for a closed fd.
//! - An operation consumes data (bytes, a connection, a datagram) only in the poll that
//!   returns `Ready`. A pending operation has taken nothing, so dropping it loses
//!   nothing: every single-syscall operation built on `poll_io` is cancel-safe.
//! - A source is only polled on the runtime that registered it. Anywhere else (its
//!   runtime was dropped, or this is another runtime's `block_on`) no reactor would
//!   ever wake it, so the operation fails at once instead of hanging.

use std::fmt;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::event::Source;
use mio::{Interest, Token};

use crate::context;
use crate::event_loop::Core;
use crate::reactor::{Direction, ShowToken};
use crate::trace::trace;

/// An I/O source and its place in the reactor of the runtime that registered it.
pub(crate) struct Registration<S: Source> {
    source: S,
    token: Token,
    core: Rc<Core>,
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
        mut source: S,
        interest: Interest,
        what: &'static str,
    ) -> io::Result<Registration<S>> {
        let core = context::expect_current(what);
        let token = core.reactor.register(&mut source, interest)?;
        trace!(core, "io     register token={} ({what})", ShowToken(token));
        Ok(Registration {
            source,
            token,
            core,
        })
    }

    /// The source, for calls that never block (addresses, options, shutdown).
    pub(crate) fn source(&self) -> &S {
        &self.source
    }

    /// Runs the non-blocking `op` once the source is ready in `direction`, parking
    /// until it is; `op` returning `WouldBlock` means "not ready after all".
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        if !context::with_runtime(self.core.id, |_| {}) {
            return Poll::Ready(Err(io::Error::other(
                "glassbox: this socket belongs to a runtime that is not running on this \
                 thread (it was dropped, or this is another runtime); no reactor would \
                 ever wake this operation",
            )));
        }
        let reactor = &self.core.reactor;
        loop {
            if reactor.poll_ready(self.token, direction, cx).is_pending() {
                trace!(
                    self.core,
                    "io     wait   token={} {direction:?}",
                    ShowToken(self.token)
                );
                // Pending: the waker is parked in the source's reactor slot; the next
                // readiness event for this token (run_once phase 3) wakes the task.
                return Poll::Pending;
            }
            match op(&self.source) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    // Drained: the OS now owes us an edge. Going round parks the task.
                    reactor.clear_ready(self.token, direction);
                }
                // A signal cut the syscall short; nothing happened, try again.
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    /// Wakes the tasks waiting in `direction` so they retry: for a change the process
    /// made itself (a `shutdown`), which not every poller announces.
    pub(crate) fn wake(&self, direction: Direction) {
        self.core.reactor.wake(self.token, direction);
    }
}

impl<S: Source> Drop for Registration<S> {
    fn drop(&mut self) {
        trace!(
            self.core,
            "io     deregister token={}",
            ShowToken(self.token)
        );
        self.core.reactor.deregister(self.token, &mut self.source);
        // `source` is dropped right after this body, and that closes the fd.
    }
}

impl<S: Source + fmt::Debug> fmt::Debug for Registration<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("token", &format_args!("{}", ShowToken(self.token)))
            .field("source", &self.source)
            .finish()
    }
}
