//! Exploring schedules: run a program under many seeded schedules of the real
//! runtime, report the one that fails, shrink it to the fewest departures from
//! FIFO, and replay it.
//!
//! A program that passes under FIFO (glassbox's order, and tokio current_thread's
//! too, near enough) can still rely on it. Here the loop asks a [`Chooser`]
//! (`chooser.rs`) wherever it has a choice: which ready task runs next, in which
//! order timers due on one tick fire, whether a poll gets a smaller coop budget,
//! whether a parked task is woken for nothing. Each seed gives one schedule; the
//! first that makes the program panic is shrunk (`shrink.rs`) and reported with the
//! line that replays it.
//!
//! The order of one poll's I/O events, of the remote wakes drained in one turn and
//! of blocking jobs' completions is not asked separately: it only decides the order
//! in which the woken tasks join the ready queue, and the next-task choice picks
//! any of the first 64 ready tasks, so every order of the tasks they wake is
//! reached (`tests/explore.rs` shows both orders of two tasks for each). Real
//! sockets work under exploration, but their timing is the kernel's: prefer
//! in-process pairs (`UnixStream::pair`), whose data is there as soon as written.
//!
//! ```text
//! Explorer::run ─► for each seed: fresh paused-clock runtime ─► spawn(program)
//!                    └─ turn until it ends, or nothing can ever wake it (deadlock)
//!               ─► first failure: shrink its departures ─► Outcome (Display)
//! ```
//!
//! ```
//! use std::cell::Cell;
//! use std::rc::Rc;
//! use executor::explore::{Explorer, Strategy};
//!
//! // Two withdrawals of 70 from a balance of 100, each checking first, across an
//! // await. The second starts a little later: under FIFO the first has paid out
//! // before the second checks, and a plain test passes.
//! let outcome = Explorer::new().seeds(200).strategy(Strategy::Random).run(|| async {
//!     let balance = Rc::new(Cell::new(100));
//!     let withdraw = |balance: Rc<Cell<i32>>, later: bool| async move {
//!         if later {
//!             executor::yield_now().await;
//!             executor::yield_now().await;
//!         }
//!         if balance.get() >= 70 {
//!             executor::yield_now().await; // talk to the bank
//!             balance.set(balance.get() - 70);
//!         }
//!     };
//!     let a = executor::spawn(withdraw(balance.clone(), false));
//!     let b = executor::spawn(withdraw(balance.clone(), true));
//!     a.await.unwrap();
//!     b.await.unwrap();
//!     assert!(balance.get() >= 0, "overdrawn: {}", balance.get());
//! });
//! let failure = outcome.failure().expect("some order overdraws");
//! assert!(failure.message().contains("overdrawn: -40"));
//! assert!(!failure.schedule().is_empty(), "FIFO alone does not overdraw");
//! println!("{outcome}");
//! ```
//!
//! # Ground rules
//! - Paused clock always: time is part of the schedule. Real sockets still work, but
//!   their timing is not under the explorer's control: prefer in-process pairs
//!   (`UnixStream::pair`).
//! - Each seed replays exactly: same program, same seed, same answers, same failure.
//!   `GLASSBOX_SEED=<seed>` makes `run` try only that seed.
//! - A run that cannot go on (every task parked, no timer, no blocking job, no
//!   source registered) is a deadlock, and a failure; so is one past `MAX_TURNS`.
//! - FIFO stays the default everywhere else: a runtime built without
//!   `Builder::schedule` never asks a chooser.

mod chooser;
mod run;
mod shrink;

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::event_loop::Chooser;
pub(crate) use chooser::Seeded;
use run::{Program, run_program, run_recorded};

/// The most turns one explored run may take before it counts as a failure (a
/// livelock, or a program far larger than exploring suits).
const MAX_TURNS: u64 = 1_000_000;

/// Which schedule a runtime follows where the loop has a choice
/// (`Builder::schedule`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Schedule {
    /// First in, first out: the order tasks were woken, timers in deadline (then
    /// arming) order. The default.
    #[default]
    Fifo,
    /// The choices the explorer's default strategy makes from this seed.
    Seeded(u64),
}

