//! The HTTP service of `examples/http.rs`: its routes, written once for both runtimes,
//! and the glassbox side of serving them (the accept loop and one connection).
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | 200 `text/plain` `Hello, world!` |
//! | `POST /echo` | 200, the request body streamed back as it arrives |
//! | `GET /sleep?ms=N` | an async sleep of N ms, then 200: the loop serves others meanwhile |
//! | `GET /block?ms=N` | `std::thread::sleep` in the handler: the lesson, see below |
//! | `GET /offload?ms=N` | the same sleep on the blocking pool (`spawn_blocking`), then 200 |
//! | anything else | 404 |
//!
//! `/block` is the mistake every single-threaded runtime teaches: the handler holds
//! the loop's one thread, so every other connection on that loop waits, the cheap
//! `GET /` included. glassbox's stall report names the task that did it (its spawn
//! site is the `spawn(serve_connection(..))` in `serve`). `/offload` sleeps just as long
//! on a pool thread and the loop keeps serving.
//!
//! A malformed request never reaches these routes: hyper answers 400 itself and closes
//! the connection.
//!
//! On Ctrl-C each runtime stops accepting and tells its connections to finish
//! (`graceful.rs`); each connection hands that word to hyper's `graceful_shutdown`
//! (`with_graceful_stop`), which closes an idle keep-alive connection at once and
//! lets one with a request in flight answer it first. The server exits as soon as
//! the last request is answered, not at the end of the grace period.
//!
//! Shared by path with `tests/http.rs`, which runs this very server.

// Each user takes what it needs of this file.
#![allow(dead_code)]

use std::convert::Infallible;
use std::fmt::Display;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::time::Duration;

use glassbox::hyper::{GlassboxExecutor, GlassboxIo, GlassboxTimer};
use glassbox::net::{TcpListener, TcpStream};
use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

#[path = "accept_errors.rs"]
mod accept_errors;
pub use accept_errors::{AcceptErrors, accept_next};
#[path = "graceful.rs"]
pub mod graceful;
use graceful::Live;

/// A response body: the request's own (for `/echo`) or one we wrote.
pub type Body = Either<Incoming, Full<Bytes>>;

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// HTTP/2 with prior knowledge instead of HTTP/1.1.
    pub http2: bool,
    /// HTTP/1: how long a client may take to send a request's head before hyper
    /// closes the connection (hyper's default is 30 s).
    pub header_read_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            http2: false,
            header_read_timeout: Duration::from_secs(30),
        }
    }
}

/// Answers one request. `sleep` and `offload` are the runtime's: an async sleep, and
/// a thread sleep run on the blocking pool.
pub async fn handle<S, O, E>(
    request: Request<Incoming>,
    sleep: impl FnOnce(Duration) -> S,
    offload: impl FnOnce(Duration) -> O,
) -> Result<Response<Body>, Infallible>
where
    S: Future<Output = ()>,
    O: Future<Output = Result<(), E>>,
    E: Display,
{
    let path = request.uri().path();
    let millis = || query_millis(request.uri().query());
    let response = match (request.method(), path) {
        (&Method::GET, "/") => text(StatusCode::OK, "Hello, world!"),
        // The body streams back frame by frame: nothing is buffered whole.
        (&Method::POST, "/echo") => Response::new(Either::Left(request.into_body())),
        (&Method::GET, "/sleep" | "/block" | "/offload") => match millis() {
            None => text(StatusCode::BAD_REQUEST, "expected ?ms=N"),
            Some(duration) => match path {
                "/sleep" => {
                    sleep(duration).await;
                    text(StatusCode::OK, "slept")
                }
                "/block" => {
                    // The lesson: this holds the loop's only thread. Do not do this.
                    std::thread::sleep(duration);
                    text(StatusCode::OK, "blocked the loop")
                }
                _ => match offload(duration).await {
                    Ok(()) => text(StatusCode::OK, "slept on the blocking pool"),
                    Err(error) => text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
                },
            },
        },
        _ => text(StatusCode::NOT_FOUND, "not found"),
    };
    Ok(response)
}

/// `ms=N` out of a query string.
fn query_millis(query: Option<&str>) -> Option<Duration> {
    let millis = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("ms="))?;
    millis.parse().ok().map(Duration::from_millis)
}

