//! Spawning, joining, aborting and panicking tasks.

mod hang_guard;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use glassbox::{Runtime, block_on, spawn, yield_now};

/// Sets its flag when dropped, so a test can see a future's destructor ran.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// The text of a panic payload (`panic!` with or without format arguments).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn spawned_tasks_run_and_join_in_order() {
    let _hang = hang_guard::start();
    let log = Rc::new(RefCell::new(Vec::new()));
    let results = block_on({
        let log = log.clone();
        async move {
            let handles: Vec<_> = (0..5)
                .map(|i| {
                    let log = log.clone();
                    spawn(async move {
                        log.borrow_mut().push(i);
                        i * 10
                    })
                })
                .collect();
            let mut results = Vec::new();
            for handle in handles {
                results.push(handle.await.unwrap());
            }
            results
        }
    });
    assert_eq!(*log.borrow(), [0, 1, 2, 3, 4], "tasks run in spawn order");
    assert_eq!(results, [0, 10, 20, 30, 40]);
}

#[test]
fn abort_on_a_pending_task_cancels_it_and_drops_its_future() {
    let _hang = hang_guard::start();
    let dropped = Rc::new(Cell::new(false));
    let outcome = block_on({
        let dropped = dropped.clone();
        async move {
            let flag = DropFlag(dropped);
            let handle = spawn(async move {
                let _flag = flag;
                std::future::pending::<()>().await;
            });
            yield_now().await; // let the task start and park
            assert!(!handle.is_finished());
            handle.abort();
            handle.await
        }
    });
    let error = outcome.unwrap_err();
    assert!(error.is_cancelled() && !error.is_panic());
    assert!(
        format!("{error:?}").starts_with("JoinError::Cancelled("),
        "{error:?}"
    );
    assert!(dropped.get(), "the aborted task's future was dropped");
}

#[test]
fn abort_before_the_first_poll_never_runs_the_task() {
    let _hang = hang_guard::start();
    let ran = Rc::new(Cell::new(false));
    let outcome = block_on({
        let ran = ran.clone();
        async move {
            let handle = spawn(async move { ran.set(true) });
            handle.abort();
            handle.await
        }
    });
    assert!(outcome.unwrap_err().is_cancelled());
    assert!(!ran.get());
}

#[test]
fn abort_after_completion_changes_nothing() {
    let _hang = hang_guard::start();
    let outcome = block_on(async {
        let handle = spawn(async { 7 });
        yield_now().await;
        assert!(handle.is_finished());
        handle.abort();
        handle.await
    });
    assert_eq!(outcome.unwrap(), 7);
}

#[test]
fn a_panicking_task_yields_a_panic_join_error_and_the_runtime_keeps_running_others() {
    let _hang = hang_guard::start();
    let (failed, fine) = block_on(async {
        let failing = spawn(async { panic!("boom in a task") });
        let healthy = spawn(async {
            yield_now().await;
            "still running"
        });
        (failing.await, healthy.await)
    });
    let error = failed.unwrap_err();
    assert!(error.is_panic() && !error.is_cancelled());
    assert!(error.to_string().contains("boom in a task"), "{error}");
    let debug = format!("{error:?}");
    assert!(
        debug.starts_with("JoinError::Panic(") && debug.contains("boom in a task"),
        "{debug}"
    );
    let payload = error.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in a task"));
    assert_eq!(fine.unwrap(), "still running");
}

#[test]
fn a_task_whose_destructor_panics_during_abort_yields_a_panic_join_error() {
    let _hang = hang_guard::start();
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("destructor panicked");
        }
    }
    let (aborted, after) = block_on(async {
        let handle = spawn(async {
            let _guard = PanicOnDrop;
            std::future::pending::<()>().await;
        });
        yield_now().await;
        handle.abort();
        let aborted = handle.await;
        let after = spawn(async { "runtime goes on" }).await;
        (aborted, after)
    });
    let error = aborted.unwrap_err();
    assert!(error.is_panic(), "{error:?}");
    assert_eq!(after.unwrap(), "runtime goes on");
}

#[test]
fn a_dropped_join_handle_leaves_the_task_running() {
    let _hang = hang_guard::start();
    let done = Rc::new(Cell::new(false));
    block_on({
        let done = done.clone();
        async move {
            let flag = done.clone();
            drop(spawn(async move {
                yield_now().await;
                yield_now().await;
                flag.set(true);
            }));
            while !done.get() {
                yield_now().await;
            }
        }
    });
    assert!(done.get());
}

#[test]
fn nested_block_on_panics_with_a_message_that_says_what_to_do() {
    let _hang = hang_guard::start();
    let payload = panic::catch_unwind(|| block_on(async { block_on(async {}) })).unwrap_err();
    let message = panic_message(&*payload);
    assert!(
        message.contains("block_on called while a runtime is already running"),
        "{message}"
    );
    assert!(
        message.contains("spawn"),
        "the message points to spawn: {message}"
    );
}

