//! The reactor: the runtime's `mio::Poll`, where the loop sleeps, where I/O readiness
//! comes from, and where a task waiting on a socket parks its waker.
//!
//! ```text
//! stream.read(buf).await ─► Io::poll ─► Reactor::poll_ready(token, Read, waiter)
//!     readable remembered? ─ no ─► park cx.waker() in the read's own entry ─► Pending
//!           │ yes                                                  ▲
//!           ▼                                                      │
//!     try the syscall ─► WouldBlock ─► Reactor::clear_ready ───────┘
//!           │
//!           └─► data, EOF or an error ─► Reactor::remove_waiter ─► Ready
//! the read dropped while parked (a timeout won) ─► Reactor::remove_waiter
//!
//! run_once phase 3 ─► Reactor::park(park) ─► mio::Poll::poll ─► events
//!     REMOTE_WAKE_TOKEN: another thread woke a task (the loop drains the channel next)
//!     PARK_TIMER_TOKEN:  the next timer is due (park_timer.rs; the loop fires it next)
//!     a source's token:  remember readable/writable in its slot, wake its waiters
//! ```
//!
//! # The readiness contract (edge-triggered)
//!
//! mio registers every source *edge-triggered*: the OS reports a change to "ready"
//! (data arrived, room in the send buffer, the peer hung up, an error) once, not again
//! and again for as long as the source stays ready. Everything below follows from
//! that, and it is the part that is easy to get wrong:
//!
//! 1. Readiness is remembered per source, per direction (read, write), in the source's
//!    slot. A new socket starts as ready both ways: its first operation just tries (a
//!    freshly accepted stream usually has its request waiting). An `AsyncFd` starts
//!    drained both ways instead (`FirstTry::AfterFirstEvent`): registering an fd makes
//!    epoll look at it at once and report what is already ready, so nothing is missed
//!    by waiting for that first report, and an empty pipe or an unsignalled eventfd is
//!    not called readable on a guess.
//! 2. An operation tries its syscall while its direction is remembered as ready, and
//!    keeps it ready after a success: there may be more data, or more room.
//! 3. A `WouldBlock` proves the source drained: the operation clears the remembered
//!    readiness and parks its waker, and the OS now owes us an edge. A stream's short
//!    transfer proves it too, one syscall sooner, where the kernel says so: a TCP read
//!    that returns some bytes but fewer than asked emptied the receive buffer, and a
//!    write shorter than its (at most `IOV_MAX`) slices filled the send buffer, so any
//!    byte or any room that comes later brings a new edge. Except at the end: a
//!    hang-up's or an error's edge may have come with the last bytes, and no other will
//!    follow. So the reactor remembers "closed" apart from "ready", and only a
//!    `WouldBlock` forgets it. And except where a read stops short with bytes still
//!    queued: TCP stops at the urgent mark (`MSG_OOB`), so once an event has reported
//!    urgent data (`EPOLLPRI`), a short read on that source proves nothing for the
//!    rest of its life; a Unix stream stops after a message that carried fds or came
//!    from another writer, and at its own `MSG_OOB` mark, so its reads never take the
//!    shortcut (`stream.rs`).
//! 4. An event sets the readiness it reports and wakes every waiter of that direction;
//!    each polls again and goes back to step 2.
//! 5. Each waiting operation owns one entry in its direction's waiter list (a slab):
//!    made when it first parks, given the current waker whenever it parks again, left
//!    empty by the event that takes its waker, and removed when the operation
//!    completes or is dropped. Parking and cancelling are O(1), and the list never
//!    holds more entries than there are live operations.
//! 6. Deregistering a source wakes every waiter still parked on it. Only a poll that
//!    keeps no state (`poll_shared`: futures-io, hyper) can be parked there as its
//!    source goes (`into_std`, or a drop, by another task holding the same cell);
//!    woken, it polls again and finds the source gone.
//!
//! Break rule 3 by parking on a hunch ("I read less than I asked for, so the socket
//! must be empty") while forgetting a hang-up, and the task hangs: the peer's FIN came
//! with its last bytes, and no edge will follow. Take the hunch where the kernel stops
//! short on purpose and the task hangs too: a peer's urgent byte left "world" queued
//! behind "hello" and the next read parked (issue 28; tokio hangs the same way), and a
//! `writev` of 2,000 slices that std cut to 1,024 made the next small write park on a
//! nearly empty socket. Break it the other way, never clearing, and a waiting task
//! spins on `WouldBlock`; skip the short-transfer rule and every request a server
//! answers costs a `read` that only says `WouldBlock`.
//!
//! Break rule 5 by leaving a dropped operation's waker behind until the next event,
//! and an idle socket that many tasks read with a timeout keeps one dead waker (and
//! through it a whole task) per timed-out read, for as long as nothing arrives. The
//! first version did: 100,000 timed-out `recv`s on one idle socket held 30 MB, and
//! each new wait scanned the list for its own waker, so the run took seconds where
//! tokio took a tenth of one (issue 21).
//!
//! Break rule 6 by dropping the slot's wakers unwoken, and that task is parked for
//! ever: hyper's reader on a socket another task took out with `into_std` was never
//! polled again (issue 28). tokio wakes every waiter of a registration that goes.
//!
//! There is no race between step 3's syscall and the clear when both happen in one
//! poll: events are taken in only by `park` (run_once phase 3), and tasks are polled
//! only in phase 1, on the same thread. But an `AsyncFd` guard lives across awaits,
//! and its owner may clear readiness long after the syscall that said `WouldBlock`,
//! when an event has come in meanwhile. So each side counts the events that raised
//! it (its `tick`), the guard remembers the tick it was made at, and its clear is
//! skipped if the tick moved (as tokio's guard does): clearing then would erase the
//! edge of a byte that arrived during the await, and the next wait would hang.
//!
//! An error or hang-up event sets *both* directions ready, so whichever operation is
//! waiting retries and its own syscall returns the error (or EOF). That is how an ICMP
//! "port unreachable" on a connected UDP socket reaches a pending `recv`.
//!
//! # Tokens and stale events
//!
//! A source's `Token` is its slab key (low `KEY_BITS` = 24 bits) plus a generation (the
//! high bits) taken from a counter at registration. Slab keys are reused as soon as a
//! source is dropped, so an event for the old source could otherwise wake the new owner
//! of the key. The slot stores the full token, and `park` drops any event whose token
//! is not the one in the slot: a stale event never wakes anyone. (With epoll a
//! deregistered fd reports nothing more, so this is a second lock on the door. The
//! generation has 40 bits on 64-bit targets and does not wrap in practice; on 32-bit
//! targets it has 8, and a stale event would have to outlive 256 reuses of its key.)
//!
//! # Ground rules
//! - `park` is the only place the thread sleeps. How long is decided by the loop
//!   (a `Park`): not at all when work is ready, until the next timer otherwise (to the
//!   µs on Linux, `park_timer.rs`), until an event when there is nothing to wait for
//!   but I/O and other threads.
//! - A slot exists exactly as long as the `Registration` that owns its token; keys
//!   `KEY_MASK - 1` and `KEY_MASK` are never handed out, so no token equals
//!   `PARK_TIMER_TOKEN` or `REMOTE_WAKE_TOKEN`.
//! - Wakers are woken and dropped only after the slab's borrow is released: a foreign
//!   waker is user code.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use mio::event::Source;
use mio::{Events, Interest, Token};
use slab::Slab;

