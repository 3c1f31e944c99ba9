//! Panics everywhere user code runs: in a task, in its destructor (on abort and while
//! the runtime drops), in its output's destructor, in a blocking job, in a waker's
//! `wake`, in the stall callback. The runtime either keeps going or reports clearly —
//! never undefined behaviour, never a hang.
//!
//! The rule these tests pin down:
//! - a panic in a task's `poll` or destructor is that task's `JoinError`;
//! - a panic in code the runtime calls *on someone's behalf* after the fact — the
//!   destructor of an output nobody awaits, a foreign waker's `wake` — is contained
//!   where it happens (the panic hook has printed it), and every other wake still
//!   happens;
//! - a panic in code the caller ran itself (`block_on`'s future, `on_stall`, dropping
//!   a `JoinHandle` that holds a panicking output, `Queue::shutdown` dropping such an
//!   item) reaches that caller, and the runtime or pattern stays usable.

mod hang_guard;

mod reliability_support;

use std::cell::Cell;
use std::future::Future;
use std::net::Shutdown;
use std::panic::{AssertUnwindSafe, catch_unwind, panic_any, resume_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Poll, Waker};
use std::time::Duration;

use glassbox::net::{TcpListener, TcpStream};
use glassbox::{
    Backoff, BlockingPool, Queue, Runtime, Semaphore, join_all, retry, sleep, spawn, timeout,
    yield_now,
};
use reliability_support::{
    DropCount, PanicOnDrop, PanickingWaker, debug_count, ms, panic_message, paused, poll_with,
    within,
};

/// Polls `future` once with a waker that panics when woken.
fn park_panicking_waker<F: Future + Unpin>(future: &mut F) {
    assert!(poll_with(future, &PanickingWaker::waker()).is_pending());
}

// === panics in tasks ===

#[test]
fn a_panic_in_a_task_is_its_join_error_whatever_the_payload() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let str_panic = spawn(async { panic!("a &str") });
        let string_panic = spawn(async { panic!("a {}", "String") });
        let other_panic = spawn(async { panic_any(42u8) });
        let survivor = spawn(async {
            yield_now().await;
            "still here"
        });

        let error = str_panic.await.unwrap_err();
        assert!(error.is_panic());
        assert!(error.to_string().ends_with("panicked: a &str"), "{error}");
        let error = string_panic.await.unwrap_err();
        assert_eq!(panic_message(&*error.into_panic()), "a String");
        let error = other_panic.await.unwrap_err();
        assert!(error.to_string().ends_with("panicked"), "{error}");
        assert_eq!(error.into_panic().downcast_ref::<u8>(), Some(&42));
        assert_eq!(survivor.await.unwrap(), "still here");
    });
}

#[test]
fn a_task_that_panics_while_holding_a_permit_gives_it_back() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let sem = Rc::new(Semaphore::new(1));
        let panicker = spawn({
            let sem = sem.clone();
            async move {
                let _permit = sem.acquire().await.unwrap();
                sleep(ms(5)).await;
                panic!("with a permit in hand");
            }
        });
        yield_now().await;
        let next = spawn({
            let sem = sem.clone();
            async move { sem.acquire().await.unwrap().num_permits() }
        });
        assert!(panicker.await.unwrap_err().is_panic());
        assert_eq!(next.await.unwrap(), 1, "the waiter got the permit");
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn a_task_that_panics_leaves_the_tasks_it_spawned_running() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let child_done = Rc::new(Cell::new(false));
        let parent = spawn({
            let child_done = child_done.clone();
            async move {
                let _child = spawn(async move {
                    sleep(ms(10)).await;
                    child_done.set(true);
                });
                yield_now().await;
                panic!("parent");
            }
        });
        assert!(parent.await.unwrap_err().is_panic());
        sleep(ms(20)).await;
        // The child's handle went down with the parent; the child ran on, detached.
        assert!(child_done.get());
    });
}

#[test]
fn a_destructor_that_panics_during_abort_is_the_tasks_error_and_the_rest_is_still_dropped() {
    let _hang = hang_guard::start();
    let drops = DropCount::default();
    paused().block_on({
        let drops = drops.clone();
        async move {
            let held = (PanicOnDrop, drops.track());
            let task = spawn(async move {
                let _held = held;
                std::future::pending::<()>().await;
            });
            yield_now().await;
            task.abort();
            let error = task.await.unwrap_err();
            assert!(error.is_panic(), "{error}");
            assert_eq!(panic_message(&*error.into_panic()), "PanicOnDrop");
            // Unwinding from the panicking field still dropped the next one.
            assert_eq!(drops.get(), 1);
            // And the loop goes on.
            assert_eq!(spawn(async { 7 }).await.unwrap(), 7);
        }
    });
}

