//! The loop: the runtime's state (`Core`) and `run_once`, the one place tasks are polled.
//!
//! One turn, as CPython's `BaseEventLoop._run_once` does it, in numbered phases:
//!
//! ```text
//! 1. run the ready batch   pop task keys, poll each once, until `event_interval`
//!                          polls or none is left
//! 2. fire due timers       Wheel::advance(now) ─► wake each due timer's waker,
//!                          by deadline (no timer pending: nothing, not even a
//!                          clock read)
//! 3. poll the reactor      mio::Poll::poll: no wait if work is ready, else until the
//!                          next timer's instant (a timerfd, to the µs, on Linux:
//!                          io/park_timer.rs) or an event, else until an event
//!                          ─► wake I/O waiters;
//!                          then wake the tasks the coop budget cut off (coop.rs)
//! 4. drain remote wakes    wakes sent from other threads ─► ready queue (if a
//!                          send raised `notified` since the last drain)
//! 5. paused clock only     if nothing at all can run, jump to the next timer
//! ```
//!
//! `block_on` turns it for as long as its future is pending; `Runtime::turn` and
//! `Runtime::run_until_stalled` turn it by hand (`stepping.rs`). Each thing that
//! happens (a spawn, a wake, a poll, a timer, a park) is told as one `Event` to `emit`
//! (`event.rs`), which hands it to whoever watches (`observe/`); the loop names no
//! observer. `context.rs`, beside this file, is the one way up to the loop from a
//! waker, a timer or a socket: which runtime is current on this thread.
//!
//! # Ground rules
//! - Everything here lives on one thread; `RefCell`s are borrowed only for the length
//!   of a slab or queue operation and never across user code (a poll, a `Drop`, a
//!   `wake` of a foreign waker), so user code may spawn, wake and register freely.
//! - A task is polled once per time it is scheduled. Its `scheduled` flag is set
//!   when it is woken and cleared when its key is popped; the queue holds the key of
//!   every scheduled task once, and nothing else. A task woken inside its own poll (a
//!   `yield_now`, an abort from within, a hyper stream task every request) joins the
//!   queue only when that poll ends, and only if it is still pending: a task that
//!   wakes itself and then finishes leaves no key behind that a new task in its slab
//!   slot could run ahead of its turn on.
//! - Phase 1 is bounded: an always-ready task cannot keep phases 2–4 from running for
//!   more than `event_interval` polls. That is the fairness guarantee. Phase 4 is
//!   bounded too: it takes in only the wakes that were queued when it began, and
//!   each task has at most one of those (`task/wake_flag.rs`).
//! - The thread sleeps only in phase 3, and only when no task is ready. With a
//!   blocking job in flight it first waits awake a moment (50 µs of yields) for the
//!   job's wake: waking a sleeping CPU costs more than most short jobs take.

pub(crate) mod context;
#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use slab::Slab;

use crate::coop;
use crate::event::{Event, Park, WakePath};
use crate::io::reactor::Reactor;
use crate::observe::Observers;
use crate::resources::Resources;
use crate::task::join::JoinHandle;
use crate::task::waker::{BLOCK_ON_KEY, BlockOnWaker, Remote, WakeTarget, wake_foreign};
use crate::task::{TaskId, TaskRef, check_task_id, new_task};
use crate::time::clock::{Clock, TICK};
use crate::time::driver::TimeDriver;
use crate::time::wheel::Fired;

