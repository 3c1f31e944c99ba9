//! The precise park: how the reactor sleeps until the next timer to the microsecond.
//!
//! `mio::Poll::poll` takes its timeout in whole milliseconds, rounded up (epoll_wait's
//! own unit), so a loop that parks with a timeout wakes up to a millisecond after a
//! 250 µs timer was due. tokio does, and asyncio too. On Linux the park instead waits
//! with no timeout on a timerfd registered with the reactor, armed for the next
//! timer's exact instant:
//!
//! ```text
//! run_once phase 3: Park::Until(next timer's instant)
//!     ParkTimer::timeout_for ─► armed for that instant already? ─ no ─► timerfd_settime
//!           │ (absolute CLOCK_MONOTONIC, ns)                               │
//!           ▼                                                              ▼
//!     mio::Poll::poll(timeout: None) ◄──────────────────────────────────────┘
//!           │ the kernel's hrtimer expires: the timerfd turns readable
//!           ▼
//!     Reactor::park sees PARK_TIMER_TOKEN ─► ParkTimer::fired: read the count, disarm
//! ```
//!
//! # Ground rules
//! - One timerfd per runtime, made the first time its loop parks until a timer: a
//!   runtime that never does (`block_on` of a ready future) pays no syscall for it.
//!   Nothing about it is process-wide (the thread's timer slack is left alone: a
//!   timerfd's hrtimer has none).
//! - It is armed only when the deadline changes, as netty and the `polling` crate do:
//!   a loop that parks again and again for the same timer pays one `timerfd_settime`.
//!   Once it fires it is disarmed, so the next park for any deadline arms it again.
//! - A park with no timer left (`Park::UntilEvent`) disarms it if it is still armed:
//!   the timer it was armed for was cancelled, and a loop that waits for an event
//!   must not wake at that deadline with nothing to do.
//! - An `Instant` becomes an absolute `CLOCK_MONOTONIC` time through one pair of
//!   readings taken at creation, the `Instant` first: the time it maps to is never
//!   before the real one, so the timerfd never fires early (std's `Instant` is
//!   `CLOCK_MONOTONIC` on Linux; both count at the same rate).
//! - Off Linux there is no timerfd: the park is mio's millisecond timeout, rounded up,
//!   so timers there end up to a millisecond late, as tokio's do.

use std::time::{Duration, Instant};

use mio::Token;

use crate::event::Park;

/// The token the timerfd is registered under: its key bits are one below the
/// remote-wake token's, and the reactor never hands out either key.
pub(crate) const PARK_TIMER_TOKEN: Token = Token(usize::MAX - 1);

// Miri (`scripts/miri.sh`, which checks the task cell's unsafe code) has no timerfd:
// it runs the loop on the millisecond park, as other systems do.
#[cfg(all(target_os = "linux", not(miri)))]
pub(crate) use linux::ParkTimer;
#[cfg(any(not(target_os = "linux"), miri))]
pub(crate) use millisecond::ParkTimer;

#[cfg(all(target_os = "linux", not(miri)))]
mod linux {
    use std::cell::{Cell, OnceCell};
    use std::fs::File;
    use std::io::{self, Read};
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::time::{Duration, Instant};

    use mio::unix::SourceFd;
    use mio::{Interest, Registry};

    use super::{PARK_TIMER_TOKEN, Park, wait_until};

    /// A runtime's timerfd, once made, and the instant it is armed for.
    #[derive(Debug)]
    pub(crate) struct ParkTimer {
        /// Made by the first park until a timer, and registered under
        /// [`PARK_TIMER_TOKEN`].
        fd: OnceCell<File>,
        /// The deadline the timerfd is set to fire at, until it fires.
        armed: Cell<Option<Instant>>,
        /// One `Instant` and the `CLOCK_MONOTONIC` reading taken just after it.
        epoch: (Instant, Duration),
    }

    impl ParkTimer {
        /// No timerfd yet; the epoch is read now (two clock reads, no syscall).
        pub(crate) fn new() -> ParkTimer {
            let instant = Instant::now();
            ParkTimer {
                fd: OnceCell::new(),
                armed: Cell::new(None),
                epoch: (instant, monotonic_now()),
            }
        }

