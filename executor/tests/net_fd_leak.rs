//! File descriptors come back: sockets close when dropped, and when their runtime is.
//!
//! This binary counts the whole process's open fds (`/proc/self/fd`), so its tests
//! take turns (a lock) and no other test file shares the process.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::io::Read;
use std::sync::Mutex;

use executor::net::{TcpListener, TcpStream};
use executor::{Runtime, spawn, yield_now};
use net_support::{localhost, open_fds};

/// Serialises the tests of this file: each compares fd counts of the whole process.
static FD_COUNT: Mutex<()> = Mutex::new(());

#[test]
fn ten_thousand_connect_close_cycles_leave_the_fd_count_where_it_started() {
    let _hang = hang_guard::start();
    let _alone = FD_COUNT.lock().unwrap();
    let before_runtime = open_fds();
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind(localhost()).unwrap();
        let addr = listener.local_addr().unwrap();
        let before = open_fds();
        for _ in 0..10_000 {
            let client = TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            drop(client);
            drop(server);
        }
        assert_eq!(open_fds(), before, "a connect/close cycle leaked an fd");
    });
    drop(rt);
    assert_eq!(
        open_fds(),
        before_runtime,
        "the runtime's own fds (poller, eventfd) are closed with it"
    );
}

#[test]
fn dropping_the_runtime_closes_the_socket_of_a_task_parked_on_it() {
    let _hang = hang_guard::start();
    let _alone = FD_COUNT.lock().unwrap();
    let before_runtime = open_fds();
    let mut rt = Runtime::new().unwrap();
    let mut peer = rt.block_on(async {
        let listener = TcpListener::bind(localhost()).unwrap();
        let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        // Parks on a read that nothing will ever satisfy.
        spawn(async move { stream.read(&mut [0; 8]).await });
        yield_now().await;
        peer
    });
    drop(rt); // drops the parked task, and with it the stream
    peer.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    assert_eq!(
        peer.read(&mut [0; 8]).unwrap(),
        0,
        "the peer sees the close"
    );
    drop(peer);
    assert_eq!(open_fds(), before_runtime);
}
