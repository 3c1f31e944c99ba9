//! hyper 1.x on glassbox, end to end: hyper's client on glassbox against the server of
//! `examples/http.rs` on glassbox, over real loopback sockets. It is the example's own
//! server code (`examples/support/http_service.rs`), not a copy.
//!
//! Each test binds its own port, and the hang guard bounds each one in real time. No
//! assertion is about how long anything took.
//!
//! The graceful shutdown on Ctrl-C is tried in a child process (this same test
//! binary, re-run with only `child_serves_until_ctrl_c` selected): SIGINT goes to the
//! whole process, and the server exits when it is done.

mod hang_guard;

#[path = "../examples/support/http_service.rs"]
mod http_service;

use std::cell::RefCell;
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::mpsc;
use glassbox::hyper::{GlassboxExecutor, GlassboxIo};
use glassbox::net::{TcpListener, TcpStream};
use glassbox::{JoinHandle, Runtime, StallReport, spawn};
use http_body_util::{BodyExt, Full, StreamBody};
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
        let never_stopped = std::future::pending();
        let connection = spawn(http_service::serve_connection(
            stream,
            Options::default(),
            never_stopped,
        ));
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

// === graceful shutdown on Ctrl-C ===

/// Run by the graceful-shutdown tests below in a child process: the example's server
/// (`serve_until_ctrl_c`, or its tokio twin) on the runtime and protocol named in
/// `GLASSBOX_HTTP_CHILD` (`"glassbox http1"`, `"tokio http2"`, …), until Ctrl-C.
#[test]
#[ignore = "run as a child process by the graceful-shutdown tests"]
fn child_serves_until_ctrl_c() {
    let Ok(setting) = std::env::var("GLASSBOX_HTTP_CHILD") else {
        return;
    };
    let _hang = hang_guard::start();
    let options = Options {
        http2: setting.ends_with("http2"),
        ..Options::default()
    };
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    if setting.starts_with("glassbox") {
        Runtime::new().unwrap().block_on(async {
            let listener = TcpListener::bind(addr).unwrap();
            println!("listening on http://{}", listener.local_addr().unwrap());
            http_service::serve_until_ctrl_c(listener, options)
                .await
                .unwrap();
        });
    } else {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
            println!("listening on http://{}", listener.local_addr().unwrap());
            http_service::serve_tokio_until_ctrl_c(listener, options)
                .await
                .unwrap();
        });
    }
}

/// The server of `child_serves_until_ctrl_c`, killed if the test fails before it exits.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A request body the test sends piece by piece: a frame per `unbounded_send`, the
/// end when the sender is dropped.
type PiecewiseBody = StreamBody<mpsc::UnboundedReceiver<Result<Frame<Bytes>, Infallible>>>;

/// A client connection of either protocol, its driver spawned as a task whose handle
/// completes when the connection ends (the server closed it).
enum Client {
    Http1(http1::SendRequest<PiecewiseBody>),
    Http2(http2::SendRequest<PiecewiseBody>),
}

impl Client {
    async fn connect(addr: SocketAddr, http2: bool) -> (Client, JoinHandle<()>) {
        let io = GlassboxIo::new(TcpStream::connect(addr).await.unwrap());
        if http2 {
            let (sender, connection) = http2::handshake(GlassboxExecutor::new(), io).await.unwrap();
            let ended = spawn(async move { drop(connection.await) });
            (Client::Http2(sender), ended)
        } else {
            let (sender, connection) = http1::handshake(io).await.unwrap();
            let ended = spawn(async move { drop(connection.await) });
            (Client::Http1(sender), ended)
        }
    }

    async fn send(&mut self, request: Request<PiecewiseBody>) -> hyper::body::Incoming {
        let response = match self {
            Client::Http1(sender) => {
                sender.ready().await.unwrap();
                sender.send_request(request).await
            }
            Client::Http2(sender) => {
                sender.ready().await.unwrap();
                sender.send_request(request).await
            }
        };
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.into_body()
    }
}

/// A body for `Client::send`, and the sender of its frames.
fn piecewise_body() -> (
    mpsc::UnboundedSender<Result<Frame<Bytes>, Infallible>>,
    PiecewiseBody,
) {
    let (frames, body) = mpsc::unbounded();
    (frames, StreamBody::new(body))
}