#[test]
fn destructors_that_panic_while_the_runtime_drops_do_not_stop_it_dropping_the_others() {
    let _hang = hang_guard::start();
    let drops = DropCount::default();
    let mut rt = paused();
    let handles = rt.block_on({
        let drops = drops.clone();
        async move {
            let mut handles = Vec::new();
            for i in 0..10 {
                let tracked = drops.track();
                let bomb = if i % 2 == 0 { Some(PanicOnDrop) } else { None };
                let handle = spawn(async move {
                    let _held = (bomb, tracked);
                    std::future::pending::<()>().await;
                });
                if i < 8 {
                    handles.push(handle);
                } // the last two are detached
            }
            yield_now().await;
            handles
        }
    });
    drop(rt);
    assert_eq!(drops.get(), 10, "every task was dropped with the runtime");
    // The handles outlive the runtime and still tell each task's story.
    for (i, mut handle) in handles.into_iter().enumerate() {
        let Poll::Ready(Err(error)) = poll_with(&mut handle, Waker::noop()) else {
            panic!("task {i} has no error");
        };
        match i % 2 {
            0 => assert!(error.is_panic(), "task {i}: {error}"),
            _ => assert!(error.is_cancelled(), "task {i}: {error}"),
        }
    }
}

// === panics in outputs' destructors ===

#[test]
fn a_panicking_destructor_of_a_detached_tasks_output_does_not_take_down_block_on() {
    let _hang = hang_guard::start();
    // Found by this suite: the panic escaped `block_on` and the finished task stayed
    // in the slab. Now it is contained, as tokio does.
    let mut rt = Runtime::new().unwrap();
    let outcome = rt.block_on(async {
        drop(spawn(async { PanicOnDrop }));
        let detached_after_yield = spawn(async {
            yield_now().await;
            PanicOnDrop
        });
        drop(detached_after_yield);
        for _ in 0..3 {
            yield_now().await;
        }
        spawn(async { "the loop goes on" }).await.unwrap()
    });
    assert_eq!(outcome, "the loop goes on");
    assert_eq!(debug_count(&rt, "tasks"), 0, "both slots were freed");
}

#[test]
fn a_panicking_destructor_of_a_held_output_reaches_whoever_drops_the_join_handle() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let handle = spawn(async { PanicOnDrop });
        yield_now().await;
        assert!(handle.is_finished());
        let dropped = catch_unwind(AssertUnwindSafe(|| drop(handle)));
        let payload = dropped.expect_err("dropping the output panics, like any value");
        assert_eq!(panic_message(&*payload), "PanicOnDrop");
        assert_eq!(spawn(async { 1 }).await.unwrap(), 1, "the runtime goes on");
    });
    assert_eq!(debug_count(&rt, "tasks"), 0);
}

#[test]
fn a_timeout_whose_inner_future_panics_on_drop_still_cancels_its_timer() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.block_on(async {
        let task = spawn(async {
            let bomb = PanicOnDrop;
            let inner = async move {
                let _bomb = bomb;
                std::future::pending::<()>().await;
            };
            // The deadline wins; dropping the Timeout drops the inner future first
            // (it panics), and unwinding still drops the timer after it.
            let _ = timeout(ms(10), inner).await;
        });
        assert!(task.await.unwrap_err().is_panic());
    });
    assert_eq!(debug_count(&rt, "pending_timers"), 0);
}

#[test]
fn a_retry_whose_operation_panics_fails_its_task_and_leaves_no_timer() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.block_on(async {
        let calls = Rc::new(Cell::new(0));
        let task = spawn({
            let calls = calls.clone();
            retry(Backoff::new(ms(10)).max_attempts(5), move || {
                calls.set(calls.get() + 1);
                let call = calls.get();
                async move {
                    if call == 2 {
                        panic!("second attempt");
                    }
                    Err::<(), _>("flaky")
                }
            })
        });
        assert!(task.await.unwrap_err().is_panic());
        assert_eq!(calls.get(), 2);
    });
    assert_eq!(debug_count(&rt, "pending_timers"), 0);
}

// === panics in blocking jobs ===