#[test]
fn spawn_outside_a_runtime_panics_with_a_message_that_says_what_to_do() {
    let _hang = hang_guard::start();
    let payload = panic::catch_unwind(|| drop(spawn(async {}))).unwrap_err();
    let message = panic_message(&*payload);
    assert!(
        message.contains("glassbox::spawn must be called from inside a runtime"),
        "{message}"
    );
    assert!(message.contains("block_on"), "{message}");
}

#[test]
fn a_runtime_survives_a_panicking_block_on_future_and_can_run_again() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { panic!("main future") })
    }));
    assert!(caught.is_err());
    assert_eq!(rt.block_on(async { spawn(async { 5 }).await.unwrap() }), 5);
}

#[test]
fn runtime_spawn_queues_a_task_for_the_next_block_on() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    let handle = rt.spawn(async { "queued before block_on" });
    assert_eq!(rt.block_on(handle).unwrap(), "queued before block_on");
}

#[test]
fn dropping_the_runtime_drops_every_task_including_ones_spawned_by_destructors() {
    let _hang = hang_guard::start();
    struct SpawnOnDrop(Rc<Cell<u32>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
            let drops = self.0.clone();
            // A destructor that spawns while the runtime is going away: the new task
            // must be dropped too, without a panic.
            drop(spawn(async move {
                let _flag = DropFlag(Rc::new(Cell::new(false)));
                drops.set(drops.get() + 100);
            }));
        }
    }
    let drops = Rc::new(Cell::new(0));
    let mut rt = Runtime::new().unwrap();
    let handles: Vec<_> = rt.block_on({
        let drops = drops.clone();
        async move {
            (0..3)
                .map(|_| {
                    let guard = SpawnOnDrop(drops.clone());
                    spawn(async move {
                        let _guard = guard;
                        std::future::pending::<()>().await;
                    })
                })
                .collect()
        }
    });
    drop(rt);
    assert_eq!(
        drops.get(),
        3,
        "each destructor ran once; the tasks they spawned never ran"
    );
    for handle in handles {
        assert!(handle.is_finished());
    }
}

#[test]
fn join_handle_reports_its_task_id_and_the_error_names_it() {
    let _hang = hang_guard::start();
    block_on(async {
        let handle = spawn(async { panic!("named") });
        let id = handle.id();
        let error = handle.await.unwrap_err();
        assert_eq!(error.id(), id);
        assert!(
            error
                .to_string()
                .starts_with(&format!("task {id} panicked"))
        );
    });
}

#[test]
fn metrics_count_spawns_polls_and_finishes() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        for _ in 0..10 {
            spawn(async { yield_now().await }).await.unwrap();
        }
    });
    let metrics = rt.metrics();
    assert_eq!(metrics.tasks_spawned, 10);
    assert_eq!(metrics.tasks_finished, 10);
    assert_eq!(
        metrics.polls, 20,
        "each task: one poll to yield, one to finish"
    );
}

// A JoinHandle polled first by one task and then awaited by another must wake the
// second: it keeps the waker of whoever polled it last, not the first one's.
#[test]
fn a_join_handle_moved_to_another_task_wakes_its_new_awaiter() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
    let outcome = rt.block_on(async {
        let release = Rc::new(Cell::new(false));
        let worker = spawn({
            let release = release.clone();
            async move {
                while !release.get() {
                    yield_now().await;
                }
                42
            }
        });
        // The first awaiter polls the handle once (parking its waker there), then
        // hands the handle on through `handed` and ends.
        let handed = Rc::new(Cell::new(None));
        spawn({
            let handed = handed.clone();
            async move {
                let mut worker = worker;
                let polled = std::future::poll_fn(|cx| {
                    std::task::Poll::Ready(std::pin::Pin::new(&mut worker).poll(cx))
                })
                .await;
                assert!(polled.is_pending(), "the worker is still running");
                handed.set(Some(worker));
            }
        })
        .await
        .unwrap();
        let worker = handed.take().expect("handed on");
        let awaiter = spawn(async move { worker.await.unwrap() });
        yield_now().await; // the new awaiter parks on the handle
        release.set(true);
        // A lost wake leaves the new awaiter parked for ever; the paused clock then
        // jumps to this deadline instead of hanging the test.
        glassbox::timeout(std::time::Duration::from_secs(3600), awaiter).await
    });
    assert!(
        matches!(outcome, Ok(Ok(42))),
        "the new awaiter was never woken: {outcome:?}"
    );
}

#[test]
fn a_join_handle_shows_its_task_and_whether_it_finished() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    let handle = rt.spawn(async { 7 });
    let id = handle.id();
    assert_eq!(
        format!("{handle:?}"),
        format!("JoinHandle {{ id: {id:?}, finished: false }}")
    );
    rt.block_on(yield_now());
    assert_eq!(
        format!("{handle:?}"),
        format!("JoinHandle {{ id: {id:?}, finished: true }}")
    );
    assert_eq!(rt.block_on(handle).unwrap(), 7);
}
