//! # Avoid blocking calls: a heartbeat, a 200 ms job, three ways
//!
//! Run it with `cargo run --release --example blocking`.
//! Its asyncio twin, the same program in Python: `examples/asyncio/blocking.py`
//! (`python3 examples/asyncio/blocking.py`).
//!
//! The first pattern of asyncio's lesson, and the heart of how a single-threaded loop
//! works. A *heartbeat* task ticks every 10 ms for 400 ms. At 50 ms a *worker* task
//! "does a 200 ms job", three ways:
//!
//! 1. `std::thread::sleep(200 ms)` inside the task. The loop has one thread, and the
//!    task is holding it: nothing else runs until the call returns. The heartbeat
//!    misses about 20 ticks, and the runtime's stall report (on stderr) names the
//!    culprit: task id, the line that spawned it, how long the loop was blocked, how
//!    late the heartbeat's timer fired.
//! 2. An async sleep. The task returns `Pending` and the loop is free: the heartbeat
//!    never misses a beat. This is the fix when the waiting itself can be async.
//! 3. `spawn_blocking(|| std::thread::sleep(200 ms))`. The same blocking call, but on
//!    a pool thread; the task awaits its result like any other future, and the pool
//!    thread wakes it when the job is done. This is the fix when the call *must*
//!    block (a synchronous library, a file read, DNS, heavy computation).
//!
//! For each run it prints the ticks expected and seen, the longest gap between two
//! ticks, and a timeline with one character per 10 ms: `|` a tick in that slot, `.`
//! no tick, and under it `#` while the job was running.
//!
//! asyncio equivalent: `time.sleep(0.2)` vs `await asyncio.sleep(0.2)` vs
//! `await loop.run_in_executor(None, time.sleep, 0.2)`, with `loop.set_debug(True)`
//! printing "Executing <Task …> took 0.200 seconds" for the first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use glassbox::{Runtime, sleep, spawn, spawn_blocking};

/// The heartbeat's period, and the width of one timeline character.
const PERIOD: Duration = Duration::from_millis(10);
/// How long the heartbeat runs.
const RUN_FOR: Duration = Duration::from_millis(400);
/// When the worker starts its job, so the timeline shows a few ticks before it.
const JOB_STARTS_AT: Duration = Duration::from_millis(50);
/// How long the job takes.
const JOB: Duration = Duration::from_millis(200);

/// The three ways of doing the job.
#[derive(Debug, Clone, Copy)]
enum Way {
    ThreadSleepInTheTask,
    AsyncSleep,
    SpawnBlocking,
}

impl Way {
    fn describe(self) -> &'static str {
        match self {
            Way::ThreadSleepInTheTask => "std::thread::sleep(200 ms) inside the task",
            Way::AsyncSleep => "sleep(200 ms).await (an async sleep)",
            Way::SpawnBlocking => "spawn_blocking(|| std::thread::sleep(200 ms)).await",
        }
    }
}

/// What one run saw: when each tick happened and when the job ran, since the start.
struct Observed {
    ticks: Vec<Duration>,
    job: (Duration, Duration),
    longest_poll: Duration,
    /// Polls that blocked past the threshold (each reported once it returned).
    stalls: u64,
    /// Reports made while such a poll still ran (at the threshold, then 2x, 4x...).
    live_reports: u64,
}

