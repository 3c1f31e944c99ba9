//! Wakers: how a parked task gets back on the ready queue.
//!
//! A task's `Waker` points at its task cell (`task/raw_waker.rs`); the future given
//! to `block_on` gets a `Waker` built safely with [`std::task::Wake`]. Either way, a
//! wake names its target by (slab key, task id) and takes one of two paths:
//!
//! ```text
//! wake() on the runtime's thread, runtime current ─► Core::wake_local ─► ready queue
//!                                                    (a RefCell push: no atomics, no syscall)
//! wake() anywhere else ─► Remote::send ─► crossbeam channel ─► drained by run_once
//!                                      └► mio::Waker::wake, at most once per loop turn
//! ```
//!
//! # Ground rules
//! - The std contract holds: a `Waker` is `Send + Sync` and may be cloned, woken and
//!   dropped on any thread, before or after the task finishes, before or after the
//!   runtime is dropped.
//! - A slab key is reused once its task finishes, so the id is checked before
//!   scheduling: a stale waker can never wake the task that now lives under its key.
//! - A flood of remote wakes costs the loop a bounded amount of work per turn, however
//!   many threads wake how often. Two [`WakeFlag`]s see to it:
//!   - a task (or the `block_on` future) has at most one message in the channel: its
//!     flag is raised by the sender that queues it and lowered by the loop when it
//!     takes the message in (`Header::remote_queued`, `Remote::block_on_queued`);
//!   - the eventfd is written at most once per turn: `notified` is raised by the first
//!     sender and lowered by the loop just before it drains the channel, so a send
//!     after the drain always finds it down and writes the eventfd again.
//! - Once the runtime is gone, the channel's receiver is gone (or, while a `Timer` or a
//!   socket still holds the loop's state, no loop drains it, and each task's flag stays
//!   raised: at most one message per task waits there). Sends fail or are dropped
//!   unread, and the eventfd belongs to the `mio::Waker` that the `Arc` keeps alive.
//!   Waking then is a harmless no-op.
//! - A waker the loop holds for someone else (a timer's, a socket waiter's, a
//!   `JoinHandle` awaiter's) may be any `Waker`, and its `wake` may panic. The loop
//!   wakes such wakers through [`wake_foreign`], which contains the panic: the wakes
//!   after it still happen and the runtime goes on.

use std::sync::Arc;
use std::task::{Wake, Waker};

use crossbeam_channel::{Receiver, Sender};

use crate::contain::run_contained;
use crate::event_loop::context;
use crate::task::wake_flag::WakeFlag;
use crate::task::{Header, TaskId};

/// The slab key that names the future passed to `block_on`, which is not a task.
pub(crate) const BLOCK_ON_KEY: u32 = u32::MAX;

/// A wake addressed to a task: its slab key and its id (to reject stale keys).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WakeTarget {
    pub(crate) key: u32,
    pub(crate) id: TaskId,
}

/// The remote half of the runtime: what other threads need in order to wake a task.
pub(crate) struct Remote {
    /// Which runtime this is, so a waker can tell whether it is on its own loop.
    pub(crate) runtime_id: u64,
    sender: Sender<WakeTarget>,
    /// Wakes the thread out of `mio::Poll::poll`.
    io_waker: mio::Waker,
    /// Raised once a wake has been sent and the eventfd written; lowered by the loop
    /// before it drains, so later sends notify again. Coalesces a burst of wakes into
    /// one syscall. Down when the loop lowers it: whatever sits in the channel then
    /// belongs to a sender that has yet to raise it, and will.
    pub(crate) notified: WakeFlag,
    /// Raised while the `block_on` future's wake sits in the channel (a task's is in
    /// its header).
    pub(crate) block_on_queued: WakeFlag,
}

impl Remote {
    /// Creates the remote half and the receiver the loop drains.
    pub(crate) fn new(
        runtime_id: u64,
        io_waker: mio::Waker,
    ) -> (Arc<Remote>, Receiver<WakeTarget>) {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let remote = Remote {
            runtime_id,
            sender,
            io_waker,
            notified: WakeFlag::new(),
            block_on_queued: WakeFlag::new(),
        };
        (Arc::new(remote), receiver)
    }

    /// Queues a wake from outside the runtime's turn and makes sure the loop notices.
    /// `queued` is the target's own flag: if it is already raised, the target's
    /// message is in the channel and the loop has yet to take it in, so one message
    /// does for both wakes.
    fn send(&self, target: WakeTarget, queued: &WakeFlag) {
        if !queued.raise() {
            return;
        }
        if self.sender.send(target).is_err() {
            // The runtime is gone: nothing is left to wake.
            return;
        }
        if self.notified.raise() {
            // Failing to write the eventfd can only mean the runtime is being torn
            // down; the wake is in the channel either way.
            let _ = self.io_waker.wake();
        }
    }

    /// Wakes `target` on the fast path if this runtime is current on this thread,
    /// else through the channel.
    fn wake(&self, target: WakeTarget, queued: &WakeFlag) {
        let local = context::with_runtime(self.runtime_id, |core| core.wake_local(target));
        if !local {
            self.send(target, queued);
        }
    }
}

/// Wakes the task whose header this is (called by the task's `Waker` and by
/// `JoinHandle::abort`).
pub(crate) fn wake_task(header: &Header) {
    let target = WakeTarget {
        key: header.key(),
        id: header.id(),
    };
    header.remote.wake(target, &header.remote_queued);
}

/// Wakes a waker that the loop holds on someone else's behalf. If its `wake` panics
/// (a user's hand-made waker can), the panic stops here: the panic hook has already
/// reported it on stderr, and unwinding on would drop the other wakers of the same
/// timer tick or socket event unwoken, leaving their tasks parked for ever. tokio
/// contains a panicking `JoinHandle` waker the same way.
pub(crate) fn wake_foreign(waker: Waker) {
    run_contained(|| waker.wake());
}

/// The data behind the `block_on` future's `Waker`.
pub(crate) struct BlockOnWaker {
    remote: Arc<Remote>,
}

impl BlockOnWaker {
    pub(crate) fn new_waker(remote: &Arc<Remote>) -> Waker {
        Waker::from(Arc::new(BlockOnWaker {
            remote: Arc::clone(remote),
        }))
    }
}

impl Wake for BlockOnWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let target = WakeTarget {
            key: BLOCK_ON_KEY,
            id: TaskId::BLOCK_ON,
        };
        self.remote.wake(target, &self.remote.block_on_queued);
    }
}
