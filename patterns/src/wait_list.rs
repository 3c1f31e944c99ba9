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
//! # Leaving the line from the middle in O(1)
//! A future dropped while it waits (a `timeout` around an `acquire` that fired, a
//! cancelled task) must leave the line. The first version found it by scanning the
//! line: 100,000 waiters timing out in shuffled order took 1.8 s, against 0.24 s in
//! order, since each one scanned about half the line. Now every waiter that joins
//! gets a ticket (a count of all who ever joined), and the line knows the ticket of
//! its front, so a waiter's index is `ticket - front ticket`: leaving is emptying
//! that one entry, which leaves a *hole* in the line.
//!
//! ```text
//!  front ticket 40
//!   queue: [ w40 | hole | w42 | hole | hole | w45 ]   w42.place = Some(42): index 2
//! ```
//!
//! Holes at either end are trimmed at once, so the front and the back are always
//! waiters, and the common paths (join at the back, served at the front) cost what a
//! plain `VecDeque` costs. Holes in the middle wait until they reach the front; if
//! they come to outnumber the waiters, the line is compacted (and the waiters'
//! tickets renumbered). Each compaction is paid for by the removals that made its
//! holes, so leaving stays O(1) on average, and a line never holds much more than
//! twice its waiters. (A `Slab` of linked nodes would be O(1) every time, but it cost
//! the contended semaphore benchmark 9% more instructions per acquire.)
//!
//! Nodes are reused. A future that is done with its waiter may hand the node back
//! with [`WaitList::recycle`], and the next `push_back` fills it instead of
//! allocating: under contention every acquire of a semaphore waits, so without this
//! each one would cost a `malloc` and a `free` (measured in BENCHMARKS.md). Only
//! plain-data states (`S: Copy`) are recycled, so a node kept aside owns nothing that
//! could outlive its use, and `push_back` overwrites both its waker and its state.
//! //!
//! # Ground rules
//! - Everything here lives on the runtime's one thread: `Rc`, `Cell`, `RefCell`.
//! - A waiter that parks tells `executor::waits` where it stands ([`WaitList::tell`]),
//!   so a snapshot names the line and the place of each parked task.
//! - Order is arrival order; only `remove` (a future dropped while waiting) takes a
//!   waiter out of the middle.
//! - A waiter's `place` is `Some(ticket)` exactly while it is in the line, and then
//!   `queue[ticket - front_ticket]` holds it. Every way out of the line (`pop_front`,
//!   `remove`, `drain`) clears it. So `remove` of a waiter already served finds
//!   `None` and does nothing.
//! - `queue` is empty or has a waiter at both ends: holes are only ever inside.
//! - `holes` counts the holes, and `holes <= len() + HOLES_TOLERATED` after every
//!   operation.
//! - A spare node is held by nothing but the list and holds no waker; there are at
//!   most [`SPARE_NODES`] of them, so a line that was once long does not keep its
//!   memory for ever.
//! - Wakers are woken only after the owner's `RefCell` borrow ends (see [`Wakeups`]):
//!   a waker is foreign code, and may call straight back into the pattern. It may also
//!   panic, even with a payload whose destructor panics; that is contained
//!   (`contain.rs`) and does not stop the wakes after it: a waiter collected there
//!   was already given what it waited for, and only its wake tells it.

use std::cell::{Cell, RefCell, RefMut};
use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::task::Waker;

use executor::waits::{self, WaitDetail, WaitLabel};

use crate::contain::{drop_contained, run_contained};

/// One parked future: the waker to call, and what the pattern has told it so far.
pub(crate) struct Waiter<S> {
    waker: Cell<Option<Waker>>,
    state: RefCell<S>,
    /// This waiter's ticket while it is in the line; `None` once out.
    place: Cell<Option<u64>>,
}

/// The line of waiters, oldest first, and the nodes kept for reuse.
pub(crate) struct WaitList<S> {
    /// The line, oldest first; `None` is a hole, where a waiter left from the middle.
    queue: VecDeque<Option<Rc<Waiter<S>>>>,
    /// The ticket of `queue[0]`. Tickets count up by one per place in `queue`, so
    /// `queue[i]` has ticket `front_ticket + i` (wrapping: only differences matter).
    front_ticket: u64,
    /// The holes in `queue`: 0 but for waiters that left from the middle.
    holes: usize,
    /// Nodes handed back by [`recycle`](WaitList::recycle), for `push_back` to fill.
    spare: Vec<Rc<Waiter<S>>>,
}

