//! The snapshot's lints: a parked task no waker can reach ("lost waker"), and a task
//! woken mostly by itself ("mostly self-wakes"); and the tasks they must leave alone.

mod hang_guard;

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use glassbox::net::UnixStream;
use glassbox::time::Timer;
use glassbox::{Queue, Runtime, Snapshot, TaskId, Warning};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

/// The tasks flagged with a lost waker.
fn lost(snapshot: &Snapshot) -> Vec<TaskId> {
    let warnings = snapshot.warnings.iter();
    warnings
        .filter_map(|warning| match warning {
            Warning::LostWaker { task, .. } => Some(*task),
            _ => None,
        })
        .collect()
}

/// The tasks flagged for waking themselves.
fn self_wakers(snapshot: &Snapshot) -> Vec<TaskId> {
    let warnings = snapshot.warnings.iter();
    warnings
        .filter_map(|warning| match warning {
            Warning::MostlySelfWakes { task, .. } => Some(*task),
            _ => None,
        })
        .collect()
}

#[test]
fn a_task_whose_waker_was_dropped_is_flagged_and_parked_ones_are_not() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    // Returns Pending without keeping `cx.waker()`: nobody can wake it again.
    let line = line!() + 1;
    let forgotten = rt.spawn(poll_fn(|_cx| Poll::<()>::Pending));
    rt.spawn(async { Timer::after(Duration::from_secs(60)).await });
    let queue: Queue<u32> = Queue::new(0);
    let consumer = queue.clone();
    rt.spawn(async move { consumer.get().await });
    let (sender, receiver) = futures::channel::oneshot::channel::<()>();
    rt.spawn(receiver);
    let (writer, reader) = rt.block_on(async {
        let (writer, reader) = UnixStream::pair().unwrap();
        let sleeper = glassbox::spawn(Timer::after(Duration::from_secs(60)));
        // Parked on a JoinHandle: the sleeper holds this task's waker.
        glassbox::spawn(sleeper);
        (writer, reader)
    });
    rt.spawn(async move { reader.read(&mut [0; 4]).await });
    rt.run_until_stalled();

    let snapshot = rt.snapshot();
    assert_eq!(snapshot.tasks.len(), 7);
    assert_eq!(
        lost(&snapshot),
        [forgotten.id()],
        "not the sleeper, the queue's consumer, the channel's receiver, the \
         JoinHandle's awaiter or the socket's reader:\n{snapshot}"
    );
    let forgotten_row = snapshot.tasks.iter().find(|t| t.id == forgotten.id());
    assert_eq!(forgotten_row.unwrap().wakers, 0);
    let text = snapshot.to_string();
    let warning =
        format!("warn   │ task 1 (spawned at tests/snapshot_warnings.rs:{line}:24): lost waker");
    assert!(text.contains(&warning), "{text}");
    assert!(text.contains("it will never run again"), "{text}");
    assert!(
        text.lines().all(|line| line.chars().count() <= 100),
        "{text}"
    );
    drop((writer, sender, queue));
}

#[test]
fn a_lost_waker_is_not_flagged_while_the_task_is_scheduled() {
    let _hang = hang_guard::start();
    let rt = paused();
    // Never polled yet: it sits in the ready queue, and will run.
    rt.spawn(poll_fn(|_cx| Poll::<()>::Pending));
    assert!(rt.snapshot().warnings.is_empty());
}

#[test]
fn a_wake_on_its_way_from_another_thread_is_not_a_lost_waker() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    // Parks once, handing its only waker out.
    let (give, waker) = std::sync::mpsc::channel();
    let mut parked = false;
    let task = rt.spawn(poll_fn(move |cx| {
        if std::mem::replace(&mut parked, true) {
            return Poll::Ready(());
        }
        give.send(cx.waker().clone()).unwrap();
        Poll::Pending
    }));
    rt.run_until_stalled();
    let waker = waker.recv().unwrap();
    // `wake` consumes the waker: no clone is left, but the wake is in the channel.
    std::thread::spawn(move || waker.wake()).join().unwrap();

    let snapshot = rt.snapshot();
    let row = snapshot.tasks.iter().find(|t| t.id == task.id()).unwrap();
    assert_eq!(row.wakers, 0, "{snapshot}");
    assert_eq!(lost(&snapshot), [], "its wake is on its way:\n{snapshot}");
    rt.run_until_stalled();
    assert!(task.is_finished(), "the wake arrived");
}

#[test]
fn a_task_that_keeps_waking_itself_is_flagged_and_a_timer_woken_one_is_not() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let yielder = rt.spawn(async {
        for _ in 0..20 {
            glassbox::yield_now().await;
        }
        Timer::after(Duration::from_secs(3600)).await;
    });
    let sleeper = rt.spawn(async {
        for _ in 0..20 {
            Timer::after(Duration::from_millis(1)).await;
        }
        Timer::after(Duration::from_secs(3600)).await;
    });
    let wakes_of = |rt: &Runtime, id: TaskId| {
        let snapshot = rt.snapshot();
        let task = snapshot.tasks.into_iter().find(|t| t.id == id).unwrap();
        (task.self_wakes, task.wakes)
    };
    while wakes_of(&rt, sleeper.id()).1 < 20 {
        rt.turn();
    }

    assert_eq!(wakes_of(&rt, yielder.id()), (20, 20));
    assert_eq!(wakes_of(&rt, sleeper.id()), (0, 20));
    let snapshot = rt.snapshot();
    assert_eq!(self_wakers(&snapshot), [yielder.id()], "{snapshot}");
    assert!(lost(&snapshot).is_empty(), "{snapshot}");
    assert!(
        snapshot.warnings.contains(&Warning::MostlySelfWakes {
            task: yielder.id(),
            spawned_at: snapshot.tasks[0].spawned_at,
            self_wakes: 20,
            wakes: 20,
        }),
        "{snapshot}"
    );
    assert!(
        snapshot
            .to_string()
            .contains("): mostly self-wakes — 20 of its 20"),
        "{snapshot}"
    );
}