/// How a seed picks among the choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// Uniformly at random, at every choice.
    Random,
    /// Probabilistic concurrency testing: random task priorities, the highest ready
    /// task runs, and `depth - 1` times in a run the running task drops to the
    /// lowest priority. Finds a bug that needs `depth` orderings right with a known
    /// probability per seed.
    Pct {
        /// How many orderings a bug may need (3 finds most).
        depth: u32,
    },
}

impl Default for Strategy {
    fn default() -> Strategy {
        Strategy::Pct { depth: 3 }
    }
}

/// Runs a program under many schedules. See the module doc.
#[derive(Debug, Clone)]
pub struct Explorer {
    seeds: u64,
    strategy: Strategy,
    replay: Option<Replay>,
    /// Where to record the failing schedule's run as a page, if anywhere.
    record: Option<PathBuf>,
}

#[derive(Debug, Clone)]
enum Replay {
    Seed(u64),
    Answers(Vec<usize>),
}

/// One choice the loop made, and what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// The turn it was made in.
    pub turn: u64,
    /// Which of the loop's choices it was.
    pub choice: Choice,
    /// The answer: 0 is what FIFO does.
    pub answer: usize,
    /// How many answers there were.
    pub of: usize,
    /// What a departure from FIFO meant: `task 3 (src/bank.rs:20:5) ran before task 2
    /// (src/bank.rs:14:5)`. Empty for FIFO's own answer (0): it is written only where
    /// a report may show it.
    pub what: String,
}

/// The loop's choice points (`event_loop/mod.rs`: `Chooser`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Choice {
    /// Which ready task runs next.
    NextTask,
    /// The order of timers due on one tick.
    TimerOrder,
    /// The coop budget of a poll.
    Budget,
    /// Whether a parked task is woken for nothing.
    SpuriousWake,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.answer {
            0 => write!(f, "turn {}: FIFO's answer ({:?})", self.turn, self.choice),
            _ => write!(f, "turn {}: {}", self.turn, self.what),
        }
    }
}

/// What exploring found.
#[derive(Debug, Clone)]
pub struct Outcome {
    strategy: Strategy,
    tried: u64,
    distinct: usize,
    took: Duration,
    failure: Option<Failure>,
}

/// A schedule under which the program failed.
#[derive(Debug, Clone)]
pub struct Failure {
    seed: Option<u64>,
    message: String,
    /// The shrunk schedule's departures from FIFO.
    schedule: Vec<Decision>,
    /// Its answers, to replay it ([`Explorer::replay_shrunk`]).
    answers: Vec<usize>,
    /// How many departures the schedule had before shrinking.
    departures_before: usize,
    strategy: Strategy,
    /// Where its run was recorded as a page, if it was.
    recorded: Option<PathBuf>,
}

impl Default for Explorer {
    fn default() -> Explorer {
        Explorer::new()
    }
}

impl Explorer {
    /// 100 seeds, `Strategy::Pct { depth: 3 }`.
    pub fn new() -> Explorer {
        Explorer {
            seeds: 100,
            strategy: Strategy::default(),
            replay: None,
            record: None,
        }
    }

    /// How many schedules (seeds 0 to `seeds - 1`) to try.
    ///
    /// # Panics
    /// If `seeds` is 0.
    #[track_caller]
    pub fn seeds(mut self, seeds: u64) -> Explorer {
        assert!(
            seeds > 0,
            "glassbox: Explorer::seeds must be at least 1 (got 0)"
        );
        self.seeds = seeds;
        self
    }

    /// How each seed picks.
    ///
    /// # Panics
    /// If `Strategy::Pct` has depth 0.
    #[track_caller]
    pub fn strategy(mut self, strategy: Strategy) -> Explorer {
        if let Strategy::Pct { depth } = strategy {
            assert!(
                depth > 0,
                "glassbox: Strategy::Pct's depth must be at least 1 (got 0)"
            );
        }
        self.strategy = strategy;
        self
    }

    /// Records the failing schedule's run (the shrunk one) as a page at `path`, to
    /// step through in a browser (`Builder::record`). `GLASSBOX_RECORD=path` does the
    /// same; the runs that pass are never recorded.
    pub fn record(mut self, path: impl Into<PathBuf>) -> Explorer {
        self.record = Some(path.into());
        self
    }

