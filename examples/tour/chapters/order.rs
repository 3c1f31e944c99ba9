//! Chapter `order`: in what order do spawned, yielding and woken tasks run?
//!
//! Both runtimes run newly spawned tasks in spawn order and wake timers in deadline
//! order; timers with the *same* deadline wake in the order they were set (glassbox's
//! wheel appends to a slot's list and fires it from the front). When the loop wakes
//! late and many timers are due at once, glassbox still fires them by deadline, to
//! the microsecond, as asyncio's heap does; tokio's millisecond ticks may merge two
//! close deadlines into one, which then wakes in the order set. They differ on
//! `yield_now`: glassbox puts a yielding task at the back of the ready queue at once,
//! like asyncio's `await asyncio.sleep(0)`; tokio defers it until after its next
//! I/O-driver poll and then wakes the deferred tasks last-in, first-out — an
//! implementation detail its maintainers call subject to change. They differ on a
//! zero `sleep` too: glassbox's yields once, as `asyncio.sleep(0)` does, so tasks
//! that sleep zero take turns; tokio's is ready at once when its deadline is due
//! (it only spends coop budget), so one task runs on until its budget or its work
//! runs out. (On tokio's real clock a zero sleep rounds up to the next 1 ms tick and
//! waits for it, so the scenario runs on the paused clock, where it is exact.)
//!
//! asyncio's twin (`asyncio/order_twin.py`) runs each scenario with
//! `asyncio.create_task`; it has one way to yield, `await asyncio.sleep(0)`, which
//! stands for both `yield_now` and the zero sleep, and yields exactly once.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use crate::asyncio::{Twin, number, text};
use crate::report::{Cause, Row, Why, asyncio_compare, asyncio_shown, compare, ms, shown};
use crate::shim::on_both_runtimes;

/// A shared log the tasks write their names into.
type Log = Rc<RefCell<Vec<String>>>;

fn note(log: &Log, entry: impl Into<String>) {
    log.borrow_mut().push(entry.into());
}

