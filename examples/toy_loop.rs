//! A whole executor, with no glassbox code in it: read this first, then the real one.
//! The executor is under 150 lines of code (comments and blank lines not counted);
//! the three demo tasks and `main` come after it.
//!
//! Run it with `cargo run --example toy_loop` (add `-- --paused` for a virtual
//! clock, which prints the same every run). It runs three tasks on one thread, with
//! nothing but the standard library, prints what the loop did, turn by turn, and ends
//! by naming the glassbox files that do the same things for real, in reading order.
//!
//! The pieces, and where they are in asyncio and in glassbox:
//! - the ready queue, a `VecDeque` of task keys: asyncio's `loop._ready`, glassbox's
//!   `Core::ready` (`executor/src/event_loop/mod.rs`);
//! - a `Waker` made with `std::task::Wake`: waking pushes the task's key on the
//!   ready queue (`executor/src/task/waker.rs`);
//! - the timer list, deadlines sorted earliest first: asyncio's `loop._scheduled`
//!   heap, glassbox's timer wheel (`executor/src/time/wheel.rs`);
//! - `Sleep`, a hand-written `Future` that puts its deadline and its task's waker in
//!   the timer list: no thread per timer;
//! - `run`, the loop: poll every ready task; with none ready, wait for the first
//!   deadline; wake the tasks whose timers are due; again, until every task is done.
//!
//! Shortcuts, each one a thing the real loop does properly:
//! - No I/O and no other threads: only a timer can wake a waiting task here, so a
//!   task left waiting with no timer pending is a bug, and `run` panics to say so.
//!   (glassbox parks in `mio::Poll::poll`, which also returns for sockets and for
//!   wakes from other threads: `executor/src/io/reactor.rs`.)
//! - Step 1 polls until the ready queue is empty, so a task that always wakes itself
//!   would keep the timers from ever firing. glassbox stops a batch after
//!   `event_interval` polls.
//! - A task woken twice before it runs is queued twice and polled twice. That is
//!   harmless (a future must allow extra polls) but wasted; glassbox queues a task
//!   once, behind its `scheduled` flag (`executor/src/task/mod.rs`).
//! - Each poll makes a new `Waker` (an allocation); glassbox's waker is a pointer to
//!   the task's own cell.
//! - A `Sleep` dropped before its deadline leaves its entry in the list. It fires
//!   later all the same and wakes its task for nothing (or queues the key of a task
//!   that has finished, which step 1 skips); glassbox's wheel unlinks it at once.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// The glassbox files that do what this file does, in the order to read them: the
/// path, then what to look for in it.
pub const READ_NEXT: [&str; 9] = [
    "executor/src/runtime.rs       block_on, which turns the loop; spawn",
    "executor/src/event_loop/mod.rs    Core::run_once: one turn, in five numbered phases",
    "executor/src/task/mod.rs      a task's states, and the functions that move it",
    "executor/src/task/waker.rs         how a wake reaches the ready queue, from any thread",
    "executor/src/task/join.rs          JoinHandle: a task's output, and abort",
    "executor/src/time/timer.rs     the Timer future: Sleep, with cancel and reset",
    "executor/src/time/wheel.rs   the wheel: the timer list, O(1) insert and cancel",
    "executor/src/io/reactor.rs       where the loop waits, and where I/O comes from",
    "patterns/src/semaphore.rs     a pattern on top: a line of parked wakers",
];

/// Where time comes from.
pub enum Clock {
    /// The real clock, started at the given instant: waiting sleeps the thread.
    Real(Instant),
    /// A virtual clock: waiting jumps it to the deadline at once, as glassbox's
    /// `paused_clock(true)` does, so a run prints the same every time.
    Virtual(Cell<Duration>),
}

impl Clock {
    /// Time since the loop started.
    fn now(&self) -> Duration {
        match self {
            Clock::Real(start) => start.elapsed(),
            Clock::Virtual(now) => now.get(),
        }
    }

    /// Returns once `now() >= deadline` (`thread::sleep` sleeps at least as asked).
    fn wait_until(&self, deadline: Duration) {
        match self {
            Clock::Real(start) => std::thread::sleep(deadline.saturating_sub(start.elapsed())),
            Clock::Virtual(now) => now.set(now.get().max(deadline)),
        }
    }
}

/// The loop's state, shared (`Rc`) with the futures that arm timers.
pub struct Loop {
    clock: Clock,
    /// Keys of the tasks to poll, in wake order. Behind `Arc<Mutex>` only because a
    /// `Waker` must be `Send + Sync`: the standard library lets any thread wake.
    ready: Arc<Mutex<VecDeque<usize>>>,
    /// Pending timers as (deadline, waker), earliest first, ties in arming order.
    timers: RefCell<Vec<(Duration, Waker)>>,
    /// What happened, one line per event: `main` prints it, the test reads it.
    log: RefCell<Vec<String>>,
}

impl Loop {
    pub fn new(clock: Clock) -> Rc<Loop> {
        let (ready, timers, log) = Default::default();
        Rc::new(Loop {
            clock,
            ready,
            timers,
            log,
        })
    }

    fn say(&self, line: String) {
        self.log.borrow_mut().push(line);
    }
}

