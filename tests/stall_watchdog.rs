//! The stall watchdog: a poll that holds the loop past the threshold is reported
//! *while it still runs*, spinning told apart from blocking, by one watchdog thread
//! for the whole process, which stops reporting to a runtime once it drops.
//!
//! Every check is ordering-based: a stalled poll runs until the watchdog has reported
//! it (with a generous real-time cap that fails the test by name), so a loaded machine
//! only makes a test slower, never wrong. The tests take one lock so that one test's
//! stalls do not slow another's reports.

mod hang_guard;

mod reliability_support;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use glassbox::{LiveStall, Runtime, StallCause, StallReport, spawn};
use reliability_support::threads_named;

const THRESHOLD: Duration = Duration::from_millis(50);

/// Longer than any stall here should take to be reported, even on a loaded machine
/// (inside the 60 s of `hang_guard`, with a sharper message).
const CAP: Duration = Duration::from_secs(30);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Live = Arc<Mutex<Vec<LiveStall>>>;

/// A runtime whose live reports land in the returned list.
fn watched(threshold: Duration) -> (Runtime, Live) {
    let live = Live::default();
    let rt = Runtime::builder()
        .stall_threshold(Some(threshold))
        .on_live_stall({
            let live = live.clone();
            move |stall| live.lock().unwrap().push(stall.clone())
        })
        .on_stall(|_| {}) // the loop's own report is checked separately
        .build()
        .unwrap();
    (rt, live)
}

/// Runs `step` over and over inside one poll, until the watchdog has made `reports`
/// live reports. Returns how many it had seen by the time the poll returned.
fn hold_the_loop_until_reported(
    rt: &mut Runtime,
    live: &Live,
    reports: usize,
    step: fn(),
) -> usize {
    let live = live.clone();
    rt.block_on(async move {
        spawn(async move {
            let started = Instant::now();
            while live.lock().unwrap().len() < reports {
                assert!(started.elapsed() < CAP, "no live report after {CAP:?}");
                step();
            }
            live.lock().unwrap().len()
        })
        .await
        .unwrap()
    })
}

fn spin() {
    std::hint::spin_loop();
}

fn block() {
    std::thread::sleep(Duration::from_millis(2));
}

#[test]
fn a_spinning_poll_is_reported_before_it_returns() {
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    let (mut rt, live) = watched(THRESHOLD);
    let seen_while_running = hold_the_loop_until_reported(&mut rt, &live, 1, spin);
    assert_eq!(seen_while_running, 1, "reported while the poll still ran");
    let live = live.lock().unwrap();
    let report = &live[0];
    assert!(report.running_for >= THRESHOLD, "{report:?}");
    assert!(!report.in_block_on);
    assert_eq!(report.spawned_at.file(), file!());
    let line = report.to_string();
    assert!(line.starts_with("glassbox: stall: task "), "{line}");
    assert!(line.contains("is still running"), "{line}");
}

#[test]
#[cfg(target_os = "linux")]
fn a_poll_blocked_in_a_system_call_is_told_apart_from_spinning() {
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    let (mut rt, live) = watched(THRESHOLD);
    hold_the_loop_until_reported(&mut rt, &live, 1, block);
    let report = live.lock().unwrap()[0].clone();
    // Asleep, the thread is off the CPU nearly all the time, however busy the machine.
    assert_eq!(report.cause, StallCause::Blocking, "{report:?}");
    assert!(report.cpu_share.unwrap() < 0.5, "{report:?}");
    assert!(report.to_string().contains("spawn_blocking"), "{report}");
}

#[test]
fn a_long_stall_is_reported_again_at_twice_and_four_times_the_threshold() {
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    let (mut rt, live) = watched(THRESHOLD);
    hold_the_loop_until_reported(&mut rt, &live, 3, block);
    let live = live.lock().unwrap();
    for (report, at_least) in live.iter().zip([1, 2, 4]) {
        assert!(
            report.running_for >= THRESHOLD * at_least,
            "a report before {at_least}T: {report:?}"
        );
    }
}

