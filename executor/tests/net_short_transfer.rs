//! A stream read that returns fewer bytes than asked has emptied the socket, so the
//! reactor forgets its readiness without the `read` that would only say `WouldBlock`
//! (its rule 3). These tests pin that down, and the ways it could go wrong: a hang-up
//! that came with the last bytes, a read that filled its buffer, a read the kernel
//! cut short at an urgent (`MSG_OOB`) mark with bytes behind it, and a `writev` of more
//! slices than the kernel takes in one call.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::io::Write;
use std::net::Shutdown;
use std::pin::pin;
use std::time::Duration;

use executor::time::{self, Timer};
use net_support::{connected_pair, localhost, poll_once, within};

const LIMIT: Duration = Duration::from_secs(10);

/// Parks the loop long enough for it to take in the events already queued.
async fn let_the_reactor_turn() {
    Timer::new(time::now() + Duration::from_millis(10)).await;
}

#[test]
fn after_a_short_read_the_next_read_parks_without_trying_and_wakes_on_new_data() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let listener = std::net::TcpListener::bind(localhost()).unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = executor::net::TcpStream::connect(addr).await.unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        peer.write_all(b"first").unwrap();
        let_the_reactor_turn().await;

        let mut buf = [0; 64];
        assert_eq!(stream.read(&mut buf).await.unwrap(), 5, "a short read");
        // The peer's next bytes are already in the socket, but no event has been
        // taken in since the short read: the read parks instead of trying.
        peer.write_all(b"second").unwrap();
        let mut second = [0; 64];
        let read = {
            let mut read = pin!(stream.read(&mut second));
            assert!(
                poll_once(read.as_mut()).await.is_pending(),
                "a short read left the socket drained"
            );
            // The bytes' edge wakes it.
            within(LIMIT, "the read after a short read", read).await
        };
        assert_eq!(read.unwrap(), 6);
        assert_eq!(&second[..6], b"second");
    });
}

#[test]
fn a_short_read_of_the_last_bytes_still_lets_the_next_read_see_end_of_stream() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        client.write_all(b"last words").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        // One event says both "readable" and "hung up"; the reactor takes it in before
        // the server reads, so no edge will follow the short read below.
        let_the_reactor_turn().await;

        let mut buf = [0; 64];
        assert_eq!(server.read(&mut buf).await.unwrap(), 10, "a short read");
        let end = within(
            LIMIT,
            "the read after the last bytes",
            server.read(&mut buf),
        )
        .await;
        assert_eq!(end.unwrap(), 0, "end of stream, not a hang");
    });
}

#[test]
fn a_read_that_fills_its_buffer_keeps_the_socket_ready_for_the_rest() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        client.write_all(b"0123456789").await.unwrap();
        let_the_reactor_turn().await;

        // The event came before these reads, so none will follow them: each of the
        // later reads must try the socket, not wait.
        let mut four = [0; 4];
        let mut got = Vec::new();
        for _ in 0..2 {
            let read = within(LIMIT, "a read after a full one", server.read(&mut four)).await;
            assert_eq!(read.unwrap(), 4, "a full read");
            got.extend_from_slice(&four);
        }
        let read = within(LIMIT, "the rest", server.read(&mut four)).await;
        got.extend_from_slice(&four[..read.unwrap()]);
        assert_eq!(got, b"0123456789");
    });
}

#[test]
fn a_short_write_waits_for_room_and_then_sends_the_rest() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        // Far more than the socket buffers hold: the first writes are short.
        let sent: Vec<u8> = (0..8 << 20).map(|i| (i % 251) as u8).collect();
        let writer = async {
            client.write_all(&sent).await.unwrap();
            client.shutdown(Shutdown::Write).unwrap();
        };
        let reader = async {
            let mut received = Vec::with_capacity(sent.len());
            let mut buf = vec![0; 64 << 10];
            loop {
                match server.read(&mut buf).await.unwrap() {
                    0 => break received,
                    read => received.extend_from_slice(&buf[..read]),
                }
            }
        };
        let (_, received) = within(LIMIT, "8 MiB through short writes", async {
            futures::future::join(writer, reader).await
        })
        .await;
        assert!(received == sent, "every byte, in order");
    });
}

