//! The reactor: the runtime's `mio::Poll`, where the loop sleeps and I/O readiness
//! comes from.
//!
//! ```text
//! run_once phase 3 ─► Reactor::turn(timeout) ─► mio::Poll::poll ─► events
//!     REMOTE_WAKE_TOKEN: another thread woke a task (the loop drains the channel next)
//!     any other token:   an I/O source became ready ─► wake its waiters
//! ```
//!
//! # Ground rules
//! - `turn` is the only place the thread sleeps. Its timeout is decided by the loop:
//!   zero when work is ready, the time to the next timer otherwise, `None` (forever)
//!   when there is nothing to wait for but I/O and other threads.
//! - A token is never `REMOTE_WAKE_TOKEN` for an I/O source.

use std::cell::RefCell;
use std::io;
use std::time::Duration;

use mio::{Events, Poll, Token};

/// The token of the `mio::Waker` that other threads use to wake the loop.
pub(crate) const REMOTE_WAKE_TOKEN: Token = Token(usize::MAX);

/// How many readiness events one turn can take in; more wait for the next turn.
const EVENTS_PER_TURN: usize = 1024;

/// The runtime's poller.
pub(crate) struct Reactor {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
}

impl Reactor {
    /// Creates the poller and the `mio::Waker` that remote wakes write to.
    pub(crate) fn new() -> io::Result<(Reactor, mio::Waker)> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), REMOTE_WAKE_TOKEN)?;
        let reactor = Reactor {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(EVENTS_PER_TURN)),
        };
        Ok((reactor, waker))
    }

    /// Waits up to `timeout` for events and wakes the tasks waiting on them.
    /// Returns how many I/O events (not counting remote-wake notifications) came in.
    pub(crate) fn turn(&self, timeout: Option<Duration>) -> usize {
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => {}
            // A signal interrupted the wait: it simply returned early.
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return 0,
            Err(error) => panic!("glassbox: the reactor's mio::Poll::poll failed: {error}"),
        }
        events
            .iter()
            .filter(|event| event.token() != REMOTE_WAKE_TOKEN)
            .count()
    }
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor").finish_non_exhaustive()
    }
}
