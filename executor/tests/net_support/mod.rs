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

/// A directory of its own under the system temp dir, for Unix socket paths, removed
/// (with whatever sockets were left in it) when dropped.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// A fresh, empty directory whose name carries `label`, the process id and a
    /// counter, so parallel tests and test binaries never share one.
    pub fn new(label: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("glassbox-{label}-{}-{n}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// `name` inside the directory.
    pub fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `fd` has `O_NONBLOCK` set.
pub fn is_nonblocking(fd: &impl std::os::fd::AsRawFd) -> bool {
    // `fd` keeps the fd open for the duration of the call.
    // SAFETY: F_GETFL passes no pointer; it only reads the fd's flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    assert_ne!(flags, -1, "fcntl: {}", std::io::Error::last_os_error());
    flags & libc::O_NONBLOCK != 0
}

/// Sets `O_NONBLOCK` on `fd` (a std pipe end, which has no `set_nonblocking`).
pub fn set_nonblocking(fd: &impl std::os::fd::AsRawFd) {
    let fd = fd.as_raw_fd();
    // SAFETY: F_GETFL passes no pointer; the caller's `fd` keeps the fd open.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert_ne!(flags, -1, "fcntl: {}", std::io::Error::last_os_error());
    // SAFETY: F_SETFL takes an int, no pointer; the fd is still open (above).
    let set = unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
    assert_ne!(set, -1, "fcntl: {}", std::io::Error::last_os_error());
}
