//! `examples/toy_loop.rs`, the executor in one file that the README sends a reader to
//! first, does what its comments say, and points at files that exist.

mod hang_guard;

#[path = "../examples/toy_loop.rs"]
#[allow(dead_code)] // its `main` is the example's entry point; the tests call `demo`
mod toy_loop;

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use toy_loop::{Clock, Loop, Task, demo, run};

#[test]
fn the_toy_loop_runs_its_three_tasks_in_the_turns_its_comments_describe() {
    let _hang = hang_guard::start();
    let log = demo(Clock::Virtual(Cell::default()));
    let expected = [
        "turn 1 at 0.0 ms",
        "  poll task 0",
        "    -> Pending", // its Sleep put a 30 ms deadline in the timer list
        "  poll task 1",
        "    -> Pending", // a 10 ms deadline, sorted in front of the 30 ms one
        "  poll task 2",
        "    -> Pending", // YieldNow woke its own task: back of the ready queue...
        "  poll task 2",  // ...and polled again in the same turn's step 1
        "    task 2: yielded once",
        "    -> Ready",
        "  wait until 10.0 ms, the first deadline", // nothing ready: the park
        "  fire the timer due at 10.0 ms",          // only the due one
        "turn 2 at 10.0 ms",
        "  poll task 1",
        "    task 1: slept 10 ms",
        "    -> Ready",
        "  wait until 30.0 ms, the first deadline",
        "  fire the timer due at 30.0 ms",
        "turn 3 at 30.0 ms",
        "  poll task 0",
        "    task 0: slept 30 ms",
        "    -> Ready",
        "every task finished, after 3 turns",
    ];
    assert_eq!(log, expected);
}

#[test]
fn on_the_real_clock_the_toy_loop_sleeps_until_each_deadline_and_fires_timers_in_order() {
    let _hang = hang_guard::start();
    let started = Instant::now();
    let log = demo(Clock::Real(Instant::now()));
    assert!(
        started.elapsed() >= Duration::from_millis(30),
        "the run ended before the 30 ms sleep could"
    );
    // The milliseconds a line of the log shows, as in "turn 2 at 10.1 ms".
    let millis = |line: &str, before: &str, after: &str| -> Option<f64> {
        let (_, rest) = line.split_once(before)?;
        rest.split_once(after)?.0.parse().ok()
    };
    let mut waited_until = 0.0;
    let mut last_fired = 0.0;
    for line in &log {
        if let Some(deadline) = millis(line, "wait until ", " ms") {
            waited_until = deadline;
        } else if let Some(deadline) = millis(line, "due at ", " ms") {
            assert!(
                deadline >= last_fired,
                "timers fire earliest first: {log:#?}"
            );
            last_fired = deadline;
        } else if let Some(turn_began) = millis(line, " at ", " ms") {
            assert!(
                turn_began >= waited_until,
                "a turn began before the deadline its park waited for: {log:#?}"
            );
        }
    }
    for task in [
        "task 0: slept 30 ms",
        "task 1: slept 10 ms",
        "task 2: yielded once",
    ] {
        assert!(
            log.iter().any(|line| line.trim() == task),
            "{task} missing: {log:#?}"
        );
    }
    assert_eq!(
        log.last().unwrap().split(',').next(),
        Some("every task finished")
    );
}

#[test]
#[should_panic(expected = "tasks are waiting but no timer is pending")]
fn a_task_whose_waker_nobody_holds_makes_the_toy_loop_panic_naming_the_mistake() {
    let _hang = hang_guard::start();
    let lp = Loop::new(Clock::Virtual(Cell::default()));
    let waits_for_ever: Task = Box::pin(std::future::pending::<()>());
    run(&lp, vec![waits_for_ever]);
}

#[test]
fn the_files_the_toy_loop_says_to_read_next_exist_and_the_readme_lists_them_in_order() {
    let _hang = hang_guard::start();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let paths: Vec<&str> = toy_loop::READ_NEXT
        .iter()
        .map(|entry| entry.split_whitespace().next().unwrap())
        .collect();
    for path in &paths {
        assert!(
            root.join(path).is_file(),
            "toy_loop's READ_NEXT names {path}: no such file"
        );
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let (_, order) = readme
        .split_once("the nine files to read first")
        .expect("the README has a reading order");
    let mut rest = order;
    for path in &paths {
        let at = rest.find(&format!("`{path}`")).unwrap_or_else(|| {
            panic!("the README's reading order lacks {path}, or lists it out of order")
        });
        rest = &rest[at..];
    }
}
