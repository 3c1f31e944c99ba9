//! Fairness: a task that is always ready cannot starve timers, I/O or other tasks.
//!
//! Each hot loop below never awaits anything that is pending: a queue put/get pair, a
//! semaphore acquire/release, zero sleeps, reads of a socket whose data is always
//! there, pure computation with `consume_budget`. Before the cooperative budget
//! (`executor/src/coop.rs`), each ran as one endless poll and a heartbeat beside it
//! never ticked. Now the budget makes it yield every 128 completed operations, after
//! which the loop fires timers and polls the reactor.
//!
//! The checks are ordering-based: a hot loop runs until the heartbeat has ticked, and
//! a real-time cap fails the test by name if it never does. The one count ("at least
//! half its ticks") uses a heartbeat that catches up on missed deadlines, over a window
//! of the thread's CPU time, so a machine too loaded to run the test thread for a while
//! cannot lower it; only starvation can.
//!
//! The accept loop on EMFILE, under a lowered `RLIMIT_NOFILE`, runs in a child process
//! (the limit is per process): see the last test.

mod hang_guard;
mod reliability_support;

use std::cell::Cell;
use std::future::Future;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use glassbox::net::{TcpListener, TcpStream, UdpSocket};
use glassbox::{
    Queue, Runtime, Semaphore, consume_budget, sleep, sleep_until, spawn, timeout, unconstrained,
    yield_now,
};

/// Fails a test that has waited this long in real time for something that a fair loop
/// does within milliseconds (inside the 60 s of `hang_guard`, with a sharper message).
const CAP: Duration = Duration::from_secs(30);

const BEAT: Duration = Duration::from_millis(10);

/// The hot loops: each round is always ready, never pending.
#[derive(Debug, Clone, Copy)]
enum Hot {
    /// `put` then `get` on an unbounded queue.
    Queue,
    /// `acquire` and release of a one-permit semaphore.
    Semaphore,
    /// `sleep(Duration::ZERO)`.
    ZeroSleep,
    /// A datagram to itself, then its receipt: on loopback the datagram has arrived by
    /// the time `send_to` returns, so the read is always ready.
    Udp,
    /// Reads of a TCP stream whose peer has already written 16 MiB.
    TcpRead,
    /// Pure computation that spends budget with `consume_budget`.
    Computation,
}

const ALL_HOT_LOOPS: [Hot; 6] = [
    Hot::Queue,
    Hot::Semaphore,
    Hot::ZeroSleep,
    Hot::Udp,
    Hot::TcpRead,
    Hot::Computation,
];

/// Runs `hot` for as long as `keep_going` says (asked before each round). Returns the
/// rounds run.
async fn run_hot(hot: Hot, mut keep_going: impl FnMut() -> bool) -> u64 {
    let mut rounds = 0;
    let mut buf = [0u8; 64];
    let queue = Queue::new(0);
    let semaphore = Semaphore::new(1);
    let udp = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let own = udp.local_addr().unwrap();
    let tcp = match hot {
        Hot::TcpRead => Some(stream_with_data_always_there().await),
        _ => None,
    };
    while keep_going() {
        match hot {
            Hot::Queue => {
                queue.put(1).await.unwrap();
                queue.get().await.unwrap();
            }
            Hot::Semaphore => drop(semaphore.acquire().await.unwrap()),
            Hot::ZeroSleep => sleep(Duration::ZERO).await,
            Hot::Udp => {
                udp.send_to(b"ping", own).await.unwrap();
                udp.recv_from(&mut buf).await.unwrap();
            }
            Hot::TcpRead => {
                let read = tcp.as_ref().unwrap().read(&mut buf).await.unwrap();
                assert!(read > 0, "the peer wrote more than the test reads");
            }
            Hot::Computation => consume_budget().await,
        }
        rounds += 1;
    }
    rounds
}

/// A stream whose peer, a thread, writes 16 MiB at once and then waits. Returns once
/// the first 64 KiB (a thousand reads) are there, so the hot loop starts on data: a
/// peer thread the machine has not run yet would otherwise make the first reads wait,
/// and yield by themselves instead of being made to.
async fn stream_with_data_always_there() -> TcpStream {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (first_chunk_sent, first_chunk) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().unwrap();
        let chunk = vec![7u8; 1 << 16];
        for _ in 0..256 {
            if peer.write_all(&chunk).is_err() {
                return; // the test is over and closed its end
            }
            let _ = first_chunk_sent.send(());
        }
    });
    let stream = TcpStream::connect(addr).await.unwrap();
    // Blocks the loop, on purpose and only here, before the hot loop begins.
    first_chunk.recv().unwrap();
    stream
}

