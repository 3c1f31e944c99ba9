//! The stall watchdog: a poll that never returns is reported while it still runs.
//!
//! The loop can only time a poll once it returns (`stall.rs`). A poll that never
//! returns, like an accept loop spinning on EMFILE or a `loop {}` of computation, is
//! exactly the one that matters most, and the loop itself can say nothing about it:
//! it is stuck inside that poll. Someone else has to look.
//!
//! seastar and glommio, thread-per-core runtimes, ask the kernel: a timer signal fires
//! on the stuck thread itself and its handler prints a backtrace. That needs signal
//! handlers and unsafe code everywhere. glassbox does less and stays safe: a small
//! thread of its own watches what the loop publishes.
//!
//! ```text
//! loop thread (every poll)                     watchdog thread (looks every T/2, or
//! ───────────────────────                      when the next report is due)
//! poll start: task id, spawn site,             read the beat: the same poll (same
//!             then seq += 1 (odd: running)        odd seq) seen for ≥ T, 2T, 4T...?
//! poll end:   seq += 1 (even: idle)               report it, with how much CPU the
//!                                                 loop thread used meanwhile:
//!                                                 ~all of it: spinning/computing
//!                                                 ~none: blocked in a system call
//! ```
//!
//! The loop publishes no clock reading: the watchdog times a poll from the first look
//! that saw it, so a reported duration is a lower bound (the poll began up to T/2
//! earlier). Reading the clock per poll would cost every poll more than all the rest
//! of the watchdog does.
//!
//! When the poll finally returns, the loop's own report follows (`StallReport`, with
//! the timers that fired late), carrying the watchdog's verdict.
//!
//! # Ground rules
//! - The loop only stores: two relaxed stores and one release store when a poll
//!   starts, one release store when it ends. It never waits for the watchdog, and
//!   costs nothing when no threshold is set (then there is no watchdog).
//! - The beat is a sequence lock: the watchdog trusts what it read only if the
//!   sequence number was odd and unchanged around the read, so it never reports one
//!   poll's start time with another poll's task.
//! - One thread watches every runtime of the process. It is started by the first
//!   runtime built with a threshold, and then stays, parked without a timeout while
//!   no runtime is watched. A runtime joins the watch when it is built and leaves it
//!   when it drops; once it has left, its callback is never called again (a report
//!   in progress is waited for). Building a runtime therefore starts no thread, bar
//!   the first: `block_on` as a newcomer's first line costs microseconds, not the
//!   ~120 µs of a thread started and joined each time.
//! - A report is made on that one thread: an `on_live_stall` that blocks delays the
//!   other runtimes' live reports (never their loops, nor their own reports).
//! - Reports go to `Builder::on_live_stall`, or to stderr. They start with
//!   `glassbox: stall`, as the loop's own reports do. A panic in `on_live_stall` is
//!   contained (said once on stderr): the watchdog goes on watching.
//! - Sleeping loops cost it no wake-ups of its own. When every watched loop has slept in
//!   phase 3 since the previous look (the same sleep: its `parks` count, odd while
//!   asleep, has not moved), no poll can be running, so the watchdog parks without a
//!   timeout ([`DOZING`]). A loop whose sleep ends wakes it: the loop marks itself
//!   awake and then reads `DOZING`, the watchdog raises `DOZING` and then reads the
//!   loops' counts, both sequentially consistent, so at least one sees the other.
//!   Under load sleeps are short and never span a look: nothing changes.
//! - It looks every T/2, but never more often than every millisecond
//!   ([`LOOK_FLOOR`]): an idle loop with a tiny threshold (`stall_threshold(10 µs)`)
//!   costs the watchdog a thousand short wakes a second at most, not a core. Live
//!   reports are then as fine as a millisecond; the loop's own report, made when the
//!   poll returns, still uses the threshold to the µs.

