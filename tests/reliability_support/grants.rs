//! The grant-then-drop harness: a waiter is handed what it waited for, then cancelled
//! before it runs again.
//!
//! Every future that waits has a window between the wake that carries its grant (a
//! permit assigned, a slot reserved, an item handed over, a task's output stored, a
//! socket made ready) and its next poll, which turns the grant into its output. A
//! future dropped in that window never returns, so nobody will use the grant: the
//! future itself must give it back. The cut-at-every-poll harness never lands there
//! on purpose, because it cuts only at polls. This one does, for each future:
//!
//! ```text
//! 1. poll the future once: it must wait (Pending)
//! 2. run `grant`, the action that should wake it with something (a get, a release,
//!    a connect, a timer firing)
//! 3. wait until the future's waker is woken (hang guards catch a wake that never
//!    comes)
//! 4. end it without polling it again:
//!      Ending::Dropped  the future is dropped where it stands
//!      Ending::Aborted  it runs in a task of its own, which is aborted; its
//!                       JoinHandle must then report "cancelled"
//! ```
//!
//! The scenario then checks that the grant came back (permits counted back, the slot
//! passed to the next putter, the item to the next getter or the front of the queue,
//! the connection still in the backlog, the datagram still readable) and that
//! "cancelled" meant no effect.
//!
//! # Ground rules
//! - The future under test is polled exactly once. In `Aborted` the task's own wake
//!   does reach it (as it would in a program), but the task stands still when polled
//!   after the grant: the harness aborts it before its future could see the grant,
//!   whatever order the loop runs the two tasks in.
//! - Each scenario runs twice (once per [`Ending`]) on a fresh paused runtime, on a
//!   thread of its own under a real-time limit ([`within`]), and under the
//!   virtual-year guard ([`or_hang`]): a lost wake fails by name instead of hanging,
//!   whether the paused clock can jump (timers, sockets) or is held (blocking jobs).
//!   Afterwards the runtime must hold no task and no timer.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use glassbox::spawn;

use super::{debug_count, or_hang, paused, within};

/// How the future under test ends after its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Dropped by the code that polled it.
    Dropped,
    /// Its task is aborted; the `JoinHandle` must say "cancelled".
    Aborted,
}

/// What the waker handed to the future under test reports to the harness.
#[derive(Default)]
struct Watch {
    /// The future's first poll said `Pending`.
    parked: AtomicBool,
    /// Its waker has been woken since.
    woken: AtomicBool,
    /// The harness task, to be woken on either event.
    harness: Mutex<Option<Waker>>,
    /// The task that polls the future under test (in `Aborted`): woken too, as a
    /// real wake would.
    task: Mutex<Option<Waker>>,
}

impl Watch {
    fn wake_harness(&self) {
        if let Some(waker) = self.harness.lock().unwrap().take() {
            waker.wake();
        }
    }

    /// Waits until `flag` is set, for the harness task.
    async fn until(&self, flag: &AtomicBool) {
        poll_fn(|cx| {
            *self.harness.lock().unwrap() = Some(cx.waker().clone());
            match flag.load(Ordering::SeqCst) {
                true => Poll::Ready(()),
                // Pending: `wake` (or the first poll's `Pending`) wakes us.
                false => Poll::Pending,
            }
        })
        .await
    }

    /// Polls `future` once with the watching waker; it must wait.
    fn first_poll<F: Future + ?Sized>(self: &Arc<Self>, what: &str, future: Pin<&mut F>) {
        let waker = Waker::from(Arc::clone(self));
        if future.poll(&mut Context::from_waker(&waker)).is_ready() {
            panic!("{what}: the future under test did not wait, so it cannot be granted");
        }
        self.parked.store(true, Ordering::SeqCst);
        self.wake_harness();
    }
}

impl Wake for Watch {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.wake_harness();
        if let Some(task) = self.task.lock().unwrap().take() {
            task.wake();
        }
    }
}

/// The task body in `Ending::Aborted`: polls the future under test once, then
/// stands still until it is aborted.
struct Parked<F> {
    future: Pin<Box<F>>,
    watch: Arc<Watch>,
    what: String,
}

impl<F: Future> Future for Parked<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        *this.watch.task.lock().unwrap() = Some(cx.waker().clone());
        if !this.watch.parked.load(Ordering::SeqCst) {
            this.watch.first_poll(&this.what, this.future.as_mut());
        }
        // Pending for good: after the first poll the future under test is not polled
        // again; the harness aborts this task once the grant's wake has come.
        Poll::Pending
    }
}

/// Runs steps 1–4 (see the module doc) on `future`, with `grant` as step 2. Returns
/// what `grant` returned, for the scenario's checks.
pub async fn grant_then_end<F, G, R>(
    what: &str,
    ending: Ending,
    future: F,
    grant: impl FnOnce() -> G,
) -> R
where
    F: Future + 'static,
    G: Future<Output = R>,
{
    let watch = Arc::new(Watch::default());
    let mut future = Some(Box::pin(future));
    let task = match ending {
        Ending::Dropped => {
            watch.first_poll(what, future.as_mut().unwrap().as_mut());
            None
        }
        Ending::Aborted => Some(spawn(Parked {
            future: future.take().unwrap(),
            watch: Arc::clone(&watch),
            what: what.to_owned(),
        })),
    };
    watch.until(&watch.parked).await;
    let granted = grant().await;
    or_hang(
        &format!("{what}: the wake of the grant"),
        watch.until(&watch.woken),
    )
    .await;
    match task {
        None => drop(future),
        Some(task) => {
            task.abort();
            let outcome = task.await;
            assert!(
                outcome.as_ref().is_err_and(|error| error.is_cancelled()),
                "{what}: the aborted task reported {outcome:?}, not cancelled"
            );
        }
    }
    granted
}

/// Runs `scenario` once per [`Ending`], each on a fresh paused runtime in a thread of
/// its own, under a real-time `limit` and the virtual-year guard. Afterwards no task
/// and no timer may be left. A failure names the scenario and the ending.
pub fn each_ending<S, F>(what: &'static str, scenario: S)
where
    S: Fn(Ending) -> F + Send + Clone + 'static,
    F: Future<Output = ()>,
{
    const LIMIT: Duration = Duration::from_secs(60);
    for ending in [Ending::Dropped, Ending::Aborted] {
        let scenario = scenario.clone();
        let name = format!("{what} ({ending:?})");
        within(LIMIT, &name.clone(), move || {
            let mut rt = paused();
            rt.block_on(or_hang(&name, scenario(ending)));
            // Let aborted tasks be cancelled, then look at what is left.
            rt.block_on(async {
                for _ in 0..3 {
                    glassbox::yield_now().await;
                }
            });
            assert_eq!(
                debug_count(&rt, "tasks"),
                0,
                "{name}: a task was left behind"
            );
            assert_eq!(
                debug_count(&rt, "pending_timers"),
                0,
                "{name}: a timer was left in the wheel"
            );
        });
    }
}
