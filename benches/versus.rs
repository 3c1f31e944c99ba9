//! glassbox versus tokio's current_thread runtime and smol, side by side.
//!
//! `cargo bench --bench versus` runs every workload on the three runtimes in
//! alternating rounds (glassbox, tokio, smol, glassbox, tokio, smol, …) in this one
//! process, and prints per row the median of each side and the medians of the
//! per-round ratios glassbox/tokio and glassbox/smol (lower is better for glassbox).
//! `-- --quick` runs a short pass; `-- --json PATH` also writes the rows as
//! `[{"name", "unit", "glassbox", "tokio", "ratio", "smol", "ratio_smol"}]` (`smol` and
//! `ratio_smol` are `null` for a row with no fair smol equivalent);
//! any other argument keeps only the rows whose name contains it (`scaling` names
//! the scaling section printed after the table). `-- --watchdog` runs glassbox with
//! the stall watchdog on (a 10 s threshold: the loop publishes every poll, nothing is
//! reported), to measure what the watchdog costs.
//!
//! Every workload is written three times, once per runtime, as near to word for word
//! as the APIs allow, and each the way that runtime's users write it (smol: a
//! `LocalExecutor` run under `smol::block_on`, `smol::Timer`, `smol::lock`,
//! `smol::channel`, `smol::Async`, `smol::unblock`); the three sit next to each other
//! so a reader can compare them. A smol side starts as a smol program's `main` does:
//! `smol::block_on(executor.run(body))`, where `executor` is a `LocalExecutor`
//! (single-threaded, `!Send` tasks allowed) and `block_on` parks in async-io's reactor
//! whenever nothing is ready.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

// === the counting allocator (for the memory rows) ===

#[path = "../tests/counting_allocator/mod.rs"]
mod counting_allocator;
use counting_allocator::live_bytes;

// === the harness ===

/// One value per runtime, in the order every round runs them.
struct Sides<T> {
    glassbox: T,
    tokio: T,
    smol: T,
}

impl<T> Sides<T> {
    fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> Sides<U> {
        Sides {
            glassbox: f(&self.glassbox),
            tokio: f(&self.tokio),
            smol: f(&self.smol),
        }
    }
}

/// One measured row: the per-round figures of every side.
struct Row {
    name: &'static str,
    unit: &'static str,
    rounds: Sides<Vec<f64>>,
    /// Extra figures printed beside the row (e.g. lateness percentiles).
    notes: Vec<String>,
}

impl Row {
    /// The median of each side's rounds (NaN for a side that did not run).
    fn medians(&self) -> Sides<f64> {
        self.rounds.map(|rounds| median(rounds))
    }

    /// The median of the per-round ratios glassbox/`other` (NaN if `other` did not run).
    fn ratio_to(&self, other: &[f64]) -> f64 {
        let ratios: Vec<f64> = self
            .rounds
            .glassbox
            .iter()
            .zip(other)
            .map(|(g, o)| g / o)
            .collect();
        median(&ratios)
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Runs the three sides alternately, `rounds` times each, after one warm-up each, and
/// keeps what every round returned; `figure` picks the number the row shows.
fn versus_by<R>(
    name: &'static str,
    unit: &'static str,
    rounds: usize,
    figure: impl Fn(&R) -> f64,
    mut glassbox: impl FnMut() -> R,
    mut tokio: impl FnMut() -> R,
    mut smol: impl FnMut() -> R,
) -> (Row, Sides<Vec<R>>) {
    glassbox();
    tokio();
    smol();
    let mut all = Sides {
        glassbox: Vec::new(),
        tokio: Vec::new(),
        smol: Vec::new(),
    };
    for _ in 0..rounds {
        all.glassbox.push(glassbox());
        all.tokio.push(tokio());
        all.smol.push(smol());
    }
    let row = Row {
        name,
        unit,
        rounds: all.map(|side| side.iter().map(&figure).collect()),
        notes: Vec::new(),
    };
    (row, all)
}

/// [`versus_by`] for the rows whose every round is one number.
fn versus(
    name: &'static str,
    unit: &'static str,
    rounds: usize,
    glassbox: impl FnMut() -> f64,
    tokio: impl FnMut() -> f64,
    smol: impl FnMut() -> f64,
) -> Row {
    versus_by(name, unit, rounds, |&figure| figure, glassbox, tokio, smol).0
}

/// A note beside a row: `what: glassbox A, tokio B, smol C`.
fn note(what: &str, sides: Sides<String>) -> String {
    format!(
        "{what}: glassbox {}, tokio {}, smol {}",
        sides.glassbox, sides.tokio, sides.smol
    )
}

/// Set by `--watchdog`.
static WATCHDOG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn glassbox_runtime() -> glassbox::Runtime {
    // No stall reports while measuring: a noisy machine can make a poll look long.
    // With `--watchdog`, the watchdog runs but a 10 s threshold keeps it quiet.
    let threshold = WATCHDOG
        .load(Ordering::Relaxed)
        .then_some(Duration::from_secs(10));
    glassbox::Runtime::builder()
        .stall_threshold(threshold)
        .build()
        .unwrap()
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn nanos_per(elapsed: Duration, ops: usize) -> f64 {
    elapsed.as_nanos() as f64 / ops as f64
}

// === spawn_join: spawn 100,000 trivial tasks, then await them all (ns/task) ===

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn spawn_join_glassbox(tasks: usize) -> f64 {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|i| glassbox::spawn(async move { i }))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        nanos_per(start.elapsed(), tasks)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn spawn_join_tokio(tasks: usize) -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks).map(|i| tokio::spawn(async move { i })).collect();
        for handle in handles {
            handle.await.unwrap();
        }
        nanos_per(start.elapsed(), tasks)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn spawn_join_smol(tasks: usize) -> f64 {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|i| executor.spawn(async move { i }))
            .collect();
        for handle in handles {
            handle.await;
        }
        nanos_per(start.elapsed(), tasks)
    }))
}

