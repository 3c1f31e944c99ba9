//! `sleep`, `sleep_until` and `Sleep`: exact under the paused clock, lazy, never
//! overflowing; a zero sleep yields; a reset wakes whoever waits.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;
mod schedule_support;

use std::cell::RefCell;
use std::future::{Future as _, poll_fn};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::time::{Duration, Instant};

use executor::{Runtime, spawn, time};
use patterns::{Sleep, join_all, sleep, sleep_until, timeout};

const CENTURY: Duration = Duration::from_secs(86_400 * 365 * 100);

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

#[test]
fn sleep_ends_exactly_after_its_duration_on_the_paused_clock() {
    let _hang = hang_guard::start();
    let slept = paused().block_on(async {
        let start = time::now();
        sleep(Duration::from_millis(1_234)).await;
        time::now() - start
    });
    assert_eq!(slept, Duration::from_millis(1_234));
}

#[test]
fn sleeping_tasks_do_not_block_each_other() {
    let _hang = hang_guard::start();
    // The lesson's first rule: a non-blocking sleep lets the loop run other tasks,
    // so three one-second sleeps take one second, not three.
    let elapsed = paused().block_on(async {
        let start = time::now();
        let sleepers = (0..3).map(|_| spawn(sleep(Duration::from_secs(1))));
        join_all(sleepers).await;
        time::now() - start
    });
    assert_eq!(elapsed, Duration::from_secs(1));
}

#[test]
fn sleepers_wake_in_deadline_order() {
    let _hang = hang_guard::start();
    let order = Rc::new(RefCell::new(Vec::new()));
    paused().block_on({
        let order = order.clone();
        async move {
            let sleepers = [30u64, 10, 20].map(|ms| {
                let order = order.clone();
                spawn(async move {
                    sleep(Duration::from_millis(ms)).await;
                    order.borrow_mut().push(ms);
                })
            });
            join_all(sleepers).await;
        }
    });
    assert_eq!(*order.borrow(), [10, 20, 30]);
}

#[test]
fn a_zero_sleep_lets_another_ready_task_run() {
    let _hang = hang_guard::start();
    // asyncio's `await asyncio.sleep(0)`: the sleeper goes to the back of the line.
    let log = Rc::new(RefCell::new(Vec::new()));
    paused().block_on({
        let log = log.clone();
        async move {
            let tasks = ["a", "b"].map(|name| {
                let log = log.clone();
                spawn(async move {
                    for round in 1..=3 {
                        log.borrow_mut().push(format!("{name}{round}"));
                        sleep(Duration::ZERO).await;
                    }
                })
            });
            join_all(tasks).await;
        }
    });
    if schedule_support::fifo_schedule() {
        assert_eq!(*log.borrow(), ["a1", "b1", "a2", "b2", "a3", "b3"]);
    } else {
        // Any order of the two tasks, each its own rounds in order.
        for name in ["a", "b"] {
            let mine: Vec<_> = log
                .borrow()
                .iter()
                .filter(|s| s.starts_with(name))
                .cloned()
                .collect();
            assert_eq!(mine, [1, 2, 3].map(|round| format!("{name}{round}")));
        }
    }
}

#[test]
fn a_sleep_until_a_passed_deadline_yields_once_then_ends() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let other = spawn(async {});
        sleep_until(time::now() - Duration::from_millis(5)).await;
        assert!(other.is_finished(), "the ready task ran meanwhile");
    });
}

#[test]
fn a_zero_sleep_and_a_past_deadline_complete_without_firing_a_timer() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.block_on(async {
        sleep(Duration::ZERO).await;
        sleep_until(time::now() - Duration::from_millis(5)).await;
    });
    assert_eq!(rt.metrics().timers_fired, 0);
}

#[test]
fn sleep_duration_max_never_ends_and_the_paused_clock_never_jumps_to_it() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let start = time::now();
        let forever = sleep(Duration::MAX);
        assert!(forever.deadline() >= start + CENTURY, "no overflow");
        // The paused clock jumps to the century's timer, not to "forever".
        assert!(timeout(CENTURY, forever).await.is_err());
        assert_eq!(time::now() - start, CENTURY);
    });
}

#[test]
fn sleep_until_a_far_instant_does_not_overflow() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let far = time::now() + Duration::from_secs(86_400 * 365 * 500);
        let nap = sleep_until(far);
        assert_eq!(nap.deadline(), far);
        assert!(timeout(Duration::from_secs(3_600), nap).await.is_err());
    });
}

#[test]
fn reset_to_an_earlier_deadline_wakes_earlier() {
    let _hang = hang_guard::start();
    let slept = paused().block_on(async {
        let start = time::now();
        let mut nap = pin!(sleep(Duration::from_secs(60)));
        // Register the 60 s deadline in the wheel first, then pull it in.
        assert!(
            timeout(Duration::from_millis(1), nap.as_mut())
                .await
                .is_err()
        );
        nap.as_mut().reset(start + Duration::from_secs(2));
        nap.await;
        time::now() - start
    });
    assert_eq!(slept, Duration::from_secs(2));
}

