//! Containing a panic in user code that a pattern runs on someone else's behalf.
//!
//! A pool thread runs a job for a task and drops the result its handle no longer
//! wants; a semaphore's `release` wakes the tasks it just served; a shut-down pool
//! drops the closures of jobs it cancels. When such code panics, the pattern must
//! still finish what it was doing (mark the thread idle, tell the handle, wake the
//! next waiter). The panic hook has already printed the panic; here it stops.
//!
//! The executor does the same for its own callbacks (`executor/src/contain.rs`, not
//! public); this is the patterns' copy of that rule.
//!
//! # Ground rules
//! - Nothing that can unwind leaves [`run_contained`] or [`drop_contained`]: not the
//!   panic, and not the drop of its payload. `let _ = catch_unwind(..)` is *not*
//!   enough: it drops the payload outside the catch, and a payload is a value whose
//!   destructor may itself panic (a "panic bomb", `panic_any(Bomb)`). That second
//!   panic is caught too, its payload dropped in turn, and so on; a chain longer than
//!   [`PAYLOADS_DROPPED`] is cut by leaking the last payload, since a bomb could make
//!   bombs for ever. Leaking one pathological value beats a pool thread that dies
//!   while the pool still counts it, or a served waiter that is never woken.

use std::panic::{self, AssertUnwindSafe};

/// How many payloads in a chain of panicking payload destructors are dropped before
/// the next one is leaked.
const PAYLOADS_DROPPED: usize = 8;

/// Runs `f`, stopping any panic from it (see the ground rules).
#[inline] // around every wake: the happy path is one call
pub(crate) fn run_contained(f: impl FnOnce()) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        drop_contained(payload);
    }
}

/// Drops `value`, stopping any panic from its destructor, and from the destructors
/// of the payloads that follow (see the ground rules).
#[inline]
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A panic payload whose destructor panics with another one, `left` times.
    struct Bomb {
        left: usize,
        dropped: &'static AtomicUsize,
    }

    impl Drop for Bomb {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::SeqCst);
            if self.left > 0 {
                panic::panic_any(Bomb {
                    left: self.left - 1,
                    dropped: self.dropped,
                });
            }
        }
    }

    #[test]
    fn a_short_chain_of_bombs_is_dropped_to_its_end() {
        static DROPPED: AtomicUsize = AtomicUsize::new(0);
        run_contained(|| {
            panic::panic_any(Bomb {
                left: 3,
                dropped: &DROPPED,
            })
        });
        assert_eq!(DROPPED.load(Ordering::SeqCst), 4, "each of the four bombs");
    }

    #[test]
    fn an_endless_chain_of_bombs_is_cut_by_leaking_one() {
        static DROPPED: AtomicUsize = AtomicUsize::new(0);
        drop_contained(Bomb {
            left: usize::MAX,
            dropped: &DROPPED,
        });
        assert_eq!(DROPPED.load(Ordering::SeqCst), PAYLOADS_DROPPED + 1);
    }
}
