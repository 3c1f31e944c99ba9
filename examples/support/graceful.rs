//! Graceful shutdown for the example servers: on Ctrl-C, stop accepting, give the
//! live connections a grace period to finish, then say what was drained.
//!
//! ```text
//! Ctrl-C ─► signal::ctrl_c() completes ─► the accept loop is aborted (its listener
//!           closes: new clients are refused) ─► wait while connections are live, up
//!           to the grace period ─► "drained 3 of 3 live connections"
//! ```
//!
//! Connections still open at the deadline are dropped with the runtime.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use glassbox::JoinHandle;

/// How long live connections get to finish after Ctrl-C.
pub const GRACE: Duration = Duration::from_secs(5);

/// Counts the connection tasks alive.
#[derive(Clone, Default)]
pub struct Live(Rc<Cell<usize>>);

/// Takes one connection off the count when its task ends (or is dropped).
struct Counted(Live);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.0.set(self.0.0.get() - 1);
    }
}

impl Live {
    /// `connection`, counted as live until it ends.
    pub fn track<F: Future>(&self, connection: F) -> impl Future<Output = F::Output> + use<F> {
        self.0.set(self.0.get() + 1);
        let counted = Counted(self.clone());
        async move {
            let output = connection.await;
            drop(counted);
            output
        }
    }

    fn count(&self) -> usize {
        self.0.get()
    }
}

/// Waits for Ctrl-C, then stops `accept_loop` and drains `live` (see the module doc).
pub async fn on_ctrl_c(accept_loop: JoinHandle<()>, live: &Live) -> std::io::Result<()> {
    glassbox::signal::ctrl_c().await?;
    accept_loop.abort();
    let at_stop = live.count();
    println!("ctrl-c: stopped accepting; {at_stop} live connections get {GRACE:?} to finish");
    let deadline = glassbox::time::now() + GRACE;
    while live.count() > 0 && glassbox::time::now() < deadline {
        glassbox::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "drained {} of {at_stop} live connections; {} cut off at the deadline",
        at_stop - live.count().min(at_stop),
        live.count()
    );
    Ok(())
}
