//! The chooser: answers the loop at each choice point (`event_loop/mod.rs`:
//! `Chooser`) from a seed, and writes down every answer, so that a run can be
//! replayed exactly and its departures from FIFO shrunk.
//!
//! # Ground rules
//! - Every answer is a number, decision `i` of the run: 0 is what FIFO does. A run is
//!   its list of answers; replaying a list gives the same answers (past its end, or
//!   where an answer no longer fits the choices, FIFO's).
//! - The seed decides everything through one xorshift generator, drawn the same way
//!   at the same decisions, so a seed replays byte for byte.
//! - A decision is asked only where there is a choice: two or more live tasks ready,
//!   two or more timers due on one tick, a live task to maybe wake, a budget to cut.
//! - Each costs the same however many tasks there are: a pick looks at the first
//!   `WINDOW` live tasks of the ready queue (a task may overtake up to 63 others at
//!   once, and more over several picks); a spurious wake tries a few random slab keys.
//!   (A first version scanned every task at each pick: ten thousand ready tasks made
//!   a patterns test run for minutes.)
//! - `Strategy::Random`: any ready task, uniformly; timers due together in any order;
//!   now and then a small coop budget, or a parked task woken for nothing.
//! - `Strategy::Pct { depth }` (probabilistic concurrency testing, Burckhardt et al.,
//!   ASPLOS 2010): each task gets a random priority when first seen, the highest
//!   ready one runs, and at `depth - 1` random steps the task chosen drops below
//!   every other. Timers, budgets and spurious wakes as with `Random`.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::panic::Location;

use crate::event_loop::{Chooser, Core};
use crate::observe::waits::Ordinal;
use crate::task::TaskId;
use crate::task::waker::WakeTarget;
use crate::time::wheel::Fired;

use super::{Choice, Decision, Strategy};

/// How far into the ready queue a pick looks: the next task runs from among the
/// first this many live ones.
const WINDOW: usize = 64;
/// How many slab keys a spurious wake tries before it gives up for this turn.
const SPURIOUS_TRIES: u64 = 8;
/// One turn in this many wakes a parked task for nothing.
const SPURIOUS_EVERY: u64 = 16;
/// One poll in this many gets a small coop budget.
const SMALL_BUDGET_EVERY: u64 = 32;
/// The small budgets an explored poll may get (answer 1 is budget 1, …).
const SMALL_BUDGETS: usize = 4;

/// A seeded chooser, or a replay of a list of answers.
pub(crate) struct Seeded {
    strategy: Strategy,
    rng: Cell<u64>,
    /// Answers to give instead of drawing them (a replay, or a shrink's trial).
    replay: Option<Vec<usize>>,
    /// Every decision so far, with its answer.
    pub(crate) decisions: RefCell<Vec<Decision>>,
    /// Pct: each task's priority (higher runs first); the ready-queue steps at which
    /// the chosen task drops; the steps so far.
    priorities: RefCell<HashMap<TaskId, u64>>,
    change_points: Vec<u64>,
    steps: Cell<u64>,
}

/// A live task in the ready queue: its place there, id and spawn site.
struct Candidate {
    at: usize,
    id: TaskId,
    spawned_at: &'static Location<'static>,
}

impl Seeded {
    /// A chooser drawing from `seed`; `expected_steps` guides where Pct's change
    /// points fall (the ready-queue decisions of an earlier run of the program).
    pub(crate) fn new(seed: u64, strategy: Strategy, expected_steps: u64) -> Seeded {
        let mut chooser = Seeded {
            strategy,
            // xorshift must not start at zero; splitmix spreads small seeds first.
            rng: Cell::new(splitmix(seed) | 1),
            replay: None,
            decisions: RefCell::default(),
            priorities: RefCell::default(),
            change_points: Vec::new(),
            steps: Cell::new(0),
        };
        if let Strategy::Pct { depth } = strategy {
            chooser.change_points = (1..depth.max(1))
                .map(|_| 1 + chooser.draw(expected_steps.max(1)))
                .collect();
        }
        chooser
    }

    /// A chooser that gives `answers`, in order, then FIFO's.
    pub(crate) fn replaying(answers: Vec<usize>) -> Seeded {
        Seeded {
            replay: Some(answers),
            ..Seeded::new(0, Strategy::Random, 1)
        }
    }

    /// A number in `0..below` (`below` > 0).
    fn draw(&self, below: u64) -> u64 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x % below
    }

    /// True once in `every` draws.
    fn now_and_then(&self, every: u64) -> bool {
        self.draw(every) == 0
    }

    /// The next decision, a `choice` among `of` answers: the replayed answer, or the
    /// drawn one; written down, and a departure from FIFO described by `describe`
    /// (only those: a run makes a decision per poll, and reports show departures).
    fn answer(
        &self,
        core: &Core,
        (choice, of): (Choice, usize),
        drawn: impl FnOnce() -> usize,
        describe: impl FnOnce(usize) -> String,
    ) -> usize {
        let index = self.decisions.borrow().len();
        let answer = match &self.replay {
            Some(answers) => answers.get(index).copied().filter(|&a| a < of).unwrap_or(0),
            None => drawn(),
        };
        let decision = Decision {
            turn: core.observers.counters.reactor_turns.get() + 1,
            choice,
            answer,
            of,
            what: if answer == 0 {
                String::new()
            } else {
                describe(answer)
            },
        };
        self.decisions.borrow_mut().push(decision);
        answer
    }

    /// Pct: the candidate with the highest priority (new tasks get theirs now), after
    /// which, at a change point, the chosen task drops below all.
    fn highest_priority(&self, candidates: &[Candidate]) -> usize {
        let Strategy::Pct { depth } = self.strategy else {
            unreachable!("only Pct has priorities")
        };
        let step = self.steps.get() + 1;
        self.steps.set(step);
        let mut priorities = self.priorities.borrow_mut();
        let mut best = 0;
        for (i, candidate) in candidates.iter().enumerate() {
            // Above every priority a change point gives (those are below `depth`).
            let priority = *priorities
                .entry(candidate.id)
                .or_insert_with(|| u64::from(depth) + 1 + self.draw(1 << 32));
            if priority > priorities[&candidates[best].id] {
                best = i;
            }
        }
        if let Some(point) = self.change_points.iter().position(|&p| p == step) {
            priorities.insert(candidates[best].id, point as u64);
        }
        best
    }
}

