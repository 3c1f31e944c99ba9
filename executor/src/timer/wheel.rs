//! The timer wheel: where every pending timer waits for its tick.
//!
//! This file has one job: hold the deadlines of all pending timers so the
//! runtime can ask, cheaply, "when is the next one due?" and "which ones are
//! due now?". It is a pure data structure and never reads a clock: time comes
//! in as a parameter, a *tick* of 1 ms counted from the runtime's start, so
//! tests can drive it one tick at a time or in leaps of years.
//!
//! # Where it sits in the loop
//!
//! ```text
//! Timer future, first poll ─► insert(deadline, waker) ─► TimerKey kept by the future
//!
//! each turn of the runtime loop:
//!     advance(now_tick, &mut fired) ─► the runtime wakes the waker of each `Fired`
//!     park in mio::Poll::poll, timeout = next_expiration() - now_tick
//!
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
//! | 0     | 1 ms        | 64 ms            |
//! | 1     | 64 ms       | 4.096 s          |
//! | 2     | 4.096 s     | 4.37 min         |
//! | 3     | 4.37 min    | 4.66 h           |
//! | 4     | 4.66 h      | 12.4 days        |
//! | 5     | 12.4 days   | 2.18 years       |
//! | 6     | (overflow)  | everything later |
//!
//! A far timer starts high up, in a coarse slot. When time reaches that slot's
//! start, [`Wheel::advance`] *cascades* it: re-inserts it lower down, in a finer
//! slot, until it fires. A timer moves down at most once per level, insert and
//! cancel are O(1), and finding the next slot to process is a bit scan.
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
//!    a slot of levels 0..=5, or the overflow list. A fired entry is in none.
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

use std::fmt;
use std::num::NonZeroU32;
use std::task::Waker;

use slab::Slab;

/// Bits of a tick that pick the slot within one level: 6, for 64 slots.
const SLOT_BITS: usize = 6;

/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;

/// Levels in the wheel proper; the overflow list comes after them.
const LEVELS: usize = 6;

/// The level number [`Location`] uses for the overflow list.
const OVERFLOW: usize = LEVELS;

/// Where the overflow list is, as a [`Location`]: it has a single list.
const OVERFLOW_LIST: Location = Location {
    level: OVERFLOW,
    slot: 0,
};

/// Ticks in one turn of the top level: 64^6 = 2^36, about 2.18 years.
const TOP_RANGE: u64 = 1 << (SLOT_BITS * LEVELS);

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

/// Where a pending timer sits, for the trace: a level and a slot on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    /// 0..=5 for the wheel's levels, 6 for the overflow list.
    pub(crate) level: usize,
    /// 0..=63; always 0 on the overflow list.
    pub(crate) slot: usize,
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

/// One timer in the slab.
struct Entry {
    /// The tick at which it is due.
    deadline: u64,
    /// Who to wake. Taken (left `None`) when the timer fires.
    waker: Option<Waker>,
    /// Pending in a list, or fired.
    state: State,
}

/// The two states of an entry.
enum State {
    /// Entered by `insert` (deadline in the future) and by each cascade. The
    /// entry is linked into the list at `Links::location`; only `advance`
    /// fires it and only `remove` takes it out.
    Pending(Links),
    /// Entered when `advance` reaches the deadline, or at once by `insert` for
    /// a deadline already past. In no list; waits for its owner's `remove`.
    Fired,
}

/// A slab key as stored in the lists: key + 1 in a `NonZeroU32`, so that
/// `Option<Link>` takes 4 bytes and a pending timer 40 in the slab instead of 72
/// with `Option<usize>` (the `pending_timer_bytes` benchmark row).
type Link = NonZeroU32;

/// An entry's place in an intrusive doubly linked list of slab keys.
#[derive(Clone, Copy)]
struct Links {
    /// Which list it is in: the level (6 = overflow) and the slot, packed small
    /// for the same reason as [`Link`].
    level: u8,
    slot: u8,
    /// The entry before it, or `None` if it is the head.
    prev: Option<Link>,
    /// The entry after it, or `None` if it is the tail.
    next: Option<Link>,
}

