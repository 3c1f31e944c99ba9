//! spawn_blocking and the paused clock: virtual time does not jump while a job runs
//! in real time, and the result wakes the loop from the pool thread.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use executor::time::{self, Timer};
use executor::{Runtime, spawn};
use patterns::spawn_blocking;

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

async fn sleep(duration: Duration) {
    Timer::new(time::now() + duration).await
}

/// Runs `f` on a fresh thread and fails the test if it has not returned within a
/// generous bound, instead of hanging the whole test run.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    thread::spawn(move || done.send(f()).unwrap());
    result
        .recv_timeout(Duration::from_secs(60))
        .expect("the runtime hung")
}

#[test]
fn paused_clock_does_not_jump_while_a_job_is_in_flight() {
    let _hang = hang_guard::start();
    let (job_at, sleeper_at) = within_a_minute(|| {
        let mut rt = paused();
        rt.block_on(async {
            let start = time::now();
            let order = Rc::new(RefCell::new(Vec::new()));
            let sleeper = spawn({
                let order = order.clone();
                async move {
                    sleep(Duration::from_secs(3600)).await;
                    order.borrow_mut().push("hour");
                    time::now() - start
                }
            });
            let job = spawn_blocking(|| thread::sleep(Duration::from_millis(50)));
            job.await.unwrap();
            order.borrow_mut().push("job");
            let job_at = time::now() - start;
            let sleeper_at = sleeper.await.unwrap();
            assert_eq!(*order.borrow(), ["job", "hour"]);
            (job_at, sleeper_at)
        })
    });
    assert_eq!(
        job_at,
        Duration::ZERO,
        "virtual time stood still for the job"
    );
    assert_eq!(
        sleeper_at,
        Duration::from_secs(3600),
        "then jumped for the sleep"
    );
}

#[test]
fn a_job_spawned_but_not_yet_awaited_still_holds_the_clock() {
    let _hang = hang_guard::start();
    let seen = within_a_minute(|| {
        let mut rt = paused();
        rt.block_on(async {
            let start = time::now();
            let job = spawn_blocking(move || {
                thread::sleep(Duration::from_millis(30));
                Instant::now()
            });
            // The handle is not awaited yet: the clock must still wait for the job
            // before jumping to this timer.
            sleep(Duration::from_secs(60)).await;
            assert!(
                job.is_finished(),
                "the clock jumped while the job was running"
            );
            let _finished_at = job.await.unwrap();
            time::now() - start
        })
    });
    assert_eq!(seen, Duration::from_secs(60));
}

#[test]
fn a_detached_job_on_a_paused_clock_does_not_hang_the_loop() {
    let _hang = hang_guard::start();
    let slept = within_a_minute(|| {
        let mut rt = paused();
        rt.block_on(async {
            let start = time::now();
            // Nobody will be woken when this job ends: only its clock hold tells
            // the loop that virtual time may move again.
            drop(spawn_blocking(|| thread::sleep(Duration::from_millis(20))));
            sleep(Duration::from_secs(3600)).await;
            time::now() - start
        })
    });
    assert_eq!(slept, Duration::from_secs(3600));
}

#[test]
fn the_result_wakes_the_task_from_the_pool_thread() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    let (job_thread, loop_thread) = rt.block_on(async {
        let (go, wait) = mpsc::channel::<()>();
        let task = spawn(async move {
            spawn_blocking(move || {
                wait.recv().unwrap();
                thread::current().id()
            })
            .await
            .unwrap()
        });
        // The task runs before this future resumes: it submits its job and parks
        // on the handle, so only the pool thread's wake can bring it back.
        executor::yield_now().await;
        go.send(()).unwrap();
        (task.await.unwrap(), thread::current().id())
    });
    assert_ne!(job_thread, loop_thread, "the job ran on a pool thread");
    assert!(rt.metrics().remote_wakes >= 1, "its wake crossed threads");
}
