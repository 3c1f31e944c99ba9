//! Chapter `blocking`: a heartbeat, and a 150 ms job done three ways.
//!
//! A heartbeat task ticks every 10 ms for 300 ms. At 50 ms a worker task does a
//! 150 ms job: with `std::thread::sleep` inside the task (the loop's one thread is
//! held: the ticks stall), with an async sleep (the task waits, the loop runs on),
//! and with `spawn_blocking` (the blocking call moves to a pool thread). Both
//! runtimes behave alike here: neither can run a task while another holds the thread.
//! They differ in what they tell you: glassbox times every poll and reports the one
//! that blocked (the tour turns that report on in this chapter); tokio has no such
//! detector built in.
//!
//! The verdicts rest on bounds, not times: whether any tick came while the job ran,
//! and whether the longest gap between two ticks spans the whole job.
//!
//! asyncio's twin (`asyncio/blocking_twin.py`) does the same with `time.sleep` in the
//! coroutine, `asyncio.sleep`, and `loop.run_in_executor`. asyncio's stall report is
//! its debug mode: `loop.set_debug(True)` logs any step that ran longer than
//! `loop.slow_callback_duration` (set to the same 100 ms) once it has returned.

use std::time::Duration;

use crate::asyncio::{Twin, Value, field, millis};
use crate::report::{Cause, Row, asyncio_compare_on, compare, compare_on};
use crate::shim::on_both_runtimes;

/// The heartbeat's period, and the width of one timeline character.
pub const PERIOD: Duration = Duration::from_millis(10);
/// How long the heartbeat runs.
pub const RUN_FOR: Duration = Duration::from_millis(300);
/// When the worker starts its job, so the timeline shows a few ticks before it.
pub const JOB_STARTS_AT: Duration = Duration::from_millis(50);
/// How long the job takes.
pub const JOB: Duration = Duration::from_millis(150);
/// glassbox reports any poll longer than this.
pub const STALL_THRESHOLD: Duration = Duration::from_millis(100);

/// The three ways of doing the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    ThreadSleepInTheTask,
    AsyncSleep,
    SpawnBlocking,
}

pub const WAYS: [Way; 3] = [
    Way::ThreadSleepInTheTask,
    Way::AsyncSleep,
    Way::SpawnBlocking,
];

impl Way {
    fn describe(self) -> &'static str {
        match self {
            Way::ThreadSleepInTheTask => "std::thread::sleep(150 ms) inside the task",
            Way::AsyncSleep => "sleep(150 ms).await",
            Way::SpawnBlocking => "spawn_blocking(|| std::thread::sleep(150 ms)).await",
        }
    }

    /// The twin's name for this way.
    pub fn key(self) -> &'static str {
        match self {
            Way::ThreadSleepInTheTask => "thread_sleep_in_the_task",
            Way::AsyncSleep => "async_sleep",
            Way::SpawnBlocking => "spawn_blocking",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Way::ThreadSleepInTheTask => "thread::sleep in a task",
            Way::AsyncSleep => "an async sleep",
            Way::SpawnBlocking => "spawn_blocking",
        }
    }
}

/// What one run saw, in times since its start.
#[derive(Debug)]
pub struct Run {
    /// When each tick happened.
    pub ticks: Vec<Duration>,
    /// When the job started and ended.
    pub job: (Duration, Duration),
    /// How long each reported stall blocked the loop; `None` if the runtime has no
    /// stall detector.
    pub stalls: Option<Vec<Duration>>,
}

impl Run {
    /// What asyncio's twin printed for one way.
    pub fn from_twin(twin: &Value, way: Way) -> Run {
        let run = field(twin, way.key());
        let job = millis(run, "job_ms");
        Run {
            ticks: millis(run, "ticks_ms"),
            job: (job[0], job[1]),
            stalls: Some(millis(run, "stalls_ms")),
        }
    }

