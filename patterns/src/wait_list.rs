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
//! Nodes are reused. A future that is done with its waiter may hand the node back
//! with [`WaitList::recycle`], and the next `push_back` fills it instead of
//! allocating: under contention every acquire of a semaphore waits, so without this
//! each one would cost a `malloc` and a `free` (measured in BENCHMARKS.md). Only
//! plain-data states (`S: Copy`) are recycled, so a node kept aside owns nothing that
//! could outlive its use, and `push_back` overwrites both its waker and its state.
//!
//! # Ground rules
//! - Everything here lives on the runtime's one thread: `Rc`, `Cell`, `RefCell`.
//! - Order is arrival order; only `remove` (a future dropped while waiting) takes a
//!   waiter out of the middle.
//! - A spare node is held by nothing but the list and holds no waker; there are at
//!   most [`SPARE_NODES`] of them, so a line that was once long does not keep its
//!   memory for ever.
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

/// The line of waiters, oldest first, and the nodes kept for reuse.
pub(crate) struct WaitList<S> {
    queue: VecDeque<Rc<Waiter<S>>>,
    /// Nodes handed back by [`recycle`](WaitList::recycle), for `push_back` to fill.
    spare: Vec<Rc<Waiter<S>>>,
}

/// The most spare nodes a [`WaitList`] keeps. A steady stream of waiters needs only a
/// few (a node is spare from the moment its future finishes until that task waits
/// again); past this, a finished waiter's node is simply freed.
const SPARE_NODES: usize = 32;

