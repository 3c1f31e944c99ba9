//! The patterns under explored schedules: each pattern's promises must hold in any
//! order the loop may take (any ready task next, timers due together in any order,
//! small coop budgets, parked tasks woken for nothing), not only under FIFO.
//!
//! Each scenario runs under both strategies for `SEEDS` seeds. A failure prints its
//! shrunk schedule and the seed that replays it.

mod hang_guard;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use glassbox::explore::{Explorer, Strategy};
use glassbox::{
    Backoff, Queue, Semaphore, join_all, retry, sleep, spawn, spawn_blocking, timeout, yield_now,
};

const SEEDS: u64 = 100;

fn holds_under_every_schedule<F>(name: &str, program: impl Fn() -> F)
where
    F: std::future::Future + 'static,
{
    for strategy in [Strategy::Random, Strategy::Pct { depth: 3 }] {
        let outcome = Explorer::new()
            .seeds(SEEDS)
            .strategy(strategy)
            .run(&program);
        assert!(outcome.is_ok(), "{name} under {strategy:?}: {outcome}");
        // The seeds did explore: more than one schedule came out of them (how many
        // varies where a blocking job's thread decides when its result comes in).
        assert!(
            outcome.distinct() > 1,
            "{name} under {strategy:?}: {outcome}"
        );
    }
}

/// At most `permits` inside at once, and no permit lost. With one permit, also first
/// come, first served: each release grants the next waiter in line, and nobody else
/// can enter until that one leaves, so the order they got in is the order they asked.
/// (With two, two waiters granted on one tick may be polled in either order: the
/// grants are in order, what each task observes need not be.)
async fn semaphore_scenario(permits: usize) {
    let semaphore = Rc::new(Semaphore::new(permits));
    let inside = Rc::new(Cell::new(0));
    let (arrived, admitted) = (
        Rc::new(RefCell::new(Vec::new())),
        Rc::new(RefCell::new(Vec::new())),
    );
    let workers: Vec<_> = (0..6)
        .map(|worker| {
            let (semaphore, inside) = (semaphore.clone(), inside.clone());
            let (arrived, admitted) = (arrived.clone(), admitted.clone());
            spawn(async move {
                yield_now().await;
                arrived.borrow_mut().push(worker);
                let _permit = semaphore.acquire().await.unwrap();
                admitted.borrow_mut().push(worker);
                inside.set(inside.get() + 1);
                assert!(
                    inside.get() <= permits,
                    "{} inside, {permits} permits",
                    inside.get()
                );
                sleep(Duration::from_millis(1)).await;
                inside.set(inside.get() - 1);
            })
        })
        .collect();
    for result in join_all(workers).await {
        result.unwrap();
    }
    assert_eq!(
        semaphore.available_permits(),
        permits,
        "a permit was lost or made up"
    );
    if permits == 1 {
        assert_eq!(
            *admitted.borrow(),
            *arrived.borrow(),
            "a later waiter went first"
        );
    }
}

#[test]
fn a_semaphore_admits_at_most_its_permits_and_one_permit_goes_in_arrival_order() {
    let _hang = hang_guard::start();
    holds_under_every_schedule("semaphore (1 permit)", || semaphore_scenario(1));
    holds_under_every_schedule("semaphore (2 permits)", || semaphore_scenario(2));
}

#[test]
fn a_closed_semaphore_turns_every_waiter_away() {
    let _hang = hang_guard::start();
    holds_under_every_schedule("semaphore close", || async {
        let permits = Rc::new(Semaphore::new(0));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let permits = permits.clone();
                spawn(async move { permits.acquire().await.is_err() })
            })
            .collect();
        yield_now().await;
        permits.close();
        for waiter in waiters {
            assert!(
                waiter.await.unwrap(),
                "a waiter got a permit from a closed semaphore"
            );
        }
    });
}

