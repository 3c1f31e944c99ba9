//! Chapter `echo`: a TCP echo server and its client over loopback, on one thread.
//!
//! The server accepts connections and echoes what it reads until end of stream; the
//! client, a task on the same loop, measures the round trip of a 64-byte message,
//! then pushes 64 KiB chunks through and checks every byte that comes back, then
//! half-closes its side and waits for the server to close. Last, it connects to a
//! port nobody listens on.
//!
//! Times are shown (they vary with the machine); what is judged is that the bytes
//! come back intact, that a half-close reads as end of stream on both sides, and the
//! error kind of a refused connection.
//!
//! asyncio's twin (`asyncio/echo_twin.py`) is the same server and client with
//! `asyncio.start_server` and `asyncio.open_connection`, doing a fifth of the work
//! (Python's streams are slower, and the tour waits for it). It names the refusal
//! `ConnectionRefusedError`, std's `ConnectionRefused`.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use crate::accept_errors::AcceptErrors;
use crate::asyncio::{Twin, Value, field, number, text};
use crate::report::{Row, asyncio_compare, asyncio_shown, compare, shown};
use crate::shim::on_both_runtimes;

/// The size of one round-trip message.
const MESSAGE: usize = 64;
/// The size of one chunk of the bulk transfer.
const CHUNK: usize = 64 * 1024;

/// What the client saw.
#[derive(Debug)]
pub struct Echo {
    /// The mean round trip of a 64-byte message.
    pub round_trip: Duration,
    /// Bytes pushed through and echoed back, per second.
    pub bytes_per_sec: f64,
    /// Every byte of the bulk transfer came back as sent.
    pub intact: bool,
    /// After the client's half-close: the server read end of stream, and then the
    /// client read end of stream too (the server closed).
    pub half_close: String,
    /// What connecting to a port nobody listens on gave.
    pub refused: String,
}

/// The byte at `offset` of chunk number `chunk`: varies with both, so a lost,
/// repeated or reordered chunk shows.
fn pattern(chunk: usize, offset: usize) -> u8 {
    (offset.wrapping_mul(31) ^ chunk.wrapping_mul(131)) as u8
}

on_both_runtimes! {
    /// `round_trips` 64-byte round trips, then `bulk_chunks` chunks of 64 KiB.
    pub fn echo(round_trips: u32, bulk_chunks: usize) -> io::Result<Echo> {
        rt::block_on(async move {
            let listener = rt::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
            let addr = listener.local_addr()?;
            let server_saw_eof = Rc::new(Cell::new(false));
            rt::spawn({
                let server_saw_eof = server_saw_eof.clone();
                async move {
                    // A production accept loop: see examples/support/accept_errors.rs.
                    let mut errors = AcceptErrors::default();
                    loop {
                        match listener.accept().await {
                            Ok(stream) => {
                                errors.accepted();
                                rt::spawn(echo_until_eof(stream, server_saw_eof.clone()));
                            }
                            Err(error) => {
                                if let Some(pause) = errors.on_error(&error) {
                                    rt::sleep(pause).await;
                                }
                            }
                        }
                    }
                }
            });

            let mut client = rt::TcpStream::connect(addr).await?;
            client.set_nodelay(true)?;

            let message = [7u8; MESSAGE];
            let mut reply = [0u8; MESSAGE];
            let start = rt::now();
            for _ in 0..round_trips {
                client.write_all(&message).await?;
                client.read_exact(&mut reply).await?;
            }
            let round_trip = (rt::now() - start) / round_trips;

            let mut sent = vec![0u8; CHUNK];
            let mut back = vec![0u8; CHUNK];
            let mut intact = true;
            let start = rt::now();
            for chunk in 0..bulk_chunks {
                for (offset, byte) in sent.iter_mut().enumerate() {
                    *byte = pattern(chunk, offset);
                }
                client.write_all(&sent).await?;
                client.read_exact(&mut back).await?;
                intact &= back == sent;
            }
            let took = (rt::now() - start).as_secs_f64();
            let bytes_per_sec = (bulk_chunks * CHUNK) as f64 / took;

            client.shutdown_write().await?;
            let client_saw_eof = client.read(&mut back).await? == 0;
            let half_close = format!(
                "server read EOF: {}; client read EOF: {}",
                server_saw_eof.get(),
                client_saw_eof
            );

            let refused = match rt::TcpStream::connect(closed_port()?).await {
                Ok(_) => "connected".to_string(),
                Err(error) => format!("Err({:?})", error.kind()),
            };
            Ok(Echo { round_trip, bytes_per_sec, intact, half_close, refused })
        })
    }

    /// The server's side of one connection: echo until end of stream, then close.
    async fn echo_until_eof(mut stream: rt::TcpStream, saw_eof: Rc<Cell<bool>>) {
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        let mut buf = vec![0u8; CHUNK];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => {
                    saw_eof.set(true);
                    return; // dropping `stream` closes it
                }
                Ok(read) => {
                    if stream.write_all(&buf[..read]).await.is_err() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    }
}

/// An address where, a moment ago, a listener was: now nobody listens there.
fn closed_port() -> io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    listener.local_addr()
}

