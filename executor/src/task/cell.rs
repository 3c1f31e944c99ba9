//! The task cell: header, output slot, joiner's waker and the future, in one
//! allocation; and the per-future-type functions behind the task's vtable.
//!
//! ```text
//! TaskCell<F> (repr C)
//! ├── prefix: TaskPrefix<F::Output>   what a JoinHandle<T> may see, knowing only T
//! │   ├── header: Header              what a Waker may see, from any thread
//! │   ├── output: Cell<Output<T>>
//! │   └── join_waker: Cell<Option<Waker>>
//! └── future: UnsafeCell<Option<F>>   polled in place, dropped in place
//! ```
//!
//! `repr(C)` fixes the field order, so a pointer to the cell is also a pointer to its
//! prefix and to its header: the vtable erases `F`, the prefix erases all but `T`.
//! The invariants cited below are the "Ground rules" of `task/mod.rs`.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::task::{Context, Poll, Waker};

use super::{Header, TaskId, TaskRef, Vtable, raw_waker};
use crate::contain::drop_contained;
use crate::join::Failure;
use crate::wake_flag::WakeFlag;
use crate::waker::{Remote, wake_foreign};

/// The output slot shared by the task and its `JoinHandle`.
pub(crate) enum Output<T> {
    Pending,
    Ready(Result<T, Failure>),
    Taken,
}

/// The part of a task that depends only on its output type.
#[repr(C)]
pub(crate) struct TaskPrefix<T> {
    header: Header,
    /// Written once by the loop, taken once by the `JoinHandle` ("Thread affinity").
    pub(crate) output: Cell<Output<T>>,
    /// Whoever awaits the `JoinHandle`; woken when the output is written.
    pub(crate) join_waker: Cell<Option<Waker>>,
}

impl<T> TaskPrefix<T> {
    /// True once the output was written (completed, panicked or cancelled).
    pub(crate) fn is_finished(&self) -> bool {
        let output = self.output.replace(Output::Taken);
        let finished = !matches!(output, Output::Pending);
        self.output.set(output);
        finished
    }
}

#[repr(C)]
struct TaskCell<F: Future> {
    prefix: TaskPrefix<F::Output>,
    /// `None` once the future is dropped. Accessed only by the loop, one poll at a
    /// time ("Not re-entrant"), and never moved ("Pinned").
    future: UnsafeCell<Option<F>>,
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
                refs: AtomicU32::new(2),
                vtable: vtable::<F>(),
                remote,
                id,
                spawned_at,
                key,
                scheduled: AtomicBool::new(true),
                aborted: AtomicBool::new(false),
                join_interest: AtomicBool::new(true),
                remote_queued: WakeFlag::new(),
                polls: AtomicU32::new(0),
                wakes: AtomicU32::new(0),
                self_wakes: AtomicU32::new(0),
            },
            output: Cell::new(Output::Pending),
            join_waker: Cell::new(None),
        },
        future: UnsafeCell::new(Some(future)),
    });
    let header = NonNull::from(Box::leak(cell)).cast::<Header>();
    // SAFETY: the cell was created with refs = 2: one for each handle made here.
    let (task, join) = unsafe {
        (
            TaskRef::from_owned_ref(header),
            TaskRef::from_owned_ref(header),
        )
    };
    (
        task,
        JoinRef {
            task: join,
            _output: PhantomData,
        },
    )
}

/// A `TaskRef` that also knows the output type: what a `JoinHandle<T>` holds.
pub(crate) struct JoinRef<T> {
    task: TaskRef,
    _output: PhantomData<T>,
}

impl<T> JoinRef<T> {
    pub(crate) fn header(&self) -> &Header {
        self.task.header()
    }