use std::panic::{AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::observe::stall::{LiveStall, StallCause};
use crate::observe::thread_cpu::ThreadCpuClock;
use crate::task::TaskId;

/// The shortest pause between two looks at the beat, whatever the threshold.
pub(crate) const LOOK_FLOOR: Duration = Duration::from_millis(1);

/// Raised while the watchdog thread sleeps without a timeout because every loop it
/// watches sleeps; the first loop to wake lowers it and wakes the watchdog.
static DOZING: AtomicBool = AtomicBool::new(false);

/// Where live stall reports go.
pub(crate) type LiveStallCallback = Arc<dyn Fn(&LiveStall) + Send + Sync>;

/// What the loop publishes about the poll in progress.
struct Beat {
    /// Odd while a poll runs (and the fields below describe it), even between polls.
    seq: AtomicU64,
    task_id: AtomicU64,
    spawned_at: AtomicPtr<Location<'static>>,
}

/// One runtime as the watchdog sees it: what its loop publishes, and how to report it.
struct Watched {
    beat: Beat,
    /// The watchdog's verdict on the last poll it reported: `seq << 2 | cause`.
    verdict: AtomicU64,
    /// The loop's sleeps in phase 3, counted twice each: odd while it sleeps.
    parks: AtomicU64,
    threshold: Duration,
    loop_cpu: Option<ThreadCpuClock>,
    /// Held by the watchdog while it reports; emptied when the runtime leaves.
    reporter: Mutex<Option<Reporter>>,
}

/// Where one runtime's live reports go.
struct Reporter {
    callback: LiveStallCallback,
    /// The callback has panicked once (said on stderr; not said again).
    panicked: bool,
}

/// The runtimes being watched, and the one thread that watches them.
struct Registry {
    watched: Vec<Arc<Watched>>,
    /// Counts the runtimes that ever joined: the watcher looks again at once if one
    /// joined while it was looking.
    joined: u64,
    thread: Option<Thread>,
    /// When the watcher next looks unprompted; `None` while it is parked for good
    /// (or for longer than an `Instant` can say).
    next_look: Option<Instant>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    watched: Vec::new(),
    joined: 0,
    thread: None,
    next_look: None,
});

/// The registry, even after a panic elsewhere while it was held: every change to it
/// is a single push, removal or assignment, so it is never left half-changed.
fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The loop's side: publishes each poll, and leaves the watch when dropped.
pub(crate) struct Watchdog {
    watched: Arc<Watched>,
    left: std::cell::Cell<bool>,
}

impl Watchdog {
    /// Puts the loop running on the calling thread under watch, starting the
    /// process's watchdog thread if this is the first runtime to need it.
    pub(crate) fn start(
        threshold: Duration,
        on_live_stall: Option<LiveStallCallback>,
    ) -> std::io::Result<Watchdog> {
        let watched = Arc::new(Watched {
            beat: Beat {
                seq: AtomicU64::new(0),
                task_id: AtomicU64::new(0),
                spawned_at: AtomicPtr::new(std::ptr::null_mut()),
            },
            verdict: AtomicU64::new(0),
            parks: AtomicU64::new(0),
            threshold,
            loop_cpu: ThreadCpuClock::of_current_thread(),
            reporter: Mutex::new(Some(Reporter {
                callback: on_live_stall.unwrap_or_else(|| Arc::new(|stall| eprintln!("{stall}"))),
                panicked: false,
            })),
        });
        let mut registry = registry();
        if registry.thread.is_none() {
            let thread = thread::Builder::new()
                .name("glassbox-watchdog".into())
                .stack_size(128 * 1024)
                .spawn(watch_every_runtime)?;
            registry.thread = Some(thread.thread().clone());
        }
        registry.watched.push(Arc::clone(&watched));
        registry.joined += 1;
        // Wake the watcher only if it would otherwise look later than this runtime
        // needs: a runtime built while others are watched usually costs no syscall.
        // (A threshold too long to add to now is never due: no look is needed.)
        let first_look = Instant::now().checked_add(look_interval(threshold));
        if let Some(first_look) = first_look
            && registry.next_look.is_none_or(|at| at > first_look)
        {
            registry.next_look = Some(first_look);
            if let Some(thread) = &registry.thread {
                thread.unpark();
            }
        }
        Ok(Watchdog {
            watched,
            left: std::cell::Cell::new(false),
        })
    }

    /// A poll starts: publishes whose it is.
    pub(crate) fn poll_started(&self, task_id: TaskId, spawned_at: &'static Location<'static>) {
        let beat = &self.watched.beat;
        // Orders the stores below after the previous poll's end (see `Watched::read`).
        fence(Ordering::Release);
        beat.task_id.store(task_id.0, Ordering::Relaxed);
        beat.spawned_at
            .store(std::ptr::from_ref(spawned_at).cast_mut(), Ordering::Relaxed);
        let seq = beat.seq.load(Ordering::Relaxed);
        beat.seq.store(seq | 1, Ordering::Release);
    }

    /// The poll returned.
    pub(crate) fn poll_ended(&self) {
        let beat = &self.watched.beat;
        let seq = beat.seq.load(Ordering::Relaxed);
        beat.seq.store((seq | 1) + 1, Ordering::Release);
    }

    /// The loop is about to sleep in phase 3 (a park that may wait).
    pub(crate) fn park_begins(&self) {
        self.watched.parks.fetch_add(1, Ordering::Relaxed);
    }

    /// The loop's sleep is over: wakes the watchdog if it dozes (see the ground rules).
    pub(crate) fn park_ends(&self) {
        self.watched.parks.fetch_add(1, Ordering::SeqCst);
        if DOZING.load(Ordering::SeqCst)
            && DOZING.swap(false, Ordering::SeqCst)
            && let Some(thread) = &registry().thread
        {
            thread.unpark();
        }
    }