    pub fn longest_gap(&self) -> Duration {
        let gaps = self.ticks.windows(2).map(|pair| pair[1] - pair[0]);
        gaps.max().unwrap_or_default()
    }

    /// Ticks strictly inside the job: only possible if the loop ran during it.
    pub fn ticks_during_job(&self) -> usize {
        let (start, end) = self.job;
        let during = self
            .ticks
            .iter()
            .filter(|&&tick| start < tick && tick < end);
        during.count()
    }
}

on_both_runtimes! {
    /// The heartbeat and the worker, with the job done `way`'s way.
    pub fn heartbeat_during_job(way: Way) -> Run {
        let ((ticks, job), stalls) = rt::block_on_watching_stalls(STALL_THRESHOLD, async move {
            let start = rt::now();
            let heartbeat = rt::spawn(async move {
                let mut ticks = Vec::new();
                loop {
                    let at = rt::now() - start;
                    if at >= RUN_FOR {
                        return ticks;
                    }
                    ticks.push(at);
                    // Aim at the next 10 ms mark: a late tick does not drift the ones
                    // after it, and ticks missed in a stall are skipped, not made up.
                    let slot = (at.as_millis() / PERIOD.as_millis()) as u32 + 1;
                    rt::sleep_until(start + PERIOD * slot).await;
                }
            });
            let worker = rt::spawn(async move {
                rt::sleep(JOB_STARTS_AT).await;
                let since_start = move || rt::now() - start;
                match way {
                    Way::ThreadSleepInTheTask => {
                        let begun = since_start();
                        // The mistake: this poll holds the loop's only thread.
                        std::thread::sleep(JOB);
                        (begun, since_start())
                    }
                    Way::AsyncSleep => {
                        let begun = since_start();
                        rt::sleep(JOB).await;
                        (begun, since_start())
                    }
                    // On a pool thread, outside the loop: std's clock, which is the
                    // runtimes' clock too while it is not paused.
                    Way::SpawnBlocking => rt::spawn_blocking(move || {
                        let begun = start.elapsed();
                        std::thread::sleep(JOB);
                        (begun, start.elapsed())
                    })
                    .await
                    .expect("the job did not panic"),
                }
            });
            let job = worker.await.expect("the worker finished");
            (heartbeat.await.expect("the heartbeat finished"), job)
        });
        Run { ticks, job, stalls }
    }
}

pub fn run(asyncio: Twin) -> Vec<Row> {
    println!("A heartbeat ticks every 10 ms for 300 ms; at 50 ms a worker does a 150 ms job.");
    println!("One character per 10 ms: `|` a tick in that slot, `.` none; `#` the job running.");
    let glassbox = WAYS.map(glassbox_side::heartbeat_during_job);
    let tokio = WAYS.map(tokio_side::heartbeat_during_job);
    let twin = asyncio.observe();
    let python = twin.map(|twin| WAYS.map(|way| Run::from_twin(&twin, way)));
    let mut rows = Vec::new();
    for (i, way) in WAYS.into_iter().enumerate() {
        let asyncio = python.as_ref().map(|runs| &runs[i]);
        draw(way, &glassbox[i], &tokio[i], asyncio);
        rows.extend(judge(way, &glassbox[i], &tokio[i], asyncio));
    }
    println!();
    let glassbox_stalls = stalls_seen(&glassbox);
    rows.push(
        compare(
            "stall reported (thread::sleep; async sleep; spawn_blocking)",
            glassbox_stalls.0,
            stalls_seen(&tokio).0,
            &Cause {
title: "tokio has no stall detector built in",
why: "glassbox times every poll and reports one that holds the loop past a threshold \
      (100 ms here); tokio has no stall detector built in (tokio-console shows busy \
      tasks from outside)",
},
        )
        .with_asyncio(python.as_ref(), |runs| {
            let (seen, which) = stalls_seen(runs);
            asyncio_compare_on(
                glassbox_stalls.1,
                (format!("{seen} (debug mode)"), which),
                "asyncio's debug mode (slow_callback_duration) reported other steps",
            )
        }),
    );
    rows
}

