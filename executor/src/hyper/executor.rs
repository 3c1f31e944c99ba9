//! [`GlassboxExecutor`]: `hyper::rt::Executor`, which hyper calls when it needs a
//! future to run on its own: each HTTP/2 stream of a server connection, and a client
//! connection's background task.
//!
//! # Ground rules
//! - It spawns on the runtime current on the calling thread, which is the runtime
//!   polling the hyper connection that asks. Called outside a runtime it panics, as
//!   [`spawn`](crate::spawn) does.
//! - Futures need not be `Send`: they never leave the thread. An HTTP/2 service may
//!   hold an `Rc` across an `.await`, or answer with a `!Send` body.
//! - The task is detached: hyper learns how it ended through its own channels, never
//!   from a `JoinHandle`.

use std::future::Future;

/// Runs hyper's background futures as glassbox tasks on the current runtime.
///
/// hyper-util equivalent: `TokioExecutor` (which requires `Send`; this does not).
/// hyper's own `examples/single_threaded.rs` writes the same thing by hand over
/// `tokio::task::spawn_local`.
///
/// ```
/// use hyper::rt::Executor;
/// use std::rc::Rc;
///
/// executor::block_on(async {
///     let (tx, rx) = std::sync::mpsc::channel();
///     let not_send = Rc::new("an Rc is welcome");
///     executor::hyper::GlassboxExecutor::new().execute(async move {
///         tx.send(*not_send).unwrap();
///     });
///     executor::yield_now().await; // the spawned task runs
///     assert_eq!(rx.try_recv().unwrap(), "an Rc is welcome");
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GlassboxExecutor {
    // Built with `new` or `default`, so a field can come later without a break.
    _private: (),
}

// === impl GlassboxExecutor ===

impl GlassboxExecutor {
    /// The executor for the current runtime (whichever is current when hyper spawns).
    pub fn new() -> GlassboxExecutor {
        GlassboxExecutor::default()
    }
}

impl<F> hyper::rt::Executor<F> for GlassboxExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        // Detached: dropping the handle lets the task run on (join.rs).
        drop(crate::spawn(future));
    }
}
