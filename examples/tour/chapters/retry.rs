//! Chapter `retry`: call a flaky operation again, waiting longer after each failure.
//!
//! The policy: first wait 100 ms, double each time, never more than 400 ms, at most
//! 6 attempts. glassbox has `retry_if`; tokio has no retry of its own (the
//! tokio-retry and backon crates fill the gap), so its side runs the same loop
//! written by hand with `tokio::time::sleep` (`shim/tokio.rs`), reading the same
//! `Backoff`'s delays.
//!
//! Under the paused clock (glassbox's `paused_clock(true)`, tokio's
//! `start_paused(true)`) every sleep ends exactly on its deadline, so the times at
//! which the attempts start are exact and can be compared: 0, 100, 300, 700, 1100,
//! 1500 ms.
//!
//! asyncio has no retry helper either: its twin (`asyncio/retry_twin.py`) is the
//! lesson's `retry_with_backoff`, a plain loop around `asyncio.sleep`, with the same
//! policy, on a paused clock of its own.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::asyncio::{Twin, Value, field, millis, text};
use crate::report::{Row, asyncio_compare, asyncio_uses, compare, uses};
use crate::shim::on_both_runtimes;

/// The policy of every scenario here.
pub fn policy() -> glassbox::Backoff {
    glassbox::Backoff::new(Duration::from_millis(100))
        .factor(2.0)
        .max_delay(Duration::from_millis(400))
        .max_attempts(6)
}

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try (a timeout, a 503).
    Transient,
    /// Not worth it (a 404, bad credentials).
    Permanent,
}

/// What a retried operation did.
#[derive(Debug, PartialEq, Eq)]
pub struct Attempts {
    /// When each attempt started, in virtual time since the first.
    pub started_at: Vec<Duration>,
    /// What `retry_if` returned: the attempt that succeeded, or the last error.
    pub result: Result<usize, (usize, Failure)>,
}

/// When attempts started, as the table shows it: whole milliseconds, unless a time
/// is not (then it shows, to the microsecond).
fn schedule(started_at: &[Duration]) -> String {
    let ms = started_at.iter().map(|at| match at.as_micros() {
        micros if micros % 1000 == 0 => (micros / 1000).to_string(),
        micros => format!("{:.3}", micros as f64 / 1000.0),
    });
    ms.collect::<Vec<_>>().join(" ")
}

/// asyncio's twin's scenario: its schedule, and its result as the chapter writes it.
pub fn asyncio_attempts(scenario: &Value) -> (String, String) {
    let started_at = millis(scenario, "started_at_ms");
    (schedule(&started_at), text(scenario, "result"))
}

impl Attempts {
    pub fn schedule(&self) -> String {
        schedule(&self.started_at)
    }

    pub fn outcome(&self) -> String {
        match self.result {
            Ok(attempt) => format!("Ok on attempt {attempt}"),
            Err((attempt, failure)) => format!("Err({failure:?}) of attempt {attempt}"),
        }
    }
}

on_both_runtimes! {
    /// An operation whose attempt `n` (from 1) fails with `fail(n)`, or succeeds if
    /// that is `None`; retried under [`policy`], retrying transient failures only.
    pub fn retried(fail: Fails) -> Attempts {
        rt::block_on_paused(async {
            let start = rt::now();
            let started_at = Rc::new(RefCell::new(Vec::new()));
            let result = rt::retry_if(
                policy(),
                || {
                    let started_at = started_at.clone();
                    async move {
                        started_at.borrow_mut().push(rt::now() - start);
                        let attempt = started_at.borrow().len();
                        match fail(attempt) {
                            None => Ok(attempt),
                            Some(failure) => Err((attempt, failure)),
                        }
                    }
                },
                |(_, failure)| *failure == Failure::Transient,
            )
            .await;
            Attempts { started_at: started_at.take(), result }
        })
    }
}

/// Fails three times, then succeeds.
pub fn flaky(attempt: usize) -> Option<Failure> {
    (attempt <= 3).then_some(Failure::Transient)
}

/// Never succeeds.
pub fn down(_attempt: usize) -> Option<Failure> {
    Some(Failure::Transient)
}

/// Fails once transiently, then permanently.
pub fn then_refused(attempt: usize) -> Option<Failure> {
    Some(if attempt == 1 {
        Failure::Transient
    } else {
        Failure::Permanent
    })
}

/// How attempt `n` (from 1) fails, if it does.
pub type Fails = fn(usize) -> Option<Failure>;

/// The scenarios: the name `retry_twin.py` gives each, the row's, and how it fails.
pub const SCENARIOS: [(&str, &str, Fails); 3] = [
    ("flaky", "fails 3 times, then works", flaky),
    ("down", "always fails", down),
    ("then_refused", "transient, then permanent", then_refused),
];

pub fn run(asyncio: Twin) -> Vec<Row> {
    let runs: Vec<_> = SCENARIOS
        .into_iter()
        .map(|(key, name, fail)| {
            (
                key,
                name,
                glassbox_side::retried(fail),
                tokio_side::retried(fail),
            )
        })
        .collect();
    let twin = asyncio.observe();
    let mut rows = vec![
        // tokio has no retry: its side is the same backoff loop written with
        // tokio::time::sleep; asyncio has no retry helper either: the lesson's
        // retry_with_backoff is a loop around asyncio.sleep.
        uses(
            "the retry loop",
            "glassbox::retry_if",
            "hand-written, tokio sleep",
        )
        .with_asyncio(twin.as_ref(), |_| {
            asyncio_uses("the lesson's loop, asyncio.sleep")
        }),
    ];
    for (key, name, glassbox, tokio) in runs {
        let asyncio = twin.as_ref().map(|twin| asyncio_attempts(field(twin, key)));
        rows.push(
            compare(
                &format!("{name}: attempts at (virtual ms)"),
                glassbox.schedule(),
                tokio.schedule(),
                "the backoff sleeps end at different virtual times",
            )
            .with_asyncio(asyncio.as_ref(), |(schedule, _)| {
                asyncio_compare(
                    glassbox.schedule(),
                    schedule.clone(),
                    "the sleeps end at other times",
                )
            }),
        );
        rows.push(
            compare(
                &format!("{name}: result"),
                glassbox.outcome(),
                tokio.outcome(),
                "the loops stop at different attempts",
            )
            .with_asyncio(asyncio.as_ref(), |(_, outcome)| {
                asyncio_compare(
                    glassbox.outcome(),
                    outcome.clone(),
                    "the loops stop at other attempts",
                )
            }),
        );
    }
    rows
}
