//! Cancellation everywhere: every future of the public API, dropped at every point of
//! a scripted scenario, loses nothing.
//!
//! Each test hands a scenario to `cancel_at_every_poll` (in `reliability_support`),
//! which runs it again and again on a fresh paused runtime: with the future under
//! test never polled, then dropped after 1, 2, … polls — right after a `Pending`
//! (`AfterPoll`), or when woken instead of being polled again (`OnWake`, the moment
//! something was handed to it) — until it completes uncut. After every cut the
//! scenario lets its script play out and checks its invariants: no lost queue item,
//! no leaked permit, no stuck waiter (the one queued behind gets served), no lost
//! wake (every scripted task finishes; a lost wake trips the hang guard). The harness
//! then checks the runtime holds no task and no timer.
//!
//! `read_exact` and `write_all` are documented as not cancel-safe (as in tokio); their
//! invariant is the weaker one they promise: what a dropped call moved is exactly a
//! prefix, and the stream goes on from there.
//!
//! Ends with a property test: random cuts and timeouts around a queue and a semaphore
//! shared by several tasks.

mod hang_guard;

mod reliability_support;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::Shutdown;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use glassbox::net::{TcpListener, TcpStream, UdpSocket};
use glassbox::time;
use glassbox::{
    Backoff, JoinHandle, Queue, Semaphore, join_all, retry, sleep, spawn, spawn_blocking, timeout,
    yield_now,
};
use reliability_support::{
    Cut, DropCount, assert_join_counted_exactly, cancel_at_every_poll, connected_pair, localhost,
    ms, read_to_end, run_until_cut,
};

/// Runs `step` after `millis` of virtual time, in a task of its own.
fn at<F: Future + 'static>(millis: u64, step: impl FnOnce() -> F + 'static) -> JoinHandle<F::Output>
where
    F::Output: 'static,
{
    spawn(async move {
        sleep(ms(millis)).await;
        step().await
    })
}

// === time ===

