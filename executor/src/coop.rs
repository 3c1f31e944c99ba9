//! The cooperative budget: a task that is always ready still gives the loop back.
//!
//! # The story: an echo server under EMFILE
//!
//! An accept loop is the simplest server there is:
//!
//! ```text
//! loop {
//!     match listener.accept().await {
//!         Ok((stream, _)) => { spawn(echo(stream)); }
//!         Err(error) => eprintln!("accept failed: {error}"),
//!     }
//! }
//! ```
//!
//! Run it with `ulimit -n 64` and flood it with clients. Once the process is out of
//! file descriptors, `accept` fails with EMFILE, and it fails *at once*: the
//! connection is still queued, so the listener stays readable and the next `accept`
//! is `Ready(Err)` again. The loop above never awaits anything pending, so its one
//! poll never ends. No other task runs, not even the echo tasks whose sockets would
//! give the fds back, and no timer fires: the server spins at 100% CPU for ever.
//! Nothing in it is blocking; it is simply never *not* ready.
//!
//! A budget ends that. Each poll of a task starts with [`DEFAULT_COOP_BUDGET`] units.
//! Every runtime-owned future that is about to return `Ready` (an accept, a read, a
//! fired timer, a finished `JoinHandle`, a queue `get`...) spends one, and an error is
//! a `Ready` too. Once the budget is spent, the next such future returns `Pending`
//! instead, and the task goes back to the loop:
//!
//! ```text
//! without a budget                       with a budget of 128
//! ────────────────                       ────────────────────
//! poll accept-loop:                      poll accept-loop:
//!   Err, Err, Err, Err, ... for ever       Err ×128, then Pending (forced yield)
//!                                        fire due timers, poll the reactor
//! (nothing else ever runs)               wake the cut-off task: back of the queue
//!                                        poll echo tasks: they close, fds come back
//!                                        poll accept-loop: Ok(stream) ...
//! ```
//!
//! The task cut off is woken only after the loop has fired the due timers and polled
//! the reactor (`Core::defer`, woken in `run_once` phase 3), so it cannot run again
//! before the I/O and timers it was starving. A leaf that returns `Pending` for any
//! other reason spends nothing: waiting is free.
//!
//! tokio does the same (its budget is 128 too, and since tokio#6221 accept errors are
//! charged). asyncio has no budget: a coroutine that awaits only ready futures never
//! yields either, and `await asyncio.sleep(0)` is its cure; its own server loop
//! (`start_server`) sidesteps EMFILE instead, by pausing `accept` for a second.
//!
//! # Ground rules
//! - The budget belongs to the poll running on this thread: the loop sets it before
//!   each task poll (and each poll of the `block_on` future) and clears it after.
//!   Outside a poll, inside [`unconstrained`], or with `Builder::coop_budget(None)`,
//!   there is none, and nothing is ever cut off.
//! - A leaf checks the budget *before* it does its work (takes the item, makes the
//!   syscall): a forced `Pending` has done nothing, so it loses nothing.
//! - Only `Ready` spends, one unit per leaf. A combinator (`timeout`, `join_all`) does
//!   not spend for itself; its leaves do.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::{Context, Poll};

use crate::event_loop::context;

/// How many leaf operations a task may complete in one poll: 128, as in tokio.
pub const DEFAULT_COOP_BUDGET: u32 = 128;

thread_local! {
    /// The budget of the poll running on this thread; `None`: unconstrained.
    static BUDGET: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Runs one task poll with a fresh `budget`, and leaves none behind: a task poll is
/// never nested in another, so there is nothing to restore.
#[inline]
pub(crate) fn poll_with_budget<R>(budget: Option<u32>, poll: impl FnOnce() -> R) -> R {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            BUDGET.set(None);
        }
    }
    BUDGET.set(budget);
    let _clear = Clear;
    poll()
}

