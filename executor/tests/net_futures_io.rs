//! `futures_io::AsyncRead`/`AsyncWrite` for `TcpStream` and `UnixStream` (the
//! `futures-io` feature): a glassbox stream works with the futures crate's readers,
//! writers and `copy`.
#![cfg(feature = "futures-io")]

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, copy};
use futures::stream::TryStreamExt;

use executor::net::UnixStream;
use executor::spawn;
use net_support::connected_pair;

#[test]
fn write_all_and_close_then_read_to_end() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (mut client, mut server) = connected_pair().await;
        let message: Vec<u8> = (0..100_000).map(|i| (i % 256) as u8).collect();
        let writer = spawn({
            let message = message.clone();
            async move {
                client.write_all(&message).await.unwrap();
                client.close().await.unwrap(); // shutdown(Write): the server sees EOF
            }
        });
        let mut received = Vec::new();
        server.read_to_end(&mut received).await.unwrap();
        writer.await.unwrap();
        assert_eq!(received, message);
    });
}

#[test]
fn a_shared_stream_echoes_lines_through_copy_and_buf_reader() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        // The server copies from `&server` into `&server`: the `&TcpStream` impls.
        let echo = spawn(async move {
            let mut shared = &server;
            let copied = copy(BufReader::new(&server), &mut shared).await.unwrap();
            shared.close().await.unwrap();
            copied
        });
        let mut shared = &client;
        shared.write_all(b"one\ntwo\nthree\n").await.unwrap();
        shared.close().await.unwrap();
        let lines: Vec<String> = BufReader::new(&client).lines().try_collect().await.unwrap();
        assert_eq!(lines, ["one", "two", "three"]);
        assert_eq!(echo.await.unwrap(), 14);
    });
}

#[test]
fn a_unix_stream_pair_copies_through_the_shared_impls() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = UnixStream::pair().unwrap();
        let message: Vec<u8> = (0..300_000).map(|i| (i % 241) as u8).collect();
        // The server echoes with `copy` from `&server` into `&server`.
        let echo = spawn(async move {
            let mut shared = &server;
            let copied = copy(&server, &mut shared).await.unwrap();
            shared.close().await.unwrap();
            copied
        });
        // This task writes through one `&UnixStream` while it reads through another.
        let (mut writer, mut reader) = (&client, &client);
        let writing = async {
            writer.write_all(&message).await.unwrap();
            writer.close().await.unwrap();
        };
        let mut received = Vec::new();
        let ((), read) = futures::join!(writing, reader.read_to_end(&mut received));
        read.unwrap();
        assert!(received == message, "the echo differs");
        assert_eq!(echo.await.unwrap(), message.len() as u64);
    });
}