// === yield_pingpong: two tasks hand a token back and forth (ns/hop) ===
// The token is a shared counter; each task takes its turn, then yields to the other.

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn yield_pingpong_glassbox(hops: usize) -> f64 {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let token = Rc::new(Cell::new(0usize));
        let start = Instant::now();
        let players: Vec<_> = (0..2)
            .map(|me| {
                let token = token.clone();
                glassbox::spawn(async move {
                    while token.get() < hops {
                        if token.get() % 2 == me {
                            token.set(token.get() + 1);
                        }
                        glassbox::yield_now().await;
                    }
                })
            })
            .collect();
        for player in players {
            player.await.unwrap();
        }
        nanos_per(start.elapsed(), hops)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn yield_pingpong_tokio(hops: usize) -> f64 {
    // tokio::spawn needs Send futures, so the token is an atomic here (uncontended:
    // both tasks run on the one thread). A LocalSet with an Rc would be slower.
    let rt = tokio_runtime();
    rt.block_on(async move {
        let token = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let players: Vec<_> = (0..2)
            .map(|me| {
                let token = token.clone();
                tokio::spawn(async move {
                    while token.load(Ordering::Relaxed) < hops {
                        if token.load(Ordering::Relaxed) % 2 == me {
                            token.fetch_add(1, Ordering::Relaxed);
                        }
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for player in players {
            player.await.unwrap();
        }
        nanos_per(start.elapsed(), hops)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn yield_pingpong_smol(hops: usize) -> f64 {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let token = Rc::new(Cell::new(0usize));
        let start = Instant::now();
        let players: Vec<_> = (0..2)
            .map(|me| {
                let token = token.clone();
                executor.spawn(async move {
                    while token.get() < hops {
                        if token.get() % 2 == me {
                            token.set(token.get() + 1);
                        }
                        smol::future::yield_now().await;
                    }
                })
            })
            .collect();
        for player in players {
            player.await;
        }
        nanos_per(start.elapsed(), hops)
    }))
}

// === idle_task_bytes: memory per parked task (bytes/task) ===

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn idle_task_bytes_glassbox(tasks: usize) -> f64 {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let before = live_bytes();
        let handles: Vec<_> = (0..tasks)
            .map(|_| glassbox::spawn(std::future::pending::<()>()))
            .collect();
        glassbox::yield_now().await; // every task polled once and parked
        let per_task = (live_bytes() - before) as f64 / tasks as f64;
        drop(handles);
        per_task
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn idle_task_bytes_tokio(tasks: usize) -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let before = live_bytes();
        let handles: Vec<_> = (0..tasks)
            .map(|_| tokio::spawn(std::future::pending::<()>()))
            .collect();
        tokio::task::yield_now().await;
        let per_task = (live_bytes() - before) as f64 / tasks as f64;
        drop(handles);
        per_task
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn idle_task_bytes_smol(tasks: usize) -> f64 {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let before = live_bytes();
        let handles: Vec<_> = (0..tasks)
            .map(|_| executor.spawn(std::future::pending::<()>()))
            .collect();
        // async-executor polls at most 200 tasks between two polls of this future.
        for _ in 0..tasks.div_ceil(200) {
            smol::future::yield_now().await;
        }
        let per_task = (live_bytes() - before) as f64 / tasks as f64;
        drop(handles);
        per_task
    }))
}

// === timeout_ready: timeout(10 s, a ready future), a million times (ns/op) ===
// The inner future is ready at once, so neither runtime should touch its timer
// wheel: both register the deadline lazily, only when the inner future is pending.

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn timeout_ready_glassbox(ops: usize) -> f64 {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let start = Instant::now();
        for i in 0..ops {
            let value = glassbox::timeout(Duration::from_secs(10), std::future::ready(i)).await;
            assert_eq!(value, Ok(i));
        }
        nanos_per(start.elapsed(), ops)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn timeout_ready_tokio(ops: usize) -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let start = Instant::now();
        for i in 0..ops {
            let value = tokio::time::timeout(Duration::from_secs(10), std::future::ready(i)).await;
            assert_eq!(value, Ok(i));
        }
        nanos_per(start.elapsed(), ops)
    })
}

/// smol has no `timeout`: its users race the future against a `Timer` inside an
/// `async` block, as async-io's own docs do. `or` polls the left future first, and
/// the block is lazy, so for a ready future the `Timer` is never even created: no
/// clock is read. (The deadline then counts from the first poll that finds the inner
/// future pending, not from the call; for a future polled at once, the same thing.)
#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn timeout_ready_smol(ops: usize) -> f64 {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let start = Instant::now();
        for i in 0..ops {
            let value = smol::future::or(async { Some(std::future::ready(i).await) }, async {
                smol::Timer::after(Duration::from_secs(10)).await;
                None
            })
            .await;
            assert_eq!(value, Some(i));
        }
        nanos_per(start.elapsed(), ops)
    }))
}

// === semaphore_uncontended: acquire and release one permit, one task (ns/op) ===

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn semaphore_uncontended_glassbox(ops: usize) -> f64 {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let semaphore = glassbox::Semaphore::new(1);
        let start = Instant::now();
        for _ in 0..ops {
            drop(semaphore.acquire().await.unwrap());
        }
        nanos_per(start.elapsed(), ops)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn semaphore_uncontended_tokio(ops: usize) -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let semaphore = tokio::sync::Semaphore::new(1);
        let start = Instant::now();
        for _ in 0..ops {
            drop(semaphore.acquire().await.unwrap());
        }
        nanos_per(start.elapsed(), ops)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn semaphore_uncontended_smol(ops: usize) -> f64 {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let semaphore = smol::lock::Semaphore::new(1);
        let start = Instant::now();
        for _ in 0..ops {
            drop(semaphore.acquire().await);
        }
        nanos_per(start.elapsed(), ops)
    }))
}

// === semaphore_contended: 100 tasks share 10 permits, each holding it over a yield (ns/acquire) ===