    /// Tries only `seed`: the schedule a failure reported, exactly.
    pub fn replay(mut self, seed: u64) -> Explorer {
        self.replay = Some(Replay::Seed(seed));
        self
    }

    /// Tries only the shrunk schedule of `failure`.
    pub fn replay_shrunk(mut self, failure: &Failure) -> Explorer {
        self.strategy = failure.strategy;
        self.replay = Some(Replay::Answers(failure.answers.clone()));
        self
    }

    /// Runs a fresh future from `program` on a fresh paused-clock runtime for each
    /// schedule, until one fails (it panics, deadlocks, or never ends) or all pass.
    ///
    /// The program runs as a task spawned where `run` is called: that is the spawn
    /// site a reported schedule names for it.
    ///
    /// # Panics
    /// If `GLASSBOX_SEED` is set to something that is not a number.
    #[track_caller]
    pub fn run<F, Fut>(&self, program: F) -> Outcome
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
    {
        let program = Program {
            make: program,
            at: Location::caller(),
        };
        let started = Instant::now();
        let expected_steps = run_program(&program, Rc::new(Seeded::replaying(Vec::new())))
            .decisions
            .iter()
            .filter(|decision| decision.choice == Choice::NextTask)
            .count() as u64;
        let seeds: Vec<u64> = match &self.replay {
            Some(Replay::Seed(seed)) => vec![*seed],
            Some(Replay::Answers(answers)) => {
                let run = run_program(&program, Rc::new(Seeded::replaying(answers.clone())));
                return Outcome {
                    strategy: self.strategy,
                    tried: 1,
                    distinct: 1,
                    took: started.elapsed(),
                    failure: run
                        .failed
                        .map(|message| self.failure(None, message, run.decisions, 0)),
                };
            }
            None => match seed_from_env() {
                Some(seed) => vec![seed],
                None => (0..self.seeds).collect(),
            },
        };
        let mut distinct = HashSet::new();
        let mut tried = 0;
        for seed in seeds {
            tried += 1;
            let chooser = Rc::new(Seeded::new(seed, self.strategy, expected_steps));
            let run = run_program(&program, chooser);
            distinct.insert(fingerprint(&run.decisions));
            if let Some(message) = run.failed {
                let failure = self.shrunk(&program, seed, message, run.decisions);
                return Outcome {
                    strategy: self.strategy,
                    tried,
                    distinct: distinct.len(),
                    took: started.elapsed(),
                    failure: Some(failure),
                };
            }
        }
        Outcome {
            strategy: self.strategy,
            tried,
            distinct: distinct.len(),
            took: started.elapsed(),
            failure: None,
        }
    }

    /// The failure of `seed`, its schedule shrunk to the fewest departures that
    /// still fail.
    fn shrunk<F, Fut>(
        &self,
        program: &Program<F>,
        seed: u64,
        message: String,
        decisions: Vec<Decision>,
    ) -> Failure
    where
        F: Fn() -> Fut,
        Fut: Future + 'static,
    {
        let departures: Vec<(usize, usize)> = (decisions.iter().enumerate())
            .filter(|(_, decision)| decision.answer != 0)
            .map(|(i, decision)| (i, decision.answer))
            .collect();
        let before = departures.len();
        let answers_of = |kept: &[(usize, usize)]| {
            let mut answers = vec![0; kept.last().map_or(0, |&(i, _)| i + 1)];
            for &(i, answer) in kept {
                answers[i] = answer;
            }
            answers
        };
        let kept = shrink::shrink(departures, |kept| {
            run_program(program, Rc::new(Seeded::replaying(answers_of(kept))))
                .failed
                .is_some()
        });
        let answers = answers_of(&kept);
        let record = (self.record.clone())
            .or_else(|| std::env::var_os("GLASSBOX_RECORD").map(PathBuf::from))
            .filter(|path| !path.as_os_str().is_empty());
        let chooser = Rc::new(Seeded::replaying(answers.clone()));
        let last = run_recorded(program, chooser, record.clone());
        match last.failed {
            Some(shrunk_message) => {
                let mut failure = self.failure(Some(seed), shrunk_message, last.decisions, before);
                failure.answers = answers;
                failure.recorded = record;
                failure
            }
            // Cannot happen with a deterministic program; report the seed unshrunk.
            None => self.failure(Some(seed), message, decisions, before),
        }
    }

