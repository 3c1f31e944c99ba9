//! Chapter `fairness`: a heartbeat beside a loop that is never pending.
//!
//! A single-threaded loop runs another task only when the running one returns from
//! `poll`, and an `async fn` returns from `poll` only at an `.await` that is
//! `Pending`. Give it a loop whose every await is ready at once (a queue put and get,
//! a read of a socket whose peer keeps it full) and that poll does not return until
//! the loop ends. Nothing in it blocks; it is simply never *not* ready, and meanwhile
//! no other task runs and no timer fires. `executor/src/coop.rs` tells how this turned
//! an echo server out of file descriptors into a 100% CPU spin that served no one: its
//! accept loop failed at once, every time, and so never waited.
//!
//! The cooperative budget is the cure. A task's poll may complete 128 operations that
//! the runtime owns (a queue get, a socket read...); the next one returns `Pending`
//! instead, a *forced yield*, and the task runs again only after the loop has fired its
//! due timers and polled the reactor. tokio does the same, with the same 128.
//!
//! Here a heartbeat aims at every 10 ms mark for 300 ms while a second task runs a hot
//! loop: a queue put/get, or 64-byte reads of a TCP stream whose peer (a thread) never
//! stops writing. Each runs on glassbox with its budget on (the default), on glassbox
//! with `coop_budget(None)`, and on tokio, whose budget is always on (its queue is the
//! tour's stand-in, whose channel send and receive spend tokio's budget as glassbox's
//! put and get spend glassbox's). The budget off shows the trade-off: no forced
//! yields, so a burst of ready work runs in one go, and nothing else runs until it
//! ends.
//!
//! Last, a poll that no budget can cut short: a loop with no `.await` in it at all (it
//! wants a `consume_budget().await`). glassbox's watchdog thread reports that poll
//! *while it still runs*; tokio has no detector built in.
//!
//! The verdicts rest on counts and bounds, never on a time: a heartbeat is kept if it
//! ticked for at least half the 10 ms marks that fell within the hot loop, and its
//! longest silence is measured against half the loop.
//!
//! asyncio has no budget at all; `fairness_asyncio.rs` reads its twin and judges it.

use std::io::Write;
use std::iter::once;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use glassbox::{DEFAULT_COOP_BUDGET, LiveStall};

use super::fairness_asyncio::{self as versus, Observed};
use crate::asyncio::Twin;
use crate::report::{Cause, Row, compare_on};
use crate::shim::on_both_runtimes;

/// The heartbeat's period.
pub const PERIOD: Duration = Duration::from_millis(10);
/// How long the heartbeat and the hot loop run.
pub const RUN_FOR: Duration = Duration::from_millis(300);
/// The budget on: glassbox's default, and tokio's fixed one.
pub const BUDGET_ON: Option<u32> = Some(DEFAULT_COOP_BUDGET);
/// The size of one read in the socket loop: small, so that reads are many.
const READ: usize = 64;
/// glassbox's watchdog reports a poll still running after this long.
pub const STALL_THRESHOLD: Duration = Duration::from_millis(50);
/// How long the spinning poll spins, at least.
pub const SPIN: Duration = Duration::from_millis(300);
/// How long it spins at most while a report is awaited, so that the tour ends even
/// on a machine too loaded to run the watchdog.
pub const SPIN_CAP: Duration = Duration::from_secs(10);

/// The hot loops: every round is ready at once, never pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hot {
    /// A put then a get on a queue of one slot.
    QueuePutGet,
    /// 64-byte reads of a TCP stream whose peer never stops writing.
    SocketReads,
}

pub const HOT_LOOPS: [Hot; 2] = [Hot::QueuePutGet, Hot::SocketReads];

impl Hot {
    fn describe(self) -> &'static str {
        match self {
            Hot::QueuePutGet => "a queue put/get loop",
            Hot::SocketReads => "64-byte socket reads, data always there",
        }
    }

    /// Its name in the table, and in the asyncio twin's output.
    pub fn short(self) -> &'static str {
        match self {
            Hot::QueuePutGet => "queue",
            Hot::SocketReads => "socket",
        }
    }

    /// Operations per round that spend budget (a put and a get; one read).
    fn operations_per_round(self) -> u64 {
        match self {
            Hot::QueuePutGet => 2,
            Hot::SocketReads => 1,
        }
    }
}

/// What one run saw, in times since its start.
#[derive(Debug)]
pub struct Run {
    /// When each heartbeat came.
    pub ticks: Vec<Duration>,
    /// When the hot loop began and ended.
    pub hot: (Duration, Duration),
    /// How many rounds the hot loop ran.
    pub rounds: u64,
    /// How many polls the budget cut short; `None` if the runtime does not say.
    pub forced_yields: Option<u64>,
}

