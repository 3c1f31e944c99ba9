//! The stall report: one poll that blocks the loop is named, with its spawn site,
//! how long it blocked, and what it did to the timers that came due meanwhile.
//!
//! Margins are generous (a 200 ms poll against a 50 ms threshold, a 1 ms poll against
//! the same), so a loaded machine cannot flip a verdict.

mod hang_guard;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use glassbox::time::{self, Timer};
use glassbox::{Runtime, StallReport, spawn};

const THRESHOLD: Duration = Duration::from_millis(50);

/// A runtime whose stall reports land in the returned list instead of stderr.
fn recording(threshold: Option<Duration>) -> (Runtime, Rc<RefCell<Vec<StallReport>>>) {
    let reports = Rc::new(RefCell::new(Vec::new()));
    let rt = Runtime::builder()
        .stall_threshold(threshold)
        .on_stall({
            let reports = reports.clone();
            move |report| reports.borrow_mut().push(report.clone())
        })
        .build()
        .unwrap();
    (rt, reports)
}

async fn sleep(duration: Duration) {
    Timer::new(time::now() + duration).await
}

#[test]
fn on_stall_fires_for_a_200ms_blocking_poll_naming_the_task_and_its_spawn_site() {
    let _hang = hang_guard::start();
    let (mut rt, reports) = recording(Some(THRESHOLD));
    let (task_id, line) = rt.block_on(async {
        #[rustfmt::skip]
        let (blocker, line) = (spawn(async { std::thread::sleep(Duration::from_millis(200)) }), line!());
        let id = blocker.id();
        blocker.await.unwrap();
        (id, line)
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = &reports[0];
    assert_eq!(report.task_id, task_id);
    assert_eq!(
        report.spawned_at.file(),
        file!(),
        "the user's file, not glassbox's"
    );
    assert_eq!(report.spawned_at.line(), line, "the line of the spawn call");
    assert!(report.blocked_for >= Duration::from_millis(200));
    let metrics = rt.metrics();
    assert_eq!(metrics.stalls, 1);
    assert!(metrics.longest_poll >= Duration::from_millis(200));
}

#[test]
fn runtime_spawn_names_its_callers_line_too() {
    let _hang = hang_guard::start();
    let (mut rt, reports) = recording(Some(THRESHOLD));
    #[rustfmt::skip]
    let (blocker, line) = (rt.spawn(async { std::thread::sleep(Duration::from_millis(200)) }), line!());
    let id = blocker.id();
    rt.block_on(blocker).unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].task_id, id);
    assert_eq!(reports[0].spawned_at.file(), file!());
    assert_eq!(reports[0].spawned_at.line(), line);
}

