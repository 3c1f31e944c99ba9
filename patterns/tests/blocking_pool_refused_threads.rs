//! The blocking pool when the OS refuses it a thread.
//!
//! `thread::Builder::spawn` fails when the system is out of threads or memory. The
//! pool then gives the job to a thread it already has, which runs it after its
//! current one; with no thread to give it to, it panics naming the cause rather than
//! queue a job nothing will ever run.
//!
//! To make the OS refuse, each test runs a child process (this binary, one ignored
//! test) whose threads get 256 MiB stacks (`RUST_MIN_STACK`) and whose address space
//! is then capped (`RLIMIT_AS`, which binds root too; `RLIMIT_NPROC` does not) so
//! that one more stack fits, or none. `MALLOC_ARENA_MAX=1` keeps glibc from mapping
//! an arena per thread, so a thread costs its stack and nothing else of note; and
//! `RUST_BACKTRACE=0` keeps a panic under the cap from reading debug info.
#![cfg(target_os = "linux")]

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;
#[path = "pool_support/mod.rs"]
mod pool_support;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use patterns::BlockingPool;
use pool_support::{Gate, eventually, names_of_two_jobs_that_meet, thread_name};

const STACK_BYTES: u64 = 256 << 20;

/// Runs the ignored test `child` in a child process set up as the module doc says,
/// and fails with its output unless it ran and passed.
fn run_child(child: &str) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            child,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RUST_MIN_STACK", STACK_BYTES.to_string())
        .env("MALLOC_ARENA_MAX", "1")
        // A panic under the cap must not symbolise a backtrace: reading the debug info
        // runs out of address space, and std's allocation-failure hook then waits for
        // the backtrace lock the panic hook holds, for ever.
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child {child} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// Caps this process's address space at what it maps now plus `room` bytes (the soft
/// limit only, so `lift_address_space_cap` can raise it again).
fn cap_address_space(room: u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let mapped_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmSize:"))
        .and_then(|rest| rest.trim().strip_suffix("kB")?.trim().parse().ok())
        .expect("VmSize in /proc/self/status");
    set_soft_address_space_limit(mapped_kib * 1024 + room);
}

fn lift_address_space_cap() {
    set_soft_address_space_limit(libc::RLIM_INFINITY);
}

fn set_soft_address_space_limit(bytes: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` for the call's duration.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) }, 0);
    limit.rlim_cur = bytes.min(limit.rlim_max);
    // SAFETY: `limit` is a valid `rlimit`, read only for the call's duration.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
}

#[test]
fn a_job_refused_a_thread_runs_on_a_busy_one_and_the_pool_recovers_when_threads_come_back() {
    let _hang = hang_guard::start();
    run_child("child_refused_its_second_thread");
}

#[test]
#[ignore = "run by a_job_refused_a_thread_…, in a child process with 256 MiB stacks"]
fn child_refused_its_second_thread() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder()
        .max_threads(2)
        .keep_alive(Duration::from_secs(60))
        .thread_name("pool")
        .build();
    // Room for one more stack and a margin, not for two.
    cap_address_space(STACK_BYTES + STACK_BYTES / 2);
    let gate = Arc::new(Gate::default());
    let first = pool.spawn({
        let gate = gate.clone();
        move || {
            gate.wait();
            thread_name()
        }
    });
    // The OS refuses the second thread: the job waits for the first one.
    let second = pool.spawn(thread_name);
    assert_eq!(pool.thread_count(), 1, "{pool:?}");
    gate.open();
    let names = executor::block_on(async { (first.await.unwrap(), second.await.unwrap()) });
    assert_eq!(names, ("pool-0".to_owned(), "pool-0".to_owned()));
    lift_address_space_cap();

    // The one thread, done with both jobs, counts itself idle once, not once a job.
    eventually("the pool counts one idle thread", || {
        format!("{pool:?}").contains("threads: 1, idle: 1,")
    });
    // Threads can start again: two jobs that meet at a barrier each get one.
    assert_eq!(names_of_two_jobs_that_meet(&pool), ["pool-0", "pool-1"]);
}

#[test]
fn a_pool_refused_its_first_thread_panics_naming_the_cause() {
    let _hang = hang_guard::start();
    run_child("child_refused_its_first_thread");
}

#[test]
#[ignore = "run by a_pool_refused_its_first_thread_…, in a child process with 256 MiB stacks"]
fn child_refused_its_first_thread() {
    let _hang = hang_guard::start();
    let pool = BlockingPool::builder().max_threads(2).build();
    cap_address_space(STACK_BYTES / 4);
    let refused = std::panic::catch_unwind(|| drop(pool.spawn(|| ())));
    lift_address_space_cap();
    let payload = refused.expect_err("a job with no thread to run it was queued");
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or("<not a string>");
    assert!(
        message.contains("cannot start a thread and has none running to take the job"),
        "{message}"
    );
    assert_eq!(pool.thread_count(), 0, "{pool:?}");
    // Once threads can start, the pool works.
    assert_eq!(executor::block_on(pool.spawn(|| 7)).unwrap(), 7);
}
