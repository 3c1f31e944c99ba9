//! How much CPU time one thread has used, read from another thread: the one OS call
//! behind the stall watchdog's question "is the loop spinning, or blocked?".
//!
//! A thread that spins (a loop of always-ready futures, a long computation) is on the
//! CPU for the whole wall-clock time it holds the loop; a thread blocked in a system
//! call (`thread::sleep`, a synchronous read, a lock) is on it for almost none. Linux
//! gives each thread a CPU-time clock that any thread of the process may read
//! (`pthread_getcpuclockid`, then `clock_gettime`). std has no safe wrapper for it, so
//! this file calls `libc` directly; elsewhere the answer is simply "unknown".
//!
//! # Ground rules
//! - [`ThreadCpuClock::of_current_thread`] is called on the loop's own thread; the
//!   watchdog thread then only reads the clock.
//! - Reading the clock of a thread that has exited fails cleanly (`EINVAL`): the read
//!   returns `None`, never garbage.

use std::time::Duration;

/// The CPU-time clock of one thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ThreadCpuClock {
    #[cfg(target_os = "linux")]
    clock: libc::clockid_t,
}

#[cfg(target_os = "linux")]
impl ThreadCpuClock {
    /// The clock of the calling thread, or `None` if the OS will not give it.
    pub(crate) fn of_current_thread() -> Option<ThreadCpuClock> {
        let mut clock: libc::clockid_t = 0;
        // `pthread_self()` names the calling thread, which is alive for the whole
        // call, and `clock` is a valid place for the result.
        // SAFETY: a live thread's id and a valid out-pointer (above).
        let status = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
        (status == 0).then_some(ThreadCpuClock { clock })
    }

    /// The CPU time the thread has used so far; `None` if it can no longer be read.
    pub(crate) fn read(&self) -> Option<Duration> {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // `now` is a valid place for the result; a clock id whose thread is gone makes
        // the call fail with EINVAL, it is never dereferenced.
        // SAFETY: a valid out-pointer; any clock id is safe to pass (above).
        let status = unsafe { libc::clock_gettime(self.clock, &mut now) };
        let seconds = u64::try_from(now.tv_sec).ok()?;
        let nanos = u32::try_from(now.tv_nsec).ok()?;
        (status == 0).then(|| Duration::new(seconds, nanos))
    }
}

#[cfg(not(target_os = "linux"))]
impl ThreadCpuClock {
    /// No per-thread CPU clock is used off Linux.
    pub(crate) fn of_current_thread() -> Option<ThreadCpuClock> {
        None
    }

    pub(crate) fn read(&self) -> Option<Duration> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_spinning_thread_is_on_the_cpu_and_a_sleeping_one_is_not() {
        let clock = ThreadCpuClock::of_current_thread().unwrap();
        let before = clock.read().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let slept = clock.read().unwrap() - before;
        assert!(slept < Duration::from_millis(25), "sleeping used {slept:?}");

        let before = clock.read().unwrap();
        let started = Instant::now();
        while clock.read().unwrap() - before < Duration::from_millis(20) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the clock stands still"
            );
        }
    }

    #[test]
    fn another_threads_clock_can_be_read_until_it_exits() {
        let (sender, receiver) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            sender
                .send(ThreadCpuClock::of_current_thread().unwrap())
                .unwrap();
            std::thread::sleep(Duration::from_millis(20));
        });
        let clock = receiver.recv().unwrap();
        assert!(clock.read().is_some(), "readable while the thread lives");
        worker.join().unwrap();
        // `join` returns once the thread has cleared its id, a moment before the
        // kernel has reaped it: until then its clock may still read.
        let joined = Instant::now();
        while clock.read().is_some() {
            assert!(
                joined.elapsed() < Duration::from_secs(30),
                "an exited thread's clock fails to read"
            );
            std::thread::yield_now();
        }
    }
}
