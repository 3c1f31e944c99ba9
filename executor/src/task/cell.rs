//! The task cell: header, joiner's waker and one slot for the future, then its
//! output, in one allocation; and the per-future-type functions behind the vtable.
//!
//! ```text
//! TaskCell<F> (repr C)
//! ├── prefix: TaskPrefix              the same in every cell, whatever F
//! │   ├── header: Header              what a Waker may see, from any thread;
//! │   │                               its `stage` names the slot's occupant
//! │   └── join_waker: Cell<Option<Waker>>
//! └── slot: UnsafeCell<Slot<F, F::Output>>   a union, at `Vtable::slot_offset`:
//!     ├── future: F                   Running, Detached: polled and dropped in place
//!     ├── value: F::Output            Done
//!     └── failure: Failure            Failed
//! ```
//!
//! `repr(C)` fixes the field order, so a pointer to the cell is also a pointer to its
//! prefix and to its header: the vtable erases `F`. The future is always dropped
//! before the output is written, so the slot is as large as its largest occupant,
//! not their sum (tokio's `Stage` and async-task's union do the same). Where the slot
//! starts depends on `F`'s alignment: a `JoinHandle<T>`, which knows `T` but not
//! `F`, reads that offset from the vtable (the handle's side is `join_ref.rs`). The
//! task `idle_task_bytes` parks, `pending::<()>()`, takes 88 bytes: 72 of prefix and
//! a 16-byte slot, its largest occupant a `Failure`; side by side, the future and the
//! output slot took 104. The invariants cited below are the "Ground rules" of
//! `task/mod.rs`.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::mem::{ManuallyDrop, offset_of};
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll, Waker};

use super::{
    Header, ID_MASK, IdAndState, JoinRef, Stage, TaskCounts, TaskId, TaskRef, Vtable, raw_waker,
};
use crate::contain::drop_contained;
use crate::task::join::Failure;
use crate::task::wake_flag::WakeFlag;
use crate::task::waker::{Remote, wake_foreign};

/// The part of a task that does not depend on its future, at the same offsets in
/// every cell.
#[repr(C)]
pub(super) struct TaskPrefix {
    header: Header,
    /// Whoever awaits the `JoinHandle`; woken when the output is written.
    pub(super) join_waker: Cell<Option<Waker>>,
}

/// The future, then the output, in the same bytes ("One occupant"). `repr(C)` puts
/// every field at offset 0, where `join_ref.rs` reads the output. A union has no
/// destructor: the occupant's owner drops it.
#[repr(C)]
union Slot<F, T> {
    future: ManuallyDrop<F>,
    value: ManuallyDrop<T>,
    failure: ManuallyDrop<Failure>,
}

#[repr(C)]
struct TaskCell<F: Future> {
    prefix: TaskPrefix,
    /// The loop's while it holds the future (one poll at a time, "Not re-entrant";
    /// never moved, "Pinned"), the `JoinHandle`'s once it holds the output.
    slot: UnsafeCell<Slot<F, F::Output>>,
}

/// Panics if `id` is past what a task's header holds: `Core::spawn` calls it once per
/// spawn, before the task is made (once, not in `new_task`, which is built per future
/// type).
pub(crate) fn check_task_id(id: TaskId) {
    assert!(id.0 <= ID_MASK, "glassbox: task ids ran out (2^59 spawns)");
}

