//! The order the loop runs tasks in: checked against expected trace vectors.

mod hang_guard;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use glassbox::{Runtime, spawn, yield_now};

type Log = Rc<RefCell<Vec<&'static str>>>;

/// Runs the future `test` makes on a fresh runtime and returns what it logged.
fn logged<F: Future<Output = ()>>(test: impl FnOnce(Log) -> F) -> Vec<&'static str> {
    let log: Log = Rc::default();
    Runtime::new().unwrap().block_on(test(log.clone()));
    log.take()
}

#[test]
fn a_task_that_wakes_itself_runs_again_only_after_the_others_already_queued() {
    let _hang = hang_guard::start();
    let log = logged(|log| async move {
        let a = spawn({
            let log = log.clone();
            async move {
                log.borrow_mut().push("a1");
                yield_now().await;
                log.borrow_mut().push("a2");
            }
        });
        let b = spawn({
            let log = log.clone();
            async move { log.borrow_mut().push("b") }
        });
        let c = spawn({
            let log = log.clone();
            async move { log.borrow_mut().push("c") }
        });
        let _ = (a.await, b.await, c.await);
    });
    assert_eq!(
        log,
        [
            "a1", // first in the queue; yields, which re-queues it at the back
            "b",  // already queued before a yielded
            "c",  // likewise
            "a2", // a's second poll comes after everyone who was waiting
        ]
    );
}

/// Parks on its first poll and hands its waker out; then completes, or (with
/// `for_ever`) parks again on every poll, handing its waker out each time.
struct Parked {
    waker_out: Rc<RefCell<Option<Waker>>>,
    polls: Rc<RefCell<u32>>,
    for_ever: bool,
}

impl Future for Parked {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.polls.borrow_mut() += 1;
        if *self.polls.borrow() == 1 || self.for_ever {
            *self.waker_out.borrow_mut() = Some(cx.waker().clone());
            // Pending: whoever holds the waker it handed out.
            return Poll::Pending;
        }
        Poll::Ready(())
    }
}

#[test]
fn a_task_woken_many_times_before_it_runs_is_queued_once() {
    let _hang = hang_guard::start();
    let waker_out = Rc::new(RefCell::new(None));
    let polls = Rc::new(RefCell::new(0));
    let mut rt = Runtime::new().unwrap();
    rt.block_on({
        let (waker_out, polls) = (waker_out.clone(), polls.clone());
        async move {
            let task = spawn(Parked {
                waker_out: waker_out.clone(),
                polls,
                for_ever: false,
            });
            yield_now().await; // the task parks and hands out its waker
            let waker = waker_out.borrow_mut().take().expect("task parked");
            for _ in 0..100 {
                waker.wake_by_ref();
            }
            task.await.unwrap();
        }
    });
    assert_eq!(*polls.borrow(), 2, "100 wakes, one extra poll");
    assert_eq!(rt.metrics().polls, 2);
}

#[test]
fn a_stale_waker_does_not_wake_the_task_that_reuses_its_slot() {
    let _hang = hang_guard::start();
    let waker_out = Rc::new(RefCell::new(None));
    let mut rt = Runtime::new().unwrap();
    rt.block_on({
        let waker_out = waker_out.clone();
        async move {
            // First task: parks, hands out its waker, then is woken and finishes.
            let polls = Rc::new(RefCell::new(0));
            let first = spawn(Parked {
                waker_out: waker_out.clone(),
                polls,
                for_ever: false,
            });
            yield_now().await;
            let stale = waker_out.borrow_mut().take().unwrap();
            stale.wake_by_ref();
            first.await.unwrap();
            // Second task takes the freed slot and parks for good.
            let second_polls = Rc::new(RefCell::new(0));
            let second = spawn(Parked {
                waker_out: Rc::default(),
                polls: second_polls.clone(),
                for_ever: false,
            });
            yield_now().await;
            stale.wake_by_ref(); // addressed to the finished task
            yield_now().await;
            assert_eq!(
                *second_polls.borrow(),
                1,
                "the stale wake must not poll the new task"
            );
            second.abort();
        }
    });
}

