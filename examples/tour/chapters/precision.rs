//! Chapter `precision`: how late does a 250 µs sleep end?
//!
//! A task sleeps 250 µs, 200 times in a row, and notes each time how much later
//! than 250 µs after it began the sleep ended. glassbox's timers count microseconds:
//! the wheel ticks every 1 µs, and on Linux the loop parks on a timerfd armed for
//! the next timer's exact instant (`executor/src/io/park_timer.rs`), so the sleep ends
//! a few microseconds late, however short it is. tokio's timer wheel counts whole
//! milliseconds: it rounds a deadline up to the next 1 ms tick, so a 250 µs sleep
//! ends about a millisecond after it began. asyncio's twin
//! (`asyncio/precision_twin.py`, `asyncio.sleep(0.00025)`) waits in epoll, whose
//! timeout is whole milliseconds too (`EpollSelector` rounds it up).
//!
//! The lateness is shown (p50, p99), not judged: it moves with the machine's load.
//! Two rows are judged, on bounds a loaded machine cannot easily move: whether the
//! median sleep ends within 250 µs of its deadline (the median, not the tail: a
//! busy 2-core machine delays some wake-ups by milliseconds, but not half of them),
//! and whether any sleep ever ends early (never, on all three: a timer fires only
//! once its deadline has passed).

use std::time::{Duration, Instant};

use crate::asyncio::{Twin, numbers};
use crate::report::{Cause, Row, asyncio_compare_on, asyncio_shown, compare_on, shown};
use crate::shim::on_both_runtimes;

/// The sleep asked for.
pub const SLEEP: Duration = Duration::from_micros(250);
/// How many sleeps in a row.
pub const SLEEPS: usize = 200;
/// A sleep is precise if its median lateness is within this.
pub const PRECISE_WITHIN_MICROS: f64 = 250.0;

/// How late each sleep ended, in microseconds after its deadline (negative: early).
#[derive(Debug)]
pub struct Lateness(pub Vec<f64>);

impl Lateness {
    /// The lateness that `fraction` of the sleeps did not exceed.
    pub fn percentile(&self, fraction: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
        sorted.get(index).copied().unwrap_or(f64::NAN)
    }

    /// The sleeps that ended before their deadline.
    pub fn early(&self) -> usize {
        self.0.iter().filter(|&&late| late < 0.0).count()
    }

    /// Is the median sleep within [`PRECISE_WITHIN_MICROS`] of its deadline?
    pub fn precise_at_p50(&self) -> bool {
        self.percentile(0.5) <= PRECISE_WITHIN_MICROS
    }

    fn spread(&self) -> String {
        let (p50, p99) = (self.percentile(0.5), self.percentile(0.99));
        format!("p50 {p50:.0} µs, p99 {p99:.0} µs")
    }

    fn within(&self) -> (String, bool) {
        let answer = if self.precise_at_p50() { "yes" } else { "no" };
        let p50 = self.percentile(0.5);
        (
            format!("{answer}: p50 {p50:.0} µs late"),
            self.precise_at_p50(),
        )
    }

    fn ever_early(&self) -> (String, bool) {
        let early = self.early();
        let answer = if early == 0 { "never" } else { "yes" };
        (format!("{answer}: {early} of {}", self.0.len()), early > 0)
    }
}

on_both_runtimes! {
    /// `sleeps` sleeps of [`SLEEP`], one after another, on the real clock.
    pub fn lateness(sleeps: usize) -> Lateness {
        rt::block_on(async move {
            let mut late = Vec::with_capacity(sleeps);
            for _ in 0..sleeps {
                let began = Instant::now();
                rt::sleep(SLEEP).await;
                // The sleep's own deadline is no earlier than `began + SLEEP`, so a
                // negative value here is a sleep that really ended early.
                let took = began.elapsed().as_secs_f64() - SLEEP.as_secs_f64();
                late.push(took * 1e6);
            }
            Lateness(late)
        })
    }
}

pub fn run(asyncio: Twin) -> Vec<Row> {
    let glassbox = glassbox_side::lateness(SLEEPS);
    let tokio = tokio_side::lateness(SLEEPS);
    let python = asyncio
        .observe()
        .map(|twin| Lateness(numbers(&twin, "lateness_us")));
    let python = python.as_ref();
    vec![
        shown(
            "lateness of sleep(250 µs), 200 in a row",
            glassbox.spread(),
            tokio.spread(),
        )
        .with_asyncio(python, |asyncio| asyncio_shown(asyncio.spread())),
        compare_on(
            "ends within 250 µs of its deadline, at the median?",
            glassbox.within(),
            tokio.within(),
            &Cause {
title: "tokio's timers count whole milliseconds",
why: "tokio's timer wheel counts whole milliseconds: it rounds a deadline up to the \
      next 1 ms tick, so a 250 µs sleep ends about 1 ms after it began; glassbox's \
      ticks are 1 µs, and its loop parks on a timerfd armed for the exact instant",
},
        )
        .with_asyncio(python, |asyncio| {
            asyncio_compare_on(
                glassbox.precise_at_p50(),
                asyncio.within(),
                &Cause {
title: "asyncio's epoll timeout counts whole milliseconds",
why: "asyncio's loop waits for its next timer in epoll, whose timeout is whole \
      milliseconds: EpollSelector rounds 250 µs up to 1 ms",
},
            )
        }),
        compare_on(
            "ever ends before its deadline?",
            glassbox.ever_early(),
            tokio.ever_early(),
            "one runtime fired a timer before its deadline",
        )
        .with_asyncio(python, |asyncio| {
            asyncio_compare_on(
                glassbox.ever_early().1,
                asyncio.ever_early(),
                "asyncio fired a timer before its deadline",
            )
        }),
    ]
}
