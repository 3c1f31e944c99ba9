//! `Queue`: asyncio.Queue's semantics, first in first out among waiters, nothing
//! lost on cancellation, Python 3.13's shutdown. Ends with a property test over
//! random schedules.

#[path = "counting_waker/mod.rs"]
mod counting_waker;
#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;
mod schedule_support;

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use counting_waker::CountingWaker;
use executor::{JoinHandle, Runtime, spawn, time, unconstrained, yield_now};
use patterns::{
    Get, GetNowaitError, PutNowaitError, Queue, QueueShutDown, join_all, sleep, timeout,
};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

/// Polls `future` once with the current task's waker, and reports what it said.
/// Outside the coop budget: under an explored schedule a small budget would
/// otherwise return `Pending` without polling the future at all.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    unconstrained(poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx)))).await
}

/// Spawns a task that gets one item and returns it.
fn spawn_getter<T: 'static>(queue: &Queue<T>) -> JoinHandle<Result<T, QueueShutDown>> {
    let queue = queue.clone();
    spawn(async move { queue.get().await })
}

/// Spawns a task that puts one item.
fn spawn_putter<T: 'static>(queue: &Queue<T>, item: T) -> JoinHandle<Result<(), QueueShutDown<T>>> {
    let queue = queue.clone();
    spawn(async move { queue.put(item).await })
}

/// A queue of one slot, and a task putting 2 that the slot has just been reserved
/// for: it held 1, a put of 2 waited, `get_nowait` took 1. The putter has not run.
async fn a_slot_reserved_for_a_waiting_putter()
-> (Queue<i32>, JoinHandle<Result<(), QueueShutDown<i32>>>) {
    let queue = Queue::new(1);
    queue.put_nowait(1).unwrap();
    let putter = spawn_putter(&queue, 2);
    yield_now().await; // it waits: the queue is full
    assert_eq!(queue.get_nowait(), Ok(1));
    (queue, putter)
}

/// An item that records its own drop.
struct Parcel {
    dropped: Rc<Cell<bool>>,
}

impl Drop for Parcel {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

#[test]
fn items_come_out_in_the_order_they_went_in() {
    let _hang = hang_guard::start();
    let queue = Queue::new(0);
    for n in 1..=5 {
        queue.put_nowait(n).unwrap();
    }
    let out: Vec<i32> = std::iter::from_fn(|| queue.get_nowait().ok()).collect();
    assert_eq!(out, [1, 2, 3, 4, 5]);
}

#[test]
fn get_waits_for_a_put() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        let getter = spawn_getter(&queue);
        sleep(Duration::from_millis(10)).await;
        assert!(!getter.is_finished());
        queue.put("hello").await.unwrap();
        assert_eq!(getter.await.unwrap(), Ok("hello"));
    });
}

#[test]
fn put_waits_while_full_and_resumes_when_a_slot_frees() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(2);
        queue.put(1).await.unwrap();
        queue.put(2).await.unwrap();
        assert!(queue.full());
        let putter = spawn_putter(&queue, 3);
        sleep(Duration::from_millis(10)).await;
        assert!(!putter.is_finished());
        assert_eq!(queue.get().await, Ok(1));
        assert_eq!(putter.await.unwrap(), Ok(()));
        assert_eq!(queue.qsize(), 2);
        assert_eq!(queue.get_nowait(), Ok(2));
        assert_eq!(queue.get_nowait(), Ok(3));
    });
}

#[test]
fn put_nowait_on_a_full_queue_gives_the_item_back() {
    let _hang = hang_guard::start();
    let queue = Queue::new(1);
    queue.put_nowait(String::from("first")).unwrap();
    match queue.put_nowait(String::from("second")) {
        Err(PutNowaitError::Full(item)) => assert_eq!(item, "second"),
        other => panic!("expected Full, got {other:?}"),
    }
    assert_eq!(queue.qsize(), 1);
}

#[test]
fn get_nowait_on_an_empty_queue_is_queue_empty() {
    let _hang = hang_guard::start();
    let queue = Queue::<u8>::new(0);
    assert_eq!(queue.get_nowait(), Err(GetNowaitError::Empty));
}

#[test]
fn an_unbounded_queue_never_fills() {
    let _hang = hang_guard::start();
    let queue = Queue::new(0);
    for n in 0..10_000 {
        queue.put_nowait(n).unwrap();
    }
    assert!(!queue.full());
    assert_eq!(queue.qsize(), 10_000);
}

