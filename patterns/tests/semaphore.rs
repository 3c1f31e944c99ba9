//! `Semaphore`: first come, first served; nothing lost when futures are dropped;
//! close; the permit maximum. Ends with a property test over random schedules.

#[path = "counting_waker/mod.rs"]
mod counting_waker;
#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;
mod schedule_support;

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use counting_waker::CountingWaker;
use executor::{JoinHandle, Runtime, spawn, yield_now};
use patterns::{AcquireError, Semaphore, TryAcquireError, join_all, sleep};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

/// Polls `future` once with the current task's waker, and reports what it said.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// Spawns a task that acquires `n` permits, logs its name, holds them for `hold`.
fn spawn_worker(
    sem: &Rc<Semaphore>,
    log: &Rc<RefCell<Vec<&'static str>>>,
    name: &'static str,
    n: u32,
    hold: Duration,
) -> JoinHandle<()> {
    let (sem, log) = (sem.clone(), log.clone());
    spawn(async move {
        let _permit = sem.acquire_many(n).await.unwrap();
        log.borrow_mut().push(name);
        sleep(hold).await;
    })
}

#[test]
fn permits_limit_how_many_tasks_run_at_once() {
    let _hang = hang_guard::start();
    let most = paused().block_on(async {
        let sem = Rc::new(Semaphore::new(3));
        let (running, most) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let tasks = (0..20).map(|_| {
            let (sem, running, most) = (sem.clone(), running.clone(), most.clone());
            spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                running.set(running.get() + 1);
                most.set(most.get().max(running.get()));
                sleep(Duration::from_millis(10)).await;
                running.set(running.get() - 1);
            })
        });
        join_all(tasks).await;
        assert_eq!(sem.available_permits(), 3);
        most.get()
    });
    assert_eq!(most, 3);
}

#[test]
fn waiters_are_served_first_come_first_served() {
    let _hang = hang_guard::start();
    let log = Rc::new(RefCell::new(Vec::new()));
    paused().block_on({
        let log = log.clone();
        async move {
            let sem = Rc::new(Semaphore::new(1));
            let held = sem.try_acquire().unwrap();
            let names = ["a", "b", "c", "d"];
            let mut tasks = Vec::new();
            for name in names {
                tasks.push(spawn_worker(&sem, &log, name, 1, Duration::from_millis(1)));
                yield_now().await; // let it line up before the next one
            }
            drop(held);
            join_all(tasks).await;
        }
    });
    assert_eq!(*log.borrow(), ["a", "b", "c", "d"]);
}

#[test]
fn a_large_acquire_many_at_the_head_blocks_later_small_ones() {
    let _hang = hang_guard::start();
    let log = Rc::new(RefCell::new(Vec::new()));
    paused().block_on({
        let log = log.clone();
        async move {
            let sem = Rc::new(Semaphore::new(3));
            let busy = spawn_worker(&sem, &log, "busy", 2, Duration::from_millis(10));
            yield_now().await; // busy holds 2 of 3
            let big = spawn_worker(&sem, &log, "big", 3, Duration::from_millis(1));
            yield_now().await; // big lines up holding the 1 free permit
            let small = spawn_worker(&sem, &log, "small", 1, Duration::from_millis(1));
            yield_now().await;
            // One permit would do for `small`, but `big` is ahead of it.
            assert_eq!(sem.available_permits(), 0);
            assert_eq!(*log.borrow(), ["busy"]);
            join_all([busy, big, small]).await;
        }
    });
    assert_eq!(*log.borrow(), ["busy", "big", "small"]);
}

#[test]
fn acquire_many_waits_for_permits_added_later() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let sem = Rc::new(Semaphore::new(1));
        let big = spawn({
            let sem = sem.clone();
            async move { sem.acquire_many(5).await.map(|p| p.num_permits()) }
        });
        yield_now().await;
        assert!(!big.is_finished());
        sem.add_permits(2);
        yield_now().await;
        assert!(!big.is_finished(), "3 of 5 assigned: still waiting");
        sem.add_permits(2);
        assert_eq!(big.await.unwrap(), Ok(5));
        assert_eq!(sem.available_permits(), 5, "the permit went back on drop");
    });
}