use crate::event::{Event, Park, TokenName};
use crate::io::park_timer::{PARK_TIMER_TOKEN, ParkTimer};
use crate::observe::Observers;
use crate::task::waker::wake_foreign;

/// The token of the `mio::Waker` that other threads use to wake the loop.
pub(crate) const REMOTE_WAKE_TOKEN: Token = Token(usize::MAX);

/// How many readiness events one turn can take in; more wait for the next turn.
const EVENTS_PER_TURN: usize = 1024;

/// Bits of a token that hold the slab key; the rest hold the generation.
const KEY_BITS: u32 = 24;

/// Masks the key out of a token. It and the key below it are never used (see the
/// ground rules), so at most `KEY_MASK - 1` sources can be registered at once (16.7
/// million).
const KEY_MASK: usize = (1 << KEY_BITS) - 1;

/// One way of using a source: reading (or accepting) and writing (or connecting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// What a new source remembers before any event (rule 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FirstTry {
    /// Ready both ways: its first operation makes the syscall at once (sockets).
    Now,
    /// Drained both ways: its first wait parks until epoll's report of what the fd is
    /// ready for at registration (`AsyncFd`).
    AfterFirstEvent,
}

/// The reactor's memory of one registered source.
struct Slot {
    /// The token this slot was registered under; an event with another token is stale.
    token: Token,
    read: Side,
    write: Side,
    /// An event reported urgent data (`EPOLLPRI`): a read may have stopped at the
    /// urgent mark with bytes behind it, so a short read no longer proves the socket
    /// drained (rule 3). Never lowered: which read passed the mark is not known.
    urgent_seen: bool,
}

