//! The remote wake path, checked by the loom model checker: no wake is ever lost.
//!
//! `executor/src/task/wake_flag.rs` is compiled into this test as it is, over loom's
//! atomics (the `sync` module below stands in for the crate's). Loom then runs the
//! model below under every interleaving of the two threads, and every outcome the
//! C11 memory model allows for each load, not just the ones x86 shows.
//!
//! The model is the remote path of `waker.rs` and phase 4 of `event_loop.rs`, cut down
//! to what decides whether a wake can be lost:
//!
//! ```text
//! waking thread                          loop thread (one turn, woken by an earlier wake)
//! ─────────────                          ───────────
//! publish: data = 1 (Relaxed)            take the eventfd count
//! task flag raised first? ─ no ─► done   notified.lower()
//!   │ yes                                drain what is queued: for each message,
//!   send a message                           task flag.lower(), then poll: read data
//!   notified raised first? ─ no ─► done
//!     │ yes
//!     write the eventfd
//! ```
//!
//! The loop starts in the state an earlier wake left: a message queued, both flags
//! raised, the eventfd written. The property, once both threads are done: the loop's
//! poll saw the data, or a message waits in the channel with the eventfd written, so
//! the loop's next turn will poll again (and see it). Anything else is a lost wake: a
//! task parked for ever with its wake swallowed.
//!
//! The data is published `Relaxed` on purpose: the only order between the two threads
//! is what the flags and the channel give. The channel is modelled with release and
//! acquire only, so nothing stronger (crossbeam's internal fences, x86's locked
//! instructions) hides a mistake in the flags. With `WakeFlag::lower` made a plain
//! store, loom finds the lost wake.

mod sync {
    pub(crate) use loom::sync::atomic::{AtomicU32, Ordering};
}

// The models exercise raise and lower; the snapshot's read of the flag is not theirs.
#[allow(dead_code)]
#[path = "../src/task/wake_flag.rs"]
mod wake_flag;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use wake_flag::WakeFlag;

/// Room for the earlier wake's message and the new one.
const SLOTS: usize = 2;

/// A multi-producer, single-consumer channel of task messages, release/acquire only.
struct Channel {
    /// Non-zero once a message was written there.
    slots: [AtomicUsize; SLOTS],
    /// The next slot a sender claims.
    tail: AtomicUsize,
}

impl Channel {
    fn new() -> Channel {
        Channel {
            slots: [AtomicUsize::new(0), AtomicUsize::new(0)],
            tail: AtomicUsize::new(0),
        }
    }

    fn send(&self, message: usize) {
        let slot = self.tail.fetch_add(1, Ordering::Relaxed);
        self.slots[slot].store(message, Ordering::Release);
    }

    /// The message at `head`, if it has arrived.
    fn receive(&self, head: usize) -> Option<usize> {
        match self.slots.get(head)?.load(Ordering::Acquire) {
            0 => None,
            message => Some(message),
        }
    }
}

/// What both threads share: the task's published state and the remote path.
struct Shared {
    data: AtomicUsize,
    task_queued: WakeFlag,
    notified: WakeFlag,
    channel: Channel,
    /// Writes to the eventfd not yet taken in by the loop.
    eventfd: AtomicUsize,
}

const TASK: usize = 7;

/// The state an earlier wake left behind: its message queued, both flags raised, the
/// eventfd written.
fn after_an_earlier_wake() -> Shared {
    let shared = Shared {
        data: AtomicUsize::new(0),
        task_queued: WakeFlag::new(),
        notified: WakeFlag::new(),
        channel: Channel::new(),
        eventfd: AtomicUsize::new(0),
    };
    assert!(shared.task_queued.raise());
    shared.channel.send(TASK);
    assert!(shared.notified.raise());
    shared.eventfd.fetch_add(1, Ordering::Relaxed);
    shared
}

/// `Remote::send`, as the waking thread runs it.
fn wake(shared: &Shared) {
    if !shared.task_queued.raise() {
        return;
    }
    shared.channel.send(TASK);
    if shared.notified.raise() {
        shared.eventfd.fetch_add(1, Ordering::Release);
    }
}

/// One turn of the loop, from its wake-up to its poll. Returns the next unread slot
/// and what the poll saw, if it polled.
fn loop_turn(shared: &Shared) -> (usize, Option<usize>) {
    shared.eventfd.swap(0, Ordering::Acquire);
    shared.notified.lower();
    let mut head = 0;
    let mut seen = None;
    while let Some(message) = shared.channel.receive(head) {
        assert_eq!(message, TASK);
        head += 1;
        shared.task_queued.lower();
        seen = Some(shared.data.load(Ordering::Relaxed));
    }
    (head, seen)
}

#[test]
fn a_remote_wake_is_never_lost_whatever_the_interleaving() {
    loom::model(|| {
        let shared = Arc::new(after_an_earlier_wake());
        let waker = loom::thread::spawn({
            let shared = Arc::clone(&shared);
            move || {
                shared.data.store(1, Ordering::Relaxed);
                wake(&shared);
            }
        });
        let (head, seen) = loop_turn(&shared);
        waker.join().unwrap();

        let polled_after_the_wake = seen == Some(1);
        let another_turn_will_poll =
            shared.channel.receive(head).is_some() && shared.eventfd.load(Ordering::Acquire) > 0;
        assert!(
            polled_after_the_wake || another_turn_will_poll,
            "lost wake: the poll saw {seen:?}, and nothing is left to wake the loop"
        );
    });
}

#[test]
fn a_flood_of_wakes_queues_at_most_one_message_per_task() {
    loom::model(|| {
        let shared = Arc::new(after_an_earlier_wake());
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let shared = Arc::clone(&shared);
                loom::thread::spawn(move || wake(&shared))
            })
            .collect();
        for waker in wakers {
            waker.join().unwrap();
        }
        // The loop has not taken the first message in: every later wake found the
        // task's flag raised and sent nothing.
        assert_eq!(shared.channel.tail.load(Ordering::Relaxed), 1);
    });
}