#[test]
fn acquire_many_zero_succeeds_at_once_even_behind_waiters() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let sem = Rc::new(Semaphore::new(0));
        let waiter = spawn({
            let sem = sem.clone();
            async move { drop(sem.acquire().await) }
        });
        yield_now().await;
        let nothing = sem.acquire_many(0).await.unwrap();
        assert_eq!(nothing.num_permits(), 0);
        assert_eq!(sem.try_acquire_many(0).unwrap().num_permits(), 0);
        drop(nothing);
        sem.add_permits(1);
        waiter.await.unwrap();
    });
}

#[test]
fn a_dropped_queued_acquire_returns_its_partial_permits_and_wakes_the_next_waiter() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let sem = Rc::new(Semaphore::new(2));
        let held = sem.try_acquire().unwrap();
        let big = spawn({
            let sem = sem.clone();
            async move { drop(sem.acquire_many(3).await) }
        });
        yield_now().await; // big lines up holding the 1 free permit
        let small = spawn({
            let sem = sem.clone();
            async move { sem.acquire().await.map(|p| p.num_permits()) }
        });
        yield_now().await; // small lines up behind big
        assert_eq!(sem.available_permits(), 0);
        big.abort();
        // big's permit goes to small, which was next in line.
        assert_eq!(small.await.unwrap(), Ok(1));
        drop(held);
        assert_eq!(sem.available_permits(), 2);
    });
}

#[test]
fn a_dropped_acquire_that_was_granted_but_never_polled_returns_every_permit() {
    let _hang = hang_guard::start();
    let sem = Semaphore::new(0);
    let counting = Arc::new(CountingWaker::default());
    let waker = Waker::from(counting.clone());
    let mut cx = Context::from_waker(&waker);
    let mut acquire = sem.acquire_many(2);
    assert!(Pin::new(&mut acquire).poll(&mut cx).is_pending());
    sem.add_permits(2); // completes the request and wakes it...
    assert_eq!(counting.count(), 1);
    assert_eq!(sem.available_permits(), 0);
    drop(acquire); // ...but it is dropped before it runs
    assert_eq!(sem.available_permits(), 2);
}

/// A panic payload whose destructor panics with another one: dropping it outside a
/// `catch_unwind` unwinds again.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        std::panic::panic_any(Bomb);
    }
}

/// A waker whose `wake` (and whose drop) panics with a [`Bomb`].
struct BombingWaker {
    on_drop: bool,
}

impl std::task::Wake for BombingWaker {
    fn wake(self: Arc<Self>) {
        std::panic::panic_any(Bomb);
    }
}

impl Drop for BombingWaker {
    fn drop(&mut self) {
        if self.on_drop {
            std::panic::panic_any(Bomb);
        }
    }
}

/// Runs `f`, and leaks whatever it panics with: the payload may be a [`Bomb`].
fn leaking_any_panic(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        std::mem::forget(payload);
    }
}

