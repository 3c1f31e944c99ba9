//! The task's `Waker`: a pointer to the task cell's header and four functions.
//!
//! A clone takes a reference on the cell, a drop gives it back (freeing the cell if
//! it was the last), and a wake reads only the `Header` (which is `Sync`) and hands
//! it to `waker::wake_task`, which picks the local or the remote path.
//!
//! # Ground rules
//! - The data pointer is always the address of a live task cell's `Header`.
//! - A waker made by `clone` owns exactly one of the cell's references and gives it
//!   back when dropped or consumed by `wake`.
//! - The waker lent to a poll (`borrowed_waker`) owns none: it lives in a
//!   `ManuallyDrop` for the length of that poll, and the poll's `TaskRef` keeps the
//!   cell alive meanwhile.

use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::{Header, acquire_ref, release_ref};
use crate::task::waker::wake_task;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A `Waker` for the task at `header` that owns no reference: the caller must
/// never drop it (wrap it in `ManuallyDrop`) and must keep the cell alive while it
/// is in use.
///
/// # Safety
/// The cell at `header` is alive for as long as the returned waker is used.
pub(super) unsafe fn borrowed_waker(header: NonNull<Header>) -> Waker {
    let raw = RawWaker::new(header.as_ptr().cast_const().cast(), &VTABLE);
    // VTABLE's functions uphold the RawWaker contract for a data pointer
    // to a live header (each cites why below).
    // SAFETY: the vtable keeps the RawWaker contract for a live header (above).
    unsafe { Waker::from_raw(raw) }
}

/// The task behind `waker` if it is a task's waker (this runtime's or another's), for
/// `snapshot/` to name who parked it in a timer or on a socket; `None` for any other
/// waker. Borrowed from `waker`, which keeps the cell alive meanwhile.
pub(crate) fn header_of(waker: &Waker) -> Option<&Header> {
    // `VTABLE` is a static, so it has one address, and only this file builds wakers
    // with it: any other waker's vtable is elsewhere.
    if !std::ptr::eq(waker.vtable(), &VTABLE) {
        return None;
    }
    // Made here, so its data is a live header ("Ground rules"), kept alive for as long
    // as `waker` lives: an owned waker holds a reference, a borrowed one is lent by a
    // poll whose `TaskRef` holds one. The result borrows `waker`, so it cannot outlive it.
    // SAFETY: our vtable, so a header that lives while `waker` does (above).
    Some(unsafe { header(waker.data()) })
}

/// The header behind a waker's data pointer.
///
/// # Safety
/// `data` came from `borrowed_waker` or `clone`, and the waker it belongs to holds a
/// reference or is borrowed from a live poll, so the cell is alive.
unsafe fn header<'a>(data: *const ()) -> &'a Header {
    // SAFETY: the caller's contract.
    unsafe { &*data.cast::<Header>() }
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: a waker being cloned is alive, so its cell is alive.
    acquire_ref(unsafe { header(data) });
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // `wake` consumes a waker that owns a reference (borrowed wakers are never
    // consumed: they are only lent by `&`): wake through it, then give it back.
    // SAFETY: `data` belongs to an owned, live waker (above).
    unsafe {
        wake_by_ref(data);
        drop_waker(data);
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker is alive for the length of this call.
    wake_task(unsafe { header(data) });
}

unsafe fn drop_waker(data: *const ()) {
    // Only owned wakers are dropped (borrowed ones sit in ManuallyDrop), and
    // each owns exactly one reference, given up here.
    // SAFETY: an owned waker gives up its one reference, once (above).
    unsafe { release_ref(NonNull::new_unchecked(data.cast_mut().cast::<Header>())) }
}