/// One direction of a source: what is known of it, and who waits on it.
struct Side {
    /// Raised by events, lowered by a `WouldBlock` or a short transfer (rule 3).
    known: Known,
    /// One entry per waiting operation, keyed by its `Waiter` (rule 5). An event takes
    /// the wakers and leaves the entries (`None`) to their operations.
    waiters: Slab<Option<Waker>>,
    /// How many events have raised this side (wrapping): an `AsyncFd` guard clears
    /// readiness only if none came since it was made.
    tick: u32,
}

/// One side as an `AsyncFd` guard sees it when it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SideState {
    /// Worth trying (an event said so, or the peer hung up, or the fd failed).
    pub(crate) ready: bool,
    /// The peer hung up or the fd failed.
    pub(crate) closed: bool,
    /// The side's `tick` now.
    pub(crate) tick: u32,
}

/// What the reactor knows of one direction, from least to most (an event only raises it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Known {
    /// Drained: the OS owes an edge before it is worth trying again.
    Drained,
    /// Worth trying: an event said so, or the source is new.
    Ready,
    /// The peer hung up or the source failed: the next try returns end of stream or the
    /// error, however short the last transfer was.
    Closed,
}

/// An operation's entry in its source's waiter list, for as long as the operation
/// lives (rule 5): empty until it first parks, removed by `Reactor::remove_waiter`.
#[derive(Debug, Default)]
pub(crate) struct Waiter(Option<usize>);

/// The runtime's poller and its table of registered sources.
pub(crate) struct Reactor {
    poll: RefCell<mio::Poll>,
    /// What `park` sleeps on until the next timer.
    park_timer: ParkTimer,
    events: RefCell<Events>,
    slots: RefCell<Slab<Slot>>,
    /// The generation the next registration gets.
    next_generation: Cell<usize>,
    /// Reused by `park`: wakers taken out of the slots, woken once the borrow ends.
    to_wake: RefCell<Vec<Waker>>,
    /// Told of each I/O event and registration (`observe/mod.rs`).
    pub(crate) observers: Rc<Observers>,
}

// === impl Reactor ===

