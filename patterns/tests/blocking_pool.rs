//! The blocking pool: threads on demand up to a limit, keep-alive, panics, shutdown.
//!
//! Jobs here wait on gates the test opens, so every check is about order and
//! counts, never about how long something took.

#[path = "../../tests/bombs/mod.rs"]
mod bombs;
#[path = "counting_waker/mod.rs"]
mod counting_waker;
#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;
#[path = "pool_support/mod.rs"]
mod pool_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use bombs::{Bomb, BombingWaker, Grenade};
use counting_waker::CountingWaker;
use patterns::{BlockingPool, spawn_blocking};
use pool_support::{Gate, OpenOnDrop, eventually, names_of_two_jobs_that_meet, results_of};

#[test]
fn with_max_n_threads_and_3n_jobs_exactly_n_run_at_once() {
    let _hang = hang_guard::start();
    const N: usize = 3;
    let pool = BlockingPool::builder().max_threads(N).build();
    let gate = Arc::new(Gate::default());
    let running = Arc::new(AtomicUsize::new(0));
    let most_at_once = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..3 * N)
        .map(|i| {
            let (gate, running, most) = (gate.clone(), running.clone(), most_at_once.clone());
            pool.spawn(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                gate.wait();
                running.fetch_sub(1, Ordering::SeqCst);
                i
            })
        })
        .collect();

    eventually("N jobs run", || running.load(Ordering::SeqCst) == N);
    // Give a would-be (N+1)th thread every chance to show up before opening the gate.
    thread::sleep(Duration::from_millis(100));
    assert_eq!(
        running.load(Ordering::SeqCst),
        N,
        "no job beyond the limit started"
    );
    assert_eq!(pool.thread_count(), N);
    gate.open();

    let results = results_of(handles);
    assert_eq!(
        results,
        (0..3 * N).collect::<Vec<_>>(),
        "every job ran once"
    );
    assert_eq!(
        most_at_once.load(Ordering::SeqCst),
        N,
        "observed N at once, never more"
    );
    assert_eq!(pool.thread_count(), N);
}

#[test]
fn idle_threads_exit_after_the_keep_alive() {
    let _hang = hang_guard::start();
    const N: usize = 4;
    let pool = BlockingPool::builder()
        .max_threads(N)
        .keep_alive(Duration::from_millis(50))
        .build();
    // A barrier of N makes the pool start all N threads: no job can finish alone.
    let barrier = Arc::new(std::sync::Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let barrier = barrier.clone();
            pool.spawn(move || {
                barrier.wait();
            })
        })
        .collect();
    results_of(handles);
    assert_eq!(pool.thread_count(), N);
    eventually("every idle thread has exited", || pool.thread_count() == 0);

    // A retired pool starts a thread again for the next job.
    let again = executor::block_on(pool.spawn(|| "again"));
    assert_eq!(again.unwrap(), "again");
}

#[test]
fn sequential_jobs_reuse_one_thread() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(8).build();
    executor::block_on(async {
        for i in 0..200 {
            assert_eq!(pool.spawn(move || i + 1).await.unwrap(), i + 1);
        }
    });
    // Each thread marks itself idle before waking the task, so the next job always
    // finds it idle and no second thread is needed.
    assert_eq!(pool.thread_count(), 1);
}

