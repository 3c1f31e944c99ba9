//! The wheel's tests, one file per concept: placement arithmetic, firing, cancel and
//! reset, far deadlines and `NEVER`, and a property test against a sorted-map model.
//! This file holds what they share: a counting waker and small drivers.
use super::*;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;

use proptest::prelude::*;

/// Three years, counted in milliseconds (ticks were 1 ms once): as 1 µs ticks, about
/// 26.3 hours, still past the top level's 19.1 hours.
const THREE_YEARS: u64 = 3 * 365 * 24 * 60 * 60 * 1000;

/// The wheel at a glance, for failing tests: bit s of level L's bitmap is slot s.
impl std::fmt::Debug for Wheel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let occupied: Vec<String> = self
            .levels
            .iter()
            .map(|level| format!("{:#018x}", level.occupied))
            .collect();
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("pending", &self.pending)
            .field("fired_not_removed", &(self.entries.len() - self.pending))
            .field("occupied", &occupied)
            .field("overflow", &self.overflow.head.is_some())
            .finish_non_exhaustive()
    }
}

/// A waker that counts how often it is woken.
struct CountingWaker(AtomicUsize);

impl CountingWaker {
    fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    (counter.clone(), Waker::from(counter))
}

fn insert(wheel: &mut Wheel, deadline: u64) -> TimerKey {
    wheel.insert(deadline, Waker::noop().clone())
}

/// Advances and returns the deadlines that fired.
fn advance(wheel: &mut Wheel, now: u64) -> Vec<u64> {
    let mut fired = Vec::new();
    wheel.advance(now, &mut fired);
    fired.iter().map(|f| f.deadline).collect()
}

fn at(level: usize, slot: usize) -> Location {
    Location { level, slot }
}

mod cancel_and_reset;
mod far;
mod firing;
mod model;
mod placement;
