//! The clock, the timer future and fairness between tasks and timers.

mod hang_guard;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use glassbox::time::{self, Timer};
use glassbox::{DEFAULT_EVENT_INTERVAL, Runtime, spawn, yield_now};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

async fn sleep(duration: Duration) {
    Timer::new(time::now() + duration).await
}

/// CPU time used by this thread so far (from the scheduler's own accounting).
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    let nanos: u64 = stat.split_whitespace().next().unwrap().parse().unwrap();
    Duration::from_nanos(nanos)
}

#[test]
fn paused_clock_one_hour_sleep_finishes_at_once_with_now_one_hour_later() {
    let _hang = hang_guard::start();
    let wall = Instant::now();
    let mut rt = paused();
    let slept = rt.block_on(async {
        let start = time::now();
        sleep(Duration::from_secs(3600)).await;
        time::now() - start
    });
    assert_eq!(slept, Duration::from_secs(3600));
    assert!(
        wall.elapsed() < Duration::from_secs(10),
        "virtual time, not real time"
    );
}

#[test]
fn timers_fire_in_deadline_order_whatever_the_insertion_order() {
    let _hang = hang_guard::start();
    let order = Rc::new(RefCell::new(Vec::new()));
    let mut rt = paused();
    rt.block_on({
        let order = order.clone();
        async move {
            let handles: Vec<_> = [300u64, 5, 70_000, 64, 1, 4_100]
                .into_iter()
                .map(|ms| {
                    let order = order.clone();
                    spawn(async move {
                        sleep(Duration::from_millis(ms)).await;
                        order.borrow_mut().push(ms);
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        }
    });
    assert_eq!(*order.borrow(), [1, 5, 64, 300, 4_100, 70_000]);
}

#[test]
fn a_timer_never_fires_before_its_deadline() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        for ms in [1u64, 2, 5, 13] {
            let deadline = Instant::now() + Duration::from_millis(ms) + Duration::from_micros(300);
            Timer::new(deadline).await;
            assert!(Instant::now() >= deadline);
        }
    });
}

#[test]
fn a_dropped_timer_never_fires() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.block_on(async {
        let early = spawn(sleep(Duration::from_millis(10)));
        let cancelled = spawn(sleep(Duration::from_millis(20)));
        yield_now().await; // both register
        cancelled.abort();
        early.await.unwrap();
        sleep(Duration::from_millis(50)).await;
    });
    assert_eq!(
        rt.metrics().timers_fired,
        2,
        "the 10 ms and 50 ms timers, not the aborted one"
    );
}

#[test]
fn advance_moves_a_paused_clock_and_fires_due_timers_before_returning() {
    let _hang = hang_guard::start();
    let fired = Rc::new(Cell::new(false));
    let mut rt = paused();
    rt.block_on({
        let fired = fired.clone();
        async move {
            let start = time::now();
            let flag = fired.clone();
            spawn(async move {
                sleep(Duration::from_millis(30)).await;
                flag.set(true);
            });
            yield_now().await;
            time::advance(Duration::from_millis(10)).await;
            assert!(!fired.get());
            time::advance(Duration::from_millis(25)).await;
            assert!(fired.get());
            assert_eq!(time::now() - start, Duration::from_millis(35));
        }
    });
}

#[test]
fn advance_on_a_real_clock_panics_with_advice() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(time::advance(Duration::from_secs(1)))
    }));
    let payload = caught.unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
    assert!(message.unwrap().contains("paused_clock(true)"));
}

#[test]
fn an_idle_block_on_of_a_300ms_timer_sleeps_in_the_kernel() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    let cpu_before = thread_cpu_time();
    let wall = Instant::now();
    rt.block_on(sleep(Duration::from_millis(300)));
    let cpu = thread_cpu_time() - cpu_before;
    assert!(wall.elapsed() >= Duration::from_millis(300));
    assert!(
        cpu < Duration::from_millis(50),
        "an idle wait must not spin: used {cpu:?} of CPU"
    );
}