#[test]
fn ten_thousand_sequential_round_trips_lose_nothing() {
    let _hang = hang_guard::start();
    let sum = executor::block_on(async {
        let mut sum = 0u64;
        for i in 0..10_000u64 {
            sum += spawn_blocking(move || i).await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..10_000u64).sum());
}

#[test]
fn ten_thousand_concurrent_round_trips_lose_nothing() {
    let _hang = hang_guard::start();
    let results = executor::block_on(async {
        let tasks: Vec<_> = (0..10_000u64)
            .map(|i| executor::spawn(async move { spawn_blocking(move || i * 3).await }))
            .collect();
        patterns::join_all(tasks).await
    });
    assert_eq!(results.len(), 10_000);
    for (i, result) in results.into_iter().enumerate() {
        assert_eq!(result.unwrap().unwrap(), i as u64 * 3);
    }
}

#[test]
fn a_panicking_job_returns_its_payload_and_the_pool_keeps_working() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    executor::block_on(async {
        let error = pool
            .spawn(|| -> u32 { panic!("disk on fire") })
            .await
            .unwrap_err();
        assert!(error.is_panic() && !error.is_cancelled());
        assert_eq!(error.to_string(), "blocking job panicked: disk on fire");
        let payload = error.into_panic();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"disk on fire"));

        assert_eq!(pool.spawn(|| 7).await.unwrap(), 7);
    });
    assert_eq!(
        pool.thread_count(),
        1,
        "the thread survived its job's panic"
    );
}

#[test]
fn dropping_a_pool_runs_its_queued_jobs_and_waits_for_them() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    let (started, release) = (Arc::new(Gate::default()), Arc::new(Gate::default()));
    let running_finished = Arc::new(AtomicBool::new(false));
    let queued_ran = Arc::new(AtomicUsize::new(0));

    let running = pool.spawn({
        let (started, release, finished) =
            (started.clone(), release.clone(), running_finished.clone());
        move || {
            started.open();
            release.wait();
            finished.store(true, Ordering::SeqCst);
            "finished"
        }
    });
    let queued: Vec<_> = (0..2)
        .map(|i| {
            let ran = queued_ran.clone();
            pool.spawn(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    started.wait();

    let opener = thread::spawn({
        let release = release.clone();
        move || {
            thread::sleep(Duration::from_millis(50));
            release.open();
        }
    });
    drop(pool); // returns only once every job handed over has run
    assert!(
        running_finished.load(Ordering::SeqCst),
        "drop waited for the running job"
    );
    assert_eq!(
        queued_ran.load(Ordering::SeqCst),
        2,
        "and for the queued ones, which ran after it"
    );
    opener.join().unwrap();

    executor::block_on(async {
        assert_eq!(running.await.unwrap(), "finished");
        for (i, handle) in queued.into_iter().enumerate() {
            assert_eq!(handle.await.unwrap(), i);
        }
    });
}

#[test]
fn shutdown_timeout_with_time_enough_runs_the_queued_jobs_too() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    let (started, release) = (Arc::new(Gate::default()), Arc::new(Gate::default()));
    let running = pool.spawn({
        let (started, release) = (started.clone(), release.clone());
        move || {
            started.open();
            release.wait();
        }
    });
    let queued = pool.spawn(|| "ran");
    started.wait();
    let opener = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        release.open();
    });
    assert!(
        pool.shutdown_timeout(Duration::from_secs(20)),
        "both jobs ran within the timeout"
    );
    opener.join().unwrap();
    executor::block_on(async {
        running.await.unwrap();
        assert_eq!(queued.await.unwrap(), "ran");
    });
}