#[test]
fn a_queue_delivers_each_item_once_in_each_producers_order_and_join_waits_for_all() {
    let _hang = hang_guard::start();
    holds_under_every_schedule("queue", || async {
        let queue = Queue::new(2);
        let got = Rc::new(RefCell::new(Vec::new()));
        let done = Rc::new(Cell::new(0));
        let consumers: Vec<_> = (0..3)
            .map(|consumer| {
                let (queue, got, done) = (queue.clone(), got.clone(), done.clone());
                spawn(async move {
                    while let Ok(item) = queue.get().await {
                        assert!(queue.qsize() <= 2, "a queue of 2 held {}", queue.qsize());
                        got.borrow_mut().push((consumer, item));
                        yield_now().await;
                        done.set(done.get() + 1);
                        queue.task_done().unwrap();
                    }
                })
            })
            .collect();
        let producers: Vec<_> = (0..2)
            .map(|producer| {
                let queue = queue.clone();
                spawn(async move {
                    for n in 0..4 {
                        queue.put((producer, n)).await.unwrap();
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.await.unwrap();
        }
        queue.join().await;
        assert_eq!(done.get(), 8, "join returned before every item was done");
        queue.shutdown(false);
        for consumer in consumers {
            consumer.await.unwrap();
        }
        let got = got.borrow();
        let mut items: Vec<_> = got.iter().map(|&(_, item)| item).collect();
        items.sort_unstable();
        let every: Vec<_> = (0..2).flat_map(|p| (0..4).map(move |n| (p, n))).collect();
        assert_eq!(items, every, "each item exactly once");
        // Each consumer sees each producer's items in the order they were put (across
        // consumers, which one is polled first is the schedule's choice).
        for consumer in 0..3 {
            for producer in 0..2 {
                let seen: Vec<_> = (got.iter())
                    .filter(|&&(c, (p, _))| c == consumer && p == producer)
                    .map(|&(_, (_, n))| n)
                    .collect();
                assert!(
                    seen.is_sorted(),
                    "consumer {consumer} got producer {producer}'s {seen:?}"
                );
            }
        }
    });
}

#[test]
fn a_get_cut_short_by_a_timeout_takes_no_item() {
    let _hang = hang_guard::start();
    holds_under_every_schedule("cancelled get", || async {
        let queue = Queue::new(1);
        let producer = {
            let queue = queue.clone();
            spawn(async move {
                sleep(Duration::from_millis(5)).await;
                queue.put("item").await.unwrap();
            })
        };
        // Gives up at 5 ms too: the put and the deadline are due on one tick.
        let first = timeout(Duration::from_millis(5), queue.get()).await;
        producer.await.unwrap();
        match first {
            Ok(item) => assert_eq!(item.ok(), Some("item")),
            // Given up: the item must still be there, not lost with the get.
            Err(_) => assert_eq!(queue.get_nowait().ok(), Some("item"), "the item was lost"),
        }
    });
}

#[test]
fn timeouts_decide_by_the_clock_in_every_order() {
    let _hang = hang_guard::start();
    holds_under_every_schedule("timeouts", || async {
        let quick = spawn(timeout(
            Duration::from_millis(20),
            sleep(Duration::from_millis(10)),
        ));
        let slow = spawn(timeout(
            Duration::from_millis(20),
            sleep(Duration::from_millis(30)),
        ));
        assert!(
            quick.await.unwrap().is_ok(),
            "a 10 ms job missed a 20 ms deadline"
        );
        assert!(
            slow.await.unwrap().is_err(),
            "a 30 ms job beat a 20 ms deadline"
        );
    });
}

#[test]
fn retry_starts_its_attempts_at_the_same_times_in_every_order() {
    let _hang = hang_guard::start();
    holds_under_every_schedule("retry", || async {
        let started = Rc::new(RefCell::new(Vec::new()));
        let start = glassbox::time::now();
        let backoff = Backoff::new(Duration::from_millis(10)).max_attempts(4);
        let result: Result<(), &str> = retry(backoff, || {
            let started = started.clone();
            async move {
                started.borrow_mut().push(glassbox::time::now() - start);
                Err("down")
            }
        })
        .await;
        assert_eq!(result, Err("down"));
        let ms: Vec<u128> = started.borrow().iter().map(|at| at.as_millis()).collect();
        assert_eq!(ms, [0, 10, 30, 70]);
    });
}

#[test]
fn blocking_jobs_return_their_results_in_every_order() {
    let _hang = hang_guard::start();
    holds_under_every_schedule("spawn_blocking", || async {
        let jobs: Vec<_> = (0..3u64).map(|n| spawn_blocking(move || n * n)).collect();
        let mut results = Vec::new();
        for job in jobs {
            results.push(job.await.unwrap());
        }
        assert_eq!(results, [0, 1, 4]);
    });
}
