//! Who listens to the loop. The loop, the reactor and the timers tell every [`Event`]
//! to one place, [`Observers::emit`], which hands it to each observer that is on:
//!
//! ```text
//!                         ┌─► counters     Runtime::metrics, each task's counts  (metrics.rs)
//!                         ├─► trace        a line on stderr              (trace.rs, GLASSBOX_TRACE=1)
//! emit(Event::…) ─► Observers ┼─► timeline  Chrome trace-event JSON  (timeline.rs, GLASSBOX_TRACE_JSON)
//!                         ├─► recorder     the `Turn` being stepped      (turn.rs, Runtime::turn)
//!                         ├─► stalls       polls over the threshold      (stall.rs; timed by poll_clock.rs)
//!                         ├─► wake causes  what woke each task           (woken_by.rs, with the trace or a Turn)
//!                         └─► watchdog     a poll still running, seen from another thread (watchdog.rs)
//! ```
//!
//! Adding an observer is a file and a line in `emit`; the loop does not change.
//!
//! Who listens to what (each event's meaning is in `event.rs`):
//!
//! | event | counters | trace | timeline | recorder | stalls | watchdog | wake causes |
//! |---|---|---|---|---|---|---|---|
//! | `Spawned` | tasks spawned | `spawn` | track, spawn arrow | | | | |
//! | `WakeArrived` | local / remote wakes | | | remote wakes | | | |
//! | `WakeReachedTask` | the task's wakes, self-wakes | | | | | | |
//! | `Queued` | | `wake … by …` | wake arrow | | | | cause named, kept |
//! | `TurnBegins` | (poll clock starts) | `── turn N ──` | ready-queue length | | | | |
//! | `PollBegins` | the task's polls | | poll slice opens | its cause | | poll published | inside a poll |
//! | `PollEnds` | polls, finished, longest poll (timed here) | `poll` | poll slice closes | polls | noted if over | poll over | out of it |
//! | `PollUnwound` | | | | | | poll over | out of it |
//! | `ForcedYield` | forced yields | `coop` | instant | forced yields | | | budget spent |
//! | `TimersBegin`, `TimersEnd` | | | phase slice | | | | out of a timer |
//! | `TimerFired` | timers fired | `timer fire` | | timers | | | this timer |
//! | `TimerPhaseOver` | | `stall` | | | reported | | |
//! | `TimerArmed`, `TimerReset`, `TimerCancelled` | | `timer` | | | | | |
//! | `ParkBegins` | reactor turns | `park` | park slice | stopwatch starts | | asleep (if it may wait) | |
//! | `IoPhaseBegins` | | | phase slice | | | | |
//! | `IoReady`, `IoStale` | | `io` | | I/O events | | | wakers released |
//! | `ParkEnds` | | | slice closes | park | | awake; wakes a dozing watchdog | phase 3 over |
//! | `IoRegistered`, `IoWaits`, `IoDeregistered` | | `io` | | | | | |
//! | `RemoteWakesBegin`, `RemoteWakesEnd` | | | phase slice | | | | |
//! | `ClockJumped` | | `clock` | | clock jump | | | |
//! | `RuntimeDropped` | | | file closed | | | leaves the watch | |
//!
//! Not an event: `waits::note`, which a future that parks a task outside the
//! runtime's sight calls itself (`waits.rs`); the snapshot reads what it kept.
//!
//! # Ground rules
//! - Watching costs nothing when nobody watches: each observer tests one `bool` (or
//!   `Option`) before it formats, writes or records anything, and `emit` is always
//!   inlined, so at each call site the match on the event's kind folds away. No `dyn`.
//! - Observing never changes what the loop does, only what is written down. (The one
//!   exception is a user's `on_stall` callback, which is user code.)
//! - An observer reads what the event carries and its own state. The one look back
//!   into the loop is read-only and rare, as a snapshot's: a stall, once its poll is
//!   over, reads which tasks its poll kept waiting in the ready queue
//!   ([`tasks_in_ready_queue`], which the snapshot uses too).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::panic::Location;
use std::task::Waker;
use std::time::Duration;

pub(crate) mod metrics;
pub(crate) mod names;
#[allow(unsafe_code)] // two libc calls: the coarse monotonic clock (see the file)
mod poll_clock;
pub(crate) mod stall;
#[allow(unsafe_code)] // two libc calls: the loop thread's CPU clock (see the file)
mod thread_cpu;
pub(crate) mod timeline;
pub mod trace;
pub(crate) mod turn;
pub mod waits;
pub(crate) mod watchdog;
pub mod woken_by;