impl Run {
    /// The heartbeat's marks (every `PERIOD` before `RUN_FOR`) that fell strictly
    /// within the hot loop.
    pub fn marks_during(&self) -> usize {
        let (begun, ended) = self.hot;
        let marks = (1..).map(|n| PERIOD * n);
        let before_the_end = marks.take_while(|&mark| mark < ended.min(RUN_FOR));
        before_the_end.filter(|&mark| mark > begun).count()
    }

    /// Heartbeats that came strictly within the hot loop: only possible if the loop
    /// got the thread back while the hot loop ran.
    fn ticks_within(&self) -> impl Iterator<Item = Duration> + '_ {
        let (begun, ended) = self.hot;
        let ticks = self.ticks.iter().copied();
        ticks.filter(move |&tick| begun < tick && tick < ended)
    }

    pub fn ticks_during(&self) -> usize {
        self.ticks_within().count()
    }

    /// The heartbeat kept going: it came for at least half the marks within the loop.
    pub fn kept(&self) -> bool {
        2 * self.ticks_during() >= self.marks_during()
    }

    /// The longest stretch of the hot loop without a heartbeat: from its start to the
    /// first, between two, or from the last to its end.
    pub fn longest_silence(&self) -> Duration {
        let (begun, ended) = self.hot;
        let edges: Vec<Duration> = once(begun)
            .chain(self.ticks_within())
            .chain(once(ended))
            .collect();
        let silences = edges.windows(2).map(|pair| pair[1] - pair[0]);
        silences.max().unwrap_or_default()
    }
}

/// What a poll that never returned drew from the runtime.
#[derive(Debug)]
pub struct Spin {
    /// How long the poll spun.
    pub spun: Duration,
    /// The watchdog's reports, each made while the poll ran; `None`: the runtime has
    /// no live stall detector.
    pub reports: Option<Vec<LiveStall>>,
}

/// The far end of a stream that always has data: a std thread accepts one connection
/// on a fresh loopback listener and writes 64 KiB chunks into it until the reader
/// hangs up. One write fills what a thousand 64-byte reads drain, so the reads never
/// find the socket empty.
fn peer_that_keeps_writing() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback listener");
    let addr = listener.local_addr().expect("the listener's address");
    std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().expect("the reader connects");
        let chunk = vec![7u8; 64 * 1024];
        // Ends with an error (EPIPE or ECONNRESET) once the reader has closed.
        while peer.write_all(&chunk).is_ok() {}
    });
    addr
}

on_both_runtimes! {
    /// The heartbeat beside `hot` for `RUN_FOR`, with the coop budget at `budget`.
    pub fn heartbeat_beside(hot: Hot, budget: Option<u32>) -> Run {
        let ((ticks, (window, rounds)), forced_yields) =
            rt::block_on_with_budget(budget, async move {
                // The connection is made before the clock starts: only the loop is timed.
                let mut hot_loop = HotLoop::set_up(hot).await;
                let start = rt::now();
                let heartbeat = rt::spawn(heartbeat(start));
                let hot_task = rt::spawn(async move {
                    let begun = rt::now() - start;
                    let mut rounds = 0;
                    while rt::now() - start < RUN_FOR {
                        hot_loop.round().await;
                        rounds += 1;
                    }
                    ((begun, rt::now() - start), rounds)
                });
                let ticks = heartbeat.await.expect("the heartbeat finished");
                (ticks, hot_task.await.expect("the hot loop finished"))
            });
        Run { ticks, hot: window, rounds, forced_yields }
    }

    /// Ticks at each `PERIOD` mark from `start` until `RUN_FOR`; returns when each
    /// tick came.
    async fn heartbeat(start: Instant) -> Vec<Duration> {
        let mut ticks = Vec::new();
        loop {
            let at = rt::now() - start;
            if at >= RUN_FOR {
                return ticks;
            }
            ticks.push(at);
            // The mark after the last one served, even if it has passed: a heartbeat
            // that was held up catches up (as tokio's `interval` does by default). A
            // machine slow to schedule the process then costs it few ticks; a task
            // that keeps the loop's thread costs it all of them.
            rt::sleep_until(start + PERIOD * ticks.len() as u32).await;
        }
    }

    /// A hot loop's state.
    enum HotLoop {
        /// One slot: each put finds it free, each get finds the item.
        Queue(rt::Queue<u64>),
        /// A stream from `peer_that_keeps_writing`.
        Socket(rt::TcpStream),
    }

    impl HotLoop {
        async fn set_up(hot: Hot) -> HotLoop {
            match hot {
                Hot::QueuePutGet => HotLoop::Queue(rt::Queue::new(1)),
                Hot::SocketReads => {
                    let stream = rt::TcpStream::connect(peer_that_keeps_writing()).await;
                    HotLoop::Socket(stream.expect("connect to the writing peer"))
                }
            }
        }

        /// One round, ready at once.
        async fn round(&mut self) {
            match self {
                HotLoop::Queue(queue) => {
                    queue.put(1).await.expect("the queue is never shut down");
                    queue.get().await.expect("the queue is never shut down");
                }
                HotLoop::Socket(stream) => {
                    let mut buf = [0; READ];
                    let read = stream.read(&mut buf).await.expect("read the stream");
                    assert!(read > 0, "the peer never stops writing");
                }
            }
        }
    }

    /// A task whose poll spins, with no `.await` in its loop, for `SPIN`; and where the
    /// runtime has a live stall detector, on until it has reported the spin (or
    /// `SPIN_CAP` has passed).
    pub fn a_poll_that_never_returns() -> Spin {
        rt::block_on_watching_live_stalls(STALL_THRESHOLD, |live| async move {
            let spinner = rt::spawn(async move {
                let begun = Instant::now();
                // The mistake: nothing in this loop can be pending, and no budget is
                // spent in it, so this poll holds the thread until the loop ends.
                while begun.elapsed() < SPIN || (live.awaited() && begun.elapsed() < SPIN_CAP) {
                    std::hint::spin_loop();
                }
                Spin { spun: begun.elapsed(), reports: live.reports() }
            });
            spinner.await.expect("the spinner finished")
        })
    }
}