    fn failure(
        &self,
        seed: Option<u64>,
        message: String,
        decisions: Vec<Decision>,
        before: usize,
    ) -> Failure {
        let answers = decisions.iter().map(|decision| decision.answer).collect();
        Failure {
            seed,
            message,
            schedule: decisions.into_iter().filter(|d| d.answer != 0).collect(),
            answers,
            departures_before: before,
            strategy: self.strategy,
            recorded: None,
        }
    }
}

impl Outcome {
    /// True if no schedule failed.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    /// The failing schedule, if one failed.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// How many schedules were tried.
    pub fn tried(&self) -> u64 {
        self.tried
    }

    /// How many of them differed (by their list of answers).
    pub fn distinct(&self) -> usize {
        self.distinct
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "explored {} schedule(s) ({:?}), {} distinct, in {:.2} s: ",
            self.tried,
            self.strategy,
            self.distinct,
            self.took.as_secs_f64()
        )?;
        match &self.failure {
            None => write!(f, "none failed"),
            Some(failure) => write!(f, "{failure}"),
        }
    }
}

impl Failure {
    /// The seed whose schedule failed (`None` for a replayed shrunk schedule).
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// The panic message (with its place), or why the run could not go on.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The schedule's departures from FIFO, shrunk: each a choice FIFO would have
    /// made otherwise.
    pub fn schedule(&self) -> &[Decision] {
        &self.schedule
    }

    /// The page the failing run was recorded to ([`Explorer::record`]), if any.
    pub fn recorded(&self) -> Option<&Path> {
        self.recorded.as_deref()
    }

    /// How to run this schedule again.
    pub fn replay_hint(&self) -> String {
        match self.seed {
            Some(seed) => format!(
                "GLASSBOX_SEED={seed} (a plain run tries only that seed), or \
                 Explorer::new().strategy(Strategy::{:?}).replay({seed})",
                self.strategy
            ),
            None => "Explorer::new().replay_shrunk(&failure)".to_string(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seed {
            Some(seed) => writeln!(f, "seed {seed} failed: {}", self.message)?,
            None => writeln!(f, "the replayed schedule failed: {}", self.message)?,
        }
        writeln!(
            f,
            "the schedule, shrunk from {} to {} departure(s) from FIFO:",
            self.departures_before,
            self.schedule.len()
        )?;
        // The same choice made again at once (two picks in one turn) reads once.
        let mut lines: Vec<(String, usize)> = Vec::new();
        for decision in &self.schedule {
            let line = decision.to_string();
            match lines.last_mut() {
                Some((last, times)) if *last == line => *times += 1,
                _ => lines.push((line, 1)),
            }
        }
        for (line, times) in lines {
            match times {
                1 => writeln!(f, "  {line}")?,
                n => writeln!(f, "  {line} ({n} times)")?,
            }
        }
        if self.schedule.is_empty() {
            writeln!(f, "  (none: it fails under FIFO too)")?;
        }
        write!(f, "replay: {}", self.replay_hint())?;
        if let Some(page) = &self.recorded {
            write!(f, "\nrecorded: {} (open it in a browser)", page.display())?;
        }
        Ok(())
    }
}

/// A schedule's fingerprint: the hash of its answers.
fn fingerprint(decisions: &[Decision]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for decision in decisions {
        decision.answer.hash(&mut hasher);
    }
    hasher.finish()
}

/// `GLASSBOX_SEED`, if set.
fn seed_from_env() -> Option<u64> {
    let value = std::env::var("GLASSBOX_SEED").ok()?;
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    Some(value.parse().unwrap_or_else(|_| {
        panic!("glassbox: GLASSBOX_SEED must be a whole number (a seed to replay), got {value:?}")
    }))
}

/// The chooser a runtime built with `schedule` asks, if any.
pub(crate) fn chooser_for(schedule: Schedule) -> Option<Rc<dyn Chooser>> {
    match schedule {
        Schedule::Fifo => None,
        Schedule::Seeded(seed) => Some(Rc::new(Seeded::new(seed, Strategy::default(), 64))),
    }
}
