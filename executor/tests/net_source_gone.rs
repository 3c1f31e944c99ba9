//! A task waiting on a socket is never left hanging when the socket goes away.
//!
//! Rust's ownership rules out dropping a socket while another task awaits it (the
//! waiting future borrows it, or holds an `Rc` to it). What can happen instead:
//! - another task shuts the shared socket down: the waiters are woken and get the
//!   OS's answer (end of stream for a read, `BrokenPipe` for a write);
//! - the socket's runtime is dropped: its parked tasks are dropped with it (see
//!   `net_fd_leak.rs`), and a socket that outlived it fails at once when used, and
//!   a loop that retries it still gives the loop back;
//! - a poll that keeps no state (futures-io's `poll_read`, hyper's) parks in the
//!   socket itself and borrows it only while it polls: another task can take the
//!   socket out of their shared cell and drop it or call `into_std`. The parked task is
//!   woken, polls again, and finds the socket gone.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use executor::net::{TcpStream, UnixStream};
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

#[test]
fn a_loop_retrying_a_socket_off_its_runtime_still_gives_the_loop_back() {
    let _hang = hang_guard::start();
    let mut first = Runtime::new().unwrap();
    let (_client, server) = first.block_on(connected_pair());
    drop(first);

    let mut second = Runtime::new().unwrap();
    second.block_on(async {
        // Each read fails at once; a loop that retries it never awaits anything
        // pending. Charged to the coop budget like a success, it is cut off every 128.
        for _ in 0..1000 {
            assert!(server.read(&mut [0; 8]).await.is_err());
        }
    });
    let forced = second.metrics().forced_yields;
    assert!(
        forced >= 7,
        "1,000 failures, 128 a poll: {forced} forced yields"
    );
}

/// A shared cell a reader polls through and another task empties.
type Shared<S> = Rc<RefCell<Option<S>>>;

/// Spawns a task that polls `read` on `stream` through a shared cell, borrowing the
/// cell only for each poll (`Err(NotConnected)` once it is empty); lets it park
/// (nothing was sent); takes the stream out and hands it to `dispose` (`into_std`, a
/// drop); then checks that the parked reader was woken and saw the cell empty.
async fn parked_reader_sees_its_stream_taken<S: 'static>(
    stream: S,
    mut read: impl FnMut(&mut S, &mut std::task::Context<'_>) -> Poll<std::io::Result<usize>> + 'static,
    dispose: impl FnOnce(S),
) {
    let cell: Shared<S> = Rc::new(RefCell::new(Some(stream)));
    let reading = cell.clone();
    let reader = spawn(poll_fn(move |cx| match reading.borrow_mut().as_mut() {
        Some(stream) => read(stream, cx),
        None => Poll::Ready(Err(ErrorKind::NotConnected.into())),
    }));
    yield_now().await; // the reader parks
    let taken = cell.borrow_mut().take().unwrap();
    dispose(taken);
    let read = within(Duration::from_secs(10), "the parked reader", reader).await;
    let error = read.unwrap().unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::NotConnected,
        "it saw the cell empty"
    );
}

/// futures-io's `poll_read` on a TCP stream.
fn futures_io_read(
    stream: &mut TcpStream,
    cx: &mut std::task::Context<'_>,
) -> Poll<std::io::Result<usize>> {
    futures::AsyncRead::poll_read(Pin::new(stream), cx, &mut [0; 8])
}

#[test]
fn a_futures_io_read_parked_on_a_stream_another_task_takes_into_std_is_woken() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (_client, server) = connected_pair().await;
        let into_std = |stream: TcpStream| drop(stream.into_std().unwrap());
        parked_reader_sees_its_stream_taken(server, futures_io_read, into_std).await;
    });
}

#[test]
fn a_stream_dropped_by_another_task_wakes_the_read_parked_on_it() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (_client, server) = connected_pair().await;
        parked_reader_sees_its_stream_taken(server, futures_io_read, drop).await;
    });
}

#[test]
fn a_hyper_read_parked_on_a_unix_stream_another_task_takes_into_std_is_woken() {
    use executor::hyper::GlassboxIo;
    use hyper::rt::{Read, ReadBuf};

    let _hang = hang_guard::start();
    executor::block_on(async {
        let (_peer, ours) = UnixStream::pair().unwrap();
        let hyper_read = |io: &mut GlassboxIo<UnixStream>, cx: &mut std::task::Context<'_>| {
            let mut backing = [0; 8];
            let mut buf = ReadBuf::new(&mut backing);
            let polled = Pin::new(io).poll_read(cx, buf.unfilled());
            polled.map_ok(|()| buf.filled().len())
        };
        let into_std = |io: GlassboxIo<UnixStream>| drop(io.into_inner().into_std().unwrap());
        parked_reader_sees_its_stream_taken(GlassboxIo::new(ours), hyper_read, into_std).await;
    });
}
