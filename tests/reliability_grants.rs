//! Grants: every future that waits, woken with what it waited for and then cancelled
//! before it runs again, gives that back, and its cancellation had no effect.
//!
//! Each test hands a scenario to `each_ending` (in `reliability_support/grants.rs`):
//! the future under test is made to wait, the scenario's grant wakes it with a permit,
//! a slot, an item, an output or a ready socket, and the future is then dropped, or
//! its task aborted, before its next poll. The scenario checks where the grant went:
//! permits to the waiter behind or back to the count, a reserved slot to the putter
//! behind or back to free, an item to the getter behind or back to the front of the
//! queue, a connection still in the backlog, a datagram still readable. An aborted
//! task must report "cancelled", and cancelled means no effect: a cancelled put never
//! put.
//!
//! Ends with a property test that interleaves grants, aborts and runs of the loop at
//! random over a queue and a semaphore shared by many tasks.

mod hang_guard;

mod reliability_support;

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::rc::Rc;
use std::sync::mpsc;

use futures::FutureExt;
use glassbox::net::{TcpListener, TcpStream, UdpSocket};
use glassbox::time;
use glassbox::{
    JoinHandle, Queue, QueueShutDown, Semaphore, sleep, spawn, spawn_blocking, timeout, yield_now,
};
use reliability_support::grants::{each_ending, grant_then_end};
use reliability_support::{
    DropCount, assert_join_counted_exactly, connected_pair, localhost, ms, read_to_end,
};

/// A task started during a grant, whose outcome the scenario checks afterwards.
struct Started<T>(JoinHandle<T>);

impl<T> Started<T> {
    async fn outcome(self) -> T {
        self.0.await.unwrap()
    }
}

/// Spawns `op(handle.clone())` and lets it run until it waits: started during a
/// grant, after the future under test has parked, it lines up behind that future.
async fn line_up<H: Clone, F: Future + 'static>(
    handle: &H,
    op: impl FnOnce(H) -> F,
) -> Started<F::Output> {
    let started = Started(spawn(op(handle.clone())));
    yield_now().await;
    started
}

// === Semaphore ===

#[test]
fn an_acquire_granted_a_permit_then_cancelled_gives_it_to_the_waiter_behind() {
    let _hang = hang_guard::start();
    each_ending("Semaphore::acquire", |ending| async move {
        let sem = Rc::new(Semaphore::new(1));
        let held = sem.try_acquire().unwrap();
        let acquire = {
            let sem = sem.clone();
            async move { drop(sem.acquire().await) }
        };
        let behind = grant_then_end("Semaphore::acquire", ending, acquire, || async {
            let behind = line_up(&sem, |sem| async move {
                sem.acquire().await.unwrap().num_permits()
            })
            .await;
            drop(held); // the permit is assigned to the front of the line
            behind
        })
        .await;
        assert_eq!(behind.outcome().await, 1, "the waiter behind was served");
        assert_eq!(sem.available_permits(), 1, "and the permit came back");
    });
}

#[test]
fn an_acquire_many_granted_in_full_then_cancelled_gives_every_permit_back() {
    let _hang = hang_guard::start();
    each_ending("Semaphore::acquire_many", |ending| async move {
        let sem = Rc::new(Semaphore::new(0));
        let acquire = {
            let sem = sem.clone();
            async move { drop(sem.acquire_many(3).await) }
        };
        let behind = grant_then_end("Semaphore::acquire_many", ending, acquire, || async {
            let behind = line_up(&sem, |sem| async move {
                sem.acquire_many(2).await.unwrap().num_permits()
            })
            .await;
            sem.add_permits(3); // completes the request in front
            behind
        })
        .await;
        assert_eq!(behind.outcome().await, 2, "the request behind was served");
        assert_eq!(sem.available_permits(), 3, "every permit came back");
    });
}

// === Queue ===

/// A queue of one slot holding item 0, and a `put(1)` that must wait for the slot.
fn full_queue_and_a_put() -> (Queue<i32>, impl Future<Output = ()> + 'static) {
    let queue = Queue::new(1);
    queue.put_nowait(0).unwrap();
    let put = {
        let queue = queue.clone();
        async move {
            let _ = queue.put(1).await;
        }
    };
    (queue, put)
}

