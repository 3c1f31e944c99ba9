//! The time driver: one runtime's clock and timer wheel, shared (`Rc`) by its loop
//! and by every timer future registered with it. The loop fires what is due (phase 2,
//! `event_loop/mod.rs`); timers arm, re-arm and cancel their entries here.
//!
//! Four steps own a wheel entry, for `Timer` (`timer.rs`) and for hyper's sleep
//! (`hyper/timer.rs`), which must be `Send` and so keeps no `Rc`: it finds its runtime
//! on the thread when it needs it.
//!
//! # Ground rules
//! - The wheel is borrowed only for the length of one wheel operation, never across
//!   a wake: a waker is user code.
//! - A timer holds its runtime's driver, never the whole loop.

use std::cell::{RefCell, RefMut};
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Instant;

use super::clock::Clock;
use super::wheel::{TimerKey, Wheel};
use crate::event::Event;
use crate::observe::Observers;
use crate::task::waker::wake_foreign;

/// One runtime's time: its clock, its wheel, and whom to tell.
pub(crate) struct TimeDriver {
    /// The runtime this time belongs to: a timer polled elsewhere is refused.
    pub(crate) runtime_id: u64,
    pub(crate) clock: Clock,
    pub(crate) wheel: RefCell<Wheel>,
    observers: Rc<Observers>,
}

impl TimeDriver {
    pub(crate) fn new(runtime_id: u64, clock: Clock, observers: Rc<Observers>) -> TimeDriver {
        TimeDriver {
            runtime_id,
            clock,
            wheel: RefCell::new(Wheel::new()),
            observers,
        }
    }

    /// Registers `deadline` in the wheel with `waker`. `None` if it is already due:
    /// nothing is left in the wheel then.
    pub(crate) fn arm(&self, deadline: Instant, waker: &Waker) -> Option<TimerKey> {
        let now = self.clock.now();
        if now >= deadline {
            return None;
        }
        let tick = self.clock.deadline_tick(deadline, now);
        let mut wheel = self.wheel_at(now);
        let key = wheel.insert(tick, waker.clone());
        let Some(location) = wheel.location(key) else {
            // The wheel has already processed that tick (the deadline falls in the tick
            // the loop is in): due at once.
            wheel.remove(key);
            return None;
        };
        drop(wheel); // before the observers hear of it: they may look at the wheel
        self.observers.emit(Event::TimerArmed {
            key: key.index(),
            deadline: tick,
            level: location.level,
            slot: location.slot,
        });
        Some(key)
    }

    /// `Ready` once the entry has fired, and then it is removed: the key is spent.
    /// Otherwise the entry keeps `waker`, the latest poller's.
    pub(crate) fn poll_armed(&self, key: TimerKey, waker: &Waker) -> Poll<()> {
        let mut timers = self.wheel.borrow_mut();
        if timers.is_fired(key) {
            timers.remove(key);
            return Poll::Ready(());
        }
        timers.set_waker(key, waker);
        Poll::Pending
    }

    /// Moves the entry to `deadline` in place, waker and all; wakes it if already due.
    pub(crate) fn rearm(&self, key: TimerKey, deadline: Instant) {
        let now = self.clock.now();
        let tick = self.clock.deadline_tick(deadline, now);
        let due = self.wheel_at(now).reset(key, tick);
        self.observers.emit(Event::TimerReset {
            key: key.index(),
            deadline: tick,
            due: due.is_some(),
        });
        // Woken outside the wheel's borrow: it is the waiting task's waker.
        if let Some(waker) = due {
            wake_foreign(waker);
        }
    }

    /// The wheel, brought up to `now` (the caller's reading of the clock) if it is
    /// empty: phase 2 leaves an empty wheel where it was, so a loop that only does I/O
    /// reads no clock, and a timer is placed against the present (ground rule 3 of
    /// `wheel.rs` holds either way; a stale wheel would only place it on a coarser
    /// level, to be cascaded by the next turn).
    fn wheel_at(&self, now: Instant) -> RefMut<'_, Wheel> {
        let mut wheel = self.wheel.borrow_mut();
        if wheel.pending() == 0 {
            // Nothing is pending, so nothing fires: the list stays empty.
            wheel.advance(self.clock.tick_at(now), &mut Vec::new());
        }
        wheel
    }

    /// Removes the entry (cancel: O(1) unlink). The key is spent.
    pub(crate) fn disarm(&self, key: TimerKey) {
        let location = self.wheel.borrow_mut().remove(key);
        if let Some(location) = location {
            self.observers.emit(Event::TimerCancelled {
                key: key.index(),
                level: location.level,
                slot: location.slot,
            });
        }
    }
}