/// What one hot loop gave on each side: glassbox with the budget on and off, tokio.
pub struct Runs {
    pub hot: Hot,
    pub on: Run,
    pub off: Run,
    pub tokio: Run,
}

pub fn run(asyncio: Twin) -> Vec<Row> {
    println!("A heartbeat aims at every 10 ms mark for 300 ms beside a task whose loop is");
    println!("never pending. glassbox runs it with its coop budget on (128, the default) and");
    println!("off; tokio's budget is always on.");
    let runs: Vec<Runs> = HOT_LOOPS
        .into_iter()
        .map(|hot| Runs {
            hot,
            on: glassbox_side::heartbeat_beside(hot, BUDGET_ON),
            off: glassbox_side::heartbeat_beside(hot, None),
            tokio: tokio_side::heartbeat_beside(hot, BUDGET_ON),
        })
        .collect();
    let spins = (
        glassbox_side::a_poll_that_never_returns(),
        tokio_side::a_poll_that_never_returns(),
    );
    let python = asyncio.observe().map(|twin| Observed::from_twin(&twin));
    let python = python.as_ref();
    let mut rows: Vec<Row> = runs
        .iter()
        .zip(HOT_LOOPS)
        .flat_map(|(runs, hot)| budget_on_rows(runs, python.map(|twin| twin.beside(hot))))
        .collect();
    rows.push(budget_off_row(&runs).with_asyncio(python, |twin| versus::budget_off(&runs, twin)));
    rows.push(forced_yields_row(&runs).with_asyncio(python, versus::forced_yields));
    let live_stall = live_stall_row(&spins.0, &spins.1);
    rows.push(live_stall.with_asyncio(python, |twin| versus::live_stall(&spins.0, twin)));
    rows
}

/// How many heartbeats came within the hot loop, of how many marks; and whether that
/// is at least half.
pub fn heartbeats(run: &Run) -> (String, bool) {
    let verdict = if run.kept() { "kept" } else { "starved" };
    let seen = format!(
        "{} of {}: {verdict}",
        run.ticks_during(),
        run.marks_during()
    );
    (seen, run.kept())
}

/// The longest silence, and its class against the hot loop's length.
pub fn silence(run: &Run) -> (String, &'static str) {
    let (begun, ended) = run.hot;
    let longest = run.longest_silence();
    let class = if run.ticks_during() == 0 {
        "the whole loop"
    } else if longest * 2 >= ended - begun {
        "half the loop or more"
    } else {
        "under half the loop"
    };
    (format!("{} ms: {class}", longest.as_millis()), class)
}