    pub(crate) fn prefix(&self) -> &TaskPrefix<T> {
        // The cell is a `TaskCell<F>` with `F::Output = T` (`new_task` made
        // both), `repr(C)` puts its `TaskPrefix<T>` at offset 0, and our reference
        // keeps it alive ("Refcount"). Shared access only; the `Cell`s inside are
        // touched on this thread alone ("Thread affinity": JoinRef is !Send).
        // SAFETY: a live `TaskPrefix<T>` at this address, shared access only (above).
        unsafe { self.task.header.cast::<TaskPrefix<T>>().as_ref() }
    }
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
    }
}

/// # Safety
/// `header` is the header of a live `TaskCell<F>`, and the caller is the loop on the
/// runtime's thread (see `TaskRef::poll`).
unsafe fn poll<F: Future>(header: NonNull<Header>) -> Poll<()> {
    // SAFETY: the caller's contract: a live TaskCell<F>; repr(C) puts the header first.
    let cell = unsafe { header.cast::<TaskCell<F>>().as_ref() };
    // The loop is the only one touching the future, one poll at a time
    // ("Not re-entrant"), so this is the only reference to it.
    // SAFETY: the loop holds the only reference to the future during a poll (above).
    let slot = unsafe { &mut *cell.future.get() };
    let Some(future) = slot.as_mut() else {
        return Poll::Ready(());
    };
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
        Ok(Poll::Ready(value)) => match drop_future(cell) {
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
            if let Some(second) = drop_future(cell) {
                drop_contained(second);
            }
            Err(Failure::Panic(payload))
        }
    };
    finish(&cell.prefix, result);
    Poll::Ready(())
}

/// # Safety
/// As for [`poll`].
unsafe fn cancel<F: Future>(header: NonNull<Header>) {
    // SAFETY: as in `poll`.
    let cell = unsafe { header.cast::<TaskCell<F>>().as_ref() };
    if cell.prefix.is_finished() {
        return;
    }
    let error = match drop_future(cell) {
        None => Failure::Cancelled,
        Some(payload) => Failure::Panic(payload),
    };
    finish(&cell.prefix, Err(error));
}

/// # Safety
/// `header` is the header of a `TaskCell<F>` whose last reference was just released.
unsafe fn dealloc<F: Future>(header: NonNull<Header>) {
    // The cell came from `Box::leak` in `new_task`, and nobody else can
    // reach it any more (last reference). "Empty before free": it holds no future
    // and no output, so dropping it here is fine on any thread.
    // SAFETY: the last reference to a cell `Box::leak`ed by `new_task`, now empty (above).
    drop(unsafe { Box::from_raw(header.cast::<TaskCell<F>>().as_ptr()) });
}

/// Drops the future in place, if it is still there. Returns the payload if its
/// destructor panicked.
fn drop_future<F: Future>(cell: &TaskCell<F>) -> Option<Box<dyn Any + Send>> {
    let slot = cell.future.get();
    // Only the loop touches the future ("Not re-entrant"). `drop_in_place`
    // keeps the pinning promise (dropped where it lives, never moved). If the
    // destructor panics, unwinding still drops the rest of the value, so afterwards
    // the slot counts as dropped either way and is overwritten without a drop.
    // SAFETY: the slot is ours alone and dropped in place, then overwritten (above).
    unsafe {
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| ptr::drop_in_place(slot)));
        ptr::write(slot, None);
        outcome.err()
    }
}

/// Stores the output (or drops it at once if the `JoinHandle` is gone) and wakes
/// the `JoinHandle`'s awaiter.
///
/// Both run user code (the output's destructor, the awaiter's waker), after the task
/// is already finished. A panic there is contained, as tokio does: the panic hook has
/// reported it, and the loop must still free the task's slot and go on.
fn finish<T>(prefix: &TaskPrefix<T>, result: Result<T, Failure>) {
    if Header::flag(&prefix.header.join_interest) {
        prefix.output.set(Output::Ready(result));
    } else {
        // "Empty before free": nobody will take it, so drop it here, on this thread.
        prefix.output.set(Output::Taken);
        drop_contained(result);
    }
    if let Some(waker) = prefix.join_waker.take() {
        wake_foreign(waker);
    }
}