/// The runtime's state, shared (`Rc`) by the `Runtime`, the thread's current-runtime
/// slot, and the `Timer`s and I/O sources registered with it.
pub(crate) struct Core {
    /// Distinguishes runtimes, so a waker knows whether the current one is its own.
    pub(crate) id: u64,
    /// Every live task, by key. Keys are reused after a task finishes.
    pub(crate) tasks: RefCell<Slab<TaskRef>>,
    /// Keys of tasks to poll, in wake order. (`u32`: half the memory of `usize`
    /// for a queue that grows with the number of ready tasks.)
    pub(crate) ready: RefCell<VecDeque<u32>>,
    /// The `block_on` future was woken and should be polled.
    pub(crate) block_on_woken: Cell<bool>,
    /// The waker lent to the `block_on` future.
    pub(crate) block_on_waker: Waker,
    next_task_id: Cell<u64>,
    /// Set when dropping the tasks has gone on for [`DROP_ROUNDS`] rounds: from then
    /// on `spawn` panics (see `drop_all_tasks`, in `runtime.rs`).
    pub(crate) refusing_spawns: Cell<bool>,
    /// Reused by phase 2 so firing timers allocates nothing.
    fired: RefCell<Vec<Fired>>,
    /// Tasks that spent their coop budget, woken after phase 3's reactor poll.
    deferred: RefCell<Vec<Waker>>,
    /// Phase 3's waits awake for a blocking job's wake that found none, in a row.
    awake_in_vain: Cell<u32>,
    /// The task being polled; `TaskId::BLOCK_ON` while the `block_on` future is, or nothing
    /// is. For the trace, and to tell a self-wake (woken from its own poll) apart.
    pub(crate) polling: Cell<TaskId>,
    /// The clock and the timer wheel, shared with every timer registered here.
    pub(crate) time: Rc<TimeDriver>,
    /// Blocking jobs in flight: a paused clock must not jump while work is running on
    /// another thread (see `time::hold_clock`).
    pub(crate) clock_holds: Arc<AtomicUsize>,
    pub(crate) reactor: Rc<Reactor>,
    /// What other crates keep for this runtime (its blocking pool): `resources.rs`.
    pub(crate) resources: Resources,
    remote: Arc<Remote>,
    remote_wakes: Receiver<WakeTarget>,
    pub(crate) settings: LoopSettings,
    /// Whoever watches: every `Event` goes to them (`observe/mod.rs`).
    pub(crate) observers: Rc<Observers>,
    /// Who decides where FIFO would, when a schedule is being explored (`explore/`);
    /// `None`: FIFO.
    pub(crate) chooser: Option<Rc<dyn Chooser>>,
}

/// The decisions of a schedule other than FIFO (`explore/`): each method is asked
/// only where the loop has a choice, and the FIFO answer is always legal.
pub(crate) trait Chooser {
    /// Which of the `ready` keys phase 1 polls next: an index (0 is FIFO).
    fn next_ready(&self, core: &Core, ready: &VecDeque<u32>) -> usize;
    /// Phase 2, before its timers fire: may put timers due on the same tick in
    /// another order (deadline order stays), and wake a parked task for nothing.
    fn order_fired(&self, core: &Core, fired: &mut [Fired]);
    /// The coop budget of the poll about to begin (`default`: the runtime's).
    fn budget(&self, core: &Core, default: Option<u32>) -> Option<u32>;
}

/// The settings the loop itself runs with (`Builder`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopSettings {
    pub(crate) paused_clock: bool,
    /// Phase 1's bound: polls per turn.
    pub(crate) event_interval: u32,
    pub(crate) coop_budget: Option<u32>,
}

/// Whether a turn may sleep in phase 3 and jump a paused clock in phase 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitPolicy {
    /// As needed: `block_on`, whose future may wait on I/O with no task alive.
    Allowed,
    /// As needed while a task is alive: `Runtime::turn`. With no `block_on` future
    /// and no task, nobody is left to wake, and the loop would sleep for ever.
    WhileTasksLive,
    /// Never: `Runtime::run_until_stalled`, which stops where waiting would begin.
    Never,
}

/// How many rounds `drop_all_tasks` drops the tasks spawned by the destructors of
/// the round before, before it refuses new spawns.
pub(crate) const DROP_ROUNDS: u32 = 100;

/// How long phase 3 waits awake for a blocking job's wake before it sleeps.
const AWAKE_BEFORE_PARK: Duration = Duration::from_micros(50);

// === impl Core ===

