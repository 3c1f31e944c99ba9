//! Chapter `queue`: producers and consumers, asyncio.Queue style.
//!
//! Two producers put 10 items each into a queue of at most 5; three consumers get
//! items, work 1 ms on each and call `task_done`. The main task waits for the
//! producers, then `join`s the queue (returns once every item put has been marked
//! done), then cancels the consumers, which are parked in `get` by then.
//!
//! tokio has no asyncio.Queue: its side is the closest equivalent built from tokio
//! primitives in `shim/tokio.rs` (a bounded `mpsc` channel, a `Mutex` so several
//! consumers can share its receiver, an unfinished-item count and a `Notify` for
//! `join`). The rows compare glassbox's `Queue` with that stand-in.
//!
//! They differ in one place: when the queue is full and a slot frees up, glassbox
//! reserves it for the first waiting producer (whose item goes in when it next runs)
//! and lets no later put pass that reservation, even beside another free slot, so
//! items come out in exactly the order producers offered them. tokio's channel also
//! gives the first waiting sender a permit, but a sender that arrives while that
//! permit is unused and finds another free slot takes it at once, and can put its
//! own item in first. Each producer's own items stay in order on both.
//!
//! The chapter runs under the paused clock, so the consumers' 1 ms of work ends at
//! the same virtual instant on every run and the interleaving cannot depend on
//! machine load.
//!
//! asyncio's twin (`asyncio/queue_twin.py`) runs the same scenario on
//! `asyncio.Queue`, on a paused clock of its own. Its woken putter does not hold the
//! slot it was woken for either: it checks `full()` again when it runs, so a put
//! that runs first takes the slot, as on tokio. Getters, though, are served in the
//! order they lined up on all three. Last, Python 3.13's `shutdown`,
//! which glassbox's `Queue` follows (the tour's tokio stand-in has none): draining
//! after `shutdown(false)`, `shutdown(true)` counting the removed items as done, and
//! a getter parked when the queue shuts down.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use crate::asyncio::{Twin, Value, field, from_millis, number, numbers, text};
use crate::report::{
    Cause, Row, asyncio_compare, asyncio_compare_on, asyncio_skipped, asyncio_uses, compare,
    compare_on, ms, uses,
};
use crate::shim::on_both_runtimes;

/// The queue's bound.
pub const MAXSIZE: usize = 5;

/// What a producers/consumers run showed.
#[derive(Debug, Default)]
pub struct Run {
    /// Items in the order producers offered them to `put`.
    pub put: Vec<u32>,
    /// Items in the order consumers got them.
    pub got: Vec<u32>,
    /// `task_done` calls made when `join` returned.
    pub done_at_join: usize,
    /// The most items the queue held, read after each put.
    pub max_qsize: usize,
    /// Consumers whose `JoinHandle` said "cancelled" after `abort`.
    pub cancelled: usize,
    /// Virtual time from the start until `join` returned.
    pub took: Duration,
}

impl Run {
    /// What asyncio's twin printed.
    pub fn from_twin(twin: &Value) -> Run {
        let items = |key| {
            numbers(twin, key)
                .into_iter()
                .map(|item| item as u32)
                .collect()
        };
        Run {
            put: items("put"),
            got: items("got"),
            done_at_join: number(twin, "done_at_join") as usize,
            max_qsize: number(twin, "max_qsize") as usize,
            cancelled: number(twin, "cancelled") as usize,
            took: from_millis(number(twin, "took_ms")),
        }
    }

    /// Every item put was got exactly once.
    pub fn each_item_once(&self) -> bool {
        let distinct: BTreeSet<u32> = self.got.iter().copied().collect();
        let put: BTreeSet<u32> = self.put.iter().copied().collect();
        distinct.len() == self.got.len() && distinct == put
    }