#[test]
fn clones_are_handles_to_one_queue() {
    let _hang = hang_guard::start();
    let queue = Queue::new(3);
    let other = queue.clone();
    queue.put_nowait('a').unwrap();
    assert_eq!(other.qsize(), 1);
    assert_eq!(other.get_nowait(), Ok('a'));
    assert!(queue.empty());
    assert_eq!(other.maxsize(), 3);
}

#[test]
fn waiting_getters_are_served_in_the_order_they_arrived() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        let mut getters = Vec::new();
        for _ in 0..4 {
            getters.push(spawn_getter(&queue));
            yield_now().await; // line up one at a time
        }
        for item in ["a", "b", "c", "d"] {
            queue.put_nowait(item).unwrap();
        }
        let got: Vec<_> = join_all(getters)
            .await
            .into_iter()
            .map(|r| r.unwrap().unwrap())
            .collect();
        assert_eq!(got, ["a", "b", "c", "d"]);
    });
}

#[test]
fn waiting_putters_are_admitted_in_the_order_they_arrived() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(1);
        queue.put_nowait(0).unwrap();
        let mut putters = Vec::new();
        for n in 1..=3 {
            putters.push(spawn_putter(&queue, n));
            yield_now().await;
        }
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(queue.get().await.unwrap());
            yield_now().await;
        }
        assert_eq!(got, [0, 1, 2, 3]);
        join_all(putters).await;
    });
}

#[test]
fn a_newcomer_cannot_snatch_an_item_promised_to_a_waiting_getter() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        let getter = spawn_getter(&queue);
        yield_now().await; // the getter waits
        queue.put_nowait(1).unwrap(); // handed to the getter, which has not run yet
        assert_eq!(queue.qsize(), 1, "still in the queue until the getter runs");
        assert_eq!(
            queue.get_nowait(),
            Err(GetNowaitError::Empty),
            "but promised"
        );
        assert_eq!(getter.await.unwrap(), Ok(1));
        assert!(queue.empty());
    });
}

#[test]
fn cancelled_get_does_not_lose_an_item() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        let first = spawn_getter(&queue);
        yield_now().await;
        let second = spawn_getter(&queue);
        yield_now().await;
        queue.put_nowait("precious").unwrap(); // handed to `first`, which is woken...
        first.abort(); // ...and cancelled before it runs
        assert!(first.await.unwrap_err().is_cancelled());
        // The item passed to the next getter in line.
        assert_eq!(second.await.unwrap(), Ok("precious"));
    });
}

#[test]
fn cancelled_get_with_nobody_behind_puts_its_item_back_at_the_front() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(2);
        let getter = spawn_getter(&queue);
        yield_now().await;
        queue.put_nowait(1).unwrap(); // handed to the getter
        queue.put_nowait(2).unwrap(); // queued behind it; the queue is now full
        assert!(queue.full());
        getter.abort();
        yield_now().await;
        assert_eq!(queue.qsize(), 2, "nothing lost, nothing over capacity");
        assert_eq!(queue.get_nowait(), Ok(1), "the oldest item is still first");
        assert_eq!(queue.get_nowait(), Ok(2));
    });
}

#[test]
fn a_get_cancelled_by_timeout_leaves_its_place_and_loses_nothing() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        assert!(
            timeout(Duration::from_millis(5), queue.get())
                .await
                .is_err()
        );
        queue.put_nowait(9).unwrap();
        assert_eq!(queue.get_nowait(), Ok(9), "no phantom getter took it");
    });
}

#[test]
fn dropped_put_leaks_no_capacity() {
    let _hang = hang_guard::start();
    let dropped = Rc::new(Cell::new(false));
    paused().block_on({
        let dropped = dropped.clone();
        async move {
            let queue = Queue::new(1);
            queue
                .put_nowait(Parcel {
                    dropped: Rc::new(Cell::new(false)),
                })
                .unwrap();
            let putter = spawn_putter(
                &queue,
                Parcel {
                    dropped: dropped.clone(),
                },
            );
            yield_now().await; // it waits: the queue is full
            putter.abort();
            assert!(putter.await.unwrap_err().is_cancelled());
            assert!(dropped.get(), "the cancelled put's item went with it");
            // The one slot is still the one slot: free it, and a new put fits at once.
            drop(queue.get_nowait().unwrap());
            assert!(queue.empty());
            queue
                .put_nowait(Parcel {
                    dropped: Rc::new(Cell::new(false)),
                })
                .unwrap();
            assert!(queue.full());
            assert_eq!(queue.qsize(), 1);
        }
    });
}

