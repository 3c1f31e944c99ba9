//! Chapter `semaphore`: at most N at once, the asyncio lesson's rate limiter.
//!
//! 100 jobs are spawned in order; each takes a permit from a semaphore of 10, works
//! 1 to 5 ms (so permits come back out of order), and gives it back. Both runtimes'
//! semaphores are strictly first come, first served: a permit freed while others
//! wait goes to the one that has waited longest, never to a newcomer. So the jobs
//! are admitted in exactly the order they were spawned, whatever order the permits
//! come back in, and never more than 10 run at once.
//!
//! asyncio's twin (`asyncio/semaphore_twin.py`) runs the same jobs through
//! `asyncio.Semaphore(10)` with `async with`. It has no `close`: an asyncio user stops
//! a waiter by cancelling its task, which is what its last cell shows.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use crate::asyncio::{Twin, Value, from_millis, number, numbers, text};
use crate::report::{Cause, Row, asyncio_compare, asyncio_shown, compare, ms, shown};
use crate::shim::on_both_runtimes;

/// What a run of jobs through the semaphore showed.
#[derive(Debug)]
pub struct Admission {
    /// Job numbers in the order they got their permit.
    pub order: Vec<usize>,
    /// The most jobs that held a permit at the same time.
    pub max_concurrent: usize,
    /// Permits free once every job is done.
    pub permits_after: usize,
    /// From the first spawn to the last job done.
    pub took: Duration,
}

impl Admission {
    /// What asyncio's twin printed.
    pub fn from_twin(twin: &Value) -> Admission {
        Admission {
            order: numbers(twin, "order")
                .into_iter()
                .map(|job| job as usize)
                .collect(),
            max_concurrent: number(twin, "max_concurrent") as usize,
            permits_after: number(twin, "permits_after") as usize,
            took: from_millis(number(twin, "took_ms")),
        }
    }

    /// `in spawn order` if the jobs were admitted first come, first served, else the
    /// first job that was not.
    pub fn order_summary(&self) -> String {
        let out_of_order = self.order.iter().enumerate().find(|(i, job)| i != *job);
        match out_of_order {
            None => format!("0..{} in spawn order", self.order.len()),
            Some((i, job)) => format!("out of order: job {job} was admitted at {i}"),
        }
    }
}

on_both_runtimes! {
    /// `jobs` jobs through a semaphore of `limit` permits.
    pub fn admission(jobs: usize, limit: usize) -> Admission {
        rt::block_on(async {
            let start = rt::now();
            let semaphore = Rc::new(rt::Semaphore::new(limit));
            let order = Rc::new(RefCell::new(Vec::new()));
            let running = Rc::new(Cell::new(0));
            let max_concurrent = Rc::new(Cell::new(0));
            let handles: Vec<_> = (0..jobs)
                .map(|job| {
                    let (semaphore, order) = (semaphore.clone(), order.clone());
                    let (running, max_concurrent) = (running.clone(), max_concurrent.clone());
                    rt::spawn(async move {
                        let _permit = semaphore.acquire().await.expect("never closed");
                        order.borrow_mut().push(job);
                        running.set(running.get() + 1);
                        max_concurrent.set(max_concurrent.get().max(running.get()));
                        rt::sleep(Duration::from_millis(1 + job as u64 % 5)).await;
                        running.set(running.get() - 1);
                    })
                })
                .collect();
            for handle in handles {
                handle.await.expect("the job finished");
            }
            Admission {
                order: order.take(),
                max_concurrent: max_concurrent.get(),
                permits_after: semaphore.available_permits(),
                took: rt::now() - start,
            }
        })
    }

    /// A task waiting for a permit when the semaphore is closed, and an acquire
    /// after: what do they get?
    pub fn acquire_when_closed() -> String {
        rt::block_on(async {
            let semaphore = Rc::new(rt::Semaphore::new(0));
            let waiter = rt::spawn({
                let semaphore = semaphore.clone();
                async move { semaphore.acquire().await.map(drop) }
            });
            rt::yield_now().await; // let the waiter line up
            semaphore.close();
            let waiting = waiter.await.expect("the waiter finished");
            let after = semaphore.acquire().await.map(drop);
            let show = |result: Result<(), _>| match result {
                Ok(()) => "a permit".to_string(),
                Err(error) => format!("Err({error})"),
            };
            format!("waiting: {}; after: {}", show(waiting), show(after))
        })
    }
}

pub fn run(asyncio: Twin) -> Vec<Row> {
    let glassbox = glassbox_side::admission(100, 10);
    let tokio = tokio_side::admission(100, 10);
    let closed = (
        glassbox_side::acquire_when_closed(),
        tokio_side::acquire_when_closed(),
    );
    let twin = asyncio.observe();
    let python = twin.as_ref().map(Admission::from_twin);
    let python = python.as_ref();
    vec![
        compare(
            "most jobs at once (limit 10)",
            glassbox.max_concurrent,
            tokio.max_concurrent,
            "one semaphore let more (or fewer) jobs in at once",
        )
        .with_asyncio(python, |a| {
            asyncio_compare(
                glassbox.max_concurrent,
                a.max_concurrent,
                "more or fewer at once",
            )
        }),
        compare(
            "order of admission",
            glassbox.order_summary(),
            tokio.order_summary(),
            "one semaphore is not first come, first served",
        )
        .with_asyncio(python, |a| {
            asyncio_compare(
                glassbox.order_summary(),
                a.order_summary(),
                "asyncio's semaphore is not first come, first served",
            )
        }),
        compare(
            "permits free at the end",
            glassbox.permits_after,
            tokio.permits_after,
            "a permit was lost or made up",
        )
        .with_asyncio(python, |a| {
            asyncio_compare(
                glassbox.permits_after,
                a.permits_after,
                "a permit was lost or made up",
            )
        }),
        shown("100 jobs of 1-5 ms took", ms(glassbox.took), ms(tokio.took))
            .with_asyncio(python, |a| asyncio_shown(ms(a.took))),
        compare(
            "closed semaphore",
            closed.0.as_str(),
            closed.1.as_str(),
            "closing is reported differently",
        )
        .with_asyncio(twin.as_ref(), |twin| {
            asyncio_compare(
                closed.0.clone(),
                text(twin, "closed"),
                &Cause {
                    title: "asyncio.Semaphore has no close()",
                    why: "asyncio.Semaphore has no close(): a waiter is stopped by cancelling its \
                          task, and the semaphore stays usable",
                },
            )
        }),
    ]
}
