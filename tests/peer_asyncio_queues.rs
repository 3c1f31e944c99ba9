//! CPython's own tests for `asyncio.Queue` and `asyncio.Semaphore`, ported to glassbox:
//! `Lib/test/test_asyncio/test_queues.py` and the `SemaphoreTests` of
//! `Lib/test/test_asyncio/test_locks.py` (read at python/cpython `15b05910` and
//! `97ac8662`). Each test names the case it comes from; the scenario is ported, the
//! code is ours.
//!
//! How the asyncio idioms translate:
//! - `asyncio.create_task(coro)` is `spawn(async move { … })`, `task.cancel()` is
//!   `abort()`: both take effect when the loop next runs the task.
//! - `await asyncio.sleep(0)` is `yield_now().await`: every task already ready runs
//!   one step before this one goes on.
//! - `loop.call_later(0.01, f)` is a task that sleeps 10 ms on the paused clock, then
//!   calls `f`.
//! - An asyncio semaphore is a bare counter: `acquire()` takes one, `release()` adds
//!   one, with no token in between. Our `acquire` returns an RAII `Permit`; the
//!   helpers [`acquire`] and [`release`] give the counter view (`Permit::forget` and
//!   `add_permits(1)`).
//! - A peek at a private list (`len(q._getters)`, `'_putters[1]' in repr(q)`,
//!   `q._format()`) reads the same fact from our `Debug` output.
//! - Every test runs under a hang guard: a lost wake fails it by name.
//!
//! # Not ported, and why
//! test_queues.py (59 cases, counting each mixin once per queue class it is mixed
//! into):
//! - `LifoQueueTests.test_order`, `PriorityQueueTests.test_order`, and the
//!   `LifoQueue`/`PriorityQueue` instances of the join and shutdown mixins (4 + 5
//!   each): 20 cases. glassbox has only the first-in, first-out queue.
//! - `QueueBasicTests.test_str`: Python's `str` of a queue; a Rust value has one
//!   developer view, `Debug`, ported with `test_repr`.
//! - `QueueBasicTests.test_generic_alias`: Python's `Queue[int]` typing alias.
//! - `QueuePutTests.test_float_maxsize`: `maxsize` is a `usize` here.
//!
//! test_locks.py, `SemaphoreTests` (14 cases), and the two `LockTests` cases that
//! also check `Semaphore` and `BoundedSemaphore`:
//! - `test_semaphore`: `await sem` must raise `TypeError`; here `Semaphore` is not a
//!   future, so the compiler refuses it.
//! - `test_semaphore_value`: a negative initial value; `Semaphore::new` takes a
//!   `usize`.
//! - `test_release_not_acquired` (`BoundedSemaphore`): glassbox has no bounded
//!   semaphore. Permits come back only by dropping a `Permit`, so releasing one that
//!   was never taken cannot be written; `add_permits` is the plain `release`.
//! - `LockTests.test_lock_doesnt_accept_loop_parameter`,
//!   `LockTests.test_lock_by_with_statement`: Python call signatures and `with`
//!   statements.
//!
//! # Counts
//! 75 upstream cases: 59 in test_queues.py, 16 in test_locks.py (14 `SemaphoreTests`
//! and the 2 `LockTests` above). 47 apply and are ported below (36 queue, 11
//! semaphore); 28 cannot apply (listed above). One ported case asserts a deliberate
//! difference (`test_acquire_fifo_order_2`, explained there). Before the fix of `Put`
//! (a freed slot is reserved, not filled) two failed: `test_put_cancel_drop` and
//! `test_cancelled_put_silence_value_error_exception`.

mod hang_guard;

mod reliability_support;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use glassbox::{
    GetNowaitError, JoinHandle, PutNowaitError, Queue, QueueShutDown, Semaphore, join_all, sleep,
    spawn, timeout, yield_now,
};
use reliability_support::{CountingWaker, ms, or_hang, paused, poll_with};

/// Runs `test` on a fresh paused runtime, under the hang guard.
fn run<F: Future>(case: &str, test: F) -> F::Output {
    paused().block_on(or_hang(case, test))
}

/// `asyncio.create_task(q.put(item))`.
fn spawn_put<T: 'static>(queue: &Queue<T>, item: T) -> JoinHandle<Result<(), QueueShutDown<T>>> {
    let queue = queue.clone();
    spawn(async move { queue.put(item).await })
}

/// `asyncio.create_task(q.get())`.
fn spawn_get<T: 'static>(queue: &Queue<T>) -> JoinHandle<Result<T, QueueShutDown>> {
    let queue = queue.clone();
    spawn(async move { queue.get().await })
}

fn debug<T>(queue: &Queue<T>) -> String {
    format!("{queue:?}")
}

/// asyncio's `await sem.acquire()`: takes one from the counter, keeps no token.
async fn acquire(sem: &Semaphore) {
    sem.acquire().await.unwrap().forget();
}

