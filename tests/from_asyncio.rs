//! What docs/FROM_ASYNCIO.md tells an asyncio programmer about glassbox, observed:
//! where a turn's batch ends, what cancelling can and cannot run, what `join_all`
//! does not do, and the `let _ = semaphore.acquire().await` trap. (The asyncio side
//! of each claim was run on CPython 3.11; the document quotes what it printed.)

mod hang_guard;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use glassbox::time;
use glassbox::{
    JoinHandle, Queue, Runtime, Semaphore, Turn, join_all, sleep, spawn, timeout, yield_now,
};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

/// The polls of a turn as (task id, finished) pairs, in order.
fn polls(turn: &Turn) -> Vec<(u64, bool)> {
    turn.polls
        .iter()
        .map(|poll| (poll.task.to_string().parse().unwrap(), poll.ready))
        .collect()
}

/// A task that spawns a child, then yields once (asyncio: `create_task(child())`,
/// then `await asyncio.sleep(0)`).
async fn spawns_a_child_then_yields() {
    spawn(async {});
    yield_now().await;
}

#[test]
fn a_task_spawned_or_woken_during_the_batch_is_polled_in_the_same_turn() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.spawn(spawns_a_child_then_yields());
    let turn = rt.turn();
    assert_eq!(
        polls(&turn),
        [
            (1, false), // the parent spawns task 2, yields: its own wake queues it last
            (2, true),  // the child, spawned during the batch, runs in it
            (1, true),  // the parent, woken during the batch, runs again in it
        ],
        "asyncio runs the child and the parent's next step in the next turn"
    );
}

#[test]
fn the_batch_ends_after_event_interval_polls_and_the_rest_waits_for_the_next_turn() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::builder()
        .paused_clock(true)
        .event_interval(2)
        .build()
        .unwrap();
    rt.spawn(spawns_a_child_then_yields());
    assert_eq!(polls(&rt.turn()), [(1, false), (2, true)]);
    assert_eq!(polls(&rt.turn()), [(1, true)]);
}

/// Something a task owns whose cleanup must await: its `Drop` cannot, so it spawns a
/// task that does.
struct FlushOnDrop {
    flush: Rc<RefCell<Option<JoinHandle<Instant>>>>,
}

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        let flush = spawn(async {
            sleep(Duration::from_millis(10)).await; // the cleanup that awaits
            time::now()
        });
        *self.flush.borrow_mut() = Some(flush);
    }
}

#[test]
fn abort_drops_the_future_and_cleanup_that_awaits_runs_in_a_task_its_destructor_spawned() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.block_on(async {
        let started = time::now();
        let flush = Rc::new(RefCell::new(None));
        let guard = FlushOnDrop {
            flush: flush.clone(),
        };
        let job = spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(60)).await;
        });
        sleep(Duration::from_millis(5)).await;
        job.abort();
        assert!(job.await.unwrap_err().is_cancelled());
        let flush = flush.borrow_mut().take();
        let flush = flush.expect("dropping the aborted future ran its destructor");
        let flushed_at = flush.await.unwrap();
        assert_eq!(
            flushed_at - started,
            Duration::from_millis(15),
            "aborted at 5 ms, flushed 10 ms later"
        );
    });
}

/// A worker told to stop by a message, not cancelled: it runs its awaiting cleanup
/// itself, then returns.
enum Command {
    Work(u32),
    Stop,
}

#[test]
fn a_stop_message_lets_the_task_await_its_own_cleanup_before_it_returns() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.block_on(async {
        let inbox = Rc::new(Queue::new(0));
        let worker = spawn({
            let inbox = inbox.clone();
            async move {
                let mut done = 0;
                // Work until the message that is not work: `Stop`.
                while let Command::Work(n) = inbox.get().await.unwrap() {
                    done += n;
                }
                sleep(Duration::from_millis(10)).await; // the cleanup that awaits
                (done, time::now())
            }
        });
        inbox.put(Command::Work(2)).await.unwrap();
        inbox.put(Command::Stop).await.unwrap();
        let stopped_at = time::now();
        let (done, returned_at) = worker.await.unwrap();
        assert_eq!(done, 2);
        assert_eq!(returned_at - stopped_at, Duration::from_millis(10));
    });
}

#[test]
fn join_all_does_not_fail_fast_it_returns_once_every_task_has() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.block_on(async {
        let started = time::now();
        let fails: JoinHandle<Result<(), &str>> = spawn(async { Err("refused") });
        let slow = spawn(async {
            sleep(Duration::from_secs(5)).await;
            Ok(())
        });
        let results = join_all([fails, slow]).await;
        assert_eq!(
            time::now() - started,
            Duration::from_secs(5),
            "asyncio.gather raises the first error at once"
        );
        assert_eq!(results[0].as_ref().unwrap(), &Err("refused"));
        assert_eq!(results[1].as_ref().unwrap(), &Ok(()));
    });
}

#[test]
fn dropping_join_all_detaches_its_tasks_which_run_to_the_end() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.block_on(async {
        let finished = Rc::new(Cell::new(0));
        let tasks = (0..3).map(|_| {
            let finished = finished.clone();
            spawn(async move {
                sleep(Duration::from_secs(10)).await;
                finished.set(finished.get() + 1);
            })
        });
        assert!(
            timeout(Duration::from_secs(1), join_all(tasks))
                .await
                .is_err()
        );
        sleep(Duration::from_secs(10)).await;
        assert_eq!(
            finished.get(),
            3,
            "asyncio's gather, cancelled, cancels its children"
        );
    });
}

/// One request: in flight for 100 ms. Counts how many are in flight at once.
async fn the_request(in_flight: &Cell<usize>, most: &Cell<usize>) {
    in_flight.set(in_flight.get() + 1);
    most.set(most.get().max(in_flight.get()));
    sleep(Duration::from_millis(100)).await;
    in_flight.set(in_flight.get() - 1);
}

/// Ten requests through a semaphore of 2, the permit bound to `_permit` or to `_`.
/// Returns the most requests that were in flight at once.
fn most_in_flight(bind_to_underscore: bool) -> usize {
    let mut rt = paused();
    rt.block_on(async move {
        let semaphore = Rc::new(Semaphore::new(2));
        let (in_flight, most) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
        let requests = (0..10).map(|_| {
            let (semaphore, in_flight, most) = (semaphore.clone(), in_flight.clone(), most.clone());
            spawn(async move {
                if bind_to_underscore {
                    // The trap: `_` is not a binding, so the permit is dropped (given
                    // back) at the end of this statement.
                    let _ = semaphore.acquire().await;
                    the_request(&in_flight, &most).await;
                } else {
                    // A binding: the permit lives to the end of the block.
                    let _permit = semaphore.acquire().await;
                    the_request(&in_flight, &most).await;
                }
            })
        });
        join_all(requests).await;
        most.get()
    })
}

#[test]
fn let_underscore_drops_the_permit_at_once_and_a_named_binding_holds_it() {
    let _hang = hang_guard::start();
    assert_eq!(most_in_flight(true), 10, "let _ = ...: no limit at all");
    assert_eq!(most_in_flight(false), 2, "let _permit = ...: two at once");
}
