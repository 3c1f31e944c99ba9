//! I/O: the reactor the loop sleeps in, and the precise park that wakes it for the
//! next timer.
//!
//! ```text
//! run_once phase 3 ─► Reactor::park(park) ─► mio::Poll::poll ─► each event: readiness
//!                     (reactor.rs)              ▲ timerfd       remembered, waiters woken,
//!                                               │ (park_timer.rs)  Event::IoReady told
//! net/ sockets ─► Registration (net/registration.rs) ─► Reactor::register / poll_ready
//! ```
//!
//! # Ground rules
//! - The reactor knows the loop only through the `Park` it is given and the events it
//!   tells (`event.rs`); it never sees the loop's state. A registration holds its
//!   reactor and its runtime's id, never the loop.
//! - Only `Reactor::park` sleeps, and only for as long as the loop's `Park` allows.

#[allow(unsafe_code)] // four libc calls: the timerfd and CLOCK_MONOTONIC (see the file)
pub(crate) mod park_timer;
pub(crate) mod reactor;
