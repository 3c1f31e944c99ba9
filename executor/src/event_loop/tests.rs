//! Phase 3's wait awake for a blocking job's wake, driven by hand: when it waits, and
//! how it backs off.

use super::*;
use crate::Runtime;

#[test]
fn a_long_blocking_job_is_waited_for_awake_only_now_and_then() {
    let rt = Runtime::builder().stall_threshold(None).build().unwrap();
    let core = &*rt.core;
    // Nothing arrives: each of the first four parks waits the whole moment awake.
    for _ in 0..4 {
        let started = Instant::now();
        assert!(!core.blocking_wake_caught_awake());
        assert!(started.elapsed() >= AWAKE_BEFORE_PARK);
    }
    // From now on a wake from another thread waits in the channel, so a park that
    // looks finds it at once.
    let waker = core.block_on_waker.clone();
    std::thread::spawn(move || waker.wake()).join().unwrap();
    for park in 5..17 {
        assert!(
            !core.blocking_wake_caught_awake(),
            "park {park} looked: after four in vain, only one in 16 does"
        );
    }
    assert!(core.blocking_wake_caught_awake(), "the 17th park looks");
    assert!(
        core.blocking_wake_caught_awake(),
        "after a catch, every park looks again"
    );
}

#[test]
fn phase_3_waits_awake_only_with_a_blocking_job_in_flight() {
    let rt = Runtime::builder().stall_threshold(None).build().unwrap();
    let core = &*rt.core;
    // No job in flight: straight to sleep, without looking.
    assert_eq!(core.park(false, 0, None), Park::UntilEvent);
    assert_eq!(core.awake_in_vain.get(), 0, "it waited awake with no job");
    // A job in flight and no wake: it waits awake in vain, then sleeps.
    assert_eq!(core.park(false, 1, None), Park::UntilEvent);
    assert_eq!(core.awake_in_vain.get(), 1);
    // The job's wake arrives: caught awake, no sleep.
    let waker = core.block_on_waker.clone();
    std::thread::spawn(move || waker.wake()).join().unwrap();
    assert_eq!(core.park(false, 1, None), Park::No);
    assert_eq!(core.awake_in_vain.get(), 0);
}
