//! Signals as events on the reactor: [`ctrl_c`] for a server's graceful shutdown, and
//! [`unix::signal`] for SIGTERM, SIGHUP and the like (feature `signal`).
//!
//! A signal handler may do almost nothing: no allocation, no lock, no waker (any of
//! those can deadlock or corrupt the heap when the signal lands in the middle of the
//! same thing on this thread). So the handler only writes one byte into a pipe, and
//! the pipe's read end is an ordinary source on the reactor:
//!
//! ```text
//! kernel delivers SIGINT ─► signal-hook-registry's handler ─► each listener's action:
//!                                                            write(pipe, 1 byte)
//! reactor: the pipe turns readable ─► the task in Signal::recv wakes, drains the pipe
//! ```
//!
//! # Ground rules
//! - Each [`unix::Signal`] has its own pipe and its own action in the registry, which
//!   runs every action registered for a signal. So several listeners, in one runtime
//!   or in several on different threads, each hear every arrival: that is what makes
//!   it safe to use from many runtimes in one process.
//! - Arrivals between two `recv`s are coalesced into one, as the kernel coalesces a
//!   pending signal (and as tokio does): `recv` means "at least once since the last".
//! - Listening replaces the signal's default action for the whole process (SIGINT no
//!   longer ends it), from the first listener until the process exits, as with tokio
//!   and asyncio's `add_signal_handler`. Dropping a listener removes only its action.
//! - The handler side is signal-hook-registry's, which saves `errno` around the
//!   actions and frees an action only once no handler is running it.
//! - `recv` reports an arrival only when its pipe held a byte. Polled where its
//!   runtime is not running (the runtime was dropped, or this is another runtime's
//!   `block_on`), no reactor would wake it, so it returns `None` at once: a
//!   `while let Some(()) = hangups.recv().await` loop ends instead of hanging or
//!   reloading on arrivals that never happened. (tokio's stays pending on another
//!   runtime, whose driver may run on another thread; a glassbox `Signal` cannot
//!   leave its thread, so pending would be a hang no one ends.)

use std::io;

/// Completes at the next Ctrl-C (SIGINT) after the call.
///
/// tokio equivalent: `tokio::signal::ctrl_c`. asyncio equivalent:
/// `loop.add_signal_handler(signal.SIGINT, …)`.
///
/// # Errors
/// If the handler cannot be installed or the pipe cannot be made.
///
/// # Panics
/// When first polled outside a runtime.
pub async fn ctrl_c() -> io::Result<()> {
    let mut interrupt = unix::signal(unix::SignalKind::interrupt())?;
    interrupt.recv().await;
    Ok(())
}

/// Unix signals by number: [`signal`](unix::signal) and its [`Signal`](unix::Signal)
/// stream.
pub mod unix {
    use std::fmt;
    use std::io::{self, Read, Write};
    use std::os::raw::c_int;

    use mio::Interest;
    use mio::unix::pipe;
    use signal_hook_registry::SigId;

    use crate::io::reactor::Direction;
    use crate::net::registration::Registration;

    /// Which signal to listen for.
    ///
    /// tokio equivalent: `tokio::signal::unix::SignalKind`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SignalKind(c_int);

    impl SignalKind {
        /// SIGINT: Ctrl-C at a terminal.
        pub fn interrupt() -> SignalKind {
            SignalKind(libc::SIGINT)
        }

        /// SIGTERM: the polite request to stop (`kill`, systemd, Kubernetes).
        pub fn terminate() -> SignalKind {
            SignalKind(libc::SIGTERM)
        }

        /// SIGHUP: the terminal went away; daemons read it as "reload".
        pub fn hangup() -> SignalKind {
            SignalKind(libc::SIGHUP)
        }

        /// Any signal by number (`libc::SIGUSR1`, say).
        pub fn from_raw(signal: c_int) -> SignalKind {
            SignalKind(signal)
        }

        /// The signal's number.
        pub fn as_raw(self) -> c_int {
            self.0
        }
    }