#[test]
fn a_ready_forever_task_cannot_delay_a_10ms_timer_by_more_than_one_batch() {
    let _hang = hang_guard::start();
    let spins = Rc::new(Cell::new(0u64));
    let spins_when_due = Rc::new(Cell::new(None::<u64>));
    let mut rt = Runtime::new().unwrap();
    let spins_when_woken = rt.block_on({
        let (spins, spins_when_due) = (spins.clone(), spins_when_due.clone());
        async move {
            let deadline = Instant::now() + Duration::from_millis(10);
            let spinner = spawn({
                let spins = spins.clone();
                async move {
                    loop {
                        spins.set(spins.get() + 1);
                        // Deadlines round up to the next tick (1 µs): the timer is
                        // due for sure a tick after its deadline; a ms is generous.
                        let surely_due = deadline + Duration::from_millis(1);
                        if spins_when_due.get().is_none() && Instant::now() >= surely_due {
                            spins_when_due.set(Some(spins.get()));
                        }
                        yield_now().await;
                    }
                }
            });
            Timer::new(deadline).await;
            spinner.abort();
            spins.get()
        }
    });
    // None: the timer fired before the spinner even saw it surely due.
    let delay = spins_when_due.get().map_or(0, |due| spins_when_woken - due);
    assert!(
        spins_when_woken > 0,
        "the spinner ran while the timer was pending"
    );
    assert!(
        delay <= u64::from(DEFAULT_EVENT_INTERVAL) + 1,
        "the timer waited {delay} polls of the spinner after its deadline (batch = {DEFAULT_EVENT_INTERVAL})"
    );
}

#[test]
fn now_outside_a_runtime_is_the_real_clock() {
    let _hang = hang_guard::start();
    let before = Instant::now();
    let now = time::now();
    assert!(now >= before && now <= Instant::now());
}

#[test]
fn timers_that_come_due_in_one_late_turn_fire_in_deadline_order_ties_in_arming_order() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let order = rt.block_on(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        // Armed in this order; A's and B's deadlines fall in one coarse slot of the
        // wheel (level 2: 4.096 ms wide), whose list holds them in arming order.
        let timers = [("A", 50_300), ("B", 50_100), ("C", 52_000), ("D", 52_000)];
        for (name, micros) in timers {
            let order = order.clone();
            spawn(async move {
                sleep(Duration::from_micros(micros)).await;
                order.borrow_mut().push(name);
            });
        }
        yield_now().await;
        // The loop wakes late, past all four: one turn fires them together.
        time::advance(Duration::from_millis(60)).await;
        for _ in 0..4 {
            yield_now().await;
        }
        order.take()
    });
    assert_eq!(
        order,
        ["B", "A", "C", "D"],
        "asyncio's heap fires B first too"
    );
}

#[test]
fn a_timer_armed_after_a_long_stretch_without_timers_is_placed_against_now() {
    // The loop leaves an empty wheel where it last was (a turn reads no clock for
    // it); arming brings it up to now first. Placed against tick 0 instead, a 3 ms
    // deadline 10 s on would land on level 3, to be re-placed by the next turn.
    let _hang = hang_guard::start();
    let mut rt = paused();
    let (level, slept) = rt.block_on(async {
        time::advance(Duration::from_secs(10)).await;
        let start = time::now();
        let mut timer = std::pin::pin!(sleep(Duration::from_millis(3)));
        // Armed by its first poll; looked at before any turn can cascade it.
        let first = std::future::poll_fn(|cx| Poll::Ready(timer.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        let timers = glassbox::snapshot().timers;
        assert_eq!(timers.len(), 1, "{timers:?}");
        timer.await;
        (timers[0].level, time::now() - start)
    });
    assert!(level <= 2, "a 3 ms timer on level {level}");
    assert_eq!(slept, Duration::from_millis(3));
}
