//! `FdSource<T>`: anything that has a file descriptor, as a mio `Source`, registered
//! by its raw fd. For `AsyncFd`, whose `T` is the caller's, and `UnixDatagram`, which
//! keeps std's socket because mio's has no calls for abstract addresses.
//!
//! # Ground rules
//! - The fd is `T`'s: registering only names it, and `T`'s drop closes it, after the
//!   `Registration` holding this source has taken it out of the poller.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// `T` as a mio `Source`: registered by its raw fd.
#[derive(Debug)]
pub(crate) struct FdSource<T>(pub(crate) T);

impl<T: AsRawFd> Source for FdSource<T> {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}

impl<T: AsRawFd> AsRawFd for FdSource<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl<T: AsFd> AsFd for FdSource<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