impl Links {
    fn location(&self) -> Location {
        Location {
            level: usize::from(self.level),
            slot: usize::from(self.slot),
        }
    }
}

/// The list form of a slab key.
fn link_of(key: usize) -> Link {
    u32::try_from(key + 1)
        .ok()
        .and_then(NonZeroU32::new)
        .expect("timer wheel: more than 4 billion timers at once")
}

/// The slab key a list link stands for.
fn key_of(link: Link) -> usize {
    link.get() as usize - 1
}

/// One level: 64 list heads and a bitmap saying which are non-empty.
struct Level {
    /// Bit `s` is set exactly when `lists[s]` is non-empty (ground rule 6).
    occupied: u64,
    /// Each slot's list of entries.
    lists: [List; SLOTS],
}

impl Level {
    /// A level with every slot empty.
    const EMPTY: Level = Level {
        occupied: 0,
        lists: [List::EMPTY; SLOTS],
    };
}

/// A slot's list: entries are appended at the tail and walked from the head, so
/// timers that share a deadline fire in the order they were set (as tokio's do).
#[derive(Clone, Copy, Default)]
struct List {
    head: Option<Link>,
    tail: Option<Link>,
}

impl List {
    const EMPTY: List = List {
        head: None,
        tail: None,
    };
}

/// Ticks covered by one slot on `level`: 64^level.
fn slot_width(level: usize) -> u64 {
    1 << (SLOT_BITS * level)
}

/// Where a timer due at `deadline` belongs, seen from `elapsed`.
///
/// The level is the group of six bits holding the highest bit where `elapsed`
/// and `deadline` differ. If that bit lies in group L, the two agree on every
/// bit above it: the deadline is in the same 64^(L+1)-tick turn of level L as
/// `elapsed`, so level L's 64 slots can tell it apart, and its slot is simply
/// group L of the deadline's bits. ORing in 63 makes a difference in the low
/// six bits alone count as level 0.
///
/// Note it is the highest differing bit, not the distance, that picks the
/// level: from tick 63, tick 64 is one tick away but goes to level 1, because
/// level 0 only ever holds the 64 ticks of `elapsed`'s own aligned turn. Its
/// level-1 slot starts at tick 64, so it still fires exactly on time.
///
/// Since `deadline > elapsed`, at that highest differing bit the deadline has
/// a 1 and `elapsed` a 0: the slot is strictly after `elapsed`'s slot on that
/// level (ground rule 4). A difference above the top level's bits sends the
/// timer to the overflow list.
fn placement(elapsed: u64, deadline: u64) -> Location {
    debug_assert!(deadline > elapsed, "only future deadlines are placed");
    let highest_differing_bit = 63 - ((elapsed ^ deadline) | 63).leading_zeros() as usize;
    let level = highest_differing_bit / SLOT_BITS;
    if level >= LEVELS {
        return OVERFLOW_LIST;
    }
    let slot = ((deadline >> (SLOT_BITS * level)) as usize) & (SLOTS - 1);
    Location { level, slot }
}

// === impl Wheel ===

impl Wheel {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> Wheel {
        Wheel {
            entries: Slab::new(),
            levels: [Level::EMPTY; LEVELS],
            overflow: List::EMPTY,
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
        match &mut self.entry_mut(key).waker {
            Some(current) if current.will_wake(waker) => {}
            Some(current) => *current = waker.clone(),
            // Fired: its waker was handed back already and nobody would wake
            // a new one. The owner learns of the firing from `is_fired`.
            None => {}
        }
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
        // entry can move down before that.
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
        if location.level < LEVELS {
            self.levels[location.level].occupied |= 1 << location.slot;
        } else if old_tail.is_none() {
            // First entry of a fresh overflow list: it alone sets the bound.
            self.overflow_earliest = entry.deadline;
        } else {
            self.overflow_earliest = self.overflow_earliest.min(entry.deadline);
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
        if location.level == OVERFLOW {
            &mut self.overflow
        } else {
            &mut self.levels[location.level].lists[location.slot]
        }
    }
}

impl fmt::Debug for Wheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The bitmaps show the wheel at a glance: bit s of level L is slot s.
        let occupied: Vec<String> = self
            .levels
            .iter()
            .map(|level| format!("{:#018x}", level.occupied))
            .collect();
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("pending", &self.pending)
            .field("fired_not_removed", &(self.entries.len() - self.pending))
            .field("occupied", &occupied)
            .field("overflow", &self.overflow.head.is_some())
            .finish_non_exhaustive()
    }
}

