//! Rate limiting with a semaphore: a port of the asyncio lesson's "semaphores for
//! rate limiting" snippet, against a real (local) server.
//!
//! Run it with `cargo run --release --example rate_limit` (about half a second).
//! Its asyncio twin, the same program in Python: `examples/asyncio/rate_limit.py`
//! (`python3 examples/asyncio/rate_limit.py`).
//!
//! The asyncio original:
//!
//! ```python
//! async def fetch_with_limit(semaphore, url):
//!     async with semaphore:             # at most 10 requests in flight
//!         return await fetch(url)
//!
//! async def main():
//!     semaphore = asyncio.Semaphore(10)
//!     tasks = [fetch_with_limit(semaphore, url) for url in urls]   # 100 urls
//!     results = await asyncio.gather(*tasks)
//! ```
//!
//! Here `fetch` is a TCP request to a small server in the same program. The server
//! counts how many connections it is serving at once and remembers the most it saw:
//! that number is the proof that the semaphore limited the clients.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use glassbox::net::{TcpListener, TcpStream};
use glassbox::{Runtime, Semaphore, join_all, sleep, spawn};

#[path = "support/accept_errors.rs"]
mod accept_errors;
use accept_errors::{AcceptErrors, accept_next};

const REQUESTS: usize = 100;
const LIMIT: usize = 10;
/// How long the server takes to answer one request.
const SERVICE_TIME: Duration = Duration::from_millis(50);

/// What the server saw: connections being served now, and the most at once.
#[derive(Default)]
struct Concurrency {
    now: Cell<usize>,
    most: Cell<usize>,
}

/// The server: answers each request after `SERVICE_TIME`, one task per connection.
async fn serve(listener: TcpListener, seen: Rc<Concurrency>) {
    let mut errors = AcceptErrors::default();
    loop {
        let (stream, _) = accept_next(&listener, &mut errors).await;
        let seen = seen.clone();
        spawn(async move {
            seen.now.set(seen.now.get() + 1);
            seen.most.set(seen.most.get().max(seen.now.get()));
            let mut request = [0u8; 8];
            if stream.read_exact(&mut request).await.is_ok() {
                sleep(SERVICE_TIME).await; // the work: an async wait, not a blocking one
                let _ = stream.write_all(b"200 OK\n").await;
            }
            seen.now.set(seen.now.get() - 1);
        });
    }
}

/// `fetch(url)`: one request, one connection.
async fn fetch(addr: SocketAddr, id: usize) -> std::io::Result<String> {
    let stream = TcpStream::connect(addr).await?;
    stream
        .write_all(format!("GET {id:>3}\n").as_bytes())
        .await?;
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).await?;
    Ok(String::from_utf8_lossy(&reply).trim().to_string())
}

/// `fetch_with_limit(semaphore, url)`: the permit is held for the whole request and
/// given back when `_permit` drops, as `async with semaphore:` does.
///
/// `_permit` must have a name. `let _ = semaphore.acquire().await` binds nothing: the
/// permit is dropped, and given back, at the end of that statement, before `fetch`
/// starts, and no warning says so. Written that way, this program's server saw all
/// 100 requests at once, the run took 62 ms instead of about 500, and the `assert!`
/// at the end of `main` failed.
async fn fetch_with_limit(
    semaphore: Rc<Semaphore>,
    addr: SocketAddr,
    id: usize,
) -> std::io::Result<String> {
    let _permit = semaphore
        .acquire()
        .await
        .expect("the semaphore is never closed");
    fetch(addr, id).await
}

fn main() -> std::io::Result<()> {
    let mut rt = Runtime::new()?;
    rt.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = listener.local_addr()?;
        let seen = Rc::new(Concurrency::default());
        let server = spawn(serve(listener, seen.clone()));

        let started = Instant::now();
        let semaphore = Rc::new(Semaphore::new(LIMIT));
        let clients = (0..REQUESTS).map(|id| spawn(fetch_with_limit(semaphore.clone(), addr, id)));
        let results = join_all(clients).await; // asyncio.gather
        let elapsed = started.elapsed();
        server.abort();

        let ok = results.iter().filter(|r| matches!(r, Ok(Ok(reply)) if reply == "200 OK")).count();
        println!("{REQUESTS} requests, at most {LIMIT} at once (Semaphore::new({LIMIT}))");
        println!("  answered 200 OK:              {ok}/{REQUESTS}");
        println!("  most connections at once:    {} (seen by the server)", seen.most.get());
        println!(
            "  total time:                   {:.0} ms (each request takes {} ms: {} waves of {LIMIT} ≈ {} ms)",
            elapsed.as_secs_f64() * 1e3,
            SERVICE_TIME.as_millis(),
            REQUESTS / LIMIT,
            (REQUESTS / LIMIT) as u128 * SERVICE_TIME.as_millis()
        );
        assert!(seen.most.get() <= LIMIT, "the semaphore let more than {LIMIT} through");
        Ok(())
    })
}
