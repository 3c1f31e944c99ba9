//! The `JoinHandle`'s side of a task cell: it knows the output type `T`, not the
//! future's type, so it cannot name the cell's layout past the prefix.
//!
//! ```text
//!   cell ──► header ┄┄ Vtable::slot_offset ┄┄► slot: a T (Done) or a Failure (Failed)
//! ```
//!
//! Everything before the slot sits at the same offset in every cell (`TaskPrefix`).
//! The slot's offset depends on the future's alignment, so `cell.rs` stores it in the
//! vtable, a constant per future type, and the handle adds it to the header's
//! address. That is one load where tokio calls a function through its vtable
//! (`try_read_output`) to the same end. The stage in the header says what is there:
//! the handle reads the slot only when it holds the output, never the future ("One
//! occupant" in `task/mod.rs`, whose ground rules are cited below).

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::task::Waker;

use super::cell::TaskPrefix;
use super::{Header, Stage, TaskRef};
use crate::task::join::Failure;

/// What a `JoinHandle` finds in the slot.
pub(crate) enum Output<T> {
    /// Still the future.
    Pending,
    Ready(Result<T, Failure>),
    /// Nothing: this handle took the output already.
    Taken,
}

/// A `TaskRef` that also knows the output type: what a `JoinHandle<T>` holds.
pub(crate) struct JoinRef<T> {
    task: TaskRef,
    _output: PhantomData<T>,
}

impl TaskRef {
    /// Where the waker of whoever awaits this task's `JoinHandle` is kept: the
    /// handle parks it, the task's end wakes it, a snapshot reads whose it is.
    pub(crate) fn join_waker(&self) -> &Cell<Option<Waker>> {
        // Every cell starts with a `TaskPrefix` (`repr(C)`), our reference keeps it
        // alive ("Refcount"), and the `Cell` is touched on this thread alone ("Thread
        // affinity": TaskRef is !Send).
        // SAFETY: a live `TaskPrefix` at this address, shared access only (above).
        unsafe { &self.header.cast::<TaskPrefix>().as_ref().join_waker }
    }
}

impl<T> JoinRef<T> {
    /// # Safety
    /// `task`'s future has output type `T`.
    pub(super) unsafe fn new(task: TaskRef) -> JoinRef<T> {
        JoinRef {
            task,
            _output: PhantomData,
        }
    }

    pub(crate) fn header(&self) -> &Header {
        self.task.header()
    }

    pub(crate) fn join_waker(&self) -> &Cell<Option<Waker>> {
        self.task.join_waker()
    }

    /// True once the output was written (completed, panicked or cancelled), taken or not.
    pub(crate) fn is_finished(&self) -> bool {
        !self.header().stage().holds_future()
    }

    /// Moves the output out of the slot, if it is there.
    pub(crate) fn take_output(&self) -> Output<T> {
        let header = self.header();
        let stage = header.stage();
        match stage {
            Stage::Running | Stage::Detached => return Output::Pending,
            Stage::Empty => return Output::Taken,
            Stage::Done | Stage::Failed => header.set_stage(Stage::Empty),
        }
        // From the header pointer, not `header`: `new_task` made it from the whole
        // cell, so it may reach past the header.
        let cell = self.task.header.as_ptr();
        let slot = cell.wrapping_byte_add(header.vtable.slot_offset);
        // The cell is alive ("Refcount"), its future's output is `T` (`new`'s
        // contract), and its slot starts at the vtable's offset, every field at the
        // slot's start. The stage said it holds a `T` (`Done`) or a `Failure`
        // (`Failed`), and now says `Empty`: this is the only move out.
        // SAFETY: a live occupant of the type the stage named, moved out once (above).
        let result = unsafe {
            match stage {
                Stage::Done => Ok(ptr::read(slot.cast::<T>())),
                _ => Err(ptr::read(slot.cast::<Failure>())),
            }
        };
        Output::Ready(result)
    }

    /// Gives up the output: a running task's will be dropped by the loop when it
    /// finishes, a finished task's is returned for the caller to drop.
    pub(crate) fn detach(&self) -> Output<T> {
        let header = self.header();
        if header.stage() == Stage::Running {
            header.set_stage(Stage::Detached);
            return Output::Pending;
        }
        self.take_output()
    }
}