#[test]
fn a_put_whose_slot_was_reserved_but_cancelled_before_it_ran_never_put() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let (queue, putter) = a_slot_reserved_for_a_waiting_putter().await;
        putter.abort(); // cancelled before it ran: it did not put
        assert!(putter.await.unwrap_err().is_cancelled());
        assert!(queue.empty());
        assert!(!queue.full(), "the reservation lapsed with the put");
        assert!(queue.task_done().is_ok(), "item 1 was counted");
        assert!(queue.task_done().is_err(), "item 2 was not");
    });
}

#[test]
fn a_freed_slot_is_reserved_for_the_waiting_putter_and_put_nowait_cannot_take_it() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let (queue, putter) = a_slot_reserved_for_a_waiting_putter().await;
        assert_eq!(queue.qsize(), 0, "a reservation is not an item");
        assert!(queue.full(), "but a put would wait");
        assert!(matches!(queue.put_nowait(3), Err(PutNowaitError::Full(3))));
        assert_eq!(putter.await.unwrap(), Ok(()));
        assert_eq!(queue.get_nowait(), Ok(2));
    });
}

#[test]
fn a_put_arriving_while_a_reservation_is_outstanding_goes_in_after_it() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(2);
        queue.put_nowait(1).unwrap();
        queue.put_nowait(2).unwrap();
        let first = spawn_putter(&queue, 3);
        yield_now().await;
        queue.get_nowait().unwrap(); // a slot for `first`, which has not run yet
        queue.get_nowait().unwrap(); // a free slot, but `first` is still ahead
        let mut late = queue.put(4);
        assert!(poll_once(&mut late).await.is_pending(), "it lines up");
        assert_eq!(
            poll_once(&mut late).await,
            Poll::Pending,
            "even polled again"
        );
        first.await.unwrap().unwrap();
        late.await.unwrap();
        assert_eq!(queue.get_nowait(), Ok(3));
        assert_eq!(queue.get_nowait(), Ok(4));
    });
}

#[test]
fn shutdown_fails_a_putter_holding_a_reservation_and_its_item_never_enters() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let (queue, putter) = a_slot_reserved_for_a_waiting_putter().await;
        queue.shutdown(false);
        assert_eq!(
            putter.await.unwrap(),
            Err(QueueShutDown(2)),
            "item handed back"
        );
        assert_eq!(queue.get_nowait(), Err(GetNowaitError::ShutDown));
    });
}

#[test]
fn a_getter_woken_by_shutdown_drains_an_item_a_cancelled_getter_handed_back() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        let first = spawn_getter(&queue);
        yield_now().await;
        let second = spawn_getter(&queue);
        yield_now().await;
        queue.put_nowait('x').unwrap(); // handed to `first`, which has not run
        queue.shutdown(false); // wakes `second`
        first.abort(); // `first` is cancelled before `second` runs: x goes back
        assert!(first.await.unwrap_err().is_cancelled());
        // Whichever of the two runs first (the test below forces `second` first).
        assert_eq!(
            second.await.unwrap(),
            Ok('x'),
            "drained by the woken getter"
        );
        assert_eq!(queue.get_nowait(), Err(GetNowaitError::ShutDown));
    });
}

#[test]
fn join_returns_when_every_item_is_marked_done() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        for n in 0..3 {
            queue.put_nowait(n).unwrap();
        }
        let worker = spawn({
            let queue = queue.clone();
            async move {
                while let Ok(_item) = queue.get_nowait() {
                    sleep(Duration::from_millis(10)).await;
                    queue.task_done().unwrap();
                }
            }
        });
        let start = time::now();
        queue.join().await;
        assert_eq!(time::now() - start, Duration::from_millis(30));
        worker.await.unwrap();
    });
}

#[test]
fn join_returns_at_once_when_nothing_is_unfinished() {
    let _hang = hang_guard::start();
    let queue = Queue::<()>::new(0);
    executor::block_on(queue.join());
}

#[test]
fn join_returns_even_if_a_new_item_arrives_before_it_runs() {
    let _hang = hang_guard::start();
    // asyncio's join waits on an Event: once set, the waiter returns, even if
    // a put clears it again before the waiter gets to run.
    paused().block_on(async {
        let queue = Queue::new(0);
        queue.put_nowait(1).unwrap();
        let joiner = spawn({
            let queue = queue.clone();
            async move { queue.join().await }
        });
        yield_now().await;
        queue.get_nowait().unwrap();
        queue.task_done().unwrap(); // unfinished: 0, the joiner is woken
        queue.put_nowait(2).unwrap(); // unfinished: 1 before it runs
        joiner.await.unwrap();
    });
}