const CONTENDED_TASKS: usize = 100;

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn semaphore_contended_glassbox(acquires_per_task: usize) -> f64 {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let semaphore = Rc::new(glassbox::Semaphore::new(10));
        let start = Instant::now();
        let tasks: Vec<_> = (0..CONTENDED_TASKS)
            .map(|_| {
                let semaphore = semaphore.clone();
                glassbox::spawn(async move {
                    for _ in 0..acquires_per_task {
                        let _permit = semaphore.acquire().await.unwrap();
                        glassbox::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        nanos_per(start.elapsed(), CONTENDED_TASKS * acquires_per_task)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn semaphore_contended_tokio(acquires_per_task: usize) -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let semaphore = Arc::new(tokio::sync::Semaphore::new(10));
        let start = Instant::now();
        let tasks: Vec<_> = (0..CONTENDED_TASKS)
            .map(|_| {
                let semaphore = semaphore.clone();
                tokio::spawn(async move {
                    for _ in 0..acquires_per_task {
                        let _permit = semaphore.acquire().await.unwrap();
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        nanos_per(start.elapsed(), CONTENDED_TASKS * acquires_per_task)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn semaphore_contended_smol(acquires_per_task: usize) -> f64 {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let semaphore = Rc::new(smol::lock::Semaphore::new(10));
        let start = Instant::now();
        let tasks: Vec<_> = (0..CONTENDED_TASKS)
            .map(|_| {
                let semaphore = semaphore.clone();
                executor.spawn(async move {
                    for _ in 0..acquires_per_task {
                        let _permit = semaphore.acquire().await;
                        smol::future::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        nanos_per(start.elapsed(), CONTENDED_TASKS * acquires_per_task)
    }))
}

// === semaphore_fairness: the same contention, the longest wait (acquisitions that passed a waiter) ===
// What FIFO buys. Each task notes the count of acquisitions so far before it asks for
// a permit, and again when it has one: the difference, less its own, is how many
// acquisitions went past it while it waited. The row is the most any wait saw. A
// FIFO semaphore bounds it by the number of other tasks (99 here); one that lets a
// releasing task take the permit back can pass a waiter without bound.

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn semaphore_fairness_glassbox(acquires_per_task: usize) -> f64 {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let semaphore = Rc::new(glassbox::Semaphore::new(10));
        let granted = Rc::new(Cell::new(0_u64));
        let tasks: Vec<_> = (0..CONTENDED_TASKS)
            .map(|_| {
                let (semaphore, granted) = (semaphore.clone(), granted.clone());
                glassbox::spawn(async move {
                    let mut longest = 0;
                    for _ in 0..acquires_per_task {
                        let asked = granted.get();
                        let _permit = semaphore.acquire().await.unwrap();
                        longest = longest.max(granted.get() - asked);
                        granted.set(granted.get() + 1);
                        glassbox::yield_now().await;
                    }
                    longest
                })
            })
            .collect();
        let mut longest = 0;
        for task in tasks {
            longest = longest.max(task.await.unwrap());
        }
        longest as f64
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn semaphore_fairness_tokio(acquires_per_task: usize) -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let semaphore = Arc::new(tokio::sync::Semaphore::new(10));
        let granted = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..CONTENDED_TASKS)
            .map(|_| {
                let (semaphore, granted) = (semaphore.clone(), granted.clone());
                tokio::spawn(async move {
                    let mut longest = 0;
                    for _ in 0..acquires_per_task {
                        let asked = granted.load(Ordering::Relaxed);
                        let _permit = semaphore.acquire().await.unwrap();
                        longest = longest.max(granted.fetch_add(1, Ordering::Relaxed) - asked);
                        tokio::task::yield_now().await;
                    }
                    longest
                })
            })
            .collect();
        let mut longest = 0;
        for task in tasks {
            longest = longest.max(task.await.unwrap());
        }
        longest as f64
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn semaphore_fairness_smol(acquires_per_task: usize) -> f64 {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let semaphore = Rc::new(smol::lock::Semaphore::new(10));
        let granted = Rc::new(Cell::new(0_u64));
        let tasks: Vec<_> = (0..CONTENDED_TASKS)
            .map(|_| {
                let (semaphore, granted) = (semaphore.clone(), granted.clone());
                executor.spawn(async move {
                    let mut longest = 0;
                    for _ in 0..acquires_per_task {
                        let asked = granted.get();
                        let _permit = semaphore.acquire().await;
                        longest = longest.max(granted.get() - asked);
                        granted.set(granted.get() + 1);
                        smol::future::yield_now().await;
                    }
                    longest
                })
            })
            .collect();
        let mut longest = 0;
        for task in tasks {
            longest = longest.max(task.await);
        }
        longest as f64
    }))
}

// === queue_1m: a million items from a producer to a consumer through 1,024 slots (ns/item) ===
// glassbox's asyncio-style Queue against tokio's bounded mpsc channel, the closest
// tokio primitive.

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn queue_1m_glassbox(items: usize) -> f64 {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let queue = glassbox::Queue::new(1_024);
        let start = Instant::now();
        let producer = glassbox::spawn({
            let queue = queue.clone();
            async move {
                for i in 0..items {
                    queue.put(i).await.unwrap();
                }
            }
        });
        let consumer = glassbox::spawn(async move {
            let mut sum = 0usize;
            for _ in 0..items {
                sum += queue.get().await.unwrap();
            }
            sum
        });
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), items * (items - 1) / 2);
        nanos_per(start.elapsed(), items)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn queue_1m_tokio(items: usize) -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let (sender, mut receiver) = tokio::sync::mpsc::channel(1_024);
        let start = Instant::now();
        let producer = tokio::spawn(async move {
            for i in 0..items {
                sender.send(i).await.unwrap();
            }
        });
        let consumer = tokio::spawn(async move {
            let mut sum = 0usize;
            for _ in 0..items {
                sum += receiver.recv().await.unwrap();
            }
            sum
        });
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), items * (items - 1) / 2);
        nanos_per(start.elapsed(), items)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn queue_1m_smol(items: usize) -> f64 {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let (sender, receiver) = smol::channel::bounded(1_024);
        let start = Instant::now();
        let producer = executor.spawn(async move {
            for i in 0..items {
                sender.send(i).await.unwrap();
            }
        });
        let consumer = executor.spawn(async move {
            let mut sum = 0usize;
            for _ in 0..items {
                sum += receiver.recv().await.unwrap();
            }
            sum
        });
        producer.await;
        assert_eq!(consumer.await, items * (items - 1) / 2);
        nanos_per(start.elapsed(), items)
    }))
}

// === sleep_100k: 100,000 concurrent sleeps of 1–1,000 ms (CPU ns/timer) ===
// Measures the loop thread's CPU time for registering and firing every timer (the
// rest of the second is spent asleep in the kernel), and how late each one fired.

/// CPU time used by this thread so far, from the scheduler's own accounting.
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    Duration::from_nanos(
        stat.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("schedstat"),
    )
}

/// The i-th timer's delay: spread over 1..=1000 ms.
fn sleep_delay(i: usize) -> Duration {
    Duration::from_millis(1 + (i as u64 * 7_919) % 1_000)
}

/// How late a set of sleeps returned after their deadlines.
struct Lateness {
    p50: Duration,
    p99: Duration,
}

impl Lateness {
    fn of(mut samples: Vec<Duration>) -> Lateness {
        samples.sort();
        let percentile = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
        Lateness {
            p50: percentile(50),
            p99: percentile(99),
        }
    }
}

/// `p50/p99` over a side's rounds (the median of each), in units of `1/per_second` s.
fn lateness_note<R>(
    rounds: &[R],
    lateness: fn(&R) -> &Lateness,
    per_second: f64,
    decimals: usize,
) -> String {
    let in_unit = |pick: fn(&Lateness) -> Duration| {
        let values: Vec<f64> = rounds
            .iter()
            .map(|r| pick(lateness(r)).as_secs_f64())
            .collect();
        median(&values) * per_second
    };
    format!(
        "{:.decimals$}/{:.decimals$}",
        in_unit(|r| r.p50),
        in_unit(|r| r.p99)
    )
}

/// What one sleep_100k round observed.
struct SleepRound {
    cpu_per_timer_ns: f64,
    lateness: Lateness,
}

fn sleep_round(cpu: Duration, timers: usize, lateness: Vec<Duration>) -> SleepRound {
    SleepRound {
        cpu_per_timer_ns: nanos_per(cpu, timers),
        lateness: Lateness::of(lateness),
    }
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn sleep_100k_glassbox(timers: usize) -> SleepRound {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let cpu_before = thread_cpu_time();
        let start = Instant::now();
        let handles: Vec<_> = (0..timers)
            .map(|i| {
                let deadline = start + sleep_delay(i);
                glassbox::spawn(async move {
                    glassbox::time::Timer::new(deadline).await;
                    Instant::now() - deadline
                })
            })
            .collect();
        let mut lateness = Vec::with_capacity(timers);
        for handle in handles {
            lateness.push(handle.await.unwrap());
        }
        sleep_round(thread_cpu_time() - cpu_before, timers, lateness)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn sleep_100k_tokio(timers: usize) -> SleepRound {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let cpu_before = thread_cpu_time();
        let start = Instant::now();
        let handles: Vec<_> = (0..timers)
            .map(|i| {
                let deadline = start + sleep_delay(i);
                tokio::spawn(async move {
                    tokio::time::sleep_until(deadline.into()).await;
                    Instant::now() - deadline
                })
            })
            .collect();
        let mut lateness = Vec::with_capacity(timers);
        for handle in handles {
            lateness.push(handle.await.unwrap());
        }
        sleep_round(thread_cpu_time() - cpu_before, timers, lateness)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn sleep_100k_smol(timers: usize) -> SleepRound {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let cpu_before = thread_cpu_time();
        let start = Instant::now();
        let handles: Vec<_> = (0..timers)
            .map(|i| {
                let deadline = start + sleep_delay(i);
                executor.spawn(async move {
                    smol::Timer::at(deadline).await;
                    Instant::now() - deadline
                })
            })
            .collect();
        let mut lateness = Vec::with_capacity(timers);
        for handle in handles {
            lateness.push(handle.await);
        }
        sleep_round(thread_cpu_time() - cpu_before, timers, lateness)
    }))
}

fn sleep_100k_row(rounds: usize, timers: usize) -> Row {
    let (mut row, all) = versus_by(
        "sleep_100k",
        "ns/timer",
        rounds,
        |round: &SleepRound| round.cpu_per_timer_ns,
        || sleep_100k_glassbox(timers),
        || sleep_100k_tokio(timers),
        || sleep_100k_smol(timers),
    );
    let lateness = all.map(|rounds| lateness_note(rounds, |r| &r.lateness, 1e3, 2));
    row.notes.push(note("lateness p50/p99 ms", lateness));
    row
}

// === pending_timer_bytes: memory per registered, pending timer (bytes/timer) ===

/// Polls every future in `futures` once, with the calling task's context.
async fn poll_each_once<F: Future + Unpin>(futures: &mut [F]) {
    std::future::poll_fn(|cx| {
        for future in futures.iter_mut() {
            let _ = Pin::new(future).poll(cx);
        }
        Poll::Ready(())
    })
    .await
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn pending_timer_bytes_glassbox(timers: usize) -> f64 {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let before = live_bytes();
        let far = Instant::now() + Duration::from_secs(3600);
        let mut pending: Vec<_> = (0..timers)
            .map(|_| Box::pin(glassbox::time::Timer::new(far)))
            .collect();
        poll_each_once(&mut pending).await;
        (live_bytes() - before) as f64 / timers as f64
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn pending_timer_bytes_tokio(timers: usize) -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let before = live_bytes();
        let far = tokio::time::Instant::now() + Duration::from_secs(3600);
        let mut pending: Vec<_> = (0..timers)
            .map(|_| Box::pin(tokio::time::sleep_until(far)))
            .collect();
        poll_each_once(&mut pending).await;
        (live_bytes() - before) as f64 / timers as f64
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn pending_timer_bytes_smol(timers: usize) -> f64 {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let before = live_bytes();
        let far = Instant::now() + Duration::from_secs(3600);
        let mut pending: Vec<_> = (0..timers)
            .map(|_| Box::pin(smol::Timer::at(far)))
            .collect();
        poll_each_once(&mut pending).await;
        // A polled Timer only queues its registration; the reactor moves it into its
        // BTreeMap on its next turn, which one short sleep makes happen.
        smol::Timer::after(Duration::from_millis(1)).await;
        (live_bytes() - before) as f64 / timers as f64
    }))
}

// === spawn_blocking_rtt: a job to the pool and its result back, one at a time (ns/op) ===

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn spawn_blocking_rtt_glassbox(jobs: usize) -> f64 {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        glassbox::spawn_blocking(|| 0).await.unwrap(); // a warm pool thread
        let start = Instant::now();
        for i in 0..jobs {
            assert_eq!(glassbox::spawn_blocking(move || i).await.unwrap(), i);
        }
        nanos_per(start.elapsed(), jobs)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn spawn_blocking_rtt_tokio(jobs: usize) -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async move {
        tokio::task::spawn_blocking(|| 0).await.unwrap();
        let start = Instant::now();
        for i in 0..jobs {
            assert_eq!(tokio::task::spawn_blocking(move || i).await.unwrap(), i);
        }
        nanos_per(start.elapsed(), jobs)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn spawn_blocking_rtt_smol(jobs: usize) -> f64 {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        smol::unblock(|| 0).await;
        let start = Instant::now();
        for i in 0..jobs {
            assert_eq!(smol::unblock(move || i).await, i);
        }
        nanos_per(start.elapsed(), jobs)
    }))
}

/// Runs `measure` with every core but one kept busy by a spinning thread at the
/// lowest priority (`nice 19`): the machine of a loaded server, where a thread that
/// is woken finds a CPU awake. `spawn_blocking_rtt` differs most between the two
/// states: on an idle machine a sleeping CPU takes tens of µs to wake.
fn with_other_cores_busy<R>(measure: impl FnOnce() -> R) -> R {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let spinners: Vec<_> = (1..cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                // A failure only leaves the spinner at normal priority.
                // SAFETY: `setpriority` on this thread's own id; plain integer arguments.
                unsafe {
                    let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                    libc::setpriority(libc::PRIO_PROCESS, tid, 19);
                }
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let result = measure();
    stop.store(true, Ordering::Relaxed);
    for spinner in spinners {
        spinner.join().unwrap();
    }
    result
}

// === block_on_fresh: build a runtime, block_on a ready future, drop it (ns/op) ===
// The first program a newcomer writes. Each side uses its own defaults: glassbox's
// free `block_on` (stall reports on, as a newcomer gets them), tokio's current_thread
// with I/O and time enabled, `smol::block_on`.

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn block_on_fresh_glassbox(runs: usize) -> f64 {
    let start = Instant::now();
    for i in 0..runs {
        assert_eq!(glassbox::block_on(async move { i }), i);
    }
    nanos_per(start.elapsed(), runs)
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn block_on_fresh_tokio(runs: usize) -> f64 {
    let start = Instant::now();
    for i in 0..runs {
        let rt = tokio_runtime();
        assert_eq!(rt.block_on(async move { i }), i);
    }
    nanos_per(start.elapsed(), runs)
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn block_on_fresh_smol(runs: usize) -> f64 {
    let start = Instant::now();
    for i in 0..runs {
        assert_eq!(smol::block_on(async move { i }), i);
    }
    nanos_per(start.elapsed(), runs)
}

// === tcp_echo_rtt: a 64-byte message to an echo server over loopback and back (ns/rtt) ===
// Server and client are tasks of the same runtime, as in a single-threaded service
// talking to itself; every round trip crosses the kernel twice each way.

const ECHO_MESSAGE: [u8; 64] = [7; 64];

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn tcp_echo_rtt_glassbox(round_trips: usize) -> f64 {
    use glassbox::net::{TcpListener, TcpStream};
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = glassbox::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buf = [0u8; 64];
            while stream.read_exact(&mut buf).await.is_ok() {
                stream.write_all(&buf).await.unwrap();
            }
        });
        let client = TcpStream::connect(addr).await.unwrap();
        client.set_nodelay(true).unwrap();
        let mut buf = [0u8; 64];
        let start = Instant::now();
        for _ in 0..round_trips {
            client.write_all(&ECHO_MESSAGE).await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
        }
        let per_trip = nanos_per(start.elapsed(), round_trips);
        drop(client);
        server.await.unwrap();
        per_trip
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn tcp_echo_rtt_tokio(round_trips: usize) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    let rt = tokio_runtime();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buf = [0u8; 64];
            while stream.read_exact(&mut buf).await.is_ok() {
                stream.write_all(&buf).await.unwrap();
            }
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.set_nodelay(true).unwrap();
        let mut buf = [0u8; 64];
        let start = Instant::now();
        for _ in 0..round_trips {
            client.write_all(&ECHO_MESSAGE).await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
        }
        let per_trip = nanos_per(start.elapsed(), round_trips);
        drop(client);
        server.await.unwrap();
        per_trip
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn tcp_echo_rtt_smol(round_trips: usize) -> f64 {
    use smol::Async;
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    use std::net::{TcpListener, TcpStream};
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let server = executor.spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            stream.get_ref().set_nodelay(true).unwrap();
            let mut buf = [0u8; 64];
            while stream.read_exact(&mut buf).await.is_ok() {
                stream.write_all(&buf).await.unwrap();
            }
        });
        let mut client = Async::<TcpStream>::connect(addr).await.unwrap();
        client.get_ref().set_nodelay(true).unwrap();
        let mut buf = [0u8; 64];
        let start = Instant::now();
        for _ in 0..round_trips {
            client.write_all(&ECHO_MESSAGE).await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
        }
        let per_trip = nanos_per(start.elapsed(), round_trips);
        drop(client);
        server.await;
        per_trip
    }))
}

