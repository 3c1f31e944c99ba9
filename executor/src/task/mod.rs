//! A task: one spawned future (later its output) and its bookkeeping, in one allocation.
//!
//! The room holds the task and everything that reaches it: the cell (`cell.rs`), its
//! raw waker (`raw_waker.rs`), the `JoinHandle` (`join.rs`, over `join_ref.rs`), the
//! wake paths from any thread (`waker.rs`, `wake_flag.rs`) and `yield_now`. Only the
//! cell, its waker and this file use `unsafe`; the others deny it.
//!
//! Lifecycle (the arrows name the functions that move a task):
//!
//! ```text
//!            Core::spawn                 Core::run_ready_batch: pop, TaskRef::poll
//!   (none) ──────────────► SCHEDULED ───────────────────────────────────► RUNNING
//!                             ▲                                             │
//!                             │ Core::wake_local / Core::drain_remote_wakes │ Poll::Pending
//!                             │ (scheduled: false -> true)                  ▼
//!                             └──────────────────────────────────────── PARKED
//!
//!   RUNNING ── Poll::Ready or a panic ──► FINISHED (output stored, JoinHandle woken, slab slot freed)
//!   SCHEDULED ── popped with `aborted` set: TaskRef::cancel ──► FINISHED (cancelled)
//!   any state ── Runtime::drop: TaskRef::cancel ──► FINISHED (cancelled)
//! ```
//!
//! # Why this module uses `unsafe`
//!
//! The rest of the executor is safe Rust. This module is the exception, because the
//! benchmark showed the safe layout's cost (see BENCHMARKS.md, `spawn_join` and
//! `idle_task_bytes`): an `Rc` for the task, a `Box` for its future and an `Arc` for
//! its waker made three allocations per spawn and ~230 bytes per parked task, where
//! tokio makes one and ~150. Here a task is one heap cell ([`cell::TaskCell`]) holding
//! the header, the joiner's waker and one slot for the future, then its output, and
//! the task's `Waker` points straight at that cell (`raw_waker.rs`), as in tokio and
//! async-task. The task's `unsafe` is confined to this module (the crate denies it
//! elsewhere, but for the stall watchdog's libc calls in `observe/thread_cpu.rs` and its
//! pointer read in `observe/watchdog.rs`) and every block cites one of the invariants below.
//!
//! # Ground rules
//! - **Refcount.** `Header::refs` counts every [`TaskRef`] (the slab's, the
//!   `JoinHandle`'s, and the loop's for the length of a poll) and every `Waker`
//!   clone. The cell is freed by whoever drops the last one, on whatever thread. So
//!   a parked task's count, less the slab's and the `JoinHandle`'s, is how many
//!   wakers can still reach it (`Header::wakers`; the snapshot's lost-waker lint).
//! - **Thread affinity.** The future, the output and the joiner's waker are touched
//!   only through a `TaskRef` or a `JoinHandle`, and both are `!Send`: they never
//!   leave the runtime's thread. A `Waker` (which is `Send`) reaches only the
//!   [`Header`], which is `Sync`.
//! - **One occupant.** The slot holds the future, then the output, then nothing;
//!   [`Header::stage`] says which, and nobody reads the slot but as that [`Stage`]
//!   says. The future is dropped before the output is written, so the two share the
//!   slot's bytes. The `JoinHandle` touches the slot only once the stage is `Done` or
//!   `Failed`, when no reference to the future can exist any more; while the future
//!   is polled or dropped, the handle reads the stage alone, which lives in the header.
//! - **Empty before free.** The future is dropped by the loop (when it finishes, or
//!   is cancelled) and the output by the `JoinHandle` (taken or dropped with it) or by
//!   the loop (when the handle is already gone). Both happen on the runtime's thread,
//!   before the last `TaskRef` goes, and leave the stage `Empty`. So a cell freed by a
//!   `Waker` on another thread holds nothing that is `!Send`. (Were the rule broken,
//!   the occupant would leak rather than be dropped on the wrong thread: the slot is
//!   a union, with no destructor.)
//! - **Pinned.** The future never moves: it lives inside the heap cell from spawn
//!   until it is dropped in place.
//! - **Not re-entrant.** A task is polled only by `run_once`, one task at a time, and
//!   never from inside its own poll (a nested `block_on` panics).
//! - `scheduled` is true exactly while the task's key sits in the ready queue, so a
//!   task woken many times before it runs is queued once. It is cleared just before
//!   the poll, so a wake during the poll queues the task again, behind everyone
//!   already waiting.