#[test]
fn a_put_granted_a_slot_then_cancelled_never_put_and_the_slot_goes_to_the_putter_behind() {
    let _hang = hang_guard::start();
    each_ending("Queue::put, a putter behind", |ending| async move {
        let (queue, put) = full_queue_and_a_put();
        let behind = grant_then_end("Queue::put", ending, put, || async {
            let behind = line_up(&queue, |queue| async move { queue.put(2).await }).await;
            assert_eq!(queue.get_nowait(), Ok(0)); // frees the slot for the front putter
            behind
        })
        .await;
        assert_eq!(
            behind.outcome().await,
            Ok(()),
            "the putter behind got the slot"
        );
        assert_eq!(queue.get_nowait(), Ok(2));
        assert!(queue.empty(), "1 never went in");
        // `join` counts the items that entered: 0 and 2, not 1.
        assert_join_counted_exactly(&queue, 2).await;
    });
}

#[test]
fn a_put_granted_a_slot_then_cancelled_with_nobody_behind_leaves_the_slot_free() {
    let _hang = hang_guard::start();
    each_ending("Queue::put, nobody behind", |ending| async move {
        let (queue, put) = full_queue_and_a_put();
        grant_then_end("Queue::put", ending, put, || async {
            assert_eq!(queue.get_nowait(), Ok(0));
        })
        .await;
        assert!(queue.empty(), "1 never went in");
        assert!(!queue.full(), "the reserved slot is free again");
        queue.put(3).await.unwrap(); // a fresh put does not wait for ever
        assert_eq!(queue.get_nowait(), Ok(3));
    });
}

/// An empty unbounded queue and a `get` that must wait.
fn empty_queue_and_a_get() -> (Queue<char>, impl Future<Output = ()> + 'static) {
    let queue = Queue::new(0);
    let get = {
        let queue = queue.clone();
        async move {
            let _ = queue.get().await;
        }
    };
    (queue, get)
}

#[test]
fn a_get_handed_an_item_then_cancelled_passes_it_to_the_getter_behind() {
    let _hang = hang_guard::start();
    each_ending("Queue::get, a getter behind", |ending| async move {
        let (queue, get) = empty_queue_and_a_get();
        let behind = grant_then_end("Queue::get", ending, get, || async {
            let behind = line_up(&queue, |queue| async move { queue.get().await }).await;
            queue.put_nowait('x').unwrap(); // handed to the front getter
            behind
        })
        .await;
        assert_eq!(behind.outcome().await, Ok('x'));
        assert!(queue.empty());
    });
}

#[test]
fn a_get_handed_an_item_then_cancelled_with_nobody_behind_puts_it_back_in_front() {
    let _hang = hang_guard::start();
    each_ending("Queue::get, nobody behind", |ending| async move {
        let (queue, get) = empty_queue_and_a_get();
        grant_then_end("Queue::get", ending, get, || async {
            queue.put_nowait('a').unwrap(); // handed to the getter
            queue.put_nowait('b').unwrap(); // queued behind it
        })
        .await;
        assert_eq!(
            queue.get_nowait(),
            Ok('a'),
            "the oldest item is still first"
        );
        assert_eq!(queue.get_nowait(), Ok('b'));
    });
}

// Issue 21, item 4: getters g1 and g2 wait; `put_nowait('x')` hands x to g1; the
// queue is shut down; g1 is cancelled. As in CPython 3.13, g2 receives x ("gets go on
// draining what is left"), and `join` returns once it is marked done.
#[test]
fn a_get_handed_an_item_then_cancelled_after_shutdown_passes_it_to_the_getter_behind() {
    let _hang = hang_guard::start();
    each_ending("Queue::get across shutdown(false)", |ending| async move {
        let (queue, get) = empty_queue_and_a_get();
        let behind = grant_then_end("Queue::get", ending, get, || async {
            let behind = line_up(&queue, |queue| async move { queue.get().await }).await;
            queue.put_nowait('x').unwrap(); // handed to g1
            queue.shutdown(false);
            behind
        })
        .await;
        assert_eq!(behind.outcome().await, Ok('x'), "g2 drained what was left");
        queue.task_done().unwrap();
        queue.join().await;
        assert_eq!(
            queue.get().await,
            Err(QueueShutDown(())),
            "now it is drained"
        );
    });
}

