//! A tiny program to watch the loop work, one trace line per event.
//!
//! ```text
//! GLASSBOX_TRACE=1 cargo run --release --example trace
//! ```
//!
//! Three tasks: one sleeps 10 ms, one accepts a TCP connection and echoes a line,
//! one offloads a blocking job to the pool. The `block_on` future plays the client.
//! docs/WALKTHROUGH.md follows this trace line by line, naming the function behind
//! each step.

use std::net::SocketAddr;
use std::time::Duration;

use glassbox::net::{TcpListener, TcpStream};
use glassbox::{Runtime, sleep, spawn, spawn_blocking};

fn main() -> std::io::Result<()> {
    if std::env::var_os("GLASSBOX_TRACE").is_none() {
        eprintln!("(tip: run with GLASSBOX_TRACE=1 to see the trace)");
    }
    let mut rt = Runtime::new()?;
    rt.block_on(async {
        // Task 1: a timer. Watch it go into the wheel, and come out 10 ms later.
        let sleeper = spawn(async {
            sleep(Duration::from_millis(10)).await;
            "slept 10 ms"
        });

        // Task 2: a socket. Watch accept park on the listener, and readiness wake it.
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let addr = listener.local_addr()?;
        let echo = spawn(async move {
            let (stream, _) = listener.accept().await?;
            let mut line = [0u8; 6];
            stream.read_exact(&mut line).await?;
            stream.write_all(&line).await?;
            Ok::<_, std::io::Error>("echoed one line")
        });

        // Task 3: a blocking job. Watch it leave the loop and come back as a remote wake.
        let offload = spawn(async {
            let sum = spawn_blocking(|| (1..=1_000u64).sum::<u64>()).await;
            format!("blocking job summed to {}", sum.expect("job ran"))
        });

        // The block_on future is the client. It yields first, so the three tasks get
        // their first poll (and park) before it connects.
        glassbox::yield_now().await;
        let client = TcpStream::connect(addr).await?;
        client.write_all(b"hello\n").await?;
        let mut reply = [0u8; 6];
        client.read_exact(&mut reply).await?;

        println!("client got back {:?}", String::from_utf8_lossy(&reply));
        println!("{}", sleeper.await.expect("sleeper finished"));
        println!("{}", echo.await.expect("echo finished")?);
        println!("{}", offload.await.expect("offload finished"));
        Ok(())
    })
}