impl Reactor {
    /// Creates the poller, its park timer and the `mio::Waker` that remote wakes
    /// write to.
    pub(crate) fn new(observers: Rc<Observers>) -> io::Result<(Reactor, mio::Waker)> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), REMOTE_WAKE_TOKEN)?;
        let reactor = Reactor {
            poll: RefCell::new(poll),
            park_timer: ParkTimer::new(),
            events: RefCell::new(Events::with_capacity(EVENTS_PER_TURN)),
            slots: RefCell::new(Slab::new()),
            next_generation: Cell::new(0),
            to_wake: RefCell::new(Vec::new()),
            observers,
        };
        Ok((reactor, waker))
    }

    /// Registers `source` with the poller (edge-triggered) and gives it a slot.
    /// Returns its token.
    pub(crate) fn register(
        &self,
        source: &mut impl Source,
        interest: Interest,
        first_try: FirstTry,
    ) -> io::Result<Token> {
        let mut slots = self.slots.borrow_mut();
        let entry = slots.vacant_entry();
        if entry.key() >= KEY_MASK - 1 {
            return Err(io::Error::other(format!(
                "glassbox: too many I/O sources open at once (the reactor holds at most {})",
                KEY_MASK - 1
            )));
        }
        let generation = self.next_generation.get();
        self.next_generation.set(generation.wrapping_add(1));
        let token = Token((generation << KEY_BITS) | entry.key());
        self.poll
            .borrow()
            .registry()
            .register(source, token, interest)?;
        let known = match first_try {
            FirstTry::Now => Known::Ready,
            FirstTry::AfterFirstEvent => Known::Drained,
        };
        entry.insert(Slot {
            token,
            read: Side::new(known),
            write: Side::new(known),
            urgent_seen: false,
        });
        Ok(token)
    }

    /// Removes `source` from the poller, frees its slot (the key may be reused at
    /// once; the token may not) and wakes whoever was still parked on it (rule 6).
    /// The caller closes the fd by dropping the source.
    pub(crate) fn deregister(&self, token: Token, source: &mut impl Source) {
        // An error here (the fd is already closed, say) leaves nothing to undo: the
        // close that follows removes the fd from the poller anyway.
        let _ = self.poll.borrow().registry().deregister(source);
        let slot = {
            let mut slots = self.slots.borrow_mut();
            let key = token.0 & KEY_MASK;
            let owned = slots.get(key).is_some_and(|slot| slot.token == token);
            owned.then(|| slots.remove(key))
        };
        let Some(slot) = slot else {
            return;
        };
        // Woken outside the borrow: the wakers may be foreign, and a woken task's
        // waker may register a source of its own.
        let mut to_wake = Vec::new();
        for mut side in [slot.read, slot.write] {
            side.take_wakers(&mut to_wake);
        }
        wake_all(&mut to_wake);
    }

    /// Ready if `direction` is remembered as ready; otherwise parks the task's waker in
    /// `waiter`'s entry (made on first use) and returns `Pending`.
    pub(crate) fn poll_ready(
        &self,
        token: Token,
        direction: Direction,
        waiter: &mut Waiter,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let mut slots = self.slots.borrow_mut();
        let side = slot_of(&mut slots, token).side(direction);
        if side.known != Known::Drained {
            return Poll::Ready(());
        }
        let waiters = &mut side.waiters;
        let replaced = match waiter.0 {
            // Polled again: the same entry, with the waker of this poll.
            Some(key) => match &mut waiters[key] {
                Some(parked) if parked.will_wake(cx.waker()) => None,
                entry => entry.replace(cx.waker().clone()),
            },
            None => {
                waiter.0 = Some(waiters.insert(Some(cx.waker().clone())));
                None
            }
        };
        drop(slots);
        // Dropped outside the borrow: it may be foreign.
        drop(replaced);
        // Pending: the next event for this token (Reactor::park, run_once phase 3)
        // wakes every waiter in this list.
        Poll::Pending
    }

    /// Takes `waiter`'s entry out of the list: its operation completed or was dropped.
    /// O(1); does nothing if it never parked.
    pub(crate) fn remove_waiter(&self, token: Token, direction: Direction, waiter: &mut Waiter) {
        let Some(key) = waiter.0.take() else {
            return;
        };
        let mut slots = self.slots.borrow_mut();
        let waker = slot_of(&mut slots, token)
            .side(direction)
            .waiters
            .remove(key);
        drop(slots);
        // Dropped outside the borrow: it may be foreign.
        drop(waker);
    }

    /// Forgets that `direction` was ready: its syscall just said `WouldBlock`.
    pub(crate) fn clear_ready(&self, token: Token, direction: Direction) {
        slot_of(&mut self.slots.borrow_mut(), token)
            .side(direction)
            .known = Known::Drained;
    }

    /// Forgets that `direction` was ready unless it is closed: a stream's read or write
    /// just moved some bytes but fewer than asked (rule 3). A read does not, once urgent
    /// data has been reported on the source: it may have stopped at the urgent mark.
    pub(crate) fn clear_ready_after_short_transfer(&self, token: Token, direction: Direction) {
        let mut slots = self.slots.borrow_mut();
        let slot = slot_of(&mut slots, token);
        if direction == Direction::Read && slot.urgent_seen {
            return;
        }
        let side = slot.side(direction);
        if side.known == Known::Ready {
            side.known = Known::Drained;
        }
    }

    /// What `direction` is known as now, with its tick, for an `AsyncFd` guard.
    pub(crate) fn side_state(&self, token: Token, direction: Direction) -> SideState {
        let mut slots = self.slots.borrow_mut();
        let side = slot_of(&mut slots, token).side(direction);
        SideState {
            ready: side.known != Known::Drained,
            closed: side.known == Known::Closed,
            tick: side.tick,
        }
    }

    /// Forgets that `direction` was ready, as `clear_ready`, unless an event has raised
    /// it since its tick was `tick`: that event's edge is not to be erased.
    pub(crate) fn clear_ready_unless_raised_since(
        &self,
        token: Token,
        direction: Direction,
        tick: u32,
    ) {
        let mut slots = self.slots.borrow_mut();
        let side = slot_of(&mut slots, token).side(direction);
        if side.tick == tick {
            side.known = Known::Drained;
        }
    }

    /// Marks `direction` ready and wakes its waiters, as an event would. For changes the
    /// process made itself (a `shutdown`), which not every poller reports.
    pub(crate) fn wake(&self, token: Token, direction: Direction) {
        let (read, write) = match direction {
            Direction::Read => (Known::Ready, Known::Drained),
            Direction::Write => (Known::Drained, Known::Ready),
        };
        let readiness = Readiness {
            read,
            write,
            urgent: false,
        };
        let mut to_wake = std::mem::take(&mut *self.to_wake.borrow_mut());
        self.dispatch(token, readiness, &mut to_wake);
        wake_all(&mut to_wake);
        *self.to_wake.borrow_mut() = to_wake;
    }

    /// Waits for events as long as `park` allows and wakes the tasks waiting on them.
    /// Returns how many I/O events (not counting remote wakes or the park timer) came
    /// in.
    pub(crate) fn park(&self, park: Park) -> usize {
        // Only a look, and nothing registered: it could report only the remote-wake
        // eventfd, whose wakes phase 4 takes from the channel anyway. No syscall.
        if park == Park::No && self.slots.borrow().is_empty() {
            return 0;
        }
        let timeout = (self.park_timer).timeout_for(park, self.poll.borrow().registry());
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => {}
            // A signal interrupted the wait: it simply returned early.
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return 0,
            Err(error) => panic!("glassbox: the reactor's mio::Poll::poll failed: {error}"),
        }
        self.observers.emit(Event::IoPhaseBegins);
        let mut to_wake = std::mem::take(&mut *self.to_wake.borrow_mut());
        let mut io_events = 0;
        for event in events.iter() {
            if event.token() == REMOTE_WAKE_TOKEN {
                continue;
            }
            if event.token() == PARK_TIMER_TOKEN {
                self.park_timer.fired();
                continue;
            }
            io_events += 1;
            let readiness = Readiness::of(event);
            let woken_from = to_wake.len();
            let live = self.dispatch(event.token(), readiness, &mut to_wake);
            let token = token_name(event.token());
            self.observers.emit(Event::IoReady {
                token,
                readable: readiness.read != Known::Drained,
                writable: readiness.write != Known::Drained,
                woken: &to_wake[woken_from..],
            });
            if !live {
                self.observers.emit(Event::IoStale { token });
            }
        }
        drop(events);
        wake_all(&mut to_wake);
        *self.to_wake.borrow_mut() = to_wake;
        io_events
    }

    /// Records `readiness` for `token` and moves the waiters it releases into `to_wake`.
    /// Returns `false` if the token is stale (its source is gone); nothing is touched.
    fn dispatch(&self, token: Token, readiness: Readiness, to_wake: &mut Vec<Waker>) -> bool {
        let mut slots = self.slots.borrow_mut();
        let Some(slot) = slots
            .get_mut(token.0 & KEY_MASK)
            .filter(|slot| slot.token == token)
        else {
            return false;
        };
        slot.urgent_seen |= readiness.urgent;
        slot.read.raise(readiness.read, to_wake);
        slot.write.raise(readiness.write, to_wake);
        true
    }
}