#[test]
fn shutdown_timeout_cancels_the_jobs_no_thread_started_when_it_expires() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    let (started, release) = (Arc::new(Gate::default()), Arc::new(Gate::default()));
    let _open_anyway = OpenOnDrop(release.clone());
    let queued_ran = Arc::new(AtomicUsize::new(0));
    let running = pool.spawn({
        let (started, release) = (started.clone(), release.clone());
        move || {
            started.open();
            release.wait();
            "finished"
        }
    });
    let queued: Vec<_> = (0..2)
        .map(|_| {
            let ran = queued_ran.clone();
            pool.spawn(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    started.wait();
    assert!(
        !pool.shutdown_timeout(Duration::from_millis(20)),
        "the one thread was held at the gate"
    );
    release.open();
    executor::block_on(async {
        for handle in queued {
            let error = handle.await.unwrap_err();
            assert!(error.is_cancelled() && !error.is_panic(), "{error:?}");
        }
        assert_eq!(
            running.await.unwrap(),
            "finished",
            "the running job delivers"
        );
    });
    assert_eq!(
        queued_ran.load(Ordering::SeqCst),
        0,
        "cancelled jobs never ran"
    );
}

#[test]
fn shutdown_timeout_stops_waiting_and_the_running_job_still_delivers() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    let (started, release) = (Arc::new(Gate::default()), Arc::new(Gate::default()));
    let job = pool.spawn({
        let (started, release) = (started.clone(), release.clone());
        move || {
            started.open();
            release.wait();
            5
        }
    });
    started.wait();
    let all_finished = pool.shutdown_timeout(Duration::from_millis(20));
    assert!(!all_finished, "the job was still blocked at the gate");
    release.open();
    assert_eq!(executor::block_on(job).unwrap(), 5);
}

#[test]
fn dropping_the_handle_detaches_the_job_which_still_runs() {
    let _hang = hang_guard::start();
    let ran = Arc::new(AtomicBool::new(false));
    let handle = spawn_blocking({
        let ran = ran.clone();
        move || {
            thread::sleep(Duration::from_millis(10));
            ran.store(true, Ordering::SeqCst);
        }
    });
    drop(handle);
    eventually("the detached job has run", || ran.load(Ordering::SeqCst));
}

#[test]
fn a_pool_dropped_by_its_own_job_does_not_wait_for_itself() {
    let _hang = hang_guard::start();
    let pool = Arc::new(BlockingPool::builder().build());
    let let_go = Arc::new(Gate::default());
    let handle = pool.spawn({
        let (pool, let_go) = (pool.clone(), let_go.clone());
        move || {
            let_go.wait();
            drop(pool); // the last reference: shuts the pool down from its own thread
        }
    });
    drop(pool);
    let_go.open();
    assert!(executor::block_on(handle).is_ok(), "no hang, no panic");
}

#[test]
fn a_job_finishing_after_the_runtime_was_dropped_does_not_crash() {
    let _hang = hang_guard::start();
    let pool = Arc::new(BlockingPool::builder().build());
    let (started, release) = (Arc::new(Gate::default()), Arc::new(Gate::default()));
    let mut rt = executor::Runtime::new().unwrap();
    rt.block_on({
        let (pool, started, release) = (pool.clone(), started.clone(), release.clone());
        async move {
            let waiter = executor::spawn(async move {
                pool.spawn(move || {
                    started.open();
                    release.wait();
                    String::from("nobody reads this")
                })
                .await
            });
            executor::yield_now().await; // the task submits its job and parks
            drop(waiter); // detached: the runtime still owns the task
        }
    });
    started.wait();
    drop(rt); // drops the task, its handle, its waker's runtime
    release.open();
    // Dropping the pool waits for the job: it wakes a gone runtime and drops its
    // result on the pool thread.
    drop(Arc::into_inner(pool).expect("the task held the other reference"));
}

#[test]
fn blocking_error_names_what_happened() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    let (started, release) = (Arc::new(Gate::default()), Arc::new(Gate::default()));
    let running = pool.spawn({
        let (started, release) = (started.clone(), release.clone());
        move || {
            started.open();
            release.wait();
        }
    });
    let queued = pool.spawn(|| ());
    started.wait();
    // The one thread is held at the gate: the shutdown times out, and cancels the
    // queued job.
    assert!(!pool.shutdown_timeout(Duration::ZERO));
    release.open();
    executor::block_on(async {
        running.await.unwrap();
        let error = queued.await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "blocking job was cancelled: its pool shut down before the job started"
        );
        assert_eq!(format!("{error:?}"), "BlockingError::Cancelled");
        assert!(error.try_into_panic().is_err());
    });
}

#[test]
#[should_panic(expected = "max_threads must be at least 1")]
fn a_pool_of_zero_threads_is_refused() {
    let _hang = hang_guard::start();
    let _ = BlockingPool::builder().max_threads(0);
}