/// How many holes past the number of waiters a line may hold before it is compacted.
/// Some slack, so a short line whose waiters come and go is not compacted at every
/// removal.
const HOLES_TOLERATED: usize = 32;

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
        match self.waker.take() {
            Some(old) if old.will_wake(waker) => self.waker.set(Some(old)),
            old => {
                self.waker.set(Some(waker.clone()));
                // Dropping a waker is foreign code: the new one is stored first, so
                // a panic there cannot leave this waiter with no waker at all.
                drop_contained(old);
            }
        }
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
            front_ticket: 0,
            holes: 0,
            spare: Vec::new(),
        }
    }

    /// Joins the back of the line, in a spare node if there is one.
    #[inline] // on every wait: a call costs more than the body
    pub(crate) fn push_back(&mut self, state: S, waker: &Waker) -> Rc<Waiter<S>> {
        let ticket = self.front_ticket.wrapping_add(self.queue.len() as u64);
        let fresh = Waiter {
            waker: Cell::new(Some(waker.clone())),
            state: RefCell::new(state),
            place: Cell::new(Some(ticket)),
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
        self.queue.push_back(Some(Rc::clone(&waiter)));
        waiter
    }

    /// The oldest waiter.
    #[inline] // on every wait: a call costs more than the body
    pub(crate) fn front(&self) -> Option<&Rc<Waiter<S>>> {
        let front = self.queue.front()?;
        Some(
            front
                .as_ref()
                .expect("the front of the line is never a hole"),
        )
    }

    /// Takes the oldest waiter out of the line.
    #[inline] // on every wait: a call costs more than the body
    pub(crate) fn pop_front(&mut self) -> Option<Rc<Waiter<S>>> {
        let front = self.queue.pop_front()?;
        let waiter = front.expect("the front of the line is never a hole");
        self.front_ticket = self.front_ticket.wrapping_add(1);
        waiter.place.set(None);
        if self.holes > 0 {
            self.trim_front();
        }
        Some(waiter)
    }

    /// Takes `waiter` out of the line wherever it is: O(1), as it knows its place
    /// (amortized: now and then the line is compacted). Returns false if it was not in
    /// it (the pattern had already taken it out, to finish it).
    pub(crate) fn remove(&mut self, waiter: &Rc<Waiter<S>>) -> bool {
        let Some(ticket) = waiter.place.take() else {
            return false;
        };
        let index = ticket.wrapping_sub(self.front_ticket) as usize;
        let left = self.queue[index].take();
        debug_assert!(
            left.is_some_and(|left| Rc::ptr_eq(&left, waiter)),
            "WaitList::remove: a waiter of another line"
        );
        self.holes += 1;
        self.trim_front();
        while let Some(None) = self.queue.back() {
            self.queue.pop_back();
            self.holes -= 1;
        }
        if self.holes > self.len() + HOLES_TOLERATED {
            self.compact();
        }
        true
    }

    /// Drops the holes at the front, so that the front is a waiter again.
    fn trim_front(&mut self) {
        while let Some(None) = self.queue.front() {
            self.queue.pop_front();
            self.front_ticket = self.front_ticket.wrapping_add(1);
            self.holes -= 1;
        }
    }

    /// Closes every hole, and gives the waiters their new tickets.
    fn compact(&mut self) {
        self.queue.retain(Option::is_some);
        self.holes = 0;
        for (index, waiter) in self.queue.iter().flatten().enumerate() {
            waiter
                .place
                .set(Some(self.front_ticket.wrapping_add(index as u64)));
        }
    }

    /// Keeps `waiter`'s node for a later `push_back`, once its future is done with it
    /// and it is out of the line (served, failed, or removed because dropped).
    ///
    /// The caller must have taken the waker out first ([`Wakeups::add`] does, for a
    /// served waiter): dropping a waker is foreign code, and this runs inside the
    /// pattern's borrow. A node something else still holds, or one past
    /// [`SPARE_NODES`], is not kept.
    #[inline] // on every wait: a call costs more than the body
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

    /// Tells the snapshot that `waiter`'s task waits in this line (`executor::waits`):
    /// on `what`, called at `at`, and at which place, when that is known in O(1) (a
    /// line with holes would need a count of those ahead: the place is left out).
    pub(crate) fn tell(
        &self,
        waiter: &Waiter<S>,
        waker: &Waker,
        what: &'static str,
        at: &'static Location<'static>,
    ) {
        let detail = match waiter.place.get() {
            Some(ticket) if self.holes == 0 => {
                WaitDetail::InLine(ticket.wrapping_sub(self.front_ticket) as usize + 1)
            }
            _ => WaitDetail::None,
        };
        waits::note(waker, WaitLabel { what, at, detail });
    }

    /// Empties the line, oldest first.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Rc<Waiter<S>>> + '_ {
        std::iter::from_fn(|| self.pop_front())
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len() - self.holes
    }

    pub(crate) fn is_empty(&self) -> bool {
        // No holes at the ends: an empty queue is an empty line.
        self.queue.is_empty()
    }
}