/// A task's waker: its key, and the queue that waking puts the key on.
struct TaskWaker {
    key: usize,
    ready: Arc<Mutex<VecDeque<usize>>>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.lock().unwrap().push_back(self.key);
    }
}

/// `sleep(duration).await`: a hand-written future over the loop's timer list.
pub struct Sleep {
    lp: Rc<Loop>,
    deadline: Duration,
    armed: bool,
}

pub fn sleep(lp: &Rc<Loop>, duration: Duration) -> Sleep {
    let deadline = lp.clock.now() + duration;
    Sleep {
        lp: lp.clone(),
        deadline,
        armed: false,
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.lp.clock.now() >= this.deadline {
            return Poll::Ready(());
        }
        if !this.armed {
            // Sorted insert: after every deadline earlier than or equal to ours.
            let mut timers = this.lp.timers.borrow_mut();
            let at = timers.partition_point(|(deadline, _)| *deadline <= this.deadline);
            timers.insert(at, (this.deadline, cx.waker().clone()));
            this.armed = true;
        }
        // Pending: the timer list holds our waker; `run` wakes it once the deadline
        // has passed.
        Poll::Pending
    }
}

/// `yield_now().await`: wakes its own task, then says Pending once, so the task goes
/// to the back of the ready queue (asyncio's `await asyncio.sleep(0)`).
pub struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref(); // our own waker: back of the ready queue
        Poll::Pending
    }
}

pub type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Runs every task to completion. Task keys are positions in `futures`.
pub fn run(lp: &Loop, futures: Vec<Task>) {
    let mut tasks: Vec<Option<Task>> = futures.into_iter().map(Some).collect();
    lp.ready.lock().unwrap().extend(0..tasks.len()); // a new task is ready at once
    for turn in 1.. {
        lp.say(format!("turn {turn} at {:.1} ms", ms(lp.clock.now())));
        // 1. Poll every task in the ready queue, those woken meanwhile included
        //    (asyncio runs only the callbacks that were ready when the turn began).
        loop {
            // The lock is released at the end of this `let`: a poll may wake a task.
            let Some(key) = lp.ready.lock().unwrap().pop_front() else {
                break;
            };
            let Some(future) = tasks[key].as_mut() else {
                continue; // finished already: a key left by an extra wake
            };
            lp.say(format!("  poll task {key}"));
            let waker = Waker::from(Arc::new(TaskWaker {
                key,
                ready: lp.ready.clone(),
            }));
            let done = future
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready();
            lp.say(format!("    -> {}", if done { "Ready" } else { "Pending" }));
            if done {
                tasks[key] = None;
            }
        }
        if tasks.iter().all(Option::is_none) {
            lp.say(format!("every task finished, after {turn} turns"));
            return;
        }
        // 2. Nothing is ready: wait for the first deadline.
        let first = lp.timers.borrow().first().map(|(deadline, _)| *deadline);
        let deadline = first.expect(
            "toy_loop: tasks are waiting but no timer is pending, and only a timer \
             can wake them here (a future said Pending and gave its waker to nobody)",
        );
        lp.say(format!(
            "  wait until {:.1} ms, the first deadline",
            ms(deadline)
        ));
        lp.clock.wait_until(deadline);
        // 3. Take out every due timer, earliest first, and wake its task: its key
        //    joins the ready queue for the next turn's step 1.
        let now = lp.clock.now();
        let due: Vec<(Duration, Waker)> = {
            let mut timers = lp.timers.borrow_mut();
            let count = timers.partition_point(|(deadline, _)| *deadline <= now);
            timers.drain(..count).collect()
        };
        for (deadline, waker) in due {
            lp.say(format!("  fire the timer due at {:.1} ms", ms(deadline)));
            // Woken after the list's borrow ends: here a wake only pushes a key, but
            // a `Waker` may be anyone's code, and it could arm a timer.
            waker.wake();
        }
    }
}

fn ms(time: Duration) -> f64 {
    time.as_secs_f64() * 1e3
}

/// The program: three tasks, two sleeping and one yielding. Returns the log.
pub fn demo(clock: Clock) -> Vec<String> {
    let lp = Loop::new(clock);
    let (l0, l1, l2) = (lp.clone(), lp.clone(), lp.clone());
    let tasks: Vec<Task> = vec![
        Box::pin(async move {
            sleep(&l0, Duration::from_millis(30)).await;
            l0.say("    task 0: slept 30 ms".to_string());
        }),
        Box::pin(async move {
            sleep(&l1, Duration::from_millis(10)).await;
            l1.say("    task 1: slept 10 ms".to_string());
        }),
        Box::pin(async move {
            YieldNow(false).await;
            l2.say("    task 2: yielded once".to_string());
        }),
    ];
    run(&lp, tasks);
    lp.log.take()
}

fn main() {
    let paused = std::env::args().any(|arg| arg == "--paused");
    let clock = if paused {
        Clock::Virtual(Cell::default())
    } else {
        Clock::Real(Instant::now())
    };
    for line in demo(clock) {
        println!("{line}");
    }
    println!("\nnow read the real one, in this order:");
    for (number, file) in READ_NEXT.iter().enumerate() {
        println!("  {}. {file}", number + 1);
    }
}