#[test]
fn a_handle_moved_to_another_task_wakes_its_new_awaiter() {
    use std::cell::Cell;
    use std::rc::Rc;

    let _hang = hang_guard::start();
    let mut rt = executor::Runtime::builder()
        .paused_clock(true)
        .build()
        .unwrap();
    let outcome = rt.block_on(async {
        let gate = Arc::new(Gate::default());
        // A failed assertion below must not leave the job at its gate: dropping the
        // runtime waits for a running job.
        let _open_on_unwind = OpenOnDrop(gate.clone());
        let job = spawn_blocking({
            let gate = gate.clone();
            move || {
                gate.wait();
                42
            }
        });
        assert_eq!(format!("{job:?}"), "BlockingHandle { finished: false }");
        // The first awaiter polls the handle once (parking its waker there), then
        // hands it on through `handed` and ends.
        let handed = Rc::new(Cell::new(None));
        executor::spawn({
            let handed = handed.clone();
            async move {
                let mut job = job;
                let polled = std::future::poll_fn(|cx| {
                    std::task::Poll::Ready(std::pin::Pin::new(&mut job).poll(cx))
                })
                .await;
                assert!(polled.is_pending(), "the job waits at its gate");
                handed.set(Some(job));
            }
        })
        .await
        .unwrap();
        let job = handed.take().expect("handed on");
        let awaiter = executor::spawn(async move { job.await.unwrap() });
        executor::yield_now().await; // the new awaiter parks on the handle
        gate.open();
        // A lost wake leaves the new awaiter parked for ever; once the job is done the
        // paused clock may jump, to this deadline, instead of hanging the test.
        patterns::timeout(Duration::from_secs(3600), awaiter).await
    });
    assert!(
        matches!(outcome, Ok(Ok(42))),
        "the new awaiter got the job's result: {outcome:?}"
    );
}

#[test]
fn a_job_submitted_to_a_warm_pool_with_one_idle_thread_still_gets_a_thread_of_its_own() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder()
        .max_threads(2)
        .keep_alive(Duration::from_secs(30))
        .build();
    // Warm up: one thread, idle once its job is back.
    executor::block_on(pool.spawn(|| ())).unwrap();
    eventually("the warm thread is idle", || {
        format!("{pool:?}").contains("threads: 1, idle: 1")
    });
    // Two jobs that wait for each other: the idle thread takes one, and only a second
    // thread can run the other.
    let gate = Arc::new(Gate::default());
    let _open_on_unwind = OpenOnDrop(gate.clone());
    let running = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (gate, running) = (gate.clone(), running.clone());
            pool.spawn(move || {
                running.fetch_add(1, Ordering::SeqCst);
                gate.wait();
            })
        })
        .collect();
    eventually("both jobs run at once", || {
        running.load(Ordering::SeqCst) == 2
    });
    gate.open();
    results_of(handles);
}

#[test]
fn after_a_backlog_the_pool_counts_its_idle_threads_right_and_serves_the_next_job() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder()
        .max_threads(2)
        .keep_alive(Duration::from_millis(50))
        .build();
    // Three jobs for two threads: the third waits for whichever finishes first.
    let gate = Arc::new(Gate::default());
    let _open_on_unwind = OpenOnDrop(gate.clone());
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let gate = gate.clone();
            pool.spawn(move || gate.wait())
        })
        .collect();
    gate.open();
    results_of(handles);
    eventually("both threads retired", || pool.thread_count() == 0);
    let state = format!("{pool:?}");
    assert!(state.contains("threads: 0, idle: 0, queued: 0"), "{state}");
    // With no thread left, the next job must start one (a miscount of idle threads
    // would queue it for a thread that does not exist).
    let ran = Arc::new(AtomicBool::new(false));
    let _handle = pool.spawn({
        let ran = ran.clone();
        move || ran.store(true, Ordering::SeqCst)
    });
    eventually("the next job ran", || ran.load(Ordering::SeqCst));
}

#[test]
fn each_thread_of_a_pool_has_its_own_name() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder()
        .max_threads(2)
        .thread_name("worker")
        .build();
    assert_eq!(names_of_two_jobs_that_meet(&pool), ["worker-0", "worker-1"]);
}