use crate::event::{Event, Park, TokenName, WakePath};
use crate::event_loop::context;
use crate::task::{self, TaskCounts, TaskId, TaskRef};
use metrics::Counters;
use names::TaskNames;
use poll_clock::{PollClock, Stamp};
use slab::Slab;
use stall::{Stall, StallCause, StallSettings, StallWatch};
use timeline::{Timeline, TimelineFile, TimelineRequest};
use trace::{ItWaitedIn, Outcome, ShowPark, ShowPath, ShowTicks, Subject, Tracer, trace};
use turn::{IoEvent, Owner, TurnRecorder};
use waits::TaskWaits;
use watchdog::{LiveStallCallback, Watchdog};
use woken_by::{WakeCauses, WokenBy};

/// What the user asked to watch (`Builder`).
#[derive(Clone)]
pub(crate) struct ObserverSettings {
    pub(crate) trace: bool,
    /// Where to write the timeline for Perfetto, if anywhere, and which setting asked.
    pub(crate) trace_json: Option<TimelineRequest>,
    pub(crate) stalls: StallSettings,
    pub(crate) on_live_stall: Option<LiveStallCallback>,
    /// A recording is on: keep each source's interest for it.
    pub(crate) recording: bool,
}

/// Every observer of one runtime. Shared (`Rc`) by the loop, its reactor and its
/// timers, which emit; read by `Runtime::metrics`, the snapshot and stepping.
pub(crate) struct Observers {
    /// The runtime watched: a task's waker names a task only within it.
    runtime_id: u64,
    /// The address of the `block_on` future's waker, to tell it apart in a `Turn`.
    block_on_waker: std::cell::Cell<*const ()>,
    pub(crate) counters: Counters,
    pub(crate) tracer: Tracer,
    pub(crate) timeline: Timeline,
    pub(crate) recorder: TurnRecorder,
    /// What `spawn_named` called each live task that has a name.
    pub(crate) names: TaskNames,
    /// What the futures that parked each task said it waits on (`waits::note`).
    pub(crate) waits: TaskWaits,
    /// What the loop is doing, so each wake can name what woke it (`woken_by.rs`).
    wake_causes: WakeCauses,
    stalls: StallWatch,
    /// What times each poll, and when the poll now running (or the batch's next)
    /// began: a poll's end is the next poll's start, as one turn's polls follow on.
    poll_clock: PollClock,
    poll_began: Cell<Stamp>,
    /// Watches polls from another thread while a stall threshold is set.
    watchdog: Option<Watchdog>,
    /// Each registered source's interest, by token, while a recording is on (the
    /// reactor does not keep it).
    interests: Option<RefCell<HashMap<TokenName, &'static str>>>,
}

impl Observers {
    pub(crate) fn new(runtime_id: u64, settings: ObserverSettings) -> io::Result<Observers> {
        Ok(Observers {
            runtime_id,
            block_on_waker: std::cell::Cell::new(std::ptr::null()),
            counters: Counters::default(),
            tracer: Tracer::new(settings.trace),
            timeline: Timeline::open(settings.trace_json.as_ref())?,
            recorder: TurnRecorder::default(),
            names: TaskNames::default(),
            waits: TaskWaits::default(),
            wake_causes: WakeCauses::default(),
            watchdog: match settings.stalls.threshold {
                Some(threshold) => Some(Watchdog::start(threshold, settings.on_live_stall)?),
                None => None,
            },
            poll_clock: PollClock::new(settings.stalls.threshold),
            poll_began: Cell::new(Stamp::Precise(std::time::Instant::now())),
            stalls: StallWatch::new(settings.stalls),
            interests: settings.recording.then(RefCell::default),
        })
    }

    /// Observers that are all off, for unit tests of the parts that emit.
    #[cfg(test)]
    pub(crate) fn quiet() -> Observers {
        let settings = ObserverSettings {
            trace: false,
            trace_json: None,
            stalls: StallSettings {
                threshold: None,
                on_stall: None,
            },
            on_live_stall: None,
            recording: false,
        };
        Observers::new(0, settings).expect("no file, no thread: nothing can fail")
    }

    /// Tells the observers which waker is the `block_on` future's.
    pub(crate) fn know_block_on_waker(&self, waker: &Waker) {
        self.block_on_waker.set(waker.data());
    }