#[test]
fn the_loops_own_report_carries_the_watchdogs_verdict() {
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    let loop_reports: Arc<Mutex<Vec<StallReport>>> = Arc::default();
    let live = Live::default();
    let mut rt = Runtime::builder()
        .stall_threshold(Some(THRESHOLD))
        .on_live_stall({
            let live = live.clone();
            move |stall| live.lock().unwrap().push(stall.clone())
        })
        .on_stall({
            let loop_reports = loop_reports.clone();
            move |report| loop_reports.lock().unwrap().push(report.clone())
        })
        .build()
        .unwrap();
    hold_the_loop_until_reported(&mut rt, &live, 1, block);
    let live_cause = live.lock().unwrap()[0].cause;
    let loop_reports = loop_reports.lock().unwrap();
    assert_eq!(loop_reports.len(), 1, "{loop_reports:?}");
    assert_eq!(loop_reports[0].cause, live_cause);
}

#[test]
fn polls_under_the_threshold_are_never_reported() {
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    // 1 ms polls against a 250 ms threshold: a 250-fold margin for each poll, while
    // back to back they hold the loop four times the threshold. Each poll is timed
    // on its own: the watchdog must not add one poll's time to the next's.
    let (mut rt, live) = watched(Duration::from_millis(250));
    rt.block_on(async {
        for _ in 0..1_000 {
            spawn(async { std::thread::sleep(Duration::from_millis(1)) })
                .await
                .unwrap();
        }
    });
    assert!(
        live.lock().unwrap().is_empty(),
        "{:?}",
        live.lock().unwrap()
    );
}

#[test]
#[cfg(target_os = "linux")]
fn one_watchdog_thread_watches_every_runtime_of_the_process() {
    let _hang = hang_guard::start();
    // The kernel keeps 15 bytes of a thread's name: "glassbox-watchd".
    const NAME: &str = "glassbox-watch";
    let _serial = one_at_a_time();
    let runtimes: Vec<Runtime> = (0..3)
        .map(|_| {
            Runtime::builder()
                .stall_threshold(Some(THRESHOLD))
                .build()
                .unwrap()
        })
        .collect();
    // A new thread names itself as it starts: give it that moment.
    let started = Instant::now();
    while threads_named(NAME) == 0 {
        assert!(started.elapsed() < CAP, "no watchdog thread after {CAP:?}");
        std::thread::yield_now();
    }
    assert_eq!(threads_named(NAME), 1, "three runtimes, one watchdog");
    drop(runtimes);
    for _ in 0..1_000 {
        let mut rt = Runtime::new().unwrap();
        rt.block_on(async {});
    }
    assert_eq!(threads_named(NAME), 1, "1,000 runtimes later, still one");
}

#[test]
fn runtimes_on_two_threads_stalled_at_once_each_hear_only_of_their_own_stall() {
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    // One stalls in a task, the other in its `block_on` future itself: a report
    // handed to the wrong runtime's callback would say so.
    let in_a_task = std::thread::spawn(|| {
        let (mut rt, live) = watched(THRESHOLD);
        hold_the_loop_until_reported(&mut rt, &live, 2, block);
        live.lock().unwrap().clone()
    });
    let in_block_on = std::thread::spawn(|| {
        let (mut rt, live) = watched(THRESHOLD);
        let reported = live.clone();
        rt.block_on(async move {
            let started = Instant::now();
            while reported.lock().unwrap().len() < 2 {
                assert!(started.elapsed() < CAP, "no live report after {CAP:?}");
                block();
            }
        });
        live.lock().unwrap().clone()
    });
    let (in_a_task, in_block_on) = (in_a_task.join().unwrap(), in_block_on.join().unwrap());
    assert!(in_a_task.iter().all(|r| !r.in_block_on), "{in_a_task:?}");
    assert!(in_block_on.iter().all(|r| r.in_block_on), "{in_block_on:?}");
}

