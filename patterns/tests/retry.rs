//! `retry` and `retry_if`: the backoff schedule, exact under the paused clock, and
//! which error comes back.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;
mod schedule_support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use executor::{Runtime, time};
use patterns::{Backoff, retry, retry_if, sleep};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

/// Runs `retry` with an operation that fails `failures` times, then succeeds.
/// Returns the result and the time (ms since start) each attempt started.
fn attempts_against(backoff: Backoff, failures: usize) -> (Result<&'static str, usize>, Vec<u64>) {
    let starts = Rc::new(RefCell::new(Vec::new()));
    let result = paused().block_on({
        let starts = starts.clone();
        async move {
            let t0 = time::now();
            retry(backoff, || {
                let starts = starts.clone();
                async move {
                    let mut starts = starts.borrow_mut();
                    starts.push((time::now() - t0).as_millis() as u64);
                    if starts.len() <= failures {
                        Err(starts.len()) // the error says which attempt failed
                    } else {
                        Ok("ok")
                    }
                }
            })
            .await
        }
    });
    let starts = starts.borrow().clone();
    (result, starts)
}

#[test]
fn retry_backoff_schedule_is_exact_under_the_paused_clock() {
    let _hang = hang_guard::start();
    let backoff = Backoff::new(Duration::from_millis(100))
        .factor(2.0)
        .max_delay(Duration::from_millis(500))
        .max_attempts(6);
    let (result, starts) = attempts_against(backoff, 5);
    assert_eq!(result, Ok("ok"));
    // Waits of 100, 200, 400, then capped at 500, 500.
    assert_eq!(starts, [0, 100, 300, 700, 1_200, 1_700]);
}

#[test]
fn the_first_success_ends_the_retrying() {
    let _hang = hang_guard::start();
    let (result, starts) = attempts_against(Backoff::new(Duration::from_secs(1)), 0);
    assert_eq!(result, Ok("ok"));
    assert_eq!(starts, [0]);
}

#[test]
fn the_last_error_is_returned_when_attempts_run_out() {
    let _hang = hang_guard::start();
    let backoff = Backoff::new(Duration::from_millis(10)).max_attempts(4);
    let (result, starts) = attempts_against(backoff, usize::MAX);
    assert_eq!(result, Err(4), "the error of the fourth and last attempt");
    assert_eq!(starts, [0, 10, 30, 70]);
}

#[test]
fn the_lessons_defaults_are_three_attempts_doubling_the_delay() {
    let _hang = hang_guard::start();
    // retry_with_backoff(coro, max_retries=3, base_delay=1.0): waits 1 s, then 2 s.
    let (result, starts) = attempts_against(Backoff::new(Duration::from_secs(1)), usize::MAX);
    assert_eq!(result, Err(3));
    assert_eq!(starts, [0, 1_000, 3_000]);
}

#[test]
fn a_constant_factor_of_one_waits_the_same_each_time() {
    let _hang = hang_guard::start();
    let backoff = Backoff::new(Duration::from_millis(250))
        .factor(1.0)
        .max_attempts(4);
    let (_, starts) = attempts_against(backoff, usize::MAX);
    assert_eq!(starts, [0, 250, 500, 750]);
}

#[test]
fn a_zero_backoff_still_lets_other_tasks_run_between_attempts() {
    let _hang = hang_guard::start();
    // Each wait is a zero sleep, which yields once (as asyncio.sleep(0) does), so a
    // retry loop with no delay cannot starve the loop.
    let log = Rc::new(RefCell::new(Vec::new()));
    paused().block_on({
        let log = log.clone();
        async move {
            let other = executor::spawn({
                let log = log.clone();
                async move {
                    for _ in 0..3 {
                        log.borrow_mut().push("other");
                        executor::yield_now().await;
                    }
                }
            });
            let policy = Backoff::new(Duration::ZERO).max_attempts(3);
            let failed = retry(policy, move || {
                log.borrow_mut().push("attempt");
                async { Err::<(), _>("down") }
            });
            assert_eq!(executor::spawn(failed).await.unwrap(), Err("down"));
            other.await.unwrap();
        }
    });
    let log = log.borrow();
    // `other` was spawned first; then the two take turns. (Before zero sleeps
    // yielded: other, attempt, attempt, attempt, other, other.)
    if schedule_support::fifo_schedule() {
        assert_eq!(
            log[..],
            ["other", "attempt", "other", "attempt", "other", "attempt"]
        );
    } else {
        // Under another schedule the two may interleave otherwise; all six ran.
        assert_eq!(log.iter().filter(|&&entry| entry == "attempt").count(), 3);
        assert_eq!(log.iter().filter(|&&entry| entry == "other").count(), 3);
    }
}