/// asyncio's `sem.release()`: adds one to the counter (waking the front waiter).
fn release(sem: &Semaphore) {
    sem.add_permits(1);
}

/// asyncio's `sem.locked()`: no permit free now.
fn locked(sem: &Semaphore) -> bool {
    sem.available_permits() == 0
}

/// Spawns `tag`'s acquirer: takes a permit, then records `tag`.
fn spawn_acquirer(sem: &Rc<Semaphore>, result: &Rc<RefCell<Vec<u32>>>, tag: u32) -> JoinHandle<()> {
    let (sem, result) = (sem.clone(), result.clone());
    spawn(async move {
        acquire(&sem).await;
        result.borrow_mut().push(tag);
    })
}

// === test_queues.py: QueueBasicTests ===

// from test_queues.py: QueueBasicTests.test_repr
#[test]
fn debug_shows_waiting_getters_waiting_putters_and_the_size() {
    let _hang = hang_guard::start();
    run("test_repr", async {
        let queue = Queue::new(0);
        assert!(debug(&queue).starts_with("Queue"), "{}", debug(&queue));

        let getter = spawn_get(&queue);
        yield_now().await;
        assert!(
            debug(&queue).contains("getters_waiting: 1"),
            "{}",
            debug(&queue)
        );
        queue.put_nowait(0).unwrap();
        assert_eq!(getter.await.unwrap(), Ok(0));

        let bounded = Queue::new(1);
        bounded.put_nowait(1).unwrap();
        let putter = spawn_put(&bounded, 2);
        yield_now().await;
        assert!(
            debug(&bounded).contains("putters_waiting: 1"),
            "{}",
            debug(&bounded)
        );
        bounded.get_nowait().unwrap();
        putter.await.unwrap().unwrap();

        let one = Queue::new(0);
        one.put_nowait(1).unwrap();
        assert!(debug(&one).contains("qsize: 1"), "{}", debug(&one));
    });
}

// from test_queues.py: QueueBasicTests.test_empty
#[test]
fn empty_is_true_until_a_put_and_again_after_the_get() {
    let _hang = hang_guard::start();
    run("test_empty", async {
        let queue = Queue::new(0);
        assert!(queue.empty());
        queue.put(1).await.unwrap();
        assert!(!queue.empty());
        assert_eq!(queue.get().await, Ok(1));
        assert!(queue.empty());
    });
}

// from test_queues.py: QueueBasicTests.test_full
#[test]
fn an_unbounded_queue_is_never_full_and_a_bounded_one_is_at_its_bound() {
    let _hang = hang_guard::start();
    run("test_full", async {
        assert!(!Queue::<u8>::new(0).full());
        let queue = Queue::new(1);
        queue.put(1).await.unwrap();
        assert!(queue.full());
    });
}

// from test_queues.py: QueueBasicTests.test_order
#[test]
fn items_come_out_in_the_order_they_were_put() {
    let _hang = hang_guard::start();
    run("test_order", async {
        let queue = Queue::new(0);
        for n in [1, 3, 2] {
            queue.put(n).await.unwrap();
        }
        let mut out = Vec::new();
        for _ in 0..3 {
            out.push(queue.get().await.unwrap());
        }
        assert_eq!(out, [1, 3, 2]);
    });
}

// from test_queues.py: QueueBasicTests.test_maxsize
#[test]
fn a_putter_blocks_at_maxsize_and_resumes_after_a_get() {
    let _hang = hang_guard::start();
    run("test_maxsize", async {
        let queue = Queue::new(2);
        assert_eq!(queue.maxsize(), 2);
        let have_been_put = Rc::new(RefCell::new(Vec::new()));
        let putter = spawn({
            let (queue, have_been_put) = (queue.clone(), have_been_put.clone());
            async move {
                for n in 0..3 {
                    queue.put(n).await.unwrap();
                    have_been_put.borrow_mut().push(n);
                }
                true
            }
        });
        yield_now().await;
        yield_now().await;
        assert_eq!(*have_been_put.borrow(), [0, 1], "blocked after two");
        assert_eq!(queue.get().await, Ok(0));
        yield_now().await; // the putter resumes and puts its last item
        assert_eq!(*have_been_put.borrow(), [0, 1, 2]);
        assert_eq!(queue.get().await, Ok(1));
        assert_eq!(queue.get().await, Ok(2));
        assert!(putter.is_finished());
        assert!(putter.await.unwrap());
    });
}

// === test_queues.py: QueueGetTests ===

// from test_queues.py: QueueGetTests.test_blocking_get
#[test]
fn get_returns_at_once_when_an_item_is_there() {
    let _hang = hang_guard::start();
    run("test_blocking_get", async {
        let queue = Queue::new(0);
        queue.put_nowait(1).unwrap();
        assert_eq!(queue.get().await, Ok(1));
    });
}

