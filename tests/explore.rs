//! Exploring schedules (`glassbox::explore`): planted bugs that all pass under FIFO
//! (and so as plain tests) are found, shrunk and replayed exactly; their fixed
//! versions pass many seeds.
//!
//! Seeds are fixed numbers, so each test is deterministic: "found within N seeds"
//! is a bound these programs meet with room to spare (the note on issue 31 gives
//! the seed each strategy needed).

mod hang_guard;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use glassbox::explore::{Explorer, Outcome, Strategy};
use glassbox::net::UnixStream;
use glassbox::{Queue, Runtime, Schedule, sleep, spawn, timeout, yield_now};

const STRATEGIES: [Strategy; 2] = [Strategy::Random, Strategy::Pct { depth: 3 }];

/// The program under FIFO, as a plain test runs it (a task, as the explorer runs
/// it): it must pass.
fn passes_under_fifo<F: std::future::Future + 'static>(program: impl Fn() -> F) {
    let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
    let task = rt.spawn(program());
    if let Err(error) = rt.block_on(task) {
        panic!("the program fails under FIFO: {error}");
    }
}

fn explore<F>(seeds: u64, strategy: Strategy, program: impl Fn() -> F) -> Outcome
where
    F: std::future::Future + 'static,
{
    Explorer::new().seeds(seeds).strategy(strategy).run(program)
}

// === the planted bugs ===

/// Two withdrawals of 70 from 100, each checking the balance, then awaiting, then
/// paying out: a check-then-act across an `.await`. The second starts a little
/// later (two awaits of its own first), so under FIFO the first has paid out
/// before the second checks.
async fn two_withdrawals(fixed: bool) {
    let balance = Rc::new(Cell::new(100));
    let withdraw = |balance: Rc<Cell<i32>>, later: bool| async move {
        if later {
            yield_now().await;
            yield_now().await;
        }
        if fixed {
            // The check and the act with no await between: nothing can interleave.
            if balance.get() >= 70 {
                balance.set(balance.get() - 70);
            }
            yield_now().await;
        } else if balance.get() >= 70 {
            yield_now().await; // talk to the bank
            balance.set(balance.get() - 70);
        }
    };
    let first = spawn(withdraw(balance.clone(), false));
    let second = spawn(withdraw(balance.clone(), true));
    first.await.unwrap();
    second.await.unwrap();
    assert!(balance.get() >= 0, "overdrawn: {}", balance.get());
}

/// Two increments of one counter; the first reads, yields, then writes back.
async fn lost_update(fixed: bool) {
    let counter = Rc::new(Cell::new(0));
    let slow = {
        let counter = counter.clone();
        spawn(async move {
            if fixed {
                yield_now().await;
                counter.set(counter.get() + 1);
            } else {
                let read = counter.get();
                yield_now().await;
                counter.set(read + 1);
            }
        })
    };
    let quick = {
        let counter = counter.clone();
        spawn(async move {
            yield_now().await;
            yield_now().await;
            counter.set(counter.get() + 1);
        })
    };
    slow.await.unwrap();
    quick.await.unwrap();
    assert_eq!(counter.get(), 2, "an update was lost");
}

