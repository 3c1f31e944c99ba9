//! `Runtime::snapshot` and `snapshot()`: the loop's state at one moment, and how it
//! prints.

mod hang_guard;

use std::time::Duration;

use glassbox::net::UdpSocket;
use glassbox::time::Timer;
use glassbox::{Runtime, Snapshot, TaskState};

/// Three parked tasks (a far timer, a near timer, a UDP read) and two scheduled ones,
/// on a paused clock still at 0. Returns the runtime and the spawn line of the first.
fn scene() -> (Runtime, u32) {
    let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
    let first_line = line!() + 1;
    rt.spawn(async { Timer::after(Duration::from_millis(3)).await });
    rt.spawn(async {
        let socket = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        socket.recv_from(&mut [0; 16]).await.unwrap();
    });
    rt.spawn(async { Timer::after(Duration::from_micros(250)).await });
    // Stops before the paused clock would jump: everything above is parked.
    rt.run_until_stalled();
    rt.spawn(async {});
    rt.spawn(async {});
    (rt, first_line)
}

fn states(snapshot: &Snapshot) -> Vec<(String, TaskState, u32, u32)> {
    let tasks = snapshot.tasks.iter();
    tasks
        .map(|task| (task.id.to_string(), task.state, task.polls, task.wakes))
        .collect()
}

#[test]
fn a_snapshot_lists_the_ready_queue_parked_tasks_timers_and_sockets() {
    let _hang = hang_guard::start();
    let (rt, _) = scene();
    let snapshot = rt.snapshot();

    assert_eq!((snapshot.now, snapshot.paused), (Duration::ZERO, true));
    let ready: Vec<String> = snapshot.ready.iter().map(ToString::to_string).collect();
    assert_eq!(
        ready,
        ["4", "5"],
        "in spawn order: the order phase 1 polls them"
    );
    let parked = TaskState::Parked;
    let scheduled = TaskState::Scheduled;
    assert_eq!(
        states(&snapshot),
        [
            ("1".into(), parked, 1, 0),
            ("2".into(), parked, 1, 0),
            ("3".into(), parked, 1, 0),
            ("4".into(), scheduled, 0, 0),
            ("5".into(), scheduled, 0, 0),
        ]
    );
    let deadlines: Vec<Duration> = snapshot.timers.iter().map(|t| t.deadline).collect();
    assert_eq!(
        deadlines,
        [Duration::from_micros(250), Duration::from_millis(3)],
        "earliest first"
    );
    // Level 1 has 64 µs slots: 250 µs is in slot 3, 3,000 µs in slot 46.
    let places: Vec<(usize, usize)> = snapshot.timers.iter().map(|t| (t.level, t.slot)).collect();
    assert_eq!(places, [(1, 3), (1, 46)]);
    assert_eq!(snapshot.io.len(), 1);
    let socket = &snapshot.io[0];
    assert_eq!(
        (socket.readable, socket.readers.len()),
        (false, 1),
        "drained, one read parked"
    );
    assert_eq!(snapshot.blocking_jobs, 0);
}

#[test]
fn finished_tasks_leave_the_snapshot_and_parked_ones_keep_their_counts() {
    let _hang = hang_guard::start();
    let (mut rt, _) = scene();
    rt.run_until_stalled();
    let snapshot = rt.snapshot();
    let ids: Vec<String> = snapshot.tasks.iter().map(|t| t.id.to_string()).collect();
    assert_eq!(ids, ["1", "2", "3"], "tasks 4 and 5 finished");
    assert!(
        snapshot
            .tasks
            .iter()
            .all(|t| t.polls == 1 && t.state == TaskState::Parked)
    );
    assert!(snapshot.ready.is_empty());
    assert_eq!(snapshot.io[0].token, "0.0", "key 0, generation 0");
}

#[test]
fn a_task_sees_itself_running() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    let seen = rt.block_on(async {
        glassbox::spawn(async { glassbox::snapshot() })
            .await
            .unwrap()
    });
    assert_eq!(seen.tasks.len(), 1);
    assert_eq!(seen.tasks[0].state, TaskState::Running);
    assert_eq!(seen.tasks[0].polls, 1, "counted before the poll runs");
    assert!(!seen.paused);
}

#[test]
fn a_snapshot_draws_panes_within_100_columns() {
    let _hang = hang_guard::start();
    let (rt, line) = scene();
    let text = rt.snapshot().to_string();
    let site = |offset: u32, column: u32| format!("tests/snapshot.rs:{}:{column}", line + offset);
    let expected = format!(
        // Turn 1 polled tasks 1-3; turn 2 found nothing to do (`run_until_stalled`).
        // Each timer and the socket names the task whose waker it holds, and each
        // parked task what it waits on (the socket's read, where it was called).
        "\
── after turn 2 · 0.000 ms · paused ──────────────────────────────────
ready  │ task 4 → task 5
timers │ L1 s3: 0.250 ms → task 3 · L1 s46: 3.000 ms → task 1
io     │ token 0.0 READABLE → task 2 (ready: writable)
tasks  │ id  state      polls wakes  self  spawned at              waits on
       │ 1   parked         1     0     0  {}  timer 3.000 ms
       │ 2   parked         1     0     0  {}
       │     token 0.0 READABLE, UdpSocket::recv_from at {}
       │ 3   parked         1     0     0  {}  timer 0.250 ms
       │ 4   scheduled      0     0     0  {}
       │ 5   scheduled      0     0     0  {}
blocking jobs in flight: 0
",
        site(0, 8),
        site(1, 8),
        site(3, 16),
        site(5, 8),
        site(8, 8),
        site(9, 8)
    );
    assert_eq!(text, expected);
    assert!(text.lines().all(|line| line.chars().count() <= 100));
}

#[test]
fn a_long_pane_wraps_at_100_columns() {
    let _hang = hang_guard::start();
    let rt = Runtime::builder().paused_clock(true).build().unwrap();
    for _ in 0..40 {
        rt.spawn(async {});
    }
    let text = rt.snapshot().to_string();
    assert!(
        text.lines().all(|line| line.chars().count() <= 100),
        "{text}"
    );
    assert!(
        text.contains("       │ task"),
        "the ready pane went on to a second line"
    );
}

#[test]
fn a_far_timer_sits_in_the_overflow_list_and_one_that_never_fires_in_the_never_list() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
    // Past the top level's 19 hours: the overflow list (level 6).
    rt.spawn(Timer::after(Duration::from_secs(30 * 24 * 3600)));
    // Past what the clock can count: the never list (level 7).
    rt.spawn(Timer::after(Duration::MAX));
    rt.run_until_stalled();
    let snapshot = rt.snapshot();
    let mut places: Vec<_> = snapshot.timers.iter().map(|t| (t.level, t.slot)).collect();
    places.sort();
    assert_eq!(places, [(6, 0), (7, 0)], "{snapshot}");
}
