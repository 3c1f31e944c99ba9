//! Resources stay flat: memory after a million tasks or timers, threads and fds
//! after a thousand runtimes. Allocated bytes are counted by a global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use glassbox::time::{self, Timer};
use glassbox::{Runtime, spawn, yield_now};

/// Forwards to the system allocator and keeps a running total of live bytes.
struct CountingAllocator;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's own arguments, so the
// `GlobalAlloc` contract that `System` upholds passes through unchanged; the counter
// touches no memory the allocator hands out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The tests here measure process-wide counters, so they take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn a_million_spawn_and_complete_cycles_leave_allocated_bytes_flat() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut rt = Runtime::new().unwrap();
    // Warm up: the slab and the ready queue reach their working size.
    rt.block_on(async {
        for _ in 0..1_000 {
            spawn(async { yield_now().await }).await.unwrap();
        }
    });
    let before = live_bytes();
    rt.block_on(async {
        for batch in 0..10_000u64 {
            let handles: Vec<_> = (0..100).map(|i| spawn(async move { batch + i })).collect();
            for handle in handles {
                handle.await.unwrap();
            }
        }
    });
    let grown = live_bytes() - before;
    assert!(
        grown < 64 * 1024,
        "1,000,000 tasks later, {grown} more bytes are live"
    );
    assert_eq!(rt.metrics().tasks_finished, 1_001_000);
}

#[test]
fn a_million_timer_insert_and_cancel_cycles_leave_allocated_bytes_flat() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
    let poll_once = |timer: &mut Timer| {
        let waker = std::task::Waker::noop();
        let _ = std::pin::Pin::new(timer).poll(&mut std::task::Context::from_waker(waker));
    };
    use std::future::Future;
    rt.block_on(async {
        for _ in 0..1_000 {
            let mut timer = Timer::new(time::now() + Duration::from_secs(10));
            poll_once(&mut timer); // registers
        }
    });
    let before = live_bytes();
    rt.block_on(async {
        for i in 0..1_000_000u64 {
            let mut timer = Timer::new(time::now() + Duration::from_millis(1 + i % 100_000));
            poll_once(&mut timer); // registers in the wheel
            drop(timer); // cancels
        }
    });
    let grown = live_bytes() - before;
    assert!(
        grown < 64 * 1024,
        "1,000,000 timers later, {grown} more bytes are live"
    );
}

#[test]
fn a_thousand_runtimes_created_and_dropped_leak_no_thread_fd_or_memory() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cycle = || {
        let mut rt = Runtime::new().unwrap();
        rt.block_on(async {
            let task = spawn(async { Timer::new(time::now() + Duration::from_millis(1)).await });
            drop(spawn(std::future::pending::<()>())); // left parked: dropped with the runtime
            task.await.unwrap();
        });
    };
    cycle(); // warm up lazily created statics
    let (fds, threads_before, bytes) = (open_fds(), threads(), live_bytes());
    for _ in 0..1_000 {
        cycle();
    }
    assert_eq!(open_fds(), fds, "every epoll fd and eventfd is closed");
    // At most: a finished test's harness thread may exit meanwhile.
    assert!(threads() <= threads_before, "a runtime starts no threads");
    let grown = live_bytes() - bytes;
    assert!(
        grown < 16 * 1024,
        "1,000 runtimes later, {grown} more bytes are live"
    );
}