#[test]
fn a_join_woken_then_cancelled_leaves_the_unfinished_count_alone() {
    let _hang = hang_guard::start();
    each_ending("Queue::join", |ending| async move {
        let queue = Queue::new(0);
        queue.put_nowait("job").unwrap();
        let join = {
            let queue = queue.clone();
            async move { queue.join().await }
        };
        grant_then_end("Queue::join", ending, join, || async {
            queue.get_nowait().unwrap();
            queue.task_done().unwrap(); // unfinished reaches zero: joiners are woken
        })
        .await;
        assert!(queue.task_done().is_err(), "nothing left unfinished");
        queue.join().await;
        // A later round of work is joined as well.
        queue.put_nowait("again").unwrap();
        queue.get_nowait().unwrap();
        queue.task_done().unwrap();
        queue.join().await;
    });
}

// === tasks and blocking jobs ===

#[test]
fn a_join_handle_whose_task_finished_then_dropped_drops_the_output_exactly_once() {
    let _hang = hang_guard::start();
    each_ending("JoinHandle", |ending| async move {
        let (gate, drops) = (Queue::new(0), DropCount::default());
        let task = spawn({
            let (gate, drops) = (gate.clone(), drops.clone());
            async move {
                gate.get().await.unwrap();
                drops.track()
            }
        });
        grant_then_end("JoinHandle", ending, task, || async {
            gate.put_nowait(()).unwrap(); // the task runs and finishes
        })
        .await;
        yield_now().await;
        assert_eq!(drops.get(), 1, "the output was dropped exactly once");
    });
}

#[test]
fn a_blocking_handle_whose_job_finished_then_dropped_drops_the_result_exactly_once() {
    let _hang = hang_guard::start();
    each_ending("BlockingHandle", |ending| async move {
        let (open, gate) = mpsc::channel::<()>();
        let drops = DropCount::default();
        let job = spawn_blocking({
            let drops = drops.clone();
            move || {
                gate.recv().unwrap();
                drops.track()
            }
        });
        grant_then_end("BlockingHandle", ending, job, || async {
            open.send(()).unwrap(); // the job finishes on its pool thread
        })
        .await;
        // Whichever side lets go of the result last drops it: wait for the pool
        // thread (the real-time guard of `each_ending` bounds this).
        while drops.get() == 0 {
            sleep(ms(1)).await;
        }
        assert_eq!(drops.get(), 1, "the result was dropped exactly once");
        assert_eq!(spawn_blocking(|| 7).await.unwrap(), 7, "the pool goes on");
    });
}

// === time ===

#[test]
fn a_sleep_whose_timer_fired_then_dropped_leaves_no_timer_and_steals_no_wake() {
    let _hang = hang_guard::start();
    each_ending("sleep", |ending| async move {
        let start = time::now();
        let witness = spawn(async move {
            sleep(ms(10)).await;
            time::now()
        });
        yield_now().await; // the witness registers its timer for the same tick
        grant_then_end("sleep", ending, sleep(ms(10)), || time::advance(ms(10))).await;
        assert_eq!(
            witness.await.unwrap() - start,
            ms(10),
            "the same tick woke both"
        );
    });
}

#[test]
fn a_timeout_whose_inner_get_was_handed_an_item_then_dropped_puts_the_item_back() {
    let _hang = hang_guard::start();
    each_ending("timeout(get), item handed", |ending| async move {
        let queue = Queue::new(0);
        let get = {
            let queue = queue.clone();
            async move {
                let _ = timeout(ms(20), queue.get()).await;
            }
        };
        grant_then_end("timeout(get)", ending, get, || async {
            queue.put_nowait(7).unwrap();
        })
        .await;
        assert_eq!(queue.get_nowait(), Ok(7));
    });
}

#[test]
fn a_timeout_whose_deadline_passed_then_dropped_leaves_no_getter_behind() {
    let _hang = hang_guard::start();
    each_ending("timeout(get), deadline", |ending| async move {
        let queue = Queue::new(0);
        let get = {
            let queue = queue.clone();
            async move {
                let _ = timeout(ms(20), queue.get()).await;
            }
        };
        grant_then_end("timeout(get)", ending, get, || time::advance(ms(20))).await;
        queue.put_nowait(7).unwrap();
        assert_eq!(queue.get_nowait(), Ok(7), "not handed to a dead getter");
    });
}

