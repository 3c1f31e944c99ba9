//! An echo server and its clients: a walkthrough of glassbox's reactor.
//!
//! ```text
//! cargo run --release --example echo                         # server + clients, one process
//! cargo run --release --example echo -- server 127.0.0.1:7000
//! cargo run --release --example echo -- client 127.0.0.1:7000 [ROUNDS]
//! cargo run --release --example echo -- flood 127.0.0.1:7000 [CLIENTS]
//! GLASSBOX_TRACE=1 cargo run --example echo -- 2             # watch two round trips
//! ```
//!
//! By default one process runs both sides on one thread: the server's tasks and the
//! clients' tasks take turns on the same loop. It measures the round-trip time of a
//! 64-byte message over loopback, then how many round trips per second 100 clients
//! get at once.
//!
//! Under a low fd limit the server survives a flood: with `ulimit -n 64`, the accept
//! loop backs off on EMFILE (`support/accept_errors.rs` says why) and serves every
//! client once fds come back:
//!
//! ```text
//! (ulimit -n 64; cargo run --release --example echo -- server 127.0.0.1:7000)
//! cargo run --release --example echo -- flood 127.0.0.1:7000 200   # another shell
//! ```
//!
//! Read it with `executor/src/io/reactor.rs` open. The comments marked REGISTER, PARK and
//! WAKE follow one message through the reactor; with `GLASSBOX_TRACE=1` each of those
//! steps prints a line (`io     register`, `io     wait`, `io     token=…`).

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use glassbox::net::{TcpListener, TcpStream};
use glassbox::{Runtime, spawn};

#[path = "support/accept_errors.rs"]
mod accept_errors;
use accept_errors::{AcceptErrors, accept_next};
#[path = "support/graceful.rs"]
mod graceful;
use graceful::Live;

/// The size of one echoed message.
const MESSAGE: usize = 64;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rt = Runtime::new()?;
    match args.first().map(String::as_str) {
        Some("server") => {
            let addr = parse_addr(args.get(1));
            rt.block_on(async {
                let live = Live::default();
                let (addr, accept_loop) = serve(addr, &live)?;
                println!("echo server listening on {addr} (Ctrl-C to stop)");
                // The server runs in spawned tasks until Ctrl-C.
                graceful::on_ctrl_c(accept_loop, &live).await
            })
        }
        Some("client") => {
            let addr = parse_addr(args.get(1));
            let rounds = parse_rounds(args.get(2), 20_000);
            rt.block_on(measure_round_trips(addr, rounds))
        }
        Some("flood") => {
            let addr = parse_addr(args.get(1));
            let clients = parse_rounds(args.get(2), 200);
            rt.block_on(flood(addr, clients))
        }
        _ => {
            let rounds = parse_rounds(args.first(), 20_000);
            rt.block_on(async {
                let (addr, _accept_loop) = serve("127.0.0.1:0".parse().unwrap(), &Live::default())?;
                measure_round_trips(addr, rounds).await?;
                if rounds >= 1_000 {
                    measure_many_clients(addr, 100, 1_000).await?;
                }
                Ok::<_, std::io::Error>(())
            })?;
            let metrics = rt.metrics();
            println!(
                "runtime: {} polls, {} local wakes, {} reactor turns",
                metrics.polls, metrics.local_wakes, metrics.reactor_turns
            );
            Ok(())
        }
    }
}

/// Binds the listener and spawns the accept loop, which counts its connections in
/// `live`. Returns the bound address and the loop's handle.
fn serve(addr: SocketAddr, live: &Live) -> std::io::Result<(SocketAddr, glassbox::JoinHandle<()>)> {
    // REGISTER: `bind` opens a non-blocking socket and registers it with this
    // runtime's mio::Poll, for READABLE only, under a token whose low bits are its slot
    // in the reactor's slab. Nothing waits on it yet.
    let listener = TcpListener::bind(addr)?;
    let addr = listener.local_addr()?;
    let live = live.clone();
    let accept_loop = spawn(async move {
        let mut errors = AcceptErrors::default();
        loop {
            // PARK: `accept` tries accept(2) at once. With no connection queued it
            // returns WouldBlock: the reactor forgets that the listener was readable,
            // stores this task's waker in the listener's slot, and the task returns
            // Pending. The loop goes on with other tasks, or sleeps in epoll_wait.
            //
            // WAKE: a client's SYN completes the handshake in the kernel, which marks
            // the listener readable. The next Reactor::park (run_once phase 3) gets an
            // event with the listener's token, marks the slot readable and wakes the
            // waker: this task is back on the ready queue, and accept(2) succeeds.
            //
            // Errors: out of fds (`ulimit -n 64` and a flood of clients), `accept`
            // fails at once, again and again: the connection is still queued. A loop
            // that only logged it would never wait on anything. `accept_next` backs off
            // instead, which gives the echo tasks time to finish and give their fds
            // back. (Without the back-off, the runtime's coop budget still makes this
            // task yield every 128 errors so the others run; it just burns the CPU.)
            let (stream, _peer) = accept_next(&listener, &mut errors).await;
            // The accepted socket is registered too (READABLE | WRITABLE).
            spawn(live.track(echo(stream)));
        }
    });
    Ok((addr, accept_loop))
}