/// Starts a heartbeat that ticks every `BEAT` and catches up on ticks it missed (it
/// sleeps until `start + n * BEAT`, not `BEAT` after its last tick). Returns the tick
/// count.
fn heartbeat() -> Rc<Cell<u32>> {
    let ticks = Rc::new(Cell::new(0));
    spawn({
        let ticks = ticks.clone();
        async move {
            let start = glassbox::time::now();
            loop {
                sleep_until(start + BEAT * (ticks.get() + 1)).await;
                ticks.set(ticks.get() + 1);
            }
        }
    });
    ticks
}

/// Runs `hot` in one task until the heartbeat beside it has ticked `ticks` times.
fn run_until_heartbeats(rt: &mut Runtime, ticks: u32, hot: Hot) {
    rt.block_on(async move {
        let beats = heartbeat();
        let started = Instant::now();
        spawn(run_hot(hot, move || {
            assert!(
                started.elapsed() < CAP,
                "{hot:?}: the heartbeat ticked {} times in {CAP:?} beside it",
                beats.get()
            );
            beats.get() < ticks
        }))
        .await
        .unwrap()
    });
}

fn runtime(budget: Option<u32>) -> Runtime {
    Runtime::builder()
        .coop_budget(budget)
        .stall_threshold(None)
        .build()
        .unwrap()
}

#[test]
fn a_heartbeat_ticks_beside_every_hot_loop() {
    let _hang = hang_guard::start();
    for hot in ALL_HOT_LOOPS {
        let mut rt = runtime(Some(128));
        run_until_heartbeats(&mut rt, 5, hot);
        if matches!(hot, Hot::ZeroSleep) {
            continue; // A zero sleep yields by itself, as asyncio's sleep(0) does.
        }
        // The socket loops are always ready only as far as the kernel keeps up: on a
        // loaded machine a loopback datagram's delivery can be deferred to ksoftirqd,
        // and the loop's read then waits, yielding by itself. Such a run proves nothing
        // about the budget, so it runs again; a loop never once made to yield fails.
        let started = Instant::now();
        while rt.metrics().forced_yields == 0 && started.elapsed() < CAP {
            run_until_heartbeats(&mut rt, 5, hot);
        }
        assert!(
            rt.metrics().forced_yields > 0,
            "{hot:?}: never made to yield"
        );
    }
}

/// Runs `hot` beside the heartbeat until this thread has spent `window` of CPU time;
/// returns the heartbeat's ticks. CPU time, not real time: had the window been real
/// time, a machine that left the thread off its CPU for most of it would end the
/// window before the heartbeat could catch up on its missed ticks (seen at a load
/// average of 10 on 2 cores). Off the CPU, the window waits too.
fn ticks_beside(rt: &mut Runtime, window: Duration, hot: Hot) -> u32 {
    rt.block_on(async move {
        let beats = heartbeat();
        let started = thread_cpu_time();
        spawn(run_hot(hot, move || thread_cpu_time() - started < window))
            .await
            .unwrap();
        beats.get()
    })
}

/// CPU time used by this thread so far (from the scheduler's own accounting).
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    let nanos: u64 = stat.split_whitespace().next().unwrap().parse().unwrap();
    Duration::from_nanos(nanos)
}

#[test]
fn a_heartbeat_keeps_at_least_half_its_ticks_beside_each_hot_loop() {
    let _hang = hang_guard::start();
    const WINDOW: Duration = Duration::from_millis(200);
    let expected = (WINDOW.as_millis() / BEAT.as_millis()) as u32;
    for hot in ALL_HOT_LOOPS {
        let ticks = ticks_beside(&mut runtime(Some(128)), WINDOW, hot);
        assert!(
            ticks >= expected / 2,
            "{hot:?}: {ticks} of {expected} heartbeats in {WINDOW:?} of CPU time"
        );
    }
}

// The trade-off, documented: with the budget off, an always-ready loop keeps the
// thread, and nothing else runs until it stops.
#[test]
fn with_the_budget_off_the_heartbeat_starves() {
    let _hang = hang_guard::start();
    for hot in [Hot::Queue, Hot::Udp, Hot::Computation] {
        let mut rt = runtime(None);
        let ticks = ticks_beside(&mut rt, Duration::from_millis(50), hot);
        assert_eq!(
            ticks, 0,
            "a tick got in: nothing yielded, so nothing should"
        );
        assert_eq!(rt.metrics().forced_yields, 0);
    }
}