// === net ===

#[test]
fn an_accept_woken_by_a_connection_then_dropped_leaves_it_in_the_backlog() {
    let _hang = hang_guard::start();
    each_ending("TcpListener::accept", |ending| async move {
        let listener = Rc::new(TcpListener::bind(localhost()).unwrap());
        let addr = listener.local_addr().unwrap();
        let accept = {
            let listener = listener.clone();
            async move { drop(listener.accept().await) }
        };
        let client = grant_then_end("TcpListener::accept", ending, accept, || async {
            let client = TcpStream::connect(addr).await.unwrap();
            client.write_all(b"x").await.unwrap();
            client
        })
        .await;
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap(), "the same connection");
        let mut byte = [0];
        server.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"x");
    });
}

#[test]
fn a_read_woken_by_data_then_dropped_leaves_the_data_unread() {
    let _hang = hang_guard::start();
    each_ending("TcpStream::read", |ending| async move {
        let (client, server) = connected_pair().await;
        let server = Rc::new(server);
        let read = {
            let server = server.clone();
            async move {
                let mut buf = [0; 16];
                drop(server.read(&mut buf).await);
            }
        };
        grant_then_end("TcpStream::read", ending, read, || async {
            client.write_all(b"hello").await.unwrap();
        })
        .await;
        let mut buf = [0; 5];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
    });
}

#[test]
fn a_write_woken_by_room_then_dropped_wrote_nothing() {
    let _hang = hang_guard::start();
    const FILL: u8 = 0x11;
    const DROPPED: u8 = 0xEE;
    each_ending("TcpStream::write", |ending| async move {
        let (client, server) = connected_pair().await;
        let client = Rc::new(client);
        // Fill the send path until a write would wait.
        let chunk = [FILL; 64 * 1024];
        let mut sent = 0;
        while let Some(written) = client.write(&chunk).now_or_never() {
            sent += written.unwrap();
        }
        let write = {
            let client = client.clone();
            async move { drop(client.write(&[DROPPED; 4096]).await) }
        };
        let reader = grant_then_end("TcpStream::write", ending, write, || async {
            // The peer drains the stream: room frees up, and the writer is woken.
            Started(spawn(async move { read_to_end(&server).await }))
        })
        .await;
        client.write_all(b"<END>").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let received = reader.outcome().await;
        assert_eq!(
            received.len(),
            sent + b"<END>".len(),
            "nothing more, nothing less"
        );
        assert!(received[..sent].iter().all(|&byte| byte == FILL));
        assert!(received.ends_with(b"<END>"));
    });
}

#[test]
fn a_connect_woken_by_the_handshake_then_dropped_closes_its_connection() {
    let _hang = hang_guard::start();
    each_ending("TcpStream::connect", |ending| async move {
        // On loopback the handshake completes inside `connect(2)`, so a connect to a
        // listener with room never waits. Fill the listener's accept queue first:
        // the kernel then drops further SYNs, and a connect waits for a retry.
        let listener = TcpListener::bind(localhost()).unwrap();
        let addr = listener.local_addr().unwrap();
        // Unconstrained: `now_or_never` is a probe, and the coop budget would cut the
        // 129th connect short (a `Pending` that means "yield", not "queue full").
        let backlog = glassbox::unconstrained(async {
            let mut backlog = Vec::new();
            loop {
                assert!(backlog.len() < 10_000, "the accept queue never filled");
                match TcpStream::connect(addr).now_or_never() {
                    Some(connected) => backlog.push(connected.unwrap().local_addr().unwrap()),
                    None => break backlog, // queue full: this SYN was dropped
                }
            }
        })
        .await;
        let connect = async move { drop(TcpStream::connect(addr).await) };
        let held = grant_then_end("TcpStream::connect", ending, connect, || async {
            // The grant: room in the accept queue. The client's SYN is retried after
            // about a second of real time; hold the paused clock meanwhile, or it
            // would jump straight to the hang guard's year.
            let hold = time::hold_clock();
            let (_first, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, backlog[0]);
            hold
        })
        .await;
        drop(held);
        // The handshake completed, so the connection is queued behind the others;
        // its client end was closed with the dropped future: the server side reads
        // end-of-stream (or a reset), never data.
        for expected in &backlog[1..] {
            let (_stream, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, *expected);
        }
        let (orphan, _) = listener.accept().await.unwrap();
        let mut buf = [0; 1];
        match orphan.read(&mut buf).await {
            Ok(n) => assert_eq!(n, 0, "data from a dropped connect"),
            Err(error) => assert_eq!(error.kind(), io::ErrorKind::ConnectionReset),
        }
        let again = TcpStream::connect(addr).await.unwrap();
        let (_server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, again.local_addr().unwrap(), "the listener goes on");
    });
}

