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
//! Shared by path with `tests/http.rs`, which runs this very server.

// Each user takes what it needs of this file.
#![allow(dead_code)]

use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use glassbox::hyper::{GlassboxExecutor, GlassboxIo, GlassboxTimer};
use glassbox::net::{TcpListener, TcpStream};
use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};

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

/// Accepts connections for ever (until aborted: `graceful.rs`), each served in its
/// own task and counted in `live`. The accept loop backs off on resource errors
/// (`accept_errors.rs`).
pub async fn serve(listener: TcpListener, options: Options, live: Live) {
    let mut errors = AcceptErrors::default();
    loop {
        let (stream, _peer) = accept_next(&listener, &mut errors).await;
        glassbox::spawn(live.track(serve_connection(stream, options)));
    }
}

/// Serves one connection until the client goes (or a protocol error ends it).
pub async fn serve_connection(stream: TcpStream, options: Options) {
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
        http2::Builder::new(GlassboxExecutor::new())
            .timer(GlassboxTimer::new())
            .serve_connection(io, service)
            .await
    } else {
        http1::Builder::new()
            .timer(GlassboxTimer::new())
            .header_read_timeout(options.header_read_timeout)
            .serve_connection(io, service)
            .await
    };
}
