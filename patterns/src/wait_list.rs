//! The wait list: a first-in, first-out line of parked futures, shared by
//! `Semaphore` and `Queue`.
//!
//! When a pattern cannot finish an operation now (no permit, empty queue, full
//! queue), its future joins a [`WaitList`] and returns `Poll::Pending`. Whoever later
//! makes progress possible (a released permit, a put, a get) takes the waiter at the
//! front, writes what it gets into the waiter's `state`, and wakes it:
//!
//! ```text
//! future, first poll ─► cannot proceed ─► WaitList::push_back(state, waker) ─► Pending
//!                                               │
//!                  progress (release, put, get) ▼
//!                  WaitList::pop_front ─► write the outcome into `state` ─► wake
//!                                               │
//! future, next poll ─► reads `state`: done ─► Ready
//! future, dropped   ─► WaitList::remove (if still in line), hand back what it got
//! ```
//!
//! A waiter is an `Rc` shared by the list and by the future that waits, so the future
//! can read its outcome after the list has let go of it.
//!
//! # Ground rules
//! - Everything here lives on the runtime's one thread: `Rc`, `Cell`, `RefCell`.
//! - Order is arrival order; only `remove` (a future dropped while waiting) takes a
//!   waiter out of the middle.
//! - Wakers are woken only after the owner's `RefCell` borrow ends (see [`Wakeups`]):
//!   a waker is foreign code, and may call straight back into the pattern. It may also
//!   panic; that does not stop the wakes after it.

use std::cell::{Cell, RefCell, RefMut};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::task::Waker;

/// One parked future: the waker to call, and what the pattern has told it so far.
pub(crate) struct Waiter<S> {
    waker: Cell<Option<Waker>>,
    state: RefCell<S>,
}

/// The line of waiters, oldest first.
pub(crate) struct WaitList<S> {
    queue: VecDeque<Rc<Waiter<S>>>,
}

/// Wakers collected while a pattern's state is borrowed, woken once it is released.
#[derive(Default)]
pub(crate) struct Wakeups {
    wakers: Vec<Waker>,
}

// === impl Waiter ===

impl<S> Waiter<S> {
    /// Replaces the stored waker, unless it would wake the same task anyway.
    pub(crate) fn set_waker(&self, waker: &Waker) {
        let stored = match self.waker.take() {
            Some(old) if old.will_wake(waker) => old,
            _ => waker.clone(),
        };
        self.waker.set(Some(stored));
    }

    /// Takes the stored waker out (the waiter then holds none).
    pub(crate) fn take_waker(&self) -> Option<Waker> {
        self.waker.take()
    }

    /// What the pattern has written for this waiter.
    pub(crate) fn state(&self) -> RefMut<'_, S> {
        self.state.borrow_mut()
    }
}

// === impl WaitList ===

impl<S> WaitList<S> {
    pub(crate) fn new() -> WaitList<S> {
        WaitList {
            queue: VecDeque::new(),
        }
    }

    /// Joins the back of the line.
    pub(crate) fn push_back(&mut self, state: S, waker: &Waker) -> Rc<Waiter<S>> {
        let waiter = Rc::new(Waiter {
            waker: Cell::new(Some(waker.clone())),
            state: RefCell::new(state),
        });
        self.queue.push_back(Rc::clone(&waiter));
        waiter
    }

    /// The oldest waiter.
    pub(crate) fn front(&self) -> Option<&Rc<Waiter<S>>> {
        self.queue.front()
    }

    /// Takes the oldest waiter out of the line.
    pub(crate) fn pop_front(&mut self) -> Option<Rc<Waiter<S>>> {
        self.queue.pop_front()
    }

    /// Takes `waiter` out of the line wherever it is. Returns false if it was not in
    /// it (the pattern had already taken it out, to finish it).
    ///
    /// A linear scan: lines are short, and only a dropped future pays for it.
    pub(crate) fn remove(&mut self, waiter: &Rc<Waiter<S>>) -> bool {
        match self.queue.iter().position(|w| Rc::ptr_eq(w, waiter)) {
            Some(index) => {
                self.queue.remove(index);
                true
            }
            None => false,
        }
    }

    /// Empties the line, oldest first.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Rc<Waiter<S>>> + '_ {
        self.queue.drain(..)
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

impl<S> fmt::Debug for WaitList<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("waiting", &self.queue.len())
            .finish()
    }
}

// === impl Wakeups ===

impl Wakeups {
    /// Takes `waiter`'s waker, to be woken by [`wake_all`](Self::wake_all).
    pub(crate) fn add<S>(&mut self, waiter: &Waiter<S>) {
        if let Some(waker) = waiter.take_waker() {
            self.wakers.push(waker);
        }
    }

    /// Wakes everyone collected. Call it after the pattern's borrow has ended.
    ///
    /// A waker is foreign code and its `wake` may panic. That panic is contained here
    /// (the panic hook has already reported it): each waiter collected was already
    /// taken out of its line and given what it waited for, so a wake lost to another
    /// waiter's panic would strand it for ever, holding its permits or its item.
    #[inline]
    pub(crate) fn wake_all(self) {
        if self.wakers.is_empty() {
            return; // the common case (nobody was waiting): no loop, no drop to run
        }
        for waker in self.wakers {
            let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
    }
}
