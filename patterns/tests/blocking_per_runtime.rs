//! Each runtime has its own blocking pool, shut down with it: dropping the runtime
//! runs every job handed to the pool, queued ones included, and waits for them (or
//! returns after `Builder::shutdown_timeout`, cancelling the jobs no thread started),
//! and leaves no pool thread behind. A job's own `spawn_blocking` goes to its
//! runtime's pool. Outside any runtime, `spawn_blocking` uses the global pool.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use executor::Runtime;
use patterns::spawn_blocking;

/// The names of this process's threads, from /proc.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}

/// The current runtime's id, as its pool's thread names carry it.
fn runtime_id() -> u64 {
    *executor::runtime_resource(|runtime| runtime.id).unwrap()
}

/// Blocks until `flag` is set (by a pool thread), failing after a generous bound.
fn wait_for(flag: &AtomicBool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !flag.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "{what}: never happened");
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_jobs_thread_is_named_after_its_runtime_and_outside_one_after_the_global_pool() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    let (id, inside) = rt.block_on(async {
        let name = spawn_blocking(|| thread::current().name().map(str::to_owned));
        (runtime_id(), name.await.unwrap().unwrap())
    });
    assert_eq!(inside, format!("rt{id}-blocking-0"));
    let outside = executor::block_on(async {
        // `block_on` makes a runtime too; a job handed to the global pool from a
        // plain thread shows the global pool's name.
        thread::spawn(|| spawn_blocking(|| thread::current().name().map(str::to_owned)))
            .join()
            .unwrap()
            .await
    });
    assert!(outside.unwrap().unwrap().starts_with("glassbox-blocking-"));
}

