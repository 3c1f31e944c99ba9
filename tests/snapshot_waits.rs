//! Every wait labelled: the patterns' futures tell the snapshot what a parked task
//! waits on and where (`executor/src/observe/waits.rs`), and a `JoinHandle`'s awaiter
//! is found in the joined task's cell. The five-task program of `examples/waits.rs`
//! (three on a `Semaphore`, one on `Queue::get`, one on a `JoinHandle`) is the case
//! that once showed "a waker held elsewhere" four times out of five.

mod hang_guard;

use std::rc::Rc;
use std::sync::mpsc;

use glassbox::waits::{WaitDetail, WaitLabel};
use glassbox::{Queue, Runtime, Semaphore, TaskId, Wait, spawn_blocking};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

fn waits_of(rt: &Runtime, task: TaskId) -> Vec<Wait> {
    let snapshot = rt.snapshot();
    let info = snapshot.tasks.iter().find(|info| info.id == task);
    info.unwrap_or_else(|| panic!("no task {task} in\n{snapshot}"))
        .waits_on
        .clone()
}

#[test]
fn five_tasks_each_show_what_they_wait_on_and_where() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let permits = Rc::new(Semaphore::new(0));
    let queue = Queue::new(1);

    let acquirers: Vec<_> = (0..3)
        .map(|_| {
            let permits = Rc::clone(&permits);
            rt.spawn(async move {
                let _permit = permits.acquire().await.unwrap();
            })
        })
        .collect();
    let consumer = {
        let queue = queue.clone();
        rt.spawn(async move { queue.get().await.unwrap() })
    };
    let consumer_id = consumer.id();
    let joiner = rt.spawn(async move { consumer.await.unwrap() });
    rt.run_until_stalled();

    for (place, task) in acquirers.iter().enumerate() {
        let waits = waits_of(&rt, task.id());
        let [Wait::Told(label)] = waits.as_slice() else {
            panic!("task {} waits on {waits:?}", task.id());
        };
        assert_eq!(label.what, "Semaphore::acquire");
        assert_eq!(label.detail, WaitDetail::InLine(place + 1));
        assert_eq!(
            label.at.file(),
            file!(),
            "the user's call site, not the library's"
        );
    }
    let waits = waits_of(&rt, consumer_id);
    assert!(
        matches!(waits.as_slice(), [Wait::Told(WaitLabel { what: "Queue::get", detail: WaitDetail::InLine(1), at })] if at.file() == file!()),
        "{waits:?}"
    );
    assert_eq!(waits_of(&rt, joiner.id()), [Wait::JoinHandle(consumer_id)]);
    let text = rt.snapshot().to_string();
    assert!(!text.contains("held elsewhere"), "{text}");
    assert!(text.contains(", 3rd in line"), "{text}");
    assert!(
        text.contains(&format!("JoinHandle of task {consumer_id}")),
        "{text}"
    );

    permits.add_permits(3);
    queue.put_nowait("an item").unwrap();
    rt.run_until_stalled();
    assert!(rt.snapshot().tasks.is_empty());
}

#[test]
fn a_label_says_where_the_task_stood_when_it_last_parked() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let permits = Rc::new(Semaphore::new(0));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let permits = Rc::clone(&permits);
            rt.spawn(async move {
                let _permit = permits.acquire().await.unwrap();
                std::future::pending::<()>().await; // holds it for ever
            })
        })
        .collect();
    rt.run_until_stalled();
    // One permit: the front is served and parks elsewhere, holding it; the two behind
    // are not polled, so they still say where they stood when they parked.
    permits.add_permits(1);
    rt.run_until_stalled();
    let waits = |task: &glassbox::JoinHandle<()>| waits_of(&rt, task.id());
    assert_eq!(
        waits(&tasks[0]),
        [],
        "served: no longer in line, told nothing since"
    );
    let places: Vec<_> = tasks[1..]
        .iter()
        .map(|task| match waits(task).as_slice() {
            [Wait::Told(label)] => label.detail,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(places, [WaitDetail::InLine(2), WaitDetail::InLine(3)]);
}

#[test]
fn queue_put_and_join_and_a_blocking_job_are_labelled() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let queue = Queue::new(1);
    queue.put_nowait(0).unwrap();
    let putter = {
        let queue = queue.clone();
        rt.spawn(async move { queue.put(1).await.unwrap() })
    };
    let joiner = {
        let queue = queue.clone();
        rt.spawn(async move { queue.join().await })
    };
    let (release, held) = mpsc::channel::<()>();
    let blocked = rt.spawn(async move {
        spawn_blocking(move || held.recv().unwrap()).await.unwrap();
    });
    rt.run_until_stalled();

    let what = |task: TaskId| match waits_of(&rt, task).as_slice() {
        [Wait::Told(label)] => (label.what, label.detail, label.at.file()),
        other => panic!("task {task}: {other:?}"),
    };
    assert_eq!(
        what(putter.id()),
        ("Queue::put", WaitDetail::InLine(1), file!())
    );
    assert_eq!(
        what(joiner.id()),
        ("Queue::join", WaitDetail::InLine(1), file!())
    );
    let (job, detail, file) = what(blocked.id());
    assert_eq!((job, file), ("spawn_blocking", file!()));
    assert!(matches!(detail, WaitDetail::Job(_)), "{detail:?}");
    let text = rt.snapshot().to_string();
    assert!(text.contains("spawn_blocking job "), "{text}");

    release.send(()).unwrap();
    rt.block_on(async {
        for _ in 0..2 {
            queue.get().await.unwrap();
            queue.task_done().unwrap();
        }
        blocked.await.unwrap();
    });
    rt.run_until_stalled();
    assert!(rt.snapshot().tasks.is_empty(), "{}", rt.snapshot());
}

