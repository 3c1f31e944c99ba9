//! The task cell's ownership rules (see executor/src/task/mod.rs, "Ground rules"):
//! who drops the future and the output, on which thread, and when the cell is freed.
//! `scripts/valgrind.sh` runs this file under memcheck.

mod hang_guard;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

use glassbox::{Runtime, spawn, yield_now};

/// Records the thread it was dropped on.
struct DropRecorder(Rc<Cell<Option<ThreadId>>>);

impl Drop for DropRecorder {
    fn drop(&mut self) {
        self.0.set(Some(thread::current().id()));
    }
}

/// Hands its waker out on first poll, then completes when polled again.
struct ParkOnce(Arc<Mutex<Option<Waker>>>, bool);

impl Future for ParkOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.1 {
            return Poll::Ready(());
        }
        self.1 = true;
        *self.0.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn a_detached_tasks_output_is_dropped_on_the_runtime_thread_when_it_finishes() {
    let _hang = hang_guard::start();
    let dropped_on = Rc::new(Cell::new(None));
    let mut rt = Runtime::new().unwrap();
    rt.block_on({
        let dropped_on = dropped_on.clone();
        async move {
            let handle = spawn(async move {
                yield_now().await;
                DropRecorder(dropped_on) // a !Send output
            });
            drop(handle); // detach before it finishes
            yield_now().await;
            yield_now().await;
        }
    });
    assert_eq!(dropped_on.get(), Some(thread::current().id()));
}

#[test]
fn an_output_never_taken_is_dropped_with_its_join_handle() {
    let _hang = hang_guard::start();
    let dropped_on = Rc::new(Cell::new(None));
    let mut rt = Runtime::new().unwrap();
    let handle = rt.block_on({
        let dropped_on = dropped_on.clone();
        async move {
            let handle = spawn(async move { DropRecorder(dropped_on) });
            yield_now().await;
            assert!(handle.is_finished());
            Some(handle) // kept un-awaited, to be dropped outside the runtime
        }
    });
    assert!(
        dropped_on.get().is_none(),
        "the output waits in the cell for its handle"
    );
    drop(handle.unwrap());
    assert_eq!(dropped_on.get(), Some(thread::current().id()));
}

#[test]
fn the_last_reference_may_be_a_waker_dropped_on_another_thread() {
    let _hang = hang_guard::start();
    let slot = Arc::new(Mutex::new(None));
    let mut rt = Runtime::new().unwrap();
    rt.block_on({
        let slot = slot.clone();
        async move {
            let task = spawn(ParkOnce(slot.clone(), false));
            yield_now().await; // parks, hands out a waker clone
            let waker = slot.lock().unwrap().clone().unwrap();
            waker.wake_by_ref();
            task.await.unwrap(); // finished: slab and handle references are gone
            drop(waker);
        }
    });
    // The slot's waker is now the only reference; free the cell from another thread.
    let last = slot.lock().unwrap().take().unwrap();
    thread::spawn(move || drop(last)).join().unwrap();
}

#[test]
fn a_future_whose_destructor_panics_after_completing_yields_a_panic_join_error() {
    let _hang = hang_guard::start();
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop after ready");
        }
    }
    let mut rt = Runtime::new().unwrap();
    let result = rt.block_on(async {
        spawn(async {
            let _guard = PanicOnDrop;
            42
        })
        .await
    });
    assert!(result.unwrap_err().is_panic());
}

#[test]
fn tasks_spawned_and_finished_in_a_loop_reuse_slots_without_confusion() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    let sum = rt.block_on(async {
        let mut sum = 0u64;
        for round in 0..1_000u64 {
            let handles: Vec<_> = (0..10)
                .map(|i| spawn(async move { round * 10 + i }))
                .collect();
            for handle in handles {
                sum += handle.await.unwrap();
            }
        }
        sum
    });
    assert_eq!(sum, (0..10_000u64).sum::<u64>());
}
