//! `from_std`, `into_std`, `AsRawFd` and `AsFd` on every net type: a round trip keeps
//! the fd, `from_std` makes a blocking socket non-blocking, `into_std` takes the
//! socket off the reactor (so it can be registered again). And TCP's own options:
//! `nodelay`, `ttl`, and `peek`, which leaves the bytes for the next read.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::pin::pin;

use executor::net::{TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream};
use net_support::{TempDir, connected_pair, is_nonblocking, localhost, poll_once};

/// A connected pair of blocking std TCP streams on loopback.
fn std_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind(localhost()).unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

#[test]
fn a_tcp_stream_round_trips_through_std_with_the_same_fd() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, mut server) = std_pair();
        let fd = client.as_raw_fd();
        let stream = TcpStream::from_std(client).unwrap();
        assert_eq!(stream.as_raw_fd(), fd);
        assert_eq!(stream.as_fd().as_raw_fd(), fd);
        let client = stream.into_std().unwrap();
        assert_eq!(client.as_raw_fd(), fd);
        assert!(
            is_nonblocking(&client),
            "into_std leaves it non-blocking, as tokio"
        );
        // Registering it again works only because into_std took it off the reactor
        // (epoll refuses an fd twice).
        let stream = TcpStream::from_std(client).unwrap();
        assert_eq!(stream.as_raw_fd(), fd);
        stream.write_all(b"still one connection").await.unwrap();
        let mut got = [0; 20];
        server.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"still one connection");
    });
}

#[test]
fn from_std_makes_a_blocking_stream_non_blocking() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, mut server) = std_pair();
        assert!(!is_nonblocking(&client), "std streams start blocking");
        let stream = TcpStream::from_std(client).unwrap();
        assert!(is_nonblocking(&stream));
        // Nothing to read: the read parks instead of blocking the thread.
        let mut buf = [0; 8];
        let mut read = pin!(stream.read(&mut buf));
        assert!(poll_once(read.as_mut()).await.is_pending());
        server.write_all(b"wake").unwrap();
        assert_eq!(read.await.unwrap(), 4);
    });
}

#[test]
fn a_tcp_listener_round_trips_and_accepts_after_it() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let std_listener = std::net::TcpListener::bind(localhost()).unwrap();
        let fd = std_listener.as_raw_fd();
        let listener = TcpListener::from_std(std_listener).unwrap();
        assert_eq!(listener.as_raw_fd(), fd);
        assert!(is_nonblocking(&listener));
        let listener = TcpListener::from_std(listener.into_std().unwrap()).unwrap();
        assert_eq!(listener.as_fd().as_raw_fd(), fd);
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = futures::join!(client, listener.accept());
        assert_eq!(accepted.unwrap().1, client.unwrap().local_addr().unwrap());
    });
}

#[test]
fn a_udp_socket_round_trips_with_the_same_fd() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let std_socket = std::net::UdpSocket::bind(localhost()).unwrap();
        let fd = std_socket.as_raw_fd();
        let socket = UdpSocket::from_std(std_socket).unwrap();
        assert!(is_nonblocking(&socket));
        let socket = UdpSocket::from_std(socket.into_std().unwrap()).unwrap();
        assert_eq!(socket.as_raw_fd(), fd);
        let peer = UdpSocket::bind(localhost()).unwrap();
        peer.send_to(b"ping", socket.local_addr().unwrap())
            .await
            .unwrap();
        let mut buf = [0; 8];
        assert_eq!(socket.recv_from(&mut buf).await.unwrap().0, 4);
    });
}

#[test]
fn unix_sockets_round_trip_with_the_same_fds() {
    let _hang = hang_guard::start();
    let dir = TempDir::new("conversions");
    executor::block_on(async {
        let listener = UnixListener::bind(dir.join("listener.sock")).unwrap();
        let fd = listener.as_raw_fd();
        let listener = UnixListener::from_std(listener.into_std().unwrap()).unwrap();
        assert_eq!(listener.as_fd().as_raw_fd(), fd);

        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let fd = a.as_raw_fd();
        let a = UnixStream::from_std(a).unwrap();
        assert!(is_nonblocking(&a));
        let a = UnixStream::from_std(a.into_std().unwrap()).unwrap();
        assert_eq!(a.as_raw_fd(), fd);
        a.write_all(b"x").await.unwrap();
        (&b).read_exact(&mut [0]).unwrap();

        let (c, d) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let fd = c.as_raw_fd();
        let c = UnixDatagram::from_std(c).unwrap();
        assert!(is_nonblocking(&c));
        let c = UnixDatagram::from_std(c.into_std().unwrap()).unwrap();
        assert_eq!(c.as_fd().as_raw_fd(), fd);
        c.send(b"y").await.unwrap();
        assert_eq!(d.recv(&mut [0; 4]).unwrap(), 1);
    });
}

#[test]
fn nodelay_and_ttl_read_back_what_was_set() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, _server) = connected_pair().await;
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_nodelay(false).unwrap();
        assert!(!client.nodelay().unwrap());
        client.set_ttl(42).unwrap();
        assert_eq!(client.ttl().unwrap(), 42);
    });
}

#[test]
fn peek_leaves_the_bytes_and_a_short_peek_does_not_park_the_next_read() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        server.write_all(b"hello").await.unwrap();
        let mut peeked = [0; 64];
        // A short peek: 5 bytes of 64. Were it a stream transfer, it would clear the
        // readiness, and the read below would park on bytes already there.
        let peeked_len = client.peek(&mut peeked).await.unwrap();
        assert_eq!(&peeked[..peeked_len], b"hello");
        let mut got = [0; 64];
        let read = poll_once(pin!(client.read(&mut got))).await;
        assert!(matches!(read, std::task::Poll::Ready(Ok(5))), "{read:?}");
        assert_eq!(&got[..5], b"hello");
    });
}