#[test]
fn task_done_called_too_often_is_an_error() {
    let _hang = hang_guard::start();
    let queue = Queue::new(0);
    queue.put_nowait(1).unwrap();
    assert!(queue.task_done().is_ok());
    let err = queue.task_done().unwrap_err();
    assert_eq!(
        err.to_string(),
        "task_done() called more times than items were put"
    );
    queue.put_nowait(2).unwrap();
    assert!(queue.task_done().is_ok(), "the failed call did not count");
}

#[test]
fn shutdown_fails_later_puts_and_gives_the_items_back() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        queue.shutdown(false);
        assert_eq!(queue.put("late").await, Err(QueueShutDown("late")));
        assert!(matches!(
            queue.put_nowait("later"),
            Err(PutNowaitError::ShutDown("later"))
        ));
    });
}

#[test]
fn shutdown_lets_gets_drain_what_is_left_then_fails_them() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        queue.put_nowait(1).unwrap();
        queue.put_nowait(2).unwrap();
        queue.shutdown(false);
        assert_eq!(queue.get().await, Ok(1));
        assert_eq!(queue.get_nowait(), Ok(2));
        assert_eq!(queue.get().await, Err(QueueShutDown(())));
        assert_eq!(queue.get_nowait(), Err(GetNowaitError::ShutDown));
    });
}

#[test]
fn shutdown_wakes_waiting_getters_and_putters_with_errors() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let full = Queue::new(1);
        full.put_nowait(0).unwrap();
        let putter = spawn_putter(&full, 1);
        let empty = Queue::<u8>::new(0);
        let getter = spawn_getter(&empty);
        yield_now().await;
        full.shutdown(false);
        empty.shutdown(false);
        assert_eq!(
            putter.await.unwrap(),
            Err(QueueShutDown(1)),
            "item handed back"
        );
        assert_eq!(getter.await.unwrap(), Err(QueueShutDown(())));
        assert_eq!(
            full.get_nowait(),
            Ok(0),
            "what was queued can still be drained"
        );
    });
}

#[test]
fn shutdown_immediate_empties_the_queue_and_counts_the_items_done() {
    let _hang = hang_guard::start();
    let queue = Queue::new(0);
    for n in 0..5 {
        queue.put_nowait(n).unwrap();
    }
    queue.get_nowait().unwrap(); // one item is out, not yet done
    queue.shutdown(true);
    assert!(queue.empty());
    assert_eq!(queue.get_nowait(), Err(GetNowaitError::ShutDown));
    assert!(
        queue.task_done().is_ok(),
        "the item that was out is still open"
    );
    assert!(
        queue.task_done().is_err(),
        "the four removed ones count as done"
    );
}

#[test]
fn shutdown_immediate_wakes_getters_with_an_error_even_one_with_an_item_in_flight() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        let early = spawn_getter(&queue);
        yield_now().await;
        let waiting = spawn_getter(&queue);
        yield_now().await;
        queue.put_nowait("in flight").unwrap(); // handed to `early`, not yet run
        queue.shutdown(true);
        assert!(queue.empty());
        assert_eq!(early.await.unwrap(), Err(QueueShutDown(())));
        assert_eq!(waiting.await.unwrap(), Err(QueueShutDown(())));
    });
}

#[test]
fn shutdown_immediate_lets_join_return() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        for n in 0..3 {
            queue.put_nowait(n).unwrap();
        }
        let joiner = spawn({
            let queue = queue.clone();
            async move { queue.join().await }
        });
        yield_now().await;
        assert!(!joiner.is_finished());
        queue.shutdown(true);
        joiner.await.unwrap();
    });
}

#[test]
fn shutdown_immediate_drops_the_removed_items() {
    let _hang = hang_guard::start();
    let dropped = Rc::new(Cell::new(false));
    let queue = Queue::new(0);
    queue
        .put_nowait(Parcel {
            dropped: dropped.clone(),
        })
        .unwrap();
    queue.shutdown(true);
    assert!(dropped.get());
}

