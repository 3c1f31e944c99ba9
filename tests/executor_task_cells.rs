//! The task cell's ownership rules (see executor/src/task/mod.rs, "Ground rules"):
//! who drops the future and the output, on which thread, and when the cell is freed;
//! and the one slot the future and the output take turns in ("One occupant"), read
//! by a `JoinHandle` that knows the output's type but not the future's.
//! `scripts/valgrind.sh` runs this file under memcheck.

mod hang_guard;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

use glassbox::{JoinHandle, Runtime, spawn, yield_now};

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

/// Counts its drops: an output (or a future) must be dropped exactly once.
#[derive(Debug)]
struct DropCounter(Rc<Cell<usize>>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn an_output_taken_by_its_handle_is_dropped_once_by_its_taker() {
    let _hang = hang_guard::start();
    let drops = Rc::new(Cell::new(0));
    let mut rt = Runtime::new().unwrap();
    rt.block_on({
        let drops = drops.clone();
        async move {
            let output = spawn(async move { DropCounter(drops) }).await.unwrap();
            assert_eq!(output.0.get(), 0, "taking the output does not drop it");
            drop(output);
        }
    });
    drop(rt);
    assert_eq!(drops.get(), 1);
}

#[test]
fn an_output_is_dropped_once_whether_its_handle_goes_before_or_after_the_task_finishes() {
    let _hang = hang_guard::start();
    let drops = Rc::new(Cell::new(0));
    let mut rt = Runtime::new().unwrap();
    rt.block_on({
        let drops = drops.clone();
        async move {
            let early = spawn({
                let drops = drops.clone();
                async move {
                    yield_now().await;
                    DropCounter(drops)
                }
            });
            let late = spawn(async move { DropCounter(drops) });
            drop(early); // still running: the loop drops its output when it finishes
            yield_now().await;
            yield_now().await;
            assert!(late.is_finished());
            drop(late); // finished: its handle drops the stored output
        }
    });
    assert_eq!(drops.get(), 2);
    drop(rt);
    assert_eq!(drops.get(), 2);
}

#[test]
fn an_output_outliving_its_runtime_in_the_cell_is_dropped_once_with_its_handle() {
    let _hang = hang_guard::start();
    let drops = Rc::new(Cell::new(0));
    let wakers = Arc::new(Mutex::new(None));
    let mut rt = Runtime::new().unwrap();
    let handle = rt.block_on({
        let (drops, wakers) = (drops.clone(), wakers.clone());
        async move {
            let handle = spawn({
                let wakers = wakers.clone();
                async move {
                    ParkOnce(wakers, false).await;
                    DropCounter(drops)
                }
            });
            yield_now().await; // parked, its waker handed out
            wakers.lock().unwrap().clone().unwrap().wake();
            yield_now().await; // finished, the output waits in the cell
            Some(handle) // kept un-awaited, past the runtime
        }
    });
    // The task's own waker, moved out: it keeps the cell alive past its runtime.
    let waker = wakers.lock().unwrap().take().unwrap();
    drop(rt);
    assert_eq!(drops.get(), 0, "a finished task's output is its handle's");
    drop(handle.unwrap());
    assert_eq!(drops.get(), 1);
    thread::spawn(move || drop(waker)).join().unwrap(); // frees the emptied cell
}

#[test]
fn a_task_cancelled_with_its_runtime_drops_its_future_once_and_stores_no_output() {
    let _hang = hang_guard::start();
    let drops = Rc::new(Cell::new(0));
    let mut rt = Runtime::new().unwrap();
    let handle = rt.block_on({
        let drops = drops.clone();
        async move {
            let handle = spawn_pending_holding(DropCounter(drops));
            yield_now().await;
            Some(handle) // kept un-awaited, past the runtime
        }
    });
    let handle = handle.unwrap();
    assert!(!handle.is_finished());
    drop(rt);
    assert!(handle.is_finished(), "cancelled by the runtime's drop");
    assert_eq!(drops.get(), 1);
    drop(handle);
    assert_eq!(drops.get(), 1);
}

#[test]
fn an_aborted_task_yields_a_cancelled_error_and_drops_its_future_once() {
    let _hang = hang_guard::start();
    let drops = Rc::new(Cell::new(0));
    let mut rt = Runtime::new().unwrap();
    let error = rt.block_on({
        let drops = drops.clone();
        async move {
            let handle = spawn_pending_holding(DropCounter(drops));
            yield_now().await;
            handle.abort();
            handle.await.unwrap_err()
        }
    });
    assert!(error.is_cancelled());
    assert_eq!(drops.get(), 1);
}

/// A task that never finishes, holding `counter` in its future: the counter's drop
/// is the future's.
fn spawn_pending_holding(counter: DropCounter) -> glassbox::JoinHandle<DropCounter> {
    spawn(async move {
        let _held = counter;
        std::future::pending::<DropCounter>().await
    })
}

/// Finishes at once, and holds a handle (its own, in the test below) until it is
/// dropped.
struct HoldsAHandle {
    _handle: Rc<RefCell<Option<JoinHandle<DropCounter>>>>,
    drops: Rc<Cell<usize>>,
}

impl Future for HoldsAHandle {
    type Output = DropCounter;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<DropCounter> {
        Poll::Ready(DropCounter(self.drops.clone()))
    }
}

#[test]
fn a_handle_dropped_by_its_own_futures_destructor_still_has_the_output_dropped() {
    let _hang = hang_guard::start();
    let drops = Rc::new(Cell::new(0));
    let mut rt = Runtime::new().unwrap();
    rt.block_on({
        let drops = drops.clone();
        async move {
            let own = Rc::new(RefCell::new(None));
            let handle = spawn(HoldsAHandle {
                _handle: own.clone(),
                drops,
            });
            *own.borrow_mut() = Some(handle); // the future is now the handle's only owner
            drop(own);
            yield_now().await; // done; dropping the future drops the handle
        }
    });
    assert_eq!(
        drops.get(),
        1,
        "the output was dropped, not left in the cell"
    );
}

#[test]
fn a_panicking_task_stores_a_failure_and_never_makes_its_output() {
    let _hang = hang_guard::start();
    let drops = Rc::new(Cell::new(0));
    let mut rt = Runtime::new().unwrap();
    let error = rt.block_on({
        let drops = drops.clone();
        async move {
            spawn(async move {
                let counter = DropCounter(drops);
                if counter.0.get() == 0 {
                    panic!("no output");
                }
                counter
            })
            .await
            .unwrap_err()
        }
    });
    assert!(error.is_panic());
    assert_eq!(
        drops.get(),
        1,
        "the future's local, dropped while unwinding"
    );
}

/// A future aligned to 64 bytes: the slot moves further from the header than for an
/// ordinary future, and the handle must find the output there all the same.
#[repr(align(64))]
struct Aligned([u8; 64]);

#[test]
fn large_futures_large_outputs_and_over_aligned_futures_hand_their_output_over_intact() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        // A future far larger than its output: the state lives across an await.
        let big_future = spawn(async {
            let state = [7u8; 4096];
            yield_now().await;
            state.iter().map(|&b| u64::from(b)).sum::<u64>()
        });
        // An output far larger than its future.
        let big_output = spawn(async {
            yield_now().await;
            let mut output = [0u64; 512];
            for (i, word) in output.iter_mut().enumerate() {
                *word = i as u64;
            }
            output
        });
        let aligned = spawn(async {
            let state = Aligned([3; 64]);
            yield_now().await;
            (state.0.len() as u64, u64::from(state.0[63]))
        });
        assert_eq!(big_future.await.unwrap(), 7 * 4096);
        let output = big_output.await.unwrap();
        assert!(output.iter().enumerate().all(|(i, &word)| word == i as u64));
        assert_eq!(aligned.await.unwrap(), (64, 3));
    });
}

/// A zero-sized output with a destructor: it takes no bytes in the slot, and is
/// dropped once all the same.
struct CountedZst;

thread_local! {
    static ZST_DROPS: Cell<usize> = const { Cell::new(0) };
}

impl Drop for CountedZst {
    fn drop(&mut self) {
        ZST_DROPS.with(|drops| drops.set(drops.get() + 1));
    }
}

#[test]
fn zero_sized_outputs_are_handed_over_and_dropped_once() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        spawn(async {}).await.unwrap();
        let taken = spawn(async { CountedZst }).await.unwrap();
        let left = spawn(async { CountedZst }); // finished, never awaited
        yield_now().await;
        assert!(left.is_finished());
        assert_eq!(ZST_DROPS.with(Cell::get), 0);
        drop(taken);
        drop(left);
    });
    assert_eq!(ZST_DROPS.with(Cell::get), 2);
}
