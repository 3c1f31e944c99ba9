//! hyper 1.x on glassbox: the three pieces of `hyper::rt` that hyper asks of a runtime,
//! behind the `hyper` cargo feature.
//!
//! hyper is a protocol stack with no runtime of its own. It parses and writes HTTP/1
//! and HTTP/2, and leaves three jobs to whoever drives it:
//!
//! | hyper asks for | to do | glassbox gives | tokio's, in hyper-util |
//! |---|---|---|---|
//! | `rt::Read` + `rt::Write` | move bytes in and out of a connection | [`GlassboxIo`] over [`TcpStream`](crate::net::TcpStream) or [`UnixStream`](crate::net::UnixStream) | `TokioIo` |
//! | `rt::Executor` | run a future on its own (an HTTP/2 stream, a client connection) | [`GlassboxExecutor`]: [`spawn`](crate::spawn) | `TokioExecutor` |
//! | `rt::Timer` | time out a silent client (`header_read_timeout`), send HTTP/2 pings | [`GlassboxTimer`], whose sleeps sit in the runtime's wheel | `TokioTimer` |
//!
//! One HTTP/1 request, end to end: the connection task polls hyper's `Connection`,
//! which polls [`GlassboxIo`]'s `poll_read`; the socket is empty, so the task parks in
//! the reactor exactly as an `.await`ed `read` does (see `net/`). Bytes arrive, the
//! reactor wakes the task, hyper parses the head, calls the service, and writes the
//! response back through `poll_write_vectored`: head and body in one `writev(2)`.
//!
//! ```
//! use std::convert::Infallible;
//! use executor::hyper::{GlassboxIo, GlassboxTimer};
//! use executor::net::{TcpListener, TcpStream};
//! use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
//!
//! executor::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     executor::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let hello = service_fn(|_: Request<Incoming>| async {
//!             Ok::<_, Infallible>(Response::new("Hello, world!".to_string()))
//!         });
//!         http1::Builder::new()
//!             .timer(GlassboxTimer::new())
//!             .serve_connection(GlassboxIo::new(stream), hello)
//!             .await
//!     });
//!     // A client by hand: one request, then read until the server closes.
//!     let client = TcpStream::connect(addr).await.unwrap();
//!     client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
//!     let mut response = Vec::new();
//!     let mut chunk = [0; 1024];
//!     while let n @ 1.. = client.read(&mut chunk).await.unwrap() {
//!         response.extend_from_slice(&chunk[..n]);
//!     }
//!     let response = String::from_utf8(response).unwrap();
//!     assert!(response.starts_with("HTTP/1.1 200 OK"));
//!     assert!(response.ends_with("Hello, world!"));
//! });
//! ```
//!
//! # Ground rules
//! - No `unsafe` here, as in the rest of the crate outside `task/`. hyper's read
//!   buffer may be uninitialised memory, which safe code may not hand to `read(2)`:
//!   [`GlassboxIo`] reads into a per-thread scratch buffer and copies into hyper's with
//!   `ReadBufCursor::put_slice` (see `io.rs` for what that costs).
//! - Everything runs on the runtime's one thread. The executor spawns there, so
//!   hyper's futures need not be `Send`; the timer's sleeps must be `Send + Sync`
//!   because hyper's `Sleep` trait says so, and they are, honestly: a sleep holds a
//!   deadline and a wheel key, never a reference to the runtime (see `time/timer.rs`).
//! - Like the sockets, a sleep belongs to the runtime it first registered with.
//!
//! asyncio equivalent: none; an asyncio web server (aiohttp) brings its own protocol
//! code on top of `asyncio.Protocol`. tokio equivalent: `hyper_util::rt::tokio`.

mod executor;
mod io;
mod timer;

pub use self::executor::GlassboxExecutor;
pub use io::GlassboxIo;
pub use timer::{GlassboxSleep, GlassboxTimer};
