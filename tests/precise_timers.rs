//! Timers to the microsecond: 1 µs ticks, and on Linux a park that a timerfd ends at
//! the next timer's exact instant (executor/src/io/park_timer.rs). Exact checks run on the
//! paused clock; real-clock checks bound only what cannot flake: a sleep never ends
//! before its deadline, and "soon" means a second where the alternative is ten.

mod hang_guard;
mod reliability_support;

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use glassbox::time;
use glassbox::{Runtime, Sleep, sleep, sleep_until, spawn, spawn_blocking};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

fn real() -> Runtime {
    Runtime::builder().stall_threshold(None).build().unwrap()
}

/// A small deterministic generator (xorshift), so a failing case can be replayed.
fn random_micros(seed: &mut u64, below: u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed % below
}

#[test]
fn a_thousand_random_microsecond_sleeps_each_take_at_least_the_time_asked() {
    let _hang = hang_guard::start();
    real().block_on(async {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..1_000 {
            let asked = Duration::from_micros(1 + random_micros(&mut seed, 1_000));
            let started = Instant::now();
            sleep(asked).await;
            let took = started.elapsed();
            assert!(took >= asked, "sleep({asked:?}) ended after {took:?}");
        }
    });
}

#[test]
fn sub_millisecond_deadlines_fire_in_deadline_order_and_in_arrival_order_when_equal() {
    let _hang = hang_guard::start();
    let woken = paused().block_on(async {
        let start = time::now();
        let woken = Rc::new(RefCell::new(Vec::new()));
        let deadlines_us = [250, 100, 250, 999, 1, 100, 250, 998];
        let sleepers: Vec<_> = deadlines_us
            .iter()
            .enumerate()
            .map(|(id, &us)| {
                let woken = woken.clone();
                spawn(async move {
                    sleep_until(start + Duration::from_micros(us)).await;
                    woken.borrow_mut().push((id, time::now() - start));
                })
            })
            .collect();
        for sleeper in sleepers {
            sleeper.await.unwrap();
        }
        woken.take()
    });
    let us = Duration::from_micros;
    assert_eq!(
        woken,
        [
            (4, us(1)),
            (1, us(100)),
            (5, us(100)),
            (0, us(250)),
            (2, us(250)),
            (6, us(250)),
            (7, us(998)),
            (3, us(999)),
        ],
        "by deadline, each exactly on time; equal deadlines first come, first woken"
    );
}

#[test]
fn advancing_the_paused_clock_250us_fires_a_250us_sleep_and_not_before() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let nap = spawn(sleep(Duration::from_micros(250)));
        time::advance(Duration::from_micros(249)).await;
        assert!(!nap.is_finished(), "one µs early");
        time::advance(Duration::from_micros(1)).await;
        assert!(nap.is_finished(), "due at 250 µs");
    });
}

/// Task A waits on a 10 s sleep; task B, woken by a job on another thread (so no
/// timer of the loop's own ends the park), moves A's sleep to 300 µs from then.
/// Returns how long after the reset A's wait ended.
fn a_wait_moved_earlier_from_outside_any_timer() -> Duration {
    real().block_on(async {
        let shared: Rc<RefCell<Pin<Box<Sleep>>>> =
            Rc::new(RefCell::new(Box::pin(sleep(Duration::from_secs(10)))));
        let waiter = spawn({
            let shared = shared.clone();
            async move {
                std::future::poll_fn(|cx| shared.borrow_mut().as_mut().poll(cx)).await;
                Instant::now()
            }
        });
        let reset_at = spawn(async move {
            spawn_blocking(|| std::thread::sleep(Duration::from_millis(5)))
                .await
                .unwrap();
            let reset_at = Instant::now();
            let moved_to = glassbox::time::now() + Duration::from_micros(300);
            shared.borrow_mut().as_mut().reset(moved_to);
            reset_at
        });
        let ended = waiter.await.unwrap();
        ended - reset_at.await.unwrap()
    })
}

#[test]
fn a_reset_to_an_earlier_deadline_rearms_the_park() {
    let _hang = hang_guard::start();
    let after_reset = a_wait_moved_earlier_from_outside_any_timer();
    assert!(after_reset >= Duration::from_micros(300), "{after_reset:?}");
    // The park was armed for the 10 s deadline; unless the reset re-arms it, the
    // wait ends ten seconds out.
    assert!(
        after_reset < Duration::from_secs(1),
        "the wait ended {after_reset:?} after the reset"
    );
}