// === cancelled_recv: recvs timed out on one idle UDP socket, 1,000 at a time (CPU ns/recv) ===
// The everyday "read with a timeout" on a socket many tasks share, where nothing ever
// arrives: each recv parks, then its 1 ms timeout drops it. Measures the loop thread's
// CPU time per recv (the waiting itself is spent asleep), and the bytes still live
// afterwards: whatever a dropped recv left behind in the socket's waiter list.

/// Tasks waiting on the socket at once.
const RECV_BATCH: usize = 1_000;

/// What one cancelled_recv round observed.
struct RecvRound {
    cpu_per_recv_ns: f64,
    bytes_left: f64,
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn cancelled_recv_glassbox(recvs: usize) -> RecvRound {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let socket = glassbox::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let socket = Rc::new(socket);
        let (bytes_before, cpu_before) = (live_bytes(), thread_cpu_time());
        for _ in 0..recvs / RECV_BATCH {
            let waiters: Vec<_> = (0..RECV_BATCH)
                .map(|_| {
                    let socket = socket.clone();
                    glassbox::spawn(async move {
                        let mut buf = [0u8; 64];
                        let recv = socket.recv_from(&mut buf);
                        glassbox::timeout(Duration::from_millis(1), recv).await
                    })
                })
                .collect();
            for waiter in waiters {
                assert!(waiter.await.unwrap().is_err(), "nothing was sent");
            }
        }
        RecvRound {
            cpu_per_recv_ns: nanos_per(thread_cpu_time() - cpu_before, recvs),
            bytes_left: (live_bytes() - bytes_before) as f64,
        }
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn cancelled_recv_tokio(recvs: usize) -> RecvRound {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let socket = Arc::new(socket);
        let (bytes_before, cpu_before) = (live_bytes(), thread_cpu_time());
        for _ in 0..recvs / RECV_BATCH {
            let waiters: Vec<_> = (0..RECV_BATCH)
                .map(|_| {
                    let socket = socket.clone();
                    tokio::spawn(async move {
                        let mut buf = [0u8; 64];
                        let recv = socket.recv_from(&mut buf);
                        tokio::time::timeout(Duration::from_millis(1), recv).await
                    })
                })
                .collect();
            for waiter in waiters {
                assert!(waiter.await.unwrap().is_err(), "nothing was sent");
            }
        }
        RecvRound {
            cpu_per_recv_ns: nanos_per(thread_cpu_time() - cpu_before, recvs),
            bytes_left: (live_bytes() - bytes_before) as f64,
        }
    })
}

