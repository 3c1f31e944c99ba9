//! hyper 1.x on glassbox, end to end: hyper's client on glassbox against the server of
//! `examples/http.rs` on glassbox, over real loopback sockets. It is the example's own
//! server code (`examples/support/http_service.rs`), not a copy.
//!
//! Each test binds its own port, and the hang guard bounds each one in real time. No
//! assertion is about how long anything took.

mod hang_guard;

#[path = "../examples/support/http_service.rs"]
mod http_service;

use std::cell::RefCell;
use std::convert::Infallible;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use glassbox::hyper::{GlassboxExecutor, GlassboxIo};
use glassbox::net::{TcpListener, TcpStream};
use glassbox::{Runtime, StallReport, spawn};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame};
use hyper::client::conn::{http1, http2};
use hyper::{Request, StatusCode};

use http_service::Options;

// === helpers ===

/// Binds a listener on a free port and serves `examples/http.rs`'s routes on it.
fn start_server(options: Options) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    spawn(http_service::serve(listener, options, Default::default()));
    addr
}

/// An HTTP/1.1 client connection (keep-alive), its driver spawned as a task.
async fn connect(addr: SocketAddr) -> http1::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = http1::handshake(GlassboxIo::new(stream)).await.unwrap();
    spawn(connection);
    sender
}

/// Sends one request on `sender` and reads the whole answer.
async fn send(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> (StatusCode, Bytes) {
    sender.ready().await.unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

fn get(path: &str) -> Request<Full<Bytes>> {
    Request::get(path).body(Full::default()).unwrap()
}

/// `n` hello-world requests on `sender`, each checked.
async fn say_hello(sender: &mut http1::SendRequest<Full<Bytes>>, n: usize) {
    for _ in 0..n {
        let (status, body) = send(sender, get("/")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "Hello, world!");
    }
}

/// Everything the peer sends until it closes (end of stream or reset).
async fn read_until_closed(stream: &TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0; 1024];
    while let Ok(n @ 1..) = stream.read(&mut chunk).await {
        received.extend_from_slice(&chunk[..n]);
    }
    received
}

/// How many timers wait in the runtime's wheel, as its `Debug` shows.
fn pending_timers(rt: &Runtime) -> usize {
    let debug = format!("{rt:?}");
    let (_, after) = debug
        .split_once("pending_timers: ")
        .expect("the runtime's Debug shows pending_timers");
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

// === HTTP/1.1 ===

#[test]
fn one_keep_alive_connection_serves_a_thousand_requests() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let addr = start_server(Options::default());
        let mut sender = connect(addr).await;
        say_hello(&mut sender, 1_000).await;
    });
    // The accept loop, one client connection, one server connection: had a request
    // opened a second connection, the server would have spawned a task for it.
    assert_eq!(rt.metrics().tasks_spawned, 3);
}

#[test]
fn a_hundred_connections_of_ten_requests_each_are_all_served() {
    let _hang = hang_guard::start();
    glassbox::block_on(async {
        let addr = start_server(Options::default());
        let clients: Vec<_> = (0..100)
            .map(|_| {
                spawn(async move {
                    let mut sender = connect(addr).await;
                    say_hello(&mut sender, 10).await;
                })
            })
            .collect();
        for client in clients {
            client.await.expect("the client's requests all succeeded");
        }
    });
}

#[test]
fn a_ten_mib_post_is_echoed_back_intact() {
    let _hang = hang_guard::start();
    glassbox::block_on(async {
        let addr = start_server(Options::default());
        let mut sender = connect(addr).await;
        // Not a repeating pattern of a power of two: a dropped or doubled chunk shows.
        let sent: Bytes = (0..10 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let request = Request::post("/echo")
            .body(Full::new(sent.clone()))
            .unwrap();
        let (status, echoed) = send(&mut sender, request).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(echoed.len(), sent.len());
        assert!(echoed == sent, "the echo differs from what was sent");
    });
}

#[test]
fn unknown_routes_get_404_and_a_missing_query_400() {
    let _hang = hang_guard::start();
    glassbox::block_on(async {
        let addr = start_server(Options::default());
        let mut sender = connect(addr).await;
        assert_eq!(
            send(&mut sender, get("/nope")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            send(&mut sender, get("/sleep")).await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            send(&mut sender, get("/sleep?ms=1")).await.0,
            StatusCode::OK
        );
        assert_eq!(
            send(&mut sender, get("/offload?ms=1")).await.0,
            StatusCode::OK
        );
    });
}

#[test]
fn a_malformed_request_gets_400_and_the_connection_closes() {
    let _hang = hang_guard::start();
    glassbox::block_on(async {
        let addr = start_server(Options::default());
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"NOT HTTP AT ALL\r\n\r\n").await.unwrap();
        // Reading to the end proves the close: a kept-alive connection never ends.
        let answer = String::from_utf8(read_until_closed(&stream).await).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
    });
}

#[test]
fn header_read_timeout_on_our_timer_closes_a_silent_connection() {
    let _hang = hang_guard::start();
    glassbox::block_on(async {
        let addr = start_server(Options {
            header_read_timeout: Duration::from_millis(100),
            ..Options::default()
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        // A slowloris: half a request head, then nothing. Only the timer can end this.
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let answer = read_until_closed(&stream).await;
        // hyper closes without a word: there is no request to answer.
        assert_eq!(String::from_utf8_lossy(&answer), "");
    });
}

#[test]
fn a_client_that_disconnects_mid_body_ends_its_connection_and_nothing_else() {
    let _hang = hang_guard::start();
    glassbox::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let client = spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            let head = "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n";
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(&[b'x'; 1000]).await.unwrap();
            // Dropped here, 999,000 bytes short.
        });
        // The server's connection served by hand, to see it end: it returns once it
        // has given up on the client, and its socket (so its fd) goes with it.
        let (stream, _) = listener.accept().await.unwrap();
        let connection = spawn(http_service::serve_connection(stream, Options::default()));
        client.await.unwrap();
        connection
            .await
            .expect("the connection ended without a panic");
        // The server still serves.
        spawn(http_service::serve(
            listener,
            Options::default(),
            Default::default(),
        ));
        say_hello(&mut connect(addr).await, 1).await;
    });
}

