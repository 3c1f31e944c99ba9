//! The tour, first stop: a few tasks and a timer on glassbox, and what happened.
//!
//! Run it with `cargo run --release --example tour`. (The side-by-side comparison
//! with tokio grows here as the patterns land.)

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use glassbox::time::{self, Timer};
use glassbox::{Runtime, spawn, yield_now};

fn main() -> std::io::Result<()> {
    let mut rt = Runtime::new()?;
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let started = Instant::now();

    rt.block_on({
        let log = log.clone();
        async move {
            let note = move |log: &Rc<RefCell<Vec<String>>>, what: String| {
                let at = started.elapsed().as_secs_f64() * 1000.0;
                log.borrow_mut().push(format!("{at:>8.2} ms  {what}"));
            };
            let sleeper = spawn({
                let log = log.clone();
                async move {
                    note(&log, "sleeper: waiting 20 ms on a timer".into());
                    Timer::new(time::now() + Duration::from_millis(20)).await;
                    note(&log, "sleeper: timer fired".into());
                }
            });
            let yielders: Vec<_> = ["a", "b"]
                .into_iter()
                .map(|name| {
                    let log = log.clone();
                    spawn(async move {
                        for step in 1..=2 {
                            note(&log, format!("yielder {name}: step {step}"));
                            yield_now().await;
                        }
                    })
                })
                .collect();
            for handle in yielders {
                handle.await.expect("yielder finished");
            }
            sleeper.await.expect("sleeper finished");
        }
    });

    println!("glassbox: what happened, in order");
    for line in log.borrow().iter() {
        println!("  {line}");
    }
    let metrics = rt.metrics();
    println!(
        "metrics: {} tasks spawned, {} polls, {} local wakes, {} timers fired, {} reactor turns",
        metrics.tasks_spawned,
        metrics.polls,
        metrics.local_wakes,
        metrics.timers_fired,
        metrics.reactor_turns
    );
    Ok(())
}