/// What asyncio's twin printed, in the chapter's words (`ConnectionRefusedError` is
/// std's `ConnectionRefused`), and how many round trips and bytes it did.
pub fn from_twin(twin: &Value) -> (Echo, f64, f64) {
    let refused = text(twin, "refused").replace("ConnectionRefusedError", "ConnectionRefused");
    let echo = Echo {
        round_trip: Duration::from_secs_f64(number(twin, "round_trip_us") / 1e6),
        bytes_per_sec: number(twin, "bytes_per_sec"),
        intact: field(twin, "intact").as_bool() == Some(true),
        half_close: text(twin, "half_close"),
        refused,
    };
    (
        echo,
        number(twin, "round_trips"),
        number(twin, "bulk_bytes"),
    )
}

pub fn run(asyncio: Twin) -> Vec<Row> {
    const ROUND_TRIPS: u32 = 5_000;
    const BULK_CHUNKS: usize = 1_024; // 64 MiB
    let glassbox = glassbox_side::echo(ROUND_TRIPS, BULK_CHUNKS).expect("glassbox echo");
    let tokio = tokio_side::echo(ROUND_TRIPS, BULK_CHUNKS).expect("tokio echo");
    let twin = asyncio.observe();
    let python = twin.as_ref().map(from_twin);
    let python = python.as_ref();
    let micros = |echo: &Echo| format!("{:.1} µs", echo.round_trip.as_secs_f64() * 1e6);
    let mib_per_sec = |echo: &Echo| format!("{:.0} MiB/s", echo.bytes_per_sec / 1048576.0);
    let yes_no = |yes: bool| if yes { "yes" } else { "no" };
    vec![
        shown(
            "round trip, 64 bytes (mean of 5,000)",
            micros(&glassbox),
            micros(&tokio),
        )
        .with_asyncio(python, |(a, round_trips, _)| {
            asyncio_shown(format!("{} (mean of {round_trips})", micros(a)))
        }),
        shown(
            "echo throughput, 64 KiB chunks (64 MiB)",
            mib_per_sec(&glassbox),
            mib_per_sec(&tokio),
        )
        .with_asyncio(python, |(a, _, bytes)| {
            asyncio_shown(format!("{} ({} MiB)", mib_per_sec(a), bytes / 1048576.0))
        }),
        compare(
            "all 64 MiB came back intact",
            yes_no(glassbox.intact),
            yes_no(tokio.intact),
            "one runtime lost, repeated or reordered bytes",
        )
        .with_asyncio(python, |(a, _, _)| {
            asyncio_compare(
                yes_no(glassbox.intact),
                yes_no(a.intact),
                "bytes were lost or reordered",
            )
        }),
        compare(
            "half-close (client shuts down writing)",
            glassbox.half_close.as_str(),
            tokio.half_close.as_str(),
            "end of stream is seen differently",
        )
        .with_asyncio(python, |(a, _, _)| {
            asyncio_compare(
                glassbox.half_close.clone(),
                a.half_close.clone(),
                "EOF is seen differently",
            )
        }),
        compare(
            "connect to a port nobody listens on",
            glassbox.refused.as_str(),
            tokio.refused.as_str(),
            "the error kinds differ",
        )
        .with_asyncio(python, |(a, _, _)| {
            asyncio_compare(
                glassbox.refused.clone(),
                a.refused.clone(),
                "the error kinds differ",
            )
        }),
    ]
}