/// smol has no `timeout`: the recv races a `Timer`, the way its users write one.
#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn cancelled_recv_smol(recvs: usize) -> RecvRound {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let socket = smol::Async::<std::net::UdpSocket>::bind(([127, 0, 0, 1], 0)).unwrap();
        let socket = Rc::new(socket);
        let (bytes_before, cpu_before) = (live_bytes(), thread_cpu_time());
        for _ in 0..recvs / RECV_BATCH {
            let waiters: Vec<_> = (0..RECV_BATCH)
                .map(|_| {
                    let socket = socket.clone();
                    executor.spawn(async move {
                        let mut buf = [0u8; 64];
                        let recv = async { Some(socket.recv_from(&mut buf).await) };
                        let expired = async {
                            smol::Timer::after(Duration::from_millis(1)).await;
                            None
                        };
                        smol::future::or(recv, expired).await
                    })
                })
                .collect();
            for waiter in waiters {
                assert!(waiter.await.is_none(), "nothing was sent");
            }
        }
        RecvRound {
            cpu_per_recv_ns: nanos_per(thread_cpu_time() - cpu_before, recvs),
            bytes_left: (live_bytes() - bytes_before) as f64,
        }
    }))
}

fn cancelled_recv_row(rounds: usize, recvs: usize) -> Row {
    let (mut row, all) = versus_by(
        "cancelled_recv",
        "ns/recv",
        rounds,
        |round: &RecvRound| round.cpu_per_recv_ns,
        || cancelled_recv_glassbox(recvs),
        || cancelled_recv_tokio(recvs),
        || cancelled_recv_smol(recvs),
    );
    let bytes_left = all.map(|rounds| {
        let bytes: Vec<f64> = rounds.iter().map(|r| r.bytes_left).collect();
        format!("{:.0}", median(&bytes))
    });
    row.notes
        .push(note(&format!("bytes live after {recvs} recvs"), bytes_left));
    row
}

