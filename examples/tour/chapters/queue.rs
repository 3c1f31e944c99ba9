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

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use crate::report::{Row, compare, compare_on, ms};
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
}

pub fn run() -> Vec<Row> {
    let glassbox = glassbox_side::producers_and_consumers(10);
    let tokio = tokio_side::producers_and_consumers(10);
    let yes_no = |yes: bool| if yes { "yes" } else { "no" };
    let bounded = |run: &Run| {
        let within = run.max_qsize <= MAXSIZE;
        (format!("{} (bound {MAXSIZE})", run.max_qsize), within)
    };
    vec![
        compare(
            "the queue used",
            "glassbox::Queue",
            "mpsc + Mutex + Notify",
            "tokio has no asyncio.Queue: its side is built from tokio primitives",
        ),
        compare(
            "items processed",
            glassbox.got.len(),
            tokio.got.len(),
            "items were lost or duplicated",
        ),
        compare(
            "each item exactly once",
            yes_no(glassbox.each_item_once()),
            yes_no(tokio.each_item_once()),
            "items were lost or duplicated",
        ),
        compare(
            "each producer's items come out in its order",
            yes_no(glassbox.each_producer_in_order()),
            yes_no(tokio.each_producer_in_order()),
            "one queue reorders a producer's items",
        ),
        compare(
            "all items come out in the order producers offered them",
            yes_no(glassbox.got == glassbox.put),
            yes_no(tokio.got == tokio.put),
            "when a slot frees, glassbox reserves it for the first waiting producer and \
             lets no later put pass it; tokio's channel gives that sender a permit too, \
             but a sender that arrives before it runs may take another free slot and \
             put its item in first",
        ),
        compare_on(
            "most items held at once",
            bounded(&glassbox),
            bounded(&tokio),
            "one queue went past its bound",
        ),
        compare(
            "task_done calls when join returned",
            glassbox.done_at_join,
            tokio.done_at_join,
            "join returned before every item was marked done",
        ),
        compare(
            "consumers cancelled in get (JoinError::is_cancelled)",
            format!("{} of 3", glassbox.cancelled),
            format!("{} of 3", tokio.cancelled),
            "a consumer did not end as cancelled",
        ),
        compare(
            "virtual time until join returned",
            ms(glassbox.took),
            ms(tokio.took),
            "the consumers' work ended at different virtual times",
        ),
    ]
}
