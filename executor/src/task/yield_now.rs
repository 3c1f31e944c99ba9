//! `yield_now`: step aside once and let every other ready task run.
//!
//! # Ground rules
//! - The first poll wakes its own task and returns `Pending`; the wake puts the task
//!   at the back of the ready queue, behind every task already waiting, so it runs
//!   again in the same batch if there is room (no reactor check in between), or in
//!   the next turn.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields once to the loop.
///
/// tokio equivalent: `tokio::task::yield_now` (which differs: tokio defers the task
/// until after its next I/O poll). asyncio equivalent: `await asyncio.sleep(0)`.
///
/// ```
/// executor::block_on(async {
///     let other = executor::spawn(async { "ran" });
///     executor::yield_now().await;
///     assert!(other.is_finished());
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await them"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Pending: we wake ourselves, so the loop queues us behind the others.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