on_both_runtimes! {
    /// Three tasks spawned in order a, b, c, each logging once.
    pub fn spawn_order() -> String {
        rt::block_on(async {
            let log = Log::default();
            let handles: Vec<_> = ["a", "b", "c"]
                .into_iter()
                .map(|name| {
                    let log = log.clone();
                    rt::spawn(async move { note(&log, name) })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
            log.borrow().join(" ")
        })
    }

    /// Three tasks each log then yield, three times over.
    pub fn yield_interleaving() -> String {
        rt::block_on(take_turns(rt::yield_now))
    }

    /// Three tasks each log then sleep zero, three times over (paused clock).
    pub fn zero_sleep_interleaving() -> String {
        rt::block_on_paused(take_turns(|| rt::sleep(Duration::ZERO)))
    }

    /// Three tasks, a, b and c, each log a step then await `pause()`, three times
    /// over; returns the log.
    async fn take_turns<P: Future<Output = ()> + 'static>(pause: fn() -> P) -> String {
        let log = Log::default();
        let handles: Vec<_> = ["a", "b", "c"]
            .into_iter()
            .map(|name| {
                let log = log.clone();
                rt::spawn(async move {
                    for round in 1..=3 {
                        note(&log, format!("{name}{round}"));
                        pause().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
        log.borrow().join(" ")
    }

    /// Tasks sleep 30, 10 and 20 ms; which wakes first, and when is the last done?
    pub fn timer_order() -> (String, Duration) {
        rt::block_on(async {
            let start = rt::now();
            let log = Log::default();
            let handles: Vec<_> = [30u64, 10, 20]
                .into_iter()
                .map(|ms| {
                    let log = log.clone();
                    rt::spawn(async move {
                        rt::sleep(Duration::from_millis(ms)).await;
                        note(&log, format!("{ms}ms"));
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
            let order = log.borrow().join(" ");
            (order, rt::now() - start)
        })
    }

    /// Three tasks sleep until the same instant, set in order a, b, c. (Paused
    /// clock: the three deadlines are exactly equal whatever the machine's load.)
    pub fn same_deadline_order() -> String {
        rt::block_on_paused(async {
            let log = Log::default();
            let at = rt::now() + Duration::from_millis(10);
            let handles: Vec<_> = ["a", "b", "c"]
                .into_iter()
                .map(|name| {
                    let log = log.clone();
                    rt::spawn(async move {
                        rt::sleep_until(at).await;
                        note(&log, name);
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
            log.borrow().join(" ")
        })
    }

    /// Two timers set in order a (due at 50.9 ms), b (due at 50.1 ms); then the loop
    /// wakes late, at 60 ms (the block_on future blocks), and both are due at once.
    /// Which wakes first?
    pub fn late_wake_order() -> String {
        rt::block_on(async {
            let log = Log::default();
            let start = rt::now();
            let handles: Vec<_> = [("a", 50_900u64), ("b", 50_100)]
                .into_iter()
                .map(|(name, micros)| {
                    let log = log.clone();
                    let at = start + Duration::from_micros(micros);
                    rt::spawn(async move {
                        rt::sleep_until(at).await;
                        note(&log, name);
                    })
                })
                .collect();
            rt::yield_now().await; // both timers are set
            std::thread::sleep(Duration::from_millis(60)); // the loop wakes late
            for handle in handles {
                handle.await.unwrap();
            }
            log.borrow().join(" ")
        })
    }

    /// Does a spawned task run before the spawner's next step, or only once the
    /// spawner yields?
    pub fn spawner_runs_first() -> String {
        rt::block_on(async {
            let log = Log::default();
            let child = rt::spawn({
                let log = log.clone();
                async move { note(&log, "child") }
            });
            note(&log, "parent-before-await");
            child.await.unwrap();
            note(&log, "parent-after-await");
            log.borrow().join(" ")
        })
    }
}

pub fn run(asyncio: Twin) -> Vec<Row> {
    let (glassbox_timers, glassbox_took) = glassbox_side::timer_order();
    let (tokio_timers, tokio_took) = tokio_side::timer_order();
    // (what, glassbox, tokio, the twin's key, why glassbox and tokio may differ)
    let judged = [
        (
            "spawn order",
            glassbox_side::spawn_order(),
            tokio_side::spawn_order(),
            "spawn_order",
            Why::Plain("spawned tasks are queued in a different order"),
        ),
        (
            "spawner keeps running until it awaits",
            glassbox_side::spawner_runs_first(),
            tokio_side::spawner_runs_first(),
            "spawner_runs_first",
            Why::Plain("one runtime runs a spawned task eagerly"),
        ),
        (
            "timers wake in deadline order",
            glassbox_timers,
            tokio_timers,
            "timer_order",
            Why::Plain("timer wake order differs"),
        ),
        (
            "timers with the same deadline (set a, b, c)",
            glassbox_side::same_deadline_order(),
            tokio_side::same_deadline_order(),
            "same_deadline_order",
            Why::Plain("timers due on the same tick wake in a different order"),
        ),
        (
            "timers due together after a late wake (set a at 50.9 ms, b at 50.1 ms)",
            glassbox_side::late_wake_order(),
            tokio_side::late_wake_order(),
            "late_wake_order",
            Why::Known(&Cause {
                title: "tokio's timers count whole milliseconds",
                why: "tokio counts time in whole milliseconds, so two deadlines 0.8 ms apart \
                      often share its tick and wake in the order they were set; glassbox's \
                      microsecond deadlines keep them apart and fire a late batch by deadline",
            }),
        ),
        (
            "yield_now interleaving (a, b, c; 3 rounds)",
            glassbox_side::yield_interleaving(),
            tokio_side::yield_interleaving(),
            "yield_interleaving",
            Why::Known(&Cause {
                title: "tokio runs yielded tasks after its driver, last in first out",
                why: "glassbox re-queues a yielding task at once (FIFO, like asyncio's sleep(0)); \
                      tokio defers it until after its next driver poll, then wakes the deferred \
                      tasks last-in-first-out (its maintainers call this subject to change)",
            }),
        ),
        (
            "sleep(ZERO) interleaving (a, b, c; 3 rounds)",
            glassbox_side::zero_sleep_interleaving(),
            tokio_side::zero_sleep_interleaving(),
            "zero_sleep_interleaving",
            Why::Known(&Cause {
                title: "tokio's zero sleep does not yield: it is ready at once",
                why: "glassbox's zero sleep yields once, like asyncio's sleep(0), so the tasks \
                      take turns; tokio's is ready at once when due (it spends coop budget), so \
                      each task runs its three rounds in one go",
            }),
        ),
    ];
    let twin = asyncio.observe();
    let mut rows: Vec<Row> = judged
        .into_iter()
        .map(|(what, glassbox, tokio, key, why)| {
            let row = compare(what, glassbox.as_str(), tokio.as_str(), why);
            row.with_asyncio(twin.as_ref(), |twin| {
                asyncio_compare(
                    glassbox,
                    text(twin, key),
                    "asyncio runs its tasks in another order",
                )
            })
        })
        .collect();
    let took = shown(
        "last of the timers done after",
        ms(glassbox_took),
        ms(tokio_took),
    );
    rows.insert(
        4,
        took.with_asyncio(twin.as_ref(), |twin| {
            asyncio_shown(format!("{:.1} ms", number(twin, "timers_took_ms")))
        }),
    );
    rows
}