impl<S> fmt::Debug for WaitList<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("waiting", &self.len())
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
    /// A waker is foreign code and its `wake` may panic. That panic is contained here,
    /// payload and all (the panic hook has already reported it): each waiter collected
    /// was already taken out of its line and given what it waited for, so a wake lost
    /// to another waiter's panic would strand it for ever, holding its permits or its
    /// item.
    #[inline]
    pub(crate) fn wake_all(self) {
        let Some(first) = self.first else {
            return; // the common case (nobody was waiting): no loop, no drop to run
        };
        for waker in std::iter::once(first).chain(self.rest) {
            run_contained(|| waker.wake());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic;
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

    #[test]
    fn a_lines_debug_view_counts_its_waiters_not_its_holes() {
        let log = Arc::default();
        let waker = Waker::from(named("w", &log));
        let mut list = WaitList::new();
        let waiters: Vec<_> = (0..3).map(|i| list.push_back(i, &waker)).collect();
        assert!(list.remove(&waiters[1]), "a hole in the middle");
        assert_eq!(format!("{list:?}"), "WaitList { waiting: 2 }");
    }

    #[test]
    fn waiters_removed_from_anywhere_leave_the_rest_in_arrival_order() {
        let log = Arc::default();
        let mut list = WaitList::new();
        let waiters: Vec<_> = ["a", "b", "c", "d", "e"]
            .into_iter()
            .map(|name| list.push_back(name, &Waker::from(named(name, &log))))
            .collect();
        assert!(list.remove(&waiters[2]), "from the middle");
        assert!(list.remove(&waiters[0]), "from the front");
        assert!(list.remove(&waiters[4]), "from the back");
        assert!(
            !list.remove(&waiters[2]),
            "a second time: no longer in line"
        );
        let late = list.push_back("f", &Waker::from(named("f", &log)));
        let left: Vec<_> = list.drain().map(|waiter| *waiter.state()).collect();
        assert_eq!(left, ["b", "d", "f"]);
        assert!(list.is_empty());
        assert_eq!(list.len(), 0);
        assert!(!list.remove(&late), "drained waiters are out of line too");
    }

    #[test]
    fn removing_a_served_waiter_leaves_the_newer_one_in_its_place_alone() {
        let log = Arc::default();
        let mut list = WaitList::new();
        let served = list.push_back("served", &Waker::from(named("served", &log)));
        drop(list.pop_front());
        // The newer waiter now stands where the served one stood.
        let newer = list.push_back("newer", &Waker::from(named("newer", &log)));
        assert!(!list.remove(&served));
        assert_eq!(list.len(), 1);
        assert!(Rc::ptr_eq(list.front().unwrap(), &newer));
    }

    /// A panic payload whose destructor panics again.
    struct Bomb;

    impl Drop for Bomb {
        fn drop(&mut self) {
            panic::panic_any(Bomb);
        }
    }

    /// A waker whose `wake` panics with a [`Bomb`].
    struct Bombing;

    impl Wake for Bombing {
        fn wake(self: Arc<Self>) {
            panic::panic_any(Bomb);
        }
    }

    #[test]
    fn a_waker_panicking_with_a_bomb_does_not_stop_the_wakes_after_it() {
        let log = Arc::default();
        let mut list = WaitList::new();
        list.push_back((), &Waker::from(Arc::new(Bombing)));
        list.push_back((), &Waker::from(named("second", &log)));
        let mut wakeups = Wakeups::default();
        for waiter in list.drain() {
            wakeups.add(&waiter);
        }
        wakeups.wake_all();
        assert_eq!(*log.lock().unwrap(), ["second"]);
    }

    #[test]
    fn holes_left_in_the_middle_are_compacted_and_the_line_keeps_its_order() {
        let log = Arc::default();
        let waker = Waker::from(named("w", &log));
        let mut list = WaitList::new();
        let stuck = list.push_back(usize::MAX, &waker); // the front never leaves
        let waiters: Vec<_> = (0..1_000).map(|i| list.push_back(i, &waker)).collect();
        // Every waiter but each tenth leaves from the middle of the line.
        for (i, waiter) in waiters.iter().enumerate() {
            if i % 10 != 0 {
                assert!(list.remove(waiter));
            }
            let holes = list.queue.len() - list.len();
            assert!(holes <= list.len() + HOLES_TOLERATED, "{holes} holes");
        }
        assert_eq!(list.len(), 101);
        // Tickets renumbered by the compactions still find their waiters.
        assert!(list.remove(&waiters[500]));
        assert!(!list.remove(&waiters[501]), "it left already");
        let left: Vec<_> = list.drain().map(|waiter| *waiter.state()).collect();
        let expected: Vec<_> = std::iter::once(usize::MAX)
            .chain((0..1_000).step_by(10).filter(|&i| i != 500))
            .collect();
        assert_eq!(left, expected);
        assert!(!list.remove(&stuck));
        assert!(list.queue.is_empty());
    }
}