#[test]
fn reset_to_a_later_deadline_sleeps_longer() {
    let _hang = hang_guard::start();
    let slept = paused().block_on(async {
        let start = time::now();
        let mut nap = pin!(sleep(Duration::from_millis(10)));
        assert!(
            timeout(Duration::from_millis(5), nap.as_mut())
                .await
                .is_err()
        );
        nap.as_mut().reset(start + Duration::from_millis(50));
        assert_eq!(nap.deadline(), start + Duration::from_millis(50));
        nap.await;
        time::now() - start
    });
    assert_eq!(slept, Duration::from_millis(50));
}

/// A sleep several tasks share: one waits on it, others move its deadline.
type Shared = Rc<RefCell<Pin<Box<Sleep>>>>;

/// Waits on the shared sleep (borrowing it only for each poll) and returns the
/// virtual time it ended at. Guarded by an hour: a waiter nobody wakes ends then.
async fn wait_on(shared: Shared, start: Instant) -> Duration {
    let waiting = poll_fn(|cx| shared.borrow_mut().as_mut().poll(cx));
    let _ = timeout(Duration::from_secs(3_600), waiting).await;
    time::now() - start
}

/// Task A waits on a shared sleep of `initial`; task B moves it to `moved_to` after
/// 10 ms. Returns when A's wait ended.
fn reset_by_another_task(initial: Duration, moved_to: Duration) -> Duration {
    paused().block_on(async {
        let start = time::now();
        let shared: Shared = Rc::new(RefCell::new(Box::pin(sleep(initial))));
        let waiter = spawn(wait_on(shared.clone(), start));
        spawn(async move {
            sleep(Duration::from_millis(10)).await;
            shared.borrow_mut().as_mut().reset(start + moved_to);
        });
        waiter.await.unwrap()
    })
}

#[test]
fn a_reset_to_a_later_deadline_by_another_task_wakes_the_waiter_then() {
    let _hang = hang_guard::start();
    let ended = reset_by_another_task(Duration::from_millis(50), Duration::from_millis(100));
    assert_eq!(ended, Duration::from_millis(100));
}

#[test]
fn a_reset_to_an_earlier_deadline_by_another_task_wakes_the_waiter_then() {
    let _hang = hang_guard::start();
    let ended = reset_by_another_task(Duration::from_secs(60), Duration::from_millis(20));
    assert_eq!(ended, Duration::from_millis(20));
}

#[test]
fn a_reset_to_a_passed_deadline_by_another_task_wakes_the_waiter_at_once() {
    let _hang = hang_guard::start();
    let ended = reset_by_another_task(Duration::from_secs(60), Duration::from_millis(5));
    assert_eq!(ended, Duration::from_millis(10));
}

#[test]
fn a_sleep_for_ever_reset_by_another_task_ends_at_the_new_deadline() {
    let _hang = hang_guard::start();
    let ended = reset_by_another_task(Duration::MAX, Duration::from_millis(30));
    assert_eq!(ended, Duration::from_millis(30));
}

#[test]
fn reset_after_completion_sleeps_again() {
    let _hang = hang_guard::start();
    let slept = paused().block_on(async {
        let start = time::now();
        let mut nap = pin!(sleep(Duration::from_millis(10)));
        nap.as_mut().await;
        nap.as_mut().reset(start + Duration::from_millis(25));
        nap.await;
        time::now() - start
    });
    assert_eq!(slept, Duration::from_millis(25));
}

#[test]
fn a_sleep_created_outside_a_runtime_registers_when_first_polled_inside_one() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let nap = sleep(Duration::from_millis(40)); // no runtime running: nothing registered
    let deadline = nap.deadline();
    rt.block_on(async move {
        nap.await;
        assert!(time::now() >= deadline);
    });
    assert_eq!(rt.metrics().timers_fired, 1);
}

#[test]
fn deadlines_round_up_to_the_next_microsecond_so_a_sleep_never_ends_early() {
    let _hang = hang_guard::start();
    let slept = paused().block_on(async {
        let start = time::now();
        sleep(Duration::from_micros(1_500)).await;
        let exact = time::now() - start;
        sleep(Duration::from_nanos(250_001)).await;
        (exact, time::now() - start - exact)
    });
    assert_eq!(slept.0, Duration::from_micros(1_500), "on a tick: exact");
    assert_eq!(
        slept.1,
        Duration::from_micros(251),
        "between ticks: the next one"
    );
}

#[test]
#[should_panic(expected = "must be called from inside a runtime")]
fn polling_a_sleep_outside_a_runtime_panics_with_a_clear_message() {
    let _hang = hang_guard::start();
    let mut nap = pin!(sleep(Duration::from_secs(1)));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let _ = nap.as_mut().poll(&mut cx);
}

#[test]
fn a_real_clock_sleep_takes_at_least_its_duration() {
    let _hang = hang_guard::start();
    // Generous by design: only "not early" is asserted, never "not late".
    let started = Instant::now();
    Runtime::new()
        .unwrap()
        .block_on(sleep(Duration::from_millis(20)));
    assert!(started.elapsed() >= Duration::from_millis(20));
}