    /// What the watchdog found about the poll that just ended, if it reported it.
    pub(crate) fn cause_of_last_poll(&self) -> StallCause {
        let last_poll = self.watched.beat.seq.load(Ordering::Relaxed) - 1;
        let verdict = self.watched.verdict.load(Ordering::Acquire);
        if verdict >> 2 == last_poll {
            StallCause::from_code(verdict & 3)
        } else {
            StallCause::Unknown
        }
    }

    /// Leaves the watch (`Runtime::drop`; again is a no-op). When this returns, the
    /// runtime's `on_live_stall` is not running and will not be called again.
    pub(crate) fn stop(&self) {
        if self.left.replace(true) {
            return;
        }
        registry()
            .watched
            .retain(|watched| !Arc::ptr_eq(watched, &self.watched));
        // Waits for a report in progress; the watcher may still hold this runtime
        // from its last look, but finds no one to report to.
        let reporter = self
            .watched
            .reporter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(reporter);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog").finish_non_exhaustive()
    }
}

/// How long to wait before looking at a poll again: half the threshold, so a stall
/// is seen by 1.5 T at the latest, and no less than [`LOOK_FLOOR`].
fn look_interval(threshold: Duration) -> Duration {
    (threshold / 2).max(LOOK_FLOOR)
}

/// A poll seen running, as read consistently from the beat.
struct RunningPoll {
    seq: u64,
    task_id: TaskId,
    spawned_at: &'static Location<'static>,
}

impl Watched {
    /// The poll running now, or `None` between polls (or if a poll began or ended
    /// during the read: the next look will see it).
    fn read(&self) -> Option<RunningPoll> {
        let beat = &self.beat;
        let seq = beat.seq.load(Ordering::Acquire);
        if seq & 1 == 0 {
            return None;
        }
        let task_id = beat.task_id.load(Ordering::Relaxed);
        let spawned_at = beat.spawned_at.load(Ordering::Relaxed);
        // If any load above saw a later poll's store, this fence pairs with that
        // poll's release fence, and the sequence number below has moved on.
        fence(Ordering::Acquire);
        if beat.seq.load(Ordering::Relaxed) != seq {
            return None;
        }
        Some(RunningPoll {
            seq,
            task_id: TaskId(task_id),
            spawned_at: static_location(spawned_at)?,
        })
    }

    /// The loop thread's CPU time so far, if it can be read.
    fn cpu_time(&self) -> Option<Duration> {
        self.loop_cpu.and_then(|clock| clock.read())
    }

    /// Hands `stall` to the runtime's callback (or stderr), containing a panic: a
    /// panic there must not end the thread, or no later stall would be reported.
    /// Nothing is said for a runtime that has left the watch.
    fn report(&self, stall: &LiveStall) {
        let mut reporter = self.reporter.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(reporter) = reporter.as_mut() else {
            return;
        };
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| (reporter.callback)(stall)));
        if let Err(payload) = outcome {
            crate::contain::drop_contained(payload);
            if !std::mem::replace(&mut reporter.panicked, true) {
                eprintln!(
                    "glassbox: the on_live_stall callback panicked (above); the watchdog \
                     goes on reporting to it"
                );
            }
        }
    }
}

/// Turns a pointer stored by `Watchdog::poll_started` back into the location.
///
/// The one `unsafe` here: std has no safe way to send a `&'static` reference through
/// an atomic. It is sound because every non-null value the beat ever holds was made
/// from a `&'static Location` (an `AtomicPtr` is read whole, never torn), and a
/// `'static` reference stays valid for ever, whichever poll it belonged to.
#[allow(unsafe_code)]
fn static_location(pointer: *mut Location<'static>) -> Option<&'static Location<'static>> {
    // SAFETY: null or made from a `&'static Location` (above); `as_ref` checks null.
    unsafe { pointer.cast_const().as_ref() }
}

/// The poll being watched in one runtime: when it was first seen, when to report it
/// next, and the CPU sample's start.
struct Watch {
    seq: u64,
    first_seen: Instant,
    next_report: Duration,
    /// When the CPU sample began, and the loop thread's CPU time then (if readable);
    /// `None` until the second look at the poll.
    sample: Option<(Instant, Option<Duration>)>,
}

