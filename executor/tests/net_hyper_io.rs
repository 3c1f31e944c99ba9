//! `GlassboxIo` (the `hyper` feature): hyper's `Read` and `Write` over a real socket.
//! hyper's read buffer may be uninitialised, reads may be larger than one chunk, and
//! a vectored write must really send every slice.
#![cfg(feature = "hyper")]

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::future::poll_fn;
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::pin::Pin;

use executor::hyper::GlassboxIo;
use executor::net::{TcpStream, UnixStream};
use hyper::rt::{Read, ReadBuf, Write};
use net_support::connected_pair;

/// A connected pair on loopback, the client side wrapped for hyper.
async fn pair() -> (GlassboxIo, TcpStream) {
    let (client, server) = connected_pair().await;
    (GlassboxIo::new(client), server)
}

#[test]
fn a_read_into_uninitialised_memory_fills_exactly_what_arrived() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (mut io, server) = pair().await;
        server.write_all(b"hello").await.unwrap();
        let mut backing = [MaybeUninit::uninit(); 64];
        let mut buf = ReadBuf::uninit(&mut backing);
        poll_fn(|cx| Pin::new(&mut io).poll_read(cx, buf.unfilled()))
            .await
            .unwrap();
        assert_eq!(buf.filled(), b"hello");
    });
}

#[test]
fn reads_larger_than_the_stack_chunk_lose_nothing() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (mut io, server) = pair().await;
        // Several times the 8 KiB a single poll reads, and not a multiple of it.
        let sent: Vec<u8> = (0..100_003).map(|i| (i % 251) as u8).collect();
        server.write_all(&sent).await.unwrap();
        server.shutdown(Shutdown::Write).unwrap();
        let mut backing = vec![MaybeUninit::uninit(); sent.len() + 1];
        let mut buf = ReadBuf::uninit(&mut backing);
        loop {
            let before = buf.filled().len();
            poll_fn(|cx| Pin::new(&mut io).poll_read(cx, buf.unfilled()))
                .await
                .unwrap();
            if buf.filled().len() == before {
                break; // end of stream
            }
        }
        assert_eq!(buf.filled(), &sent[..]);
    });
}

#[test]
fn a_vectored_write_sends_every_slice_in_order() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (mut io, server) = pair().await;
        assert!(io.is_write_vectored());
        let bufs = [IoSlice::new(b"head "), IoSlice::new(b"and body")];
        let written = poll_fn(|cx| Pin::new(&mut io).poll_write_vectored(cx, &bufs))
            .await
            .unwrap();
        // An empty send buffer on loopback takes both slices in the one writev.
        assert_eq!(written, 13);
        let mut got = [0; 13];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"head and body");
    });
}

#[test]
fn shutdown_ends_the_peers_stream() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (mut io, server) = pair().await;
        poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx))
            .await
            .unwrap();
        assert_eq!(server.read(&mut [0; 8]).await.unwrap(), 0);
    });
}

#[test]
fn hyper_serves_a_request_over_a_unix_stream() {
    use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};

    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = UnixStream::pair().unwrap();
        let serving = executor::spawn(async move {
            let hello = service_fn(|_: Request<Incoming>| async {
                Ok::<_, std::convert::Infallible>(Response::new("over a Unix socket".to_string()))
            });
            let io: GlassboxIo<UnixStream> = GlassboxIo::new(server);
            http1::Builder::new().serve_connection(io, hello).await
        });
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = Vec::new();
        let mut chunk = [0; 1024];
        while let read @ 1.. = client.read(&mut chunk).await.unwrap() {
            response.extend_from_slice(&chunk[..read]);
        }
        let response = String::from_utf8(response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        assert!(response.ends_with("over a Unix socket"), "{response}");
        serving.await.unwrap().unwrap();
    });
}