#[test]
fn the_wheel_stays_flat_over_many_keep_alive_requests() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    // One connection, kept across `block_on` calls: its tasks wait in the runtime.
    let mut sender = rt.block_on(async {
        let mut sender = connect(start_server(Options::default())).await;
        say_hello(&mut sender, 10).await;
        sender
    });
    let after_ten = pending_timers(&rt);
    // hyper's HTTP/1 server arms `header_read_timeout` for every request head; with
    // `GlassboxTimer::reset` it moves one wheel entry instead of adding one. (The HTTP
    // crates are optimised even in test builds, see Cargo.toml: about 5 s here.)
    rt.block_on(say_hello(&mut sender, 100_000));
    assert_eq!(pending_timers(&rt), after_ten);
    assert!(
        after_ten <= 1,
        "one header timer, for the one server connection"
    );
}

#[test]
fn a_blocking_handler_gets_a_stall_report_naming_the_connection_task() {
    let _hang = hang_guard::start();
    let reports: Rc<RefCell<Vec<StallReport>>> = Rc::default();
    let mut rt = Runtime::builder()
        .stall_threshold(Some(Duration::from_millis(50)))
        .on_stall({
            let reports = reports.clone();
            move |report| reports.borrow_mut().push(report.clone())
        })
        .build()
        .unwrap();
    rt.block_on(async {
        let mut sender = connect(start_server(Options::default())).await;
        // `std::thread::sleep(200 ms)` in the handler: at least 200 ms in one poll,
        // four times the threshold, whatever the machine's speed.
        assert_eq!(
            send(&mut sender, get("/block?ms=200")).await.0,
            StatusCode::OK
        );
    });
    let reports = reports.borrow();
    let blocker = reports
        .iter()
        .find(|report| report.blocked_for >= Duration::from_millis(200))
        .expect("a stall report for the blocking handler");
    // The server's connection tasks are spawned in `serve`.
    assert!(
        blocker.spawned_at.file().ends_with("http_service.rs"),
        "{}",
        blocker.spawned_at
    );
}

// === HTTP/2 ===

/// A request body that is not `Send` (it holds an `Rc`): fine on one thread, since
/// `GlassboxExecutor` runs hyper's HTTP/2 stream tasks on the runtime.
struct RcBody {
    data: Option<Rc<Bytes>>,
    _not_send: PhantomData<Rc<()>>,
}

impl Body for RcBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let frame = self
            .data
            .take()
            .map(|data| Ok(Frame::data((*data).clone())));
        Poll::Ready(frame)
    }
}

#[test]
fn an_http2_exchange_with_a_body_that_is_not_send() {
    let _hang = hang_guard::start();
    glassbox::block_on(async {
        let addr = start_server(Options {
            http2: true,
            ..Options::default()
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            http2::handshake(GlassboxExecutor::new(), GlassboxIo::new(stream))
                .await
                .unwrap();
        spawn(connection);
        // Two streams at once on the one connection, one of them echoing.
        let body = RcBody {
            data: Some(Rc::new(Bytes::from_static(b"over h2"))),
            _not_send: PhantomData,
        };
        let echo = sender.send_request(Request::post("/echo").body(body).unwrap());
        let hello = sender.send_request(
            Request::get("/")
                .body(RcBody {
                    data: None,
                    _not_send: PhantomData,
                })
                .unwrap(),
        );
        let (echo, hello) = futures::join!(echo, hello);
        let echo = echo.unwrap();
        assert_eq!(echo.version(), hyper::Version::HTTP_2);
        assert_eq!(
            echo.into_body().collect().await.unwrap().to_bytes(),
            "over h2"
        );
        let hello = hello
            .unwrap()
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(hello, "Hello, world!");
    });
}