#[test]
fn errors_are_std_errors_with_messages() {
    let _hang = hang_guard::start();
    let errors: [Box<dyn std::error::Error>; 4] = [
        Box::new(PutNowaitError::Full(1)),
        Box::new(GetNowaitError::Empty),
        Box::new(QueueShutDown(())),
        Box::new(PutNowaitError::ShutDown(1)),
    ];
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "queue is full",
            "queue is empty",
            "queue is shut down",
            "queue is shut down"
        ]
    );
}

#[test]
fn debug_shows_the_state_not_the_items() {
    let _hang = hang_guard::start();
    let queue = Queue::new(4);
    queue.put_nowait(vec![1, 2, 3]).unwrap();
    assert_eq!(
        format!("{queue:?}"),
        "Queue { qsize: 1, maxsize: 4, unfinished: 1, getters_waiting: 0, \
         putters_waiting: 0, reserved: 0, shut_down: false }"
    );
}

// === properties ===

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A random task: producer or consumer.
    #[derive(Debug, Clone)]
    struct Actor {
        start_ms: u64,
        /// Producer: items to put. Consumer: `None`.
        produces: Option<u8>,
        step_ms: u64,
        abort_at_ms: Option<u64>,
    }

    /// A time on a coarse 5 ms grid, so that events often fall on the same tick:
    /// that is where a get is woken with an item and cancelled before it runs.
    fn on_grid(below_ms: u64) -> impl Strategy<Value = u64> {
        (0..below_ms / 5).prop_map(|slot| slot * 5)
    }

    fn actor() -> impl Strategy<Value = Actor> {
        (
            on_grid(20),
            proptest::option::of(0..5u8),
            on_grid(10),
            proptest::option::weighted(0.4, on_grid(50)),
        )
            .prop_map(|(start_ms, produces, step_ms, abort_at_ms)| Actor {
                start_ms,
                produces,
                step_ms,
                abort_at_ms,
            })
    }

    /// Everything the test observed, in one place.
    #[derive(Default)]
    struct Ledger {
        /// Increases at each recorded event, to order them.
        clock: Cell<u64>,
        created: Cell<usize>,
        put_ok: RefCell<Vec<usize>>,
        got: RefCell<Vec<usize>>,
        /// (item, event number) for items dropped without being got.
        dropped: RefCell<Vec<(usize, u64)>>,
        done: Cell<usize>,
        /// Event number of the first `shutdown(true)`, if any.
        emptied_at: Cell<Option<u64>>,
        /// Tickets of the gets (and puts) that had to wait: the order they lined up
        /// in and the order they were served in.
        getters_lined_up: RefCell<Vec<u64>>,
        getters_served: RefCell<Vec<u64>>,
        putters_lined_up: RefCell<Vec<u64>>,
        putters_served: RefCell<Vec<u64>>,
        /// Gets (and puts) waiting right now.
        getters_waiting: Cell<usize>,
        putters_waiting: Cell<usize>,
        /// Set whenever unfinished work (as the test counts it) is zero.
        zero_seen: Cell<bool>,
    }

    impl Ledger {
        fn tick(&self) -> u64 {
            self.clock.set(self.clock.get() + 1);
            self.clock.get()
        }

        /// Unfinished work, as asyncio defines it: items got but not done, plus
        /// items still in the queue.
        fn unfinished(&self, queue: &Queue<Item>) -> usize {
            self.got.borrow().len() - self.done.get() + queue.qsize()
        }

        fn note_if_zero(&self, queue: &Queue<Item>) {
            if self.unfinished(queue) == 0 {
                self.zero_seen.set(true);
            }
        }
    }

    /// Counts one waiter for as long as it lives, however its wait ends.
    struct Waiting<'a>(&'a Cell<usize>);

    impl<'a> Waiting<'a> {
        fn new(count: &'a Cell<usize>) -> Waiting<'a> {
            count.set(count.get() + 1);
            Waiting(count)
        }
    }

    impl Drop for Waiting<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() - 1);
        }
    }

    /// A queue item that reports being dropped without being got.
    struct Item {
        id: usize,
        ledger: Rc<Ledger>,
        got: bool,
    }

    impl Drop for Item {
        fn drop(&mut self) {
            if !self.got {
                let at = self.ledger.tick();
                self.ledger.dropped.borrow_mut().push((self.id, at));
            }
        }
    }

    fn run(maxsize: usize, actors: Vec<Actor>, joiner_at: u64, shutdown: Option<(u64, bool)>) {
        let ledger = Rc::new(Ledger::default());
        let mut rt = paused();
        rt.block_on({
            let ledger = ledger.clone();
            async move {
                let queue = Queue::<Item>::new(maxsize);
                let mut handles = Vec::new();
                for actor in actors.iter().cloned() {
                    let (queue, ledger) = (queue.clone(), ledger.clone());
                    handles.push(spawn(async move {
                        sleep(Duration::from_millis(actor.start_ms)).await;
                        match actor.produces {
                            Some(count) => {
                                for _ in 0..count {
                                    let id = ledger.created.get();
                                    ledger.created.set(id + 1);
                                    let item = Item {
                                        id,
                                        ledger: ledger.clone(),
                                        got: false,
                                    };
                                    let mut put = queue.put(item);
                                    let result = match poll_once(&mut put).await {
                                        Poll::Ready(result) => result,
                                        Poll::Pending => {
                                            let ticket = ledger.tick();
                                            ledger.putters_lined_up.borrow_mut().push(ticket);
                                            let _waiting = Waiting::new(&ledger.putters_waiting);
                                            let result = put.await;
                                            if result.is_ok() {
                                                ledger.putters_served.borrow_mut().push(ticket);
                                            }
                                            result
                                        }
                                    };
                                    if result.is_err() {
                                        return; // shut down: the item came back, dropped here
                                    }
                                    ledger.put_ok.borrow_mut().push(id);
                                    sleep(Duration::from_millis(actor.step_ms)).await;
                                }
                            }
                            None => loop {
                                let mut get = queue.get();
                                let result = match poll_once(&mut get).await {
                                    Poll::Ready(result) => result,
                                    Poll::Pending => {
                                        let ticket = ledger.tick();
                                        ledger.getters_lined_up.borrow_mut().push(ticket);
                                        let _waiting = Waiting::new(&ledger.getters_waiting);
                                        let result = get.await;
                                        if result.is_ok() {
                                            ledger.getters_served.borrow_mut().push(ticket);
                                        }
                                        result
                                    }
                                };
                                let Ok(mut item) = result else { return };
                                item.got = true;
                                ledger.got.borrow_mut().push(item.id);
                                drop(item);
                                sleep(Duration::from_millis(actor.step_ms)).await;
                                queue.task_done().expect("one task_done per item got");
                                ledger.done.set(ledger.done.get() + 1);
                                ledger.note_if_zero(&queue);
                            },
                        }
                    }));
                }
                let handles = Rc::new(handles);
                for (actor_id, actor) in actors.iter().enumerate() {
                    if let Some(at) = actor.abort_at_ms {
                        let handles = handles.clone();
                        spawn(async move {
                            sleep(Duration::from_millis(at)).await;
                            handles[actor_id].abort();
                        });
                    }
                }
                if let Some((at, immediate)) = shutdown {
                    let (queue, ledger) = (queue.clone(), ledger.clone());
                    spawn(async move {
                        sleep(Duration::from_millis(at)).await;
                        if immediate && ledger.emptied_at.get().is_none() {
                            ledger.emptied_at.set(Some(ledger.tick()));
                        }
                        queue.shutdown(immediate);
                        ledger.note_if_zero(&queue);
                    });
                }
                let joiner = spawn({
                    let (queue, ledger) = (queue.clone(), ledger.clone());
                    async move {
                        sleep(Duration::from_millis(joiner_at)).await;
                        let mut join = queue.join();
                        // Unconstrained: a coop budget spent right here (the explorer
                        // gives small ones now and then) would return Pending without
                        // polling the join at all, and the ledger below would take a
                        // join that has not started for one that waits.
                        if unconstrained(poll_once(&mut join)).await.is_ready() {
                            assert_eq!(ledger.unfinished(&queue), 0, "join returned early");
                            return;
                        }
                        assert_ne!(ledger.unfinished(&queue), 0, "join waited for nothing");
                        ledger.zero_seen.set(false);
                        join.await;
                        assert!(
                            ledger.zero_seen.get(),
                            "join returned before work reached zero"
                        );
                    }
                });

                // Every scheduled event is over by 200 ms.
                sleep(Duration::from_millis(200)).await;

                // Nobody waits needlessly: a getter waits only on an empty queue, a
                // putter only on a full one (nothing is in flight: every task woken
                // has run).
                if ledger.getters_waiting.get() > 0 {
                    assert_eq!(queue.qsize(), 0, "a getter waits beside an item");
                }
                if ledger.putters_waiting.get() > 0 {
                    assert!(queue.full(), "a putter waits beside a free slot");
                }

                // `join` completes exactly when unfinished work reaches zero: if it is
                // still waiting, work never reached zero since it started.
                if !joiner.is_finished() {
                    assert!(!ledger.zero_seen.get(), "work reached zero, join missed it");
                }
                joiner.abort();

                // First in, first out among waiters, as each observes it when it
                // runs: that is the order they were served in only under FIFO (under
                // an explored schedule, two waiters served at once may run in either
                // order; the queue's own line is checked by the other tests).
                let observed_in_service_order = schedule_support::fifo_schedule();
                for (lined_up, served) in [
                    (&ledger.getters_lined_up, &ledger.getters_served),
                    (&ledger.putters_lined_up, &ledger.putters_served),
                ] {
                    let served = served.borrow().clone();
                    let lined_up: Vec<u64> = lined_up
                        .borrow()
                        .iter()
                        .copied()
                        .filter(|id| served.contains(id))
                        .collect();
                    if observed_in_service_order {
                        assert_eq!(served, lined_up, "waiters served out of order");
                    }
                }

                // Drain what is left.
                for handle in handles.iter() {
                    handle.abort();
                }
                yield_now().await;
                yield_now().await;
                let mut left = Vec::new();
                while let Ok(mut item) = queue.get_nowait() {
                    item.got = true;
                    left.push(item.id);
                }
                assert!(queue.empty(), "nothing in flight once every task is gone");

                // Nothing lost, nothing twice: every item created was got exactly
                // once, is left in the queue, or was dropped without being got; and
                // an item whose put succeeded was dropped only by shutdown(true).
                let got = ledger.got.borrow();
                let dropped = ledger.dropped.borrow();
                let mut seen = vec![0u8; ledger.created.get()];
                for id in got
                    .iter()
                    .chain(&left)
                    .chain(dropped.iter().map(|(id, _)| id))
                {
                    seen[*id] += 1;
                }
                assert!(
                    seen.iter().all(|&n| n == 1),
                    "an item was lost or duplicated: {seen:?}"
                );
                let put_ok = ledger.put_ok.borrow();
                for (id, at) in dropped.iter() {
                    if put_ok.contains(id) {
                        let emptied_at = ledger.emptied_at.get();
                        assert!(
                            emptied_at.is_some_and(|e| *at > e),
                            "item {id} was put, then dropped without shutdown(true)"
                        );
                    }
                }
            }
        });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_000))]

        #[test]
        fn every_item_is_got_once_or_still_queued_and_join_tracks_unfinished_work(
            maxsize in 0..=3usize,
            actors in proptest::collection::vec(actor(), 1..7),
            joiner_at in on_grid(60),
            shutdown in proptest::option::weighted(0.3, (on_grid(80), any::<bool>())),
        ) {
            let _hang = hang_guard::start();
            run(maxsize, actors, joiner_at, shutdown);
        }
    }
}

