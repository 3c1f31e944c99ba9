//! The timer wheel: where every pending timer waits for its tick.
//!
//! This file has one job: hold the deadlines of all pending timers so the
//! runtime can ask, cheaply, "when is the next one due?" and "which ones are
//! due now?". It is a pure data structure and never reads a clock: time comes
//! in as a parameter, a *tick* of 1 µs counted from the runtime's start, so
//! tests can drive it one tick at a time or in leaps of years.
//!
//! # Where it sits in the loop
//!
//! ```text
//! Timer future, first poll ─► insert(deadline, waker) ─► TimerKey kept by the future
//!
//! each turn of the runtime loop:
//!     advance(now_tick, &mut fired) ─► the runtime wakes the waker of each `Fired`
//!     park in mio::Poll::poll until next_expiration() (a timerfd armed for it)
//!
//! Timer::reset (maybe by another task) ─► reset(key, deadline): relinked, same waker
//! Timer future, ready or dropped ─► remove(key)
//! ```
//!
//! The wheel never calls a waker itself: it hands them back in [`Fired`], so the
//! runtime decides when to wake and can trace each firing with its level and slot.
//!
//! # Levels
//!
//! A hierarchical timing wheel, after George Varghese and Tony Lauck, "Hashed
//! and Hierarchical Timing Wheels: Data Structures for the Efficient
//! Implementation of a Timer Facility" (SOSP 1987). Six levels of 64 slots: a
//! slot on level L is 64^L ticks wide, so one turn of level L spans 64^(L+1)
//! ticks.
//!
//! | level | slot width  | range (one turn) |
//! |------:|------------:|-----------------:|
//! | 0     | 1 µs        | 64 µs            |
//! | 1     | 64 µs       | 4.096 ms         |
//! | 2     | 4.096 ms    | 262 ms           |
//! | 3     | 262 ms      | 16.8 s           |
//! | 4     | 16.8 s      | 17.9 min         |
//! | 5     | 17.9 min    | 19.1 h           |
//! | 6     | (overflow)  | everything later |
//! | 7     | (never)     | `NEVER` only     |
//!
//! (With 1 ms ticks, as tokio has, the same six levels reach 2.18 years; 1 µs ticks
//! buy exact sub-millisecond deadlines for one more cascade on a long timer, and an
//! overflow list for timers more than 19 hours out.)
//!
//! A far timer starts high up, in a coarse slot. When time reaches that slot's
//! start, [`Wheel::advance`] *cascades* it: re-inserts it lower down, in a finer
//! slot, until it fires. A timer moves down at most once per level, insert and
//! cancel are O(1), and finding the next slot to process is a bit scan.
//!
//! Level 7 is the never list: timers due at [`NEVER`], past what the clock can
//! count (`Duration::MAX` from now), wait there for a `reset`, and nothing ever
//! looks at it.
//!
//! Level 6 is the overflow list: one unsorted list for timers beyond the top
//! level's current turn. It is re-examined when `elapsed` crosses into the
//! top-level turn that holds its earliest deadline; its timers that now fit
//! move into the wheel, the rest stay. Crossing other turn boundaries could
//! move nothing, so those are skipped: a timer a century out costs one look.
//!
//! # Ground rules
//!
//! 1. Time is a parameter. `elapsed` changes only in `advance`, and never goes
//!    backwards.
//! 2. No timer fires early: a timer fires in the first `advance(now)` with
//!    `now >= deadline`, and no deadline is ever clamped.
//! 3. Every pending entry has `deadline > elapsed` and sits in exactly one list:
//!    a slot of levels 0..=5, the overflow list, or the never list. A fired
//!    entry is in none.
//! 4. An entry on level L < 6 lies in the same 64^(L+1)-tick turn as `elapsed`,
//!    in a slot strictly after the one `elapsed` is in. So every occupied slot
//!    starts in the future, and every entry on a lower level comes due before
//!    any entry on a higher level.
//! 5. An overflow entry lies in a later top-level turn (2^36 ticks) than
//!    `elapsed`. While the overflow list is non-empty, `overflow_earliest` is at
//!    most the deadline of each entry in it.
//! 6. A slot's bit in its level's `occupied` bitmap is set exactly when the
//!    slot's list is non-empty.
//! 7. An entry, pending or fired, stays in the slab until its owner calls
//!    `remove`, so the key a `Timer` future holds is never reused under it. A
//!    key is valid from `insert` until `remove`, and not after.
//! 8. The tick [`NEVER`] (`u64::MAX`) is past what the clock can count: a timer
//!    due then waits in the never list, which `next_expiration` and `advance`
//!    never look at (nor is `advance` ever called with `NEVER`). It is kept only
//!    so that `reset` can still move it, waker and all.
//!
//! Break rule 8 and "never" comes due: a paused clock that finds nothing else to
//! do jumps to the far timer, and `timeout(Duration::MAX, ..)` gives up (issue 21).