#[test]
fn a_panic_in_spawn_blocking_is_the_handles_error_and_the_pool_thread_survives() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    glassbox::block_on(async {
        let error = pool.spawn(|| panic!("in the job")).await.unwrap_err();
        assert!(error.is_panic() && !error.is_cancelled());
        assert_eq!(panic_message(&*error.into_panic()), "in the job");
        assert_eq!(pool.spawn(|| 5).await.unwrap(), 5, "the one thread took it");
        assert_eq!(pool.thread_count(), 1);
    });
}

#[test]
fn a_blocking_result_whose_destructor_panics_does_not_kill_its_pool_thread() {
    let _hang = hang_guard::start();
    // Found by this suite: the pool thread died while still counted, so the next job
    // waited for ever and dropping the pool hung.
    within(
        Duration::from_secs(60),
        "pool with a panicking result",
        || {
            let pool = BlockingPool::builder().max_threads(1).build();
            glassbox::block_on(async {
                drop(pool.spawn(|| PanicOnDrop)); // detached: the pool thread drops it
                assert_eq!(pool.spawn(|| 5).await.unwrap(), 5);
                assert_eq!(pool.thread_count(), 1);
            });
            drop(pool); // waits for its thread to retire
        },
    );
}

#[test]
fn a_blocking_handle_polled_with_a_panicking_waker_does_not_kill_its_pool_thread() {
    let _hang = hang_guard::start();
    within(
        Duration::from_secs(60),
        "pool with a panicking waker",
        || {
            let pool = BlockingPool::builder().max_threads(1).build();
            glassbox::block_on(async {
                let release = Arc::new(AtomicBool::new(false));
                let mut handle = pool.spawn({
                    let release = release.clone();
                    move || {
                        while !release.load(Ordering::SeqCst) {
                            std::thread::sleep(ms(1));
                        }
                        "result"
                    }
                });
                park_panicking_waker(&mut handle);
                release.store(true, Ordering::SeqCst);
                // The job wakes the panicking waker from the pool thread; the result is
                // stored first, so it is there for the next poll all the same.
                while !handle.is_finished() {
                    sleep(ms(1)).await;
                }
                assert_eq!(handle.await.unwrap(), "result");
                assert_eq!(pool.spawn(|| 5).await.unwrap(), 5, "the thread lives on");
            });
            drop(pool);
        },
    );
}

// === panics in wakers ===

#[test]
fn a_panicking_waker_in_a_timer_tick_does_not_stop_the_other_timers_of_that_tick() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let fired = rt.block_on(async {
        let witnesses = Rc::new(Cell::new(0));
        let mut bombs = Vec::new();
        for round in 0..3 {
            // A sleep parked with a panicking waker, between the good ones.
            let mut bomb = sleep(ms(10));
            park_panicking_waker(&mut bomb);
            bombs.push(bomb);
            if round < 2 {
                let witnesses = witnesses.clone();
                let mut good = sleep(ms(10));
                let _ = poll_with(&mut good, Waker::noop());
                spawn(async move {
                    good.await;
                    witnesses.set(witnesses.get() + 1);
                });
            }
        }
        sleep(ms(20)).await;
        drop(bombs);
        witnesses.get()
    });
    assert_eq!(fired, 2, "both good timers of the tick fired");
    assert_eq!(debug_count(&rt, "tasks"), 0);
}

#[test]
fn a_panicking_waker_on_a_socket_does_not_stop_the_other_waiters_of_that_socket() {
    let _hang = hang_guard::start();
    Runtime::new().unwrap().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let server = Rc::new(listener.accept().await.unwrap().0);
        let mut buf = [0; 8];
        let mut bomb = Box::pin(server.read(&mut buf));
        // The first read finds nothing and parks the panicking waker on the socket.
        assert!(poll_with(&mut bomb, &PanickingWaker::waker()).is_pending());
        let reader = spawn({
            let server = server.clone();
            async move {
                let mut buf = [0; 8];
                let n = server.read(&mut buf).await.unwrap();
                buf[..n].to_vec()
            }
        });
        yield_now().await; // the reader parks behind the bomb
        client.write_all(b"data").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(reader.await.unwrap(), b"data");
        drop(bomb);
    });
}

#[test]
fn a_join_handle_awaited_with_a_panicking_waker_still_frees_its_task() {
    let _hang = hang_guard::start();
    // Found by this suite: the panic escaped `block_on` and left the finished task in
    // the slab.
    let mut rt = Runtime::new().unwrap();
    let finished = rt.block_on(async {
        let mut handle = spawn(async {
            yield_now().await;
            5
        });
        park_panicking_waker(&mut handle);
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(handle.is_finished());
        handle.await.unwrap()
    });
    assert_eq!(finished, 5);
    assert_eq!(debug_count(&rt, "tasks"), 0);
}