    /// Whose `waker` is, as far as this runtime can tell.
    pub(crate) fn owner_of(&self, waker: &Waker) -> Owner {
        if let Some(header) = task::header_of(waker) {
            // A task's waker, but a task id means something only within its runtime.
            return if header.remote.runtime_id == self.runtime_id {
                Owner::Task(header.id())
            } else {
                Owner::Foreign
            };
        }
        // The `block_on` waker wraps an `Arc` that the loop keeps, so while the loop
        // lives no other waker's data is at that address. (The vtables are not
        // compared: std builds one per place it makes such a waker, so two clones may
        // carry different copies.)
        if waker.data() == self.block_on_waker.get() {
            Owner::BlockOn
        } else {
            Owner::Foreign
        }
    }

    /// `task` as the trace names it. Call only inside `trace!` (a table lookup).
    fn subject(&self, task: TaskId) -> Subject {
        Subject(task, self.names.of(task))
    }

    /// True if someone reads what woke each task: the trace, or a turn being recorded.
    #[inline(always)]
    fn wakes_watched(&self) -> bool {
        self.tracer.enabled() || self.recorder.is_recording()
    }

    /// A turn's polls (or the `block_on` future's) are about to begin: read the poll
    /// clock, the precise one if a poll's length will be shown to the microsecond
    /// (`poll_clock.rs`).
    #[inline]
    fn start_poll_clock(&self) {
        // The trace and a recorded turn show each poll's length; the timeline
        // times its slices with its own clock.
        self.poll_began
            .set(self.poll_clock.now(self.wakes_watched()));
    }

    /// The loop is now inside `cause` (a poll, a timer, an I/O event) or none (`Loop`).
    #[inline(always)]
    fn waking_now(&self, cause: WokenBy) {
        if self.wakes_watched() {
            self.wake_causes.now(cause);
        }
    }

    /// The interest the source with `token` (`key.generation`) was registered with,
    /// while a recording is on.
    pub(crate) fn interest_of(&self, token: &str) -> Option<String> {
        let (key, generation) = token.split_once('.')?;
        let (key, generation) = (key.parse().ok()?, generation.parse().ok()?);
        let interests = self.interests.as_ref()?.borrow();
        let interest = interests.get(&TokenName { key, generation })?;
        Some((*interest).to_string())
    }

    /// True if a poll that took `took` is a stall (over the threshold, if one is set).
    pub(crate) fn is_stall(&self, took: Duration) -> bool {
        self.stalls.is_stall(took)
    }

    /// True if a poll over the stall threshold waits to be reported.
    pub(crate) fn stalls_noted(&self) -> bool {
        self.stalls.any_noted()
    }