// === sleep_precision_*: how late sleep(d) returns, one sleep at a time (µs, p50) ===
// Each round sleeps `samples` times in a row and takes the lateness of each: the time
// from the deadline (the call plus d) to the moment the await returned. The row shows
// the p50; the p99 and `std::thread::sleep`'s figures (the kernel's own timer, with its
// default 50 µs slack) are printed beside it. The `_100k` rows take the same sleeps with
// 100,000 other timers pending, due one per ms from a second out (so none fires during
// the round): the next deadline must still be found, and the park armed, exactly.

/// When the `i`th background timer of a precision round is due.
fn background_deadline(start: Instant, i: usize) -> Instant {
    start + Duration::from_secs(1) + Duration::from_millis(i as u64)
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn sleep_precision_glassbox(delay: Duration, background: usize, samples: usize) -> Lateness {
    let mut rt = glassbox_runtime();
    rt.block_on(async move {
        let start = Instant::now();
        let mut pending: Vec<_> = (0..background)
            .map(|i| Box::pin(glassbox::sleep_until(background_deadline(start, i))))
            .collect();
        poll_each_once(&mut pending).await;
        let mut lateness = Vec::with_capacity(samples);
        for _ in 0..samples {
            let start = Instant::now();
            glassbox::sleep(delay).await;
            lateness.push(start.elapsed().saturating_sub(delay));
        }
        Lateness::of(lateness)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn sleep_precision_tokio(delay: Duration, background: usize, samples: usize) -> Lateness {
    let rt = tokio_runtime();
    rt.block_on(async move {
        let start = Instant::now();
        let mut pending: Vec<_> = (0..background)
            .map(|i| {
                Box::pin(tokio::time::sleep_until(
                    background_deadline(start, i).into(),
                ))
            })
            .collect();
        poll_each_once(&mut pending).await;
        let mut lateness = Vec::with_capacity(samples);
        for _ in 0..samples {
            let start = Instant::now();
            tokio::time::sleep(delay).await;
            lateness.push(start.elapsed().saturating_sub(delay));
        }
        Lateness::of(lateness)
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn sleep_precision_smol(delay: Duration, background: usize, samples: usize) -> Lateness {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let start = Instant::now();
        let mut pending: Vec<_> = (0..background)
            .map(|i| smol::Timer::at(background_deadline(start, i)))
            .collect();
        poll_each_once(&mut pending).await;
        let mut lateness = Vec::with_capacity(samples);
        for _ in 0..samples {
            let start = Instant::now();
            smol::Timer::after(delay).await;
            lateness.push(start.elapsed().saturating_sub(delay));
        }
        Lateness::of(lateness)
    }))
}

/// The reference: the same sleeps on the thread itself.
fn sleep_precision_thread(delay: Duration, samples: usize) -> Lateness {
    let lateness = (0..samples)
        .map(|_| {
            let start = Instant::now();
            std::thread::sleep(delay);
            start.elapsed().saturating_sub(delay)
        })
        .collect();
    Lateness::of(lateness)
}

fn sleep_precision_row(
    name: &'static str,
    delay: Duration,
    background: usize,
    rounds: usize,
    samples: usize,
) -> Row {
    let (mut row, all) = versus_by(
        name,
        "us late, p50",
        rounds,
        |lateness: &Lateness| lateness.p50.as_secs_f64() * 1e6,
        || sleep_precision_glassbox(delay, background, samples),
        || sleep_precision_tokio(delay, background, samples),
        || sleep_precision_smol(delay, background, samples),
    );
    let thread: Vec<Lateness> = (0..rounds)
        .map(|_| sleep_precision_thread(delay, samples))
        .collect();
    let lateness = all.map(|rounds| lateness_note(rounds, |l| l, 1e6, 0));
    row.notes.push(format!(
        "{}, std::thread::sleep {}",
        note("p50/p99 us", lateness),
        lateness_note(&thread, |l| l, 1e6, 0)
    ));
    row
}

// === scaling: does the per-op cost stay flat as the runtime fills up? ===
// Each figure is (cost per op with a big load) / (cost per op with a small one):
// near 1 means O(1). The load is spawned tasks, or timers parked an hour out.

/// Registers `count` timers an hour out and keeps them pending (glassbox).
#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn park_timers_glassbox(count: usize) -> Vec<Pin<Box<glassbox::Sleep>>> {
    let far = Instant::now() + Duration::from_secs(3600);
    (0..count)
        .map(|_| Box::pin(glassbox::sleep_until(far)))
        .collect()
}

/// Per-op cost of `timeout_ready` and of a 1 ms sleep (register + fire, paused
/// clock), with `background` timers pending in the wheel.
#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn timer_costs_glassbox(background: usize, ops: usize) -> (f64, f64) {
    let mut rt = glassbox::Runtime::builder()
        .stall_threshold(None)
        .paused_clock(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut parked = park_timers_glassbox(background);
        poll_each_once(&mut parked).await;
        let start = Instant::now();
        for i in 0..ops {
            let value = glassbox::timeout(Duration::from_secs(10), std::future::ready(i)).await;
            assert_eq!(value, Ok(i));
        }
        let timeout_ns = nanos_per(start.elapsed(), ops);
        let start = Instant::now();
        for _ in 0..ops / 10 {
            glassbox::sleep(Duration::from_millis(1)).await;
        }
        (timeout_ns, nanos_per(start.elapsed(), ops / 10))
    })
}

#[inline(never)] // a symbol of its own, for `valgrind --toggle-collect`
fn timer_costs_tokio(background: usize, ops: usize) -> (f64, f64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let far = tokio::time::Instant::now() + Duration::from_secs(3600);
        let mut parked: Vec<_> = (0..background)
            .map(|_| Box::pin(tokio::time::sleep_until(far)))
            .collect();
        poll_each_once(&mut parked).await;
        let start = Instant::now();
        for i in 0..ops {
            let value = tokio::time::timeout(Duration::from_secs(10), std::future::ready(i)).await;
            assert_eq!(value, Ok(i));
        }
        let timeout_ns = nanos_per(start.elapsed(), ops);
        let start = Instant::now();
        for _ in 0..ops / 10 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        (timeout_ns, nanos_per(start.elapsed(), ops / 10))
    })
}