/// The watchdog thread: looks at every watched runtime, then sleeps until the
/// soonest next look any of them needs (for good while none is watched).
fn watch_every_runtime() {
    let mut watches: Vec<(Arc<Watched>, Option<Watch>)> = Vec::new();
    // Each runtime's `parks` at the previous look, to tell one long sleep from many.
    let mut parks_seen: Vec<u64> = Vec::new();
    loop {
        let (watched, joined) = {
            let registry = registry();
            (registry.watched.clone(), registry.joined)
        };
        // Keep the watch of each runtime still there; a newcomer starts unwatched.
        watches.retain(|(runtime, _)| watched.iter().any(|w| Arc::ptr_eq(w, runtime)));
        for runtime in watched {
            if !watches.iter().any(|(w, _)| Arc::ptr_eq(w, &runtime)) {
                watches.push((runtime, None));
            }
        }
        let now = Instant::now();
        let pause = watches
            .iter_mut()
            .map(|(runtime, watch)| look_at(runtime, watch))
            .min();
        // A pause too long to add to now counts as parked for good.
        let next_look = pause.and_then(|pause| now.checked_add(pause));
        let parks_now: Vec<u64> = watches
            .iter()
            .map(|(runtime, _)| runtime.parks.load(Ordering::Relaxed))
            .collect();
        let dozing = !watches.is_empty() && parks_now == parks_seen && all_asleep(&watches);
        parks_seen = parks_now;
        {
            let mut registry = registry();
            if registry.joined != joined {
                DOZING.store(false, Ordering::SeqCst);
                continue; // a runtime joined meanwhile: look at it now
            }
            registry.next_look = if dozing { None } else { next_look };
        }
        match pause {
            Some(pause) if !dozing => thread::park_timeout(pause),
            _ => thread::park(),
        }
        DOZING.store(false, Ordering::SeqCst);
    }
}

/// True if every loop still sleeps in phase 3, with `DOZING` raised first: a loop
/// that wakes after this read finds it raised and wakes the watchdog. Lowered again
/// if one does not.
fn all_asleep(watches: &[(Arc<Watched>, Option<Watch>)]) -> bool {
    DOZING.store(true, Ordering::SeqCst);
    let asleep = watches
        .iter()
        .all(|(runtime, _)| runtime.parks.load(Ordering::SeqCst) & 1 == 1);
    if !asleep {
        DOZING.store(false, Ordering::SeqCst);
    }
    asleep
}

/// Looks at one runtime's beat: starts timing a poll not seen before, reports one
/// that has run too long, and says how long until this runtime needs a look again.
fn look_at(runtime: &Watched, watching: &mut Option<Watch>) -> Duration {
    let Some(poll) = runtime.read() else {
        *watching = None;
        return look_interval(runtime.threshold);
    };
    match watching {
        Some(watch) if watch.seq == poll.seq => look_again(runtime, &poll, watch),
        _ => {
            // A poll not seen before: start timing it from now. Its CPU sample starts
            // at the next look, if it is still running then: the CPU clock has no
            // fast path (a system call), and nearly every poll is over by then.
            let now = Instant::now();
            *watching = Some(Watch {
                seq: poll.seq,
                first_seen: now,
                next_report: runtime.threshold,
                sample: None,
            });
            look_interval(runtime.threshold)
        }
    }
}

/// Reports `poll` if it is due, and says how long to sleep until the next look.
fn look_again(runtime: &Watched, poll: &RunningPoll, watch: &mut Watch) -> Duration {
    let threshold = runtime.threshold;
    // Enough wall time to tell spinning from blocking by the CPU clock.
    let sample = (threshold / 4).clamp(Duration::from_millis(2), Duration::from_millis(25));
    let now = Instant::now();
    let (sampled_at, cpu_at_sample) = *watch
        .sample
        .get_or_insert_with(|| (now, runtime.cpu_time()));
    let running_for = now.saturating_duration_since(watch.first_seen);
    let sampled_for = now.saturating_duration_since(sampled_at);
    if running_for < watch.next_report {
        return (watch.next_report - running_for).max(sample);
    }
    if sampled_for < sample {
        return sample - sampled_for;
    }
    let cpu_share = cpu_at_sample
        .zip(runtime.cpu_time())
        .map(|(before, after)| {
            after.saturating_sub(before).as_secs_f64() / sampled_for.as_secs_f64()
        });
    let stall = LiveStall {
        task_id: poll.task_id,
        spawned_at: poll.spawned_at,
        in_block_on: poll.task_id == TaskId::BLOCK_ON,
        running_for,
        cause: StallCause::from_cpu_share(cpu_share),
        cpu_share,
    };
    runtime
        .verdict
        .store(poll.seq << 2 | stall.cause.code(), Ordering::Release);
    runtime.report(&stall);
    // Again at 2T, 4T, ...: a long stall is not a line every T.
    watch.next_report = watch.next_report.saturating_mul(2);
    watch.sample = Some((now, runtime.cpu_time()));
    watch.next_report.saturating_sub(running_for).max(sample)
}
