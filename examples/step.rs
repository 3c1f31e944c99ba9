//! The loop, one turn at a time: a tiny program driven by `Runtime::turn`, printing
//! what each turn did and where everything stands after it.
//!
//! ```text
//! cargo run --release --example step
//! ```
//!
//! Four tasks: two sleepers (250 µs and 3 ms), a consumer waiting on a queue, and a
//! reader parked on one end of a Unix socket pair (spawned by the first sleeper). The
//! short sleeper writes to the socket when it wakes; the long one puts an item on the
//! queue. Watch each turn run
//! its phases (polls, timers, park, I/O), and the snapshot show who is ready, which
//! wheel slot each timer sits in and whose it is, and what each task waits on, until
//! the sleeper's write turns the reader's token readable and the turn names it woken.
//!
//! The clock is paused, so when nothing can run the loop jumps to the next timer's
//! slot instead of sleeping, and the output is the same on every run (`{:#}` leaves
//! out the wall-clock durations of polls and parks).

use std::time::Duration;

use glassbox::net::UnixStream;
use glassbox::{Queue, Runtime, sleep, spawn};

fn main() -> std::io::Result<()> {
    let mut rt = Runtime::builder().paused_clock(true).build()?;
    let queue = Queue::new(1);

    // Task 1 makes the socket pair (sockets register with the runtime that is
    // current, so inside a task), hands one end to a reader task, sleeps, and writes.
    rt.spawn(async move {
        let (writer, reader) = UnixStream::pair().unwrap();
        spawn(async move {
            let mut buf = [0; 4];
            reader.read_exact(&mut buf).await.unwrap();
        });
        sleep(Duration::from_micros(250)).await;
        writer.write_all(b"ping").await.unwrap();
    });
    let producer = queue.clone();
    rt.spawn(async move {
        sleep(Duration::from_millis(3)).await;
        producer.put("an item").await.unwrap();
    });
    rt.spawn(async move { queue.get().await.unwrap() });

    println!("{}", rt.snapshot());
    loop {
        let turn = rt.turn();
        print!("{turn:#}");
        let after = rt.snapshot();
        println!("{after}");
        if after.tasks.is_empty() {
            break;
        }
    }
    Ok(())
}