fn print_scaling(quick: bool) {
    let (small, big) = (1_000, 1_000_000);
    let best_of = if quick { 3 } else { 5 };
    // Best of a few runs: scaling is about the structure's cost, not the machine's noise.
    let best = |f: &dyn Fn() -> f64| (0..best_of).map(|_| f()).fold(f64::INFINITY, f64::min);
    println!("\nscaling: per-op cost with {big} vs {small} (ratio; near 1 = O(1))");
    println!("{:<44} {:>10} {:>10}", "", "glassbox", "tokio");

    let spawn = |n: usize, on_glassbox: bool| {
        if on_glassbox {
            spawn_join_glassbox(n)
        } else {
            spawn_join_tokio(n)
        }
    };
    let ratio =
        |on_glassbox: bool| best(&|| spawn(big, on_glassbox)) / best(&|| spawn(small, on_glassbox));
    println!(
        "{:<44} {:>10.2} {:>10.2}",
        "spawn_join: 1M tasks vs 1k tasks",
        ratio(true),
        ratio(false)
    );

    let ops = 100_000;
    let costs = |background: usize, on_glassbox: bool| {
        let run = || {
            if on_glassbox {
                timer_costs_glassbox(background, ops)
            } else {
                timer_costs_tokio(background, ops)
            }
        };
        let runs: Vec<(f64, f64)> = (0..best_of).map(|_| run()).collect();
        let min =
            |pick: fn(&(f64, f64)) -> f64| runs.iter().map(pick).fold(f64::INFINITY, f64::min);
        (min(|r| r.0), min(|r| r.1))
    };
    let (g_small, g_big) = (costs(small, true), costs(big, true));
    let (t_small, t_big) = (costs(small, false), costs(big, false));
    println!(
        "{:<44} {:>10.2} {:>10.2}",
        "timeout_ready: 1M vs 1k timers pending",
        g_big.0 / g_small.0,
        t_big.0 / t_small.0
    );
    println!(
        "{:<44} {:>10.2} {:>10.2}",
        "sleep 1 ms (register+fire): 1M vs 1k pending",
        g_big.1 / g_small.1,
        t_big.1 / t_small.1
    );
}

