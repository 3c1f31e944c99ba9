//! Echo over TCP: one round trip, a thousand clients at once, 64 MiB through one
//! connection, and a reader and a writer task sharing one stream.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::hash::{DefaultHasher, Hasher};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use executor::net::{TcpListener, TcpStream};
use executor::{Runtime, spawn};
use net_support::{localhost, raise_fd_limit, within};

/// Accepts forever; each connection gets a task that writes back what it reads.
fn spawn_echo_server() -> SocketAddr {
    let listener = TcpListener::bind(localhost()).unwrap();
    let addr = listener.local_addr().unwrap();
    spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            spawn(async move {
                let mut buf = vec![0; 16 * 1024];
                loop {
                    let read = stream.read(&mut buf).await.unwrap();
                    if read == 0 {
                        break; // the client shut down its side
                    }
                    stream.write_all(&buf[..read]).await.unwrap();
                }
            });
        }
    });
    addr
}

#[test]
fn echo_round_trip_returns_the_same_bytes() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let addr = spawn_echo_server();
        let client = TcpStream::connect(addr).await.unwrap();
        client.set_nodelay(true).unwrap();
        client.write_all(b"hello, glassbox").await.unwrap();
        let mut back = [0; 15];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"hello, glassbox");
        assert_eq!(client.peer_addr().unwrap(), addr);
    });
}

/// Message `seq` of client `client`: 32 bytes that name both, so a byte delivered to
/// the wrong connection or in the wrong order is caught.
fn message(client: usize, seq: usize) -> [u8; 32] {
    let mut message = [b'.'; 32];
    let text = format!("client {client:04} message {seq:03}");
    message[..text.len()].copy_from_slice(text.as_bytes());
    message
}

#[test]
fn a_thousand_clients_each_echo_a_hundred_messages_intact() {
    let _hang = hang_guard::start();
    raise_fd_limit();
    let started = Instant::now();
    executor::block_on(async {
        let addr = spawn_echo_server();
        let clients: Vec<_> = (0..1_000)
            .map(|client| {
                spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    for seq in 0..100 {
                        let sent = message(client, seq);
                        stream.write_all(&sent).await.unwrap();
                        let mut back = [0; 32];
                        stream.read_exact(&mut back).await.unwrap();
                        assert_eq!(back, sent, "client {client} message {seq}");
                    }
                })
            })
            .collect();
        within(Duration::from_secs(60), "1,000 echo clients", async {
            for client in clients {
                client.await.unwrap();
            }
        })
        .await;
    });
    eprintln!("1,000 clients x 100 echoes: {:?}", started.elapsed());
}

/// The bytes the 64 MiB test sends: a pseudo-random block of prime length, repeated,
/// so a lost, repeated or reordered chunk changes the checksum.
fn pattern() -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    (0..1_048_573)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

#[test]
fn sixty_four_mebibytes_arrive_with_a_matching_checksum() {
    let _hang = hang_guard::start();
    const TOTAL: usize = 64 * 1024 * 1024;
    let started = Instant::now();
    executor::block_on(async {
        let listener = TcpListener::bind(localhost()).unwrap();
        let addr = listener.local_addr().unwrap();
        let receiver = spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut hasher = DefaultHasher::new();
            let mut buf = vec![0; 256 * 1024];
            let mut received = 0;
            loop {
                let read = stream.read(&mut buf).await.unwrap();
                if read == 0 {
                    return (received, hasher.finish());
                }
                hasher.write(&buf[..read]);
                received += read;
            }
        });

        let block = pattern();
        let mut hasher = DefaultHasher::new();
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut sent = 0;
        while sent < TOTAL {
            let start = sent % block.len();
            let len = (block.len() - start).min(TOTAL - sent).min(256 * 1024);
            let chunk = &block[start..start + len];
            stream.write_all(chunk).await.unwrap();
            hasher.write(chunk);
            sent += len;
        }
        stream.shutdown(Shutdown::Write).unwrap();

        let (received, checksum) = within(Duration::from_secs(60), "64 MiB", receiver)
            .await
            .unwrap();
        assert_eq!(received, TOTAL);
        assert_eq!(checksum, hasher.finish());
    });
    eprintln!("64 MiB: {:?}", started.elapsed());
}

#[test]
fn a_reader_task_and_a_writer_task_share_one_stream() {
    let _hang = hang_guard::start();
    const TOTAL: usize = 4 * 1024 * 1024;
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let addr = spawn_echo_server();
        let stream = Rc::new(TcpStream::connect(addr).await.unwrap());
        // The writer sends more than the socket buffers hold, so it parks on write
        // while the reader, on the same stream, parks on read: two waiters, one source.
        let writer = spawn({
            let stream = stream.clone();
            async move {
                let bytes: Vec<u8> = (0..TOTAL).map(|i| (i % 251) as u8).collect();
                stream.write_all(&bytes).await.unwrap();
            }
        });
        let mut buf = vec![0; 64 * 1024];
        let mut received = 0;
        while received < TOTAL {
            let read = stream.read(&mut buf).await.unwrap();
            assert!(read > 0, "early end of stream at {received}");
            for (offset, byte) in buf[..read].iter().enumerate() {
                assert_eq!(*byte, ((received + offset) % 251) as u8);
            }
            received += read;
        }
        writer.await.unwrap();
    });
}