impl Core {
    pub(crate) fn new(
        id: u64,
        settings: LoopSettings,
        resources: Resources,
        observers: Observers,
        chooser: Option<Rc<dyn Chooser>>,
    ) -> std::io::Result<Core> {
        let observers = Rc::new(observers);
        let (reactor, io_waker) = Reactor::new(Rc::clone(&observers))?;
        let (remote, remote_wakes) = Remote::new(id, io_waker);
        let block_on_waker = BlockOnWaker::new_waker(&remote);
        observers.know_block_on_waker(&block_on_waker);
        let clock = Clock::new(settings.paused_clock);
        let time = Rc::new(TimeDriver::new(id, clock, Rc::clone(&observers)));
        Ok(Core {
            id,
            tasks: RefCell::new(Slab::new()),
            ready: RefCell::new(VecDeque::new()),
            block_on_woken: Cell::new(false),
            block_on_waker,
            next_task_id: Cell::new(1),
            refusing_spawns: Cell::new(false),
            fired: RefCell::new(Vec::new()),
            deferred: RefCell::new(Vec::new()),
            awake_in_vain: Cell::new(0),
            polling: Cell::new(TaskId::BLOCK_ON),
            time,
            clock_holds: Arc::new(AtomicUsize::new(0)),
            reactor: Rc::new(reactor),
            resources,
            remote,
            remote_wakes,
            settings,
            observers,
            chooser,
        })
    }

    /// Tells whoever watches what just happened (`observe/mod.rs`). Always inlined, as
    /// `Observers::emit` is: at each call site the event's kind is known, and the
    /// match on it folds to that one arm.
    #[inline(always)]
    pub(crate) fn emit(&self, event: Event<'_>) {
        self.observers.emit(event);
    }

    /// Creates a task, queues it, and returns its handle.
    pub(crate) fn spawn<F>(
        &self,
        future: F,
        spawned_at: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.refusing_spawns.get() {
            // Leaked, not dropped: its destructor could spawn again, which is how we
            // got here.
            std::mem::forget(future);
            panic!(
                "glassbox: spawn refused: the runtime is being dropped, and for {DROP_ROUNDS} \
                 rounds the destructors of its tasks have spawned new tasks (a destructor \
                 that spawns a task like itself?). This task's future is leaked, neither \
                 run nor dropped"
            );
        }
        let id = TaskId(self.next_task_id.get());
        check_task_id(id);
        self.next_task_id.set(id.0 + 1);
        let mut tasks = self.tasks.borrow_mut();
        let slot = tasks.vacant_entry();
        // A key takes 31 bits: the header keeps the remote-wake flag in the 32nd.
        let key = u32::try_from(slot.key())
            .ok()
            .filter(|&key| key < 1 << 31)
            .expect("glassbox: more than 2 billion live tasks");
        let (task, join) = new_task(future, id, key, Arc::clone(&self.remote), spawned_at);
        slot.insert(task);
        drop(tasks);
        self.ready.borrow_mut().push_back(key);
        self.emit(Event::Spawned {
            task: id,
            at: spawned_at,
        });
        JoinHandle::new(join)
    }

    /// The wake fast path: called by a task's waker on this thread while this runtime
    /// is current.
    pub(crate) fn wake_local(&self, target: WakeTarget) {
        self.emit(Event::WakeArrived {
            task: target.id,
            path: WakePath::Local,
        });
        self.schedule(target, WakePath::Local);
    }