#[test]
fn unconstrained_lifts_the_budget() {
    let _hang = hang_guard::start();
    let mut rt = runtime(Some(128));
    let queue = Queue::new(0);
    rt.block_on(unconstrained(async move {
        for n in 0..10_000 {
            queue.put(n).await.unwrap();
            assert_eq!(queue.get().await.unwrap(), n);
        }
    }));
    assert_eq!(rt.metrics().forced_yields, 0);
    // The same loop constrained yields about once per 128 completions.
    let queue = Queue::new(0);
    rt.block_on(async move {
        for n in 0..10_000 {
            queue.put(n).await.unwrap();
            assert_eq!(queue.get().await.unwrap(), n);
        }
    });
    let yields = rt.metrics().forced_yields;
    assert!(
        (20_000 / 129..=20_000 / 127 + 1).contains(&yields),
        "{yields} forced yields for 20,000 completions"
    );
}

#[test]
fn a_timeout_around_an_always_ready_loop_still_elapses() {
    let _hang = hang_guard::start();
    let mut rt = runtime(Some(128));
    rt.block_on(async {
        let queue = Queue::new(0);
        let started = Instant::now();
        let always_ready = async {
            loop {
                queue.put(1).await.unwrap();
                queue.get().await.unwrap();
                assert!(started.elapsed() < CAP, "the timeout never elapsed");
            }
        };
        let outcome: Result<(), _> = timeout(Duration::from_millis(20), always_ready).await;
        assert!(outcome.is_err(), "the deadline passed");
    });
}

#[test]
fn a_forced_yield_loses_nothing() {
    let _hang = hang_guard::start();
    // A budget of 1: every second completion is cut off. Every item still comes out
    // once, in order.
    let mut rt = runtime(Some(1));
    let queue = Queue::new(4);
    let got = rt.block_on(async move {
        let producer = spawn({
            let queue = queue.clone();
            async move {
                for n in 0..1_000 {
                    queue.put(n).await.unwrap();
                }
            }
        });
        let mut got = Vec::new();
        for _ in 0..1_000 {
            got.push(queue.get().await.unwrap());
        }
        producer.await.unwrap();
        got
    });
    assert_eq!(got, (0..1_000).collect::<Vec<_>>());
    assert!(rt.metrics().forced_yields > 0);
}

/// Polls `inner`; on its second poll only, spends a unit of budget first, as a task
/// doing other work in the same poll would.
struct SpendOnSecondPoll<F> {
    inner: Pin<Box<F>>,
    polls: u32,
}

impl<F: Future> Future for SpendOnSecondPoll<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls += 1;
        if self.polls == 2 {
            // Whatever it returns, the budget is spent now.
            let _ = glassbox::coop::poll_budgeted(cx, |_| Poll::Ready(()));
        }
        self.inner.as_mut().poll(cx)
    }
}

#[test]
fn a_putter_holding_a_reserved_slot_puts_even_with_its_budget_spent() {
    let _hang = hang_guard::start();
    // Budget 1: a putter whose task spent it on something else before polling the put
    // again would be cut off, and the putter reserved after it would put first.
    let mut rt = runtime(Some(1));
    let order = rt.block_on(async {
        let queue = Queue::new(2);
        queue.put_nowait("old 1").unwrap();
        queue.put_nowait("old 2").unwrap();
        let first = spawn(SpendOnSecondPoll {
            inner: Box::pin({
                let queue = queue.clone();
                async move { queue.put("first reserved").await.unwrap() }
            }),
            polls: 0,
        });
        let second = spawn({
            let queue = queue.clone();
            async move { queue.put("second reserved").await.unwrap() }
        });
        yield_now().await; // both wait in line, first ahead
        queue.get_nowait().unwrap(); // reserves a slot for `first`...
        queue.get_nowait().unwrap(); // ...and one for `second`
        first.await.unwrap();
        second.await.unwrap();
        vec![queue.get_nowait().unwrap(), queue.get_nowait().unwrap()]
    });
    assert_eq!(order, ["first reserved", "second reserved"]);
}

// `unconstrained` lifts the budget for its own future only: the rest of the same poll
// spends from the budget as it was.
#[test]
fn the_budget_comes_back_after_an_unconstrained_future() {
    let _hang = hang_guard::start();
    let mut rt = runtime(Some(2));
    rt.block_on(async {
        unconstrained(async {
            for _ in 0..10 {
                consume_budget().await; // never cut off in here
            }
        })
        .await;
        consume_budget().await;
        assert!(glassbox::coop::has_budget_remaining(), "1 of 2 left");
        consume_budget().await;
        assert!(
            !glassbox::coop::has_budget_remaining(),
            "the budget was not put back: the rest of the poll ran unconstrained"
        );
    });
}

