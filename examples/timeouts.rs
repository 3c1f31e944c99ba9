//! Timeouts, three ways: a port of the asyncio lesson's timeout snippets.
//!
//! Run it with `cargo run --release --example timeouts` (about 6 seconds: the
//! lesson's 2-second timeouts really wait, on the real clock).
//! Its asyncio twin, the same program in Python: `examples/asyncio/timeouts.py`
//! (`python3 examples/asyncio/timeouts.py`).
//!
//! The asyncio original:
//!
//! ```python
//! async def slow_operation():
//!     await asyncio.sleep(10)
//!     return "done"
//!
//! async def main():
//!     # 1. wait_for: give one awaitable a deadline
//!     try:
//!         result = await asyncio.wait_for(slow_operation(), timeout=2.0)
//!     except asyncio.TimeoutError:
//!         print("Operation timed out")
//!
//!     # 2. Python 3.11+: a deadline around a whole block
//!     try:
//!         async with asyncio.timeout(2.0):
//!             result = await slow_operation()
//!     except TimeoutError:
//!         print("Block timed out")
//!
//! # 3. Timeout with a default
//! async def fetch_with_default(url, default=None, timeout=5.0):
//!     try:
//!         return await asyncio.wait_for(fetch(url), timeout=timeout)
//!     except asyncio.TimeoutError:
//!         return default
//!
//! # 4. wait_for on tasks: on timeout, the tasks are cancelled
//! async def main():
//!     tasks = [asyncio.create_task(slow_operation()) for _ in range(3)]
//!     try:
//!         await asyncio.wait_for(asyncio.gather(*tasks), timeout=1.0)
//!     except TimeoutError:
//!         print(all(t.cancelled() for t in tasks))   # True
//! ```
//!
//! The fourth is where Rust differs. A `JoinHandle` is a future whose drop
//! *detaches* its task (as in tokio), so `timeout(d, handle)` or
//! `timeout(d, join_all(handles))` stops waiting but leaves the tasks running.
//! To cancel them as `wait_for` does, keep the handles and `abort` them.

use std::time::{Duration, Instant};

use glassbox::{JoinError, JoinHandle, Runtime, sleep, spawn, timeout, timeout_or};

/// `slow_operation()`: ten seconds of (non-blocking) waiting.
async fn slow_operation() -> &'static str {
    sleep(Duration::from_secs(10)).await;
    // Never printed: each call below is cancelled before its ten seconds are up
    // (at 2 s, at 4 s, and the three tasks of step 4 at 6.2 s).
    println!("slow_operation finished");
    "done"
}

/// `fetch(url)`: a stand-in for a network call whose latency depends on the host.
async fn fetch(url: &str) -> String {
    let latency = if url.contains("slow") {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(200)
    };
    sleep(latency).await;
    format!("<html from {url}>")
}

/// Awaits every handle in turn, through `&mut`, so the caller keeps the handles
/// (`join_all` takes them, and dropping it would detach the tasks).
async fn gather<T>(handles: &mut [JoinHandle<T>]) -> Vec<Result<T, JoinError>> {
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles.iter_mut() {
        results.push(handle.await);
    }
    results
}

/// `fetch_with_default(url, default, timeout)`: `timeout_or` is exactly this.
async fn fetch_with_default(url: &str, default: &str, limit: Duration) -> String {
    timeout_or(limit, fetch(url), default.to_string()).await
}

fn main() -> std::io::Result<()> {
    let mut rt = Runtime::new()?;
    let started = Instant::now();
    let at = move || format!("[{:5.2} s]", started.elapsed().as_secs_f64());

    rt.block_on(async {
        // 1. wait_for: `timeout(duration, future)` resolves to Ok(output) or
        //    Err(Elapsed). When the deadline wins, the inner future is dropped,
        //    which cancels it, as wait_for cancels its task.
        match timeout(Duration::from_secs(2), slow_operation()).await {
            Ok(result) => println!("{} 1. wait_for: got {result:?}", at()),
            Err(elapsed) => println!("{} 1. wait_for: Operation timed out ({elapsed})", at()),
        }

        // 2. asyncio.timeout(...) around a block: in Rust the block is an `async`
        //    block, and the same `timeout` covers every await inside it.
        let block = timeout(Duration::from_secs(2), async {
            let result = slow_operation().await;
            println!("never reached: {result}");
            result
        });
        if block.await.is_err() {
            println!("{} 2. async with timeout: Block timed out", at());
        }

        // 3. Timeout with a default: a fast host answers, a slow one yields the
        //    default after the 1-second limit.
        let limit = Duration::from_secs(1);
        for url in ["http://fast.example", "http://slow.example"] {
            let page = fetch_with_default(url, "<cached copy>", limit).await;
            println!("{} 3. fetch_with_default({url}) = {page}", at());
        }

        // 4. wait_for(gather(*tasks)): on timeout, abort the tasks ourselves.
        //    The tasks are spawned at 5.2 s and the timeout ends the wait at 6.2 s;
        //    it drops only `gather`, which borrowed the handles, so the tasks run
        //    on. Without the `abort`s, the loop below would wait for them: each
        //    would print "slow_operation finished" at 15.2 s (its ten seconds up,
        //    9 s after the timeout), and the line would say 0 of 3 were cancelled.
        let mut tasks: Vec<_> = (0..3).map(|_| spawn(slow_operation())).collect();
        if timeout(Duration::from_secs(1), gather(&mut tasks))
            .await
            .is_err()
        {
            for task in &tasks {
                task.abort();
            }
        }
        let mut cancelled = 0;
        for task in tasks {
            if task.await.is_err_and(|error| error.is_cancelled()) {
                cancelled += 1;
            }
        }
        println!(
            "{} 4. wait_for(gather): timed out, {cancelled} of 3 tasks cancelled",
            at()
        );
    });

    let metrics = rt.metrics();
    println!(
        "timers fired: {} (each timeout that won, and each sleep that finished)",
        metrics.timers_fired
    );
    Ok(())
}