    /// Schedules the target unless it is already scheduled or is gone: its key joins
    /// the ready queue now, or, if it is the task being polled, when that poll ends.
    fn schedule(&self, target: WakeTarget, path: WakePath) {
        if target.key == BLOCK_ON_KEY {
            if path == WakePath::Remote {
                self.remote.block_on_queued.lower();
            }
            self.block_on_woken.set(true);
            self.emit(Event::Queued {
                task: TaskId::BLOCK_ON,
                path,
            });
            return;
        }
        let tasks = self.tasks.borrow();
        let Some(task) = tasks.get(target.key as usize) else {
            return;
        };
        let header = task.header();
        // A different id under the same key: the woken task finished and its key was
        // reused. The wake is stale; drop it.
        if header.id() != target.id {
            return;
        }
        self.emit(Event::WakeReachedTask {
            header,
            self_wake: header.id() == self.polling.get(),
        });
        if path == WakePath::Remote {
            // Taken in: the next wake from another thread sends a message again.
            // Lowered before the task is polled, so that poll sees what that wake's
            // sender did before it (wake_flag.rs).
            header.remote_queued.lower();
        }
        if header.is_scheduled() {
            return;
        }
        header.set_scheduled(true);
        if header.id() != self.polling.get() {
            self.ready.borrow_mut().push_back(target.key);
        }
        self.emit(Event::Queued {
            task: target.id,
            path,
        });
    }

    /// True if phase 1 would have something to do, the `block_on` future was woken, or
    /// wakes wait that phase 3 or 4 has not delivered yet.
    pub(crate) fn has_ready_work(&self) -> bool {
        self.block_on_woken.get()
            || !self.ready.borrow().is_empty()
            || !self.deferred.borrow().is_empty()
            // A send raised it (the message may already be taken: one turn too many).
            || self.remote.notified.is_raised()
    }

    /// A leaf future of the task being polled found its coop budget spent: its waker
    /// is kept until phase 3 has polled the reactor (see `coop.rs`).
    pub(crate) fn defer(&self, waker: &Waker) {
        self.emit(Event::ForcedYield {
            task: self.polling.get(),
        });
        self.deferred.borrow_mut().push(waker.clone());
    }

    /// Polls one task (or the `block_on` future) with a fresh coop budget. A task's
    /// poll never unwinds (its cell catches a panic); the `block_on` future's may, and
    /// `block_on` then ends the poll itself with [`poll_unwound`](Core::poll_unwound).
    pub(crate) fn poll_one<R>(&self, task_id: TaskId, poll: impl FnOnce() -> R) -> R {
        self.polling.set(task_id);
        // The runtime's own budget, unless an explored schedule picks another.
        let own = self.settings.coop_budget;
        let budget = self.chooser.as_ref().map_or(own, |c| c.budget(self, own));
        let polled = coop::poll_with_budget(budget, poll);
        self.polling.set(TaskId::BLOCK_ON);
        polled
    }

    /// The `block_on` future's poll unwound: nothing is being polled any more. A poll
    /// left open would read as running for ever (to the watchdog, a stall that is not
    /// happening).
    pub(crate) fn poll_unwound(&self) {
        self.polling.set(TaskId::BLOCK_ON);
        self.emit(Event::PollUnwound);
    }

    /// One turn of the loop. See the module doc for the phases.
    pub(crate) fn run_once(&self, waiting: WaitPolicy) {
        // 1. Run the ready batch. Bounded, so timers and I/O get their turn.
        self.emit(Event::TurnBegins {
            ready: self.ready.borrow().len(),
        });
        self.run_ready_batch();

        // 2. Fire due timers: their tasks join the ready queue for the next batch.
        let (due, max_lateness) = self.fire_due_timers();
        self.emit(Event::TimerPhaseOver { due, max_lateness });

        // 3. Poll the reactor, sleeping if there is nothing to do; wakes I/O waiters.
        //    The count of clock holds is read *before* the remote drain below: a
        //    blocking job sends its wake before it releases its hold.
        let has_work = self.has_ready_work();
        let clock_holds = self.clock_holds.load(Ordering::Acquire);
        let next_timer = self.time.wheel.borrow().next_expiration();
        let park = match waiting {
            WaitPolicy::Allowed => self.park(has_work, clock_holds, next_timer),
            WaitPolicy::WhileTasksLive if !self.tasks.borrow().is_empty() => {
                self.park(has_work, clock_holds, next_timer)
            }
            WaitPolicy::WhileTasksLive | WaitPolicy::Never => Park::No,
        };
        self.emit(Event::ParkBegins { park, has_work });
        let io_events = self.reactor.park(park);
        //    The tasks cut off by the budget rejoin the queue only now, after timers
        //    and I/O had their turn.
        self.wake_deferred();
        self.emit(Event::ParkEnds { park, next_timer });

        // 4. Drain remote wakes (other threads, or wakes from outside the loop).
        self.drain_remote_wakes();

        // 5. Paused clock: nothing ready, no I/O, nothing running elsewhere: the next
        //    thing that can happen is a timer, so jump straight to it.
        let idle = clock_holds == 0 && io_events == 0 && !self.has_ready_work();
        if let Some(tick) = next_timer
            && self.time.clock.is_paused()
            && idle
            && waiting != WaitPolicy::Never
        {
            self.time.clock.jump_to_tick(tick);
            self.emit(Event::ClockJumped { tick });
            self.fire_due_timers();
        }
    }