// === main ===

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    WATCHDOG.store(args.iter().any(|a| a == "--watchdog"), Ordering::Relaxed);
    let json_path = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let json_value = |i: usize| i > 0 && args[i - 1] == "--json";
    let filters: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|&(i, a)| !a.starts_with("--") && !json_value(i))
        .map(|(_, a)| a)
        .collect();
    let wanted =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let rounds = if quick { 5 } else { 15 };

    let mut rows = Vec::new();
    if wanted("spawn_join") {
        rows.push(versus(
            "spawn_join",
            "ns/task",
            rounds,
            || spawn_join_glassbox(100_000),
            || spawn_join_tokio(100_000),
            || spawn_join_smol(100_000),
        ));
    }
    if wanted("yield_pingpong") {
        let hops = if quick { 200_000 } else { 1_000_000 };
        rows.push(versus(
            "yield_pingpong",
            "ns/hop",
            rounds,
            || yield_pingpong_glassbox(hops),
            || yield_pingpong_tokio(hops),
            || yield_pingpong_smol(hops),
        ));
    }
    if wanted("timeout_ready") {
        let ops = if quick { 200_000 } else { 1_000_000 };
        rows.push(versus(
            "timeout_ready",
            "ns/op",
            rounds,
            || timeout_ready_glassbox(ops),
            || timeout_ready_tokio(ops),
            || timeout_ready_smol(ops),
        ));
    }
    if wanted("sleep_100k") {
        rows.push(sleep_100k_row(if quick { 3 } else { 7 }, 100_000));
    }
    if wanted("semaphore_uncontended") {
        let ops = if quick { 200_000 } else { 1_000_000 };
        rows.push(versus(
            "semaphore_uncontended",
            "ns/op",
            rounds,
            || semaphore_uncontended_glassbox(ops),
            || semaphore_uncontended_tokio(ops),
            || semaphore_uncontended_smol(ops),
        ));
    }
    if wanted("semaphore_contended") {
        let per_task = if quick { 200 } else { 1_000 };
        rows.push(versus(
            "semaphore_contended",
            "ns/acquire",
            rounds,
            || semaphore_contended_glassbox(per_task),
            || semaphore_contended_tokio(per_task),
            || semaphore_contended_smol(per_task),
        ));
    }
    if wanted("semaphore_fairness") {
        let acquires = if quick { 200 } else { 1_000 };
        rows.push(versus(
            "semaphore_fairness",
            "passed",
            rounds,
            || semaphore_fairness_glassbox(acquires),
            || semaphore_fairness_tokio(acquires),
            || semaphore_fairness_smol(acquires),
        ));
    }
    if wanted("queue_1m") {
        let items = if quick { 200_000 } else { 1_000_000 };
        rows.push(versus(
            "queue_1m",
            "ns/item",
            rounds,
            || queue_1m_glassbox(items),
            || queue_1m_tokio(items),
            || queue_1m_smol(items),
        ));
    }
    if wanted("spawn_blocking_rtt") {
        let jobs = if quick { 2_000 } else { 10_000 };
        rows.push(versus(
            "spawn_blocking_rtt",
            "ns/op",
            rounds,
            || spawn_blocking_rtt_glassbox(jobs),
            || spawn_blocking_rtt_tokio(jobs),
            || spawn_blocking_rtt_smol(jobs),
        ));
    }
    if wanted("spawn_blocking_rtt_busy") {
        let jobs = if quick { 2_000 } else { 10_000 };
        rows.push(with_other_cores_busy(|| {
            versus(
                "spawn_blocking_rtt_busy",
                "ns/op",
                rounds,
                || spawn_blocking_rtt_glassbox(jobs),
                || spawn_blocking_rtt_tokio(jobs),
                || spawn_blocking_rtt_smol(jobs),
            )
        }));
    }
    if wanted("block_on_fresh") {
        let runs = if quick { 500 } else { 2_000 };
        rows.push(versus(
            "block_on_fresh",
            "ns/op",
            rounds,
            || block_on_fresh_glassbox(runs),
            || block_on_fresh_tokio(runs),
            || block_on_fresh_smol(runs),
        ));
    }
    if wanted("tcp_echo_rtt") {
        let trips = if quick { 5_000 } else { 20_000 };
        rows.push(versus(
            "tcp_echo_rtt",
            "ns/rtt",
            rounds,
            || tcp_echo_rtt_glassbox(trips),
            || tcp_echo_rtt_tokio(trips),
            || tcp_echo_rtt_smol(trips),
        ));
    }
    if wanted("cancelled_recv") {
        rows.push(cancelled_recv_row(if quick { 3 } else { 7 }, 100_000));
    }
    for (name, delay, background) in [
        ("sleep_precision_50us", Duration::from_micros(50), 0),
        ("sleep_precision_250us", Duration::from_micros(250), 0),
        ("sleep_precision_1ms", Duration::from_millis(1), 0),
        ("sleep_precision_5ms", Duration::from_millis(5), 0),
        (
            "sleep_precision_250us_100k",
            Duration::from_micros(250),
            100_000,
        ),
        (
            "sleep_precision_1ms_100k",
            Duration::from_millis(1),
            100_000,
        ),
    ] {
        if wanted(name) {
            let (rounds, samples) = if quick { (3, 100) } else { (5, 300) };
            rows.push(sleep_precision_row(
                name, delay, background, rounds, samples,
            ));
        }
    }
    if wanted("idle_task_bytes") {
        rows.push(versus(
            "idle_task_bytes",
            "bytes/task",
            3,
            || idle_task_bytes_glassbox(10_000),
            || idle_task_bytes_tokio(10_000),
            || idle_task_bytes_smol(10_000),
        ));
    }
    if wanted("pending_timer_bytes") {
        rows.push(versus(
            "pending_timer_bytes",
            "bytes/timer",
            3,
            || pending_timer_bytes_glassbox(10_000),
            || pending_timer_bytes_tokio(10_000),
            || pending_timer_bytes_smol(10_000),
        ));
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("load average at the end of the run: {}", load.join(" "));
    print_table(&rows);
    if wanted("scaling") {
        print_scaling(quick);
    }
    if let Some(path) = json_path {
        write_json(&path, &rows);
    }
}

/// A figure for the table or the JSON: `missing` where a side has no figure (NaN).
fn figure(value: f64, decimals: usize, missing: &str) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        missing.to_string()
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<24} {:>14} {:>12} {:>12} {:>7} {:>12} {:>10}",
        "row", "unit", "glassbox", "tokio", "ratio", "smol", "ratio_smol"
    );
    for row in rows {
        let medians = row.medians();
        println!(
            "{:<24} {:>14} {:>12.1} {:>12.1} {:>7.2} {:>12} {:>10}  {}",
            row.name,
            row.unit,
            medians.glassbox,
            medians.tokio,
            row.ratio_to(&row.rounds.tokio),
            figure(medians.smol, 1, "-"),
            figure(row.ratio_to(&row.rounds.smol), 2, "-"),
            row.notes.join("  ")
        );
    }
}

fn write_json(path: &str, rows: &[Row]) {
    let entries: Vec<String> = rows
        .iter()
        .map(|row| {
            let medians = row.medians();
            format!(
                "  {{\"name\": \"{}\", \"unit\": \"{}\", \"glassbox\": {:.3}, \"tokio\": {:.3}, \"ratio\": {:.4}, \"smol\": {}, \"ratio_smol\": {}}}",
                row.name,
                row.unit,
                medians.glassbox,
                medians.tokio,
                row.ratio_to(&row.rounds.tokio),
                figure(medians.smol, 3, "null"),
                figure(row.ratio_to(&row.rounds.smol), 4, "null")
            )
        })
        .collect();
    let json = format!("[\n{}\n]\n", entries.join(",\n"));
    if let Some(parent) = std::path::Path::new(path).parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(path, json).unwrap_or_else(|error| panic!("cannot write {path}: {error}"));
    println!("wrote {path}");
}