        /// The timeout to give `mio::Poll::poll` for `park`: for a deadline, none at
        /// all, once the timerfd is armed for it. If making or arming it fails (it
        /// should not), the deadline becomes a millisecond timeout, as off Linux.
        pub(crate) fn timeout_for(&self, park: Park, registry: &Registry) -> Option<Duration> {
            let Park::Until(deadline) = park else {
                if park == Park::UntilEvent && self.armed.get().is_some() {
                    self.disarm();
                }
                return wait_until(park);
            };
            if self.armed.get() == Some(deadline) {
                return None;
            }
            match self.arm(deadline, registry) {
                Ok(()) => {
                    self.armed.set(Some(deadline));
                    None
                }
                Err(_) => wait_until(park),
            }
        }

        /// The timerfd fired (its event came in): take its count, so it reads as not
        /// ready again, and remember that it is disarmed.
        pub(crate) fn fired(&self) {
            self.armed.set(None);
            // The count itself does not matter; `WouldBlock` means a re-arm already
            // cleared it.
            let _ = self.fd.get().map(|mut fd| fd.read(&mut [0; 8]));
        }

        /// Sets the timerfd (made now, if this is the first deadline) to fire once,
        /// at `deadline`.
        fn arm(&self, deadline: Instant, registry: &Registry) -> io::Result<()> {
            if self.fd.get().is_none() {
                let _ = self.fd.set(timerfd(registry)?);
            }
            let (epoch_instant, epoch_monotonic) = self.epoch;
            // Past instants map to the epoch, which is past too: the timer fires at once.
            self.set(epoch_monotonic + deadline.saturating_duration_since(epoch_instant))
        }

        /// Stops the timerfd, and forgets an expiry it has not reported yet (setting
        /// a timerfd resets its count, so it no longer reads as ready). If that fails
        /// (it should not), the loop merely wakes once at the old deadline.
        fn disarm(&self) {
            if self.set(Duration::ZERO).is_ok() {
                self.armed.set(None);
            }
        }

        /// `timerfd_settime` to the absolute `CLOCK_MONOTONIC` time `at`; zero disarms.
        fn set(&self, at: Duration) -> io::Result<()> {
            let setting = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: at.as_secs().try_into().unwrap_or(libc::time_t::MAX),
                    tv_nsec: at.subsec_nanos().into(),
                },
            };
            // None only before the first `arm`, when there is nothing to disarm.
            let Some(fd) = self.fd.get().map(AsRawFd::as_raw_fd) else {
                return Ok(());
            };
            let flags = libc::TFD_TIMER_ABSTIME;
            // A null pointer where the old setting would go is allowed: it is not wanted.
            let old = std::ptr::null_mut();
            // SAFETY: a timerfd this struct owns, and a valid `itimerspec` to read.
            let status = unsafe { libc::timerfd_settime(fd, flags, &setting, old) };
            if status == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }
    }

    /// A new timerfd (non-blocking, closed on exec), disarmed and registered with the
    /// poller.
    fn timerfd(registry: &Registry) -> io::Result<File> {
        let flags = libc::TFD_NONBLOCK | libc::TFD_CLOEXEC;
        // SAFETY: plain integer arguments; the result is checked before use.
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, flags) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nothing else.
        let fd = unsafe { File::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        registry.register(&mut SourceFd(&raw), PARK_TIMER_TOKEN, Interest::READABLE)?;
        Ok(fd)
    }

    /// `CLOCK_MONOTONIC` now, as a duration since its (boot-time) origin.
    fn monotonic_now() -> Duration {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid out-pointer, and a clock every Linux has.
        let status = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
        assert_eq!(status, 0, "glassbox: clock_gettime(CLOCK_MONOTONIC) failed");
        let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
        let nanos = u32::try_from(now.tv_nsec).unwrap_or(0);
        Duration::new(seconds, nanos)
    }
}

/// Off Linux (or under Miri): no timerfd, every park is mio's millisecond timeout.
#[cfg(any(not(target_os = "linux"), miri))]
mod millisecond {
    use std::time::Duration;

    use mio::Registry;

    use super::{Park, wait_until};

    #[derive(Debug)]
    pub(crate) struct ParkTimer;

    impl ParkTimer {
        pub(crate) fn new() -> ParkTimer {
            ParkTimer
        }

        pub(crate) fn timeout_for(&self, park: Park, _registry: &Registry) -> Option<Duration> {
            wait_until(park)
        }

        pub(crate) fn fired(&self) {}
    }
}

/// The millisecond park (off Linux, and the fallback): mio's timeout for `park`.
pub(crate) fn wait_until(park: Park) -> Option<Duration> {
    match park {
        Park::No => Some(Duration::ZERO),
        Park::Until(deadline) => Some(deadline.saturating_duration_since(Instant::now())),
        Park::UntilEvent => None,
    }
}