    /// Phase 1: polls up to `event_interval` tasks; an aborted one is dropped instead,
    /// as if polled (its destructor may wake it, like a poll).
    fn run_ready_batch(&self) {
        for _ in 0..self.settings.event_interval {
            let Some(key) = self.next_ready() else {
                break;
            };
            // Every queued key names a live, scheduled task (the ground rules).
            let task = self.tasks.borrow()[key as usize].clone();
            let header = task.header();
            let (task_id, spawned_at) = (header.id(), header.spawned_at);
            header.set_scheduled(false);
            self.emit(Event::PollBegins {
                task: task_id,
                at: spawned_at,
                header: Some(header),
            });
            let outcome = self.poll_one(task_id, || {
                if header.is_aborted() {
                    task.cancel();
                    return Poll::Ready(());
                }
                task.poll()
            });
            if outcome.is_ready() {
                // Released outside the borrow, for symmetry with `drop_all_tasks`
                // (the output, if any, is owned by the JoinHandle by now).
                let finished = self.tasks.borrow_mut().remove(key as usize);
                drop(finished);
            } else if header.is_scheduled() {
                self.ready.borrow_mut().push_back(key); // it woke itself
            }

            // Told after a finished task is dropped: a slow destructor of its output
            // is this task's doing, not the next one's.
            self.emit(Event::PollEnds {
                task: task_id,
                at: spawned_at,
                ready: outcome.is_ready(),
            });
        }
    }

    /// The key phase 1 polls next: the front of the queue, or the schedule's pick.
    fn next_ready(&self) -> Option<u32> {
        let mut ready = self.ready.borrow_mut();
        match &self.chooser {
            Some(chooser) if ready.len() > 1 => {
                let at = chooser.next_ready(self, &ready);
                ready.remove(at)
            }
            _ => ready.pop_front(),
        }
    }

    /// Phase 2: advances the wheel to now and wakes every due timer.
    /// Returns how many fired and the worst lateness.
    pub(crate) fn fire_due_timers(&self) -> (usize, Duration) {
        self.emit(Event::TimersBegin);
        // An empty wheel is left where it was, behind the clock: nothing in it can be
        // due, so a turn of a loop that only does I/O reads no clock and walks no
        // list (`TimeDriver::wheel_at` brings the wheel up to now before the next
        // timer is placed). An explored schedule still gets its say (`order_fired`).
        if self.time.wheel.borrow().pending() == 0 && self.chooser.is_none() {
            self.emit(Event::TimersEnd);
            return (0, Duration::ZERO);
        }
        let now = self.time.clock.now_tick();
        let mut fired = std::mem::take(&mut *self.fired.borrow_mut());
        self.time.wheel.borrow_mut().advance(now, &mut fired);
        // A late turn fires timers from several lists at once, each list in its own
        // order: fire them by deadline, as asyncio's heap would. A stable sort, so
        // ties keep the wheel's order (arming order, within a slot).
        if !fired.is_sorted_by_key(|timer| timer.deadline) {
            fired.sort_by_key(|timer| timer.deadline);
        }
        if let Some(chooser) = &self.chooser {
            chooser.order_fired(self, &mut fired);
        }
        let count = fired.len();
        let mut max_lateness = 0;
        for timer in fired.drain(..) {
            let late = now.saturating_sub(timer.deadline);
            max_lateness = max_lateness.max(late);
            self.emit(Event::TimerFired {
                deadline: timer.deadline,
                level: timer.location.level,
                slot: timer.location.slot,
                late,
            });
            if let Some(waker) = timer.waker {
                wake_foreign(waker);
            }
        }
        *self.fired.borrow_mut() = fired;
        self.emit(Event::TimersEnd);
        let max_lateness = TICK * u32::try_from(max_lateness).unwrap_or(u32::MAX);
        (count, max_lateness)
    }