    /// Hands `event` to every observer that is on. Always inlined: each call site
    /// names one kind of event, so the match folds to that arm.
    #[inline(always)]
    pub(crate) fn emit(&self, event: Event<'_>) {
        let tracer = &self.tracer;
        match event {
            Event::Spawned { task, at } => {
                Counters::bump(&self.counters.tasks_spawned);
                trace!(tracer, "spawn  task={task} at {at}");
                self.timeline.write(|t| t.spawned(task, at));
            }
            Event::Named { task, name } => {
                self.names.name(task, name);
                trace!(tracer, "name   task={task} {name}");
                self.timeline.write(|t| t.named(task, name));
            }
            Event::WakeArrived { task, path } => match path {
                WakePath::Local => Counters::bump(&self.counters.local_wakes),
                WakePath::Remote => {
                    Counters::bump(&self.counters.remote_wakes);
                    if task != TaskId::BLOCK_ON {
                        self.recorder.remote_wake(task);
                    }
                }
            },
            Event::WakeReachedTask { header, self_wake } => {
                TaskCounts::count(&header.counts.wakes);
                if self_wake {
                    // A `yield_now`, or a future that wakes itself and returns
                    // Pending (the snapshot's self-wake lint).
                    TaskCounts::count(&header.counts.self_wakes);
                }
                if tracer.enabled() {
                    let told = self.waits.told_by(header);
                    self.wake_causes.reached(header.id(), told);
                }
            }
            Event::Queued { task, path } => {
                if self.wakes_watched() {
                    let by = self.wake_causes.queued(task, path);
                    trace!(
                        tracer,
                        "wake   {} ({}, by {by}{})",
                        self.subject(task),
                        ShowPath(path),
                        ItWaitedIn(self.wake_causes.ended_wait(task, by))
                    );
                }
                self.timeline.write(|t| t.woke(task));
            }
            Event::TurnBegins { ready } => {
                trace!(
                    tracer,
                    "── turn {} · {ready} in the ready queue ──",
                    self.counters.reactor_turns.get() + 1
                );
                self.timeline.write(|t| t.ready_queue(ready));
                self.start_poll_clock();
            }
            Event::PollBegins { task, at, header } => {
                if task == TaskId::BLOCK_ON {
                    self.start_poll_clock();
                }
                if self.wakes_watched() {
                    let counts = header.map(|header| &header.counts);
                    let first_poll = counts.is_some_and(|c| TaskCounts::counted(&c.polls) == 0);
                    let cause = self.wake_causes.polled(task, first_poll);
                    let waited_in = match cause {
                        Some(WokenBy::Task(_) | WokenBy::BlockOn | WokenBy::OtherThread) => {
                            header.and_then(|header| self.waits.told_by(header))
                        }
                        _ => None,
                    };
                    self.recorder.woken_by(cause, waited_in);
                    self.wake_causes.now(match task {
                        TaskId::BLOCK_ON => WokenBy::BlockOn,
                        task => WokenBy::Task(task),
                    });
                }
                if let Some(header) = header {
                    TaskCounts::count(&header.counts.polls);
                }
                self.timeline.write(|t| t.poll_begins(task));
                if let Some(watchdog) = &self.watchdog {
                    watchdog.poll_started(task, at);
                }
            }
            Event::PollEnds { task, at, ready } => {
                let (now, took) = self.poll_clock.since(self.poll_began.get());
                self.poll_began.set(now);
                self.poll_ended(task, at, ready, took);
            }
            Event::PollUnwound => {
                self.waking_now(WokenBy::Loop);
                if let Some(watchdog) = &self.watchdog {
                    watchdog.poll_ended();
                }
            }
            Event::ForcedYield { task } => {
                Counters::bump(&self.counters.forced_yields);
                trace!(tracer, "coop   task={task} budget spent: yield");
                if self.wakes_watched() {
                    self.wake_causes.budget_spent(task);
                }
                self.recorder.forced_yield(task);
                self.timeline.write(|t| t.instant(task, "forced yield"));
            }
            Event::TimersBegin => self
                .timeline
                .write(|t| t.loop_phase_begins("timers", false)),
            Event::TimerFired {
                deadline,
                level,
                slot,
                late,
            } => {
                Counters::bump(&self.counters.timers_fired);
                trace!(
                    tracer,
                    "timer  fire deadline={} level={level} slot={slot} late={}",
                    ShowTicks(deadline),
                    ShowTicks(late)
                );
                self.recorder.fired(deadline, level, slot, late);
                self.waking_now(WokenBy::Timer(turn::since_start(deadline)));
            }
            Event::TimersEnd | Event::RemoteWakesEnd => {
                self.waking_now(WokenBy::Loop);
                self.timeline.write(TimelineFile::loop_phase_ends);
            }
            Event::TimerPhaseOver { due, max_lateness } => {
                self.stalls.report(due, max_lateness, tracer);
            }
            Event::TimerArmed {
                key,
                deadline,
                level,
                slot,
            } => trace!(
                tracer,
                "timer  insert TimerKey({key}) deadline={} level={level} slot={slot}",
                ShowTicks(deadline)
            ),
            Event::TimerReset { key, deadline, due } => trace!(
                tracer,
                "timer  reset TimerKey({key}) deadline={}{}",
                ShowTicks(deadline),
                if due { " (due: woken)" } else { "" }
            ),
            Event::TimerCancelled { key, level, slot } => trace!(
                tracer,
                "timer  cancel TimerKey({key}) level={level} slot={slot}"
            ),
            Event::ParkBegins { park, has_work } => {
                if let Some(watchdog) = self.watchdog.as_ref().filter(|_| park != Park::No) {
                    watchdog.park_begins();
                }
                Counters::bump(&self.counters.reactor_turns);
                trace!(tracer, "park   {}", ShowPark(park, has_work));
                self.timeline.write(|t| t.park_begins(park != Park::No));
                self.recorder.park_begins();
            }
            Event::IoPhaseBegins => self
                .timeline
                .write(|t| t.loop_phase_begins("reactor", false)),
            Event::IoReady {
                token,
                readable,
                writable,
                woken,
            } => {
                trace!(
                    tracer,
                    "io     token={token} readable={readable} writable={writable}"
                );
                if self.wakes_watched() {
                    let by = WokenBy::io(token, readable, writable);
                    for waker in woken {
                        match self.owner_of(waker) {
                            Owner::Task(task) => self.wake_causes.io_released(task, by),
                            Owner::BlockOn => self.wake_causes.io_released(TaskId::BLOCK_ON, by),
                            Owner::Foreign => {}
                        }
                    }
                }
                self.recorder.record(|turn| {
                    turn.io.push(IoEvent {
                        token: token.to_string(),
                        readable,
                        writable,
                        woken: woken.iter().map(|waker| self.owner_of(waker)).collect(),
                    });
                });
            }
            Event::IoStale { token } => trace!(tracer, "io     token={token} stale: dropped"),
            Event::ParkEnds { park, next_timer } => {
                if let Some(watchdog) = self.watchdog.as_ref().filter(|_| park != Park::No) {
                    watchdog.park_ends();
                }
                if self.wakes_watched() {
                    self.wake_causes.park_over();
                }
                self.recorder.parked(park, next_timer);
                self.timeline.write(TimelineFile::loop_phase_ends);
            }
            Event::IoRegistered {
                token,
                what,
                interest,
            } => {
                trace!(tracer, "io     register token={token} ({what})");
                if let Some(interests) = &self.interests {
                    interests.borrow_mut().insert(token, interest);
                }
            }
            Event::IoWaits { token, reading } => {
                let direction = if reading { "Read" } else { "Write" };
                trace!(tracer, "io     wait   token={token} {direction}");
            }
            Event::IoDeregistered { token } => {
                trace!(tracer, "io     deregister token={token}");
                if let Some(interests) = &self.interests {
                    interests.borrow_mut().remove(&token);
                }
            }
            Event::RemoteWakesBegin => self
                .timeline
                .write(|t| t.loop_phase_begins("remote wakes", false)),
            Event::ClockJumped { tick } => {
                trace!(
                    tracer,
                    "clock  jump to {} (paused, nothing else can run)",
                    ShowTicks(tick)
                );
                self.recorder.jumped(tick);
            }
            Event::RuntimeDropped => {
                if let Some(watchdog) = &self.watchdog {
                    watchdog.stop();
                }
                // The timeline's closing `]}`, written now: a `Timer` or socket kept
                // alive elsewhere may hold the loop's state past this point.
                self.timeline.write(TimelineFile::close);
            }
        }
    }