use std::task::Waker;

use slab::Slab;

mod list;
mod placement;

use list::{Entry, Level, Links, List, State, key_of, link_of};
use placement::{
    LEVELS, NEVER_LIST, OVERFLOW, OVERFLOW_LIST, SLOT_BITS, TOP_RANGE, placement, slot_width,
};
pub(crate) use placement::{Location, NEVER};

/// The panic message for a key the wheel does not know.
const UNKNOWN_KEY: &str = "timer wheel: unknown TimerKey; a key is only valid until it is \
     removed (was it removed twice, or used after remove?)";

/// The hierarchical timer wheel: six levels of 64 slots and an overflow list.
///
/// See the module docs for the levels and the ground rules.
pub(crate) struct Wheel {
    /// Every timer not yet removed, pending or fired (ground rule 7).
    entries: Slab<Entry>,
    /// Levels 0..=5; a slot's list runs through `Links` in `entries`.
    levels: [Level; LEVELS],
    /// The overflow list: timers beyond the top level's turn.
    overflow: List,
    /// The never list: timers due at `NEVER` (ground rule 8).
    never: List,
    /// A lower bound on the overflow deadlines (ground rule 5). Cancelling
    /// leaves it alone, so it may be early; early only costs one spurious look
    /// at the overflow list, and keeps cancel O(1).
    overflow_earliest: u64,
    /// The last tick `advance` processed.
    elapsed: u64,
    /// Entries not yet fired.
    pending: usize,
}

/// Names one timer in the wheel, from `insert` until `remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimerKey(usize);

impl TimerKey {
    /// The key as a number, for the trace.
    pub(crate) fn index(self) -> usize {
        self.0
    }
}

/// What `advance` hands back for each timer that came due.
#[derive(Debug)]
pub(crate) struct Fired {
    /// The tick the timer was due at (at most the `now` it fired in).
    pub(crate) deadline: u64,
    /// The list it fired from: a level-0 slot, or a higher one when `advance`
    /// jumped past its deadline in one call.
    pub(crate) location: Location,
    /// The timer's waker, taken out of the wheel; the runtime wakes it.
    pub(crate) waker: Option<Waker>,
}

// === impl Wheel ===

impl Wheel {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> Wheel {
        Wheel {
            entries: Slab::new(),
            levels: [Level::EMPTY; LEVELS],
            overflow: List::EMPTY,
            never: List::EMPTY,
            overflow_earliest: u64::MAX,
            elapsed: 0,
            pending: 0,
        }
    }

    /// The last tick `advance` processed (0 before the first call).
    #[cfg(test)]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Adds a timer due at tick `deadline` that will hand back `waker`.
    ///
    /// A deadline at or before `elapsed` is fired at once and its waker
    /// dropped, not called: the caller is running, so it checks
    /// [`Wheel::is_fired`].
    pub(crate) fn insert(&mut self, deadline: u64, waker: Waker) -> TimerKey {
        // Every entry starts out fired, with no waker. One with a future
        // deadline then gets its waker and is linked into a list, which is
        // what makes it pending.
        let key = self.entries.insert(Entry {
            deadline,
            waker: None,
            state: State::Fired,
        });
        if deadline > self.elapsed {
            self.entries[key].waker = Some(waker);
            self.link(key, placement(self.elapsed, deadline));
            self.pending += 1;
        }
        TimerKey(key)
    }

    /// Where the timer sits now, or `None` once it has fired.
    pub(crate) fn location(&self, key: TimerKey) -> Option<Location> {
        match self.entry(key).state {
            State::Pending(links) => Some(links.location()),
            State::Fired => None,
        }
    }

    /// The tick the timer is due at.
    #[cfg(test)]
    pub(crate) fn deadline(&self, key: TimerKey) -> u64 {
        self.entry(key).deadline
    }

    /// Whether the timer has come due (it stays fired until removed).
    pub(crate) fn is_fired(&self, key: TimerKey) -> bool {
        matches!(self.entry(key).state, State::Fired)
    }