#[test]
fn polls_under_the_threshold_are_not_reported() {
    let _hang = hang_guard::start();
    let (mut rt, reports) = recording(Some(THRESHOLD));
    rt.block_on(async {
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                spawn(async {
                    for _ in 0..3 {
                        std::thread::sleep(Duration::from_millis(1));
                        glassbox::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
    assert_eq!(rt.metrics().stalls, 0);
    assert!(
        rt.metrics().longest_poll >= Duration::from_millis(1),
        "polls were timed"
    );
}

#[test]
fn with_the_threshold_at_zero_nothing_is_reported() {
    let _hang = hang_guard::start();
    for off in [Some(Duration::ZERO), None] {
        let (mut rt, reports) = recording(off);
        rt.block_on(async {
            spawn(async { std::thread::sleep(Duration::from_millis(120)) })
                .await
                .unwrap();
        });
        assert!(
            reports.borrow().is_empty(),
            "{off:?}: {:?}",
            reports.borrow()
        );
        assert_eq!(rt.metrics().stalls, 0);
        assert!(
            rt.metrics().longest_poll >= Duration::from_millis(120),
            "the longest poll is still measured"
        );
    }
}

#[test]
fn the_report_counts_the_timers_that_came_due_and_how_late_they_fired() {
    let _hang = hang_guard::start();
    let (mut rt, reports) = recording(Some(THRESHOLD));
    rt.block_on(async {
        // Spawned first, so it registers its 10 ms timer before the blocker runs.
        let ticker = spawn(sleep(Duration::from_millis(10)));
        let blocker = spawn(async { std::thread::sleep(Duration::from_millis(200)) });
        blocker.await.unwrap();
        ticker.await.unwrap();
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].timers_due, 1);
    // Due at 10 ms, fired after the 200 ms poll: well over 100 ms late.
    assert!(
        reports[0].max_timer_lateness >= Duration::from_millis(100),
        "{reports:?}"
    );
}

#[test]
fn the_report_line_names_the_task_the_site_the_timers_and_the_cure() {
    let _hang = hang_guard::start();
    let (mut rt, reports) = recording(Some(THRESHOLD));
    rt.block_on(async {
        let ticker = spawn(sleep(Duration::from_millis(10)));
        spawn(async { std::thread::sleep(Duration::from_millis(200)) })
            .await
            .unwrap();
        ticker.await.unwrap();
    });
    let line = reports.borrow()[0].to_string();
    assert!(!line.contains('\n'), "one line: {line}");
    for needle in [
        "task 2",
        "tests/stall.rs:",
        "blocked the loop for",
        "1 timer",
        "late",
        "spawn_blocking",
    ] {
        assert!(line.contains(needle), "{needle:?} missing from: {line}");
    }
}

#[test]
fn a_stall_without_due_timers_says_so() {
    let _hang = hang_guard::start();
    let (mut rt, reports) = recording(Some(THRESHOLD));
    rt.block_on(async {
        spawn(async { std::thread::sleep(Duration::from_millis(120)) })
            .await
            .unwrap();
    });
    let line = reports.borrow()[0].to_string();
    assert!(line.contains("no timer came due"), "{line}");
}

#[test]
fn a_slow_destructor_of_a_finished_tasks_output_is_blamed_on_that_task() {
    let _hang = hang_guard::start();
    struct SlowToDrop;
    impl Drop for SlowToDrop {
        fn drop(&mut self) {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let (mut rt, reports) = recording(Some(THRESHOLD));
    let (slow_id, quick_id) = rt.block_on(async {
        // Detached: its output is dropped by the loop as soon as it finishes.
        let slow = spawn(async { SlowToDrop });
        let quick = spawn(async {});
        let ids = (slow.id(), quick.id());
        drop(slow);
        quick.await.unwrap();
        ids
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].task_id, slow_id);
    assert_ne!(reports[0].task_id, quick_id);
}

#[test]
fn a_blocking_call_in_the_block_on_future_itself_is_reported_naming_block_on() {
    let _hang = hang_guard::start();
    let (mut rt, reports) = recording(Some(THRESHOLD));
    // The most common mistake of all: blocking in the top-level future.
    #[rustfmt::skip]
    let line = { rt.block_on(async { std::thread::sleep(Duration::from_millis(200)); sleep(Duration::from_millis(1)).await }); line!() };
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = &reports[0];
    assert!(report.in_block_on);
    assert_eq!(
        (report.spawned_at.file(), report.spawned_at.line()),
        (file!(), line)
    );
    assert!(report.blocked_for >= Duration::from_millis(200));
    assert!(
        report
            .to_string()
            .contains("the block_on future (block_on called at"),
        "{report}"
    );
}

#[test]
fn a_block_on_future_that_blocks_then_returns_at_once_is_still_reported() {
    let _hang = hang_guard::start();
    let (mut rt, reports) = recording(Some(THRESHOLD));
    rt.block_on(async { std::thread::sleep(Duration::from_millis(200)) });
    assert_eq!(
        reports.borrow().len(),
        1,
        "reported before block_on returned"
    );
    assert!(reports.borrow()[0].in_block_on);
    assert_eq!(rt.metrics().stalls, 1);
}

#[test]
fn the_report_made_as_block_on_returns_counts_the_due_timers_without_firing_them() {
    let _hang = hang_guard::start();
    let (mut rt, reports) = recording(Some(THRESHOLD));
    let start = std::time::Instant::now();
    rt.block_on(async {
        // A task parks on a 1 ms timer; then the block_on future blocks past its
        // deadline and returns at once, so no turn follows to fire it.
        spawn(sleep(Duration::from_millis(1)));
        glassbox::yield_now().await;
        std::thread::sleep(Duration::from_millis(200));
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        reports[0].timers_due, 1,
        "the task's timer came due meanwhile"
    );
    let lateness = reports[0].max_timer_lateness;
    assert!(lateness >= Duration::from_millis(150), "{lateness:?}");
    // Due after `start`, so late by less than the whole call took.
    assert!(lateness < start.elapsed(), "{lateness:?}");
    // Reporting must not change what the loop does: the timer is still in the wheel,
    // for the next turn to fire.
    assert_eq!(rt.metrics().timers_fired, 0);
    assert_eq!(rt.snapshot().timers.len(), 1);
}

#[test]
fn a_task_its_timer_had_queued_before_the_stall_is_counted_as_kept_waiting() {
    let _hang = hang_guard::start();
    let reports = Rc::new(RefCell::new(Vec::new()));
    // Paused: both 10 ms timers fire in one jump, the blocker's first (armed first),
    // so the heartbeat is in the ready queue before the blocker's poll begins.
    let mut rt = Runtime::builder()
        .paused_clock(true)
        .stall_threshold(Some(THRESHOLD))
        .on_stall({
            let reports = reports.clone();
            move |report: &StallReport| reports.borrow_mut().push(report.clone())
        })
        .build()
        .unwrap();
    let heartbeat_id = rt.block_on(async {
        let blocker = spawn(async {
            sleep(Duration::from_millis(10)).await;
            std::thread::sleep(Duration::from_millis(200));
        });
        let heartbeat = spawn(sleep(Duration::from_millis(10)));
        let id = heartbeat.id();
        blocker.await.unwrap();
        heartbeat.await.unwrap();
        id
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].tasks_kept_waiting, [heartbeat_id]);
    // Its timer fired on time, before the stall: the report does not count it twice.
    assert_eq!(reports[0].timers_due, 0, "{reports:?}");
    let line = reports[0].to_string();
    assert!(
        line.contains(&format!(
            "1 task sat in the ready queue meanwhile (task {heartbeat_id})"
        )),
        "{line}"
    );
}

#[test]
fn tasks_spawned_before_the_stall_are_named_front_first_and_a_long_list_is_cut() {
    let _hang = hang_guard::start();
    let (mut rt, reports) = recording(Some(THRESHOLD));
    let waiting = rt.block_on(async {
        let blocker = spawn(async { std::thread::sleep(Duration::from_millis(120)) });
        let waiting: Vec<_> = (0..7).map(|_| spawn(async {})).collect();
        let ids: Vec<_> = waiting.iter().map(|handle| handle.id()).collect();
        blocker.await.unwrap();
        for handle in waiting {
            handle.await.unwrap();
        }
        ids
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].tasks_kept_waiting, waiting);
    let line = reports[0].to_string();
    let first_five: Vec<String> = waiting[..5].iter().map(ToString::to_string).collect();
    let expected = format!(
        "7 tasks sat in the ready queue meanwhile (tasks {}, …)",
        first_five.join(", ")
    );
    assert!(
        line.contains(&expected),
        "{expected:?} missing from: {line}"
    );
}

// === the poll clock (observe/poll_clock.rs) ===

#[test]
fn a_loop_asleep_between_polls_reports_no_stall() {
    let _hang = hang_guard::start();
    // Each poll is timed from its own start: the 120 ms the loop sleeps before a
    // task's poll, or before the `block_on` future's, is no poll's.
    let (mut rt, reports) = recording(Some(THRESHOLD));
    rt.block_on(async {
        spawn(sleep(Duration::from_millis(120))).await.unwrap();
        sleep(Duration::from_millis(120)).await;
    });
    // Nor is the time between two `block_on`s, outside the runtime.
    std::thread::sleep(Duration::from_millis(120));
    rt.block_on(async {});
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
    assert_eq!(rt.metrics().stalls, 0);
    assert!(rt.metrics().longest_poll < THRESHOLD);
}

#[test]
fn a_recorded_turn_times_its_polls_with_the_precise_clock() {
    let _hang = hang_guard::start();
    // The default threshold lets the loop time polls on the coarse clock (a tick of
    // 1 to 4 ms, each length rounded up by one); a recorded turn asks for the
    // precise one, so a poll that does nothing takes microseconds, not a tick.
    let mut rt = Runtime::new().unwrap();
    for _ in 0..20 {
        drop(rt.spawn(async {}));
    }
    let turn = rt.turn();
    assert_eq!(turn.polls.len(), 20);
    let shortest = turn.polls.iter().map(|poll| poll.took).min().unwrap();
    assert!(shortest < Duration::from_millis(1), "{shortest:?}");
}
