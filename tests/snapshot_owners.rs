//! Owners in the snapshot: whose waker each timer and socket holds, what each task
//! waits on, and a waker the runtime did not make shown as foreign, never guessed.

mod hang_guard;

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use glassbox::net::UnixStream;
use glassbox::time::Timer;
use glassbox::{Owner, Runtime, TaskId, Wait};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

/// The row of the task pane that starts with task `id`.
fn task_row(text: &str, id: TaskId) -> &str {
    let start = format!("       │ {id:<3} ");
    text.lines()
        .find(|line| line.starts_with(&start))
        .unwrap_or_else(|| panic!("no row for task {id} in\n{text}"))
}

#[test]
fn a_sleeping_task_owns_its_timer_and_waits_on_it() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let sleeper = rt.spawn(async { Timer::after(Duration::from_millis(5)).await });
    rt.run_until_stalled();

    let snapshot = rt.snapshot();
    assert_eq!(snapshot.timers.len(), 1);
    assert_eq!(snapshot.timers[0].owner, Some(Owner::Task(sleeper.id())));
    assert_eq!(
        snapshot.tasks[0].waits_on,
        [Wait::Timer(Duration::from_millis(5))]
    );
    let text = snapshot.to_string();
    let timers = text.lines().find(|l| l.starts_with("timers")).unwrap();
    assert!(timers.ends_with("5.000 ms → task 1"), "{text}");
    assert!(
        task_row(&text, sleeper.id()).ends_with("  timer 5.000 ms"),
        "{text}"
    );
}

#[test]
fn a_task_reading_a_socket_shows_on_the_io_pane() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    // Sockets register with the current runtime: make the pair inside a task, which
    // keeps the writing end (and so the socket open) while it sleeps.
    let reader_id = rt.block_on(async {
        let (writer, reader) = UnixStream::pair().unwrap();
        let reader = glassbox::spawn(async move { reader.read(&mut [0; 4]).await });
        glassbox::spawn(async move {
            Timer::after(Duration::from_secs(60)).await;
            drop(writer);
        });
        reader.id()
    });
    rt.run_until_stalled();

    let snapshot = rt.snapshot();
    let parked: Vec<_> = snapshot
        .io
        .iter()
        .filter(|source| !source.readers.is_empty())
        .collect();
    assert_eq!(parked.len(), 1, "one socket has a parked read");
    assert_eq!(parked[0].readers, [Owner::Task(reader_id)]);
    let token = parked[0].token.clone();
    let reader = snapshot.tasks.iter().find(|t| t.id == reader_id).unwrap();
    assert_eq!(reader.waits_on[0], Wait::Readable(token.clone()));
    // And the read says where it was called (the socket operations tell it).
    assert!(
        matches!(&reader.waits_on[1..], [Wait::Told(label)] if label.what == "UnixStream::read"),
        "{:?}",
        reader.waits_on
    );
    let text = snapshot.to_string();
    assert!(
        text.contains(&format!("token {token} READABLE → task {reader_id}")),
        "{text}"
    );
    // Its waits, too long for the row's column with the call site, go on the line
    // under it.
    assert!(
        text.contains(&format!(
            "│     token {token} READABLE, UnixStream::read at tests/"
        )),
        "{text}"
    );
}

#[test]
fn a_timer_polled_with_a_foreign_waker_shows_as_foreign() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let snapshot = rt.block_on(async {
        // Polled by hand, as another executor or a combinator might, with a waker
        // glassbox did not make.
        let mut foreign = Timer::after(Duration::from_millis(1));
        let polled = Pin::new(&mut foreign).poll(&mut Context::from_waker(Waker::noop()));
        assert!(polled.is_pending());
        // Polled with the waker `block_on` lends its future.
        let mut mine = Timer::after(Duration::from_millis(2));
        let polled = poll_fn(|cx| Poll::Ready(Pin::new(&mut mine).poll(cx))).await;
        assert!(polled.is_pending());
        glassbox::snapshot()
    });

    let owners: Vec<_> = snapshot.timers.iter().map(|t| t.owner).collect();
    assert_eq!(owners, [Some(Owner::Foreign), Some(Owner::BlockOn)]);
    let text = snapshot.to_string();
    assert!(text.contains(": 1.000 ms → a foreign waker · "), "{text}");
    assert!(text.contains(": 2.000 ms → block_on"), "{text}");
}