// The budget belongs to a poll: once `block_on` returns, code on this thread (a future
// polled by hand, say) is never cut off, however much the last poll spent.
#[test]
fn outside_a_poll_there_is_no_budget() {
    let _hang = hang_guard::start();
    let mut rt = runtime(Some(4));
    assert!(glassbox::coop::has_budget_remaining());
    rt.block_on(async {
        for _ in 0..3 {
            consume_budget().await; // 3 of 4 spent: the poll ends with 1 left
        }
        assert!(glassbox::coop::has_budget_remaining());
        consume_budget().await; // the last unit: the next leaf would be cut off
        assert!(!glassbox::coop::has_budget_remaining());
    });
    assert!(
        glassbox::coop::has_budget_remaining(),
        "a spent budget outlived its poll"
    );
}

#[test]
#[should_panic(expected = "coop_budget must be at least 1")]
fn a_zero_budget_is_refused_naming_the_mistake() {
    let _hang = hang_guard::start();
    let _ = Runtime::builder().coop_budget(Some(0));
}

// === the accept loop on EMFILE, in a child process ===

/// How many more file descriptors the child may open once its limit is lowered.
const SPARE_FDS: u64 = 6;
/// Connections the parent opens at once: more than the child can accept.
const CLIENTS: usize = 20;

/// Child side of `an_accept_loop_on_emfile_keeps_serving_and_accepts_again_once_fds_are_free`:
/// an echo server whose accept loop has *no* back-off, under a tiny fd limit. Only the
/// budget can keep its EMFILE spin from starving the connections it already has.
#[test]
#[ignore = "run by its parent test in a child process: it lowers the fd limit"]
fn child_echo_server_under_a_low_fd_limit() {
    let _hang = hang_guard::start();
    let mut rt = runtime(Some(128));
    rt.block_on(async {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        reliability_support::lower_fd_limit_to_spare(SPARE_FDS);
        let beats = heartbeat();
        let (served, errors) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0u64)));
        spawn({
            let (served, errors) = (served.clone(), errors.clone());
            async move {
                loop {
                    match listener.accept().await {
                        Ok((stream, _)) => {
                            let served = served.clone();
                            spawn(async move {
                                let mut buf = [0; 64];
                                while let Ok(read @ 1..) = stream.read(&mut buf).await {
                                    if stream.write_all(&buf[..read]).await.is_err() {
                                        break;
                                    }
                                }
                                served.set(served.get() + 1);
                            });
                        }
                        // The naive loop: note it and go straight round.
                        Err(_) => errors.set(errors.get() + 1),
                    }
                }
            }
        });
        let started = Instant::now();
        while served.get() < CLIENTS {
            sleep(Duration::from_millis(5)).await;
            assert!(
                started.elapsed() < CAP,
                "served {} of {CLIENTS}",
                served.get()
            );
        }
        println!("STATS errors={} heartbeats={}", errors.get(), beats.get());
    });
}

/// Kills the child if the parent's checks fail, so no server is left running.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends one message on `client` and checks it comes back.
fn echoes(client: &mut std::net::TcpStream, message: &[u8]) -> bool {
    let mut back = vec![0; message.len()];
    client.write_all(message).is_ok() && client.read_exact(&mut back).is_ok() && back == message
}

#[test]
#[cfg(target_os = "linux")]
fn an_accept_loop_on_emfile_keeps_serving_and_accepts_again_once_fds_are_free() {
    let _hang = hang_guard::start();
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_echo_server_under_a_low_fd_limit",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap()).lines();
    let port: u16 = lines
        .by_ref()
        // (`--nocapture` prints the harness's "test ... " on the same line first.)
        .find_map(|line| line.ok()?.split_once("PORT ")?.1.trim().parse().ok())
        .expect("the child's port");

    // More clients than the child has fds: the handshakes complete in the kernel's
    // backlog, and the child's accept starts failing with EMFILE.
    let mut clients: Vec<std::net::TcpStream> = (0..CLIENTS)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    for client in &clients {
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
    }
    // The first client is served while the accept loop is out of fds: the connections
    // the child already has are not starved.
    assert!(echoes(&mut clients[0], b"first, during EMFILE"));
    assert!(echoes(&mut clients[0], b"and again"));
    // Closing clients one at a time gives the child its fds back: every client waiting
    // in the backlog is accepted and served in turn.
    for (n, mut client) in clients.into_iter().enumerate() {
        assert!(echoes(&mut client, b"served"), "client {n} was not served");
    }

    let stats = lines
        .by_ref()
        .find_map(|line| Some(line.ok()?.split_once("STATS ")?.1.to_owned()))
        .expect("the child's stats");
    let errors: u64 = stats
        .split_once("errors=")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .unwrap();
    assert!(errors > 0, "the child never ran out of fds: {stats}");
    let status = child.0.wait().unwrap();
    assert!(status.success(), "the child failed: {status}");
}