/// A job done at 20 ms, and a watcher that gives it 20 ms: both due on one tick.
/// FIFO fires the job's timer first (armed first: the watcher lets the job start
/// before it arms its own), so the watcher sees it done.
async fn timeout_races_completion(fixed: bool) {
    let done = Rc::new(Cell::new(false));
    let waiting: Rc<RefCell<Option<Waker>>> = Rc::default();
    let job = {
        let (done, waiting) = (done.clone(), waiting.clone());
        spawn(async move {
            sleep(Duration::from_millis(20)).await;
            done.set(true);
            if let Some(waker) = waiting.take() {
                waker.wake();
            }
        })
    };
    yield_now().await; // the job arms its timer first
    let watched = poll_fn(move |cx| {
        if done.get() {
            Poll::Ready(())
        } else {
            *waiting.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    });
    // The fix: a deadline with room for the job, not one on its very tick.
    let limit = Duration::from_millis(if fixed { 21 } else { 20 });
    assert!(
        timeout(limit, watched).await.is_ok(),
        "the job timed out on its own tick"
    );
    job.await.unwrap();
}

/// A hand-written future that takes its registration on every poll but registers
/// only on the first: polled for nothing, it forgets to be woken.
async fn forgets_its_waker(fixed: bool) {
    let ready = Rc::new(Cell::new(false));
    let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
    let notifier = {
        let (ready, slot) = (ready.clone(), slot.clone());
        spawn(async move {
            sleep(Duration::from_millis(10)).await;
            ready.set(true);
            if let Some(waker) = slot.take() {
                waker.wake();
            }
        })
    };
    let mut registered = false;
    let (ready, slot) = (ready.clone(), slot.clone());
    poll_fn(move |cx| {
        if ready.get() {
            return Poll::Ready(());
        }
        // "We were woken, so the waker was used": wrong after a spurious wake.
        let had = slot.take();
        if fixed || !registered {
            *slot.borrow_mut() = Some(cx.waker().clone());
            registered = true;
        } else {
            drop(had);
        }
        Poll::Pending
    })
    .await;
    notifier.await.unwrap();
}

/// A consumer marks an item done before it has finished with it; the producer trusts
/// `join`, then looks at what was processed.
async fn join_returns_early(fixed: bool) {
    let queue = Queue::new(4);
    let processed = Rc::new(RefCell::new(Vec::new()));
    let consumer = {
        let (queue, processed) = (queue.clone(), processed.clone());
        spawn(async move {
            while let Ok(item) = queue.get().await {
                if fixed {
                    yield_now().await;
                    processed.borrow_mut().push(item);
                    queue.task_done().unwrap();
                } else {
                    queue.task_done().unwrap();
                    yield_now().await;
                    processed.borrow_mut().push(item);
                }
            }
        })
    };
    for item in 0..3 {
        queue.put(item).await.unwrap();
    }
    queue.join().await;
    yield_now().await;
    assert_eq!(
        processed.borrow().len(),
        3,
        "join returned before the work was done"
    );
    queue.shutdown(true);
    consumer.await.unwrap();
}

/// Each planted bug: its name, the buggy program, and how many seeds each strategy
/// may need to find it.
fn found_within(
    name: &str,
    seeds: u64,
    program: fn(bool) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
) {
    let _hang = hang_guard::start();
    passes_under_fifo(|| program(false));
    for strategy in STRATEGIES {
        let outcome = explore(seeds, strategy, || program(false));
        let failure = outcome.failure().unwrap_or_else(|| {
            panic!("{name}: {strategy:?} found nothing in {seeds} seeds: {outcome}")
        });
        assert!(
            !failure.schedule().is_empty(),
            "{name}: a bug FIFO does not show needs a departure from it: {outcome}"
        );
        eprintln!("{name}, {strategy:?}: {outcome}");
        // The shrunk schedule fails again when replayed, with the same message.
        let again = Explorer::new()
            .replay_shrunk(failure)
            .run(|| program(false));
        assert_eq!(
            again.failure().map(|f| f.message().to_string()),
            Some(failure.message().to_string()),
            "{name}: the shrunk schedule replays to the same failure"
        );
    }
    for strategy in STRATEGIES {
        let fixed = explore(1_000, strategy, || program(true));
        assert!(fixed.is_ok(), "{name} (fixed): {fixed}");
    }
}

#[test]
fn a_check_then_act_across_an_await_is_found() {
    found_within("two withdrawals", 50, |fixed| {
        Box::pin(two_withdrawals(fixed))
    });
}

#[test]
fn a_lost_update_across_a_yield_is_found() {
    found_within("lost update", 100, |fixed| Box::pin(lost_update(fixed)));
}

#[test]
fn a_timeout_racing_completion_on_one_tick_is_found() {
    found_within("timeout race", 100, |fixed| {
        Box::pin(timeout_races_completion(fixed))
    });
}

#[test]
fn a_future_that_forgets_its_waker_when_polled_for_nothing_is_found() {
    found_within("forgotten waker", 200, |fixed| {
        Box::pin(forgets_its_waker(fixed))
    });
}

#[test]
fn a_join_that_returns_before_the_work_is_done_is_found() {
    found_within("early join", 200, |fixed| {
        Box::pin(join_returns_early(fixed))
    });
}

// === replay and reporting ===

#[test]
fn a_failing_seed_replays_to_the_same_failure_every_time() {
    let _hang = hang_guard::start();
    let found = explore(50, Strategy::Random, || two_withdrawals(false));
    let failure = found.failure().expect("found");
    let seed = failure.seed().expect("a seed");
    let first = Explorer::new()
        .strategy(Strategy::Random)
        .replay(seed)
        .run(|| two_withdrawals(false));
    let report = first.failure().expect("the seed fails again").to_string();
    for _ in 0..100 {
        let again = Explorer::new()
            .strategy(Strategy::Random)
            .replay(seed)
            .run(|| two_withdrawals(false));
        assert_eq!(again.failure().expect("and again").to_string(), report);
    }
    assert!(report.contains("overdrawn: -40"), "{report}");
    assert!(
        report.contains(&format!("GLASSBOX_SEED={seed}")),
        "{report}"
    );
    assert!(report.contains("ran before task"), "{report}");
}

#[test]
fn shrinking_is_deterministic_and_names_the_tasks_by_their_spawn_sites() {
    let _hang = hang_guard::start();
    let once = explore(50, Strategy::Pct { depth: 3 }, || two_withdrawals(false));
    let twice = explore(50, Strategy::Pct { depth: 3 }, || two_withdrawals(false));
    let (a, b) = (once.failure().unwrap(), twice.failure().unwrap());
    assert_eq!(a.to_string(), b.to_string());
    assert!(
        a.schedule()
            .iter()
            .all(|decision| decision.what.contains("tests/explore.rs:")),
        "{a}"
    );
}

#[test]
fn a_deadlock_is_a_failure_not_a_hang() {
    let _hang = hang_guard::start();
    let outcome = Explorer::new().seeds(3).run(|| async {
        std::future::pending::<()>().await;
    });
    let failure = outcome.failure().expect("it never ends");
    assert!(failure.message().contains("deadlock"), "{outcome}");
}

#[test]
fn a_seeded_runtime_is_deterministic_and_fifo_is_the_default() {
    let _hang = hang_guard::start();
    let order = |schedule: Option<Schedule>| {
        let mut builder = Runtime::builder().paused_clock(true);
        if let Some(schedule) = schedule {
            builder = builder.schedule(schedule);
        }
        let mut rt = builder.build().unwrap();
        let log = Rc::new(RefCell::new(Vec::new()));
        for name in 0..8 {
            let log = log.clone();
            rt.spawn(async move { log.borrow_mut().push(name) });
        }
        rt.block_on(async {});
        rt.run_until_stalled();
        log.take()
    };
    assert_eq!(order(None), (0..8).collect::<Vec<_>>());
    assert_eq!(order(Some(Schedule::Fifo)), (0..8).collect::<Vec<_>>());
    let seeded = order(Some(Schedule::Seeded(7)));
    assert_eq!(
        seeded,
        order(Some(Schedule::Seeded(7))),
        "the same seed, the same order"
    );
    let mut sorted = seeded.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..8).collect::<Vec<_>>(), "every task ran once");
    assert!(
        (0..20).any(|seed| order(Some(Schedule::Seeded(seed))) != (0..8).collect::<Vec<_>>()),
        "some seed departs from FIFO"
    );
}

