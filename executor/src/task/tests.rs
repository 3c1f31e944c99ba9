//! The reference count's overflow guard: it must abort at its limit, not wrap (a
//! count wrapped to zero frees a live cell).

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::task::Poll;

use super::header_of;

#[test]
fn a_clone_past_half_the_reference_counts_range_aborts_the_process() {
    let child = "task::tests::child_clones_a_waker_past_the_reference_limit";
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            child,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("the clone at the limit survived"),
        "aborted too soon, or the child never ran:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("task reference count overflow") && output.status.signal() == Some(6),
        "the clone past the limit did not abort ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

#[test]
#[ignore = "run by a_clone_past_half_…, in a child process: it aborts"]
fn child_clones_a_waker_past_the_reference_limit() {
    // No core file for the abort this test is about.
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `no_core` is a valid `rlimit`, read only for the call's duration.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
    let mut runtime = crate::Runtime::new().unwrap();
    let task = runtime.spawn(async {
        let waker = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        let header = header_of(&waker).expect("a task's own waker");
        // As if 2^63 clones had been leaked. The clone at the limit is fine…
        header.refs.store(u64::MAX / 2, Ordering::Relaxed);
        std::mem::forget(waker.clone());
        println!("the clone at the limit survived");
        // …and the next one aborts.
        std::mem::forget(waker.clone());
    });
    runtime.block_on(task).unwrap();
}

#[test]
fn a_reference_count_past_four_billion_is_counted_not_aborted() {
    // Leaked waker clones cost no memory: a loop of `mem::forget(waker.clone())`
    // passed a 32-bit count's limit in seconds. The count is 64 bits.
    let mut runtime = crate::Runtime::new().unwrap();
    let task = runtime.spawn(async {
        let waker = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        let header = header_of(&waker).expect("a task's own waker");
        let held = header.refs.load(Ordering::Relaxed);
        let leaked = 1 << 33;
        header.refs.store(held + leaked, Ordering::Relaxed);
        let clone = waker.clone();
        assert_eq!(header.refs.load(Ordering::Relaxed), held + leaked + 1);
        drop(clone);
        // Given back, so the cell is freed as usual.
        header.refs.fetch_sub(leaked, Ordering::Relaxed);
        assert_eq!(header.refs.load(Ordering::Relaxed), held);
    });
    runtime.block_on(task).unwrap();
}

#[test]
#[should_panic(expected = "task ids ran out")]
fn a_task_id_past_59_bits_is_refused() {
    super::check_task_id(super::TaskId(1 << 59));
}

#[test]
fn the_last_task_id_that_fits_is_accepted() {
    super::check_task_id(super::TaskId((1 << 59) - 1));
}