#[test]
fn end_of_stream_is_not_a_short_read_the_next_read_sees_it_at_once() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = connected_pair().await;
        client.shutdown(Shutdown::Write).unwrap();
        // No turn of the loop in between: the FIN's event has not been taken in, and
        // the read tries the socket on the readiness it started with.
        let mut buf = [0; 64];
        assert_eq!(server.read(&mut buf).await.unwrap(), 0, "end of stream");
        let again = poll_once(pin!(server.read(&mut buf))).await;
        assert!(
            matches!(again, std::task::Poll::Ready(Ok(0))),
            "a read after end of stream returns 0 at once, it does not park: {again:?}"
        );
    });
}

#[test]
fn a_streams_debug_names_its_reactor_token_and_its_socket() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, _server) = connected_pair().await;
        let shown = format!("{client:?}");
        assert!(shown.contains("token"), "{shown}");
        let port = client.local_addr().unwrap().port().to_string();
        assert!(shown.contains(&port), "{shown}");
    });
}

/// Sends `byte` as urgent data (`MSG_OOB`) on `socket`, a std TCP or Unix stream.
fn send_urgent(socket: &impl std::os::fd::AsRawFd, byte: u8) {
    // The fd stays open for the call (`socket` is borrowed), and send(2) only reads.
    // SAFETY: the pointer and length describe `byte`, a live local, and the fd is open.
    let sent = unsafe {
        libc::send(
            socket.as_raw_fd(),
            (&raw const byte).cast(),
            1,
            libc::MSG_OOB,
        )
    };
    assert_eq!(
        sent,
        1,
        "send(MSG_OOB): {}",
        std::io::Error::last_os_error()
    );
}

/// The peer sends "hello", an urgent "!" and "world"; once the loop has taken the
/// events in, `read` must return "hello" (the kernel stops at the urgent mark: a short
/// read) and then "world", which a short read taken for "drained" would leave parked.
async fn the_bytes_behind_an_urgent_mark_are_read(
    peer: &mut (impl Write + std::os::fd::AsRawFd),
    read: impl AsyncFn(&mut [u8]) -> std::io::Result<usize>,
) {
    peer.write_all(b"hello").unwrap();
    send_urgent(peer, b'!');
    peer.write_all(b"world").unwrap();
    let_the_reactor_turn().await;

    let mut buf = [0; 64];
    let first = read(&mut buf).await.unwrap();
    assert_eq!(&buf[..first], b"hello", "stopped at the mark: a short read");
    let rest = within(LIMIT, "the read after the urgent mark", read(&mut buf)).await;
    assert_eq!(
        &buf[..rest.unwrap()],
        b"world",
        "the urgent byte is out of band"
    );
}

#[test]
fn a_read_cut_short_at_the_urgent_mark_does_not_hide_the_bytes_behind_it() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let listener = std::net::TcpListener::bind(localhost()).unwrap();
        let stream = executor::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        peer.set_nodelay(true).unwrap();
        let read = async |buf: &mut [u8]| stream.read(buf).await;
        the_bytes_behind_an_urgent_mark_are_read(&mut peer, read).await;
    });
}

#[test]
fn a_unix_stream_read_cut_short_at_its_oob_mark_does_not_hide_the_bytes_behind_it() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (ours, mut peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let stream = executor::net::UnixStream::from_std(ours).unwrap();
        let read = async |buf: &mut [u8]| stream.read(buf).await;
        the_bytes_behind_an_urgent_mark_are_read(&mut peer, read).await;
    });
}

#[test]
fn a_vectored_write_of_more_slices_than_the_kernel_takes_does_not_park_the_next_write() {
    use executor::hyper::GlassboxIo;
    use hyper::rt::Write as _;

    let _hang = hang_guard::start();
    executor::block_on(async {
        let (writer, _reader) = executor::net::UnixStream::pair().unwrap();
        // The registration's first events are taken in: none is left to wake a write
        // that parks on a hunch below.
        let_the_reactor_turn().await;
        let mut io = GlassboxIo::new(writer);
        // 2,000 one-byte slices: the kernel takes the first 1,024 of them in one call.
        let bytes = [7u8; 2000];
        let slices: Vec<_> = bytes.chunks(1).map(std::io::IoSlice::new).collect();
        let written =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut io).poll_write_vectored(cx, &slices))
                .await
                .unwrap();
        assert_eq!(written, 1024, "all the slices the kernel took, in full");
        // The socket holds 1 KiB of its buffer's hundreds: the next write has room.
        let writer = io.into_inner();
        let next = within(
            LIMIT,
            "a small write after the long writev",
            writer.write(b"next"),
        )
        .await;
        assert_eq!(next.unwrap(), 4);
    });
}
