//! Half-close and connection errors: `shutdown(Write)` ends the peer's stream but not
//! the conversation; a closed port is refused at once.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use executor::net::TcpStream;
use net_support::{connected_pair, localhost};

#[test]
fn after_shutdown_write_the_peer_reads_eof_and_can_still_write_back() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        client.write_all(b"request").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();

        let mut request = Vec::new();
        let mut buf = [0; 64];
        loop {
            let read = server.read(&mut buf).await.unwrap();
            if read == 0 {
                break; // end of stream: the client is done sending
            }
            request.extend_from_slice(&buf[..read]);
        }
        assert_eq!(request, b"request");

        // The server's side is still open: it answers, then closes.
        server.write_all(b"response").await.unwrap();
        drop(server);

        let mut response = [0; 8];
        client.read_exact(&mut response).await.unwrap();
        assert_eq!(&response, b"response");
        assert_eq!(
            client.read(&mut buf).await.unwrap(),
            0,
            "then end of stream"
        );
    });
}

#[test]
fn writing_after_shutdown_write_fails_with_broken_pipe() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, _server) = connected_pair().await;
        client.shutdown(Shutdown::Write).unwrap();
        let error = client.write(b"too late").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn connecting_to_a_closed_port_is_refused_promptly() {
    let _hang = hang_guard::start();
    // Bind a port, then free it: nothing listens there now.
    let closed = std::net::TcpListener::bind(localhost())
        .unwrap()
        .local_addr()
        .unwrap();
    let started = Instant::now();
    let error = executor::block_on(TcpStream::connect(closed)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
    // Loopback answers a SYN to a closed port with a RST at once; "promptly" here
    // only rules out waiting for a connect timeout (which would take minutes).
    assert!(started.elapsed() < Duration::from_secs(10));
}