    /// Each producer's items came out in the order it put them.
    pub fn each_producer_in_order(&self) -> bool {
        let of_producer = |items: &[u32], first| -> Vec<u32> {
            let mine = items.iter().filter(|&&item| item / 100 == first / 100);
            mine.copied().collect()
        };
        [0u32, 100]
            .into_iter()
            .all(|first| of_producer(&self.got, first) == of_producer(&self.put, first))
    }
}

on_both_runtimes! {
    /// 2 producers of `per_producer` items each, 3 consumers, join, cancel.
    pub fn producers_and_consumers(per_producer: u32) -> Run {
        rt::block_on_paused(async {
            let start = rt::now();
            let queue = rt::Queue::new(MAXSIZE);
            let run = Rc::new(RefCell::new(Run::default()));
            let done = Rc::new(Cell::new(0));
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    let (queue, run, done) = (queue.clone(), run.clone(), done.clone());
                    rt::spawn(async move {
                        loop {
                            let item = queue.get().await.expect("the queue is never shut down");
                            run.borrow_mut().got.push(item);
                            rt::sleep(Duration::from_millis(1)).await; // the work
                            done.set(done.get() + 1);
                            queue.task_done().expect("one task_done per item got");
                        }
                    })
                })
                .collect();
            let producers: Vec<_> = [0, 100]
                .into_iter()
                .map(|first| {
                    let (queue, run) = (queue.clone(), run.clone());
                    rt::spawn(async move {
                        for item in first..first + per_producer {
                            run.borrow_mut().put.push(item);
                            queue.put(item).await.expect("the queue is never shut down");
                            let mut run = run.borrow_mut();
                            run.max_qsize = run.max_qsize.max(queue.qsize());
                        }
                    })
                })
                .collect();
            for producer in producers {
                producer.await.expect("the producer finished");
            }
            queue.join().await;
            let done_at_join = done.get();
            let took = rt::now() - start;
            for consumer in &consumers {
                consumer.abort();
            }
            let mut cancelled = 0;
            for consumer in consumers {
                let error = consumer.await.expect_err("a consumer never returns");
                cancelled += usize::from(error.is_cancelled());
            }
            let mut run = run.take();
            run.done_at_join = done_at_join;
            run.cancelled = cancelled;
            run.took = took;
            run
        })
    }

    /// Consumers a, b and c park in `get` on an empty queue, in that order; then 1,
    /// 2 and 3 are put. Who gets what?
    pub fn getters_served_in_line_order() -> String {
        rt::block_on_paused(async {
            let queue = rt::Queue::new(MAXSIZE);
            let getters: Vec<_> = ["a", "b", "c"]
                .into_iter()
                .map(|name| {
                    let queue = queue.clone();
                    rt::spawn(async move {
                        let item = queue.get().await.expect("the queue is never shut down");
                        format!("{name} got {item}")
                    })
                })
                .collect();
            rt::yield_now().await; // let them line up
            for item in 1..=3 {
                queue.put(item).await.expect("the queue is never shut down");
            }
            let mut got = Vec::new();
            for getter in getters {
                got.push(getter.await.expect("the getter finished"));
            }
            got.join(", ")
        })
    }
}

// === shutdown (Python 3.13): glassbox and asyncio only ===

/// A glassbox-only scenario: what it printed.
pub type Scenario = fn() -> String;

/// The shutdown scenarios: the name `queue_twin.py` gives each, the row, the run.
pub const SHUTDOWN: [(&str, &str, Scenario); 3] = [
    (
        "drain",
        "shutdown(false): a put, then 3 gets",
        shutdown_then_drain,
    ),
    (
        "immediate",
        "shutdown(true) with one item got",
        shutdown_immediate,
    ),
    (
        "parked",
        "shutdown(false), a getter parked",
        shutdown_wakes_a_parked_getter,
    ),
];

