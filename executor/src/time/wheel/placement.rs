//! Where a timer goes: the wheel's dimensions and the placement arithmetic that
//! picks a level and a slot for a deadline, seen from the current tick.
//!
//! # Ground rules
//! - Pure arithmetic on ticks: no state, no clock.
//! - A deadline after `elapsed` always lands in a slot strictly after `elapsed`'s
//!   own slot on its level, or in the overflow list; `NEVER` lands in the never list.

/// Bits of a tick that pick the slot within one level: 6, for 64 slots.
pub(super) const SLOT_BITS: usize = 6;

/// Slots per level.
pub(super) const SLOTS: usize = 1 << SLOT_BITS;

/// Levels in the wheel proper; the overflow list comes after them.
pub(super) const LEVELS: usize = 6;

/// The level number [`Location`] uses for the overflow list.
pub(super) const OVERFLOW: usize = LEVELS;

/// Where the overflow list is, as a [`Location`]: it has a single list.
pub(super) const OVERFLOW_LIST: Location = Location {
    level: OVERFLOW,
    slot: 0,
};

/// A deadline past what the clock can count: "never" (the wheel's ground rule 8).
pub(crate) const NEVER: u64 = u64::MAX;

/// Where timers due at [`NEVER`] wait: a list no tick ever processes.
pub(super) const NEVER_LIST: Location = Location {
    level: OVERFLOW + 1,
    slot: 0,
};

/// Ticks in one turn of the top level: 64^6 = 2^36 µs, about 19.1 hours.
pub(super) const TOP_RANGE: u64 = 1 << (SLOT_BITS * LEVELS);

/// Where a pending timer sits, for the trace: a level and a slot on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    /// 0..=5 for the wheel's levels, 6 for the overflow list, 7 for the never list.
    pub(crate) level: usize,
    /// 0..=63; always 0 on the overflow and never lists.
    pub(crate) slot: usize,
}

/// Ticks covered by one slot on `level`: 64^level.
pub(super) fn slot_width(level: usize) -> u64 {
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
/// timer to the overflow list. `NEVER` goes to the never list.
pub(super) fn placement(elapsed: u64, deadline: u64) -> Location {
    debug_assert!(deadline > elapsed, "only future deadlines are placed");
    if deadline == NEVER {
        return NEVER_LIST;
    }
    let highest_differing_bit = 63 - ((elapsed ^ deadline) | 63).leading_zeros() as usize;
    let level = highest_differing_bit / SLOT_BITS;
    if level >= LEVELS {
        return OVERFLOW_LIST;
    }
    let slot = ((deadline >> (SLOT_BITS * level)) as usize) & (SLOTS - 1);
    Location { level, slot }
}
