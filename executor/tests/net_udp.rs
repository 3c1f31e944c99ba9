//! UDP: datagrams both ways, connected sockets, and an ICMP error that wakes a
//! pending `recv`.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::io::ErrorKind;
use std::rc::Rc;
use std::time::Duration;

use executor::net::UdpSocket;
use executor::{spawn, yield_now};
use net_support::{localhost, within};

#[test]
fn send_to_and_recv_from_round_trip() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let a = UdpSocket::bind(localhost()).unwrap();
        let b = UdpSocket::bind(localhost()).unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());

        // b waits first, so the datagram wakes a parked recv_from.
        let b = Rc::new(b);
        let echo = spawn({
            let b = b.clone();
            async move {
                let mut buf = [0; 64];
                let (len, from) = b.recv_from(&mut buf).await.unwrap();
                b.send_to(&buf[..len], from).await.unwrap();
                from
            }
        });
        yield_now().await;
        assert_eq!(a.send_to(b"ping", b_addr).await.unwrap(), 4);
        let mut buf = [0; 64];
        let (len, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..len], from), (&b"ping"[..], b_addr));
        assert_eq!(echo.await.unwrap(), a_addr);
    });
}

#[test]
fn connected_sockets_send_and_recv() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let a = UdpSocket::bind(localhost()).unwrap();
        let b = UdpSocket::bind(localhost()).unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        for round in 0..10u8 {
            a.send(&[round; 3]).await.unwrap();
            let mut buf = [0; 8];
            let len = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..len], &[round; 3]);
        }
    });
}

#[test]
fn a_bounced_datagram_wakes_a_pending_recv_with_connection_refused() {
    let _hang = hang_guard::start();
    // Bind a port, then free it: a datagram sent there draws an ICMP port unreachable.
    let closed = std::net::UdpSocket::bind(localhost())
        .unwrap()
        .local_addr()
        .unwrap();
    executor::block_on(async {
        let socket = Rc::new(UdpSocket::bind(localhost()).unwrap());
        socket.connect(closed).await.unwrap();
        let receiver = spawn({
            let socket = socket.clone();
            async move { socket.recv(&mut [0; 16]).await }
        });
        yield_now().await; // the receiver is parked in the reactor now
        assert!(!receiver.is_finished());
        socket.send(b"anyone there?").await.unwrap();
        // The ICMP error arrives as an error event; it wakes the recv, whose syscall
        // returns the error.
        let error = within(Duration::from_secs(10), "the pending recv", receiver)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
    });
}