/// A get's result, as `queue_twin.py` writes it.
async fn get_or_error(queue: &glassbox::Queue<u32>) -> String {
    match queue.get().await {
        Ok(item) => format!("Ok({item})"),
        Err(glassbox::QueueShutDown(())) => "Err(QueueShutDown)".to_string(),
    }
}

/// Items 1 and 2 queued, then `shutdown(false)`: a put fails, gets drain what is
/// left, then fail.
pub fn shutdown_then_drain() -> String {
    crate::shim::glassbox::block_on(async {
        let queue = glassbox::Queue::new(0);
        queue.put_nowait(1).expect("unbounded");
        queue.put_nowait(2).expect("unbounded");
        queue.shutdown(false);
        let put = match queue.put(3).await {
            Ok(()) => "Ok",
            Err(glassbox::QueueShutDown(_)) => "Err(QueueShutDown)",
        };
        let mut gets = Vec::new();
        for _ in 0..3 {
            gets.push(get_or_error(&queue).await);
        }
        format!("put: {put}; gets: {}", gets.join(", "))
    })
}

/// Items 1 and 2 queued, 1 got and not yet done, then `shutdown(true)`: item 2 is
/// removed and counts as done, so `join` returns after one `task_done`.
pub fn shutdown_immediate() -> String {
    crate::shim::glassbox::block_on(async {
        let queue = glassbox::Queue::new(0);
        queue.put_nowait(1).expect("unbounded");
        queue.put_nowait(2).expect("unbounded");
        let got = queue.get_nowait().expect("two items queued");
        queue.shutdown(true);
        let left = queue.qsize();
        queue.task_done().expect("item 1 is open");
        queue.join().await;
        let get = get_or_error(&queue).await;
        format!("got {got}; qsize after: {left}; join returned; get: {get}")
    })
}

/// A consumer parked in `get` on an empty queue, then `shutdown(false)`.
pub fn shutdown_wakes_a_parked_getter() -> String {
    crate::shim::glassbox::block_on(async {
        let queue = glassbox::Queue::new(0);
        let parked = glassbox::spawn({
            let queue = queue.clone();
            async move { get_or_error(&queue).await }
        });
        glassbox::yield_now().await; // let it park
        queue.shutdown(false);
        format!("parked get: {}", parked.await.expect("the getter finished"))
    })
}