mod cell;
// The task's public handle and the wake paths hold no `unsafe`: the crate's rule
// holds again inside this module's exception.
#[deny(unsafe_code)]
pub(crate) mod join;
mod join_ref;
mod raw_waker;
#[cfg(test)]
mod tests;
#[deny(unsafe_code)]
pub(crate) mod wake_flag;
#[deny(unsafe_code)]
pub(crate) mod waker;
#[deny(unsafe_code)]
pub(crate) mod yield_now;

pub(crate) use cell::{check_task_id, new_task};
pub(crate) use join_ref::{JoinRef, Output};
pub(crate) use raw_waker::header_of;

use std::fmt;
use std::marker::PhantomData;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::Poll;

use crate::task::wake_flag::WakeFlag;
use crate::task::waker::Remote;

/// A task's unique id within its runtime, never reused. Shown in traces and stall
/// reports; [`JoinHandle::id`](crate::JoinHandle::id) returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The `block_on` future's place among task ids (no task has it): in the trace, the
    /// timeline, stall reports and the watchdog.
    pub(crate) const BLOCK_ON: TaskId = TaskId(0);
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The part of a task any thread may read: what a `Waker` needs to address it.
///
/// Packed into 56 bytes, the fixed cost of every task: the id shares its word with
/// the flags and the stage ([`IdAndState`]), and the slab key shares its word with
/// the remote-wake flag (`remote_queued`, a [`WakeFlag`] carrying the key). That
/// leaves the reference count a whole `u64`.
pub(crate) struct Header {
    /// Live `TaskRef`s and `Waker`s (see "Refcount"). 64 bits: leaking a waker clone
    /// costs no memory, so only the count's range stops a leak in a loop, and 2^63
    /// clones take centuries (a `u32` took six seconds). An overflow still aborts
    /// (`acquire_ref`).
    refs: AtomicU64,
    /// The functions that know the future's concrete type.
    vtable: &'static Vtable,
    /// The way back to the runtime, from any thread.
    pub(crate) remote: Arc<Remote>,
    /// The task's id, whether it is queued, aborted, and what its slot holds.
    state: IdAndState,
    /// Where `spawn` was called, for stall reports and traces.
    pub(crate) spawned_at: &'static Location<'static>,
    /// Raised while a wake for this task sits in the remote channel, so a flood of
    /// wakes from other threads queues one message (see `waker.rs`). It carries the
    /// task's key in the runtime's slab ([`Header::key`]).
    pub(crate) remote_queued: WakeFlag,
    /// What the observers count for this task (`observe/`), for `snapshot/`.
    pub(crate) counts: TaskCounts,
}

/// A task's own counters: times polled, wakes taken in (local or remote; stale ones
/// not counted), and of those the self-wakes (woken from inside its own poll).
/// Counted by the observers, read by the snapshot. Runtime thread only, like the
/// flags; they wrap after 4 billion.
#[derive(Debug, Default)]
pub(crate) struct TaskCounts {
    pub(crate) polls: AtomicU32,
    pub(crate) wakes: AtomicU32,
    pub(crate) self_wakes: AtomicU32,
}

impl TaskCounts {
    /// Adds one to a counter: a load and a store, no read-modify-write.
    #[inline]
    pub(crate) fn count(counter: &AtomicU32) {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
    }

    /// Reads a counter.
    pub(crate) fn counted(counter: &AtomicU32) -> u32 {
        counter.load(Ordering::Relaxed)
    }
}

// The header is the fixed cost of every task (`idle_task_bytes` in benches/versus.rs);
// a new field must fit the padding or pay for itself.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Header>() == 56);

/// A task's id (the low [`ID_BITS`] bits) and its state (the bits above): whether
/// its key is in the ready queue, whether it was aborted, and its [`Stage`].
///
/// Any thread may read the id (a waker names its task by it); only the runtime's
/// thread writes the state, with a plain load and store (no read-modify-write): the
/// id bits it stores are the ones it loaded, which never change.
struct IdAndState(AtomicU64);

