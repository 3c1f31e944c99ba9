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
//! - `lower` is a read-modify-write (`swap`), not a store. A raise that found the flag
//!   up must be ordered before the lower that takes it down, so that the loop's look
//!   afterwards sees the work published before that raise. A plain store would leave
//!   the two unordered (the store-buffering pattern): the waker could find the flag up
//!   while the loop, having already lowered it, missed the work; nobody acts, and the
//!   wake is lost. Only crossbeam's internal fences and x86's locked instructions would
//!   hide that. `executor/tests/loom_wake_flag.rs` checks this file under the loom
//!   model checker, and fails with a store here.
//!
//! This file is also compiled into that test, where `crate::sync` is loom's: it uses
//! nothing else from the crate.

use crate::sync::{AtomicBool, Ordering};

/// Up while a wake is in flight that the loop has not yet taken in.
#[derive(Debug)]
pub(crate) struct WakeFlag(AtomicBool);

impl WakeFlag {
    pub(crate) fn new() -> WakeFlag {
        WakeFlag(AtomicBool::new(false))
    }

    /// Raises the flag. Returns `true` if it was down: the caller is the first since
    /// the loop last looked, and must act (send, notify).
    pub(crate) fn raise(&self) -> bool {
        // AcqRel: Release publishes the caller's work to the `lower` that reads this
        // value; Acquire orders it after the previous `lower`.
        !self.0.swap(true, Ordering::AcqRel)
    }

    /// True while raised: a wake is on its way to the loop. Read by `snapshot.rs`, which
    /// must not call a task whose wake is in the channel a lost one.
    pub(crate) fn is_raised(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Lowers the flag: the loop is about to look at the work. Later raises act again.
    pub(crate) fn lower(&self) {
        // A swap, not a store: see the ground rules.
        self.0.swap(false, Ordering::AcqRel);
    }
}