/// Allocates a task for `future` and returns the slab's reference and the
/// `JoinHandle`'s. The task starts SCHEDULED: the caller queues `key`.
pub(crate) fn new_task<F>(
    future: F,
    id: TaskId,
    key: u32,
    remote: Arc<Remote>,
    spawned_at: &'static Location<'static>,
) -> (TaskRef, JoinRef<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
{
    let cell = Box::new(TaskCell {
        prefix: TaskPrefix {
            header: Header {
                refs: AtomicU64::new(2),
                vtable: vtable::<F>(),
                remote,
                state: IdAndState::new(id, true, Stage::Running),
                spawned_at,
                remote_queued: WakeFlag::carrying(key),
                counts: TaskCounts::default(),
            },
            join_waker: Cell::new(None),
        },
        slot: UnsafeCell::new(Slot {
            future: ManuallyDrop::new(future),
        }),
    });
    // The header pointer carries the provenance of the whole cell: the handle reaches
    // the slot through it.
    let header = NonNull::from(Box::leak(cell)).cast::<Header>();
    // SAFETY: the cell was created with refs = 2: one for each handle made here.
    let (task, join) = unsafe {
        (
            TaskRef::from_owned_ref(header),
            TaskRef::from_owned_ref(header),
        )
    };
    // SAFETY: `F::Output` is the output type of the cell's future.
    (task, unsafe { JoinRef::new(join) })
}

// === the vtable, per future type ===

fn vtable<F>() -> &'static Vtable
where
    F: Future + 'static,
    F::Output: 'static,
{
    // A constant per `F`, promoted to a static by the compiler.
    &Vtable {
        poll: poll::<F>,
        cancel: cancel::<F>,
        dealloc: dealloc::<F>,
        slot_offset: offset_of!(TaskCell<F>, slot),
    }
}

/// # Safety
/// `header` is the header of a live `TaskCell<F>`, and the caller is the loop on the
/// runtime's thread (see `TaskRef::poll`).
unsafe fn poll<F: Future>(header: NonNull<Header>) -> Poll<()> {
    // SAFETY: the caller's contract: a live TaskCell<F>; repr(C) puts the header first.
    let cell = unsafe { header.cast::<TaskCell<F>>().as_ref() };
    // The loop never polls a finished task (it frees its slab slot at once), but the
    // soundness of the lines below should not rest on that: one compare checks it.
    if !cell.prefix.header.stage().holds_future() {
        return Poll::Ready(());
    }
    // The stage says the future is in the slot, and the loop is the only one touching
    // it, one poll at a time ("Not re-entrant"): the `JoinHandle` reads the stage
    // alone until the future is gone ("One occupant"). So this is the only reference.
    // SAFETY: the only reference to the live future in the slot (above).
    let future: &mut F = unsafe { &mut (*cell.slot.get()).future };
    // SAFETY: "Pinned": the future stays in the heap cell until dropped in place.
    let future = unsafe { Pin::new_unchecked(future) };
    // The task's waker, lent without touching the refcount: it lives no longer than
    // this poll, and the future clones it (taking a reference) if it keeps it.
    // SAFETY: our caller's reference keeps the cell alive for the whole poll.
    let waker = ManuallyDrop::new(unsafe { raw_waker::borrowed_waker(header) });
    let mut cx = Context::from_waker(&waker);
    let polled = panic::catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx)));
    let result = match polled {
        // Pending: the future parked a clone of `cx.waker()` somewhere (a timer, a
        // socket, a pattern's wait list); that is who will schedule it again.
        Ok(Poll::Pending) => return Poll::Pending,
        // SAFETY: the future is in the slot (checked above) and dropped once, here.
        Ok(Poll::Ready(value)) => match unsafe { drop_future(cell) } {
            None => Ok(value),
            Some(payload) => {
                // The destructor's panic is the task's outcome; the value it
                // produced is nobody's, and its own destructor may panic too.
                drop_contained(value);
                Err(Failure::Panic(payload))
            }
        },
        Err(payload) => {
            // A future that panicked must not be polled again, but it is still
            // dropped; a second panic from its destructor is swallowed (contained:
            // its payload may be a bomb), the first one is the story.
            // SAFETY: the future is in the slot (checked above) and dropped once, here.
            if let Some(second) = unsafe { drop_future(cell) } {
                drop_contained(second);
            }
            Err(Failure::Panic(payload))
        }
    };
    // SAFETY: `drop_future` just emptied the slot.
    unsafe { finish(cell, result) };
    Poll::Ready(())
}

