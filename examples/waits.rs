//! Five tasks, each parked on a different kind of wait: three on a `Semaphore` with
//! no permit free, one on `Queue::get` of an empty queue, and one on the
//! `JoinHandle` of that consumer. The snapshot names what each one waits on, and
//! where in this file; then the block_on side frees the permits and puts an item,
//! and the turns show who woke whom.
//!
//! ```text
//! cargo run --release --example waits
//! GLASSBOX_TRACE=1 cargo run --release --example waits    # the trace, on stderr
//! ```
//!
//! The clock is paused, so the output is the same on every run.

use std::rc::Rc;

use glassbox::{Queue, Runtime, Semaphore};

fn main() -> std::io::Result<()> {
    let mut rt = Runtime::builder().paused_clock(true).build()?;
    let permits = Rc::new(Semaphore::new(0));
    let queue = Queue::new(1);

    for _ in 0..3 {
        let permits = Rc::clone(&permits);
        rt.spawn(async move {
            let _permit = permits.acquire().await.unwrap();
        });
    }
    let consumer = {
        let queue = queue.clone();
        rt.spawn(async move { queue.get().await.unwrap() })
    };
    rt.spawn(async move { consumer.await.unwrap() });

    rt.run_until_stalled();
    println!("{}", rt.snapshot());

    permits.add_permits(3);
    queue.put_nowait("an item").unwrap();
    for turn in rt.run_until_stalled() {
        print!("{turn:#}");
    }
    println!("{}", rt.snapshot());
    Ok(())
}
