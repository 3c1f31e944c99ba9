//! Cancel safety: a pending `accept` or `read` that is dropped has taken nothing, so
//! retrying loses no connection and no byte.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::net::Shutdown;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use executor::net::{TcpListener, TcpStream};
use executor::{spawn, yield_now};
use net_support::{connected_pair, localhost, poll_once, within};

/// A few loop turns: enough for the reactor to see an event and wake its waiters.
async fn let_the_reactor_turn() {
    for _ in 0..5 {
        yield_now().await;
    }
}

#[test]
fn an_accept_dropped_after_its_wake_loses_no_connection() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let listener = TcpListener::bind(localhost()).unwrap();
        let addr = listener.local_addr().unwrap();
        let client;
        {
            let mut accept = pin!(listener.accept());
            assert!(poll_once(accept.as_mut()).await.is_pending(), "parked");
            client = TcpStream::connect(addr).await.unwrap();
            let_the_reactor_turn().await;
            // Dropped here: woken by the connection, never polled again.
        }
        let (_server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
    });
}

#[test]
fn a_read_dropped_after_its_wake_loses_no_byte() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        let mut buf = [0; 16];
        {
            let mut read = pin!(server.read(&mut buf));
            assert!(poll_once(read.as_mut()).await.is_pending(), "parked");
            client.write_all(b"keep me").await.unwrap();
            let_the_reactor_turn().await;
            // Dropped here: woken by the data, never polled again.
        }
        let read = server.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..read], b"keep me");
    });
}

#[test]
fn a_read_moved_to_another_task_wakes_its_new_awaiter() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        // An owned read, so that it can change tasks.
        let read = Box::pin(async move {
            let mut buf = [0; 16];
            let read = server.read(&mut buf).await.unwrap();
            buf[..read].to_vec()
        });
        // The first task polls it once, which parks its own waker in the read's entry,
        // and hands it on (in a `Vec`, not awaited by the `JoinHandle`).
        let mut handed = spawn(async move {
            let mut read = read;
            assert!(poll_once(read.as_mut()).await.is_pending(), "parked");
            vec![read]
        })
        .await
        .unwrap();
        let read = handed.pop().unwrap();
        let second = spawn(read);
        let_the_reactor_turn().await; // the second task polls the read and parks
        client.write_all(b"moved").await.unwrap();
        let second = within(
            Duration::from_secs(10),
            "the read's new task is woken",
            second,
        );
        assert_eq!(second.await.unwrap(), b"moved");
    });
}

#[test]
fn accepts_cancelled_at_every_turn_still_get_every_connection() {
    let _hang = hang_guard::start();
    const CLIENTS: usize = 50;
    executor::block_on(async {
        let listener = TcpListener::bind(localhost()).unwrap();
        let addr = listener.local_addr().unwrap();
        for id in 0..CLIENTS {
            spawn(async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                stream.write_all(&[id as u8]).await.unwrap();
                // Wait for the server to close, so the connection outlives its accept.
                stream.read(&mut [0; 1]).await.unwrap();
            });
        }
        let mut seen = [false; CLIENTS];
        let mut accepted = 0;
        let mut cancelled = 0;
        while accepted < CLIENTS {
            // Each accept gets one poll; if it is pending it is dropped.
            let outcome = poll_once(pin!(listener.accept())).await;
            match outcome {
                Poll::Ready(result) => {
                    let (stream, _) = result.unwrap();
                    let mut id = [0];
                    stream.read_exact(&mut id).await.unwrap();
                    assert!(!seen[id[0] as usize], "client {} twice", id[0]);
                    seen[id[0] as usize] = true;
                    accepted += 1;
                }
                Poll::Pending => {
                    cancelled += 1;
                    yield_now().await;
                }
            }
        }
        assert!(seen.iter().all(|&seen| seen));
        assert!(cancelled > 0, "the test never cancelled an accept");
    });
}

#[test]
fn reads_cancelled_at_every_turn_still_get_every_byte_in_order() {
    let _hang = hang_guard::start();
    const CHUNKS: usize = 200;
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        let expected: Vec<u8> = (0..CHUNKS * 100).map(|i| (i % 253) as u8).collect();
        let writer = spawn({
            let expected = expected.clone();
            async move {
                for chunk in expected.chunks(100) {
                    client.write_all(chunk).await.unwrap();
                    yield_now().await;
                }
                client.shutdown(Shutdown::Write).unwrap();
            }
        });
        let mut received = Vec::new();
        let mut buf = [0; 150];
        let mut cancelled = 0;
        loop {
            // Each read gets one poll; if it is pending it is dropped.
            let outcome = poll_once(pin!(server.read(&mut buf))).await;
            match outcome {
                Poll::Ready(Ok(0)) => break,
                Poll::Ready(Ok(read)) => received.extend_from_slice(&buf[..read]),
                Poll::Ready(Err(error)) => panic!("read failed: {error}"),
                Poll::Pending => {
                    cancelled += 1;
                    yield_now().await;
                }
            }
        }
        writer.await.unwrap();
        assert_eq!(received, expected);
        assert!(cancelled > 0, "the test never cancelled a read");
    });
}