/// Waits (boundedly) until no thread named `rt{id}-blocking-*` is left. A retired
/// thread has signalled the pool but may still be on its way out of the kernel's
/// list for a moment.
fn assert_no_pool_thread_left(id: u64) {
    let prefix = format!("rt{id}-blocking");
    let deadline = Instant::now() + Duration::from_secs(20);
    while thread_names().iter().any(|name| name.starts_with(&prefix)) {
        assert!(
            Instant::now() < deadline,
            "a {prefix}-* thread is left: {:?}",
            thread_names()
        );
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn dropping_a_runtime_runs_its_queued_jobs_and_waits_for_them() {
    let _hang = hang_guard::start();
    let started = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let queued_ran = Arc::new(AtomicBool::new(false));
    let mut rt = Runtime::builder().max_blocking_threads(1).build().unwrap();
    let (id, queued) = rt.block_on({
        let (started, finished, queued_ran) =
            (started.clone(), finished.clone(), queued_ran.clone());
        async move {
            // Detached: the running job's handle is dropped with this future.
            drop(spawn_blocking(move || {
                started.store(true, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(100));
                finished.store(true, Ordering::SeqCst);
            }));
            // The pool's one thread is busy: this job waits in the queue.
            let queued = spawn_blocking(move || queued_ran.store(true, Ordering::SeqCst));
            (runtime_id(), queued)
        }
    });
    wait_for(&started, "the first job starting");
    drop(rt);
    assert!(
        finished.load(Ordering::SeqCst),
        "the running job was waited for"
    );
    assert!(
        queued_ran.load(Ordering::SeqCst),
        "the queued job ran too, before the drop returned"
    );
    assert!(executor::block_on(queued).is_ok());
    assert_no_pool_thread_left(id);
}

#[test]
fn a_job_handed_over_as_the_last_line_of_block_on_runs_before_the_runtime_drop_returns() {
    let _hang = hang_guard::start();
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..50 {
        let mut rt = Runtime::new().unwrap();
        rt.block_on({
            let ran = ran.clone();
            async move {
                // "Save the state, then return from main": nobody awaits it.
                drop(spawn_blocking(move || {
                    thread::sleep(Duration::from_millis(1));
                    ran.fetch_add(1, Ordering::SeqCst);
                }));
            }
        });
        drop(rt);
    }
    assert_eq!(
        ran.load(Ordering::SeqCst),
        50,
        "every job ran, none was lost"
    );
}

#[test]
fn a_spawn_blocking_inside_a_pool_job_goes_to_the_runtimes_pool_and_is_waited_for() {
    let _hang = hang_guard::start();
    let (spawned, nested_done) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let nested_thread = Arc::new(Mutex::new(String::new()));
    let mut rt = Runtime::new().unwrap();
    let id = rt.block_on({
        let (spawned, nested_done, nested_thread) =
            (spawned.clone(), nested_done.clone(), nested_thread.clone());
        async move {
            drop(spawn_blocking(move || {
                // On a pool thread, outside the runtime: a job spawning a job.
                drop(spawn_blocking(move || {
                    *nested_thread.lock().unwrap() =
                        thread::current().name().unwrap_or_default().to_owned();
                    thread::sleep(Duration::from_millis(100));
                    nested_done.store(true, Ordering::SeqCst);
                }));
                spawned.store(true, Ordering::SeqCst);
            }));
            runtime_id()
        }
    });
    wait_for(&spawned, "the outer job handing over the nested one");
    drop(rt);
    assert!(
        nested_done.load(Ordering::SeqCst),
        "the runtime's drop waited for the nested job"
    );
    let name = nested_thread.lock().unwrap().clone();
    assert!(
        name.starts_with(&format!("rt{id}-blocking-")),
        "the nested job ran on the runtime's pool, not on {name:?}"
    );
    assert_no_pool_thread_left(id);
}

#[test]
fn a_job_spawned_by_a_pool_job_while_the_runtime_drops_runs_or_comes_back_cancelled() {
    let _hang = hang_guard::start();
    let dropping = Arc::new(AtomicBool::new(false));
    let outcome = Arc::new(Mutex::new(None));
    let mut rt = Runtime::new().unwrap();
    rt.block_on({
        let (dropping, outcome) = (dropping.clone(), outcome.clone());
        async move {
            drop(spawn_blocking(move || {
                wait_for(&dropping, "the runtime's drop starting");
                // Most likely the pool is shutting down by now: the nested job is
                // refused, and its handle says so at once. If not, it runs. Either
                // way the handle answers, and the drop below returns.
                let nested = spawn_blocking(|| "ran");
                let answer = executor::block_on(nested);
                *outcome.lock().unwrap() = Some(answer.map_err(|error| error.is_cancelled()));
            }));
        }
    });
    let signal = thread::spawn({
        let dropping = dropping.clone();
        move || {
            thread::sleep(Duration::from_millis(20));
            dropping.store(true, Ordering::SeqCst);
        }
    });
    drop(rt); // waits for the outer job, and so for its answer
    signal.join().unwrap();
    let outcome = outcome.lock().unwrap().take();
    assert!(
        matches!(outcome, Some(Ok("ran") | Err(true))),
        "the nested job ran or was cancelled, and the outer job heard: {outcome:?}"
    );
}

#[test]
fn shutdown_timeout_bounds_how_long_the_drop_waits_for_a_running_job() {
    let _hang = hang_guard::start();
    let started = Arc::new(AtomicBool::new(false));
    let mut rt = Runtime::builder()
        .shutdown_timeout(Duration::from_millis(20))
        .build()
        .unwrap();
    rt.block_on({
        let started = started.clone();
        async move {
            drop(spawn_blocking(move || {
                started.store(true, Ordering::SeqCst);
                thread::sleep(Duration::from_secs(5));
            }));
        }
    });
    wait_for(&started, "the job starting");
    let dropping = Instant::now();
    drop(rt);
    let waited = dropping.elapsed();
    assert!(
        waited < Duration::from_secs(4),
        "the drop waited {waited:?} for a 5 s job, past its 20 ms timeout"
    );
}

#[test]
fn a_runtime_drop_that_times_out_cancels_the_jobs_no_thread_started() {
    let _hang = hang_guard::start();
    let (started, release) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let mut rt = Runtime::builder()
        .max_blocking_threads(1)
        .shutdown_timeout(Duration::from_millis(20))
        .build()
        .unwrap();
    let (running, queued) = rt.block_on({
        let (started, release) = (started.clone(), release.clone());
        async move {
            let running = spawn_blocking(move || {
                started.store(true, Ordering::SeqCst);
                wait_for(&release, "the test letting the running job go");
            });
            (running, spawn_blocking(|| ()))
        }
    });
    wait_for(&started, "the first job starting");
    drop(rt); // gives up after 20 ms: the one thread is still busy
    release.store(true, Ordering::SeqCst);
    executor::block_on(async {
        assert!(queued.await.unwrap_err().is_cancelled(), "never started");
        assert!(running.await.is_ok(), "the running job finished, detached");
    });
}

#[test]
#[should_panic(expected = "max_blocking_threads must be at least 1")]
fn a_runtime_with_no_blocking_threads_is_refused() {
    let _hang = hang_guard::start();
    let _ = Runtime::builder().max_blocking_threads(0);
}
