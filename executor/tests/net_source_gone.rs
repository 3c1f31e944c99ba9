//! A task waiting on a socket is never left hanging when the socket goes away.
//!
//! Rust's ownership rules out dropping a socket while another task awaits it (the
//! waiting future borrows it, or holds an `Rc` to it). What can happen instead:
//! - another task shuts the shared socket down: the waiters are woken and get the
//!   OS's answer (end of stream for a read, `BrokenPipe` for a write);
//! - the socket's runtime is dropped: its parked tasks are dropped with it (see
//!   `net_fd_leak.rs`), and a socket that outlived it fails at once when used.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use executor::{Runtime, spawn, yield_now};
use net_support::{connected_pair, within};

#[test]
fn shutdown_from_another_task_wakes_a_pending_write_with_broken_pipe() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, _server) = connected_pair().await;
        let client = Rc::new(client);
        // Far more than the socket buffers hold: the writer parks on a full buffer.
        let writer = spawn({
            let client = client.clone();
            async move { client.write_all(&vec![7; 64 * 1024 * 1024]).await }
        });
        for _ in 0..10 {
            yield_now().await;
        }
        assert!(!writer.is_finished(), "the writer is parked");
        client.shutdown(Shutdown::Write).unwrap();
        let error = within(Duration::from_secs(10), "the parked writer", writer)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn shutdown_from_another_task_wakes_a_pending_read_with_end_of_stream() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, _server) = connected_pair().await;
        let client = Rc::new(client);
        let reader = spawn({
            let client = client.clone();
            async move { client.read(&mut [0; 8]).await }
        });
        yield_now().await;
        assert!(!reader.is_finished(), "the reader is parked");
        client.shutdown(Shutdown::Read).unwrap();
        let read = within(Duration::from_secs(10), "the parked reader", reader)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read, 0);
    });
}

#[test]
fn a_socket_used_after_its_runtime_was_dropped_fails_instead_of_hanging() {
    let _hang = hang_guard::start();
    let mut first = Runtime::new().unwrap();
    let (client, server) = first.block_on(connected_pair());
    drop(first);

    let mut second = Runtime::new().unwrap();
    let error = second
        .block_on(async { server.read(&mut [0; 8]).await })
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Other);
    assert!(error.to_string().contains("not running"), "{error}");
    let error = second.block_on(client.write(b"x")).unwrap_err();
    assert!(error.to_string().contains("not running"), "{error}");
}

#[test]
#[should_panic(expected = "TcpListener::bind must be called from inside a runtime")]
fn binding_outside_a_runtime_panics_with_advice() {
    let _hang = hang_guard::start();
    let _ = executor::net::TcpListener::bind("127.0.0.1:0".parse().unwrap());
}