// from test_queues.py: QueueGetTests.test_get_with_putters
#[test]
fn a_get_from_a_full_queue_wakes_the_waiting_putter() {
    let _hang = hang_guard::start();
    run("test_get_with_putters", async {
        let queue = Queue::new(1);
        queue.put(1).await.unwrap();
        // Upstream plants a bare future in `_putters`; here a real put waits, polled
        // by hand with a waker that counts.
        let (wakes, waker) = CountingWaker::new();
        let mut put = queue.put(2);
        assert!(poll_with(&mut put, &waker).is_pending());
        assert_eq!(queue.get().await, Ok(1));
        assert_eq!(wakes.wakes(), 1, "the putter was woken");
        assert_eq!(poll_with(&mut put, &waker), std::task::Poll::Ready(Ok(())));
    });
}

// from test_queues.py: QueueGetTests.test_blocking_get_wait
#[test]
fn a_get_waits_until_an_item_arrives_later() {
    let _hang = hang_guard::start();
    run("test_blocking_get_wait", async {
        let queue = Queue::new(0);
        let (started, finished) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
        let getter = spawn({
            let (queue, started, finished) = (queue.clone(), started.clone(), finished.clone());
            async move {
                started.set(true);
                let item = queue.get().await;
                finished.set(true);
                item
            }
        });
        while !started.get() {
            yield_now().await;
        }
        assert!(!finished.get());
        spawn({
            let queue = queue.clone();
            async move {
                sleep(ms(10)).await;
                queue.put_nowait(1).unwrap();
            }
        });
        assert_eq!(getter.await.unwrap(), Ok(1));
        assert!(finished.get());
    });
}

// from test_queues.py: QueueGetTests.test_nonblocking_get
#[test]
fn get_nowait_returns_the_item_put() {
    let _hang = hang_guard::start();
    let queue = Queue::new(0);
    queue.put_nowait(1).unwrap();
    assert_eq!(queue.get_nowait(), Ok(1));
}

// from test_queues.py: QueueGetTests.test_nonblocking_get_exception
#[test]
fn get_nowait_on_an_empty_queue_is_empty() {
    let _hang = hang_guard::start();
    assert_eq!(Queue::<u8>::new(0).get_nowait(), Err(GetNowaitError::Empty));
}

// from test_queues.py: QueueGetTests.test_get_cancelled_race
#[test]
fn a_getter_cancelled_while_waiting_leaves_the_next_item_to_the_one_behind() {
    let _hang = hang_guard::start();
    run("test_get_cancelled_race", async {
        let queue = Queue::new(0);
        let first = spawn_get(&queue);
        let second = spawn_get(&queue);
        yield_now().await;
        first.abort();
        yield_now().await;
        assert!(first.is_finished());
        queue.put('a').await.unwrap();
        yield_now().await;
        assert_eq!(second.await.unwrap(), Ok('a'));
    });
}

// from test_queues.py: QueueGetTests.test_get_with_waiting_putters
#[test]
fn gets_take_the_items_of_waiting_putters_in_their_order() {
    let _hang = hang_guard::start();
    run("test_get_with_waiting_putters", async {
        let queue = Queue::new(1);
        spawn_put(&queue, 'a');
        spawn_put(&queue, 'b');
        assert_eq!(queue.get().await, Ok('a'));
        assert_eq!(queue.get().await, Ok('b'));
    });
}

// from test_queues.py: QueueGetTests.test_why_are_getters_waiting
#[test]
fn a_producer_and_a_consumer_of_five_items_through_one_slot_both_finish() {
    let _hang = hang_guard::start();
    run("test_why_are_getters_waiting", async {
        let queue = Queue::new(1);
        let producer = spawn({
            let queue = queue.clone();
            async move {
                for n in 0..5 {
                    queue.put(n).await.unwrap();
                }
            }
        });
        let consumer = spawn({
            let queue = queue.clone();
            async move {
                for _ in 0..5 {
                    queue.get().await.unwrap();
                }
            }
        });
        producer.await.unwrap();
        consumer.await.unwrap();
    });
}

// from test_queues.py: QueueGetTests.test_cancelled_getters_not_being_held_in_self_getters
#[test]
fn a_get_that_timed_out_leaves_no_getter_in_line() {
    let _hang = hang_guard::start();
    run(
        "test_cancelled_getters_not_being_held_in_self_getters",
        async {
            let queue = Queue::<u8>::new(5);
            assert!(timeout(ms(100), queue.get()).await.is_err());
            assert!(
                debug(&queue).contains("getters_waiting: 0"),
                "{}",
                debug(&queue)
            );
        },
    );
}

// === test_queues.py: QueuePutTests ===

// from test_queues.py: QueuePutTests.test_blocking_put
#[test]
fn put_on_an_unbounded_queue_never_waits() {
    let _hang = hang_guard::start();
    run("test_blocking_put", async {
        let queue = Queue::new(0);
        queue.put(1).await.unwrap();
        assert_eq!(queue.get().await, Ok(1));
    });
}

