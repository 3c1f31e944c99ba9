//! Unix-domain sockets: `UnixStream` (`pair`, `connect`), `UnixListener` and
//! `UnixDatagram` move bytes intact, under load and with many clients, a path left
//! behind by an earlier bind is reported by name, Linux abstract names (`"\0name"`)
//! work for every call that takes a path, and a NUL anywhere else is refused.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::io::ErrorKind;
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use executor::net::{UnixDatagram, UnixListener, UnixStream};
use executor::spawn;
use net_support::{TempDir, within};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_pair_echoes_ten_mebibytes_intact() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (client, server) = UnixStream::pair().unwrap();
        let echoing = spawn(async move {
            let mut buf = vec![0; 32 * 1024];
            loop {
                let read = server.read(&mut buf).await.unwrap();
                if read == 0 {
                    return server.shutdown(Shutdown::Write).unwrap();
                }
                server.write_all(&buf[..read]).await.unwrap();
            }
        });
        let sent: Rc<Vec<u8>> = Rc::new((0..10 << 20).map(|i: u32| (i % 253) as u8).collect());
        let client = Rc::new(client);
        // One task writes while this one reads: the echo never stalls on a full buffer.
        let writing = spawn({
            let (client, sent) = (client.clone(), sent.clone());
            async move {
                client.write_all(&sent).await.unwrap();
                client.shutdown(Shutdown::Write).unwrap();
            }
        });
        let received = within(LIMIT, "the 10 MiB echo", async {
            let mut received = Vec::with_capacity(sent.len());
            let mut buf = vec![0; 64 * 1024];
            loop {
                match client.read(&mut buf).await.unwrap() {
                    0 => return received,
                    read => received.extend_from_slice(&buf[..read]),
                }
            }
        })
        .await;
        writing.await.unwrap();
        echoing.await.unwrap();
        assert_eq!(received.len(), sent.len());
        assert!(received == *sent, "the echo differs from what was sent");
    });
}

#[test]
fn a_listener_serves_a_hundred_clients() {
    let _hang = hang_guard::start();
    let dir = TempDir::new("unix-listener");
    let path = dir.join("server.sock");
    executor::block_on(async {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(&*path));
        let serving = spawn(async move {
            for _ in 0..100 {
                let (stream, _peer) = listener.accept().await.unwrap();
                spawn(async move {
                    let mut id = [0; 4];
                    stream.read_exact(&mut id).await.unwrap();
                    stream.write_all(&id).await.unwrap();
                });
            }
        });
        let clients: Vec<_> = (0..100u32)
            .map(|id| {
                let path = path.clone();
                spawn(async move {
                    let stream = UnixStream::connect(&path).await.unwrap();
                    assert_eq!(stream.peer_addr().unwrap().as_pathname(), Some(&*path));
                    stream.write_all(&id.to_be_bytes()).await.unwrap();
                    let mut echo = [0; 4];
                    stream.read_exact(&mut echo).await.unwrap();
                    u32::from_be_bytes(echo)
                })
            })
            .collect();
        within(LIMIT, "100 clients", async {
            for (id, client) in (0..100u32).zip(clients) {
                assert_eq!(client.await.unwrap(), id);
            }
        })
        .await;
        serving.await.unwrap();
    });
}

#[test]
fn datagrams_go_to_a_path_and_the_reply_comes_back() {
    let _hang = hang_guard::start();
    let dir = TempDir::new("unix-datagram");
    let (a_path, b_path) = (dir.join("a.sock"), dir.join("b.sock"));
    executor::block_on(async {
        let a = UnixDatagram::bind(&a_path).unwrap();
        let b = UnixDatagram::bind(&b_path).unwrap();
        assert_eq!(a.send_to(b"question", &b_path).await.unwrap(), 8);
        let mut buf = [0; 32];
        let (len, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"question");
        assert_eq!(from.as_pathname(), Some(&*a_path));
        b.send_to(b"answer", from.as_pathname().unwrap())
            .await
            .unwrap();
        assert_eq!(a.recv(&mut buf).await.unwrap(), 6);
        assert_eq!(&buf[..6], b"answer");

        // Connected: send and recv without addresses, one datagram per call.
        let sender = UnixDatagram::unbound().unwrap();
        sender.connect(&b_path).unwrap();
        assert_eq!(sender.peer_addr().unwrap().as_pathname(), Some(&*b_path));
        sender.send(b"one").await.unwrap();
        sender.send(b"two").await.unwrap();
        assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"one");
        assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"two");
    });
}

