//! A web server on hyper 1.x, run on glassbox or on tokio with the same handlers, so
//! the two can be loaded side by side (`scripts/http-bench.sh` does it with wrk).
//!
//! ```text
//! cargo run --release --example http -- [--runtime glassbox|tokio] [--addr 127.0.0.1:3000]
//!                                         [--workers N] [--http2]
//! curl -v http://127.0.0.1:3000/ http://127.0.0.1:3000/sleep?ms=50   # one connection, reused
//! curl --http2-prior-knowledge http://127.0.0.1:3000/                # with --http2
//! ```
//!
//! The first line on stdout is `listening on http://IP:PORT`, with the real port when
//! `--addr` asks for port 0. The routes are in `support/http_service.rs`: `GET /`,
//! `POST /echo`, `GET /sleep?ms=N`, `GET /block?ms=N`, `GET /offload?ms=N`.
//!
//! Try the lesson: while `curl 'http://127.0.0.1:3000/block?ms=2000'` runs, a
//! `curl http://127.0.0.1:3000/` waits for it, and glassbox prints a stall report
//! naming the connection task. With `/offload?ms=2000` instead, `/` answers at once.
//!
//! Ctrl-C stops the server gracefully, on either runtime: it stops accepting, idle
//! keep-alive connections close at once, and requests in flight get up to 5 s to be
//! answered (`support/graceful.rs`); it then says how many connections drained.
//!
//! `--workers N` (glassbox) runs N threads, each with its own runtime and its own
//! listener on the same port (`SO_REUSEPORT`: the kernel spreads connections over
//! them). No task ever crosses threads; that is how thread-per-core runtimes (seastar,
//! glommio, monoio) use several cores. On tokio it picks the multi_thread runtime with
//! N workers sharing one listener, which is what a tokio user would do.
//!
//! hyper itself needs three things of a runtime; `glassbox::hyper` has them (see
//! `executor/src/hyper/mod.rs`), and hyper-util's `TokioIo`, `TokioExecutor` and
//! `TokioTimer` are their tokio counterparts.

use std::error::Error;
use std::net::SocketAddr;

use glassbox::net::TcpListener;
use socket2::{Domain, Protocol, Socket, Type};

#[path = "support/http_service.rs"]
mod http_service;
use http_service::{Options, serve_tokio_until_ctrl_c, serve_until_ctrl_c};

/// The command line.
#[derive(Debug)]
struct Args {
    runtime: RuntimeKind,
    addr: SocketAddr,
    workers: usize,
    http2: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RuntimeKind {
    Glassbox,
    Tokio,
}

const USAGE: &str =
    "usage: http [--runtime glassbox|tokio] [--addr IP:PORT] [--workers N] [--http2]";

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args(std::env::args().skip(1)).unwrap_or_else(|error| {
        eprintln!("http: {error}\n{USAGE}");
        std::process::exit(2);
    });
    let options = Options {
        http2: args.http2,
        ..Options::default()
    };
    match args.runtime {
        RuntimeKind::Glassbox => run_glassbox(&args, options),
        RuntimeKind::Tokio => run_tokio(&args, options),
    }
}

// === glassbox: one runtime per worker thread ===

fn run_glassbox(args: &Args, options: Options) -> Result<(), Box<dyn Error>> {
    if args.workers == 1 {
        let mut rt = glassbox::Runtime::new()?;
        return rt.block_on(async {
            let listener = TcpListener::bind(args.addr)?;
            println!("listening on http://{}", listener.local_addr()?);
            serve_until_ctrl_c(listener, options).await?;
            Ok(())
        });
    }
    // Bind every listener before announcing the port: the first picks it (if the
    // address says port 0), the others join it.
    let first = reuse_port_listener(args.addr)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..args.workers {
        listeners.push(reuse_port_listener(addr)?);
    }
    println!("listening on http://{addr}");
    let workers: Vec<_> = listeners
        .into_iter()
        .enumerate()
        .map(|(index, listener)| {
            std::thread::Builder::new()
                .name(format!("glassbox-worker-{index}"))
                .spawn(move || -> std::io::Result<()> {
                    let mut rt = glassbox::Runtime::new()?;
                    rt.block_on(async {
                        let listener = TcpListener::from_std(listener)?;
                        // Every runtime hears the Ctrl-C, and each drains its own.
                        serve_until_ctrl_c(listener, options).await
                    })
                })
        })
        .collect::<Result<_, _>>()?;
    for worker in workers {
        worker.join().map_err(|_| "a worker thread panicked")??;
    }
    Ok(())
}

/// A listener with `SO_REUSEPORT`, so that several can listen on one port, each
/// getting its own share of the connections.
fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

// === tokio: current_thread, or multi_thread with --workers ===

fn run_tokio(args: &Args, options: Options) -> Result<(), Box<dyn Error>> {
    let rt = if args.workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.workers)
            .enable_all()
            .build()?
    };
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr).await?;
        println!("listening on http://{}", listener.local_addr()?);
        serve_tokio_until_ctrl_c(listener, options).await?;
        Ok(())
    })
}

// === the command line ===

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        runtime: RuntimeKind::Glassbox,
        addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
        workers: 1,
        http2: false,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--runtime" => {
                parsed.runtime = match value()?.as_str() {
                    "glassbox" => RuntimeKind::Glassbox,
                    "tokio" => RuntimeKind::Tokio,
                    other => return Err(format!("unknown runtime {other:?}")),
                }
            }
            // An address, not a host name: resolving one would block.
            "--addr" => {
                let addr = value()?;
                parsed.addr = addr
                    .parse()
                    .map_err(|error| format!("{addr:?} is not IP:PORT ({error})"))?;
            }
            "--workers" => {
                let workers = value()?;
                parsed.workers = match workers.parse() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        return Err(format!(
                            "--workers wants a positive number, got {workers:?}"
                        ));
                    }
                };
            }
            "--http2" => parsed.http2 = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}
