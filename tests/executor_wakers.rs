//! Wakers keep the std contract: any thread, any time, even after the runtime is gone.

mod hang_guard;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use glassbox::{Runtime, spawn};

/// Completes once `count` reaches `target`; parks its waker where threads find it.
struct CountReaches {
    count: Arc<AtomicUsize>,
    target: usize,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl Future for CountReaches {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Publish the waker before checking, so an increment that lands after the
        // check always finds a waker to wake.
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        if self.count.load(Ordering::SeqCst) >= self.target {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn eight_threads_times_ten_thousand_remote_wakes_lose_no_wake_and_never_hang() {
    let _hang = hang_guard::start();
    const THREADS: usize = 8;
    const WAKES: usize = 10_000;
    let count = Arc::new(AtomicUsize::new(0));
    let waker = Arc::new(Mutex::new(None::<Waker>));
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let task = spawn(CountReaches {
            count: count.clone(),
            target: THREADS * WAKES,
            waker: waker.clone(),
        });
        glassbox::yield_now().await; // the task parks and publishes its waker
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (count, waker) = (count.clone(), waker.clone());
                thread::spawn(move || {
                    for _ in 0..WAKES {
                        count.fetch_add(1, Ordering::SeqCst);
                        let current = waker.lock().unwrap().clone();
                        if let Some(waker) = current {
                            waker.wake();
                        }
                    }
                })
            })
            .collect();
        task.await.unwrap();
        for thread in threads {
            thread.join().unwrap();
        }
    });
    assert_eq!(count.load(Ordering::SeqCst), THREADS * WAKES);
    assert!(rt.metrics().remote_wakes >= 1);
}

#[test]
fn a_waker_cloned_to_another_thread_wakes_and_drops_there() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::new().unwrap();
    let woken = rt.block_on(async {
        let count = Arc::new(AtomicUsize::new(0));
        let slot = Arc::new(Mutex::new(None::<Waker>));
        let task = spawn(CountReaches {
            count: count.clone(),
            target: 1,
            waker: slot.clone(),
        });
        glassbox::yield_now().await;
        let waker = slot.lock().unwrap().clone().unwrap();
        thread::spawn(move || {
            let extra = waker.clone();
            count.fetch_add(1, Ordering::SeqCst);
            waker.wake();
            drop(extra);
        })
        .join()
        .unwrap();
        task.await.is_ok()
    });
    assert!(woken);
}

#[test]
fn waking_after_the_runtime_is_dropped_is_a_harmless_no_op() {
    let _hang = hang_guard::start();
    let slot = Arc::new(Mutex::new(None::<Waker>));
    let mut rt = Runtime::new().unwrap();
    rt.block_on(async {
        let task = spawn(CountReaches {
            count: Arc::default(),
            target: 1,
            waker: slot.clone(),
        });
        glassbox::yield_now().await;
        drop(task); // detached, parked forever
    });
    drop(rt);
    let waker = slot.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    thread::spawn(move || waker.wake()).join().unwrap();
}

/// Child side of `the_trace_names_the_path_each_wake_took`: one local and one remote
/// wake, and one woken by an I/O event, traced to stderr.
#[test]
#[ignore = "run by its parent test in a child process, whose stderr it reads"]
fn child_traces_a_local_and_a_remote_wake() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::builder()
        .trace(true)
        .stall_threshold(None)
        .build()
        .unwrap();
    rt.block_on(async {
        // Local: the task wakes itself on the loop's thread.
        spawn(glassbox::yield_now()).await.unwrap();
        // Remote: another thread wakes the parked task.
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let parked = spawn({
            let slot = slot.clone();
            let mut parked_once = false;
            std::future::poll_fn(move |cx| {
                if parked_once {
                    return Poll::Ready(());
                }
                parked_once = true;
                *slot.lock().unwrap() = Some(cx.waker().clone());
                // Pending: the thread below wakes us.
                Poll::Pending
            })
        });
        glassbox::yield_now().await;
        let waker = slot.lock().unwrap().take().expect("the task parked");
        thread::spawn(move || waker.wake()).join().unwrap();
        parked.await.unwrap();
        // I/O: a recv parks, a datagram arrives, and its event wakes the task.
        let socket = glassbox::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = socket.local_addr().unwrap();
        let receiver = spawn(async move {
            let mut buf = [0; 8];
            socket.recv_from(&mut buf).await.unwrap().0
        });
        glassbox::yield_now().await;
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"ping", addr).unwrap();
        assert_eq!(receiver.await.unwrap(), 4);
        // Two timers alive at once: the trace tells their wheel keys apart.
        let first = spawn(glassbox::time::Timer::after(
            std::time::Duration::from_millis(2),
        ));
        let second = spawn(glassbox::time::Timer::after(
            std::time::Duration::from_millis(4),
        ));
        first.await.unwrap();
        second.await.unwrap();
        // A pattern's wait: the consumer parks in Queue::get, the put lets it out.
        let queue = glassbox::Queue::new(1);
        let consumer = spawn({
            let queue = queue.clone();
            async move { queue.get().await.unwrap() }
        });
        glassbox::yield_now().await;
        spawn(async move { queue.put(7).await.unwrap() })
            .await
            .unwrap();
        assert_eq!(consumer.await.unwrap(), 7);
    });
}