/// A sleep and a timeout say where the user's code waits, beside the timer the
/// snapshot finds by itself.
#[test]
fn a_sleep_and_a_timeout_name_their_call_sites() {
    use std::time::Duration;
    let _hang = hang_guard::start();
    let mut rt = paused();
    #[rustfmt::skip]
    let (sleeper, sleep_line) = (rt.spawn(glassbox::sleep(Duration::from_secs(5))), line!());
    #[rustfmt::skip]
    let (guarded, timeout_line) = (rt.spawn(glassbox::timeout(Duration::from_secs(2), std::future::pending::<()>())), line!());
    rt.run_until_stalled();
    let told = |task: TaskId| -> Vec<WaitLabel> {
        waits_of(&rt, task)
            .into_iter()
            .filter_map(|wait| match wait {
                Wait::Told(label) => Some(label),
                _ => None,
            })
            .collect()
    };
    let sleeping = told(sleeper.id());
    assert_eq!(sleeping.len(), 1, "{sleeping:?}");
    assert_eq!(sleeping[0].what, "sleep");
    assert_eq!(
        (sleeping[0].at.file(), sleeping[0].at.line()),
        (file!(), sleep_line)
    );
    let found = waits_of(&rt, sleeper.id());
    assert!(
        found.iter().any(|wait| matches!(wait, Wait::Timer(_))),
        "{found:?}"
    );
    let timing_out = told(guarded.id());
    assert_eq!(timing_out.len(), 1, "{timing_out:?}");
    assert_eq!(timing_out[0].what, "timeout");
    assert_eq!(
        (timing_out[0].at.file(), timing_out[0].at.line()),
        (file!(), timeout_line)
    );
}

/// A socket operation says where the user's code waits on it, beside the token the
/// snapshot finds by itself: an accept, and a read on a Unix stream pair.
#[test]
fn socket_operations_name_their_call_sites() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let lines = rt.block_on(async {
        let listener = glassbox::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        #[rustfmt::skip]
        let (accepting, accept_line) = (glassbox::spawn(async move { listener.accept().await.map(|_| ()) }), line!());
        let (mine, theirs) = glassbox::net::UnixStream::pair().unwrap();
        #[rustfmt::skip]
        let (reading, read_line) = (glassbox::spawn(async move { let mut buf = [0; 1]; mine.read(&mut buf).await }), line!());
        glassbox::yield_now().await;
        let snapshot = glassbox::snapshot();
        let told = |task: TaskId| -> Vec<WaitLabel> {
            let info = snapshot.tasks.iter().find(|info| info.id == task).unwrap();
            info.waits_on
                .iter()
                .filter_map(|wait| match wait {
                    Wait::Told(label) => Some(*label),
                    _ => None,
                })
                .collect()
        };
        let (accept, read) = (told(accepting.id()), told(reading.id()));
        accepting.abort();
        reading.abort();
        drop(theirs);
        (accept, accept_line, read, read_line)
    });
    let (accept, accept_line, read, read_line) = lines;
    assert_eq!(accept.len(), 1, "{accept:?}");
    assert_eq!(accept[0].what, "TcpListener::accept");
    assert_eq!(
        (accept[0].at.file(), accept[0].at.line()),
        (file!(), accept_line)
    );
    assert_eq!(read.len(), 1, "{read:?}");
    assert_eq!(read[0].what, "UnixStream::read");
    assert_eq!((read[0].at.file(), read[0].at.line()), (file!(), read_line));
}