#[test]
fn errors_and_the_join_future_say_what_they_are_without_showing_the_item() {
    let _hang = hang_guard::start();
    let queue = Queue::new(1);
    queue.put_nowait(1).unwrap();
    // An item need not be `Debug`: the errors hide it.
    assert_eq!(
        format!("{:?}", queue.put_nowait(2).unwrap_err()),
        "Full(..)"
    );
    let mut join = Box::pin(queue.join());
    assert_eq!(format!("{join:?}"), "Join { waiting: false }");
    let _ = executor::block_on(poll_fn(|cx| Poll::Ready(join.as_mut().poll(cx))));
    assert_eq!(format!("{join:?}"), "Join { waiting: true }");
    drop(join);
    queue.shutdown(false);
    assert_eq!(
        format!("{:?}", queue.put_nowait(3).unwrap_err()),
        "ShutDown(..)"
    );
    let shut_down: QueueShutDown<i32> = executor::block_on(queue.put(4)).unwrap_err();
    assert_eq!(format!("{shut_down:?}"), "QueueShutDown(..)");
}

#[test]
fn an_item_handed_to_a_getter_cancelled_after_an_immediate_shutdown_is_removed_not_requeued() {
    let _hang = hang_guard::start();
    let queue = Queue::new(0);
    let dropped = Rc::new(Cell::new(false));
    executor::block_on(async {
        let mut get = Box::pin(queue.get());
        assert_eq!(format!("{get:?}"), r#"Get { step: "start" }"#);
        let polled = poll_fn(|cx| Poll::Ready(get.as_mut().poll(cx))).await;
        assert!(polled.is_pending(), "nothing to get yet");
        assert_eq!(format!("{get:?}"), r#"Get { step: "waiting" }"#);
        // Handed straight to the waiting getter, which has not run since.
        let parcel = Parcel {
            dropped: dropped.clone(),
        };
        assert!(queue.put_nowait(parcel).is_ok());
        queue.shutdown(true);
        drop(get); // cancelled before it ran
    });
    // `shutdown(true)` removes the items left, one handed to a getter included: the
    // getter's cancellation must not put it back.
    assert_eq!(queue.qsize(), 0);
    assert!(dropped.get(), "the handed item was removed with the rest");
}

#[test]
fn a_join_dropped_after_a_poll_is_not_woken_when_the_work_is_done() {
    use std::sync::Arc;
    use std::task::{Context, Waker};

    let _hang = hang_guard::start();
    let queue = Queue::new(0);
    let put = queue.put(1);
    assert_eq!(format!("{put:?}"), r#"Put { step: "start" }"#);
    executor::block_on(put).unwrap();
    assert_eq!(queue.get_nowait(), Ok(1)); // one item got, not yet done
    let wakes = Arc::new(CountingWaker::default());
    let waker = Waker::from(wakes.clone());
    let mut join = Box::pin(queue.join());
    assert!(
        join.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    drop(join); // given up: it leaves the joiners' list
    queue.task_done().unwrap();
    assert_eq!(wakes.count(), 0);
}

/// Two gets of `queue`, each polled once: both wait in line, `first` ahead.
async fn two_waiting_gets<T>(queue: &Queue<T>) -> (Pin<Box<Get<'_, T>>>, Pin<Box<Get<'_, T>>>) {
    let mut first = Box::pin(queue.get());
    let mut second = Box::pin(queue.get());
    assert!(poll_once(&mut first).await.is_pending());
    assert!(poll_once(&mut second).await.is_pending());
    (first, second)
}

/// Found by the explorer (issue 31): after `shutdown(false)`, a getter woken by the
/// shutdown that ran *before* a cancelled getter's handed item had come back failed,
/// although `qsize` still counted that item (nothing was lost: a later get drained
/// it). `shutdown` now takes every item in flight back to the front, so whichever
/// getter runs first after it drains them, as in asyncio, where items never leave
/// the queue until a getter runs. The order, forced by polling the futures by hand.
#[test]
fn a_getter_woken_by_shutdown_that_runs_first_drains_an_item_handed_to_another() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        let (mut first, mut second) = two_waiting_gets(&queue).await;
        queue.put_nowait('x').unwrap(); // handed to `first`, which has not run
        queue.shutdown(false); // takes x back, wakes `second`, which runs first
        assert_eq!(queue.qsize(), 1, "the item is still in the queue");
        assert_eq!(poll_once(&mut second).await, Poll::Ready(Ok('x')));
        assert_eq!(
            poll_once(&mut first).await,
            Poll::Ready(Err(QueueShutDown(()))),
            "the first getter, run later, finds the queue drained"
        );
        assert_eq!(queue.get_nowait(), Err(GetNowaitError::ShutDown));
    });
}

#[test]
fn a_handed_getter_that_runs_first_after_shutdown_still_gets_its_item() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        let (mut first, mut second) = two_waiting_gets(&queue).await;
        queue.put_nowait('x').unwrap();
        queue.put_nowait('y').unwrap(); // x to `first`, y to `second`
        queue.shutdown(false);
        assert_eq!(poll_once(&mut first).await, Poll::Ready(Ok('x')));
        assert_eq!(poll_once(&mut second).await, Poll::Ready(Ok('y')));
        assert_eq!(queue.qsize(), 0);
    });
}

#[test]
fn shutdown_now_drops_the_items_in_flight_and_counts_them_done() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let queue = Queue::new(0);
        let mut getter = Box::pin(queue.get());
        assert!(poll_once(&mut getter).await.is_pending());
        let item = Rc::new(());
        queue.put_nowait(item.clone()).unwrap(); // in flight to `getter`
        queue.shutdown(true);
        assert_eq!(Rc::strong_count(&item), 1, "dropped by the shutdown");
        assert_eq!(queue.qsize(), 0);
        assert_eq!(
            poll_once(&mut getter).await,
            Poll::Ready(Err(QueueShutDown(())))
        );
        // The item entered and was removed: nothing is left unfinished.
        queue.join().await;
    });
}
