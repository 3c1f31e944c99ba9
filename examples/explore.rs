//! A bug FIFO hides, found by exploring schedules: two withdrawals from one
//! account, each checking the balance, then talking to the bank (an `.await`), then
//! paying out.
//!
//! ```text
//! cargo run --release --example explore
//! ```
//!
//! Run as a plain test, the program passes: under FIFO (glassbox's order, and
//! tokio's) the first withdrawal pays out before the second one checks. The explorer
//! runs it under many seeded schedules of the real runtime (`glassbox::explore`),
//! finds one where both check first, shrinks that schedule to the one choice that
//! matters, and says how to replay it. The fix (check and pay out with no await
//! between) then passes a thousand schedules.

use std::cell::Cell;
use std::rc::Rc;

use glassbox::explore::{Explorer, Strategy};
use glassbox::{Runtime, spawn, yield_now};

/// Two withdrawals of 70 from 100. The second starts two awaits later.
async fn two_withdrawals(fixed: bool) {
    let balance = Rc::new(Cell::new(100));
    let withdraw = move |balance: Rc<Cell<i32>>, later: bool| async move {
        if later {
            yield_now().await;
            yield_now().await;
        }
        if fixed {
            if balance.get() >= 70 {
                balance.set(balance.get() - 70); // check and pay out, no await between
            }
            yield_now().await; // then talk to the bank
        } else if balance.get() >= 70 {
            yield_now().await; // talk to the bank between the check and the payout
            balance.set(balance.get() - 70);
        }
    };
    let first = spawn(withdraw(balance.clone(), false));
    let second = spawn(withdraw(balance.clone(), true));
    first.await.unwrap();
    second.await.unwrap();
    assert!(balance.get() >= 0, "overdrawn: {}", balance.get());
}

fn main() {
    // 1. A plain run: FIFO, the order a test sees. It passes.
    let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
    let plain = rt.spawn(two_withdrawals(false));
    let passed = rt.block_on(plain).is_ok();
    println!(
        "plain run (FIFO): {}",
        if passed { "passes" } else { "fails" }
    );

    // 2. Explored: many schedules, the first failure shrunk.
    for strategy in [Strategy::Random, Strategy::Pct { depth: 3 }] {
        let outcome = Explorer::new()
            .seeds(1_000)
            .strategy(strategy)
            .run(|| two_withdrawals(false));
        println!("\nexplored with {strategy:?}:\n{outcome}");
    }

    // 3. The fix, under a thousand schedules of each strategy.
    for strategy in [Strategy::Random, Strategy::Pct { depth: 3 }] {
        let outcome = Explorer::new()
            .seeds(1_000)
            .strategy(strategy)
            .run(|| two_withdrawals(true));
        println!("\nthe fix, {strategy:?}: {outcome}");
    }
}
