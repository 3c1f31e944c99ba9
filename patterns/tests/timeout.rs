//! `timeout`, `timeout_at`, `timeout_or`: who wins at the deadline, what is
//! cancelled, and what is never registered.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

use std::cell::Cell;
use std::future::{Future, pending, poll_fn, ready};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use executor::{Runtime, spawn, time};
use patterns::{Semaphore, sleep, timeout, timeout_at, timeout_or};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

/// Sets a flag when dropped: shows that a future was cancelled.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn timeout_returns_the_output_when_the_future_finishes_first() {
    let _hang = hang_guard::start();
    let out = paused().block_on(async {
        timeout(Duration::from_secs(1), async {
            sleep(Duration::from_millis(999)).await;
            "in time"
        })
        .await
    });
    assert_eq!(out, Ok("in time"));
}

#[test]
fn timeout_returns_elapsed_exactly_at_the_deadline_when_the_future_is_slower() {
    let _hang = hang_guard::start();
    let (out, waited) = paused().block_on(async {
        let start = time::now();
        let out = timeout(Duration::from_secs(2), sleep(Duration::from_secs(10))).await;
        (out, time::now() - start)
    });
    assert!(out.is_err());
    assert_eq!(waited, Duration::from_secs(2));
}

#[test]
fn inner_output_wins_when_it_is_ready_on_the_poll_where_the_deadline_passes() {
    let _hang = hang_guard::start();
    let out = paused().block_on(async {
        // Both timers fall on the same tick: one wake, one poll, and the inner future
        // is polled first.
        timeout(Duration::from_millis(10), async {
            sleep(Duration::from_millis(10)).await;
            "inner"
        })
        .await
    });
    assert_eq!(out, Ok("inner"));
}

#[test]
fn inner_output_wins_even_when_the_deadline_passed_long_before_the_poll() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let deadline = time::now() + Duration::from_millis(5);
        // A future that becomes ready only once the deadline is well past. (A
        // `Timer`, not a `sleep_until`: a sleep whose deadline has passed before its
        // first poll yields once, as asyncio's does, and so is not ready then.)
        let late = time::Timer::new(deadline + Duration::from_millis(20));
        let mut guarded = pin!(timeout_at(deadline, late));
        // Time passes without anyone polling the timeout...
        sleep(Duration::from_millis(30)).await;
        // ...then on its first poll both are due: the inner output wins.
        assert_eq!(guarded.as_mut().await, Ok(()));
    });
}

#[test]
fn timeout_of_an_immediately_ready_future_registers_no_timer() {
    let _hang = hang_guard::start();
    // Observable 1: polled with no runtime at all (where touching the timer would
    // panic), it completes.
    let mut guarded = pin!(timeout(Duration::from_secs(1), ready(7)));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(guarded.as_mut().poll(&mut cx), Poll::Ready(Ok(7)));
    // No timer was even made (no clock read): the deadline waits for a Pending.
    assert!(
        format!("{guarded:?}").contains("timer: NotYet("),
        "{guarded:?}"
    );

    // Observable 2: on a runtime, a thousand of them fire no timer.
    let mut rt = paused();
    rt.block_on(async {
        for i in 0..1_000 {
            assert_eq!(timeout(Duration::from_millis(1), ready(i)).await, Ok(i));
        }
    });
    assert_eq!(rt.metrics().timers_fired, 0);
}

#[test]
fn the_timer_registers_only_once_the_inner_future_is_pending() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let mut guarded = pin!(timeout(Duration::from_secs(1), pending::<()>()));
        assert!(
            format!("{guarded:?}").contains("timer: NotYet("),
            "{guarded:?}"
        );
        poll_fn(|cx| {
            assert!(guarded.as_mut().poll(cx).is_pending());
            Poll::Ready(())
        })
        .await;
        assert!(format!("{guarded:?}").contains("registered: true"));
    });
}

#[test]
fn the_inner_future_is_cancelled_when_the_deadline_wins() {
    let _hang = hang_guard::start();
    let dropped = Rc::new(Cell::new(false));
    paused().block_on({
        let dropped = dropped.clone();
        async move {
            let flag = DropFlag(dropped.clone());
            let out = timeout(Duration::from_millis(10), async move {
                let _flag = flag;
                pending::<()>().await;
            })
            .await;
            assert!(out.is_err());
            assert!(dropped.get(), "dropped by the time the timeout returns");
        }
    });
}