fn frame(data: &'static str) -> Result<Frame<Bytes>, Infallible> {
    Ok(Frame::data(Bytes::from_static(data.as_bytes())))
}

/// Reads `body` until it has brought as many bytes as `expected` (they may come in
/// several frames), and checks them.
async fn read_as_much_as(body: &mut hyper::body::Incoming, expected: &str) {
    let mut received = Vec::new();
    while received.len() < expected.len() {
        let frame = body.frame().await.expect("more body").unwrap();
        if let Ok(data) = frame.into_data() {
            received.extend_from_slice(&data);
        }
    }
    assert_eq!(String::from_utf8_lossy(&received), expected);
}

/// Starts the example's server in a child process, makes one connection idle (a
/// request answered, kept alive) and one busy (an echo whose request body is half
/// sent, its first half echoed), and sends SIGINT. The idle one must be closed while
/// the busy one is still open (ordering, no clock); the busy one is answered in
/// full; the server then exits having drained both, none cut off at the deadline.
fn ctrl_c_closes_idle_connections_and_drains_requests_in_flight(setting: &str) {
    let _hang = hang_guard::start();
    let mut server = ServerProcess(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "child_serves_until_ctrl_c",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GLASSBOX_HTTP_CHILD", setting)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut said = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let addr: SocketAddr = said
        .by_ref()
        .find_map(|line| {
            let line = line.unwrap();
            line.split_once("listening on http://")
                .map(|(_, addr)| addr.parse().unwrap())
        })
        .expect("the server says where it listens");
    let http2 = setting.ends_with("http2");
    glassbox::block_on(async {
        let (mut idle, idle_ended) = Client::connect(addr, http2).await;
        let (no_more, empty) = piecewise_body();
        drop(no_more);
        let mut hello = idle.send(Request::get("/").body(empty).unwrap()).await;
        read_as_much_as(&mut hello, "Hello, world!").await;

        let (mut busy, busy_ended) = Client::connect(addr, http2).await;
        let (pieces, body) = piecewise_body();
        pieces.unbounded_send(frame("hello, ")).unwrap();
        let mut echo = busy.send(Request::post("/echo").body(body).unwrap()).await;
        // Echoed: the server's handler is running, the request is in flight.
        read_as_much_as(&mut echo, "hello, ").await;

        let sent = Command::new("kill")
            .args(["-INT", &server.0.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        // The idle connection is closed by the server while the echo is unfinished
        // (before the fix it stayed open until the 5 s grace ran out).
        idle_ended.await.unwrap();
        pieces
            .unbounded_send(frame("world"))
            .expect("the request in flight was cut off");
        drop(pieces);
        let rest = echo.collect().await;
        let rest = rest.expect("the request in flight was cut off").to_bytes();
        assert_eq!(rest, "world", "the request in flight is answered in full");
        // Answered, the busy connection is closed too: no new request may start.
        busy_ended.await.unwrap();
        drop((idle, busy));
    });
    let rest: Vec<String> = said.map(Result::unwrap).collect();
    let status = server.0.wait().unwrap();
    let rest = rest.join("\n");
    assert!(status.success(), "{status:?}\n{rest}");
    assert!(
        rest.contains("ctrl-c: stopped accepting; 2 live connections")
            && rest.contains("drained 2 of 2 live connections; 0 cut off at the deadline"),
        "{rest}"
    );
}

#[test]
fn ctrl_c_closes_idle_http1_connections_at_once_on_glassbox() {
    ctrl_c_closes_idle_connections_and_drains_requests_in_flight("glassbox http1");
}

#[test]
fn ctrl_c_closes_idle_http2_connections_at_once_on_glassbox() {
    ctrl_c_closes_idle_connections_and_drains_requests_in_flight("glassbox http2");
}

#[test]
fn ctrl_c_closes_idle_http1_connections_at_once_on_tokio() {
    ctrl_c_closes_idle_connections_and_drains_requests_in_flight("tokio http1");
}

#[test]
fn ctrl_c_closes_idle_http2_connections_at_once_on_tokio() {
    ctrl_c_closes_idle_connections_and_drains_requests_in_flight("tokio http2");
}