pub fn run(asyncio: Twin) -> Vec<Row> {
    let glassbox = glassbox_side::producers_and_consumers(10);
    let tokio = tokio_side::producers_and_consumers(10);
    let twin = asyncio.observe();
    let python = twin.as_ref().map(Run::from_twin);
    let python = python.as_ref();
    let yes_no = |yes: bool| if yes { "yes" } else { "no" };
    let bounded = |run: &Run| {
        let within = run.max_qsize <= MAXSIZE;
        (format!("{} (bound {MAXSIZE})", run.max_qsize), within)
    };
    let lost = "items were lost or duplicated";
    let mut rows = vec![
        // tokio has no asyncio.Queue: its side is built from tokio primitives.
        uses("the queue used", "glassbox::Queue", "mpsc + Mutex + Notify")
            .with_asyncio(python, |_| asyncio_uses("asyncio.Queue")),
        compare("items processed", glassbox.got.len(), tokio.got.len(), lost)
            .with_asyncio(python, |a| {
                asyncio_compare(glassbox.got.len(), a.got.len(), lost)
            }),
        compare(
            "each item exactly once",
            yes_no(glassbox.each_item_once()),
            yes_no(tokio.each_item_once()),
            lost,
        )
        .with_asyncio(python, |a| {
            asyncio_compare(
                yes_no(glassbox.each_item_once()),
                yes_no(a.each_item_once()),
                lost,
            )
        }),
        compare(
            "each producer's items come out in its order",
            yes_no(glassbox.each_producer_in_order()),
            yes_no(tokio.each_producer_in_order()),
            "one queue reorders a producer's items",
        )
        .with_asyncio(python, |a| {
            asyncio_compare(
                yes_no(glassbox.each_producer_in_order()),
                yes_no(a.each_producer_in_order()),
                "asyncio's queue reorders a producer's items",
            )
        }),
        compare(
            "all items come out in the order producers offered them",
            yes_no(glassbox.got == glassbox.put),
            yes_no(tokio.got == tokio.put),
            &Cause {
                title: "glassbox's queue holds a freed slot for the put it wakes",
                why: "when a slot frees, glassbox reserves it for the first waiting producer and \
                      lets no later put pass it; tokio's channel gives that sender a permit too, \
                      but a sender that arrives before it runs may take another free slot and \
                      put its item in first",
            },
        )
        .with_asyncio(python, |a| {
            asyncio_compare(
                yes_no(glassbox.got == glassbox.put),
                yes_no(a.got == a.put),
                &Cause {
                    title: "asyncio's queue does not hold a freed slot for the putter it wakes",
                    why: "asyncio wakes the first waiting putter but does not hold the slot for \
                          it: the putter checks full() again when it runs, and a put that runs \
                          first (here the other producer, going on after its own put) takes it",
                },
            )
        }),
        compare_on(
            "most items held at once",
            bounded(&glassbox),
            bounded(&tokio),
            "one queue went past its bound",
        )
        .with_asyncio(python, |a| {
            asyncio_compare_on(
                bounded(&glassbox).1,
                bounded(a),
                "asyncio's went past its bound",
            )
        }),
        compare(
            "task_done calls when join returned",
            glassbox.done_at_join,
            tokio.done_at_join,
            "join returned before every item was marked done",
        )
        .with_asyncio(python, |a| {
            asyncio_compare(glassbox.done_at_join, a.done_at_join, "join returned early")
        }),
        compare(
            "consumers cancelled in get (JoinError::is_cancelled)",
            format!("{} of 3", glassbox.cancelled),
            format!("{} of 3", tokio.cancelled),
            "a consumer did not end as cancelled",
        )
        .with_asyncio(python, |a| {
            asyncio_compare(
                format!("{} of 3", glassbox.cancelled),
                format!("{} of 3", a.cancelled),
                "a consumer did not end with CancelledError",
            )
        }),
        compare(
            "virtual time until join returned",
            ms(glassbox.took),
            ms(tokio.took),
            "the consumers' work ended at different virtual times",
        )
        .with_asyncio(python, |a| {
            asyncio_compare(
                ms(glassbox.took),
                ms(a.took),
                "the work ended at another time",
            )
        }),
    ];
    let getters = glassbox_side::getters_served_in_line_order();
    rows.push(
        compare(
            "getters parked a, b, c, then 3 puts",
            getters.as_str(),
            tokio_side::getters_served_in_line_order().as_str(),
            "one queue serves waiting getters out of line order",
        )
        .with_asyncio(twin.as_ref(), |twin| {
            asyncio_compare(
                getters.clone(),
                text(twin, "getters"),
                "asyncio serves getters out of line",
            )
        }),
    );
    let shutdown = twin.as_ref().map(|twin| field(twin, "shutdown"));
    for (key, what, scenario) in SHUTDOWN {
        let glassbox = scenario();
        rows.push(
            compare(
                what,
                glassbox.as_str(),
                "no shutdown (stand-in)",
                &Cause {
                    title: "the tour's tokio stand-in has no shutdown",
                    why: "the tour's tokio stand-in has no shutdown (its nearest is \
                          mpsc::Receiver::close: sends fail, receives drain)",
                },
            )
            .with_asyncio(shutdown, |shutdown| match shutdown.get(key) {
                Some(_) => asyncio_compare(
                    glassbox.clone(),
                    text(shutdown, key),
                    "glassbox's shutdown parts from Python 3.13's here",
                ),
                None => asyncio_skipped(text(shutdown, "skipped")),
            }),
        );
    }
    rows
}
