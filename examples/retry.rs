//! Retry with exponential backoff: a port of the asyncio lesson's
//! `retry_with_backoff`, against a real (local) server that fails at first.
//!
//! Run it with `cargo run --release --example retry` (under a second).
//! Its asyncio twin, the same program in Python: `examples/asyncio/retry.py`
//! (`python3 examples/asyncio/retry.py`).
//!
//! The asyncio original:
//!
//! ```python
//! async def retry_with_backoff(coro_func, max_retries=3, base_delay=1):
//!     for attempt in range(max_retries):
//!         try:
//!             return await coro_func()
//!         except Exception as e:
//!             if attempt == max_retries - 1:
//!                 raise
//!             delay = base_delay * (2 ** attempt)
//!             print(f"Attempt {attempt + 1} failed, retrying in {delay}s...")
//!             await asyncio.sleep(delay)
//! ```
//!
//! The server answers `503` to its first three connections and `200` afterwards.
//! glassbox's `retry` waits 50, 100, 200 ms between attempts (factor 2), gives up
//! after 5 attempts, and — unlike the Python loop — retries only the errors its
//! predicate calls transient: a `404` would be returned at once.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use glassbox::net::{TcpListener, TcpStream};
use glassbox::{Backoff, Runtime, retry_if, spawn};

#[path = "support/accept_errors.rs"]
mod accept_errors;
use accept_errors::{AcceptErrors, accept_next};

/// How many connections the server refuses (with a 503) before it works.
const FAILURES: usize = 3;

/// Why one attempt failed.
#[derive(Debug)]
enum FetchError {
    /// The server is overloaded: worth another try.
    Unavailable,
    /// Anything else the server said: retrying will not help.
    Rejected(String),
    Io(std::io::Error),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Unavailable => write!(f, "503 service unavailable"),
            FetchError::Rejected(status) => write!(f, "rejected with {status}"),
            FetchError::Io(error) => write!(f, "I/O error: {error}"),
        }
    }
}

impl From<std::io::Error> for FetchError {
    fn from(error: std::io::Error) -> FetchError {
        FetchError::Io(error)
    }
}

/// The flaky server: 503 for the first `FAILURES` connections, then 200.
async fn serve(listener: TcpListener) {
    let mut served = 0;
    let mut errors = AcceptErrors::default();
    loop {
        let (stream, _) = accept_next(&listener, &mut errors).await;
        served += 1;
        let status: &[u8] = if served <= FAILURES {
            b"503\n"
        } else {
            b"200\n"
        };
        let _ = stream.write_all(status).await;
    }
}

/// One attempt: connect, read the status line.
async fn fetch(addr: SocketAddr) -> Result<&'static str, FetchError> {
    let stream = TcpStream::connect(addr).await?;
    let mut status = [0u8; 4];
    stream.read_exact(&mut status).await?;
    match &status {
        b"200\n" => Ok("the data"),
        b"503\n" => Err(FetchError::Unavailable),
        other => Err(FetchError::Rejected(
            String::from_utf8_lossy(other).trim().to_string(),
        )),
    }
}

fn main() -> std::io::Result<()> {
    let mut rt = Runtime::new()?;
    rt.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = listener.local_addr()?;
        let server = spawn(serve(listener));

        let policy = Backoff::new(Duration::from_millis(50))
            .factor(2.0)
            .max_attempts(5);
        let planned: Vec<u128> = policy.delays().map(|d| d.as_millis()).collect();
        println!("backoff: waits of {planned:?} ms between at most 5 attempts\n");

        let started = Instant::now();
        let attempt = Rc::new(Cell::new(0));
        let result = retry_if(
            policy,
            || {
                let attempt = attempt.clone();
                async move {
                    attempt.set(attempt.get() + 1);
                    let outcome = fetch(addr).await;
                    println!(
                        "attempt {} at {:>4.0} ms: {}",
                        attempt.get(),
                        started.elapsed().as_secs_f64() * 1e3,
                        match &outcome {
                            Ok(data) => format!("ok, got {data}"),
                            Err(error) => format!("failed: {error}"),
                        }
                    );
                    outcome
                }
            },
            // Only a 503 (or a dropped connection) is worth retrying.
            |error| matches!(error, FetchError::Unavailable | FetchError::Io(_)),
        )
        .await;
        server.abort();

        match result {
            Ok(data) => println!("\nsucceeded after {} attempts: {data}", attempt.get()),
            Err(error) => println!("\ngave up after {} attempts: {error}", attempt.get()),
        }
        Ok(())
    })
}