/// # Safety
/// As for [`poll`].
unsafe fn cancel<F: Future>(header: NonNull<Header>) {
    // SAFETY: as in `poll`.
    let cell = unsafe { header.cast::<TaskCell<F>>().as_ref() };
    if !cell.prefix.header.stage().holds_future() {
        return;
    }
    // SAFETY: the future is in the slot (checked above) and dropped once, here.
    let error = match unsafe { drop_future(cell) } {
        None => Failure::Cancelled,
        Some(payload) => Failure::Panic(payload),
    };
    // SAFETY: `drop_future` just emptied the slot.
    unsafe { finish(cell, Err(error)) };
}

/// # Safety
/// `header` is the header of a `TaskCell<F>` whose last reference was just released.
unsafe fn dealloc<F: Future>(header: NonNull<Header>) {
    // The cell came from `Box::leak` in `new_task`, and nobody else can reach it any
    // more (last reference). Freeing it drops nothing in the slot (a union), which is
    // empty anyway ("Empty before free"); the rest is `Send`.
    // SAFETY: the last reference to a cell `Box::leak`ed by `new_task` (above).
    drop(unsafe { Box::from_raw(header.cast::<TaskCell<F>>().as_ptr()) });
}

/// Drops the future in place. Returns the payload if its destructor panicked.
///
/// The stage keeps saying `Running` (or `Detached`) until `finish`: a `JoinHandle`
/// dropped by the future's own destructor must still mark the task `Detached`. The
/// stale stage misleads nobody: the handle reads only the stage until the output is
/// there, and only the loop reaches the future, busy with this task until `finish`
/// ("Not re-entrant").
///
/// # Safety
/// The future is in the slot, and the caller calls `finish` next, not this again.
unsafe fn drop_future<F: Future>(cell: &TaskCell<F>) -> Option<Box<dyn Any + Send>> {
    let slot = cell.slot.get();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        // Dropped where it lives ("Pinned"). If the destructor panics, unwinding still
        // drops the rest of the value: the future counts as dropped either way.
        // SAFETY: the caller's contract: a live future, dropped in place once (above).
        unsafe { ManuallyDrop::drop(&mut (*slot).future) }
    }));
    outcome.err()
}

/// Writes the output where the future was (or drops it at once if the `JoinHandle`
/// is gone) and wakes the `JoinHandle`'s awaiter.
///
/// Both run user code (the output's destructor, the awaiter's waker), after the task
/// is already finished. A panic there is contained, as tokio does: the panic hook has
/// reported it, and the loop must still free the task's slab slot and go on.
///
/// # Safety
/// `drop_future` has just dropped the future: the slot's bytes are free.
unsafe fn finish<F: Future>(cell: &TaskCell<F>, result: Result<F::Output, Failure>) {
    let header = &cell.prefix.header;
    if header.stage() == Stage::Detached {
        // "Empty before free": nobody will take it, so drop it here, on this thread.
        header.set_stage(Stage::Empty);
        drop_contained(result);
    } else {
        let slot = cell.slot.get();
        // Writing a field writes its bytes only, not the whole (maybe large) union.
        // SAFETY: the slot's bytes are free (our contract); the stage names them after.
        let stage = unsafe {
            match result {
                Ok(value) => {
                    (*slot).value = ManuallyDrop::new(value);
                    Stage::Done
                }
                Err(failure) => {
                    (*slot).failure = ManuallyDrop::new(failure);
                    Stage::Failed
                }
            }
        };
        header.set_stage(stage);
    }
    if let Some(waker) = cell.prefix.join_waker.take() {
        wake_foreign(waker);
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use std::future::{Pending, Ready};

    use super::TaskCell;

    #[test]
    fn the_slot_is_as_large_as_its_largest_occupant_not_their_sum() {
        // The prefix: a 56-byte header and a 16-byte join waker.
        let prefix = 72;
        // `idle_task_bytes`' task: no bytes of future, no bytes of output, so the
        // largest occupant is a 16-byte `Failure`.
        assert_eq!(size_of::<TaskCell<Pending<()>>>(), prefix + 16);
        // A 1,032-byte future whose 1,024-byte output takes its place.
        assert_eq!(size_of::<Ready<[u64; 128]>>(), 1032);
        assert_eq!(size_of::<TaskCell<Ready<[u64; 128]>>>(), prefix + 1032);
    }
}