#[test]
fn a_dropped_runtime_waits_for_its_report_in_progress_and_hears_nothing_after() {
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    #[derive(Default)]
    struct Calls {
        began: usize,
        ended: usize,
    }
    let calls: Arc<Mutex<Calls>> = Arc::default();
    let mut rt = Runtime::builder()
        .stall_threshold(Some(THRESHOLD))
        .on_stall(|_| {})
        .on_live_stall({
            let calls = calls.clone();
            move |_| {
                calls.lock().unwrap().began += 1;
                std::thread::sleep(Duration::from_millis(200));
                calls.lock().unwrap().ended += 1;
            }
        })
        .build()
        .unwrap();
    // Hold the loop until the callback has begun, then let the runtime go at once.
    let watching = calls.clone();
    rt.block_on(async move {
        let started = Instant::now();
        while watching.lock().unwrap().began == 0 {
            assert!(started.elapsed() < CAP, "no live report after {CAP:?}");
            block();
        }
    });
    // A socket kept past the drop keeps the loop's reactor (and its observers)
    // alive: the runtime leaves the watch when it drops all the same.
    let kept = rt.block_on(async {
        glassbox::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap()
    });
    drop(rt);
    let counts = |calls: &Mutex<Calls>| {
        let calls = calls.lock().unwrap();
        (calls.began, calls.ended)
    };
    let at_drop = counts(&calls);
    assert_eq!(
        at_drop.0, at_drop.1,
        "the drop waited for the report in progress"
    );
    std::thread::sleep(THRESHOLD * 4);
    assert_eq!(
        counts(&calls),
        at_drop,
        "a report after the runtime was dropped"
    );
    drop(kept);
}

#[test]
fn a_runtime_without_a_threshold_is_not_watched() {
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    let calls = Arc::new(Mutex::new(0));
    let mut rt = Runtime::builder()
        .stall_threshold(None)
        .on_live_stall({
            let calls = calls.clone();
            move |_| *calls.lock().unwrap() += 1
        })
        .build()
        .unwrap();
    rt.block_on(async { std::thread::sleep(THRESHOLD * 3) });
    assert_eq!(*calls.lock().unwrap(), 0);
}