fn main() -> std::io::Result<()> {
    println!("A heartbeat ticks every 10 ms for 400 ms; at 50 ms a worker does a 200 ms job.\n");
    let mut summary = Vec::new();
    for (number, way) in [
        Way::ThreadSleepInTheTask,
        Way::AsyncSleep,
        Way::SpawnBlocking,
    ]
    .into_iter()
    .enumerate()
    {
        println!("── run {}: {} ──", number + 1, way.describe());
        // A fresh runtime per run, with the default settings: the stall report is on
        // (100 ms) and goes to stderr, so run 1 prints it right here, as it happens.
        // The live reports (made while the poll still runs, on the watchdog's thread)
        // are printed as the default does, and counted.
        let live_reports = Arc::new(AtomicU64::new(0));
        let mut rt = Runtime::builder()
            .on_live_stall({
                let live_reports = live_reports.clone();
                move |report| {
                    eprintln!("{report}");
                    live_reports.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build()?;
        let observed = rt.block_on(run(way));
        let metrics = rt.metrics();
        drop(rt); // the watchdog's thread stops: every live report is counted
        let observed = Observed {
            longest_poll: metrics.longest_poll,
            stalls: metrics.stalls,
            live_reports: live_reports.load(Ordering::Relaxed),
            ..observed
        };
        print_run(&observed);
        summary.push((way, observed));
    }

    println!("── summary ──");
    println!(
        "{:<54} {:>12} {:>12}",
        "the 200 ms job, done with", "ticks seen", "longest gap"
    );
    for (way, observed) in &summary {
        println!(
            "{:<54} {:>9}/{:<2} {:>9} ms",
            way.describe(),
            observed.ticks.len(),
            expected_ticks(),
            longest_gap(&observed.ticks).as_millis()
        );
    }
    Ok(())
}

/// One run: spawn the heartbeat and the worker, wait for both.
async fn run(way: Way) -> Observed {
    let start = Instant::now();
    let heartbeat = spawn(heartbeat(start));
    // This `spawn` line is the spawn site the stall report names in run 1.
    let worker = spawn(worker(way, start));
    let job = worker.await.expect("the worker finished");
    let ticks = heartbeat.await.expect("the heartbeat finished");
    Observed {
        ticks,
        job,
        longest_poll: Duration::ZERO,
        stalls: 0,
        live_reports: 0,
    }
}

/// Ticks every `PERIOD` until `RUN_FOR` has passed; returns when each tick happened.
///
/// Each tick aims at the next multiple of 10 ms after *now*: a late tick does not
/// drift the ones after it, and ticks missed during a stall are skipped, not made up
/// in a burst (tokio's `MissedTickBehavior::Skip`). So every missed tick is a `.` in
/// the timeline.
async fn heartbeat(start: Instant) -> Vec<Duration> {
    let mut ticks = Vec::new();
    loop {
        let at = start.elapsed();
        if at >= RUN_FOR {
            return ticks;
        }
        ticks.push(at);
        let next_slot = u32::try_from(at.as_millis() / PERIOD.as_millis()).unwrap() + 1;
        let next = start + PERIOD * next_slot;
        // Pending here: the timer wheel wakes the heartbeat when `next` comes —
        // *if* the loop gets a chance to look at its timers.
        sleep(next.saturating_duration_since(Instant::now())).await;
    }
}

/// Waits until `JOB_STARTS_AT`, then does the 200 ms job `way`'s way. Returns when
/// the job started and ended.
async fn worker(way: Way, start: Instant) -> (Duration, Duration) {
    sleep(JOB_STARTS_AT).await;
    match way {
        Way::ThreadSleepInTheTask => {
            let begun = start.elapsed();
            // The mistake: this poll does not return for 200 ms, and the loop, which
            // has exactly one thread, can do nothing else meanwhile. No timer fires,
            // no socket is read, no other task runs.
            std::thread::sleep(JOB);
            (begun, start.elapsed())
        }
        Way::AsyncSleep => {
            let begun = start.elapsed();
            // The task parks a waker in the timer wheel and returns `Pending`: the
            // loop goes back to the heartbeat at once.
            sleep(JOB).await;
            (begun, start.elapsed())
        }
        Way::SpawnBlocking => {
            // The blocking call moves to a pool thread. This task returns `Pending`
            // (its waker is parked in the job's result slot); when the job ends, the
            // pool thread stores the result and wakes the task through the runtime's
            // remote channel.
            spawn_blocking(move || {
                let begun = start.elapsed();
                std::thread::sleep(JOB);
                (begun, start.elapsed())
            })
            .await
            .expect("the job did not panic")
        }
    }
}

fn expected_ticks() -> usize {
    (RUN_FOR.as_millis() / PERIOD.as_millis()) as usize
}

fn longest_gap(ticks: &[Duration]) -> Duration {
    ticks
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap_or_default()
}

fn print_run(observed: &Observed) {
    println!(
        "ticks: expected {}, seen {}; longest gap between ticks: {} ms",
        expected_ticks(),
        observed.ticks.len(),
        longest_gap(&observed.ticks).as_millis()
    );
    println!(
        "loop:  longest poll {:.1?}; polls that stalled: {} (stall reports above: {} \
         while running, {} after)",
        observed.longest_poll, observed.stalls, observed.live_reports, observed.stalls
    );
    let slots = expected_ticks();
    let slot_of = |at: Duration| (at.as_millis() / PERIOD.as_millis()) as usize;
    let mut beats = vec!['.'; slots];
    for &tick in &observed.ticks {
        if let Some(slot) = beats.get_mut(slot_of(tick)) {
            *slot = '|';
        }
    }
    let (job_start, job_end) = observed.job;
    let job: String = (0..slots)
        .map(|slot| {
            let (from, to) = (PERIOD * slot as u32, PERIOD * (slot as u32 + 1));
            if job_start < to && job_end > from {
                '#'
            } else {
                ' '
            }
        })
        .collect();
    println!("           0         100       200       300       400 ms");
    println!("heartbeat  {}", beats.into_iter().collect::<String>());
    println!("job        {}", job.trim_end());
    println!();
}
