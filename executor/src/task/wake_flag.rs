//! `WakeFlag`: "a wake is already on its way", shared by a waking thread and the loop.
//!
//! Two things on the remote path must happen at most once per loop turn, however many
//! threads wake how often: writing the eventfd that gets the loop out of its sleep, and
//! sending a task's key through the channel. Each is guarded by one of these flags.
//!
//! ```text
//! other thread                               the loop
//! ────────────                               ────────
//! publish the work (channel send, data)      ...
//! raise(): was it down? ── yes ─► act        lower()            (an RMW, see below)
//!                       └─ no ──► done:      then look at the work (drain the channel,
//!                                 the loop       poll the task)
//!                                 will see it
//! ```
//!
//! # Ground rules
//! - The waking side publishes its work *before* it raises the flag; the loop lowers
//!   the flag *before* it looks at the work. So a waker that finds the flag up knows
//!   the loop has yet to look, and will see the work.
//! - `lower` is a read-modify-write (`fetch_and`), not a store. A raise that found the flag
//!   up must be ordered before the lower that takes it down, so that the loop's look
//!   afterwards sees the work published before that raise. A plain store would leave
//!   the two unordered (the store-buffering pattern): the waker could find the flag up
//!   while the loop, having already lowered it, missed the work; nobody acts, and the
//!   wake is lost. Only crossbeam's internal fences and x86's locked instructions would
//!   hide that. `executor/tests/loom_wake_flag.rs` checks this file under the loom
//!   model checker, and fails with a store here.
//!
//! - The flag is the top bit of a `u32` whose other 31 bits carry a value fixed when
//!   the flag is made and never written again (a task's slab key, which a waker on
//!   any thread reads too): a task's header pays no byte of its own for the flag.
//!   Every write of the word is a read-modify-write of that one bit, so the value
//!   bits are never disturbed.
//!
//! This file is also compiled into that test, where `crate::sync` is loom's: it uses
//! nothing else from the crate.

use crate::sync::{AtomicU32, Ordering};

/// The flag's bit; the bits below it carry the value.
const RAISED: u32 = 1 << 31;

/// Up while a wake is in flight that the loop has not yet taken in; carries a value
/// of up to 31 bits beside it.
#[derive(Debug)]
pub(crate) struct WakeFlag(AtomicU32);

impl WakeFlag {
    /// A lowered flag carrying nothing (0).
    pub(crate) fn new() -> WakeFlag {
        WakeFlag::carrying(0)
    }

    /// A lowered flag carrying `value`.
    ///
    /// `value` must leave the top bit clear: it is the flag's.
    #[inline]
    pub(crate) fn carrying(value: u32) -> WakeFlag {
        debug_assert!(value < RAISED, "a wake flag carries 31 bits");
        WakeFlag(AtomicU32::new(value))
    }

    /// The value the flag was made with.
    #[inline]
    pub(crate) fn carried(&self) -> u32 {
        // Relaxed: the value bits never change after the flag is made, and whoever
        // reaches the flag on another thread was handed it after that.
        self.0.load(Ordering::Relaxed) & !RAISED
    }

    /// Raises the flag. Returns `true` if it was down: the caller is the first since
    /// the loop last looked, and must act (send, notify).
    #[inline]
    pub(crate) fn raise(&self) -> bool {
        // AcqRel: Release publishes the caller's work to the `lower` that reads this
        // value; Acquire orders it after the previous `lower`.
        self.0.fetch_or(RAISED, Ordering::AcqRel) & RAISED == 0
    }

    /// True while raised: a wake is on its way to the loop. Read by `snapshot/`, which
    /// must not call a task whose wake is in the channel a lost one.
    pub(crate) fn is_raised(&self) -> bool {
        self.0.load(Ordering::Acquire) & RAISED != 0
    }

    /// Lowers the flag: the loop is about to look at the work. Later raises act again.
    /// Returns `true` if it was up.
    #[inline]
    pub(crate) fn lower(&self) -> bool {
        // A read-modify-write, not a store: see the ground rules.
        self.0.fetch_and(!RAISED, Ordering::AcqRel) & RAISED != 0
    }
}
