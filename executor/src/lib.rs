//! # executor: glassbox's single-threaded async runtime
//!
//! A hand-written executor small enough to read in an evening: a slab of tasks, a
//! ready queue of task keys, wakers that know whether they are on the loop's thread,
//! a hierarchical timer wheel, and a mio reactor. Everything runs on the thread that
//! calls [`Runtime::block_on`].
//!
//! ## The map
//!
//! | file | its one job |
//! |---|---|
//! | `runtime.rs` | [`Runtime`], [`block_on`], [`spawn`]: enter the loop, drop tasks on exit |
//! | `builder.rs` | [`Builder`]: paused clock, event interval, coop budget, stall threshold, trace |
//! | `coop.rs` | the cooperative budget: an always-ready task still gives the loop back ([`consume_budget`], [`unconstrained`]) |
//! | `event_loop.rs` | `Core` and `run_once`, the one place tasks are polled |
//! | `event.rs` | the one seam: every `Event` the loop, the reactor and the timers tell, and nothing of who listens |
//! | `task/` | a task: one heap cell (header, joiner's waker, one slot for the future and then its output), its states, the `JoinHandle`'s view of it, its raw `Waker`; the crate's main `unsafe` (the rest: libc calls in `thread_cpu.rs` and `park_timer.rs`, one pointer read in `watchdog.rs`, one `fcntl` in `net/async_fd.rs`) |
//! | `join.rs` | [`JoinHandle`], [`JoinError`] |
//! | `waker.rs` | the local fast path and the remote channel behind every `Waker` |
//! | `wake_flag.rs` | the flag that makes a flood of remote wakes cost one message per task and one syscall per turn |
//! | `context.rs` | which runtime is current on this thread |
//! | `timer/wheel.rs` | the hierarchical timer wheel (pure data structure, time as a parameter); `wheel/placement.rs` picks a level and slot, `wheel/list.rs` stores the entries |
//! | `timer/mod.rs` | the [`time::Timer`] future that registers in the wheel |
//! | `clock.rs` | real or paused time; ticks ⇄ `Instant` |
//! | `reactor.rs` | the `mio::Poll` the loop sleeps in; per-source readiness and waiters |
//! | `park_timer.rs` | the precise park: a timerfd armed for the next timer (Linux) |
//! | `resources.rs` | what other crates keep per runtime (`patterns`' blocking pool), dropped with it |
//! | `net/` | sockets on the reactor: [`net::TcpListener`], [`net::TcpStream`], [`net::UdpSocket`], [`net::UnixListener`], [`net::UnixStream`] (both streams with [`into_split`](net::TcpStream::into_split) halves), [`net::UnixDatagram`]; [`net::AsyncFd`] for any other fd; `from_std`/`into_std`, `AsRawFd`/`AsFd` on each |
//! | `hyper/` | feature `hyper`: hyper 1.x's I/O, executor and timer traits for glassbox |
//! | `watchdog.rs`, `thread_cpu.rs` | a thread that reports a poll still running past the stall threshold, spinning or blocked |
//! | `contain.rs` | stops a panic in user code the loop runs for someone else (a foreign waker, an unwanted output's destructor) |
//! | `observe.rs` | `Observers`: each `Event` handed to the observers that are on (counters, trace, timeline, turn recorder, stalls, watchdog) |
//! | `stall.rs`, `metrics.rs`, `trace.rs` | what the loop tells you about itself |
//! | `snapshot.rs` | [`Runtime::snapshot`] and [`snapshot()`]: the loop's whole state at one moment, drawn as panes |
//! | `turn.rs` | [`Runtime::turn`] and [`Runtime::run_until_stalled`]: step the loop by hand, see each [`Turn`] |
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
#[cfg(test)]
#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;
#[cfg(feature = "hyper")]
pub mod hyper;
mod observe;
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
pub use observe::metrics::Metrics;
pub use observe::stall::{LiveStall, StallCause, StallReport};
pub use observe::trace;
pub use observe::turn::{FiredTimer, IoEvent, ParkLimit, PollRecord, Turn};
pub use resources::{RuntimeInfo, runtime_resource};
pub use runtime::{Runtime, block_on, spawn};
pub use snapshot::{
    IoRegistration, Owner, PendingTimer, Snapshot, TaskInfo, TaskState, Wait, Warning, snapshot,
};
pub use task::TaskId;
pub use task::join::{JoinError, JoinHandle};
pub use task::yield_now::{YieldNow, yield_now};