/// 100,000 sleeps due from 10 s out (far past any healthy run of these tests), one
/// per 10 µs, each to be polled once to register it.
fn background_sleeps(start: Instant) -> Vec<Pin<Box<Sleep>>> {
    let first = start + Duration::from_secs(10);
    (0..100_000u64)
        .map(|i| Box::pin(sleep_until(first + Duration::from_micros(10 * i))))
        .collect()
}

async fn register(sleeps: &mut [Pin<Box<Sleep>>]) {
    std::future::poll_fn(|cx| {
        for sleep in sleeps.iter_mut() {
            assert!(sleep.as_mut().poll(cx).is_pending());
        }
        std::task::Poll::Ready(())
    })
    .await
}

#[test]
fn with_100_000_timers_pending_a_250us_sleep_is_still_exact_on_the_paused_clock() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let slept = rt.block_on(async {
        let start = time::now();
        let mut background = background_sleeps(start);
        register(&mut background).await;
        sleep(Duration::from_micros(250)).await;
        time::now() - start
    });
    assert_eq!(slept, Duration::from_micros(250));
    assert_eq!(rt.metrics().timers_fired, 1, "none of the 100,000 fired");
}

#[test]
fn with_100_000_timers_pending_a_250us_sleep_ends_long_before_the_first_of_them() {
    let _hang = hang_guard::start();
    let mut rt = real();
    let slept = rt.block_on(async {
        let mut background = background_sleeps(time::now());
        register(&mut background).await;
        let started = Instant::now();
        sleep(Duration::from_micros(250)).await;
        started.elapsed()
    });
    assert!(slept >= Duration::from_micros(250), "{slept:?}");
    assert!(slept < Duration::from_millis(500), "{slept:?}");
    assert_eq!(rt.metrics().timers_fired, 1, "none of the 100,000 fired");
}

/// The timerfd the park makes (on its first park until a timer) is non-blocking and
/// closed on exec: a child the program starts does not inherit it.
#[test]
#[cfg(target_os = "linux")]
fn the_park_timerfd_is_non_blocking_and_closed_on_exec() {
    let _hang = hang_guard::start();
    let mut rt = real();
    // Long enough to be still ahead when the loop parks on the slowest machine (under
    // valgrind a turn takes more than a millisecond): a sleep already due by then is
    // fired in phase 2, and the loop never parks until it.
    rt.block_on(sleep(Duration::from_millis(20)));
    let mut timerfds = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        if target.to_string_lossy() != "anon_inode:[timerfd]" {
            continue;
        }
        let info = std::fs::read_to_string(format!(
            "/proc/self/fdinfo/{}",
            entry.file_name().to_string_lossy()
        ))
        .unwrap_or_default();
        let Some(flags) = info.lines().find_map(|line| line.strip_prefix("flags:")) else {
            continue; // closed meanwhile (another test's runtime)
        };
        let flags = i32::from_str_radix(flags.trim(), 8).unwrap();
        assert_ne!(flags & libc::O_CLOEXEC, 0, "a timerfd without O_CLOEXEC");
        assert_ne!(flags & libc::O_NONBLOCK, 0, "a blocking timerfd");
        timerfds += 1;
    }
    assert!(timerfds >= 1, "the park made no timerfd");
}

/// Child side of the test below: with no descriptor left, the first park until a
/// timer cannot make its timerfd; the sleep must still end, on the millisecond park.
#[test]
#[cfg(target_os = "linux")]
#[ignore = "run by its parent test in a child process: it lowers the fd limit"]
fn child_sleeps_with_no_fd_left_for_the_timerfd() {
    let _hang = hang_guard::start();
    let mut rt = real();
    reliability_support::lower_fd_limit_to_spare(0);
    assert!(
        std::fs::File::open("/dev/null").is_err(),
        "a descriptor is left"
    );
    let started = Instant::now();
    rt.block_on(sleep(Duration::from_micros(300)));
    println!("SLEPT {}", started.elapsed().as_micros());
}

#[test]
#[cfg(target_os = "linux")]
fn with_no_fd_left_for_the_timerfd_a_sleep_still_ends_on_the_millisecond_park() {
    let _hang = hang_guard::start();
    let output =
        reliability_support::run_child_test("child_sleeps_with_no_fd_left_for_the_timerfd");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let slept: u128 = stdout
        .split_once("SLEPT ")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .expect("the child's SLEPT line");
    assert!(slept >= 300, "woke after {slept} µs, before the deadline");
}