#[test]
#[should_panic(expected = "Explorer::seeds must be at least 1")]
fn zero_seeds_is_refused() {
    let _ = Explorer::new().seeds(0);
}

/// Every explored step is legal: no task is polled more often than it was woken
/// (its first poll is its spawn's; an injected spurious wake counts as the wake it
/// is), and no timer fires before its deadline, under both strategies.
#[test]
fn every_explored_step_is_legal() {
    let _hang = hang_guard::start();
    let program = || async {
        let queue = Queue::new(1);
        let workers: Vec<_> = (0..4u64)
            .map(|worker| {
                let queue = queue.clone();
                spawn(async move {
                    for round in 0..3u64 {
                        let nap = Duration::from_micros(100 * ((worker * 7 + round * 3) % 5 + 1));
                        let start = glassbox::time::now();
                        sleep(nap).await;
                        let slept = glassbox::time::now() - start;
                        assert!(slept >= nap, "a timer fired early: {slept:?} < {nap:?}");
                        if worker % 2 == 0 {
                            queue.put(worker * 10 + round).await.unwrap();
                        } else {
                            queue.get().await.unwrap();
                        }
                        yield_now().await;
                    }
                })
            })
            .collect();
        let audit = || {
            for task in glassbox::snapshot().tasks {
                assert!(
                    task.polls <= task.wakes + 1,
                    "task {} polled {} times with only {} wakes",
                    task.id,
                    task.polls,
                    task.wakes
                );
            }
        };
        for worker in workers {
            audit();
            worker.await.unwrap();
        }
        audit();
    };
    passes_under_fifo(program);
    for strategy in STRATEGIES {
        let outcome = explore(300, strategy, program);
        assert!(outcome.is_ok(), "{outcome}");
        assert!(outcome.distinct() > 100, "{outcome}");
    }
}