#[test]
fn a_semaphore_waiter_whose_waker_panics_does_not_strand_the_waiters_behind_it() {
    let _hang = hang_guard::start();
    // Found by this suite: `add_permits` woke the first waiter, whose waker panicked,
    // and the wake of the waiter behind it (already given its permit) was lost.
    paused().block_on(async {
        let sem = Rc::new(Semaphore::new(0));
        let mut bomb = Box::pin(sem.acquire());
        park_panicking_waker(&mut bomb);
        let behind = spawn({
            let sem = sem.clone();
            async move { sem.acquire().await.unwrap().num_permits() }
        });
        yield_now().await;
        sem.add_permits(2); // serves both, wakes both
        assert_eq!(behind.await.unwrap(), 1);
        drop(bomb.await.unwrap());
        assert_eq!(sem.available_permits(), 2);
    });
}

#[test]
fn queue_waiters_whose_wakers_panic_do_not_strand_the_others() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        // A put hands the item to the bomb; shutdown wakes every getter.
        let queue = Queue::new(0);
        let mut bomb = Box::pin(queue.get());
        park_panicking_waker(&mut bomb);
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let queue = queue.clone();
                spawn(async move { queue.get().await })
            })
            .collect();
        yield_now().await;
        queue.put_nowait(1).unwrap(); // to the bomb, whose waker panics
        queue.put_nowait(2).unwrap(); // to the first getter
        // Takes both back, front first, and wakes the second getter: the two tasks
        // run first and drain both; the bomb, polled last, finds the queue empty.
        queue.shutdown(false);
        let results = join_all(getters).await;
        assert_eq!(results[0].as_ref().unwrap(), &Ok(1));
        assert_eq!(results[1].as_ref().unwrap(), &Ok(2));
        assert!(bomb.await.is_err(), "each item got once, none stranded");

        // task_done wakes every join.
        let queue = Queue::new(0);
        queue.put_nowait(()).unwrap();
        let mut bomb = Box::pin(queue.join());
        park_panicking_waker(&mut bomb);
        let joiner = spawn({
            let queue = queue.clone();
            async move { queue.join().await }
        });
        yield_now().await;
        queue.get_nowait().unwrap();
        queue.task_done().unwrap();
        joiner.await.unwrap();
    });
}

// === panics in callbacks and items ===

#[test]
fn a_panicking_on_stall_callback_reaches_block_on_and_the_runtime_stays_usable() {
    let _hang = hang_guard::start();
    let reports = Rc::new(Cell::new(0));
    let mut rt = Runtime::builder()
        .stall_threshold(Some(ms(1)))
        .on_stall({
            let reports = reports.clone();
            move |report| {
                reports.set(reports.get() + 1);
                if reports.get() == 1 {
                    panic!("on_stall: task {} stalled", report.task_id);
                }
            }
        })
        .build()
        .unwrap();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            spawn(async { std::thread::sleep(ms(20)) }).await.unwrap();
        })
    }));
    let message = panic_message(&*outcome.unwrap_err());
    assert!(message.starts_with("on_stall: task"), "{message}");
    // The runtime is usable again, and still reports stalls.
    rt.block_on(async {
        spawn(async { std::thread::sleep(ms(20)) }).await.unwrap();
    });
    assert!(reports.get() >= 2);
}

#[test]
fn a_panicking_block_on_future_leaves_its_spawned_tasks_for_the_next_block_on() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let child = Rc::new(Cell::new(false));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on({
            let child = child.clone();
            async move {
                spawn(async move {
                    sleep(ms(10)).await;
                    child.set(true);
                });
                resume_unwind(Box::new("block_on's own future"));
            }
        })
    }));
    assert!(outcome.is_err());
    rt.block_on(sleep(ms(20)));
    assert!(child.get(), "the task ran in the next block_on");
}

#[test]
fn an_item_whose_destructor_panics_leaves_the_queue_usable() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(1);
        queue.put_nowait(Some(PanicOnDrop)).unwrap();
        // A waiting put holding a bomb, dropped: the panic reaches the dropper.
        let mut put = Box::pin(queue.put(Some(PanicOnDrop)));
        let _ = poll_with(&mut put, Waker::noop());
        assert!(catch_unwind(AssertUnwindSafe(|| drop(put))).is_err());
        assert_eq!(queue.qsize(), 1, "the queue's state is not stuck borrowed");
        // shutdown(true) drops the queued bomb after its borrow has ended.
        assert!(catch_unwind(AssertUnwindSafe(|| queue.shutdown(true))).is_err());
        assert_eq!(queue.qsize(), 0);
        assert!(queue.put_nowait(None).is_err(), "shut down");
        queue.join().await; // the removed item counts as done
    });
}