    /// A poll (a task's, or the `block_on` future's) is over after `took`.
    #[inline]
    fn poll_ended(
        &self,
        task: TaskId,
        at: &'static Location<'static>,
        ready: bool,
        took: Duration,
    ) {
        if let Some(watchdog) = &self.watchdog {
            watchdog.poll_ended();
        }
        self.waking_now(WokenBy::Loop);
        let in_block_on = task == TaskId::BLOCK_ON;
        if !in_block_on {
            Counters::bump(&self.counters.polls);
            if ready {
                Counters::bump(&self.counters.tasks_finished);
            }
        }
        trace!(
            self.tracer,
            "poll   {} -> {}, began at {}",
            self.subject(task),
            Outcome(task, ready),
            self.tracer.at(took)
        );
        // The `block_on` future is never polled while a `Turn` is recorded.
        self.recorder.polled(task, at, ready, took);
        self.timeline.write(|t| t.poll_ends(ready));
        if took > self.counters.longest_poll.get() {
            self.counters.longest_poll.set(took);
        }
        if self.stalls.is_stall(took) {
            self.note_stall(task, at, in_block_on, took);
        }
        if ready && !in_block_on {
            self.names.finished(task);
        }
    }
}

impl Observers {
    /// The rare half of `poll_ended`, kept out of line so that every poll's path stays
    /// short: a poll over the stall threshold is noted, to be reported after phase 2.
    #[cold]
    fn note_stall(
        &self,
        task: TaskId,
        at: &'static Location<'static>,
        in_block_on: bool,
        took: Duration,
    ) {
        Counters::bump(&self.counters.stalls);
        self.timeline.write(|t| t.instant(task, "stall"));
        let cause = self
            .watchdog
            .as_ref()
            .map_or(StallCause::Unknown, Watchdog::cause_of_last_poll);
        self.stalls.note(Stall {
            task_id: task,
            name: self.names.of(task),
            spawned_at: at,
            blocked_for: took,
            in_block_on,
            cause,
            // The loop holds no borrow of its queue or its tasks while it tells an
            // event, and its runtime is current whenever it polls.
            kept_waiting: context::current().map_or_else(Vec::new, |core| {
                tasks_in_ready_queue(&core.tasks.borrow(), &core.ready.borrow())
            }),
        });
    }
}

/// The tasks waiting in a ready queue, front first (each queued once: the loop's
/// ground rules).
pub(crate) fn tasks_in_ready_queue(tasks: &Slab<TaskRef>, queue: &VecDeque<u32>) -> Vec<TaskId> {
    queue
        .iter()
        .map(|&key| tasks[key as usize].header().id())
        .collect()
}
