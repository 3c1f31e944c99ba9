//! `TcpStream::into_split` and `UnixStream::into_split`: a read half and a write half
//! owned by two tasks at once; dropping the write half ends the peer's stream (unless
//! forgotten); `reunite` puts a stream back together, and only from its own halves.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::net::Shutdown;
use std::pin::pin;
use std::time::Duration;

use executor::net::{TcpStream, UnixStream};
use executor::spawn;
use net_support::{connected_pair, poll_once, within};

const LIMIT: Duration = Duration::from_secs(20);

/// Echoes everything `stream` reads until end of stream, then shuts its writing side.
async fn echo(stream: TcpStream) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let read = stream.read(&mut buf).await.unwrap();
        if read == 0 {
            break;
        }
        stream.write_all(&buf[..read]).await.unwrap();
    }
    stream.shutdown(Shutdown::Write).unwrap();
}

#[test]
fn the_halves_work_in_two_tasks_at_once() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        let echoing = spawn(echo(server));
        let (reader, writer) = client.into_split();
        // Four MiB: far more than the socket buffers hold, so the writer task parks
        // on a full send buffer while the reader task drains the echo.
        let sent: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
        let writing = spawn({
            let sent = sent.clone();
            // The half is dropped when the task ends: the echo server reads end of
            // stream.
            async move { writer.write_all(&sent).await.unwrap() }
        });
        let reading = spawn(async move {
            let mut received = Vec::new();
            let mut buf = vec![0; 64 * 1024];
            loop {
                match reader.read(&mut buf).await.unwrap() {
                    0 => return received,
                    read => received.extend_from_slice(&buf[..read]),
                }
            }
        });
        let received = within(LIMIT, "the echo", reading).await.unwrap();
        writing.await.unwrap();
        echoing.await.unwrap();
        assert!(received == sent, "the echo differs from what was sent");
    });
}

#[test]
fn dropping_the_write_half_ends_the_peers_stream_and_forget_does_not() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        let (_reader, writer) = client.into_split();
        drop(writer);
        assert_eq!(server.read(&mut [0; 8]).await.unwrap(), 0, "end of stream");

        let (client, server) = connected_pair().await;
        let (_reader, writer) = client.into_split();
        writer.forget();
        let mut buf = [0; 8];
        let mut read = pin!(server.read(&mut buf));
        assert!(poll_once(read.as_mut()).await.is_pending(), "still open");
    });
}

#[test]
fn reunite_gives_the_stream_back_and_refuses_halves_of_another() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (one, one_peer) = connected_pair().await;
        let (two, _two_peer) = connected_pair().await;
        let (one_reader, one_writer) = one.into_split();
        let (two_reader, two_writer) = two.into_split();

        let mismatch = one_reader.reunite(two_writer).unwrap_err();
        assert!(mismatch.to_string().contains("not from the same"));
        let (one_reader, two_writer) = (mismatch.0, mismatch.1);

        let one = one_reader.reunite(one_writer).unwrap();
        let _two = two_reader.reunite(two_writer).unwrap();
        // Reuniting shut nothing down: the stream still carries bytes both ways.
        one.write_all(b"whole").await.unwrap();
        let mut got = [0; 5];
        one_peer.read_exact(&mut got).await.unwrap();
        one_peer.write_all(&got).await.unwrap();
        one.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"whole");
    });
}

#[test]
fn a_unix_streams_halves_work_in_two_tasks_and_the_write_half_ends_the_peers_stream() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let (reader, writer) = ours.into_split();
        let (other_reader, other_writer) = UnixStream::pair().unwrap().0.into_split();
        let reader = match reader.reunite(other_writer) {
            Err(error) => {
                assert!(error.to_string().contains("not from the same stream"));
                error.0
            }
            Ok(_) => panic!("halves of two streams were reunited"),
        };
        drop(other_reader);

        let sending = spawn(async move {
            writer.write_all(b"from the write half").await.unwrap();
            // The half is dropped here: our writing side shuts down.
        });
        let mut got = Vec::new();
        let mut buf = [0; 64];
        loop {
            match within(LIMIT, "the peer's read", theirs.read(&mut buf))
                .await
                .unwrap()
            {
                0 => break, // end of stream: the write half was dropped
                read => got.extend_from_slice(&buf[..read]),
            }
        }
        assert_eq!(got, b"from the write half");
        sending.await.unwrap();

        theirs.write_all(b"back").await.unwrap();
        reader.read_exact(&mut buf[..4]).await.unwrap();
        assert_eq!(&buf[..4], b"back");
        assert!(reader.peer_addr().unwrap().is_unnamed());
    });
}