    /// Arrivals of one signal, on the reactor. Made by [`signal`].
    pub struct Signal {
        kind: SignalKind,
        action: SigId,
        arrivals: Registration<pipe::Receiver>,
    }

    /// Starts listening for `kind`. Every arrival after this call is seen by
    /// [`Signal::recv`].
    ///
    /// tokio equivalent: `tokio::signal::unix::signal`.
    ///
    /// # Errors
    /// `InvalidInput` for a signal no handler may take (SIGKILL, SIGSTOP, SIGSEGV,
    /// SIGILL, SIGFPE) or an unknown number; otherwise what the OS says.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn signal(kind: SignalKind) -> io::Result<Signal> {
        let signal = kind.as_raw();
        if signal_hook_registry::FORBIDDEN.contains(&signal) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "glassbox: signal {signal} cannot be handled (the OS or the runtime needs its default action)"
                ),
            ));
        }
        let (sender, receiver) = pipe::new()?;
        let arrivals = Registration::new(receiver, Interest::READABLE, "signal::unix::signal")?;
        let action = move || {
            // A full pipe already says "arrived"; nothing else can be done here.
            let _ = (&sender).write(&[1]);
        };
        // The action makes one `write(2)` on a non-blocking pipe it owns, with no
        // allocation, lock or panic (its error is ignored); the registry keeps `errno`.
        // SAFETY: so the action is async-signal-safe, as `register` requires.
        let registered = unsafe { signal_hook_registry::register(signal, action) };
        let action = registered.map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("glassbox: cannot listen for signal {signal}: {error}"),
            )
        })?;
        Ok(Signal {
            kind,
            action,
            arrivals,
        })
    }

    impl Signal {
        /// Waits for the next arrival (or arrivals: several since the last call count
        /// as one) and returns `Some(())`. Cancel-safe.
        ///
        /// `None` means this listener cannot hear arrivals where it is polled: its
        /// runtime was dropped, or another runtime is running (its reactor watches
        /// the listener's pipe, and no other would wake this call). Arrivals are kept:
        /// polled on its own runtime again, it reports them. `None` also comes back if
        /// reading its own pipe fails, which the OS has no reason to do. Never an
        /// arrival that did not happen (tokio's returns `None` once its runtime shut
        /// down, and stays pending on another runtime).
        ///
        /// ```
        /// use executor::Runtime;
        /// use executor::signal::unix::{SignalKind, signal};
        ///
        /// let mut first = Runtime::new().unwrap();
        /// let mut hangups = first.block_on(async { signal(SignalKind::hangup()) }).unwrap();
        /// drop(first);
        /// let mut second = Runtime::new().unwrap();
        /// // A "reload on SIGHUP" loop ends: no SIGHUP came, and none can be heard now.
        /// let reloads = second.block_on(async {
        ///     let mut reloads = 0;
        ///     while let Some(()) = hangups.recv().await {
        ///         reloads += 1;
        ///     }
        ///     reloads
        /// });
        /// assert_eq!(reloads, 0);
        /// ```
        pub async fn recv(&mut self) -> Option<()> {
            let drained = self.arrivals.io(Direction::Read, |mut pipe| {
                let mut bytes = [0; 64];
                match pipe.read(&mut bytes) {
                    Ok(0) => Err(io::ErrorKind::WouldBlock.into()),
                    Ok(_) => {
                        // Take in the rest, so the next recv waits for a new arrival.
                        while matches!(pipe.read(&mut bytes), Ok(read) if read > 0) {}
                        Ok(())
                    }
                    Err(error) => Err(error),
                }
            });
            // An error is "not on its runtime" (or a pipe that failed): no arrival.
            drained.await.ok()
        }

        /// The signal this listens for.
        pub fn kind(&self) -> SignalKind {
            self.kind
        }
    }

    impl Drop for Signal {
        fn drop(&mut self) {
            // The registry drops the action (and with it the pipe's write end) once no
            // handler runs it; the read end is deregistered and closed after this body.
            signal_hook_registry::unregister(self.action);
        }
    }

    impl fmt::Debug for Signal {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Signal")
                .field("kind", &self.kind)
                .finish_non_exhaustive()
        }
    }
}
