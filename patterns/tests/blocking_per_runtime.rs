//! Each runtime has its own blocking pool, shut down with it: dropping the runtime
//! cancels the jobs no thread has started, waits for the running ones (or returns
//! after `Builder::shutdown_timeout`), and leaves no pool thread behind. Outside any
//! runtime, `spawn_blocking` uses the global pool.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

#[test]
fn dropping_a_runtime_cancels_its_queued_jobs_and_waits_for_the_running_one() {
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
        !queued_ran.load(Ordering::SeqCst),
        "the queued job never ran"
    );
    let error = executor::block_on(queued).unwrap_err();
    assert!(error.is_cancelled(), "{error:?}");
    // A retired thread has signalled the pool but may still be on its way out of the
    // kernel's list for a moment.
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
#[should_panic(expected = "max_blocking_threads must be at least 1")]
fn a_runtime_with_no_blocking_threads_is_refused() {
    let _hang = hang_guard::start();
    let _ = Runtime::builder().max_blocking_threads(0);
}