impl Chooser for Seeded {
    fn next_ready(&self, core: &Core, ready: &VecDeque<u32>) -> usize {
        // The first `WINDOW` live tasks of the queue: a pick costs the same with ten
        // thousand tasks ready as with ten.
        let candidates: Vec<Candidate> = {
            let tasks = core.tasks.borrow();
            let mut seen = Vec::new();
            ready
                .iter()
                .enumerate()
                .filter_map(|(at, &key)| {
                    let header = tasks.get(key as usize)?.header();
                    let live = header.is_scheduled() && !seen.contains(&header.id());
                    seen.push(header.id());
                    live.then_some(Candidate {
                        at,
                        id: header.id(),
                        spawned_at: header.spawned_at,
                    })
                })
                .take(WINDOW)
                .collect()
        };
        if candidates.len() < 2 {
            return 0;
        }
        let drawn = || match self.strategy {
            Strategy::Random => self.draw(candidates.len() as u64) as usize,
            Strategy::Pct { .. } => self.highest_priority(&candidates),
        };
        let describe = |answer: usize| {
            let (first, chosen) = (&candidates[0], &candidates[answer]);
            format!(
                "task {} ({}) ran before task {} ({})",
                chosen.id, chosen.spawned_at, first.id, first.spawned_at
            )
        };
        let answer = self.answer(core, (Choice::NextTask, candidates.len()), drawn, describe);
        candidates[answer].at
    }

    fn order_fired(&self, core: &Core, fired: &mut [Fired]) {
        self.maybe_wake_for_nothing(core);
        let mut start = 0;
        while start < fired.len() {
            let deadline = fired[start].deadline;
            let ties = fired[start..]
                .iter()
                .take_while(|timer| timer.deadline == deadline)
                .count();
            if ties > 1 {
                let drawn = || self.draw(ties as u64) as usize;
                let describe = |answer: usize| {
                    format!(
                        "of {ties} timers due at tick {deadline}, the one armed {} fired first",
                        Ordinal(answer + 1)
                    )
                };
                let answer = self.answer(core, (Choice::TimerOrder, ties), drawn, describe);
                fired[start..start + ties][..=answer].rotate_right(1);
            }
            start += ties;
        }
    }

    fn budget(&self, core: &Core, default: Option<u32>) -> Option<u32> {
        default?;
        let drawn = || {
            if self.now_and_then(SMALL_BUDGET_EVERY) {
                1 + self.draw(SMALL_BUDGETS as u64) as usize
            } else {
                0
            }
        };
        let task = core.polling.get();
        let describe = |budget| format!("task {task} polled with a coop budget of {budget}");
        match self.answer(core, (Choice::Budget, SMALL_BUDGETS + 1), drawn, describe) {
            0 => default,
            budget => Some(budget as u32),
        }
    }
}

impl Seeded {
    /// Now and then, wakes a parked task although nothing it waits for happened: a
    /// correct future copes with a poll that finds nothing changed.
    fn maybe_wake_for_nothing(&self, core: &Core) {
        // The answer is the woken task's slab key + 1 (0: none), so a replay wakes the
        // same task without listing the parked ones: a few random keys are tried
        // instead, in O(1) however many tasks there are.
        let slots = core.tasks.borrow().capacity() as u64;
        if slots == 0 || core.tasks.borrow().is_empty() {
            return;
        }
        let parked = |key: u64| -> Option<(WakeTarget, &'static Location<'static>)> {
            let tasks = core.tasks.borrow();
            let header = tasks.get(usize::try_from(key).ok()?)?.header();
            let target = WakeTarget {
                key: header.key(),
                id: header.id(),
            };
            (!header.is_scheduled()).then_some((target, header.spawned_at))
        };
        let drawn = || {
            if !self.now_and_then(SPURIOUS_EVERY) {
                return 0;
            }
            (0..SPURIOUS_TRIES)
                .map(|_| self.draw(slots))
                .find(|&key| parked(key).is_some())
                .map_or(0, |key| key as usize + 1)
        };
        let woken = |answer: usize| parked(answer.checked_sub(1)? as u64);
        let describe = |answer: usize| match woken(answer) {
            Some((target, at)) => format!(
                "task {} ({at}) woken for nothing (a spurious wake)",
                target.id
            ),
            // A replayed key whose task is no longer parked: nothing is woken.
            None => {
                "no task woken for nothing (a replayed key no task is parked under)".to_string()
            }
        };
        let answer = self.answer(
            core,
            (Choice::SpuriousWake, slots as usize + 1),
            drawn,
            describe,
        );
        if let Some((target, _)) = woken(answer) {
            core.wake_local(target);
        }
    }
}

/// SplitMix64: spreads a seed (0, 1, 2, …) over all 64 bits.
fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
