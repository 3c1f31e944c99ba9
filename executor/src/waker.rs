//! Wakers: how a parked task gets back on the ready queue.
//!
//! A task's [`Waker`] is built safely with [`std::task::Wake`] over an `Arc<TaskWaker>`
//! that holds nothing but addresses: the runtime's id, the task's slab key and its
//! [`TaskId`]. Waking takes one of two paths:
//!
//! ```text
//! wake() on the runtime's thread, runtime current ─► Core::schedule ─► ready queue
//!                                                    (a RefCell push: no atomics, no syscall)
//! wake() anywhere else ─► Remote::send ─► crossbeam channel ─► drained by run_once
//!                                      └► mio::Waker::wake, at most once per loop turn
//! ```
//!
//! # Ground rules
//! - The std contract holds: a `Waker` is `Send + Sync` and may be cloned, woken and
//!   dropped on any thread, before or after the task finishes, before or after the
//!   runtime is dropped.
//! - A wake never touches a task directly; it names the task by (key, id). A slab key
//!   is reused once its task finishes, so the id is checked before scheduling: a stale
//!   waker can never wake the task that now lives under its old key.
//! - A burst of remote wakes costs at most one syscall per loop turn: `notified` is set
//!   by the first sender and cleared by the loop just before it drains the channel, so
//!   a send after the drain always finds it clear and writes the eventfd again.
//! - Once the runtime is gone, the channel's receiver is gone: sends fail and are
//!   ignored, and the eventfd belongs to the `mio::Waker` that the `Arc` keeps alive.
//!   Waking then is a harmless no-op.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Wake, Waker};

use crossbeam_channel::{Receiver, Sender};

use crate::context;
use crate::task::TaskId;

/// The slab key that names the future passed to `block_on`, which is not a task.
pub(crate) const MAIN_KEY: usize = usize::MAX;

/// A wake addressed to a task: its slab key and its id (to reject stale keys).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WakeTarget {
    pub(crate) key: usize,
    pub(crate) id: TaskId,
}

/// The remote half of the runtime: what other threads need in order to wake a task.
pub(crate) struct Remote {
    sender: Sender<WakeTarget>,
    /// Wakes the thread out of `mio::Poll::poll`.
    io_waker: mio::Waker,
    /// Set once a wake has been sent and the eventfd written; cleared by the loop
    /// before it drains. Coalesces a burst of wakes into one syscall.
    notified: AtomicBool,
}

impl Remote {
    /// Creates the remote half and the receiver the loop drains.
    pub(crate) fn new(io_waker: mio::Waker) -> (Arc<Remote>, Receiver<WakeTarget>) {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let remote = Remote {
            sender,
            io_waker,
            notified: AtomicBool::new(false),
        };
        (Arc::new(remote), receiver)
    }

    /// Queues a wake from outside the runtime's turn and makes sure the loop notices.
    pub(crate) fn send(&self, target: WakeTarget) {
        if self.sender.send(target).is_err() {
            // The runtime is gone: nothing is left to wake.
            return;
        }
        // Release: the channel send above happens-before the loop's drain that follows
        // its `swap(false)` on this flag.
        if !self.notified.swap(true, Ordering::AcqRel) {
            // Failing to write the eventfd can only mean the runtime is being torn
            // down; the wake is in the channel either way.
            let _ = self.io_waker.wake();
        }
    }

    /// Called by the loop right before draining: later sends must notify again.
    pub(crate) fn clear_notified(&self) {
        self.notified.store(false, Ordering::Release);
    }
}

/// The data behind a task's [`Waker`].
pub(crate) struct TaskWaker {
    pub(crate) runtime_id: u64,
    pub(crate) target: WakeTarget,
    pub(crate) remote: Arc<Remote>,
}

impl TaskWaker {
    /// Builds the std `Waker` for one task (or, with [`MAIN_KEY`], for `block_on`'s future).
    pub(crate) fn new_waker(runtime_id: u64, target: WakeTarget, remote: &Arc<Remote>) -> Waker {
        Waker::from(Arc::new(TaskWaker {
            runtime_id,
            target,
            remote: Arc::clone(remote),
        }))
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let target = self.target;
        let local = context::with_runtime(self.runtime_id, |core| core.wake_local(target));
        if !local {
            self.remote.send(target);
        }
    }
}
