//! What the blocking pool's test binaries share (each includes this file with
//! `#[path]`): a gate jobs wait at, a bounded wait for a condition, and two jobs that
//! each need a thread of their own.
#![allow(dead_code)]

use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use patterns::{BlockingHandle, BlockingPool};

/// A door jobs wait at until the test opens it.
#[derive(Default)]
pub struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    pub fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    pub fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// Opens its gate when dropped, so a test that fails while a job waits there ends.
pub struct OpenOnDrop(pub Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// Polls `condition` every few ms; panics naming `what` after a long grace period.
pub fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// The name of the thread the calling job runs on.
pub fn thread_name() -> String {
    thread::current().name().unwrap_or("<unnamed>").to_owned()
}

/// Runs two jobs on `pool` that meet at a barrier, so each needs a thread of its own,
/// and returns their threads' names, sorted. Hangs if the pool gives them one thread.
pub fn names_of_two_jobs_that_meet(pool: &BlockingPool) -> Vec<String> {
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let barrier = barrier.clone();
            pool.spawn(move || {
                barrier.wait();
                thread_name()
            })
        })
        .collect();
    let mut names = results_of(handles);
    names.sort();
    names
}

/// Awaits every handle in order, on a runtime of its own, and returns the jobs'
/// results; panics if a job panicked or was cancelled.
pub fn results_of<T>(handles: Vec<BlockingHandle<T>>) -> Vec<T> {
    executor::block_on(async {
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await.unwrap());
        }
        results
    })
}