#[test]
fn a_waiter_served_behind_a_waker_that_panics_with_a_bomb_is_still_woken() {
    let _hang = hang_guard::start();
    let sem = Semaphore::new(0);
    let bombing = Waker::from(Arc::new(BombingWaker { on_drop: false }));
    let counting = Arc::new(CountingWaker::default());
    let waker = Waker::from(counting.clone());
    let mut first = Box::pin(sem.acquire());
    let mut second = Box::pin(sem.acquire());
    assert!(
        first
            .as_mut()
            .poll(&mut Context::from_waker(&bombing))
            .is_pending()
    );
    assert!(
        second
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    // Serves both: the first wake panics, its payload's drop panics again.
    leaking_any_panic(|| sem.add_permits(2));
    assert_eq!(counting.count(), 1, "the second waiter was woken: {sem:?}");
    let mut cx = Context::from_waker(&waker);
    let Poll::Ready(Ok(permit)) = second.as_mut().poll(&mut cx) else {
        panic!("the second waiter was given its permit: {sem:?}");
    };
    drop(permit);
    drop(first);
    assert_eq!(sem.available_permits(), 2, "nothing lost: {sem:?}");
}

#[test]
fn a_waiter_whose_waker_drop_panics_with_a_bomb_still_gives_its_permits_back() {
    let _hang = hang_guard::start();
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let bombing = Waker::from(Arc::new(BombingWaker { on_drop: true }));
    let mut waiting = Box::pin(sem.acquire_many(2));
    assert!(
        waiting
            .as_mut()
            .poll(&mut Context::from_waker(&bombing))
            .is_pending()
    );
    drop(bombing); // the waiter now holds the only clone
    drop(held); // assigned to the waiter, which still wants one more
    leaking_any_panic(|| drop(waiting)); // drops the waker it stored
    assert_eq!(
        sem.available_permits(),
        1,
        "the assigned permit came back: {sem:?}"
    );
}

#[test]
fn a_request_after_a_cancelled_one_carries_none_of_its_state() {
    // The wait list reuses a finished waiter's node: the second request below lines
    // up in the node the cancelled one left. It must not inherit the permit the
    // cancelled one had been assigned, nor its waker.
    let _hang = hang_guard::start();
    let sem = Semaphore::new(1);
    let (old, new) = (
        Arc::new(CountingWaker::default()),
        Arc::new(CountingWaker::default()),
    );
    let (old_waker, new_waker) = (Waker::from(old.clone()), Waker::from(new.clone()));
    let mut cancelled = sem.acquire_many(3);
    assert!(
        Pin::new(&mut cancelled)
            .poll(&mut Context::from_waker(&old_waker))
            .is_pending()
    );
    drop(cancelled); // gives back the 1 permit it had been assigned
    assert_eq!(Arc::strong_count(&old), 2, "its stored waker is gone");

    let held = sem.try_acquire().unwrap();
    let mut next = sem.acquire_many(2);
    let mut cx = Context::from_waker(&new_waker);
    assert!(Pin::new(&mut next).poll(&mut cx).is_pending());
    drop(held); // 1 of the 2 it wants: not enough (a stale assignment would make it so)
    assert!(Pin::new(&mut next).poll(&mut cx).is_pending());
    assert_eq!(new.count(), 0);
    sem.add_permits(1);
    assert_eq!(new.count(), 1, "the new waker is woken");
    assert_eq!(old.count(), 0, "the old one never is");
    match Pin::new(&mut next).poll(&mut cx) {
        Poll::Ready(Ok(permit)) => assert_eq!(permit.num_permits(), 2),
        other => panic!("expected the 2 permits, got {other:?}"),
    }
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn close_wakes_every_waiter_with_an_error_and_drops_their_wakers() {
    let _hang = hang_guard::start();
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let counting = Arc::new(CountingWaker::default());
    let waker = Waker::from(counting.clone());
    let mut cx = Context::from_waker(&waker);
    let mut first = pin!(sem.acquire());
    let mut second = pin!(sem.acquire_many(3));
    assert!(first.as_mut().poll(&mut cx).is_pending());
    assert!(second.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        Arc::strong_count(&counting),
        4,
        "ours, cx's and two stored clones"
    );

    sem.close();
    assert_eq!(counting.count(), 2, "every waiter woken");
    assert_eq!(
        Arc::strong_count(&counting),
        2,
        "the stored wakers are gone"
    );
    assert!(matches!(first.as_mut().poll(&mut cx), Poll::Ready(Err(_))));
    assert!(matches!(second.as_mut().poll(&mut cx), Poll::Ready(Err(_))));
    drop(held);
}

/// `AcquireError` has no public constructor; get one the honest way.
fn closed_error() -> AcquireError {
    let sem = Semaphore::new(0);
    sem.close();
    executor::block_on(sem.acquire()).unwrap_err()
}

#[test]
fn acquires_after_close_fail_at_once_and_held_permits_still_return() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let sem = Semaphore::new(2);
        let held = sem.acquire().await.unwrap();
        sem.close();
        assert!(sem.is_closed());
        assert!(sem.acquire().await.is_err());
        assert!(sem.acquire_many(0).await.is_err());
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        drop(held);
        assert_eq!(sem.available_permits(), 2);
    });
}

#[test]
fn a_waiter_with_permits_assigned_when_closed_gives_them_back() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let sem = Rc::new(Semaphore::new(1));
        let big = spawn({
            let sem = sem.clone();
            async move { sem.acquire_many(2).await.map(|p| p.num_permits()) }
        });
        yield_now().await; // holds 1 of the 2 it wants
        assert_eq!(sem.available_permits(), 0);
        sem.close();
        assert!(big.await.unwrap().is_err());
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn try_acquire_does_not_jump_the_line() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let sem = Rc::new(Semaphore::new(1));
        let big = spawn({
            let sem = sem.clone();
            async move { drop(sem.acquire_many(2).await) }
        });
        yield_now().await;
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        sem.add_permits(1);
        big.await.unwrap();
        assert!(sem.try_acquire().is_ok());
    });
}