/// How many bits the id takes: 2^59 spawns, 18 years of a billion spawns a second.
const ID_BITS: u32 = 59;
const ID_MASK: u64 = (1 << ID_BITS) - 1;
const SCHEDULED: u64 = 1 << 63;
const ABORTED: u64 = 1 << 62;
const STAGE_SHIFT: u32 = ID_BITS;
const STAGE_MASK: u64 = 0b111 << STAGE_SHIFT;

impl IdAndState {
    #[inline]
    fn new(id: TaskId, scheduled: bool, stage: Stage) -> IdAndState {
        debug_assert!(id.0 <= ID_MASK, "checked by `check_task_id`");
        let scheduled = if scheduled { SCHEDULED } else { 0 };
        IdAndState(AtomicU64::new(
            id.0 | scheduled | (stage as u64) << STAGE_SHIFT,
        ))
    }

    #[inline]
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the bits of `mask` to those of `bits`. Runtime thread only.
    #[inline]
    fn set(&self, mask: u64, bits: u64) {
        self.0.store(self.get() & !mask | bits, Ordering::Relaxed);
    }
}

impl Header {
    /// The task's id, never reused.
    #[inline]
    pub(crate) fn id(&self) -> TaskId {
        TaskId(self.state.get() & ID_MASK)
    }

    /// The task's key in the runtime's slab.
    #[inline]
    pub(crate) fn key(&self) -> u32 {
        self.remote_queued.carried()
    }

    /// True while the key is in the ready queue. Runtime thread only.
    #[inline]
    pub(crate) fn is_scheduled(&self) -> bool {
        self.state.get() & SCHEDULED != 0
    }

    #[inline]
    pub(crate) fn set_scheduled(&self, scheduled: bool) {
        self.state
            .set(SCHEDULED, if scheduled { SCHEDULED } else { 0 });
    }

    /// Set by `JoinHandle::abort`: the loop cancels instead of polling.
    #[inline]
    pub(crate) fn is_aborted(&self) -> bool {
        self.state.get() & ABORTED != 0
    }

    pub(crate) fn set_aborted(&self) {
        self.state.set(ABORTED, ABORTED);
    }

    /// How many `Waker` clones of this task are alive: its references less the slab's
    /// `TaskRef` and, while it lives (`Stage::Running`), the `JoinHandle`'s
    /// ("Refcount"). Meaningful for a task in the slab that is not being polled (a poll
    /// holds one more `TaskRef`), at one moment: another thread may clone or drop a
    /// waker right after. While a `JoinHandle` is being dropped (the stage already
    /// `Detached`, its reference not yet given back) it counts one too many, never too
    /// few.
    pub(crate) fn wakers(&self) -> u64 {
        let handles = 1 + u64::from(self.stage() == Stage::Running);
        // Acquire, pairing with `release_ref`: a waker that another thread consumed by
        // `wake` raised `remote_queued` before giving its reference back, so whoever
        // sees the count drop sees the wake on its way too.
        self.refs.load(Ordering::Acquire).saturating_sub(handles)
    }

    /// What the slot holds now. Runtime thread only, like the flags. Inlined: the
    /// cell's functions that read it are generic, built in the spawner's crate.
    #[inline]
    pub(crate) fn stage(&self) -> Stage {
        match (self.state.get() & STAGE_MASK) >> STAGE_SHIFT {
            0 => Stage::Running,
            1 => Stage::Detached,
            2 => Stage::Done,
            3 => Stage::Failed,
            // 4: `set_stage` writes nothing else. No panic branch for other values:
            // this is read at every poll.
            _ => Stage::Empty,
        }
    }

    #[inline]
    fn set_stage(&self, stage: Stage) {
        self.state.set(STAGE_MASK, (stage as u64) << STAGE_SHIFT);
    }
}

/// What a task's slot holds, and whether a `JoinHandle` will take the output.
///
/// ```text
///   Running ───── JoinHandle dropped ─────► Detached
///      │                                       │
///      │ finish: the future completed,         │ finish: the same, and the output
///      │ panicked or was cancelled             │ is dropped at once
///      ▼                                       ▼
///   Done / Failed ── the JoinHandle takes ──► Empty
///                    or drops the output
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The future, and a `JoinHandle` waits for its output.
    Running = 0,
    /// The future, and nobody will take its output: the `JoinHandle` is gone.
    Detached = 1,
    /// The future's output, for the `JoinHandle`.
    Done = 2,
    /// The task's `Failure` (cancelled or panicked), for the `JoinHandle`.
    Failed = 3,
    /// Nothing: the future is gone and the output taken or dropped.
    Empty = 4,
}

