//! Producers and consumers around an async queue: a port of the asyncio lesson's
//! `asyncio.Queue` snippet (2 producers, 3 consumers, `join`, then the consumers are
//! cancelled).
//!
//! Run it with `cargo run --release --example producer_consumer` (about a second).
//! Its asyncio twin, the same program in Python: `examples/asyncio/producer_consumer.py`
//! (`python3 examples/asyncio/producer_consumer.py`).
//!
//! The asyncio original:
//!
//! ```python
//! async def producer(queue, name, n):
//!     for i in range(n):
//!         await queue.put(f"{name}-{i}")
//!         print(f"{name} produced {name}-{i}")
//!         await asyncio.sleep(0.1)
//!
//! async def consumer(queue, name):
//!     while True:
//!         item = await queue.get()
//!         print(f"{name} consumed {item}")
//!         await asyncio.sleep(0.2)      # process the item
//!         queue.task_done()
//!
//! async def main():
//!     queue = asyncio.Queue(maxsize=10)
//!     producers = [asyncio.create_task(producer(queue, f"P{i}", 5)) for i in range(2)]
//!     consumers = [asyncio.create_task(consumer(queue, f"C{i}")) for i in range(3)]
//!     await asyncio.gather(*producers)  # everything is queued...
//!     await queue.join()                # ...and every item is processed
//!     for c in consumers:
//!         c.cancel()                    # the consumers loop forever: stop them
//! ```

use std::time::{Duration, Instant};

use glassbox::{Queue, Runtime, join_all, sleep, spawn};

/// `producer(queue, name, n)`: puts `n` items, one every 100 ms.
async fn producer(queue: Queue<String>, name: &'static str, n: usize, started: Instant) {
    for i in 0..n {
        let item = format!("{name}-{i}");
        // `put` waits while the queue is full (maxsize 10); it fails only if the
        // queue is shut down, which this program never does.
        queue
            .put(item.clone())
            .await
            .expect("queue is never shut down");
        println!("{} {name} produced {item}", stamp(started));
        sleep(Duration::from_millis(100)).await;
    }
}

/// `consumer(queue, name)`: forever: get an item, process it for 200 ms, mark it done.
async fn consumer(queue: Queue<String>, name: String, started: Instant) {
    loop {
        let item = queue.get().await.expect("queue is never shut down");
        println!("{} {name} consumed {item}", stamp(started));
        sleep(Duration::from_millis(200)).await; // process the item
        queue.task_done().expect("one task_done per item got");
    }
}

fn stamp(started: Instant) -> String {
    format!("[{:4.2} s]", started.elapsed().as_secs_f64())
}

fn main() -> std::io::Result<()> {
    let mut rt = Runtime::new()?;
    let started = Instant::now();

    rt.block_on(async move {
        let queue = Queue::new(10);
        let producers: Vec<_> = ["P0", "P1"]
            .into_iter()
            .map(|name| spawn(producer(queue.clone(), name, 5, started)))
            .collect();
        let consumers: Vec<_> = (0..3)
            .map(|i| spawn(consumer(queue.clone(), format!("C{i}"), started)))
            .collect();

        // asyncio.gather(*producers): wait until everything is queued.
        for result in join_all(producers).await {
            result.expect("producers do not panic");
        }
        println!(
            "{} all produced; waiting for the queue to drain",
            stamp(started)
        );

        // queue.join(): wait until every item has been marked done.
        queue.join().await;
        println!("{} queue joined: every item processed", stamp(started));

        // c.cancel() for each consumer: abort asks; awaiting shows it happened.
        for consumer in &consumers {
            consumer.abort();
        }
        let cancelled = join_all(consumers)
            .await
            .into_iter()
            .filter(|result| result.as_ref().is_err_and(|e| e.is_cancelled()))
            .count();
        println!("{} {cancelled} consumers cancelled", stamp(started));
    });
    Ok(())
}
