//! Chapter `schedules`: a bug FIFO hides, and the explorer that finds it.
//!
//! Two withdrawals of 70 from an account of 100. Each checks the balance, then talks
//! to the bank (an `.await`), then pays out; the second starts two awaits later. Run
//! as a plain test, on glassbox, on tokio and on asyncio, it passes: each runtime's
//! one order lets the first pay out before the second checks, and 30 is left.
//!
//! glassbox can run the same program under other orders of its real loop
//! (`glassbox::explore`, issue 31): any ready task next, timers due together in any
//! order, small coop budgets, parked tasks woken for nothing. A thousand seeds of each
//! strategy find the order where both check first, and shrink it to the one choice
//! that matters; the fix (check and pay out with no await between) passes them all.
//! Neither tokio nor asyncio has such an explorer: there the plain test is all there
//! is, and it passes.

use crate::asyncio::{Twin, text};
use crate::report::{Cause, Row, asyncio_compare, asyncio_compare_on, compare, compare_on};
use crate::shim::on_both_runtimes;

/// How many seeds of each strategy the chapter explores.
pub const SEEDS: u64 = 1_000;

on_both_runtimes! {
    /// The two withdrawals; the balance left.
    pub async fn two_withdrawals(fixed: bool) -> i32 {
        let balance = std::rc::Rc::new(std::cell::Cell::new(100));
        let withdraw = move |balance: std::rc::Rc<std::cell::Cell<i32>>, later: bool| async move {
            if later {
                rt::yield_now().await;
                rt::yield_now().await;
            }
            if fixed {
                if balance.get() >= 70 {
                    balance.set(balance.get() - 70);
                }
                rt::yield_now().await;
            } else if balance.get() >= 70 {
                rt::yield_now().await; // talk to the bank between the check and the payout
                balance.set(balance.get() - 70);
            }
        };
        let first = rt::spawn(withdraw(balance.clone(), false));
        let second = rt::spawn(withdraw(balance.clone(), true));
        first.await.unwrap();
        second.await.unwrap();
        balance.get()
    }

    /// A plain run, as a test runs it: the program as a task on a paused runtime.
    pub fn plain(fixed: bool) -> String {
        let left = rt::block_on_paused(async move {
            rt::spawn(two_withdrawals(fixed)).await.unwrap()
        });
        left_over(left)
    }
}

/// A balance as the table shows it.
pub fn left_over(left: i32) -> String {
    if left >= 0 {
        format!("{left} left: passes")
    } else {
        format!("{left}: overdrawn")
    }
}

/// Exploring the program: each strategy's outcome, as text for the figures, and
/// whether one found the bug.
pub fn explored(fixed: bool) -> Vec<(glassbox::explore::Strategy, glassbox::explore::Outcome)> {
    use glassbox::explore::{Explorer, Strategy};
    [Strategy::Random, Strategy::Pct { depth: 3 }]
        .into_iter()
        .map(|strategy| {
            let outcome = Explorer::new()
                .seeds(SEEDS)
                .strategy(strategy)
                .run(move || async move {
                    let left = glassbox_side::two_withdrawals(fixed).await;
                    assert!(left >= 0, "overdrawn: {left}");
                });
            (strategy, outcome)
        })
        .collect()
}

/// The explorer's verdict in a cell: at which seed each strategy failed, or that
/// none did.
fn found(outcomes: &[(glassbox::explore::Strategy, glassbox::explore::Outcome)]) -> (String, bool) {
    let cells: Vec<String> = outcomes
        .iter()
        .map(|(strategy, outcome)| {
            let name = match strategy {
                glassbox::explore::Strategy::Random => "Random",
                _ => "Pct",
            };
            match outcome.failure().and_then(|failure| failure.seed()) {
                Some(seed) => format!("{name}: seed {seed}"),
                None => format!("{name}: none of {}", outcome.tried()),
            }
        })
        .collect();
    let any = outcomes.iter().any(|(_, outcome)| !outcome.is_ok());
    let verdict = if any { "overdrawn, found at" } else { "passes" };
    (format!("{verdict} {}", cells.join("; ")), any)
}

const NO_EXPLORER_TOKIO: Cause = Cause {
    title: "tokio has no schedule explorer",
    why: "tokio current_thread runs one order (its rng_seed orders only select!'s \
          branches; seeded scheduling, tokio #7888, was closed unmerged), so the plain \
          test is all a tokio user has, and it passes; glassbox's explorer runs the same \
          program under other orders of its real loop",
};

const NO_EXPLORER_ASYNCIO: Cause = Cause {
    title: "asyncio has no schedule explorer",
    why: "asyncio runs its callbacks in one order, FIFO; nothing in the standard \
          library tries others, so the plain run is all there is, and it passes",
};

pub fn run(asyncio: Twin) -> Vec<Row> {
    let (buggy, fixed) = (explored(false), explored(true));
    println!("The buggy program, explored ({SEEDS} seeds of each strategy):");
    for (_, outcome) in &buggy {
        for line in outcome.to_string().lines() {
            println!("  {line}");
        }
    }
    println!("The fix, explored:");
    for (_, outcome) in &fixed {
        println!("  {outcome}");
    }
    let twin = asyncio.observe();
    let not_explored = |runtime: &str| (format!("no explorer; {runtime}"), false);
    vec![
        compare(
            "a plain run (FIFO)",
            glassbox_side::plain(false),
            tokio_side::plain(false),
            "one runtime's own order overdraws",
        )
        .with_asyncio(twin.as_ref(), |twin| {
            asyncio_compare(
                glassbox_side::plain(false),
                text(twin, "plain"),
                "asyncio's own order overdraws",
            )
        }),
        compare_on(
            "explored: other orders",
            found(&buggy),
            not_explored("the plain run passes"),
            &NO_EXPLORER_TOKIO,
        )
        .with_asyncio(twin.as_ref(), |_| {
            asyncio_compare_on(
                found(&buggy).1,
                not_explored("the plain run passes"),
                &NO_EXPLORER_ASYNCIO,
            )
        }),
        compare(
            "the fix, a plain run",
            glassbox_side::plain(true),
            tokio_side::plain(true),
            "one runtime's own order overdraws the fix",
        )
        .with_asyncio(twin.as_ref(), |twin| {
            asyncio_compare(
                glassbox_side::plain(true),
                text(twin, "plain_fixed"),
                "asyncio's own order overdraws the fix",
            )
        }),
    ]
}