    /// Makes the timer hand back `waker` when it fires.
    ///
    /// Clones only when the stored waker would not wake the same task, so a
    /// future re-polled by the same task pays nothing.
    pub(crate) fn set_waker(&mut self, key: TimerKey, waker: &Waker) {
        let entry = self.entry_mut(key);
        match (&entry.state, &mut entry.waker) {
            (_, Some(current)) if current.will_wake(waker) => {}
            // Fired: its waker was handed back already and nobody would wake
            // a new one. The owner learns of the firing from `is_fired`.
            (State::Fired, _) => {}
            // Pending: a new waker, or the first since a `reset` revived it.
            (State::Pending(_), slot) => *slot = Some(waker.clone()),
        }
    }

    /// Moves the timer to tick `deadline`, earlier or later, keeping its waker,
    /// so the task waiting on it is woken at the new deadline. A fired timer
    /// becomes pending again (its owner, woken already, sets a waker when it
    /// polls). O(1).
    ///
    /// Returns the waker if `deadline` is at or before `elapsed`: the timer is
    /// fired at once, and the caller must wake it, because the task waiting on
    /// the timer need not be the one moving it.
    pub(crate) fn reset(&mut self, key: TimerKey, deadline: u64) -> Option<Waker> {
        if self.location(key).is_some() {
            self.unlink(key.0);
            self.pending -= 1;
        }
        let elapsed = self.elapsed;
        let entry = self.entry_mut(key);
        entry.deadline = deadline;
        if deadline <= elapsed {
            entry.state = State::Fired;
            return entry.waker.take();
        }
        self.link(key.0, placement(elapsed, deadline));
        self.pending += 1;
        None
    }

    /// Cancels a pending timer, or releases a fired one; the key is dead after.
    ///
    /// Returns where the timer was if it was still pending (for the trace), or
    /// `None` if it had fired. O(1): the entry is unlinked from its list.
    ///
    /// # Panics
    ///
    /// If the key was already removed.
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Location> {
        let location = self.location(key);
        if location.is_some() {
            self.unlink(key.0);
            self.pending -= 1;
        }
        self.entries.remove(key.0);
        location
    }

