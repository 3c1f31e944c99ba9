//! Counters the loop keeps about itself, read with `Runtime::metrics()`.
//!
//! # Ground rules
//! - Counting is plain `Cell` arithmetic on the runtime's thread: no atomics.
//! - Counters only grow; `longest_poll` only grows.

use std::cell::Cell;
use std::time::Duration;

/// A snapshot of what the runtime has done so far.
///
/// tokio equivalent: `tokio::runtime::RuntimeMetrics` (partly). asyncio has none
/// built in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Tasks spawned.
    pub tasks_spawned: u64,
    /// Tasks that finished: completed, panicked or were cancelled.
    pub tasks_finished: u64,
    /// Task polls (the `block_on` future is not a task and is not counted).
    pub polls: u64,
    /// Wakes on the runtime's own thread (the fast path).
    pub local_wakes: u64,
    /// Wakes that came through the remote channel (other threads, or outside the loop).
    pub remote_wakes: u64,
    /// Timers that came due and were woken.
    pub timers_fired: u64,
    /// Times the loop asked the reactor for events (`mio::Poll::poll`).
    pub reactor_turns: u64,
    /// The longest single poll seen (a task's, or the `block_on` future's). Unless the
    /// trace, a recorded turn or a short stall threshold asks for the precise clock, polls
    /// are timed with the kernel's coarse one and rounded up to its tick (1–4 ms):
    /// never under the truth, up to a tick over (`observe/poll_clock.rs`).
    pub longest_poll: Duration,
    /// Polls that took longer than the stall threshold.
    pub stalls: u64,
    /// Leaf futures that returned `Pending` because their task had spent its coop
    /// budget (`Builder::coop_budget`): the loop took the turn back.
    pub forced_yields: u64,
}

/// The live counters behind [`Metrics`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) tasks_spawned: Cell<u64>,
    pub(crate) tasks_finished: Cell<u64>,
    pub(crate) polls: Cell<u64>,
    pub(crate) local_wakes: Cell<u64>,
    pub(crate) remote_wakes: Cell<u64>,
    pub(crate) timers_fired: Cell<u64>,
    pub(crate) reactor_turns: Cell<u64>,
    pub(crate) longest_poll: Cell<Duration>,
    pub(crate) stalls: Cell<u64>,
    pub(crate) forced_yields: Cell<u64>,
}

impl Counters {
    /// Adds one to a counter.
    #[inline]
    pub(crate) fn bump(counter: &Cell<u64>) {
        counter.set(counter.get() + 1);
    }

    pub(crate) fn snapshot(&self) -> Metrics {
        Metrics {
            tasks_spawned: self.tasks_spawned.get(),
            tasks_finished: self.tasks_finished.get(),
            polls: self.polls.get(),
            local_wakes: self.local_wakes.get(),
            remote_wakes: self.remote_wakes.get(),
            timers_fired: self.timers_fired.get(),
            reactor_turns: self.reactor_turns.get(),
            longest_poll: self.longest_poll.get(),
            stalls: self.stalls.get(),
            forced_yields: self.forced_yields.get(),
        }
    }
}