#[test]
fn retry_if_returns_an_error_it_should_not_retry_at_once() {
    let _hang = hang_guard::start();
    let calls = Rc::new(RefCell::new(0));
    let result: Result<(), &str> = paused().block_on(retry_if(
        Backoff::new(Duration::from_secs(1)).max_attempts(10),
        || {
            let calls = calls.clone();
            async move {
                *calls.borrow_mut() += 1;
                Err(if *calls.borrow() < 3 {
                    "busy"
                } else {
                    "forbidden"
                })
            }
        },
        |error| *error == "busy",
    ));
    assert_eq!(result, Err("forbidden"));
    assert_eq!(*calls.borrow(), 3, "two busy retries, then a fatal error");
}

#[test]
fn the_deadline_stops_retries_that_would_start_past_it() {
    let _hang = hang_guard::start();
    let backoff = Backoff::new(Duration::from_millis(100))
        .max_attempts(100)
        .deadline(Duration::from_secs(1));
    let (result, starts) = attempts_against(backoff, usize::MAX);
    // Attempts at 0, 100, 300, 700; the next would start at 1 500, past the 1 s
    // deadline, so the fourth error is returned at 700 ms, without a useless wait.
    assert_eq!(starts, [0, 100, 300, 700]);
    assert_eq!(result, Err(4));
}

#[test]
fn an_attempt_due_exactly_at_the_deadline_does_not_start() {
    let _hang = hang_guard::start();
    let backoff = Backoff::new(Duration::from_millis(100))
        .max_attempts(100)
        .deadline(Duration::from_millis(700));
    let (result, starts) = attempts_against(backoff, usize::MAX);
    // Attempts at 0, 100, 300; the fourth would start at 700 ms, the deadline itself.
    assert_eq!(starts, [0, 100, 300]);
    assert_eq!(result, Err(3));
}

#[test]
fn the_deadline_does_not_cut_an_attempt_short() {
    let _hang = hang_guard::start();
    let finished_at = paused().block_on(async {
        let t0 = time::now();
        let result: Result<(), ()> = retry(
            Backoff::new(Duration::from_millis(10)).deadline(Duration::from_millis(50)),
            || async {
                sleep(Duration::from_millis(200)).await;
                Err(())
            },
        )
        .await;
        assert!(result.is_err());
        time::now() - t0
    });
    assert_eq!(finished_at, Duration::from_millis(200));
}

#[test]
fn full_jitter_waits_are_random_but_never_longer_than_the_schedule() {
    let _hang = hang_guard::start();
    let backoff = Backoff::new(Duration::from_millis(100))
        .max_attempts(8)
        .jitter_seed(2024);
    let schedule: Vec<u64> = backoff.delays().map(|d| d.as_millis() as u64).collect();
    let (_, starts) = attempts_against(backoff.clone(), usize::MAX);
    let waits: Vec<u64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(waits.len(), schedule.len());
    for (wait, most) in waits.iter().zip(&schedule) {
        // +1: the wheel rounds a jittered deadline up to the next millisecond.
        assert!(
            *wait <= most + 1,
            "waited {wait} ms, the schedule allows {most}"
        );
    }
    assert_ne!(waits, schedule, "jitter changed the waits");
    // The same seed gives the same waits: reproducible tests.
    let (_, again) = attempts_against(backoff, usize::MAX);
    assert_eq!(starts, again);
}

#[test]
fn unseeded_jitter_differs_between_runs() {
    let _hang = hang_guard::start();
    let backoff = Backoff::new(Duration::from_secs(10))
        .max_attempts(6)
        .full_jitter();
    let (_, first) = attempts_against(backoff.clone(), usize::MAX);
    let (_, second) = attempts_against(backoff, usize::MAX);
    assert_ne!(first, second);
}

#[test]
#[should_panic(expected = "0 attempts would never run the operation")]
fn a_policy_with_zero_attempts_is_refused_where_it_is_built() {
    let _hang = hang_guard::start();
    let _ = Backoff::new(Duration::from_millis(1)).max_attempts(0);
}

#[test]
#[should_panic(expected = "inf is not a valid factor")]
fn an_infinite_factor_is_refused_where_it_is_built() {
    let _hang = hang_guard::start();
    let _ = Backoff::new(Duration::from_millis(1)).factor(f64::INFINITY);
}

#[test]
#[should_panic(expected = "0.5 is not a valid factor")]
fn a_shrinking_factor_is_refused_where_it_is_built() {
    let _hang = hang_guard::start();
    let _ = Backoff::new(Duration::from_millis(1)).factor(0.5);
}

#[test]
fn a_real_clock_retry_waits_at_least_the_schedule() {
    let _hang = hang_guard::start();
    let started = Instant::now();
    let result: Result<(), ()> = Runtime::new().unwrap().block_on(retry(
        Backoff::new(Duration::from_millis(5)).max_attempts(3),
        || async { Err(()) },
    ));
    assert!(result.is_err());
    assert!(started.elapsed() >= Duration::from_millis(15));
}