#[test]
fn runtimes_built_and_dropped_on_four_threads_while_one_stalls_never_hear_late_reports() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    let late_reports = Arc::new(AtomicUsize::new(0));
    let churners: Vec<_> = (0..4)
        .map(|_| {
            let late_reports = late_reports.clone();
            std::thread::spawn(move || {
                for round in 0..100 {
                    let dropped = Arc::new(AtomicBool::new(false));
                    let mut rt = Runtime::builder()
                        .stall_threshold(Some(THRESHOLD))
                        .on_stall(|_| {})
                        .on_live_stall({
                            let (dropped, late_reports) = (dropped.clone(), late_reports.clone());
                            move |_| {
                                if dropped.load(Ordering::SeqCst) {
                                    late_reports.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                        })
                        .build()
                        .unwrap();
                    // Every tenth runtime stalls long enough to be reported.
                    let hold = if round % 10 == 0 {
                        THRESHOLD * 2
                    } else {
                        Duration::ZERO
                    };
                    rt.block_on(async move { std::thread::sleep(hold) });
                    drop(rt);
                    dropped.store(true, Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Meanwhile one runtime stalls and must still hear of it.
    let (mut rt, live) = watched(THRESHOLD);
    hold_the_loop_until_reported(&mut rt, &live, 1, block);
    for churner in churners {
        churner.join().unwrap();
    }
    assert_eq!(
        late_reports.load(Ordering::SeqCst),
        0,
        "a report after a drop"
    );
}

#[test]
fn dropping_one_runtime_leaves_the_others_watched() {
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    let (first, _) = watched(THRESHOLD);
    let (mut second, live) = watched(THRESHOLD);
    drop(first);
    hold_the_loop_until_reported(&mut second, &live, 1, block);
}

#[test]
fn a_runtime_with_a_short_threshold_is_watched_at_once_beside_one_with_a_long_one() {
    let _hang = hang_guard::start();
    let _serial = one_at_a_time();
    // The watchdog looks at this one once a minute...
    let (_patient, _) = watched(Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(200)); // time to settle into that sleep
    // ...so a newcomer that needs a look every 25 ms must wake it: its stall is
    // reported within the 30 s cap, not after a minute.
    let (mut eager, live) = watched(THRESHOLD);
    hold_the_loop_until_reported(&mut eager, &live, 1, block);
}

/// How many times the watchdog thread has gone to sleep and been woken so far (its
/// voluntary context switches), or `None` before it exists.
#[cfg(target_os = "linux")]
fn watchdog_wakes() -> Option<u64> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .find_map(|task| {
            let task = task.ok()?.path();
            let name = std::fs::read_to_string(task.join("comm")).ok()?;
            if !name.starts_with("glassbox-watch") {
                return None;
            }
            let status = std::fs::read_to_string(task.join("status")).ok()?;
            status
                .lines()
                .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))?
                .trim()
                .parse()
                .ok()
        })
}

/// Runs the child test `name` alone in a process and returns the watchdog wakes it
/// printed (its `WAKES n` line).
#[cfg(target_os = "linux")]
fn child_watchdog_wakes(name: &str) -> u64 {
    let output = reliability_support::run_child_test(name);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .split_once("WAKES ")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .expect("the child's WAKES line")
}

/// Child side of the test below (alone in its process: any other runtime awake would
/// rightly keep the watchdog looking).
#[test]
#[cfg(target_os = "linux")]
#[ignore = "run by its parent test in a child process: it counts the watchdog's wakes"]
fn child_sleeps_while_watched_then_stalls() {
    let _hang = hang_guard::start();
    // Looks every 10 ms while anything may run: 50 in the half second below.
    let (mut rt, live) = watched(Duration::from_millis(20));
    let live_in_task = live.clone();
    let wakes = rt.block_on(async move {
        glassbox::time::Timer::after(Duration::from_millis(50)).await; // the watchdog settles
        let before = watchdog_wakes().expect("the watchdog thread");
        glassbox::time::Timer::after(Duration::from_millis(500)).await;
        let after = watchdog_wakes().unwrap();
        // Then a stall: the end of that sleep must have woken the watchdog.
        let started = Instant::now();
        while live_in_task.lock().unwrap().is_empty() {
            assert!(started.elapsed() < CAP, "no live report after {CAP:?}");
            std::hint::spin_loop();
        }
        after - before
    });
    println!("WAKES {wakes}");
    assert!(live.lock().unwrap()[0].in_block_on);
}

#[test]
#[cfg(target_os = "linux")]
fn while_every_loop_sleeps_the_watchdog_sleeps_too_and_a_waking_loop_wakes_it() {
    let _hang = hang_guard::start();
    let wakes = child_watchdog_wakes("child_sleeps_while_watched_then_stalls");
    // Awake, it would have looked ~50 times; asleep with the loop, once or twice.
    assert!(
        wakes <= 10,
        "the watchdog woke {wakes} times in 500 ms of sleep"
    );
}

/// Child side of the test below (alone in its process, as the one above).
#[test]
#[cfg(target_os = "linux")]
#[ignore = "run by its parent test in a child process: it counts the watchdog's wakes"]
fn child_naps_while_watched() {
    let _hang = hang_guard::start();
    // Looks every 10 ms while anything may run: ~50 in the half second below.
    let (mut rt, _live) = watched(Duration::from_millis(20));
    let wakes = rt.block_on(async {
        glassbox::time::Timer::after(Duration::from_millis(50)).await; // the watchdog settles
        let before = watchdog_wakes().expect("the watchdog thread");
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(500) {
            glassbox::time::Timer::after(Duration::from_millis(1)).await;
        }
        watchdog_wakes().unwrap() - before
    });
    println!("WAKES {wakes}");
}

// A loop that naps a millisecond at a time is asleep at most of the watchdog's looks,
// but not through one whole look interval: the watchdog must keep its own pace, not
// doze at each look and be woken at the end of every nap (a wake the loop pays for).
#[test]
#[cfg(target_os = "linux")]
fn a_loop_that_naps_often_does_not_wake_the_watchdog_at_every_nap() {
    let _hang = hang_guard::start();
    let wakes = child_watchdog_wakes("child_naps_while_watched");
    // At its own pace ~50 (48–49 here); dozing at each look and woken at the next
    // nap's end, ~150 (149–158 with the check for one whole sleep removed).
    assert!(
        wakes <= 100,
        "the watchdog woke {wakes} times in 500 ms of 1 ms naps"
    );
}