// The test above ends its task on the second poll, and a finished task's queued
// entries are cleaned up; a task that stays pending shows a double queueing at once.
#[test]
fn a_pending_task_woken_a_hundred_times_is_polled_once_for_them() {
    let _hang = hang_guard::start();
    let waker_out = Rc::new(RefCell::new(None));
    let polls = Rc::new(RefCell::new(0));
    let mut rt = Runtime::new().unwrap();
    rt.block_on({
        let (waker_out, polls) = (waker_out.clone(), polls.clone());
        async move {
            drop(spawn(Parked {
                waker_out: waker_out.clone(),
                polls: polls.clone(),
                for_ever: true,
            }));
            yield_now().await; // poll 1: it parks
            let waker = waker_out.borrow_mut().take().expect("task parked");
            for _ in 0..100 {
                waker.wake_by_ref();
            }
            for _ in 0..3 {
                yield_now().await; // room for any extra polls to happen
            }
        }
    });
    assert_eq!(*polls.borrow(), 2, "100 wakes, one extra poll");
}

// Until 2026-12-08 a task that woke itself and then finished left its key in the
// queue, and a task spawned into its slab slot ran at that key's place: here D ran
// before W, woken earlier. A hyper HTTP/2 stream task does exactly this every
// request: with the jumps glassbox served 0.94 of tokio's HTTP/2 requests a second,
// without them 1.10 (BENCHMARKS.md, "HTTP/2: the stale key").
#[test]
fn a_task_spawned_into_the_slot_of_one_that_woke_itself_and_finished_waits_its_turn() {
    let _hang = hang_guard::start();
    let log = logged(|log| {
        async move {
            let waker_out = Rc::new(RefCell::new(None));
            let waiter = spawn({
                let (log, waker_out) = (log.clone(), waker_out.clone());
                async move {
                    Parked {
                        waker_out,
                        polls: Rc::default(),
                        for_ever: false,
                    }
                    .await;
                    log.borrow_mut().push("W");
                }
            });
            let finisher = spawn(std::future::poll_fn(|cx| {
                cx.waker().wake_by_ref();
                Poll::Ready(())
            }));
            let late = spawn({
                let log = log.clone();
                async move {
                    // `finisher` is done by now and its slab slot free.
                    waker_out.borrow_mut().take().expect("W parked").wake();
                    spawn(async move { log.borrow_mut().push("D") })
                        .await
                        .unwrap();
                }
            });
            let _ = (waiter.await, finisher.await, late.await);
        }
    });
    assert_eq!(log, ["W", "D"], "W was woken before D was spawned");
}

/// Parks on its first poll, keeping its own waker; wakes it when dropped.
struct WakesItselfWhenDropped(Option<Waker>);

impl Future for WakesItselfWhenDropped {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0 = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for WakesItselfWhenDropped {
    fn drop(&mut self) {
        if let Some(waker) = self.0.take() {
            waker.wake();
        }
    }
}

// An aborted task is dropped where it would have been polled, as if polled: a wake
// from its destructor is a wake from inside its own poll, and queues nothing. (Had
// it queued its key, the next task in its slot would run early, or the loop would
// find an empty slot under a queued key.)
#[test]
fn an_aborted_task_whose_destructor_wakes_it_leaves_nothing_queued() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        for _ in 0..100 {
            let doomed = spawn(WakesItselfWhenDropped(None));
            yield_now().await; // it parks, holding its own waker
            doomed.abort();
            assert!(doomed.await.unwrap_err().is_cancelled());
            let polls = Rc::new(RefCell::new(0));
            let next = spawn(Parked {
                waker_out: Rc::default(),
                polls: polls.clone(),
                for_ever: false,
            }); // in `doomed`'s slot
            for _ in 0..3 {
                yield_now().await;
            }
            assert_eq!(
                *polls.borrow(),
                1,
                "polled for a key its slot's last task left"
            );
            next.abort();
        }
    });
}

#[test]
fn one_turn_polls_at_most_event_interval_tasks() {
    let _hang = hang_guard::start();
    const INTERVAL: u32 = 8;
    let mut rt = Runtime::builder().event_interval(INTERVAL).build().unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                spawn(async {
                    for _ in 0..10 {
                        yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let metrics = rt.metrics();
    assert_eq!(
        metrics.polls,
        100 * 11,
        "each task: its first poll and 10 yields"
    );
    assert!(
        metrics.polls <= metrics.reactor_turns * u64::from(INTERVAL),
        "{} polls in {} turns: more than {INTERVAL} a turn",
        metrics.polls,
        metrics.reactor_turns
    );
}
