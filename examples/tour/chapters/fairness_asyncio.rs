//! The `fairness` chapter's asyncio column: what `asyncio/fairness_twin.py` saw, and
//! how it is judged against glassbox.
//!
//! asyncio has no cooperative budget. A coroutine gives the loop back only at an
//! await that really waits; `await queue.put(x)` on a queue with room, or `await
//! queue.get()` on one with an item, completes without yielding, so a loop of them
//! keeps the thread as glassbox's does with `coop_budget(None)`. The socket loop
//! reads with `StreamReader.read`, which waits, and so yields, each time the
//! reader's buffer runs dry: that gives the heartbeat its turns, as glassbox's budget
//! does, though nothing counts or bounds them.
//!
//! asyncio's stall report is its debug mode: `loop.set_debug(True)` logs a step that
//! ran longer than `slow_callback_duration`, once the step has returned.

use std::time::Duration;

use super::fairness::{HOT_LOOPS, Hot, Run, Runs, Spin, both_hot_loops, heartbeats, silence};
use crate::asyncio::{Value, field, from_millis, millis, number};
use crate::report::{Cause, Third, asyncio_compare_on};

/// Why asyncio's heartbeat can starve where glassbox's (budget on) does not.
pub const NO_BUDGET: Cause = Cause {
    title: "asyncio has no cooperative budget",
    why: "asyncio has no cooperative budget: an await that completes \
          at once (a put with room, a get with an item) does not yield, so the loop keeps the \
          thread, as on glassbox with coop_budget(None)",
};

/// What asyncio's twin printed.
pub struct Observed {
    /// A run beside each of [`HOT_LOOPS`], in that order.
    runs: Vec<Run>,
    /// How long the step with no await spun.
    spun: Duration,
    /// How long debug mode said each slow step ran, reported once it had returned.
    reported: Vec<Duration>,
}

impl Observed {
    pub fn from_twin(twin: &Value) -> Observed {
        let run = |hot: Hot| {
            let run = field(twin, hot.short());
            let hot = millis(run, "hot_ms");
            Run {
                ticks: millis(run, "ticks_ms"),
                hot: (hot[0], hot[1]),
                rounds: number(run, "rounds") as u64,
                forced_yields: None,
            }
        };
        let spin = field(twin, "spin");
        Observed {
            runs: HOT_LOOPS.into_iter().map(run).collect(),
            spun: from_millis(number(spin, "spun_ms")),
            reported: millis(spin, "reported_ms"),
        }
    }

    /// The run beside `hot`.
    pub fn beside(&self, hot: Hot) -> &Run {
        let index = HOT_LOOPS.iter().position(|&each| each == hot);
        &self.runs[index.expect("one of HOT_LOOPS")]
    }
}

/// Heartbeats beside one hot loop: glassbox's with its budget on, and asyncio's.
pub fn heartbeats_beside(glassbox: &Run, asyncio: &Run) -> Third {
    asyncio_compare_on(heartbeats(glassbox).1, heartbeats(asyncio), &NO_BUDGET)
}

/// The heartbeat's longest silence beside one hot loop, glassbox's budget on.
pub fn silence_beside(glassbox: &Run, asyncio: &Run) -> Third {
    asyncio_compare_on(silence(glassbox).1, silence(asyncio), &NO_BUDGET)
}

/// Both hot loops with no budget: glassbox's turned off, asyncio's absent.
pub fn budget_off(runs: &[Runs], asyncio: &Observed) -> Third {
    let glassbox = both_hot_loops(runs.iter().map(|runs| (runs.hot, &runs.off)));
    let asyncio = both_hot_loops(HOT_LOOPS.into_iter().map(|hot| (hot, asyncio.beside(hot))));
    asyncio_compare_on(
        glassbox.1,
        asyncio,
        &Cause {
            title: "asyncio's StreamReader yields each time its buffer runs dry",
            why: "asyncio's StreamReader.read waits, and so yields, each time its buffer runs dry \
                  (every 64 KiB or so here): the socket loop gives the heartbeat turns without any \
                  budget. Its queue loop never waits, and keeps the thread",
        },
    )
}

/// Forced yields: asyncio has no budget, so none to count.
pub fn forced_yields(_asyncio: &Observed) -> Third {
    asyncio_compare_on(
        true,
        ("no budget: none", false),
        &Cause {
            title: "asyncio has no cooperative budget",
            why: "asyncio has no cooperative budget: a step ends only at an await that waits",
        },
    )
}

/// A step that never returns: glassbox's watchdog reports it while it runs;
/// asyncio's debug mode, after.
pub fn live_stall(glassbox: &Spin, asyncio: &Observed) -> Third {
    let reported_live = glassbox
        .reports
        .as_ref()
        .is_some_and(|live| !live.is_empty());
    let at: Vec<String> = asyncio
        .reported
        .iter()
        .map(|d| d.as_millis().to_string())
        .collect();
    let seen = match at.as_slice() {
        [] => format!(
            "not reported in {} ms (debug mode)",
            asyncio.spun.as_millis()
        ),
        _ => format!("debug mode, once it returned: took {} ms", at.join(", ")),
    };
    asyncio_compare_on(
        reported_live,
        (seen, false),
        &Cause {
            title: "asyncio's debug mode reports a slow step only once it has returned",
            why: "asyncio's debug mode (slow_callback_duration, 50 ms here) logs a slow step only \
                  once it has returned; glassbox's watchdog thread reports it while it still runs",
        },
    )
}
