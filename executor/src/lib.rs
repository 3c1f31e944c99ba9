//! # executor: glassbox's single-threaded async runtime
//!
//! A hand-written executor small enough to read in an evening: a slab of tasks, a
//! ready queue of task keys, wakers that know whether they are on the loop's thread,
//! a hierarchical timer wheel, and a mio reactor. Everything runs on the thread that
//! calls [`Runtime::block_on`].
//!
//! ## The map
//!
//! Rooms by concern. The reading path (what a learner reads to follow spawn → poll →
//! wake → ready) is the loop, tasks, time and I/O; observers listen through one seam
//! (`event.rs`) and live in `observe/`.
//!
//! | room / file | its one job |
//! |---|---|
//! | `runtime.rs` | [`Runtime`], [`block_on`], [`spawn`]: enter the loop, drop tasks on exit |
//! | `builder.rs` | [`Builder`]: paused clock, event interval, coop budget, stall threshold, trace |
//! | `stepping.rs` | [`Runtime::turn`], [`Runtime::run_until_stalled`] and [`Runtime::snapshot`]: step the loop by hand, see each [`Turn`] and the state after it |
//! | `resources.rs` | what other crates keep per runtime (`patterns`' blocking pool), dropped with it |
//! | `contain.rs` | stops a panic in user code the loop runs for someone else (a foreign waker, an unwanted output's destructor) |
//! | `coop.rs` | the cooperative budget: an always-ready task still gives the loop back ([`consume_budget`], [`unconstrained`]) |
//! | `event.rs` | the one seam: every `Event` the loop, the reactor and the timers tell, and nothing of who listens |
//! | **`event_loop/`** | **the loop** |
//! | `event_loop/mod.rs` | `Core` and `run_once`, the one place tasks are polled, in five numbered phases |
//! | `event_loop/context.rs` | which runtime is current on this thread: the one door up to the loop |
//! | `event_loop/tests.rs` | phase 3's wait awake for a blocking job's wake, driven by hand |
//! | **`task/`** | **a task and how it is woken** (the crate's main `unsafe`) |
//! | `task/mod.rs` | a task's header, states and reference count; `TaskRef`, the loop's handle |
//! | `task/cell.rs` | the heap cell: header, joiner's waker, one slot for the future and then its output |
//! | `task/raw_waker.rs` | the task's raw `Waker` vtable |
//! | `task/join_ref.rs` | the `JoinHandle`'s view of a cell |
//! | `task/join.rs` | [`JoinHandle`], [`JoinError`] |
//! | `task/waker.rs` | the local fast path and the remote channel behind every `Waker`; the `block_on` future's waker |
//! | `task/wake_flag.rs` | the flag that makes a flood of remote wakes cost one message per task and one syscall per turn |
//! | `task/yield_now.rs` | [`yield_now`] |
//! | `task/tests.rs` | the cell's unit tests |
//! | **`time/`** | **time**: [`time::now`], [`time::advance`], [`time::hold_clock`] |
//! | `time/mod.rs` | the public `time` module: `now`, `advance`, `ClockHold` |
//! | `time/clock.rs` | real or paused time; ticks ⇄ `Instant` |
//! | `time/timer.rs` | the [`time::Timer`] future that registers in the wheel |
//! | `time/driver.rs` | a runtime's clock and wheel, shared by its timers: arm, poll, re-arm, cancel |
//! | `time/wheel.rs` | the hierarchical timer wheel (pure data structure, time as a parameter) |
//! | `time/wheel/placement.rs` | picks a timer's level and slot |
//! | `time/wheel/list.rs` | stores the entries of one slot |
//! | `time/wheel/tests/mod.rs` | the wheel's tests: helpers |
//! | `time/wheel/tests/model.rs` | random operations against a sorted-list model |
//! | `time/wheel/tests/placement.rs` | level and slot choices |
//! | `time/wheel/tests/firing.rs` | what fires when, and in what order |
//! | `time/wheel/tests/cancel_and_reset.rs` | cancelling and moving entries |
//! | `time/wheel/tests/far.rs` | deadlines past the wheel's reach |
//! | **`io/`** | **I/O** |
//! | `io/mod.rs` | the room's doc: how the reactor and the park fit the loop |
//! | `io/reactor.rs` | the `mio::Poll` the loop sleeps in; per-source readiness and waiters |
//! | `io/reactor/sources.rs` | the reactor's sources as the snapshot shows them |
//! | `io/reactor/tests.rs` | the reactor's unit tests |
//! | `io/park_timer.rs` | the precise park: a timerfd armed for the next timer (Linux) |
//! | **`net/`** | **sockets on the reactor** |
//! | `net/mod.rs` | [`net::TcpListener`], [`net::TcpStream`], [`net::UdpSocket`], [`net::UnixListener`], [`net::UnixStream`], [`net::UnixDatagram`], [`net::AsyncFd`] |
//! | `net/registration.rs` | a source's place in its runtime's reactor, and the wait-then-retry of every operation |
//! | `net/stream.rs` | what both stream types share: reads, writes, vectored writes, short transfers |
//! | `net/split.rs` | `into_split`'s owned halves, for both stream types |
//! | `net/tcp_listener.rs` | [`net::TcpListener`] |
//! | `net/tcp_stream.rs` | [`net::TcpStream`] |
//! | `net/udp.rs` | [`net::UdpSocket`] |
//! | `net/unix_listener.rs` | [`net::UnixListener`] |
//! | `net/unix_stream.rs` | [`net::UnixStream`] |
//! | `net/unix_datagram.rs` | [`net::UnixDatagram`] |
//! | `net/unix_address.rs` | Unix socket paths and Linux abstract names |
//! | `net/async_fd.rs` | [`net::AsyncFd`]: readiness for any other fd |
//! | `net/fd_source.rs` | a raw fd as a mio source |
//! | `net/conversions.rs` | `from_std`/`into_std`, `AsRawFd`/`AsFd` on each type |
//! | `net/futures_io.rs` | feature `futures-io`: `AsyncRead`/`AsyncWrite` for the streams |
//! | **`observe/`** | **who listens**: each `Event` handed to the observers that are on |
//! | `observe/mod.rs` | `Observers`: the fan-out |
//! | `observe/metrics.rs` | [`Metrics`] and the counters behind it |
//! | `observe/names.rs` | the names `spawn_named` gives tasks, kept off the task's header |
//! | `observe/trace.rs` | [`trace`]: a line per event on stderr |
//! | `observe/woken_by.rs` | [`WokenBy`]: who woke whom, for the trace and each polled task of a [`Turn`] |
//! | `observe/waits.rs` | [`waits`]: what a future parked outside the runtime's sight says its task waits on |
//! | `observe/timeline.rs` | the run as Chrome trace-event JSON for Perfetto |
//! | `observe/timeline/file.rs` | which file the timeline goes to, and writing it safely |
//! | `observe/turn.rs` | the recorder behind [`Turn`] |
//! | `observe/stall.rs` | [`StallReport`], [`LiveStall`]: a poll that blocked the loop |
//! | `observe/poll_clock.rs` | how a poll is timed: the precise clock, or the kernel's coarse one when no one looks closely |
//! | `observe/watchdog.rs` | a thread that reports a poll still running past the stall threshold |
//! | `observe/thread_cpu.rs` | the loop thread's CPU clock: spinning or blocked |
//! | **`snapshot/`** | **the loop's whole state at one moment**, read on demand (the loop never imports it) |
//! | `snapshot/mod.rs` | [`Snapshot`] and [`snapshot()`] (`Runtime::snapshot` is in `stepping.rs`) |
//! | `snapshot/display.rs` | a snapshot drawn as panes |
//! | `snapshot/lints.rs` | the warnings a snapshot raises |
//! | **`explore/`** | **seeded schedules**: where the loop has a choice, a seed picks ([`explore::Explorer`], [`Schedule`]) |
//! | `explore/mod.rs` | run a program under many schedules, report the first that fails, replay it |
//! | `explore/run.rs` | one run of the program under one schedule: turned to its end, a deadlock or a livelock |
//! | `explore/chooser.rs` | the loop's choices answered from a seed (Random, PCT), every answer written down |
//! | `explore/shrink.rs` | delta debugging: the fewest departures from FIFO that still fail |
//! | **`record/`** | **a run as one HTML page**, stepped forwards and backwards ([`Builder::record`], `GLASSBOX_RECORD`) |
//! | `record/mod.rs` | each turn written down, with the state at its end: keyframes and deltas |
//! | `record/state.rs` | the canonical state of one turn's end: what the page shows and checks |
//! | `record/json.rs` | JSON written as `JSON.stringify` writes it, and the digest |
//! | `record/page.rs` | the page: the viewer with the run and its source lines embedded |
//! | `record/viewer.js` | the viewer (with `viewer.html`, `viewer.css`): rebuilds any turn, steps, explains; its self-test and dump |
//! | `signal.rs` | feature `signal`: `ctrl_c()` and `unix::signal(kind)` on the reactor |
//! | **`hyper/`** | **feature `hyper`**: hyper 1.x's traits for glassbox |
//! | `hyper/mod.rs` | what the adapter is, and its rules |
//! | `hyper/io.rs` | hyper's I/O traits for the streams |
//! | `hyper/executor.rs` | hyper's executor trait |
//! | `hyper/timer.rs` | hyper's timer trait, on the wheel |
//!
//! `unsafe` lives in `task/` (the cell, `task/mod.rs`), and in five small places: libc
//! calls in `observe/thread_cpu.rs`, `observe/poll_clock.rs` and `io/park_timer.rs`,
//! one pointer read in `observe/watchdog.rs`, one `fcntl` in `net/async_fd.rs`.
//!
//! ## The loop, as data flows
//!
//! ```text
//! spawn(fut) ─► slab of tasks ─► ready queue ─► poll ─► Ready  ─► JoinHandle woken, slab slot freed
//!                   ▲                              │
//!                   │                              └─► Pending: the future parked its Waker
//!                   │                                  in the timer wheel, a reactor
//!                   │                                  registration, or a pattern's wait list
//!       wake(): same thread ─► push task key on the ready queue (no atomics, no syscall)
//!               other thread ─► crossbeam channel + mio::Waker (coalesced) ─► drained next turn
//!
//! one turn (Core::run_once): run ready tasks (bounded batch) ─► fire due timers ─►
//!     mio::Poll::poll(no wait if work is ready, else until the next timer's µs) ─►
//!     wake I/O waiters ─► drain remote wakes ─► repeat
//! ```
//!
//! ```
//! use std::time::Duration;
//! use executor::{Runtime, spawn, time};
//!
//! let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
//! let order = rt.block_on(async {
//!     let slow = spawn(async {
//!         time::Timer::new(time::now() + Duration::from_millis(20)).await;
//!         "slow"
//!     });
//!     let fast = spawn(async { "fast" });
//!     vec![fast.await.unwrap(), slow.await.unwrap()]
//! });
//! assert_eq!(order, ["fast", "slow"]);
//! ```
#![deny(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unsafe_code
)]