    /// How long phase 3 may sleep.
    fn park(&self, has_work: bool, clock_holds: usize, next_timer: Option<u64>) -> Park {
        if has_work || (clock_holds > 0 && self.blocking_wake_caught_awake()) {
            return Park::No;
        }
        if self.time.clock.is_paused() {
            // Virtual time: only look at I/O (no sleep) if phase 5 might jump; with a
            // blocking job running, sleep until its wake arrives (or, for a job nobody
            // awaits, the nudge its last `time::ClockHold` sends when dropped).
            return if clock_holds == 0 && next_timer.is_some() {
                Park::No
            } else {
                Park::UntilEvent
            };
        }
        match next_timer {
            Some(tick) => Park::Until(self.time.clock.instant_of(tick)),
            None => Park::UntilEvent,
        }
    }

    /// Phase 3, with a blocking job in flight and nothing else to do: waits awake, up
    /// to [`AWAKE_BEFORE_PARK`], for a wake from another thread. A short job's wake
    /// comes within microseconds, and catching it awake saves the tens a sleeping
    /// CPU takes to wake (idle, the row `spawn_blocking_rtt` went from 36 µs to ~3).
    /// After 4 waits in vain in a row (a long job), it waits only one park in 16.
    fn blocking_wake_caught_awake(&self) -> bool {
        let in_vain = self.awake_in_vain.get();
        if in_vain >= 4 && !in_vain.is_multiple_of(16) {
            self.awake_in_vain.set(in_vain.wrapping_add(1));
            return false;
        }
        let started = Instant::now();
        while self.remote_wakes.is_empty() && started.elapsed() < AWAKE_BEFORE_PARK {
            // A yield, not a spin: on a busy machine the job may need this CPU.
            std::thread::yield_now();
        }
        let caught = !self.remote_wakes.is_empty();
        self.awake_in_vain
            .set(if caught { 0 } else { in_vain.wrapping_add(1) });
        caught
    }

    /// End of phase 3: wakes the tasks that spent their coop budget.
    fn wake_deferred(&self) {
        let mut deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        for waker in deferred.drain(..) {
            wake_foreign(waker);
        }
        // The emptied list goes back, so a yield per turn allocates nothing.
        let mut slot = self.deferred.borrow_mut();
        if slot.is_empty() {
            *slot = deferred;
        }
    }

    /// Phase 4: schedules the wakes that arrived through the channel: at most as many
    /// as were there when the drain began. Threads that keep waking cannot hold the
    /// loop here; what they send meanwhile waits for the next turn, whose park is then
    /// a zero-timeout poll (`has_ready_work`).
    fn drain_remote_wakes(&self) {
        // Lowered first: a wake sent after this line writes the eventfd again, so it
        // cannot be missed even if the drain below does not see it.
        let notified = self.remote.notified.lower();
        self.emit(Event::RemoteWakesBegin);
        // Not notified: nothing to take yet (a send in flight notifies after this
        // line, and the next turn takes it), and the channel's count is not free.
        let waiting = if notified { self.remote_wakes.len() } else { 0 };
        for target in self.remote_wakes.try_iter().take(waiting) {
            self.emit(Event::WakeArrived {
                task: target.id,
                path: WakePath::Remote,
            });
            self.schedule(target, WakePath::Remote);
        }
        self.emit(Event::RemoteWakesEnd);
    }
}