impl Stage {
    /// True while the future is in the slot (or being dropped from it, see `cell.rs`).
    #[inline]
    pub(crate) fn holds_future(self) -> bool {
        matches!(self, Stage::Running | Stage::Detached)
    }
}

/// The type-erased operations on a task, filled in per future type by `cell.rs`.
struct Vtable {
    poll: unsafe fn(NonNull<Header>) -> Poll<()>,
    cancel: unsafe fn(NonNull<Header>),
    dealloc: unsafe fn(NonNull<Header>),
    /// Where the slot starts, in bytes from the header. It depends on the future's
    /// alignment, which a `JoinHandle<T>` cannot know: it looks the offset up here.
    slot_offset: usize,
}

/// A counted reference to a task, for the runtime's thread only.
pub(crate) struct TaskRef {
    header: NonNull<Header>,
    /// `!Send` and `!Sync`: see "Thread affinity".
    _runtime_thread_only: PhantomData<*const ()>,
}

// === impl TaskRef ===

impl TaskRef {
    /// Wraps a pointer whose reference the caller hands over.
    ///
    /// # Safety
    /// `header` points to a live task cell, and the caller owns one of its `refs`.
    unsafe fn from_owned_ref(header: NonNull<Header>) -> TaskRef {
        TaskRef {
            header,
            _runtime_thread_only: PhantomData,
        }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: "Refcount": this TaskRef owns a reference, so the cell is alive.
        unsafe { self.header.as_ref() }
    }

    /// Polls the future once. `Ready` means the task is finished (output stored,
    /// `JoinHandle` woken) and its slab slot may be freed.
    pub(crate) fn poll(&self) -> Poll<()> {
        // The cell is alive ("Refcount"), we are on the runtime's thread
        // ("Thread affinity": TaskRef is !Send), and only run_once polls ("Not
        // re-entrant").
        // SAFETY: live cell, runtime thread, not re-entrant (above).
        unsafe { (self.header().vtable.poll)(self.header) }
    }

    /// Drops the future without running it to completion; the output becomes a
    /// cancelled `JoinError`, or a panic one if the destructor panicked.
    pub(crate) fn cancel(&self) {
        // SAFETY: as for `poll`.
        unsafe { (self.header().vtable.cancel)(self.header) }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        acquire_ref(self.header());
        // SAFETY: we just took the reference the new TaskRef owns.
        unsafe { TaskRef::from_owned_ref(self.header) }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: this TaskRef owns one reference and gives it up here, once.
        unsafe { release_ref(self.header) }
    }
}

/// Takes one more reference (for a new `TaskRef` or `Waker`).
fn acquire_ref(header: &Header) {
    // Relaxed, as `Arc::clone`: a new reference is made from an existing one, which
    // keeps the cell alive meanwhile.
    let old = header.refs.fetch_add(1, Ordering::Relaxed);
    // Like `Arc`, refuse to wrap: leaking billions of wakers is a bug, not a use.
    // Abort rather than panic: a caught panic would leave the count raised, and
    // enough of them wrap it to zero and free a live cell. `Arc` aborts for the same
    // reason, and likewise stops at half the range: the other half is headroom for
    // threads that increment before one of them sees the limit.
    if old > u64::MAX / 2 {
        eprintln!(
            "glassbox: task reference count overflow (wakers leaked by the billion); aborting"
        );
        std::process::abort();
    }
}

/// Gives up one reference, and frees the cell if it was the last.
///
/// # Safety
/// The caller owns one reference to the live cell at `header` and does not use it
/// after this call.
unsafe fn release_ref(header: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the cell alive until the decrement.
    let refs = unsafe { &header.as_ref().refs };
    // Release/Acquire, as `Arc::drop`: every use of the cell by other owners happens
    // before the free below.
    if refs.fetch_sub(1, Ordering::Release) == 1 {
        std::sync::atomic::fence(Ordering::Acquire);
        // That was the last reference, so nobody else can reach the cell;
        // "Empty before free" guarantees it holds nothing thread-bound.
        // SAFETY: we dropped the last reference; the cell is empty ("Empty before free").
        unsafe { (header.as_ref().vtable.dealloc)(header) }
    }
}