// from test_queues.py: QueuePutTests.test_blocking_put_wait
#[test]
fn a_second_put_waits_for_a_later_get() {
    let _hang = hang_guard::start();
    run("test_blocking_put_wait", async {
        let queue = Queue::new(1);
        let (started, finished) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
        spawn({
            let queue = queue.clone();
            async move {
                sleep(ms(10)).await;
                queue.get_nowait().unwrap();
            }
        });
        let putter = spawn({
            let (queue, started, finished) = (queue.clone(), started.clone(), finished.clone());
            async move {
                started.set(true);
                queue.put(1).await.unwrap();
                queue.put(2).await.unwrap();
                finished.set(true);
            }
        });
        while !started.get() {
            yield_now().await;
        }
        assert!(!finished.get());
        putter.await.unwrap();
        assert!(finished.get());
    });
}

// from test_queues.py: QueuePutTests.test_nonblocking_put
#[test]
fn put_nowait_then_get_nowait_round_trips() {
    let _hang = hang_guard::start();
    let queue = Queue::new(0);
    queue.put_nowait(1).unwrap();
    assert_eq!(queue.get_nowait(), Ok(1));
}

// from test_queues.py: QueuePutTests.test_get_cancel_drop_one_pending_reader
#[test]
fn a_reader_cancelled_after_being_handed_an_item_drops_nothing() {
    let _hang = hang_guard::start();
    run("test_get_cancel_drop_one_pending_reader", async {
        let queue = Queue::new(0);
        let reader = spawn_get(&queue);
        yield_now().await;
        queue.put_nowait(1).unwrap(); // handed to the waiting reader
        queue.put_nowait(2).unwrap();
        reader.abort();
        let result = match reader.await {
            Ok(got) => got,
            Err(cancelled) => {
                assert!(cancelled.is_cancelled());
                spawn_get(&queue).await.unwrap() // try again
            }
        };
        assert_eq!(result, Ok(1), "2 would mean 1 was dropped");
    });
}