/// Runs one poll of a leaf future under the budget: the poll a runtime-owned future
/// makes when it could complete (a queue get, a semaphore acquire, a socket read).
///
/// - Budget spent: `poll` is not called; the task is woken again after the loop has
///   fired its timers and polled the reactor, and this returns `Pending`.
/// - Otherwise `poll` runs; if it returns `Ready` (an error included), one unit is
///   spent.
///
/// For authors of leaf futures; `patterns` builds its own on it.
///
/// tokio equivalent: `tokio::task::coop::poll_proceed` with `made_progress`.
#[inline]
pub fn poll_budgeted<T>(
    cx: &mut Context<'_>,
    poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    if BUDGET.get() == Some(0) {
        yield_to_the_loop(cx);
        // Pending: `Core::defer` wakes us after the loop's timers and I/O.
        return Poll::Pending;
    }
    let polled = poll(cx);
    if polled.is_ready() {
        // Read again: `poll` may have spent from the same budget (a leaf in a leaf).
        BUDGET.set(BUDGET.get().map(|left| left.saturating_sub(1)));
    }
    polled
}

/// The budget is spent (or a leaf gives the loop back for another reason): hand the
/// task's waker to the loop, to be woken after the timers and the reactor. Out of
/// line: every leaf poll inlines the check above, and this runs once per 128 of them.
#[cold]
#[inline(never)]
pub(crate) fn yield_to_the_loop(cx: &mut Context<'_>) {
    match context::current() {
        Some(core) => core.defer(cx.waker()),
        // Unreachable in practice (only the loop sets a budget); wake at once rather
        // than park for ever.
        None => cx.waker().wake_by_ref(),
    }
}

/// True unless the running poll has spent its whole budget. Always true outside a
/// task's poll, and inside [`unconstrained`].
///
/// tokio equivalent: `tokio::task::coop::has_budget_remaining`.
#[inline]
pub fn has_budget_remaining() -> bool {
    BUDGET.get() != Some(0)
}

/// Runs `f` with no budget, then puts back the budget as it was, even if `f` unwinds.
///
/// `patterns::timeout` uses it to look at its deadline when the future it wraps spent
/// the budget: otherwise a wrapped future that is always ready would spend the budget
/// on every poll, and the deadline would never be checked.
#[inline]
pub fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u32>);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUDGET.set(self.0);
        }
    }
    let _restore = Restore(BUDGET.replace(None));
    f()
}

/// Spends one unit of the budget, yielding to the loop first if it is spent.
///
/// For a loop of pure computation that awaits nothing the runtime owns: put this in
/// it, and it gives the loop back every 128 rounds without paying for a yield on
/// each.
///
/// tokio equivalent: `tokio::task::consume_budget`. asyncio has none; `await
/// asyncio.sleep(0)` yields every time.
///
/// ```
/// executor::block_on(async {
///     let mut sum = 0u64;
///     for n in 0..1_000 {
///         sum += n;
///         executor::consume_budget().await; // other tasks run every 128 rounds
///     }
///     assert_eq!(sum, 499_500);
/// });
/// ```
pub async fn consume_budget() {
    poll_fn(|cx| poll_budgeted(cx, |_| Poll::Ready(()))).await;
}

/// Runs `future` with no budget: it is never cut off. For a task that must finish a
/// burst of ready work in one go, knowing that nothing else runs meanwhile.
///
/// tokio equivalent: `tokio::task::unconstrained`.
///
/// ```
/// use executor::{Runtime, unconstrained};
///
/// let mut rt = Runtime::new().unwrap();
/// rt.block_on(unconstrained(async {
///     for _ in 0..1_000 {
///         executor::consume_budget().await; // never yields in here
///     }
/// }));
/// assert_eq!(rt.metrics().forced_yields, 0);
/// ```
pub async fn unconstrained<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    // Pending: whatever the inner future waits on holds our waker.
    poll_fn(|cx| with_unconstrained(|| future.as_mut().poll(cx))).await
}