/// Writes back whatever arrives, until the client closes.
async fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0; 4096];
    loop {
        // PARK/WAKE as for accept, in the read direction of this stream's slot: the
        // task sleeps until the client's bytes arrive, then read(2) returns them.
        // An edge-triggered poller reports new data once, so the reactor only parks a
        // task after read(2) itself said WouldBlock; a short read is not proof that
        // the socket is empty.
        let read = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return, // end of stream, or the client reset: done
            Ok(read) => read,
        };
        // Writing usually succeeds at once: the send buffer has room. Only when it is
        // full would this task park, on the *write* waiter list, and an EPOLLOUT event
        // (room again) wake it.
        if stream.write_all(&buf[..read]).await.is_err() {
            return;
        }
    }
}

/// One client, one message at a time: the round-trip time of a 64-byte message.
async fn measure_round_trips(addr: SocketAddr, rounds: usize) -> std::io::Result<()> {
    // REGISTER: connect(2) on a non-blocking socket returns at once ("in progress");
    // the socket is registered, and `connect` parks until it turns writable, then
    // asks the kernel how the handshake went (SO_ERROR).
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let message = [b'x'; MESSAGE];
    let mut back = [0; MESSAGE];
    let warmup = (rounds / 10).min(1_000);
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..warmup + rounds {
        let sent = Instant::now();
        stream.write_all(&message).await?;
        // PARK until the echo comes back; WAKE by the readiness event for our token.
        stream.read_exact(&mut back).await?;
        if round >= warmup {
            samples.push(sent.elapsed());
        }
        assert_eq!(back, message, "the echo differs from what was sent");
    }
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len().max(1) as u32;
    let percentile = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
    println!(
        "round trip, {MESSAGE}-byte message, {rounds} rounds: mean {mean:?}, p50 {:?}, p99 {:?}",
        percentile(50),
        percentile(99)
    );
    Ok(())
}

/// `clients` connections at once, each echoing `messages` messages in turn.
async fn measure_many_clients(
    addr: SocketAddr,
    clients: usize,
    messages: usize,
) -> std::io::Result<()> {
    let started = Instant::now();
    let failures = Rc::new(std::cell::Cell::new(0));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let failures = failures.clone();
            spawn(async move {
                let outcome: std::io::Result<()> = async {
                    let stream = TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    let mut back = [0; MESSAGE];
                    for _ in 0..messages {
                        stream.write_all(&[b'y'; MESSAGE]).await?;
                        stream.read_exact(&mut back).await?;
                    }
                    Ok(())
                }
                .await;
                if outcome.is_err() {
                    failures.set(failures.get() + 1);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("client task");
    }
    let elapsed = started.elapsed();
    let total = clients * messages;
    println!(
        "{clients} clients x {messages} messages: {total} round trips in {elapsed:?} \
         ({:.0} per second), {} failed clients",
        total as f64 / elapsed.as_secs_f64(),
        failures.get()
    );
    Ok(())
}

/// `clients` clients at once, then 20 more: each connects, sends one message and
/// waits (up to 30 s) for its echo. Against a server under `ulimit -n 64`, the first
/// wave runs it out of fds; both waves should still be served in full.
async fn flood(addr: SocketAddr, clients: usize) -> std::io::Result<()> {
    const PATIENCE: Duration = Duration::from_secs(30);
    for (wave, count) in [("flood", clients), ("after it", 20)] {
        let started = Instant::now();
        let handles: Vec<_> = (0..count)
            .map(|_| {
                spawn(glassbox::timeout(PATIENCE, async move {
                    let stream = TcpStream::connect(addr).await?;
                    let mut back = [0; MESSAGE];
                    stream.write_all(&[b'f'; MESSAGE]).await?;
                    stream.read_exact(&mut back).await?;
                    Ok::<_, std::io::Error>(())
                }))
            })
            .collect();
        let mut served = 0;
        for handle in handles {
            if let Ok(Ok(Ok(()))) = handle.await {
                served += 1;
            }
        }
        println!(
            "{wave}: {served} of {count} clients served in {:?}",
            started.elapsed()
        );
    }
    Ok(())
}

fn parse_addr(arg: Option<&String>) -> SocketAddr {
    let Some(arg) = arg else {
        eprintln!(
            "usage: echo [ROUNDS] | echo server ADDR | echo client ADDR [ROUNDS] | echo flood ADDR [CLIENTS]"
        );
        std::process::exit(2);
    };
    // An address, not a host name: resolving a name would block the loop (do it in
    // spawn_blocking if you need to).
    arg.parse().unwrap_or_else(|error| {
        eprintln!("echo: {arg:?} is not an IP:port address ({error})");
        std::process::exit(2);
    })
}

fn parse_rounds(arg: Option<&String>, default: usize) -> usize {
    match arg {
        None => default,
        Some(arg) => match arg.parse() {
            Ok(rounds) if rounds > 0 => rounds,
            _ => {
                eprintln!("echo: ROUNDS must be a positive whole number, got {arg:?}");
                std::process::exit(2);
            }
        },
    }
}