// === impl Slot ===

impl Slot {
    fn side(&mut self, direction: Direction) -> &mut Side {
        match direction {
            Direction::Read => &mut self.read,
            Direction::Write => &mut self.write,
        }
    }
}

// === impl Side ===

impl Side {
    /// A new source's side, ready or drained as its `FirstTry` says (rule 1).
    fn new(known: Known) -> Side {
        Side {
            known,
            waiters: Slab::new(),
            tick: 0,
        }
    }

    /// Takes in what an event says of this side. If it says anything, every parked
    /// waker moves into `to_wake`; the entries stay, empty, until their operations
    /// remove them (rule 5).
    fn raise(&mut self, seen: Known, to_wake: &mut Vec<Waker>) {
        if seen == Known::Drained {
            return;
        }
        self.known = self.known.max(seen);
        self.tick = self.tick.wrapping_add(1);
        self.take_wakers(to_wake);
    }

    /// Moves every parked waker into `to_wake`, leaving the entries empty.
    fn take_wakers(&mut self, to_wake: &mut Vec<Waker>) {
        to_wake.extend(
            self.waiters
                .iter_mut()
                .filter_map(|(_, waker)| waker.take()),
        );
    }
}

/// The slot of a live registration. Its absence is a bug in this crate, not the user's.
fn slot_of(slots: &mut Slab<Slot>, token: Token) -> &mut Slot {
    slots
        .get_mut(token.0 & KEY_MASK)
        .filter(|slot| slot.token == token)
        .expect("glassbox bug: an I/O source outlived its reactor slot")
}