// === impl Entry ===

impl Entry {
    /// Its links; only pending entries are in a list (ground rule 3).
    fn links(&self) -> Links {
        match self.state {
            State::Pending(links) => links,
            State::Fired => unreachable!("timer wheel: a fired entry was found in a list"),
        }
    }

    /// Its links, mutably; see [`Entry::links`].
    fn links_mut(&mut self) -> &mut Links {
        match &mut self.state {
            State::Pending(links) => links,
            State::Fired => unreachable!("timer wheel: a fired entry was found in a list"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use proptest::prelude::*;

    /// Three years of milliseconds: past the top level's 2.18 years.
    const THREE_YEARS: u64 = 3 * 365 * 24 * 60 * 60 * 1000;

    /// A waker that counts how often it is woken.
    struct CountingWaker(AtomicUsize);

    impl CountingWaker {
        fn wakes(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        (counter.clone(), Waker::from(counter))
    }

    fn insert(wheel: &mut Wheel, deadline: u64) -> TimerKey {
        wheel.insert(deadline, Waker::noop().clone())
    }

    /// Advances and returns the deadlines that fired.
    fn advance(wheel: &mut Wheel, now: u64) -> Vec<u64> {
        let mut fired = Vec::new();
        wheel.advance(now, &mut fired);
        fired.iter().map(|f| f.deadline).collect()
    }

    fn at(level: usize, slot: usize) -> Location {
        Location { level, slot }
    }

    // --- placement arithmetic ---

    #[test]
    fn entry_1_tick_ahead_goes_to_level_0() {
        assert_eq!(placement(0, 1), at(0, 1));
    }

    #[test]
    fn entry_63_ticks_ahead_stays_on_level_0() {
        assert_eq!(placement(0, 63), at(0, 63));
    }

    #[test]
    fn entry_64_ticks_ahead_goes_to_level_1() {
        assert_eq!(placement(0, 64), at(1, 1));
    }

    #[test]
    fn entry_4096_ticks_ahead_goes_to_level_2() {
        assert_eq!(placement(0, 4096), at(2, 1));
    }

    #[test]
    fn crossing_an_aligned_boundary_picks_the_level_not_the_distance() {
        // One tick apart, but 64 starts a new level-0 turn.
        assert_eq!(placement(63, 64), at(1, 1));
        assert_eq!(placement(64, 65), at(0, 1));
    }

    #[test]
    fn each_level_spans_64_slots_of_64_to_the_level_ticks() {
        for level in 0..LEVELS {
            let width = slot_width(level);
            assert_eq!(
                placement(0, width),
                at(level, 1),
                "level {level} first slot"
            );
            assert_eq!(
                placement(0, 64 * width - 1),
                at(level, 63),
                "level {level} last slot"
            );
        }
    }

    #[test]
    fn entry_beyond_the_top_level_goes_to_overflow() {
        assert_eq!(placement(0, TOP_RANGE - 1), at(5, 63));
        assert_eq!(placement(0, TOP_RANGE), OVERFLOW_LIST);
        assert_eq!(placement(0, THREE_YEARS), OVERFLOW_LIST);
        assert_eq!(placement(0, u64::MAX / 2), OVERFLOW_LIST);
    }

    #[test]
    fn insert_reports_the_placement_as_its_location() {
        let mut wheel = Wheel::new();
        let key = insert(&mut wheel, 5 * 64 + 3);
        assert_eq!(wheel.location(key), Some(at(1, 5)));
        assert_eq!(wheel.deadline(key), 5 * 64 + 3);
    }

    // --- firing ---

    #[test]
    fn fires_at_exact_deadline_not_before() {
        let mut wheel = Wheel::new();
        let key = insert(&mut wheel, 1000);
        assert!(advance(&mut wheel, 999).is_empty());
        assert!(!wheel.is_fired(key));
        assert_eq!(advance(&mut wheel, 1000), vec![1000]);
        assert!(wheel.is_fired(key));
        assert_eq!(wheel.location(key), None);
        assert_eq!(wheel.pending(), 0);
    }

    #[test]
    fn cascade_from_level_2_to_level_0_fires_exactly_on_time() {
        let mut wheel = Wheel::new();
        let deadline = 3 * 4096 + 5 * 64 + 7;
        let key = insert(&mut wheel, deadline);
        assert_eq!(wheel.location(key), Some(at(2, 3)));
        // Walking one tick at a time, the timer moves down as each slot begins.
        for now in 1..deadline {
            assert!(advance(&mut wheel, now).is_empty(), "fired early at {now}");
            let expected = match now {
                ..12288 => at(2, 3),
                12288..12608 => at(1, 5),
                _ => at(0, 7),
            };
            assert_eq!(wheel.location(key), Some(expected), "at tick {now}");
        }
        let mut fired = Vec::new();
        wheel.advance(deadline, &mut fired);
        assert_eq!(fired.len(), 1);
        assert_eq!((fired[0].deadline, fired[0].location), (deadline, at(0, 7)));
    }

    #[test]
    fn jumping_past_a_deadline_fires_it_from_its_high_slot() {
        let mut wheel = Wheel::new();
        insert(&mut wheel, 3 * 4096 + 5);
        let mut fired = Vec::new();
        wheel.advance(1_000_000, &mut fired);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].location, at(2, 3));
        assert_eq!(wheel.elapsed(), 1_000_000);
    }

    #[test]
    fn insert_of_a_past_deadline_is_fired_at_once() {
        let mut wheel = Wheel::new();
        advance(&mut wheel, 500);
        let (counter, waker) = counting_waker();
        let past = wheel.insert(499, waker.clone());
        let now = wheel.insert(500, waker);
        assert!(wheel.is_fired(past) && wheel.is_fired(now));
        assert_eq!(wheel.pending(), 0);
        assert_eq!(wheel.next_expiration(), None);
        assert!(advance(&mut wheel, 10_000).is_empty());
        assert_eq!(counter.wakes(), 0, "the wheel never wakes anyone itself");
        assert_eq!(wheel.remove(past), None);
    }

    #[test]
    fn fired_hands_back_the_waker_without_waking_it() {
        let mut wheel = Wheel::new();
        let (counter, waker) = counting_waker();
        wheel.insert(70, waker);
        let mut fired = Vec::new();
        wheel.advance(70, &mut fired);
        assert_eq!(counter.wakes(), 0);
        fired.pop().unwrap().waker.unwrap().wake();
        assert_eq!(counter.wakes(), 1);
    }

    #[test]
    fn set_waker_replaces_only_a_waker_for_another_task() {
        let mut wheel = Wheel::new();
        let (first, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        let key = wheel.insert(10, first_waker.clone());
        wheel.set_waker(key, &first_waker);
        wheel.set_waker(key, &second_waker);
        let mut fired = Vec::new();
        wheel.advance(10, &mut fired);
        fired.pop().unwrap().waker.unwrap().wake();
        assert_eq!((first.wakes(), second.wakes()), (0, 1));
        // Once fired there is nothing to wake; setting a waker is harmless.
        wheel.set_waker(key, &first_waker);
        assert!(wheel.is_fired(key));
    }

    #[test]
    fn fired_entry_keeps_its_key_until_removed() {
        let mut wheel = Wheel::new();
        let first = insert(&mut wheel, 1);
        advance(&mut wheel, 1);
        let second = insert(&mut wheel, 2);
        assert_ne!(first, second, "a fired key must not be reused while held");
        assert!(wheel.is_fired(first));
        assert_eq!(wheel.remove(first), None);
        assert_eq!(wheel.remove(second), Some(at(0, 2)));
    }

    #[test]
    fn advance_backwards_is_a_no_op() {
        let mut wheel = Wheel::new();
        advance(&mut wheel, 100);
        let key = insert(&mut wheel, 150);
        assert!(advance(&mut wheel, 50).is_empty());
        assert_eq!(wheel.elapsed(), 100);
        assert_eq!(wheel.location(key), Some(at(1, 2)));
    }

    // --- cancel ---

    #[test]
    fn cancel_unlinks_and_the_slot_bitmap_clears() {
        let mut wheel = Wheel::new();
        let keys = [10, 10, 10].map(|deadline| insert(&mut wheel, deadline));
        let bit = 1 << 10;
        // Middle, then head, then tail of the slot's list.
        assert_eq!(wheel.remove(keys[1]), Some(at(0, 10)));
        assert_eq!(wheel.levels[0].occupied, bit);
        assert_eq!(wheel.remove(keys[2]), Some(at(0, 10)));
        assert_eq!(wheel.levels[0].occupied, bit);
        assert_eq!(wheel.remove(keys[0]), Some(at(0, 10)));
        assert_eq!(wheel.levels[0].occupied, 0);
        assert_eq!(wheel.levels[0].lists[10].head, None);
        assert_eq!((wheel.pending(), wheel.next_expiration()), (0, None));
    }

    #[test]
    fn cancelled_timer_does_not_fire_and_its_neighbours_do() {
        let mut wheel = Wheel::new();
        let keys = [300, 310, 320].map(|deadline| insert(&mut wheel, deadline));
        wheel.remove(keys[1]);
        let mut fired = advance(&mut wheel, 1000);
        fired.sort();
        assert_eq!(fired, vec![300, 320]);
    }

    #[test]
    fn timers_sharing_a_deadline_fire_in_the_order_they_were_set() {
        // Straight onto level 0, and from levels 1 and 2 through one and two cascades.
        for deadline in [10, 200, 5_000] {
            let mut wheel = Wheel::new();
            let wakers: Vec<_> = (0..4).map(|_| counting_waker()).collect();
            for (_, waker) in &wakers {
                wheel.insert(deadline, waker.clone());
            }
            let mut fired = Vec::new();
            while let Some(next) = wheel.next_expiration() {
                wheel.advance(next, &mut fired);
            }
            let order: Vec<usize> = fired
                .iter()
                .map(|f| {
                    let waker = f.waker.as_ref().unwrap();
                    wakers.iter().position(|(_, w)| w.will_wake(waker)).unwrap()
                })
                .collect();
            assert_eq!(order, [0, 1, 2, 3], "deadline {deadline}");
        }
    }

    #[test]
    #[should_panic(expected = "only valid until it is removed")]
    fn remove_of_an_unknown_key_panics_with_a_clear_message() {
        let mut wheel = Wheel::new();
        let key = insert(&mut wheel, 10);
        wheel.remove(key);
        wheel.remove(key);
    }

    // --- far deadlines and the overflow list ---

    /// Steps `advance` from one `next_expiration` to the next, checking that
    /// nothing fires before `deadline`; returns how many steps it took.
    fn step_until_fired(wheel: &mut Wheel, key: TimerKey, deadline: u64) -> usize {
        let mut steps = 0;
        while let Some(next) = wheel.next_expiration() {
            assert!(
                next <= deadline,
                "next_expiration {next} is past the deadline"
            );
            let fired = advance(wheel, next);
            steps += 1;
            if next < deadline {
                assert!(fired.is_empty(), "fired early at {next}");
            } else {
                assert_eq!(fired, vec![deadline]);
            }
        }
        assert!(wheel.is_fired(key));
        steps
    }

    #[test]
    fn three_year_deadline_goes_to_overflow_and_fires_on_time_in_steps() {
        let mut wheel = Wheel::new();
        let key = insert(&mut wheel, THREE_YEARS);
        assert_eq!(wheel.location(key), Some(OVERFLOW_LIST));
        let steps = step_until_fired(&mut wheel, key, THREE_YEARS);
        assert!(steps <= LEVELS + 1, "took {steps} steps");
    }

    #[test]
    fn three_year_deadline_fires_on_time_in_one_big_jump() {
        let mut wheel = Wheel::new();
        let key = insert(&mut wheel, THREE_YEARS);
        assert!(advance(&mut wheel, THREE_YEARS - 1).is_empty());
        assert!(!wheel.is_fired(key));
        assert_eq!(advance(&mut wheel, THREE_YEARS), vec![THREE_YEARS]);
    }

    #[test]
    fn half_of_u64_max_goes_to_overflow_and_fires_on_time_in_steps() {
        let mut wheel = Wheel::new();
        let deadline = u64::MAX / 2;
        let key = insert(&mut wheel, deadline);
        assert_eq!(wheel.location(key), Some(OVERFLOW_LIST));
        let steps = step_until_fired(&mut wheel, key, deadline);
        assert!(steps <= LEVELS + 1, "took {steps} steps");
    }

    #[test]
    fn half_of_u64_max_fires_on_time_in_big_jumps() {
        let mut wheel = Wheel::new();
        let deadline = u64::MAX / 2;
        let key = insert(&mut wheel, deadline);
        let stride = 1 << 57;
        let mut now = 0;
        while now + stride < deadline {
            now += stride;
            assert!(advance(&mut wheel, now).is_empty(), "fired early at {now}");
        }
        assert!(advance(&mut wheel, deadline - 1).is_empty());
        assert!(!wheel.is_fired(key));
        assert_eq!(advance(&mut wheel, deadline), vec![deadline]);
    }

    #[test]
    fn overflow_entry_moves_into_the_wheel_when_its_turn_begins() {
        let mut wheel = Wheel::new();
        let key = insert(&mut wheel, TOP_RANGE + 100);
        assert_eq!(wheel.next_expiration(), Some(TOP_RANGE));
        assert!(advance(&mut wheel, TOP_RANGE).is_empty());
        assert_eq!(wheel.location(key), Some(at(1, 1)));
    }

    #[test]
    fn overflow_entries_in_later_turns_stay_in_overflow() {
        let mut wheel = Wheel::new();
        let near = insert(&mut wheel, TOP_RANGE + 5);
        let far = insert(&mut wheel, 3 * TOP_RANGE + 5);
        assert_eq!(advance(&mut wheel, TOP_RANGE + 5), vec![TOP_RANGE + 5]);
        assert!(wheel.is_fired(near));
        assert_eq!(wheel.location(far), Some(OVERFLOW_LIST));
        assert_eq!(wheel.next_expiration(), Some(3 * TOP_RANGE));
    }

    // --- next_expiration ---

    #[test]
    fn empty_wheel_has_no_next_expiration() {
        assert_eq!(Wheel::new().next_expiration(), None);
    }

    #[test]
    fn next_expiration_is_never_later_than_the_earliest_deadline() {
        let deadlines = [
            1,
            63,
            64,
            65,
            4095,
            4097,
            70_000,
            TOP_RANGE + 1,
            THREE_YEARS,
        ];
        for elapsed in [0, 1, 63, 64, 5000, TOP_RANGE - 1] {
            for &delta in &deadlines {
                let mut wheel = Wheel::new();
                advance(&mut wheel, elapsed);
                insert(&mut wheel, elapsed + delta);
                let next = wheel.next_expiration().unwrap();
                assert!(
                    elapsed < next && next <= elapsed + delta,
                    "{elapsed} + {delta}: {next}"
                );
            }
        }
    }

    // --- property test against a sorted map ---

    #[derive(Debug, Clone)]
    enum Op {
        /// Insert a timer due this many ticks after `elapsed`.
        Insert(u64),
        /// Remove a live key (pending or fired), picked by this number.
        Remove(usize),
        /// Advance by this many ticks.
        Advance(u64),
        /// Advance exactly to `next_expiration()`.
        AdvanceToNext,
    }

    /// Ticks from 0 to 2^40, mostly small.
    fn delta() -> impl Strategy<Value = u64> {
        prop_oneof![
            4 => 0..=130u64,
            3 => 0..=10_000u64,
            2 => 0..=1u64 << 24,
            1 => 0..=1u64 << 40,
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => delta().prop_map(Op::Insert),
            2 => any::<usize>().prop_map(Op::Remove),
            3 => delta().prop_map(Op::Advance),
            2 => Just(Op::AdvanceToNext),
        ]
    }

    /// One timer as the model sees it.
    struct Modelled {
        deadline: u64,
        wakes: Arc<CountingWaker>,
        /// How often its waker must have been woken: 1 once fired by
        /// `advance`, 0 before, and 0 forever if fired by `insert`.
        expected_wakes: usize,
        fired: bool,
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn wheel_agrees_with_a_sorted_map_model(
            start in prop_oneof![Just(0u64), 0..=u64::MAX / 4],
            ops in prop::collection::vec(op(), 1..100),
        ) {
            let mut wheel = Wheel::new();
            advance(&mut wheel, start);
            // Every live key (pending or fired, not removed), by slab key.
            let mut model: BTreeMap<usize, Modelled> = BTreeMap::new();
            let mut fired = Vec::new();
            for op in ops {
                let now = match op {
                    Op::Insert(delta) => {
                        let deadline = wheel.elapsed() + delta;
                        let (wakes, waker) = counting_waker();
                        let key = wheel.insert(deadline, waker);
                        let fired_at_once = delta == 0;
                        prop_assert_eq!(wheel.is_fired(key), fired_at_once);
                        let old = model.insert(key.0, Modelled {
                            deadline, wakes, expected_wakes: 0, fired: fired_at_once,
                        });
                        prop_assert!(old.is_none(), "a live key was reused");
                        None
                    }
                    Op::Remove(pick) => {
                        if let Some(&key) = model.keys().nth(pick % model.len().max(1)) {
                            let expected = wheel.location(TimerKey(key));
                            prop_assert_eq!(expected.is_none(), model[&key].fired);
                            prop_assert_eq!(wheel.remove(TimerKey(key)), expected);
                            model.remove(&key);
                        }
                        None
                    }
                    Op::Advance(delta) => Some(wheel.elapsed() + delta),
                    Op::AdvanceToNext => wheel.next_expiration(),
                };
                if let Some(now) = now {
                    fired.clear();
                    wheel.advance(now, &mut fired);
                    prop_assert_eq!(wheel.elapsed(), now);
                    for timer in fired.drain(..) {
                        prop_assert!(timer.deadline <= now, "fired early");
                        timer.waker.expect("a fired timer hands back its waker").wake();
                    }
                    for (&key, timer) in model.iter_mut() {
                        if !timer.fired && timer.deadline <= now {
                            timer.fired = true;
                            timer.expected_wakes = 1;
                        }
                        prop_assert_eq!(wheel.is_fired(TimerKey(key)), timer.fired);
                        // Exactly the due timers, each exactly once.
                        prop_assert_eq!(timer.wakes.wakes(), timer.expected_wakes);
                    }
                }
                let earliest = model.values().filter(|t| !t.fired).map(|t| t.deadline).min();
                prop_assert_eq!(wheel.pending(), model.values().filter(|t| !t.fired).count());
                match (wheel.next_expiration(), earliest) {
                    (None, None) => {}
                    (Some(next), Some(earliest)) => {
                        prop_assert!(wheel.elapsed() < next && next <= earliest,
                            "next_expiration {} not in ({}, {}]", next, wheel.elapsed(), earliest);
                    }
                    (next, earliest) => {
                        prop_assert!(false, "next_expiration {:?}, earliest {:?}", next, earliest);
                    }
                }
            }
        }
    }
}
