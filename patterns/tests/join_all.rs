//! `join_all`: every result, in input order, failures included.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

use std::time::Duration;

use executor::{Runtime, spawn, time};
use patterns::{join_all, sleep};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

#[test]
fn results_come_back_in_input_order_not_completion_order() {
    let _hang = hang_guard::start();
    let results = paused().block_on(async {
        let tasks = [30u64, 10, 20].map(|ms| {
            spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                ms
            })
        });
        join_all(tasks).await
    });
    let values: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(values, [30, 10, 20]);
}

#[test]
fn the_tasks_run_concurrently_so_the_wait_is_the_longest_not_the_sum() {
    let _hang = hang_guard::start();
    let waited = paused().block_on(async {
        let start = time::now();
        let tasks = (1..=5).map(|s| spawn(sleep(Duration::from_secs(s))));
        join_all(tasks).await;
        time::now() - start
    });
    assert_eq!(waited, Duration::from_secs(5));
}

#[test]
fn a_panicking_task_yields_a_panic_error_without_hiding_the_others() {
    let _hang = hang_guard::start();
    let results = paused().block_on(async {
        let ok = spawn(async { 1 });
        let boom = spawn(async {
            if true {
                panic!("boom");
            }
            2
        });
        let also_ok = spawn(async { 3 });
        join_all([ok, boom, also_ok]).await
    });
    assert_eq!(*results[0].as_ref().unwrap(), 1);
    assert!(results[1].as_ref().unwrap_err().is_panic());
    assert_eq!(*results[2].as_ref().unwrap(), 3);
}

#[test]
fn an_aborted_task_yields_a_cancelled_error() {
    let _hang = hang_guard::start();
    let results = paused().block_on(async {
        let slow = spawn(sleep(Duration::from_secs(60)));
        let quick = spawn(async {});
        slow.abort();
        join_all([slow, quick]).await
    });
    assert!(results[0].as_ref().unwrap_err().is_cancelled());
    assert!(results[1].is_ok());
}

#[test]
fn join_all_of_nothing_is_empty() {
    let _hang = hang_guard::start();
    let results = paused().block_on(join_all(Vec::<executor::JoinHandle<()>>::new()));
    assert!(results.is_empty());
}