// from test_queues.py: QueuePutTests.test_get_cancel_drop_many_pending_readers
#[test]
fn items_handed_to_a_cancelled_reader_reach_the_readers_behind_it() {
    let _hang = hang_guard::start();
    run("test_get_cancel_drop_many_pending_readers", async {
        let queue = Queue::new(0);
        let readers: Vec<_> = (0..3).map(|_| spawn_get(&queue)).collect();
        yield_now().await;
        queue.put_nowait(1).unwrap();
        queue.put_nowait(2).unwrap();
        let mut readers = readers.into_iter();
        let first = readers.next().unwrap();
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        let mut got: Vec<i32> = join_all(readers)
            .await
            .into_iter()
            .map(|r| r.unwrap().unwrap())
            .collect();
        // Upstream leaves the order open; only the set is checked.
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

// from test_queues.py: QueuePutTests.test_put_cancel_drop
#[test]
fn a_writer_cancelled_after_its_slot_was_freed_did_not_put() {
    let _hang = hang_guard::start();
    run("test_put_cancel_drop", async {
        let queue = Queue::new(1);
        queue.put_nowait(1).unwrap();
        let writer = spawn_put(&queue, 2); // has to wait: qsize is 1
        yield_now().await;
        assert_eq!(queue.get_nowait(), Ok(1)); // frees the slot for the writer...
        writer.abort(); // ...which is cancelled before it runs
        if let Err(cancelled) = writer.await {
            assert!(cancelled.is_cancelled());
            spawn_put(&queue, 2).await.unwrap().unwrap(); // try again
        }
        assert_eq!(queue.get_nowait(), Ok(2));
        assert_eq!(queue.qsize(), 0, "2 was put exactly once");
    });
}

// from test_queues.py: QueuePutTests.test_nonblocking_put_exception
#[test]
fn put_nowait_on_a_full_queue_is_full() {
    let _hang = hang_guard::start();
    let queue = Queue::new(1);
    queue.put_nowait(1).unwrap();
    assert!(matches!(queue.put_nowait(2), Err(PutNowaitError::Full(2))));
}

// from test_queues.py: QueuePutTests.test_put_cancelled
#[test]
fn a_get_waits_for_a_put_task_that_has_not_run_yet() {
    let _hang = hang_guard::start();
    run("test_put_cancelled", async {
        let queue = Queue::new(0);
        let putter = spawn({
            let queue = queue.clone();
            async move {
                queue.put(1).await.unwrap();
                true
            }
        });
        assert_eq!(queue.get().await, Ok(1));
        assert!(putter.is_finished());
        assert!(putter.await.unwrap());
    });
}

// from test_queues.py: QueuePutTests.test_put_cancelled_race
#[test]
fn a_putter_cancelled_in_line_leaves_the_others_in_order() {
    let _hang = hang_guard::start();
    run("test_put_cancelled_race", async {
        let queue = Queue::new(1);
        let put_a = spawn_put(&queue, 'a');
        let put_b = spawn_put(&queue, 'b');
        let put_c = spawn_put(&queue, 'X');
        yield_now().await;
        assert!(put_a.is_finished());
        assert!(!put_b.is_finished());
        put_c.abort();
        yield_now().await;
        assert!(put_c.is_finished());
        assert_eq!(queue.get_nowait(), Ok('a'));
        yield_now().await;
        assert_eq!(queue.get_nowait(), Ok('b'));
        put_b.await.unwrap().unwrap();
    });
}

// from test_queues.py: QueuePutTests.test_put_with_waiting_getters
#[test]
fn a_put_goes_to_the_waiting_getter() {
    let _hang = hang_guard::start();
    run("test_put_with_waiting_getters", async {
        let queue = Queue::new(0);
        let getter = spawn_get(&queue);
        yield_now().await;
        queue.put('a').await.unwrap();
        assert_eq!(getter.await.unwrap(), Ok('a'));
    });
}

// from test_queues.py: QueuePutTests.test_why_are_putters_waiting
#[test]
fn four_putters_on_two_slots_all_finish_once_a_getter_drains_it() {
    let _hang = hang_guard::start();
    run("test_why_are_putters_waiting", async {
        let queue = Queue::new(2);
        let getter = spawn({
            let queue = queue.clone();
            async move {
                yield_now().await;
                for _ in 0..queue.qsize() {
                    queue.get_nowait().unwrap();
                }
            }
        });
        let putters: Vec<_> = (0..4).map(|n| spawn_put(&queue, n)).collect();
        getter.await.unwrap();
        for result in join_all(putters).await {
            result.unwrap().unwrap();
        }
    });
}

// from test_queues.py: QueuePutTests.test_cancelled_puts_not_being_held_in_self_putters
#[test]
fn a_cancelled_waiting_put_leaves_the_line() {
    let _hang = hang_guard::start();
    run(
        "test_cancelled_puts_not_being_held_in_self_putters",
        async {
            let queue = Queue::new(1);
            queue.put_nowait(1).unwrap();
            let putter = spawn_put(&queue, 1);
            yield_now().await;
            assert!(
                debug(&queue).contains("putters_waiting: 1"),
                "{}",
                debug(&queue)
            );
            putter.abort();
            assert!(putter.await.unwrap_err().is_cancelled());
            assert!(
                debug(&queue).contains("putters_waiting: 0"),
                "{}",
                debug(&queue)
            );
        },
    );
}

// from test_queues.py: QueuePutTests.test_cancelled_put_silence_value_error_exception
#[test]
fn a_put_cancelled_after_get_nowait_freed_its_slot_reports_cancelled_and_put_nothing() {
    let _hang = hang_guard::start();
    run("test_cancelled_put_silence_value_error_exception", async {
        let queue = Queue::new(1);
        queue.put_nowait(1).unwrap();
        let putter = spawn_put(&queue, 1);
        yield_now().await;
        queue.get_nowait().unwrap(); // takes the putter out of the line, wakes it
        putter.abort();
        assert!(putter.await.unwrap_err().is_cancelled());
        // Upstream checks only the cancellation (its bug was an exception leaking
        // out of the cleanup). The queue is then empty in CPython, and must be here:
        // the cancelled put did not put.
        assert_eq!(queue.qsize(), 0);
    });
}

// === test_queues.py: _QueueJoinTestMixin (as QueueJoinTests) ===

// from test_queues.py: QueueJoinTests.test_task_done_underflow
#[test]
fn task_done_on_a_fresh_queue_is_an_error() {
    let _hang = hang_guard::start();
    assert!(Queue::<u8>::new(0).task_done().is_err());
}

// from test_queues.py: QueueJoinTests.test_task_done
#[test]
fn join_returns_once_two_workers_have_marked_every_item_done() {
    let _hang = hang_guard::start();
    run("test_task_done", async {
        let queue = Queue::new(0);
        for n in 0..100 {
            queue.put_nowait(n).unwrap();
        }
        let (total, running) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(true)));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (queue, total, running) = (queue.clone(), total.clone(), running.clone());
                spawn(async move {
                    while running.get() {
                        total.set(total.get() + queue.get().await.unwrap());
                        queue.task_done().unwrap();
                    }
                })
            })
            .collect();
        queue.join().await;
        assert_eq!(total.get(), (0..100).sum::<i32>());
        // Stop the workers as upstream does: clear the flag, feed each one more item.
        running.set(false);
        for _ in &workers {
            queue.put_nowait(0).unwrap();
        }
        for worker in join_all(workers).await {
            worker.unwrap();
        }
    });
}

// from test_queues.py: QueueJoinTests.test_join_empty_queue
#[test]
fn join_on_an_empty_queue_returns_at_once_twice() {
    let _hang = hang_guard::start();
    run("test_join_empty_queue", async {
        let queue = Queue::<u8>::new(0);
        queue.join().await;
        queue.join().await;
    });
}

