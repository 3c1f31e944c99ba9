//! The wheel's storage: entries in a slab, linked into one list per slot.
//!
//! # Ground rules
//! - A pending entry is in exactly one list and carries its links; a fired entry
//!   is in none (`links` on it is a bug and panics).
//! - Lists are appended at the tail and walked from the head (first in, first out).

use std::num::NonZeroU32;
use std::task::Waker;

use super::Location;
use super::placement::SLOTS;

/// One timer in the slab.
pub(super) struct Entry {
    /// The tick at which it is due.
    pub(super) deadline: u64,
    /// Who to wake. Taken (left `None`) when the timer fires.
    pub(super) waker: Option<Waker>,
    /// Pending in a list, or fired.
    pub(super) state: State,
}

/// The two states of an entry.
pub(super) enum State {
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
pub(super) type Link = NonZeroU32;

/// An entry's place in an intrusive doubly linked list of slab keys.
#[derive(Clone, Copy)]
pub(super) struct Links {
    /// Which list it is in: the level (6 = overflow) and the slot, packed small
    /// for the same reason as [`Link`].
    pub(super) level: u8,
    pub(super) slot: u8,
    /// The entry before it, or `None` if it is the head.
    pub(super) prev: Option<Link>,
    /// The entry after it, or `None` if it is the tail.
    pub(super) next: Option<Link>,
}

impl Links {
    pub(super) fn location(&self) -> Location {
        Location {
            level: usize::from(self.level),
            slot: usize::from(self.slot),
        }
    }
}

/// The list form of a slab key.
pub(super) fn link_of(key: usize) -> Link {
    u32::try_from(key + 1)
        .ok()
        .and_then(NonZeroU32::new)
        .expect("timer wheel: more than 4 billion timers at once")
}

/// The slab key a list link stands for.
pub(super) fn key_of(link: Link) -> usize {
    link.get() as usize - 1
}

/// One level: 64 list heads and a bitmap saying which are non-empty.
pub(super) struct Level {
    /// Bit `s` is set exactly when `lists[s]` is non-empty (ground rule 6).
    pub(super) occupied: u64,
    /// Each slot's list of entries.
    pub(super) lists: [List; SLOTS],
}

impl Level {
    /// A level with every slot empty.
    pub(super) const EMPTY: Level = Level {
        occupied: 0,
        lists: [List::EMPTY; SLOTS],
    };
}

/// A slot's list: entries are appended at the tail and walked from the head, so
/// timers that share a deadline fire in the order they were set (as tokio's do).
#[derive(Clone, Copy, Default)]
pub(super) struct List {
    pub(super) head: Option<Link>,
    pub(super) tail: Option<Link>,
}

impl List {
    pub(super) const EMPTY: List = List {
        head: None,
        tail: None,
    };
}

// === impl Entry ===

impl Entry {
    /// Its links; only pending entries are in a list (ground rule 3).
    pub(super) fn links(&self) -> Links {
        match self.state {
            State::Pending(links) => links,
            State::Fired => unreachable!("timer wheel: a fired entry was found in a list"),
        }
    }

    /// Its links, mutably; see [`Entry::links`].
    pub(super) fn links_mut(&mut self) -> &mut Links {
        match &mut self.state {
            State::Pending(links) => links,
            State::Fired => unreachable!("timer wheel: a fired entry was found in a list"),
        }
    }
}
