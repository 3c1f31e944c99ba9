//! Helpers shared by the `net_*` test files. Each test binary uses a different part of
//! it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use executor::net::{TcpListener, TcpStream};
use executor::time::{self, Timer};
use futures::future::{Either, select};

/// 127.0.0.1 with a port the OS picks.
pub fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A connected (client, server) pair on loopback.
pub async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(localhost()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Polls `future` exactly once and reports what it said.
pub async fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

/// Runs `future`, panicking with `what` if it is not done within `limit`: a hang
/// becomes a failure instead of a stuck test run.
pub async fn within<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    let deadline = Timer::new(time::now() + limit);
    match select(pin!(future), deadline).await {
        Either::Left((output, _)) => output,
        Either::Right(_) => panic!("{what}: still pending after {limit:?}"),
    }
}

/// How many file descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Raises the soft limit on open files to the hard limit, for tests that hold
/// thousands of sockets.
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for getrlimit to fill in.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(got, 0, "getrlimit: {}", std::io::Error::last_os_error());
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // `limit` is a valid rlimit; raising the soft limit up to the hard one
        // is always permitted.
        // SAFETY: `limit` is a valid, initialised rlimit (above).
        let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        assert_eq!(set, 0, "setrlimit: {}", std::io::Error::last_os_error());
    }
}