// from test_queues.py: QueueJoinTests.test_format
#[test]
fn debug_shows_maxsize_and_the_unfinished_count() {
    let _hang = hang_guard::start();
    let queue = Queue::new(0);
    assert!(
        debug(&queue).contains("maxsize: 0, unfinished: 0"),
        "{}",
        debug(&queue)
    );
    // Upstream sets the private count; two puts make it 2 here.
    queue.put_nowait(1).unwrap();
    queue.put_nowait(2).unwrap();
    assert!(debug(&queue).contains("unfinished: 2"), "{}", debug(&queue));
}

// === test_queues.py: _QueueShutdownTestMixin (as QueueShutdownTests) ===

// from test_queues.py: QueueShutdownTests.test_format
#[test]
fn debug_shows_the_queue_is_shut_down() {
    let _hang = hang_guard::start();
    let queue = Queue::<u8>::new(0);
    queue.shutdown(false);
    assert!(
        debug(&queue).contains("shut_down: true"),
        "{}",
        debug(&queue)
    );
}

/// Every put and get fails from now on.
async fn assert_puts_and_gets_fail(queue: &Queue<&'static str>) {
    assert_eq!(queue.put("data").await, Err(QueueShutDown("data")));
    assert!(matches!(
        queue.put_nowait("data"),
        Err(PutNowaitError::ShutDown("data"))
    ));
    assert_eq!(queue.get().await, Err(QueueShutDown(())));
    assert_eq!(queue.get_nowait(), Err(GetNowaitError::ShutDown));
}

// from test_queues.py: QueueShutdownTests.test_shutdown_empty
#[test]
fn shutting_down_an_empty_queue_fails_its_waiting_getter_and_lets_join_return() {
    let _hang = hang_guard::start();
    run("test_shutdown_empty", async {
        let queue = Queue::new(0);
        let getter = spawn_get(&queue);
        yield_now().await;
        queue.shutdown(false);
        assert_eq!(queue.qsize(), 0);
        queue.join().await;
        yield_now().await;
        assert!(getter.is_finished());
        assert_eq!(getter.await.unwrap(), Err(QueueShutDown(())));
        assert_puts_and_gets_fail(&queue).await;
    });
}

// from test_queues.py: QueueShutdownTests.test_shutdown_nonempty
#[test]
fn shutting_down_a_full_queue_fails_its_putter_but_lets_the_item_be_got_and_joined() {
    let _hang = hang_guard::start();
    run("test_shutdown_nonempty", async {
        let queue = Queue::new(1);
        queue.put_nowait("data").unwrap();
        let joiner = spawn({
            let queue = queue.clone();
            async move { queue.join().await }
        });
        let putter = spawn_put(&queue, "data2");
        yield_now().await;
        assert!(!putter.is_finished());
        queue.shutdown(false);
        assert_eq!(queue.qsize(), 1);
        yield_now().await;
        assert!(putter.is_finished());
        assert_eq!(putter.await.unwrap(), Err(QueueShutDown("data2")));
        assert_eq!(queue.get().await, Ok("data"));
        yield_now().await;
        assert!(!joiner.is_finished());
        assert_puts_and_gets_fail(&queue).await;
        queue.task_done().unwrap(); // the one unfinished item
        yield_now().await;
        assert!(joiner.is_finished());
        joiner.await.unwrap();
        assert!(queue.task_done().is_err(), "every item already marked done");
    });
}

// from test_queues.py: QueueShutdownTests.test_shutdown_immediate
#[test]
fn shutting_down_immediately_empties_the_queue_and_lets_join_return() {
    let _hang = hang_guard::start();
    run("test_shutdown_immediate", async {
        let queue = Queue::new(0);
        queue.put_nowait("data").unwrap();
        let joiner = spawn({
            let queue = queue.clone();
            async move { queue.join().await }
        });
        queue.shutdown(true);
        assert_eq!(queue.qsize(), 0);
        yield_now().await;
        assert!(joiner.is_finished());
        joiner.await.unwrap();
        assert_puts_and_gets_fail(&queue).await;
        assert!(
            queue.task_done().is_err(),
            "the removed item counts as done"
        );
    });
}

// from test_queues.py: QueueShutdownTests.test_shutdown_immediate_with_unfinished
#[test]
fn shutting_down_immediately_keeps_join_waiting_for_an_item_already_got() {
    let _hang = hang_guard::start();
    run("test_shutdown_immediate_with_unfinished", async {
        let queue = Queue::new(0);
        queue.put_nowait("data").unwrap();
        queue.put_nowait("data").unwrap();
        let joiner = spawn({
            let queue = queue.clone();
            async move { queue.join().await }
        });
        assert_eq!(queue.get().await, Ok("data"));
        queue.shutdown(true);
        assert_eq!(queue.qsize(), 0);
        yield_now().await;
        assert!(!joiner.is_finished());
        assert_puts_and_gets_fail(&queue).await;
        queue.task_done().unwrap();
        assert!(queue.task_done().is_err());
        yield_now().await;
        assert!(joiner.is_finished());
        joiner.await.unwrap();
    });
}