#[test]
fn a_handle_dropped_after_a_poll_leaves_no_waker_for_the_job_to_wake() {
    use std::task::{Context, Waker};

    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    let gate = Arc::new(Gate::default());
    let _open_on_unwind = OpenOnDrop(gate.clone());
    let mut handle = pool.spawn({
        let gate = gate.clone();
        move || gate.wait()
    });
    let wakes = Arc::new(CountingWaker::default());
    let waker = Waker::from(wakes.clone());
    let polled = std::pin::Pin::new(&mut handle).poll(&mut Context::from_waker(&waker));
    assert!(polled.is_pending(), "the job waits at its gate");
    // Given up: whoever polled it must not be woken for a result it will never take.
    drop(handle);
    gate.open();
    assert!(
        pool.shutdown_timeout(Duration::from_secs(20)),
        "the job ended"
    );
    assert_eq!(wakes.count(), 0);
}

// === panic bombs: payloads and values whose destructors panic ===

/// The result of `job` on `pool`, or `None` if it took more than 20 s (a pool whose
/// only thread died never runs it).
fn within_20s<T: Send + 'static>(pool: &BlockingPool, job: fn() -> T) -> Option<T> {
    executor::block_on(async {
        let handle = pool.spawn(job);
        patterns::timeout(Duration::from_secs(20), handle)
            .await
            .ok()
            .map(|result| result.expect("the job neither panicked nor was cancelled"))
    })
}

#[test]
fn a_detached_job_whose_panic_or_result_is_a_bomb_leaves_its_thread_working() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    let release = Arc::new(Gate::default());
    let _open_anyway = OpenOnDrop(release.clone());
    // Handles dropped before the jobs finish: the pool thread drops what they leave.
    drop(pool.spawn({
        let release = release.clone();
        move || {
            release.wait();
            std::panic::panic_any(Bomb)
        }
    }));
    drop(pool.spawn(|| Grenade));
    release.open();
    assert_eq!(
        within_20s(&pool, || 7),
        Some(7),
        "the pool's one thread still runs jobs: {pool:?}"
    );
    assert!(
        pool.shutdown_timeout(Duration::from_secs(20)),
        "and retires"
    );
}

#[test]
fn a_waker_that_panics_with_a_bomb_does_not_kill_the_pool_thread() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    let release = Arc::new(Gate::default());
    let _open_anyway = OpenOnDrop(release.clone());
    let mut handle = pool.spawn({
        let release = release.clone();
        move || release.wait()
    });
    let waker = std::task::Waker::from(Arc::new(BombingWaker));
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(std::pin::Pin::new(&mut handle).poll(&mut cx).is_pending());
    release.open(); // the job returns and wakes the bombing waker
    assert_eq!(within_20s(&pool, || 7), Some(7), "{pool:?}");
    assert!(
        handle.is_finished(),
        "the result was stored before the wake"
    );
}

#[test]
fn a_cancelled_job_whose_closure_holds_a_bomb_still_tells_its_handle() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(1).build();
    let (started, release) = (Arc::new(Gate::default()), Arc::new(Gate::default()));
    let _open_anyway = OpenOnDrop(release.clone());
    let running = pool.spawn({
        let (started, release) = (started.clone(), release.clone());
        move || {
            started.open();
            release.wait();
        }
    });
    let grenade = Grenade;
    let queued = pool.spawn(move || drop(grenade));
    started.wait();
    // Cancels the queued job, dropping its closure and the grenade in it: no panic
    // escapes the shutdown.
    assert!(!pool.shutdown_timeout(Duration::ZERO));
    release.open();
    executor::block_on(async {
        assert!(queued.await.unwrap_err().is_cancelled());
        running.await.unwrap();
    });
}

#[test]
#[should_panic(expected = "BlockingPoolBuilder::thread_name must not contain a NUL byte")]
fn a_thread_name_with_a_nul_byte_is_refused_at_build_naming_the_call() {
    let _hang = hang_guard::start();
    let _ = BlockingPool::builder().thread_name("bad\0name").build();
}