#[test]
fn forget_shrinks_the_semaphore_for_good() {
    let _hang = hang_guard::start();
    let sem = Semaphore::new(3);
    sem.try_acquire_many(2).unwrap().forget();
    assert_eq!(sem.available_permits(), 1);
    assert!(format!("{sem:?}").contains("total: 1"));
}

#[test]
#[should_panic(expected = "Semaphore::MAX_PERMITS")]
fn add_permits_past_the_maximum_panics_naming_max_permits() {
    let _hang = hang_guard::start();
    let sem = Semaphore::new(Semaphore::MAX_PERMITS - 1);
    sem.add_permits(2);
}

#[test]
fn a_refused_add_permits_changes_nothing() {
    let _hang = hang_guard::start();
    let sem = Semaphore::new(Semaphore::MAX_PERMITS);
    let held = sem.try_acquire().unwrap();
    let refused = catch_unwind(AssertUnwindSafe(|| sem.add_permits(1)));
    assert!(
        refused.is_err(),
        "held permits count towards the maximum too"
    );
    drop(held);
    assert_eq!(sem.available_permits(), Semaphore::MAX_PERMITS);
}

#[test]
#[should_panic(expected = "exceeds Semaphore::MAX_PERMITS")]
fn new_above_the_maximum_panics_naming_max_permits() {
    let _hang = hang_guard::start();
    let _ = Semaphore::new(Semaphore::MAX_PERMITS + 1);
}

#[test]
#[should_panic(expected = "exceeds Semaphore::MAX_PERMITS")]
fn the_maximum_is_tokios_an_eighth_of_usize() {
    let _hang = hang_guard::start();
    // tokio's `Semaphore::MAX_PERMITS` is `usize::MAX >> 3`: a quarter is too many.
    let _ = Semaphore::new(usize::MAX >> 2);
}

#[test]
fn errors_are_std_errors_with_messages() {
    let _hang = hang_guard::start();
    let closed = closed_error();
    let boxed: Box<dyn std::error::Error> = Box::new(closed);
    assert_eq!(boxed.to_string(), "semaphore closed");
    assert_eq!(
        TryAcquireError::NoPermits.to_string(),
        "no permits available"
    );
}

#[test]
fn debug_shows_the_counts() {
    let _hang = hang_guard::start();
    let sem = Semaphore::new(2);
    let _one = sem.try_acquire().unwrap();
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 1, total: 2, waiting: 0, closed: false }"
    );
}