// === test_locks.py: SemaphoreTests ===

// from test_locks.py: SemaphoreTests.test_initial_value_zero
#[test]
fn a_semaphore_of_zero_starts_locked() {
    let _hang = hang_guard::start();
    assert!(locked(&Semaphore::new(0)));
}

// from test_locks.py: SemaphoreTests.test_repr
#[test]
fn semaphore_debug_shows_free_permits_and_waiters() {
    let _hang = hang_guard::start();
    run("SemaphoreTests.test_repr", async {
        let sem = Rc::new(Semaphore::new(1));
        assert!(format!("{sem:?}").contains("available: 1"), "{sem:?}");
        acquire(&sem).await;
        assert!(format!("{sem:?}").contains("available: 0"), "{sem:?}");
        assert!(format!("{sem:?}").contains("waiting: 0"), "{sem:?}");
        // Upstream appends mock waiters; here two tasks wait for real.
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let sem = sem.clone();
                spawn(async move { acquire(&sem).await })
            })
            .collect();
        yield_now().await;
        assert!(format!("{sem:?}").contains("waiting: 2"), "{sem:?}");
        sem.add_permits(2);
        join_all(waiters).await;
    });
}

// from test_locks.py: SemaphoreTests.test_acquire
#[test]
fn released_permits_go_to_the_tasks_that_waited_first() {
    let _hang = hang_guard::start();
    run("SemaphoreTests.test_acquire", async {
        let sem = Rc::new(Semaphore::new(3));
        let result = Rc::new(RefCell::new(Vec::new()));
        acquire(&sem).await;
        acquire(&sem).await;
        assert!(!locked(&sem));
        let first_three: Vec<_> = (1..=3)
            .map(|tag| spawn_acquirer(&sem, &result, tag))
            .collect();
        yield_now().await;
        assert_eq!(*result.borrow(), [1]);
        assert!(locked(&sem));
        assert!(format!("{sem:?}").contains("waiting: 2"), "{sem:?}");
        let fourth = spawn_acquirer(&sem, &result, 4);
        release(&sem);
        release(&sem);
        assert_eq!(sem.available_permits(), 0, "both went to waiters");
        yield_now().await;
        assert_eq!(result.borrow().len(), 3);
        assert!(locked(&sem));
        assert!(format!("{sem:?}").contains("waiting: 1"), "{sem:?}");
        // Upstream lets any two of tasks 2, 3 and 4 win the race. Ours is first come,
        // first served: 4 was not yet in line, so 2 and 3 win.
        assert_eq!(*result.borrow(), [1, 2, 3]);
        release(&sem);
        join_all(first_three).await;
        fourth.await.unwrap();
        assert_eq!(*result.borrow(), [1, 2, 3, 4]);
    });
}

// from test_locks.py: SemaphoreTests.test_acquire_cancel
#[test]
fn a_cancelled_acquire_leaves_no_waiter() {
    let _hang = hang_guard::start();
    run("SemaphoreTests.test_acquire_cancel", async {
        let sem = Rc::new(Semaphore::new(1));
        acquire(&sem).await;
        let waiter = spawn({
            let sem = sem.clone();
            async move { acquire(&sem).await }
        });
        // Upstream cancels from a `call_soon` callback: after the task's first step.
        yield_now().await;
        waiter.abort();
        assert!(waiter.await.unwrap_err().is_cancelled());
        assert!(format!("{sem:?}").contains("waiting: 0"), "{sem:?}");
    });
}

// from test_locks.py: SemaphoreTests.test_acquire_cancel_before_awoken
#[test]
fn a_release_skips_waiters_cancelled_before_they_were_woken() {
    let _hang = hang_guard::start();
    run("SemaphoreTests.test_acquire_cancel_before_awoken", async {
        let sem = Rc::new(Semaphore::new(0));
        let result = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (1..=4)
            .map(|tag| spawn_acquirer(&sem, &result, tag))
            .collect();
        yield_now().await;
        tasks[0].abort();
        tasks[1].abort();
        release(&sem);
        yield_now().await;
        yield_now().await;
        assert!(tasks[2].is_finished());
        assert!(!tasks[3].is_finished());
        tasks[2].abort();
        tasks[3].abort();
        yield_now().await;
        assert_eq!(*result.borrow(), [3]);
        assert_eq!(sem.available_permits(), 0, "the one permit was taken once");
    });
}

// from test_locks.py: SemaphoreTests.test_acquire_hang
#[test]
fn a_release_with_the_front_waiter_cancelled_serves_the_next() {
    let _hang = hang_guard::start();
    run("SemaphoreTests.test_acquire_hang", async {
        let sem = Rc::new(Semaphore::new(0));
        let result = Rc::new(RefCell::new(Vec::new()));
        let first = spawn_acquirer(&sem, &result, 1);
        let second = spawn_acquirer(&sem, &result, 2);
        yield_now().await;
        first.abort();
        release(&sem);
        yield_now().await;
        yield_now().await;
        assert!(locked(&sem));
        assert!(second.is_finished());
        assert_eq!(*result.borrow(), [2]);
    });
}