#[test]
fn a_recv_woken_by_a_datagram_then_dropped_leaves_it_readable() {
    let _hang = hang_guard::start();
    each_ending("UdpSocket::recv", |ending| async move {
        let server = Rc::new(UdpSocket::bind(localhost()).unwrap());
        let client = UdpSocket::bind(localhost()).unwrap();
        server.connect(client.local_addr().unwrap()).await.unwrap();
        let recv = {
            let server = server.clone();
            async move {
                let mut buf = [0; 16];
                drop(server.recv(&mut buf).await);
            }
        };
        let server_addr = server.local_addr().unwrap();
        grant_then_end("UdpSocket::recv", ending, recv, || async {
            client.send_to(b"a", server_addr).await.unwrap();
        })
        .await;
        let mut buf = [0; 16];
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"a");
    });
}

// === a property: random grants and aborts over a shared queue and semaphore ===

mod random_grants {
    use super::*;
    use proptest::prelude::*;
    use reliability_support::{debug_field, or_hang, paused, property_config};

    /// One step of the driver. Steps between two `Run`s happen with no task running
    /// in between: a grant followed by an `Abort` cancels a task that was just woken
    /// with what it waited for, before it could run.
    #[derive(Debug, Clone)]
    enum Step {
        /// A task that waits in `put` (a fresh item).
        SpawnPut,
        /// A task that waits in `get`.
        SpawnGet,
        /// A task that waits in `acquire_many(n)` and keeps what it gets.
        SpawnAcquire(u32),
        /// Grants: a slot, an item, permits.
        GetNowait,
        PutNowait,
        AddPermit,
        /// Gives back the permits some task kept.
        ReleaseHeld,
        /// Aborts the `n`-th oldest unfinished task: the oldest are the fronts of
        /// the lines, the ones a grant goes to.
        Abort(usize),
        ShutDown,
        /// Lets every ready task run.
        Run,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => Just(Step::SpawnPut),
            3 => Just(Step::SpawnGet),
            2 => (1..=2u32).prop_map(Step::SpawnAcquire),
            3 => Just(Step::GetNowait),
            2 => Just(Step::PutNowait),
            2 => Just(Step::AddPermit),
            1 => Just(Step::ReleaseHeld),
            4 => (0..3usize).prop_map(Step::Abort),
            1 => Just(Step::ShutDown),
            4 => Just(Step::Run),
        ]
    }

    /// What happened, as the tasks and the driver saw it.
    #[derive(Default)]
    struct Books {
        next_item: std::cell::Cell<u32>,
        /// Items that went in: a `put_nowait` or a `put` that returned `Ok`.
        entered: RefCell<Vec<u32>>,
        /// Items got: by a task's `get` or the driver's `get_nowait`.
        got: RefCell<Vec<u32>>,
        /// Permits that acquiring tasks keep (forgotten, to be given back).
        held: RefCell<Vec<u32>>,
    }

    impl Books {
        fn fresh_item(&self) -> u32 {
            let item = self.next_item.get();
            self.next_item.set(item + 1);
            item
        }
    }

    /// A task, and for a putter the item it offered.
    struct Actor {
        handle: JoinHandle<()>,
        offered: Option<u32>,
    }

    fn run(maxsize: usize, permits: usize, steps: Vec<Step>) {
        paused().block_on(or_hang("random grants", async move {
            let (queue, sem) = (Queue::new(maxsize), Rc::new(Semaphore::new(permits)));
            let books = Rc::new(Books::default());
            let mut total_permits = permits;
            let mut actors: Vec<Actor> = Vec::new();
            for step in steps {
                match step {
                    Step::SpawnPut => {
                        let item = books.fresh_item();
                        let (queue, books) = (queue.clone(), books.clone());
                        let handle = spawn(async move {
                            if queue.put(item).await.is_ok() {
                                books.entered.borrow_mut().push(item);
                            }
                        });
                        actors.push(Actor {
                            handle,
                            offered: Some(item),
                        });
                    }
                    Step::SpawnGet => {
                        let (queue, books) = (queue.clone(), books.clone());
                        let handle = spawn(async move {
                            if let Ok(item) = queue.get().await {
                                books.got.borrow_mut().push(item);
                            }
                        });
                        actors.push(Actor {
                            handle,
                            offered: None,
                        });
                    }
                    Step::SpawnAcquire(n) => {
                        let (sem, books) = (sem.clone(), books.clone());
                        let handle = spawn(async move {
                            sem.acquire_many(n).await.unwrap().forget();
                            books.held.borrow_mut().push(n);
                        });
                        actors.push(Actor {
                            handle,
                            offered: None,
                        });
                    }
                    Step::GetNowait => {
                        if let Ok(item) = queue.get_nowait() {
                            books.got.borrow_mut().push(item);
                        }
                    }
                    Step::PutNowait => {
                        let item = books.fresh_item();
                        if queue.put_nowait(item).is_ok() {
                            books.entered.borrow_mut().push(item);
                        }
                    }
                    Step::AddPermit => {
                        sem.add_permits(1);
                        total_permits += 1;
                    }
                    Step::ReleaseHeld => {
                        let kept = books.held.borrow_mut().pop();
                        if let Some(n) = kept {
                            sem.add_permits(n as usize);
                        }
                    }
                    Step::Abort(index) => {
                        let live: Vec<_> = actors
                            .iter()
                            .filter(|actor| !actor.handle.is_finished())
                            .collect();
                        if let Some(actor) = live.get(index) {
                            actor.handle.abort();
                        }
                    }
                    Step::ShutDown => queue.shutdown(false),
                    Step::Run => {
                        yield_now().await;
                        yield_now().await;
                    }
                }
            }
            for _ in 0..3 {
                yield_now().await;
            }

            // Nobody waits beside what it waits for (every task woken has run).
            let (queue_shown, sem_shown) = (format!("{queue:?}"), format!("{sem:?}"));
            if debug_field(&queue_shown, "putters_waiting") > 0 {
                assert!(
                    queue.full(),
                    "a putter waits beside a free slot: {queue_shown}"
                );
            }
            if debug_field(&queue_shown, "getters_waiting") > 0 {
                assert!(
                    queue.empty(),
                    "a getter waits beside an item: {queue_shown}"
                );
            }
            if debug_field(&sem_shown, "waiting") > 0 {
                assert_eq!(
                    sem.available_permits(),
                    0,
                    "an acquire waits beside permits"
                );
            }

            // End every task; a cancelled put must not have put.
            for actor in &actors {
                actor.handle.abort();
            }
            for actor in actors {
                let outcome = actor.handle.await;
                if let (Err(cancelled), Some(item)) = (&outcome, actor.offered) {
                    assert!(cancelled.is_cancelled());
                    assert!(
                        !books.entered.borrow().contains(&item),
                        "item {item}: its put was cancelled, yet it went in"
                    );
                }
            }
            while let Ok(item) = queue.get_nowait() {
                books.got.borrow_mut().push(item);
            }
            assert!(queue.empty(), "nothing in flight once every task is gone");

            // Every item that went in came out exactly once; nothing else came out.
            let mut entered = books.entered.borrow().clone();
            let mut got = books.got.borrow().clone();
            entered.sort();
            got.sort();
            assert_eq!(got, entered, "items lost, duplicated or out of nowhere");
            assert_join_counted_exactly(&queue, entered.len()).await;

            // Every permit is free or kept by a task that took it.
            let kept: u32 = books.held.borrow().iter().sum();
            assert_eq!(
                sem.available_permits() + kept as usize,
                total_permits,
                "permits leaked or made up"
            );
        }));
    }

    proptest! {
        #![proptest_config(property_config(300))]

        #[test]
        fn random_grants_and_aborts_over_a_shared_queue_and_semaphore_lose_nothing(
            maxsize in 0..=3usize,
            permits in 0..=2usize,
            steps in proptest::collection::vec(step(), 1..40),
        ) {
            let _hang = hang_guard::start();
            run(maxsize, permits, steps);
        }
    }
}