#[test]
fn a_datagram_pair_waits_for_a_datagram() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let receiving = spawn(async move {
            let mut buf = [0; 8];
            let len = b.recv(&mut buf).await.unwrap();
            buf[..len].to_vec()
        });
        executor::yield_now().await; // the receiver parks first
        a.send(b"late").await.unwrap();
        assert_eq!(within(LIMIT, "recv", receiving).await.unwrap(), b"late");
    });
}

#[test]
fn binding_a_path_left_behind_names_the_path() {
    let _hang = hang_guard::start();
    let dir = TempDir::new("unix-left-behind");
    executor::block_on(async {
        let path = dir.join("stale.sock");
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists(), "closing a listener leaves its file");
        let error = UnixListener::bind(&path).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse);
        let message = error.to_string();
        assert!(message.contains(&*path.to_string_lossy()), "{message}");
        assert!(message.contains("left behind"), "{message}");

        let path = dir.join("stale-datagram.sock");
        drop(UnixDatagram::bind(&path).unwrap());
        let error = UnixDatagram::bind(&path).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse);
        assert!(error.to_string().contains(&*path.to_string_lossy()));

        std::fs::remove_file(&path).unwrap();
        UnixDatagram::bind(&path).expect("binds once the file is removed");
    });
}

#[test]
fn connecting_where_nothing_was_bound_is_not_found() {
    let _hang = hang_guard::start();
    let dir = TempDir::new("unix-missing");
    executor::block_on(async {
        let error = UnixStream::connect(dir.join("nobody.sock"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn shutdown_wakes_a_read_parked_on_the_same_stream() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (a, _b) = UnixStream::pair().unwrap();
        let a = Rc::new(a);
        let reading = spawn({
            let a = a.clone();
            async move { a.read(&mut [0; 8]).await.unwrap() }
        });
        executor::yield_now().await; // the read parks
        a.shutdown(Shutdown::Read).unwrap();
        assert_eq!(within(LIMIT, "the parked read", reading).await.unwrap(), 0);
    });
}

/// An abstract name no other test or process uses: a NUL, then a unique label.
fn abstract_name(label: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("\0glassbox-{label}-{}-{n}", std::process::id())
}

#[test]
#[cfg(target_os = "linux")]
fn a_listener_bound_to_an_abstract_name_accepts_a_stream_connected_to_it() {
    use std::os::linux::net::SocketAddrExt;

    let _hang = hang_guard::start();
    let name = abstract_name("listener");
    executor::block_on(async {
        let listener = UnixListener::bind(&name).unwrap();
        let local = listener.local_addr().unwrap();
        assert_eq!(local.as_abstract_name(), Some(&name.as_bytes()[1..]));
        let client = UnixStream::connect(&name).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.write_all(b"abstract").await.unwrap();
        let mut got = [0; 8];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"abstract");
    });
}

#[test]
#[cfg(target_os = "linux")]
fn a_datagram_socket_binds_connects_and_sends_to_abstract_names() {
    let _hang = hang_guard::start();
    let (a_name, b_name) = (abstract_name("datagram-a"), abstract_name("datagram-b"));
    executor::block_on(async {
        let a = UnixDatagram::bind(&a_name).unwrap();
        let b = UnixDatagram::bind(&b_name).unwrap();
        assert_eq!(a.send_to(b"to b", &b_name).await.unwrap(), 4);
        let mut buf = [0; 16];
        let (len, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"to b");
        assert!(from.as_pathname().is_none(), "no file behind it");

        let sender = UnixDatagram::unbound().unwrap();
        sender.connect(&a_name).unwrap();
        sender.send(b"to a").await.unwrap();
        assert_eq!(a.recv(&mut buf).await.unwrap(), 4);
        assert_eq!(&buf[..4], b"to a");
    });
}

#[test]
fn a_path_with_a_nul_byte_inside_is_refused_saying_where() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let path = "/tmp/glassbox\0oops.sock";
        let errors = [
            UnixListener::bind(path).unwrap_err(),
            UnixStream::connect(path).await.unwrap_err(),
            UnixDatagram::bind(path).unwrap_err(),
            UnixDatagram::unbound().unwrap().connect(path).unwrap_err(),
            UnixDatagram::unbound()
                .unwrap()
                .send_to(b"x", path)
                .await
                .unwrap_err(),
        ];
        for error in errors {
            assert_eq!(error.kind(), ErrorKind::InvalidInput);
            let message = error.to_string();
            assert!(message.contains("NUL byte at byte 13"), "{message}");
            assert!(
                !message.contains('\0'),
                "the NUL is shown escaped: {message:?}"
            );
        }
    });
}