/// Each way's stall reports, as a cell (`150 ms; none; none`), and which ways had one.
fn stalls_seen(runs: &[Run; 3]) -> (String, Vec<bool>) {
    if runs.iter().all(|run| run.stalls.is_none()) {
        return ("no built-in detector".to_string(), vec![false; 3]);
    }
    let cell = |run: &Run| match run.stalls.as_deref() {
        None => "no built-in detector".to_string(),
        Some([]) => "none".to_string(),
        Some(blocked) => {
            let ms: Vec<String> = blocked.iter().map(|d| d.as_millis().to_string()).collect();
            format!("{} ms", ms.join(", "))
        }
    };
    let cells: Vec<String> = runs.iter().map(cell).collect();
    let reported = runs
        .iter()
        .map(|run| run.stalls.as_ref().is_some_and(|s| !s.is_empty()));
    (cells.join("; "), reported.collect())
}

/// The rows for one way, judged on bounds: whether any tick came while the job ran,
/// and whether the longest gap between ticks spans the whole job.
fn judge(way: Way, glassbox: &Run, tokio: &Run, asyncio: Option<&Run>) -> [Row; 2] {
    let expected = (RUN_FOR.as_millis() / PERIOD.as_millis()) as usize;
    let ticks = |run: &Run| {
        let during = run.ticks_during_job();
        let seen = format!("{} of {expected}, {during} during the job", run.ticks.len());
        (seen, during > 0)
    };
    let gap = |run: &Run| {
        let longest = run.longest_gap();
        let spans_job = longest >= JOB;
        let answer = if spans_job { "yes" } else { "no" };
        (format!("{answer}: {} ms", longest.as_millis()), spans_job)
    };
    [
        compare_on(
            &format!("ticks seen, job done with {}", way.short()),
            ticks(glassbox),
            ticks(tokio),
            "one runtime kept the heartbeat going and the other did not",
        )
        .with_asyncio(asyncio, |asyncio| {
            asyncio_compare_on(
                ticks(glassbox).1,
                ticks(asyncio),
                "asyncio's heartbeat did otherwise",
            )
        }),
        compare_on(
            "longest gap between ticks ≥ the 150 ms job?",
            gap(glassbox),
            gap(tokio),
            "one runtime's heartbeat stopped for the whole job",
        )
        .with_asyncio(asyncio, |asyncio| {
            asyncio_compare_on(
                gap(glassbox).1,
                gap(asyncio),
                "asyncio's heartbeat did otherwise",
            )
        }),
    ]
}

/// Prints the runs' timelines, one character per `PERIOD`.
fn draw(way: Way, glassbox: &Run, tokio: &Run, asyncio: Option<&Run>) {
    let slots = (RUN_FOR.as_millis() / PERIOD.as_millis()) as usize;
    println!("\n  job done with {}", way.describe());
    let scale: String = (0..=RUN_FOR.as_millis())
        .step_by(50)
        .map(|ms| format!("{ms:<5}"))
        .collect();
    println!("  {:<10} {} ms", "", scale.trim_end());
    let runs = [("glassbox", glassbox), ("tokio", tokio)].into_iter();
    for (name, run) in runs.chain(asyncio.map(|run| ("asyncio", run))) {
        let mut beats = vec!['.'; slots];
        for tick in &run.ticks {
            if let Some(slot) = beats.get_mut((tick.as_millis() / PERIOD.as_millis()) as usize) {
                *slot = '|';
            }
        }
        let (start, end) = run.job;
        let job: String = (0..slots as u32)
            .map(|slot| {
                let (from, to) = (PERIOD * slot, PERIOD * (slot + 1));
                if start < to && end > from { '#' } else { ' ' }
            })
            .collect();
        println!(
            "  {name:<10} {} heartbeat",
            beats.into_iter().collect::<String>()
        );
        println!("  {:<10} {job} job", "");
    }
}