mod builder;
mod contain;
pub mod coop;
mod event;
mod event_loop;
mod io;
// The integration tests' real-time bound, for the unit tests that run a runtime.
pub mod explore;
#[cfg(test)]
#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;
#[cfg(feature = "hyper")]
pub mod hyper;
mod observe;
mod record;
mod resources;
mod runtime;
mod snapshot;
mod stepping;
#[allow(unsafe_code)] // the one exception: see task/mod.rs, "Why this module uses unsafe"
mod task;

// One `#[allow(unsafe_code)]` inside: `net/async_fd.rs`'s fcntl (is the fd non-blocking?).
pub mod net;
#[cfg(all(feature = "signal", unix))]
#[allow(unsafe_code)] // registering the handler: see the file
pub mod signal;
pub mod time;

/// The atomics that `wake_flag.rs` is written against: std's here, loom's when that
/// file is compiled into the loom model (`tests/loom_wake_flag.rs`).
mod sync {
    pub(crate) use std::sync::atomic::{AtomicU32, Ordering};
}

pub use builder::{Builder, DEFAULT_EVENT_INTERVAL, DEFAULT_STALL_THRESHOLD};
pub use coop::{DEFAULT_COOP_BUDGET, consume_budget, unconstrained};
pub use explore::Schedule;
pub use observe::metrics::Metrics;
pub use observe::stall::{LiveStall, StallCause, StallReport};
pub use observe::trace;
pub use observe::turn::{FiredTimer, IoEvent, ParkLimit, PollRecord, Turn};
pub use observe::waits;
pub use observe::woken_by::WokenBy;
pub use resources::{RuntimeInfo, runtime_resource};
pub use runtime::{Runtime, block_on, spawn, spawn_named};
pub use snapshot::{
    IoRegistration, Owner, PendingTimer, Snapshot, TaskInfo, TaskState, Wait, Warning, snapshot,
};
pub use task::TaskId;
pub use task::join::{JoinError, JoinHandle};
pub use task::yield_now::{YieldNow, yield_now};
