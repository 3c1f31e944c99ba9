//! Graceful shutdown for the example servers: on Ctrl-C, stop accepting, tell the
//! live connections to finish, give them a grace period, then say what was drained.
//!
//! ```text
//! Ctrl-C ─► signal::ctrl_c() completes ─► the accept loop is aborted (its listener
//!           closes: new clients are refused) ─► the stop word goes to every live
//!           connection ─► wait while connections are live, up to the grace period
//!           ─► "drained 3 of 3 live connections"
//! ```
//!
//! The stop word is what lets a server end soon: an idle keep-alive connection (a
//! browser keeps one open for minutes) has nothing to finish, and closes as soon as it
//! hears it; one with a request in flight answers it first (`examples/http.rs` hands
//! the word to hyper's `graceful_shutdown`). A connection that does not listen (the
//! echo server's) just gets the grace period. Connections still open at the deadline
//! are dropped with the runtime.
//!
//! asyncio equivalent: `Server.close()` then `wait_closed()`, with an `Event` for the
//! word. tokio equivalent: a `watch` channel or tokio-util's `CancellationToken`
//! (`examples/http.rs`'s tokio side uses the `watch`).

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use glassbox::{JoinHandle, Semaphore};

/// How long live connections get to finish after Ctrl-C.
pub const GRACE: Duration = Duration::from_secs(5);

/// The connection tasks alive on one runtime, and the stop word they may listen for.
#[derive(Clone)]
pub struct Live(Rc<Connections>);

struct Connections {
    count: Cell<usize>,
    /// The stop word: a semaphore with no permits, closed on Ctrl-C. A closed
    /// semaphore fails every `acquire`, those waiting and those to come: one call
    /// reaches every connection, however many there are.
    stop: Semaphore,
}

impl Default for Live {
    fn default() -> Live {
        Live(Rc::new(Connections {
            count: Cell::new(0),
            stop: Semaphore::new(0),
        }))
    }
}

/// Takes one connection off the count when its task ends (or is dropped).
struct Counted(Live);

impl Drop for Counted {
    fn drop(&mut self) {
        let count = &self.0.0.count;
        count.set(count.get() - 1);
    }
}

impl Live {
    /// `connection`, counted as live until it ends.
    pub fn track<F: Future>(&self, connection: F) -> impl Future<Output = F::Output> + use<F> {
        self.0.count.set(self.0.count.get() + 1);
        let counted = Counted(self.clone());
        async move {
            let output = connection.await;
            drop(counted);
            output
        }
    }

    /// Completes once the stop word has gone out: the connection should finish what
    /// it is doing and close.
    #[allow(
        dead_code,
        reason = "the echo server's connections do not listen for it"
    )]
    pub fn stopped(&self) -> impl Future<Output = ()> + use<> {
        let live = self.clone();
        async move {
            // No permit is ever added: this acquire ends only by failing, on `close`.
            let _closed = live.0.stop.acquire().await;
        }
    }

    fn count(&self) -> usize {
        self.0.count.get()
    }
}

/// Waits for Ctrl-C, then stops `accept_loop` and drains `live` (see the module doc).
pub async fn on_ctrl_c(accept_loop: JoinHandle<()>, live: &Live) -> std::io::Result<()> {
    glassbox::signal::ctrl_c().await?;
    accept_loop.abort();
    let at_stop = live.count();
    say_stopped(at_stop);
    live.0.stop.close();
    let deadline = glassbox::time::now() + GRACE;
    while live.count() > 0 && glassbox::time::now() < deadline {
        glassbox::sleep(Duration::from_millis(10)).await;
    }
    say_drained(at_stop, live.count());
    Ok(())
}

/// The line printed when Ctrl-C stops the accepting (both runtimes print it).
pub fn say_stopped(live: usize) {
    println!("ctrl-c: stopped accepting; {live} live connections get {GRACE:?} to finish");
}

/// The line printed once the connections have drained or the grace ran out.
pub fn say_drained(at_stop: usize, still_live: usize) {
    println!(
        "drained {} of {at_stop} live connections; {still_live} cut off at the deadline",
        at_stop - still_live.min(at_stop),
    );
}