/// Wakers collected while a pattern's state is borrowed, woken once it is released.
///
/// Most operations wake one waiter (a release serves the front of the line, a put
/// hands its item to one getter), so the first waker is kept inline and only the
/// ones after it go to the heap: the common hand-off allocates nothing.
#[derive(Default)]
pub(crate) struct Wakeups {
    first: Option<Waker>,
    /// The wakers after `first`, in the order they were added. Empty while `first`
    /// is `None`.
    rest: Vec<Waker>,
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
            spare: Vec::new(),
        }
    }

    /// Joins the back of the line, in a spare node if there is one.
    pub(crate) fn push_back(&mut self, state: S, waker: &Waker) -> Rc<Waiter<S>> {
        let fresh = Waiter {
            waker: Cell::new(Some(waker.clone())),
            state: RefCell::new(state),
        };
        let waiter = match self.spare.pop() {
            Some(mut node) => {
                // A spare is held by the list alone and holds no waker (see `recycle`),
                // so it is ours to refill, and what it held drops nothing foreign.
                *Rc::get_mut(&mut node).expect("a spare node is held by the list alone") = fresh;
                node
            }
            None => Rc::new(fresh),
        };
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

    /// Keeps `waiter`'s node for a later `push_back`, once its future is done with it
    /// and it is out of the line (served, failed, or removed because dropped).
    ///
    /// The caller must have taken the waker out first ([`Wakeups::add`] does, for a
    /// served waiter): dropping a waker is foreign code, and this runs inside the
    /// pattern's borrow. A node something else still holds, or one past
    /// [`SPARE_NODES`], is not kept.
    pub(crate) fn recycle(&mut self, mut waiter: Rc<Waiter<S>>)
    where
        S: Copy,
    {
        let Some(node) = Rc::get_mut(&mut waiter) else {
            return; // still in the line, or held elsewhere: not ours to reuse
        };
        debug_assert!(
            node.waker.get_mut().is_none(),
            "WaitList::recycle: take the waker out first, to drop it after the borrow"
        );
        if self.spare.len() < SPARE_NODES {
            self.spare.push(waiter);
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
        let Some(waker) = waiter.take_waker() else {
            return;
        };
        if self.first.is_none() {
            self.first = Some(waker);
        } else {
            self.rest.push(waker);
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
        let Some(first) = self.first else {
            return; // the common case (nobody was waiting): no loop, no drop to run
        };
        for waker in std::iter::once(first).chain(self.rest) {
            let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    /// A waker that writes its name into a shared log when woken, and can be told to
    /// panic instead.
    struct Named {
        name: &'static str,
        log: Arc<Mutex<Vec<&'static str>>>,
        panics: bool,
    }

    impl Wake for Named {
        fn wake(self: Arc<Self>) {
            assert!(!self.panics, "{} panics in wake", self.name);
            self.log.lock().unwrap().push(self.name);
        }
    }

    fn named(name: &'static str, log: &Arc<Mutex<Vec<&'static str>>>) -> Arc<Named> {
        Arc::new(Named {
            name,
            log: log.clone(),
            panics: false,
        })
    }

    #[test]
    fn a_recycled_node_is_refilled_with_the_new_waiters_waker_and_state() {
        let log = Arc::default();
        let (old, new) = (named("old", &log), named("new", &log));
        let mut list = WaitList::new();
        let served = list.push_back(1_u32, &Waker::from(old.clone()));
        let node = Rc::as_ptr(&served);
        drop(list.pop_front()); // served: the list lets go of it
        let mut wakeups = Wakeups::default();
        wakeups.add(&served); // takes its waker, as a pattern does
        list.recycle(served);
        assert_eq!(
            Arc::strong_count(&old),
            2,
            "old's waker is held by wakeups alone"
        );

        let next = list.push_back(2, &Waker::from(new.clone()));
        assert_eq!(Rc::as_ptr(&next), node, "the node is reused");
        assert_eq!(*next.state(), 2, "with the new state");
        next.take_waker().unwrap().wake();
        assert_eq!(*log.lock().unwrap(), ["new"], "and the new waker");
        wakeups.wake_all();
        assert_eq!(*log.lock().unwrap(), ["new", "old"]);
    }

    #[test]
    fn a_node_still_in_the_line_is_not_recycled() {
        let log = Arc::default();
        let waker = Waker::from(named("w", &log));
        let mut list = WaitList::new();
        let waiting = list.push_back((), &waker);
        waiting.take_waker();
        list.recycle(Rc::clone(&waiting));
        let next = list.push_back((), &waker);
        assert!(
            !Rc::ptr_eq(&waiting, &next),
            "a fresh node, not the one in line"
        );
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn the_list_keeps_at_most_spare_nodes_nodes() {
        let log = Arc::default();
        let waker = Waker::from(named("w", &log));
        let mut list = WaitList::new();
        let finished: Vec<_> = (0..SPARE_NODES + 5)
            .map(|_| list.push_back((), &waker))
            .collect();
        for waiter in finished {
            drop(list.pop_front());
            waiter.take_waker();
            list.recycle(waiter);
        }
        assert_eq!(list.spare.len(), SPARE_NODES);
    }

    #[test]
    fn wakeups_past_the_inline_one_wake_everyone_in_the_order_added() {
        let log = Arc::default();
        let mut list = WaitList::new();
        for name in ["a", "b", "c", "d"] {
            list.push_back((), &Waker::from(named(name, &log)));
        }
        let mut wakeups = Wakeups::default();
        for waiter in list.drain() {
            wakeups.add(&waiter);
        }
        wakeups.wake_all();
        assert_eq!(*log.lock().unwrap(), ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_panicking_first_waker_does_not_stop_the_wakes_after_it() {
        let log = Arc::default();
        let mut list = WaitList::new();
        let panicking = Arc::new(Named {
            name: "first",
            log: Arc::clone(&log),
            panics: true,
        });
        list.push_back((), &Waker::from(panicking));
        list.push_back((), &Waker::from(named("second", &log)));
        let mut wakeups = Wakeups::default();
        for waiter in list.drain() {
            wakeups.add(&waiter);
        }
        wakeups.wake_all();
        assert_eq!(*log.lock().unwrap(), ["second"]);
    }
}