fn wake_all(wakers: &mut Vec<Waker>) {
    for waker in wakers.drain(..) {
        wake_foreign(waker);
    }
}

/// What one event says about a source, reduced to the two directions tasks wait on
/// (`Drained` meaning "nothing").
#[derive(Debug, Clone, Copy)]
struct Readiness {
    read: Known,
    write: Known,
    /// Urgent data is pending (`EPOLLPRI`, for the sources registered for it).
    urgent: bool,
}

impl Readiness {
    /// An error counts as closed both ways: the waiting operation retries and its own
    /// syscall reports what happened.
    fn of(event: &mio::event::Event) -> Readiness {
        let failed = event.is_error();
        let side = |ready: bool, closed: bool| {
            if closed || failed {
                Known::Closed
            } else if ready {
                Known::Ready
            } else {
                Known::Drained
            }
        };
        Readiness {
            read: side(event.is_readable(), event.is_read_closed()),
            write: side(event.is_writable(), event.is_write_closed()),
            urgent: event.is_priority(),
        }
    }
}

/// A token as people read it, `key.generation`: `io     token=3.17 ...` in the trace.
pub(crate) fn token_name(token: Token) -> TokenName {
    TokenName {
        key: token.0 & KEY_MASK,
        generation: token.0 >> KEY_BITS,
    }
}

mod sources;
#[cfg(test)]
mod tests;
