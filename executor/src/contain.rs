//! Containing a panic in user code that the loop runs on someone else's behalf.
//!
//! A foreign waker's `wake`, the destructor of an output nobody awaits, the destructor
//! of a task's future after its poll already panicked: when such code panics, the loop
//! must still finish what it was doing (store the output, free the slot, wake the
//! others). The panic hook has already printed the panic; here it stops.
//!
//! # Ground rules
//! - Nothing that can unwind leaves [`run_contained`]: not the panic, and not the
//!   drop of its payload. A payload is itself a value with a destructor, and a
//!   destructor can panic (a "panic bomb"). That second panic is caught too, and its
//!   payload dropped in turn, and so on; a chain longer than [`PAYLOADS_DROPPED`]
//!   is cut by leaking the last payload, since a bomb could make bombs for ever. A
//!   leak of a pathological value beats a loop that unwinds away from a
//!   half-finished task.

use std::panic::{self, AssertUnwindSafe};

/// How many payloads in a chain of panicking payload destructors are dropped before
/// the next one is leaked.
const PAYLOADS_DROPPED: usize = 8;

/// Runs `f`, stopping any panic from it (see the ground rules).
pub(crate) fn run_contained(f: impl FnOnce()) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        drop_contained(payload);
    }
}

/// Drops `value`, stopping any panic from its destructor, and from the destructors
/// of the payloads that follow (see the ground rules).
pub(crate) fn drop_contained<T>(value: T) {
    let mut outcome = panic::catch_unwind(AssertUnwindSafe(move || drop(value)));
    for _ in 0..PAYLOADS_DROPPED {
        match outcome {
            Ok(()) => return,
            Err(payload) => {
                outcome = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
            }
        }
    }
    if let Err(payload) = outcome {
        std::mem::forget(payload);
    }
}
