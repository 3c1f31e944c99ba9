//! The net types as file descriptors: `AsRawFd` and `AsFd` for each, so a socket can
//! be handed to a call glassbox does not wrap (`setsockopt` through `socket2`, say)
//! without giving it up. The owning conversions, `from_std` and `into_std`, are
//! methods of each type.
//!
//! # Ground rules
//! - Borrowing only. The fd stays registered and owned by the glassbox value; the
//!   borrow (`BorrowedFd<'_>`) cannot outlive it. Close the fd behind glassbox's back
//!   and the reactor watches nothing: use `into_std` to take the socket out.
//! - No `FromRawFd`. It is `unsafe` by nature (the caller vouches that the fd is open
//!   and theirs), and here it would also have to register with a runtime, which can
//!   fail and needs one to be running, and `from_raw_fd` can report neither.
//!   `from_std` of a `std::net::TcpStream::from_raw_fd(fd)` does the same with the
//!   unsafety where it belongs, in the caller's code (tokio offers no `FromRawFd`
//!   on its net types either). No `IntoRawFd` either: `into_std` gives an owned fd.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use super::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};

/// `AsRawFd` and `AsFd` for net types that keep their socket in a `Registration`.
macro_rules! borrow_fd {
    ($($net_type:ty),* $(,)?) => {$(
        impl AsRawFd for $net_type {
            fn as_raw_fd(&self) -> RawFd {
                self.registration().source().as_raw_fd()
            }
        }

        impl AsFd for $net_type {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.registration().source().as_fd()
            }
        }
    )*};
}

borrow_fd!(
    TcpListener,
    TcpStream,
    UdpSocket,
    UnixListener,
    UnixStream,
    UnixDatagram,
);