#[test]
fn a_task_panicking_many_times_over_leaves_no_slot_behind() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.block_on(async {
        let handles: Vec<_> = (0..200)
            .map(|i| {
                spawn(async move {
                    sleep(ms(i % 7)).await;
                    // `resume_unwind` skips the panic hook: no 200 messages on stderr.
                    resume_unwind(Box::new(i));
                })
            })
            .collect();
        let results = join_all(handles).await;
        assert!(results.iter().all(|r| r.as_ref().unwrap_err().is_panic()));
    });
    assert_eq!(debug_count(&rt, "tasks"), 0);
}

/// A panic payload whose own destructor panics: dropping it raises a second panic.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("Bomb: the payload's destructor panicked");
    }
}

/// Panics in its destructor, with a [`Bomb`] as the payload.
struct BombOnDrop;

impl Drop for BombOnDrop {
    fn drop(&mut self) {
        panic_any(Bomb);
    }
}

// Found by the audit of issue 20: the second payload was dropped outside any
// `catch_unwind`, so its panic unwound out of `block_on`, and the task's handle,
// whose `finish` never ran, waited for ever.
#[test]
fn a_task_whose_destructor_panics_with_a_bomb_after_its_poll_panicked_still_resolves() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let error = rt.block_on(async {
        let task = spawn(PanicsInPoll { _armed: BombOnDrop });
        task.await.unwrap_err()
    });
    assert_eq!(panic_message(&*error.into_panic()), "the poll's own panic");
    assert_eq!(rt.block_on(async { spawn(async { 7 }).await.unwrap() }), 7);
    assert_eq!(debug_count(&rt, "tasks"), 0);
}

/// Panics when polled; its destructor (run later, by the loop) panics with a bomb.
struct PanicsInPoll {
    _armed: BombOnDrop,
}

impl Future for PanicsInPoll {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> Poll<()> {
        panic!("the poll's own panic");
    }
}

/// Ready at once with `output`, holding a value whose destructor panics.
struct ReadyHolding<T> {
    output: Option<T>,
    _held: BombOnDrop,
}

impl<T: Unpin> Future for ReadyHolding<T> {
    type Output = T;

    fn poll(mut self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> Poll<T> {
        Poll::Ready(self.output.take().unwrap())
    }
}

// The same shape one step later: the future completed, its destructor then panicked,
// and the output it had produced (whose own destructor panics) was dropped unguarded.
#[test]
fn a_finished_tasks_output_is_dropped_contained_when_the_futures_destructor_panics() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let error = rt.block_on(async {
        let task = spawn(ReadyHolding {
            output: Some(PanicOnDrop),
            _held: BombOnDrop,
        });
        task.await.unwrap_err()
    });
    assert!(
        error.is_panic(),
        "the destructor's panic is the task's outcome"
    );
    // Its payload is the bomb: leak it rather than set it off here.
    std::mem::forget(error.into_panic());
    assert_eq!(rt.block_on(async { spawn(async { 7 }).await.unwrap() }), 7);
}

// A bomb in the contained paths too: a detached task's output whose destructor
// panics with a bomb, and a joiner's waker whose `wake` does.
#[test]
fn bombs_from_a_detached_output_or_a_joiners_waker_are_contained() {
    let _hang = hang_guard::start();
    struct OutputBomb;
    impl Drop for OutputBomb {
        fn drop(&mut self) {
            panic_any(Bomb);
        }
    }
    let mut rt = paused();
    rt.block_on(async {
        drop(spawn(async { OutputBomb }));
        yield_now().await;
    });
    let waker = Waker::from(Arc::new(BombWaker));
    let mut task = rt.spawn(async { yield_now().await });
    park_with(&mut task, &waker);
    rt.block_on(async { yield_now().await });
    assert!(task.is_finished());
    assert_eq!(rt.block_on(async { spawn(async { 7 }).await.unwrap() }), 7);
}

/// A waker whose `wake` panics with a [`Bomb`].
struct BombWaker;

impl std::task::Wake for BombWaker {
    fn wake(self: Arc<Self>) {
        panic_any(Bomb);
    }
}

/// Polls `future` once with `waker`; it must be pending.
fn park_with<F: Future + Unpin>(future: &mut F, waker: &Waker) {
    assert!(poll_with(future, waker).is_pending());
}