#[test]
fn a_sleep_dropped_at_any_point_leaves_no_timer_and_steals_no_wake() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("sleep", |cut| async move {
        let start = time::now();
        // Same deadline, so the same tick fires both.
        let witness = spawn(sleep(ms(10)));
        let out = run_until_cut(sleep(ms(10)), cut).await;
        if out.is_some() {
            assert!(time::now() - start >= ms(10), "woke early");
        }
        witness.await.unwrap();
        out.is_some()
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn time_advance_dropped_at_any_point_has_moved_the_clock_once_or_not_at_all() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("time::advance", |cut| async move {
        let start = time::now();
        let nap = sleep(Duration::from_secs(5)); // due at start + 5 s
        let witness = spawn(async move {
            nap.await;
            time::now()
        });
        let out = run_until_cut(time::advance(Duration::from_secs(5)), cut).await;
        let moved = time::now() - start;
        // `advance` moves the clock in its first poll, before it yields.
        let polled = cut != Cut::AfterPoll(0);
        assert_eq!(
            moved,
            if polled {
                Duration::from_secs(5)
            } else {
                Duration::ZERO
            }
        );
        let fired_at = witness.await.unwrap();
        assert_eq!(
            fired_at - start,
            Duration::from_secs(5),
            "the witness fired on time"
        );
        out.is_some()
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn yield_now_dropped_at_any_point_leaves_its_task_runnable() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("yield_now", |cut| async move {
        let witness = spawn(async {});
        let out = run_until_cut(yield_now(), cut).await;
        // A self-wake left behind by a dropped yield is harmless: this task goes on.
        sleep(ms(1)).await;
        witness.await.unwrap();
        out.is_some()
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn timeout_around_an_acquire_dropped_at_any_point_leaks_no_permit() {
    let _hang = hang_guard::start();
    // The permit arrives before the deadline (the inner future wins), or after it.
    for permit_at in [10, 30] {
        let tried = cancel_at_every_poll("timeout(acquire)", |cut| async move {
            let sem = Rc::new(Semaphore::new(0));
            at(permit_at, {
                let sem = sem.clone();
                || async move { sem.add_permits(1) }
            });
            // Lines up behind the future under test, and must be served in the end.
            let witness = at(1, {
                let sem = sem.clone();
                || async move { drop(sem.acquire().await.unwrap()) }
            });
            let out = run_until_cut(timeout(ms(20), sem.acquire()), cut).await;
            let completed = out.is_some();
            if let Some(Ok(permit)) = out {
                assert_eq!(permit_at, 10, "the inner future won only if it could");
                drop(permit.unwrap());
            }
            witness.await.unwrap();
            assert_eq!(sem.available_permits(), 1, "the one permit came back");
            completed
        });
        eprintln!("cuts tried: {tried}");
        assert!(tried >= 4, "{tried}");
    }
}

#[test]
fn timeout_around_a_get_dropped_at_any_point_loses_no_item() {
    let _hang = hang_guard::start();
    for item_at in [10, 30] {
        let tried = cancel_at_every_poll("timeout(get)", |cut| async move {
            let queue = Queue::new(0);
            at(item_at, {
                let queue = queue.clone();
                || async move { queue.put_nowait(7).unwrap() }
            });
            let out = run_until_cut(timeout(ms(20), queue.get()), cut).await;
            let completed = out.is_some();
            let mut got = Vec::new();
            if let Some(Ok(item)) = out {
                got.push(item.unwrap());
            }
            sleep(ms(100)).await;
            while let Ok(item) = queue.get_nowait() {
                got.push(item);
            }
            assert_eq!(got, [7], "the item was got exactly once or left queued");
            completed
        });
        eprintln!("cuts tried: {tried}");
        assert!(tried >= 4, "{tried}");
    }
}

#[test]
fn retry_dropped_at_any_point_makes_no_attempt_after_the_drop() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("retry", |cut| async move {
        let calls = Rc::new(Cell::new(0));
        let operation = {
            let calls = calls.clone();
            move || {
                let calls = calls.clone();
                async move {
                    calls.set(calls.get() + 1);
                    if calls.get() < 3 {
                        Err("flaky")
                    } else {
                        Ok("data")
                    }
                }
            }
        };
        let policy = Backoff::new(ms(10)).max_attempts(5);
        let out = run_until_cut(retry(policy, operation), cut).await;
        let calls_at_drop = calls.get();
        sleep(Duration::from_secs(10)).await;
        assert_eq!(calls.get(), calls_at_drop, "an attempt ran after the drop");
        if let Some(result) = out {
            assert_eq!(result, Ok("data"));
            assert_eq!(calls.get(), 3);
        }
        calls_at_drop == 3
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 6, "{tried}");
}

// === Semaphore ===

#[test]
fn acquire_dropped_at_any_point_leaks_no_permit_and_strands_no_waiter() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("Semaphore::acquire", |cut| async move {
        let sem = Rc::new(Semaphore::new(1));
        let holder = spawn({
            let sem = sem.clone();
            async move {
                let permit = sem.acquire().await.unwrap();
                sleep(ms(10)).await;
                drop(permit);
            }
        });
        yield_now().await; // the holder takes the permit first
        let witness = at(1, {
            let sem = sem.clone();
            || async move { drop(sem.acquire().await.unwrap()) }
        });
        let out = run_until_cut(sem.acquire(), cut).await;
        let completed = out.is_some();
        drop(out);
        holder.await.unwrap();
        witness.await.unwrap();
        assert_eq!(sem.available_permits(), 1, "the permit came back");
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn acquire_many_dropped_while_partly_served_gives_back_what_it_was_assigned() {
    let _hang = hang_guard::start();
    // The request for 3 fills up from three sources at 5, 10 and 15 ms; one for 2
    // waits behind it from 2 ms. Partial assignments do not wake the request, so
    // besides the cuts at its polls it is also cut by a timeout at 7 ms (1 of 3
    // assigned) and 12 ms (2 of 3). In the end all 3 permits are free again.
    for give_up_at in [None, Some(7), Some(12)] {
        let tried = cancel_at_every_poll("Semaphore::acquire_many", |cut| async move {
            let sem = Rc::new(Semaphore::new(1));
            let holder = spawn({
                let sem = sem.clone();
                async move {
                    let permit = sem.acquire().await.unwrap();
                    sleep(ms(10)).await;
                    drop(permit);
                }
            });
            yield_now().await;
            for add_at in [5, 15] {
                at(add_at, {
                    let sem = sem.clone();
                    || async move { sem.add_permits(1) }
                });
            }
            let witness = at(2, {
                let sem = sem.clone();
                || async move { sem.acquire_many(2).await.unwrap().num_permits() }
            });
            let request = async {
                match give_up_at {
                    Some(limit) => timeout(ms(limit), sem.acquire_many(3)).await.ok(),
                    None => Some(sem.acquire_many(3).await),
                }
            };
            let out = run_until_cut(request, cut).await;
            let completed = out.is_some();
            if let Some(Some(permit)) = out {
                assert_eq!(give_up_at, None, "only an uncut request completes");
                assert_eq!(permit.unwrap().num_permits(), 3);
            }
            holder.await.unwrap();
            assert_eq!(witness.await.unwrap(), 2, "the waiter behind was served");
            sleep(ms(100)).await;
            assert_eq!(sem.available_permits(), 3, "every permit came back");
            completed
        });
        eprintln!("cuts tried: {tried}");
        assert!(tried >= 4, "{tried}");
    }
}

// === Queue ===

#[test]
fn get_dropped_at_any_point_loses_no_item() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("Queue::get", |cut| async move {
        let queue = Queue::new(1);
        for (item_at, item) in [(10, 1), (20, 2)] {
            at(item_at, {
                let queue = queue.clone();
                move || async move { queue.put(item).await.unwrap() }
            });
        }
        let witness = at(5, {
            let queue = queue.clone();
            || async move { queue.get().await.unwrap() }
        });
        let out = run_until_cut(queue.get(), cut).await;
        let completed = out.is_some();
        let mut got: Vec<i32> = out.into_iter().map(Result::unwrap).collect();
        got.push(witness.await.unwrap());
        sleep(ms(100)).await;
        while let Ok(item) = queue.get_nowait() {
            got.push(item);
            yield_now().await; // an admitted putter finishes
        }
        got.sort();
        assert_eq!(got, [1, 2], "every item got exactly once, or still queued");
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn put_dropped_at_any_point_takes_no_slot_and_duplicates_nothing() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("Queue::put", |cut| async move {
        let queue = Queue::new(1);
        queue.put_nowait(0).unwrap(); // full
        let got = Rc::new(RefCell::new(Vec::new()));
        for get_at in [10, 20] {
            at(get_at, {
                let (queue, got) = (queue.clone(), got.clone());
                move || async move {
                    let item = queue.get().await.unwrap();
                    got.borrow_mut().push(item);
                }
            });
        }
        let witness = at(5, {
            let queue = queue.clone();
            || async move { queue.put(2).await.unwrap() }
        });
        let out = run_until_cut(queue.put(1), cut).await;
        let completed = out.is_some();
        if let Some(result) = out {
            result.unwrap();
        }
        witness.await.unwrap();
        sleep(ms(100)).await;
        assert!(queue.qsize() <= 1, "qsize {} over maxsize", queue.qsize());
        let mut got = got.borrow().clone();
        while let Ok(item) = queue.get_nowait() {
            got.push(item);
        }
        assert_eq!(got[0], 0, "first in, first out");
        // 1 is there exactly when the put got its slot (possibly just before the cut).
        let mut sorted = got.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), got.len(), "an item twice: {got:?}");
        assert!(got.contains(&2), "the putter behind was served: {got:?}");
        if completed {
            assert!(got.contains(&1), "{got:?}");
        }
        // Every item that entered is accounted for by `join`: none was counted by a
        // put that was dropped without entering.
        assert_join_counted_exactly(&queue, got.len()).await;
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn join_dropped_at_any_point_leaves_no_joiner_behind() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("Queue::join", |cut| async move {
        let queue = Queue::new(0);
        queue.put_nowait("job").unwrap();
        at(10, {
            let queue = queue.clone();
            || async move {
                queue.get().await.unwrap();
                queue.task_done().unwrap();
            }
        });
        let witness = at(5, {
            let queue = queue.clone();
            || async move { queue.join().await }
        });
        let out = run_until_cut(queue.join(), cut).await;
        witness.await.unwrap();
        // The queue still works: a second round of work is joined as well.
        queue.put_nowait("again").unwrap();
        queue.get_nowait().unwrap();
        queue.task_done().unwrap();
        queue.join().await;
        out.is_some()
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

// === tasks and blocking jobs ===

#[test]
fn a_join_handle_dropped_at_any_point_detaches_and_the_output_is_dropped_once() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("JoinHandle", |cut| async move {
        let drops = DropCount::default();
        let task = spawn({
            let drops = drops.clone();
            async move {
                sleep(ms(10)).await;
                drops.track()
            }
        });
        let out = run_until_cut(task, cut).await;
        let completed = out.is_some();
        drop(out);
        sleep(ms(100)).await;
        assert_eq!(drops.get(), 1, "the output was dropped exactly once");
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn join_all_dropped_at_any_point_detaches_every_task() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("join_all", |cut| async move {
        let drops = DropCount::default();
        let handles: Vec<_> = [10, 30, 20]
            .into_iter()
            .map(|delay| {
                let drops = drops.clone();
                spawn(async move {
                    sleep(ms(delay)).await;
                    drops.track()
                })
            })
            .collect();
        let out = run_until_cut(join_all(handles), cut).await;
        let completed = out.is_some();
        drop(out);
        sleep(ms(100)).await;
        assert_eq!(drops.get(), 3, "every output dropped exactly once");
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn a_spawn_blocking_handle_dropped_at_any_point_detaches_its_job() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("spawn_blocking", |cut| async move {
        let (ran, drops) = (Arc::new(AtomicUsize::new(0)), DropCount::default());
        let job = {
            let (ran, drops) = (ran.clone(), drops.clone());
            move || {
                std::thread::sleep(ms(2));
                ran.fetch_add(1, Ordering::SeqCst);
                drops.track()
            }
        };
        let out = run_until_cut(spawn_blocking(job), cut).await;
        let completed = out.is_some();
        drop(out);
        // The job runs to completion anyway, and its result is dropped once. While
        // it runs the paused clock holds still, so this loop waits in real time.
        while drops.get() == 0 {
            sleep(ms(1)).await;
        }
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        // Its clock hold is gone: virtual time jumps again.
        let before = time::now();
        sleep(Duration::from_secs(3600)).await;
        assert_eq!(time::now() - before, Duration::from_secs(3600));
        assert_eq!(drops.get(), 1, "the result was dropped exactly once");
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 3, "{tried}");
}

// === net ===

#[test]
fn accept_dropped_at_any_point_loses_no_connection() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("TcpListener::accept", |cut| async move {
        let listener = TcpListener::bind(localhost()).unwrap();
        let addr = listener.local_addr().unwrap();
        let client = at(10, move || async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"x").await.unwrap();
            // Held open until the server side closes.
            read_to_end(&stream).await;
            stream.local_addr().unwrap()
        });
        let out = run_until_cut(listener.accept(), cut).await;
        let completed = out.is_some();
        let (server, peer) = match out {
            Some(accepted) => accepted.unwrap(),
            None => listener.accept().await.unwrap(),
        };
        let mut byte = [0];
        server.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"x");
        drop(server);
        assert_eq!(
            client.await.unwrap(),
            peer,
            "the one connection, accepted once"
        );
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn connect_dropped_at_any_point_leaves_the_listener_working() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("TcpStream::connect", |cut| async move {
        let listener = TcpListener::bind(localhost()).unwrap();
        let addr = listener.local_addr().unwrap();
        let out = run_until_cut(TcpStream::connect(addr), cut).await;
        let completed = out.is_some();
        if let Some(client) = out {
            let client = client.unwrap();
            let (_server, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
        }
        let again = TcpStream::connect(addr).await.unwrap();
        let (_server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, again.local_addr().unwrap());
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 2, "{tried}");
}

/// A pair whose client writes "hello" at 10 ms and "world" at 20 ms, then shuts down.
async fn hello_world_pair() -> (TcpStream, JoinHandle<()>) {
    let (client, server) = connected_pair().await;
    let writer = spawn(async move {
        sleep(ms(10)).await;
        client.write_all(b"hello").await.unwrap();
        sleep(ms(10)).await;
        client.write_all(b"world").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
    });
    (server, writer)
}

#[test]
fn read_dropped_at_any_point_loses_no_byte() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("TcpStream::read", |cut| async move {
        let (server, writer) = hello_world_pair().await;
        let mut buf = [0; 16];
        let out = run_until_cut(server.read(&mut buf), cut).await;
        let completed = out.is_some();
        let mut all = match out {
            Some(read) => buf[..read.unwrap()].to_vec(),
            None => Vec::new(),
        };
        all.extend(read_to_end(&server).await);
        writer.await.unwrap();
        assert_eq!(all, b"helloworld");
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn read_exact_dropped_at_any_point_moved_exactly_the_bytes_in_its_buffer() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("TcpStream::read_exact", |cut| async move {
        let (server, writer) = hello_world_pair().await;
        let mut buf = [0; 8];
        let out = run_until_cut(server.read_exact(&mut buf), cut).await;
        let completed = out.is_some();
        if let Some(result) = out {
            result.unwrap();
        }
        let rest = read_to_end(&server).await;
        writer.await.unwrap();
        // Not cancel-safe, as documented: a dropped call may have consumed bytes, and
        // those are exactly the prefix that sits in its buffer.
        let consumed = b"helloworld".len() - rest.len();
        assert!(consumed <= buf.len(), "consumed {consumed}");
        assert_eq!([&buf[..consumed], &rest[..]].concat(), b"helloworld");
        if completed {
            assert_eq!(&buf, b"hellowor");
        }
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn write_all_dropped_at_any_point_sent_a_prefix_and_the_stream_goes_on() {
    let _hang = hang_guard::start();
    const LEN: usize = 8 << 20;
    let tried = cancel_at_every_poll("TcpStream::write_all", |cut| async move {
        let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        let (client, server) = connected_pair().await;
        let reader = spawn(async move {
            sleep(ms(10)).await;
            read_to_end(&server).await
        });
        let out = run_until_cut(client.write_all(&data), cut).await;
        let completed = out.is_some();
        if let Some(result) = out {
            result.unwrap();
        }
        client.write_all(b"<END>").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let received = reader.await.unwrap();
        let sent = received.len() - b"<END>".len();
        assert!(received.ends_with(b"<END>"), "the stream went on");
        assert_eq!(&received[..sent], &data[..sent], "a prefix, unmangled");
        if completed {
            assert_eq!(sent, LEN);
        }
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

#[test]
fn recv_from_dropped_at_any_point_loses_no_datagram() {
    let _hang = hang_guard::start();
    let tried = cancel_at_every_poll("UdpSocket::recv_from", |cut| async move {
        let server = UdpSocket::bind(localhost()).unwrap();
        let server_addr = server.local_addr().unwrap();
        let sender = spawn(async move {
            let client = UdpSocket::bind(localhost()).unwrap();
            for datagram in [&b"a"[..], b"b"] {
                sleep(ms(10)).await;
                client.send_to(datagram, server_addr).await.unwrap();
            }
        });
        let mut buf = [0; 16];
        let out = run_until_cut(server.recv_from(&mut buf), cut).await;
        let completed = out.is_some();
        let mut got = Vec::new();
        if let Some(received) = out {
            got.push(buf[..received.unwrap().0].to_vec());
        }
        while got.len() < 2 {
            let (n, _) = server.recv_from(&mut buf).await.unwrap();
            got.push(buf[..n].to_vec());
        }
        sender.await.unwrap();
        assert_eq!(got, [b"a".to_vec(), b"b".to_vec()]);
        completed
    });
    eprintln!("cuts tried: {tried}");
    assert!(tried >= 4, "{tried}");
}

// === a property: random cuts around shared queue and semaphore ===

mod random_cuts {
    use super::*;
    use proptest::prelude::*;
    use reliability_support::{or_hang, paused, property_config};

    /// One step of an actor: what it waits for, how long it may, and where it is cut.
    #[derive(Debug, Clone)]
    struct Step {
        op: Op,
        start_ms: u64,
        timeout_ms: Option<u64>,
        /// `None`: awaited to the end (or the timeout).
        cut: Option<Cut>,
    }

    #[derive(Debug, Clone)]
    enum Op {
        Acquire { permits: u32, hold_ms: u64 },
        Put,
        Get,
    }

    fn cut() -> impl Strategy<Value = Option<Cut>> {
        proptest::option::weighted(
            0.5,
            prop_oneof![
                (0..4usize).prop_map(Cut::AfterPoll),
                (1..4usize).prop_map(Cut::OnWake)
            ],
        )
    }

    fn step() -> impl Strategy<Value = Step> {
        let op = prop_oneof![
            (1..=2u32, 0..15u64).prop_map(|(permits, hold_ms)| Op::Acquire { permits, hold_ms }),
            Just(Op::Put),
            Just(Op::Get),
        ];
        (op, 0..30u64, proptest::option::of(1..20u64), cut()).prop_map(
            |(op, start_ms, timeout_ms, cut)| Step {
                op,
                start_ms,
                timeout_ms,
                cut,
            },
        )
    }

    /// What every actor reports, to check the books at the end.
    #[derive(Default)]
    struct Books {
        next_item: Cell<u32>,
        /// Items whose put returned `Ok`.
        accepted: RefCell<Vec<u32>>,
        /// Items a get returned.
        got: RefCell<Vec<u32>>,
        /// Items whose put was cut or timed out: they may or may not have entered.
        unsure: RefCell<Vec<u32>>,
    }

    /// Awaits `future`, under a timeout if the step has one, cut if the step says so.
    async fn perform<F: Future>(step: &Step, future: F) -> Option<F::Output> {
        match (step.timeout_ms, step.cut) {
            (Some(limit), Some(cut)) => run_until_cut(timeout(ms(limit), future), cut)
                .await
                .and_then(Result::ok),
            (Some(limit), None) => timeout(ms(limit), future).await.ok(),
            (None, Some(cut)) => run_until_cut(future, cut).await,
            (None, None) => Some(future.await),
        }
    }

    fn run(permits: usize, maxsize: usize, actors: Vec<Vec<Step>>) {
        let mut rt = paused();
        rt.block_on(or_hang("random cuts", async move {
            let sem = Rc::new(Semaphore::new(permits));
            let queue = Queue::new(maxsize);
            let books = Rc::new(Books::default());
            let mut handles = Vec::new();
            for steps in actors {
                let (sem, queue, books) = (sem.clone(), queue.clone(), books.clone());
                handles.push(spawn(async move {
                    for step in steps {
                        sleep(ms(step.start_ms)).await;
                        match step.op {
                            Op::Acquire { permits, hold_ms } => {
                                if let Some(permit) =
                                    perform(&step, sem.acquire_many(permits)).await
                                {
                                    let permit = permit.unwrap();
                                    sleep(ms(hold_ms)).await;
                                    drop(permit);
                                }
                            }
                            Op::Put => {
                                let item = books.next_item.get();
                                books.next_item.set(item + 1);
                                match perform(&step, queue.put(item)).await {
                                    Some(result) => {
                                        result.unwrap();
                                        books.accepted.borrow_mut().push(item);
                                    }
                                    None => books.unsure.borrow_mut().push(item),
                                }
                            }
                            Op::Get => {
                                if let Some(item) = perform(&step, queue.get()).await {
                                    books.got.borrow_mut().push(item.unwrap());
                                }
                            }
                        }
                    }
                }));
            }
            // Every step is over by then, except waits with neither timeout nor cut.
            sleep(ms(1_000)).await;
            for handle in &handles {
                handle.abort();
            }
            for handle in handles {
                let _ = handle.await;
            }

            // No leaked permit: with nobody holding or waiting, all are free.
            assert_eq!(sem.available_permits(), permits, "permits leaked");
            // No lost and no duplicated item.
            let mut seen = books.got.borrow().clone();
            while let Ok(item) = queue.get_nowait() {
                seen.push(item);
            }
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), seen.len(), "an item got twice: {seen:?}");
            for item in books.accepted.borrow().iter() {
                assert!(seen.contains(item), "item {item} was accepted and lost");
            }
            let attempted = books.accepted.borrow().len() + books.unsure.borrow().len();
            assert!(seen.len() <= attempted, "items out of nowhere");
        }));
    }

    proptest! {
        #![proptest_config(property_config(300))]

        #[test]
        fn random_cuts_and_timeouts_around_a_shared_queue_and_semaphore_lose_nothing(
            permits in 1..=3usize,
            maxsize in 0..=2usize,
            actors in proptest::collection::vec(proptest::collection::vec(step(), 1..5), 1..6),
        ) {
            let _hang = hang_guard::start();
            run(permits, maxsize, actors);
        }
    }
}
