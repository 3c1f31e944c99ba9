//! The stall watchdog: a poll that holds the loop past the threshold is reported
//! *while it still runs*, spinning told apart from blocking, and the watchdog thread
//! lives exactly as long as its runtime.
//!
//! Every check is ordering-based: a stalled poll runs until the watchdog has reported
//! it (with a generous real-time cap that fails the test by name), so a loaded machine
//! only makes a test slower, never wrong. The tests take one lock so that the thread
//! count in the last one sees no other test's runtime.

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
    // 1 ms polls against a 1 s threshold: a thousandfold margin.
    let (mut rt, live) = watched(Duration::from_secs(1));
    rt.block_on(async {
        for _ in 0..200 {
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
fn each_runtime_with_a_threshold_has_one_watchdog_joined_when_it_drops() {
    let _hang = hang_guard::start();
    // The kernel keeps 15 bytes of a thread's name: "glassbox-watchd".
    const NAME: &str = "glassbox-watch";
    let _serial = one_at_a_time();
    assert_eq!(threads_named(NAME), 0);
    let rt = Runtime::builder()
        .stall_threshold(Some(THRESHOLD))
        .build()
        .unwrap();
    // The new thread names itself as it starts: give it that moment.
    let started = Instant::now();
    while threads_named(NAME) == 0 {
        assert!(started.elapsed() < CAP, "no watchdog thread after {CAP:?}");
        std::thread::yield_now();
    }
    assert_eq!(threads_named(NAME), 1);
    drop(rt);
    assert_eq!(threads_named(NAME), 0, "joined by the drop");

    for _ in 0..1_000 {
        let mut rt = Runtime::new().unwrap();
        rt.block_on(async {});
    }
    assert_eq!(threads_named(NAME), 0, "1,000 runtimes leave no thread");

    let rt = Runtime::builder().stall_threshold(None).build().unwrap();
    assert_eq!(threads_named(NAME), 0, "no threshold, no watchdog");
    drop(rt);
}