/// One hot loop's rows, budget on against tokio, and against asyncio's twin.
fn budget_on_rows(runs: &Runs, asyncio: Option<&Run>) -> [Row; 2] {
    [
        compare_on(
            &format!("heartbeats during {}", runs.hot.describe()),
            heartbeats(&runs.on),
            heartbeats(&runs.tokio),
            "one runtime let the hot loop keep the thread",
        )
        .with_asyncio(asyncio, |asyncio| {
            versus::heartbeats_beside(&runs.on, asyncio)
        }),
        compare_on(
            "longest silence of the heartbeat in it",
            silence(&runs.on),
            silence(&runs.tokio),
            "one runtime's heartbeat went silent for much of the hot loop",
        )
        .with_asyncio(asyncio, |asyncio| versus::silence_beside(&runs.on, asyncio)),
    ]
}

/// Hot loops' heartbeats and longest silences as one cell; and which kept theirs.
pub fn both_hot_loops<'a>(runs: impl Iterator<Item = (Hot, &'a Run)>) -> (String, Vec<bool>) {
    let (seen, kept): (Vec<String>, Vec<bool>) = runs
        .map(|(hot, run)| {
            let (heartbeats, _) = heartbeats(run);
            let silent = run.longest_silence().as_millis();
            let seen = format!("{}: {heartbeats}, silent {silent} ms", hot.short());
            (seen, run.kept())
        })
        .unzip();
    (seen.join("; "), kept)
}

/// Both hot loops again, glassbox's budget off against tokio's (always on).
fn budget_off_row(runs: &[Runs]) -> Row {
    compare_on(
        "both hot loops, glassbox's budget off: heartbeats, longest silence",
        both_hot_loops(runs.iter().map(|runs| (runs.hot, &runs.off))),
        both_hot_loops(runs.iter().map(|runs| (runs.hot, &runs.tokio))),
        &Cause {
            title: "glassbox's coop budget can be turned off, tokio's cannot",
            why: "with coop_budget(None) nothing cuts the hot loop's poll short: always \
                  ready, it keeps the only thread until it ends, and no timer fires \
                  meanwhile. The trade-off: no forced yields, so ready work runs in one \
                  burst. tokio's budget is always on (its unconstrained lifts it for one \
                  future)",
        },
    )
}

/// Forced yields: glassbox counts them, tokio does not say.
fn forced_yields_row(runs: &[Runs]) -> Row {
    let counted = |run: &Run| run.forced_yields.expect("glassbox counts forced yields");
    let budget_on: Vec<String> = runs
        .iter()
        .map(|Runs { hot, on, .. }| {
            let yields = counted(on);
            let operations = on.rounds * hot.operations_per_round();
            match operations.checked_div(yields) {
                Some(per) => format!("{} {yields} (1 per {per} operations)", hot.short()),
                None => format!("{} 0", hot.short()),
            }
        })
        .collect();
    let budget_off: Vec<String> = runs
        .iter()
        .map(|runs| counted(&runs.off).to_string())
        .collect();
    let glassbox = format!(
        "{}; budget off: {}",
        budget_on.join(", "),
        budget_off.join(" and ")
    );
    let tokio_counts = runs.iter().all(|runs| runs.tokio.forced_yields.is_some());
    compare_on(
        "forced yields",
        (glassbox, true),
        ("not exposed (stable API)", tokio_counts),
        &Cause {
            title: "tokio counts forced yields only in its unstable metrics",
            why: "glassbox counts them in Metrics::forced_yields; tokio only in its unstable \
                  metrics (budget_forced_yield_count, built with --cfg tokio_unstable)",
        },
    )
}

/// A poll that never returns: reported while it runs, or not.
fn live_stall_row(glassbox: &Spin, tokio: &Spin) -> Row {
    let seen = |spin: &Spin| match &spin.reports {
        None => (
            format!("no built-in detector (spun {} ms)", spin.spun.as_millis()),
            false,
        ),
        Some(reports) if reports.is_empty() => (
            format!("not reported in {} ms of spinning", spin.spun.as_millis()),
            false,
        ),
        Some(reports) => {
            let at: Vec<String> = reports
                .iter()
                .map(|report| report.running_for.as_millis().to_string())
                .collect();
            let first = &reports[0];
            let cpu = first
                .cpu_share
                .map(|share| format!(", on the CPU {:.0}%", share * 100.0))
                .unwrap_or_default();
            let cause = format!("{:?}", first.cause).to_lowercase();
            let seen = format!(
                "reported while it ran: at {} ms; {cause}{cpu}",
                at.join(", ")
            );
            (seen, true)
        }
    };
    compare_on(
        "a poll that never returns (a loop with no .await)",
        seen(glassbox),
        seen(tokio),
        &Cause {
            title: "tokio has no stall detector built in",
            why: "glassbox's watchdog thread reports a poll still running past the stall threshold \
                  (50 ms here), again at 2x and 4x, with what the thread was doing; tokio has no \
                  stall detector built in (tokio-console shows busy tasks from outside)",
        },
    )
}