#[test]
fn the_trace_names_the_path_and_the_cause_of_each_wake() {
    let _hang = hang_guard::start();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_traces_a_local_and_a_remote_wake",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_remove("GLASSBOX_TRACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the child failed:\n{stderr}");
    // Each wake names its path and what woke it (observe/woken_by.rs).
    for path in [
        "(remote, by another thread)",
        "(local, by the timer due ",
        "(local, by I/O on token ",
    ] {
        assert!(
            stderr
                .lines()
                .any(|line| line.contains("wake   task=") && line.contains(path)),
            "no task wake traced as {path}:\n{stderr}"
        );
    }
    // A wake out of a told wait names that wait, with the consumer's call site.
    let queue_wake = stderr
        .lines()
        .find(|line| line.contains("it waited in Queue::get"));
    assert!(
        queue_wake.is_some_and(|line| {
            line.contains("wake   task=")
                && line.contains(", by task ")
                && line.contains(&format!("Queue::get at {}:", file!()))
        }),
        "no wake traced out of the Queue::get:\n{stderr}"
    );
    // A wake that ends no told wait names none (the timers' and the I/O event's).
    assert!(
        stderr
            .lines()
            .filter(|line| line.contains("by the timer due ") || line.contains("by I/O on"))
            .all(|line| !line.contains("it waited in")),
        "{stderr}"
    );
    // A finished task wakes whoever awaits its JoinHandle: here, block_on.
    assert!(
        stderr
            .lines()
            .any(|line| line.contains("wake   block_on (local, by task ")),
        "no wake traced as a task's:\n{stderr}"
    );
    // Turns are marked, and each poll says when it began.
    assert!(stderr.contains("── turn 1 · "), "no turn marker:\n{stderr}");
    assert!(
        stderr
            .lines()
            .filter(|line| line.contains("poll   "))
            .all(|line| line.contains(", began at ")),
        "a poll line without its start:\n{stderr}"
    );
    let io_event = |line: &&str| line.contains("io     token=") && line.contains("readable=true");
    assert!(
        stderr.lines().any(|line| io_event(&line)),
        "no I/O event traced:\n{stderr}"
    );
    // The recv parked waiting to read, and the trace says which way it waits.
    assert!(
        stderr
            .lines()
            .any(|line| line.contains("io     wait   token=") && line.ends_with(" Read")),
        "no parked read traced:\n{stderr}"
    );
    for key in ["TimerKey(0)", "TimerKey(1)"] {
        assert!(
            stderr.contains(&format!("timer  insert {key} ")),
            "no timer traced as {key}:\n{stderr}"
        );
    }
    // An event for a live socket is dispatched, not dropped as stale.
    assert!(
        !stderr.contains("stale"),
        "a live token traced as stale:\n{stderr}"
    );
}

#[test]
fn a_thread_and_a_task_taking_turns_by_wake_never_lose_one() {
    // Each round needs the one wake in flight to arrive: a thread waits for the task's
    // turn, then wakes it from outside the loop, so sends land at every point of the
    // loop's phase 4 (before its flag is lowered, between lowering and draining, after
    // the drain). A wake skipped and not taken up by a later turn hangs this test.
    let _hang = hang_guard::start();
    const ROUNDS: usize = 20_000;
    let turn = Arc::new(AtomicUsize::new(0));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let mut rt = Runtime::new().unwrap();
    let polls = rt.block_on({
        let (turn, slot) = (turn.clone(), slot.clone());
        async move {
            let waker_thread = thread::spawn({
                let (turn, slot) = (turn.clone(), slot.clone());
                move || {
                    for round in 0..ROUNDS {
                        // The task's turn is odd: wait until it has parked for this round.
                        while turn.load(Ordering::SeqCst) != 2 * round + 1 {
                            std::hint::spin_loop();
                        }
                        turn.store(2 * round + 2, Ordering::SeqCst);
                        slot.lock().unwrap().take().expect("the task parked").wake();
                    }
                }
            });
            let mut polls = 0;
            std::future::poll_fn(|cx| {
                polls += 1;
                let now = turn.load(Ordering::SeqCst);
                if now == 2 * ROUNDS {
                    return Poll::Ready(());
                }
                if now % 2 == 0 {
                    // Our turn: park the waker, then hand the turn over.
                    *slot.lock().unwrap() = Some(cx.waker().clone());
                    turn.store(now + 1, Ordering::SeqCst);
                }
                // Pending: the thread wakes us when the turn comes back.
                Poll::Pending
            })
            .await;
            waker_thread.join().unwrap();
            polls
        }
    });
    // A turn per round, plus the last poll: no wake was lost, none polled us twice.
    assert_eq!(polls, ROUNDS + 1);
}