// from test_locks.py: SemaphoreTests.test_acquire_no_hang
#[test]
fn a_waiter_cancelled_after_its_permit_was_granted_gives_it_back() {
    let _hang = hang_guard::start();
    run("SemaphoreTests.test_acquire_no_hang", async {
        let sem = Rc::new(Semaphore::new(1));
        let second: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
        let first = spawn({
            let (sem, second) = (sem.clone(), second.clone());
            async move {
                {
                    let _permit = sem.acquire().await.unwrap();
                    yield_now().await;
                } // released: the permit is granted to the second task...
                second.borrow().as_ref().unwrap().abort(); // ...which is cancelled
            }
        });
        *second.borrow_mut() = Some(spawn({
            let sem = sem.clone();
            async move {
                let _permit = sem.acquire().await.unwrap();
                panic!("the second task must not get past acquire");
            }
        }));
        first.await.unwrap();
        let second = second.borrow_mut().take().unwrap();
        assert!(second.await.unwrap_err().is_cancelled());
        let permit = timeout(ms(1_000), sem.acquire()).await;
        assert!(permit.is_ok(), "the granted permit came back");
    });
}

// from test_locks.py: SemaphoreTests.test_release_no_waiters
#[test]
fn a_release_with_nobody_waiting_unlocks() {
    let _hang = hang_guard::start();
    run("SemaphoreTests.test_release_no_waiters", async {
        let sem = Semaphore::new(1);
        acquire(&sem).await;
        assert!(locked(&sem));
        release(&sem);
        assert!(!locked(&sem));
    });
}

// from test_locks.py: SemaphoreTests.test_acquire_fifo_order
#[test]
fn three_tasks_acquiring_twice_each_take_turns_in_arrival_order() {
    let _hang = hang_guard::start();
    run("SemaphoreTests.test_acquire_fifo_order", async {
        let sem = Rc::new(Semaphore::new(1));
        let result = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = ["c1", "c2", "c3"]
            .into_iter()
            .map(|tag| {
                let (sem, result) = (sem.clone(), result.clone());
                spawn(async move {
                    for round in 1..=2 {
                        let permit = sem.acquire().await.unwrap();
                        result.borrow_mut().push(format!("{tag}_{round}"));
                        sleep(ms(10)).await;
                        drop(permit);
                    }
                })
            })
            .collect();
        join_all(tasks).await;
        assert_eq!(
            *result.borrow(),
            ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]
        );
    });
}

// from test_locks.py: SemaphoreTests.test_acquire_fifo_order_2
#[test]
fn a_task_that_releases_and_acquires_again_takes_no_permit_granted_to_another() {
    let _hang = hang_guard::start();
    run("SemaphoreTests.test_acquire_fifo_order_2", async {
        let sem = Rc::new(Semaphore::new(1));
        let result = Rc::new(RefCell::new(Vec::new()));
        let first = spawn_acquirer(&sem, &result, 1);
        let second = spawn({
            let (sem, result) = (sem.clone(), result.clone());
            async move {
                acquire(&sem).await;
                result.borrow_mut().push(2);
                release(&sem);
                // The third task's permit was granted by the second release below:
                // it is out of the line, served, though it has not run yet.
                assert!(format!("{sem:?}").contains("waiting: 0"), "{sem:?}");
                acquire(&sem).await;
                result.borrow_mut().push(4);
            }
        });
        let third = spawn_acquirer(&sem, &result, 3);
        yield_now().await;
        release(&sem);
        release(&sem);
        first.await.unwrap();
        second.await.unwrap();
        third.await.unwrap();
        // Differs on purpose. asyncio grants a permit only when the woken waiter
        // runs, so the second task's new request queues behind the third, and the
        // record reads [1, 2, 3, 4]. glassbox grants at the release (as tokio does):
        // the third task already holds its permit, nobody is in line, so the second
        // task's new request takes the free permit at once and records 4 before the
        // third task gets to run. Nobody was passed in line: every request was
        // granted in the order it was made.
        assert_eq!(*result.borrow(), [1, 2, 4, 3]);
    });
}

// from test_locks.py: SemaphoreTests.test_acquire_fifo_order_3
#[test]
fn a_waiter_cancelled_before_any_release_is_skipped() {
    let _hang = hang_guard::start();
    run("SemaphoreTests.test_acquire_fifo_order_3", async {
        let sem = Rc::new(Semaphore::new(0));
        let result = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (1..=3)
            .map(|tag| spawn_acquirer(&sem, &result, tag))
            .collect();
        yield_now().await;
        tasks[0].abort();
        yield_now().await;
        release(&sem);
        release(&sem);
        join_all(tasks).await;
        assert_eq!(*result.borrow(), [2, 3]);
    });
}