// === properties ===

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One task of a random schedule.
    #[derive(Debug, Clone)]
    struct Worker {
        start_ms: u64,
        wants: u32,
        hold_ms: u64,
        forget: bool,
        abort_at_ms: Option<u64>,
    }

    /// A time on a coarse 5 ms grid, so that events often fall on the same tick:
    /// that is where a request is completed and cancelled before it runs.
    fn on_grid(below_ms: u64) -> impl Strategy<Value = u64> {
        (0..below_ms / 5).prop_map(|slot| slot * 5)
    }

    fn worker() -> impl Strategy<Value = Worker> {
        (
            on_grid(20),
            0..=3u32,
            on_grid(15),
            proptest::bool::weighted(0.1),
            proptest::option::of(on_grid(40)),
        )
            .prop_map(|(start_ms, wants, hold_ms, forget, abort_at_ms)| Worker {
                start_ms,
                wants,
                hold_ms,
                forget,
                abort_at_ms,
            })
    }

    /// What the test knows: permits the semaphore should manage, permits held.
    #[derive(Default)]
    struct Books {
        total: Cell<usize>,
        held: Cell<usize>,
        lined_up: RefCell<Vec<usize>>,
        served: RefCell<Vec<usize>>,
    }

    impl Books {
        fn check(&self, sem: &Semaphore) {
            let (available, held, total) =
                (sem.available_permits(), self.held.get(), self.total.get());
            assert!(
                available + held <= total,
                "available {available} + held {held} > total {total}"
            );
        }
    }

    /// Holds a permit and keeps the books when it goes, however it goes.
    struct Held<'a> {
        permit: Option<patterns::Permit<'a>>,
        books: Rc<Books>,
    }

    impl Drop for Held<'_> {
        fn drop(&mut self) {
            if let Some(permit) = self.permit.take() {
                self.books
                    .held
                    .set(self.books.held.get() - permit.num_permits());
            }
        }
    }

    fn run(initial: usize, workers: Vec<Worker>, additions: Vec<(u64, usize)>) {
        let books = Rc::new(Books::default());
        books.total.set(initial);
        let mut rt = paused();
        rt.block_on({
            let books = books.clone();
            async move {
                let sem = Rc::new(Semaphore::new(initial));
                let mut handles = Vec::new();
                for (id, w) in workers.iter().cloned().enumerate() {
                    let (sem, books) = (sem.clone(), books.clone());
                    let handle = spawn(async move {
                        sleep(Duration::from_millis(w.start_ms)).await;
                        let mut acquire = sem.acquire_many(w.wants);
                        let permit = match poll_once(&mut acquire).await {
                            Poll::Ready(permit) => permit.unwrap(),
                            Poll::Pending => {
                                books.lined_up.borrow_mut().push(id);
                                let permit = acquire.await.unwrap();
                                books.served.borrow_mut().push(id);
                                permit
                            }
                        };
                        books.held.set(books.held.get() + permit.num_permits());
                        let mut held = Held {
                            permit: Some(permit),
                            books: books.clone(),
                        };
                        books.check(&sem);
                        sleep(Duration::from_millis(w.hold_ms)).await;
                        books.check(&sem);
                        if w.forget {
                            let permit = held.permit.take().unwrap();
                            let n = permit.num_permits();
                            books.held.set(books.held.get() - n);
                            books.total.set(books.total.get() - n);
                            permit.forget();
                        }
                        drop(held);
                        books.check(&sem);
                    });
                    handles.push(handle);
                }
                let handles = Rc::new(handles);
                for (id, w) in workers.iter().enumerate() {
                    if let Some(at) = w.abort_at_ms {
                        let (handles, books, sem) = (handles.clone(), books.clone(), sem.clone());
                        spawn(async move {
                            sleep(Duration::from_millis(at)).await;
                            handles[id].abort();
                            yield_now().await;
                            books.check(&sem);
                        });
                    }
                }
                for (at, n) in additions {
                    let (sem, books) = (sem.clone(), books.clone());
                    spawn(async move {
                        sleep(Duration::from_millis(at)).await;
                        sem.add_permits(n);
                        books.total.set(books.total.get() + n);
                        books.check(&sem);
                    });
                }
                // Every scheduled event is over by 100 ms.
                sleep(Duration::from_millis(100)).await;
                // Nobody waits while permits lie idle: a waiter still in line means
                // every free permit was assigned to the front of the line. (A worker
                // that lined up and was served may still hold its permits now: a
                // chain of holds can end on this very tick. It is not waiting.)
                let served = books.served.borrow().clone();
                let still_waiting = books
                    .lined_up
                    .borrow()
                    .iter()
                    .any(|id| !served.contains(id) && !handles[*id].is_finished());
                if still_waiting {
                    assert_eq!(sem.available_permits(), 0, "idle permits with waiters");
                }
                // Stop whoever still waits.
                for handle in handles.iter() {
                    handle.abort();
                }
                yield_now().await;
                yield_now().await;
                assert!(handles.iter().all(JoinHandle::is_finished));

                // Conservation: with nobody holding or waiting, every permit is back.
                assert_eq!(books.held.get(), 0);
                assert_eq!(sem.available_permits(), books.total.get());

                // First come, first served: those served after waiting were served in
                // the order they lined up (as each observes it when it runs: that is
                // the serving order only under FIFO).
                let served = books.served.borrow().clone();
                let lined_up: Vec<usize> = books
                    .lined_up
                    .borrow()
                    .iter()
                    .copied()
                    .filter(|id| served.contains(id))
                    .collect();
                if schedule_support::fifo_schedule() {
                    assert_eq!(served, lined_up);
                }
            }
        });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn permits_are_conserved_and_waiters_served_in_order_under_random_cancellation(
            initial in 0..=4usize,
            workers in proptest::collection::vec(worker(), 1..8),
            additions in proptest::collection::vec((on_grid(60), 0..=2usize), 0..3),
        ) {
            let _hang = hang_guard::start();
            run(initial, workers, additions);
        }
    }
}

#[test]
fn a_permit_shows_how_many_permits_it_holds() {
    let _hang = hang_guard::start();
    let sem = Semaphore::new(3);
    let permit = sem.try_acquire_many(2).unwrap();
    assert_eq!(format!("{permit:?}"), "Permit { permits: 2 }");
    let acquire = sem.acquire();
    assert_eq!(
        format!("{acquire:?}"),
        r#"Acquire { wanted: 1, step: "start" }"#
    );
}