#[test]
fn a_timed_out_acquire_gives_its_place_in_line_back() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let sem = Rc::new(Semaphore::new(1));
        let held = sem.try_acquire().unwrap();
        assert!(
            timeout(Duration::from_millis(5), sem.acquire())
                .await
                .is_err()
        );
        let next = spawn({
            let sem = sem.clone();
            async move { sem.acquire().await.is_ok() }
        });
        drop(held);
        assert!(next.await.unwrap(), "the permit went to the next waiter");
    });
}

#[test]
fn a_zero_timeout_on_a_pending_future_elapses_at_once() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let (out, waited) = rt.block_on(async {
        let start = time::now();
        let out = timeout(Duration::ZERO, pending::<()>()).await;
        (out, time::now() - start)
    });
    assert!(out.is_err());
    assert_eq!(waited, Duration::ZERO);
}

#[test]
fn a_timeout_of_duration_max_never_fires() {
    let _hang = hang_guard::start();
    let out = paused().block_on(timeout(Duration::MAX, async {
        sleep(Duration::from_secs(86_400 * 365)).await;
        "a year later"
    }));
    assert_eq!(out, Ok("a year later"));
}

#[test]
fn timeout_at_lets_several_steps_share_one_deadline() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let deadline = time::now() + Duration::from_millis(100);
        let step = || sleep(Duration::from_millis(40));
        assert!(timeout_at(deadline, step()).await.is_ok()); // t = 40
        assert!(timeout_at(deadline, step()).await.is_ok()); // t = 80
        assert!(timeout_at(deadline, step()).await.is_err()); // would be 120
        assert_eq!(time::now(), deadline);
    });
}

#[test]
fn timeout_or_returns_the_default_when_the_deadline_wins() {
    let _hang = hang_guard::start();
    let value = paused().block_on(timeout_or(
        Duration::from_secs(1),
        async {
            sleep(Duration::from_secs(5)).await;
            "fresh"
        },
        "cached",
    ));
    assert_eq!(value, "cached");
}

#[test]
fn timeout_or_returns_the_value_when_the_future_finishes_first() {
    let _hang = hang_guard::start();
    let value = paused().block_on(timeout_or(
        Duration::from_secs(1),
        async {
            sleep(Duration::from_millis(300)).await;
            "fresh"
        },
        "cached",
    ));
    assert_eq!(value, "fresh");
}

#[test]
fn elapsed_is_a_std_error_with_a_message() {
    let _hang = hang_guard::start();
    let err = paused()
        .block_on(timeout(Duration::ZERO, pending::<()>()))
        .unwrap_err();
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert_eq!(boxed.to_string(), "deadline has elapsed");
}

#[test]
fn the_deadline_counts_from_the_first_pending_and_timeout_at_from_the_call() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let start = time::now();
        let guarded = timeout(Duration::from_millis(50), pending::<()>());
        sleep(Duration::from_millis(30)).await;
        assert!(guarded.await.is_err());
        // First pending at 30 ms: 50 ms after that, never earlier than from the call.
        assert_eq!(time::now() - start, Duration::from_millis(80));

        let start = time::now();
        let fixed = patterns::timeout_at(start + Duration::from_millis(50), pending::<()>());
        sleep(Duration::from_millis(30)).await;
        assert!(fixed.await.is_err());
        assert_eq!(time::now() - start, Duration::from_millis(50));
    });
}

#[test]
fn a_real_clock_timeout_fires_no_earlier_than_its_deadline() {
    let _hang = hang_guard::start();
    let started = Instant::now();
    let out = Runtime::new()
        .unwrap()
        .block_on(timeout(Duration::from_millis(20), pending::<()>()));
    assert!(out.is_err());
    assert!(started.elapsed() >= Duration::from_millis(20));
}

#[test]
fn a_due_timeout_polled_with_no_budget_left_yields_like_any_leaf_then_elapses() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::builder()
        .paused_clock(true)
        .coop_budget(Some(1))
        .build()
        .unwrap();
    let (first, then) = rt.block_on(async {
        let mut late = pin!(timeout(Duration::ZERO, pending::<()>()));
        // Spends the task's whole budget (1) before the timeout is polled.
        executor::coop::consume_budget().await;
        assert!(!executor::coop::has_budget_remaining());
        // Only a budget the *inner* future spent lets the deadline be looked at anyway;
        // spent before, the timer is a leaf like any other: it yields.
        let first = poll_fn(|cx| Poll::Ready(late.as_mut().poll(cx))).await;
        (first, late.await)
    });
    assert_eq!(first, Poll::Pending);
    assert!(then.is_err(), "elapsed on the next poll");
}