// === wakes from I/O and from other threads ===
//
// The order of the I/O events of one poll, and of the remote wakes drained in one
// turn, is not a choice point of its own: those orders only decide the order in
// which the woken tasks join the ready queue, and phase 1's choice then picks any
// of the first 64 ready tasks next. So every order of the tasks they wake is
// reached, as these two tests show for two tasks.

fn seeded_runtime(schedule: Schedule) -> Runtime {
    Runtime::builder()
        .paused_clock(true)
        .schedule(schedule)
        .build()
        .unwrap()
}

/// Two tasks finish `[0, 1]` under FIFO, every time, and in both orders over seeds
/// 0..40.
fn fifo_is_one_order_and_seeds_reach_both(run: impl Fn(Schedule) -> Vec<u8>) {
    assert_eq!(run(Schedule::Fifo), [0, 1]);
    assert_eq!(run(Schedule::Fifo), [0, 1], "FIFO is one order, every time");
    let seeded: HashSet<Vec<u8>> = (0..40).map(|seed| run(Schedule::Seeded(seed))).collect();
    assert!(
        seeded.contains(&vec![0, 1]) && seeded.contains(&vec![1, 0]),
        "{seeded:?}"
    );
}

#[test]
fn tasks_woken_by_io_in_one_turn_run_in_either_order() {
    let _hang = hang_guard::start();
    let run = |schedule| {
        seeded_runtime(schedule).block_on(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut writers = Vec::new();
            let mut readers = Vec::new();
            for name in [0_u8, 1] {
                let (reader, writer) = UnixStream::pair().unwrap();
                writers.push(writer);
                let log = log.clone();
                readers.push(spawn(async move {
                    let mut byte = [0];
                    reader.read_exact(&mut byte).await.unwrap();
                    log.borrow_mut().push(name);
                }));
            }
            for _ in 0..4 {
                yield_now().await; // both readers reach their read and park
            }
            for writer in &writers {
                writer.write_all(b"x").await.unwrap();
            }
            for reader in readers {
                reader.await.unwrap();
            }
            log.take()
        })
    };
    fifo_is_one_order_and_seeds_reach_both(run);
}

#[test]
fn tasks_woken_from_another_thread_in_one_turn_run_in_either_order() {
    let _hang = hang_guard::start();
    let run = |schedule| {
        seeded_runtime(schedule).block_on(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let (send_waker, wakers) = std::sync::mpsc::channel::<(u8, Waker)>();
            // Wakes task 0, then task 1, once both have parked.
            let waker_thread = std::thread::spawn(move || {
                let mut both: Vec<_> = wakers.iter().take(2).collect();
                both.sort_by_key(|&(name, _)| name);
                for (_, waker) in both {
                    waker.wake();
                }
            });
            let tasks: Vec<_> = [0_u8, 1]
                .into_iter()
                .map(|name| {
                    let (log, send_waker) = (log.clone(), send_waker.clone());
                    let mut parked = false;
                    spawn(poll_fn(move |cx| {
                        if !std::mem::replace(&mut parked, true) {
                            send_waker.send((name, cx.waker().clone())).unwrap();
                            return Poll::Pending;
                        }
                        log.borrow_mut().push(name);
                        Poll::Ready(())
                    }))
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            waker_thread.join().unwrap();
            log.take()
        })
    };
    fifo_is_one_order_and_seeds_reach_both(run);
}