    /// The earliest tick at which `advance` has work, or `None` if no timer is
    /// pending.
    ///
    /// This is the start of the next occupied slot. On levels above 0 a slot
    /// may start before any deadline in it: `advance` then only cascades. It
    /// is never later than the earliest deadline, and always after `elapsed`.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.next_list().map(|(start, _)| start)
    }

    /// Processes every list whose start is at or before `now`, in time order,
    /// then sets `elapsed` to `now`. A `now` before `elapsed` does nothing.
    ///
    /// Each timer due by `now` is marked fired and pushed onto `fired`, with
    /// its waker; the others in a processed list cascade to a lower level.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<Fired>) {
        debug_assert!(now < NEVER, "the clock never reaches NEVER");
        while let Some((start, location)) = self.next_list() {
            if start > now {
                break;
            }
            // Step time to the list's start before emptying it. Ground rule 4
            // still holds for every other list (they all start later), and the
            // timers we re-insert are placed against this start, which puts
            // each one on a strictly lower level than the one it leaves.
            self.elapsed = start;
            self.process(location, now, fired);
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// Every pending timer's deadline, list and waker (none yet if a `reset` revived it
    /// after it fired), in no particular order (`snapshot/`).
    pub(crate) fn pending_timers(
        &self,
    ) -> impl Iterator<Item = (u64, Location, Option<&Waker>)> + '_ {
        self.entries
            .iter()
            .filter_map(|(_, entry)| match &entry.state {
                State::Pending(links) => {
                    Some((entry.deadline, links.location(), entry.waker.as_ref()))
                }
                State::Fired => None,
            })
    }

    /// How many timers are pending (inserted, not fired, not removed).
    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// The entry behind `key`, or a panic naming the mistake.
    fn entry(&self, key: TimerKey) -> &Entry {
        self.entries.get(key.0).expect(UNKNOWN_KEY)
    }

    /// The entry behind `key`, mutably, or a panic naming the mistake.
    fn entry_mut(&mut self, key: TimerKey) -> &mut Entry {
        self.entries.get_mut(key.0).expect(UNKNOWN_KEY)
    }

    /// The next list `advance` must process and the tick at which it starts.
    fn next_list(&self) -> Option<(u64, Location)> {
        if self.pending == 0 {
            return None; // asked twice a turn: spare the walk over the levels
        }
        // Lower levels come due first (ground rule 4), so the first occupied
        // level holds the answer, and on it the lowest set bit.
        for (level, wheel) in self.levels.iter().enumerate() {
            if wheel.occupied != 0 {
                let slot = wheel.occupied.trailing_zeros() as usize;
                // The slot lies in elapsed's current turn of this level: keep
                // elapsed's bits above the level, put the slot number in.
                let turn_mask = !(slot_width(level + 1) - 1);
                let start = (self.elapsed & turn_mask) | ((slot as u64) << (SLOT_BITS * level));
                debug_assert!(start > self.elapsed, "an occupied slot lies in the past");
                return Some((start, Location { level, slot }));
            }
        }
        // Nothing in the wheel proper. The overflow list needs a look when
        // time enters the top-level turn holding its earliest deadline: no
        // entry can move down before that. (The never list needs none, ever.)
        let start = self.overflow_earliest & !(TOP_RANGE - 1);
        self.overflow.head.map(|_| (start, OVERFLOW_LIST))
    }

    /// Empties one list: fires what is due by `now`, re-places the rest
    /// against `elapsed` (which `advance` has set to the list's start).
    fn process(&mut self, location: Location, now: u64, fired: &mut Vec<Fired>) {
        // Detach the whole list first: a timer re-placed from the overflow
        // list may go back onto it, and must not be met again in this walk.
        let mut cursor = std::mem::take(self.list_mut(location)).head;
        if location.level < LEVELS {
            self.levels[location.level].occupied &= !(1 << location.slot);
        }
        while let Some(link) = cursor {
            let key = key_of(link);
            let entry = &mut self.entries[key];
            cursor = entry.links().next;
            if entry.deadline <= now {
                entry.state = State::Fired;
                fired.push(Fired {
                    deadline: entry.deadline,
                    location,
                    waker: entry.waker.take(),
                });
                self.pending -= 1;
            } else {
                let to = placement(self.elapsed, entry.deadline);
                debug_assert!(
                    to.level < location.level || location.level == OVERFLOW,
                    "a cascade must move a timer down"
                );
                self.link(key, to);
            }
        }
    }

    /// Appends entry `key` at the tail of the list at `location`.
    fn link(&mut self, key: usize, location: Location) {
        let list = self.list_mut(location);
        let old_tail = list.tail.replace(link_of(key));
        if old_tail.is_none() {
            list.head = Some(link_of(key));
        }
        if let Some(old_tail) = old_tail {
            self.entries[key_of(old_tail)].links_mut().next = Some(link_of(key));
        }
        let entry = &mut self.entries[key];
        // Levels fit in 3 bits and slots in 6: the casts cannot truncate.
        entry.state = State::Pending(Links {
            level: location.level as u8,
            slot: location.slot as u8,
            prev: old_tail,
            next: None,
        });
        // (The never list needs no bookkeeping: no tick ever processes it.)
        match location {
            OVERFLOW_LIST if old_tail.is_none() => {
                // First entry of a fresh overflow list: it alone sets the bound.
                self.overflow_earliest = entry.deadline;
            }
            OVERFLOW_LIST => self.overflow_earliest = self.overflow_earliest.min(entry.deadline),
            NEVER_LIST => {}
            _ => self.levels[location.level].occupied |= 1 << location.slot,
        }
    }

    /// Takes pending entry `key` out of its list, in O(1) thanks to the links.
    fn unlink(&mut self, key: usize) {
        let links = self.entries[key].links();
        let (location, prev, next) = (links.location(), links.prev, links.next);
        match prev {
            Some(prev) => self.entries[key_of(prev)].links_mut().next = next,
            None => self.list_mut(location).head = next,
        }
        match next {
            Some(next) => self.entries[key_of(next)].links_mut().prev = prev,
            None => self.list_mut(location).tail = prev,
        }
        let list_now_empty = prev.is_none() && next.is_none();
        if list_now_empty && location.level < LEVELS {
            self.levels[location.level].occupied &= !(1 << location.slot);
        }
    }

    /// The list at `location`.
    fn list_mut(&mut self, location: Location) -> &mut List {
        match location {
            OVERFLOW_LIST => &mut self.overflow,
            NEVER_LIST => &mut self.never,
            _ => &mut self.levels[location.level].lists[location.slot],
        }
    }
}

#[cfg(test)]
mod tests;