/// A `text/plain` response.
fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Either::Right(Full::new(body.into())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

// === glassbox ===

/// Drives a hyper `connection` to its end. Once `stop` completes, it is asked to
/// finish (`graceful_shutdown`, hyper's, the same for HTTP/1 and HTTP/2): HTTP/1 closes
/// an idle keep-alive connection at once, and one with a request in flight after the
/// response; HTTP/2 sends GOAWAY and closes once its open streams are done.
pub async fn with_graceful_stop<C: Future>(
    connection: C,
    stop: impl Future<Output = ()>,
    graceful_shutdown: impl FnOnce(Pin<&mut C>),
) -> C::Output {
    let mut connection = pin!(connection);
    let mut stop = pin!(stop);
    // `Some` until the word is heard: after that only the connection is polled.
    let mut graceful_shutdown = Some(graceful_shutdown);
    poll_fn(|cx| {
        if graceful_shutdown.is_some() && stop.as_mut().poll(cx).is_ready() {
            let shut_down = graceful_shutdown.take().expect("checked just above");
            shut_down(connection.as_mut());
        }
        connection.as_mut().poll(cx)
    })
    .await
}

// === glassbox ===

/// Serves on `listener` until Ctrl-C, then stops accepting and drains the live
/// connections (`graceful.rs`).
pub async fn serve_until_ctrl_c(listener: TcpListener, options: Options) -> std::io::Result<()> {
    let live = Live::default();
    let accept_loop = glassbox::spawn(serve(listener, options, live.clone()));
    graceful::on_ctrl_c(accept_loop, &live).await
}

/// Accepts connections for ever (until aborted: `graceful.rs`), each served in its
/// own task, counted in `live` and finishing when `live` says stop. The accept loop
/// backs off on resource errors (`accept_errors.rs`).
pub async fn serve(listener: TcpListener, options: Options, live: Live) {
    let mut errors = AcceptErrors::default();
    loop {
        let (stream, _peer) = accept_next(&listener, &mut errors).await;
        glassbox::spawn(live.track(serve_connection(stream, options, live.stopped())));
    }
}

/// Serves one connection until the client goes (or a protocol error ends it), or
/// until `stop` completes and it has finished gracefully (`with_graceful_stop`).
pub async fn serve_connection(stream: TcpStream, options: Options, stop: impl Future<Output = ()>) {
    // Responses are small: send each at once rather than wait for more (Nagle).
    let _ = stream.set_nodelay(true);
    let io = GlassboxIo::new(stream);
    let service = service_fn(|request| {
        handle(request, glassbox::sleep, |duration| async move {
            glassbox::spawn_blocking(move || std::thread::sleep(duration)).await
        })
    });
    // A connection's end (the client went, a malformed request) is the client's
    // business, not the server's: nothing to report.
    let _ = if options.http2 {
        let connection = http2::Builder::new(GlassboxExecutor::new())
            .timer(GlassboxTimer::new())
            .serve_connection(io, service);
        with_graceful_stop(connection, stop, |c| c.graceful_shutdown()).await
    } else {
        let connection = http1::Builder::new()
            .timer(GlassboxTimer::new())
            .header_read_timeout(options.header_read_timeout)
            .serve_connection(io, service);
        with_graceful_stop(connection, stop, |c| c.graceful_shutdown()).await
    };
}

// === tokio ===

/// The tokio twin of `serve_until_ctrl_c`: accepts until Ctrl-C, then tells the live
/// connections to finish and gives them the same grace, printing the same lines.
///
/// The stop word is a `watch` channel (its tasks may run on any worker thread). Each
/// connection task holds a receiver for its whole life, so the sender's count of
/// receivers is the count of live connections, and `closed()` waits for the last.
pub async fn serve_tokio_until_ctrl_c(
    listener: tokio::net::TcpListener,
    options: Options,
) -> std::io::Result<()> {
    let (stop, _) = tokio::sync::watch::channel(false);
    let accept_forever = async {
        let mut errors = AcceptErrors::default();
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => {
                    errors.accepted();
                    let mut stopped = stop.subscribe();
                    tokio::spawn(async move {
                        let stop = async {
                            // An error means the sender is gone: stop as well.
                            let _ = stopped.wait_for(|&stop| stop).await;
                        };
                        serve_tokio_connection(stream, options, stop).await
                    });
                }
                Err(error) => {
                    if let Some(pause) = errors.on_error(&error) {
                        tokio::time::sleep(pause).await;
                    }
                }
            }
        }
    };
    tokio::select! {
        // First, so that Ctrl-C is listened for before the first connection is.
        biased;
        heard = tokio::signal::ctrl_c() => heard?,
        _ = accept_forever => {} // (it never ends)
    }
    drop(listener);
    let at_stop = stop.receiver_count();
    graceful::say_stopped(at_stop);
    stop.send_replace(true);
    let _ = tokio::time::timeout(graceful::GRACE, stop.closed()).await;
    graceful::say_drained(at_stop, stop.receiver_count());
    Ok(())
}

/// The tokio twin of `serve_connection`.
pub async fn serve_tokio_connection(
    stream: tokio::net::TcpStream,
    options: Options,
    stop: impl Future<Output = ()>,
) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(stream);
    let service = service_fn(|request| {
        handle(request, tokio::time::sleep, |duration| async move {
            tokio::task::spawn_blocking(move || std::thread::sleep(duration)).await
        })
    });
    let _ = if options.http2 {
        let connection = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(io, service);
        with_graceful_stop(connection, stop, |c| c.graceful_shutdown()).await
    } else {
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(options.header_read_timeout)
            .serve_connection(io, service);
        with_graceful_stop(connection, stop, |c| c.graceful_shutdown()).await
    };
}
