//! `AsyncFd`: any non-blocking fd on the reactor. A pipe's reader parks until the
//! writer writes and is woken once per edge; a new `AsyncFd` is ready for nothing
//! until the kernel says so; readiness is remembered until a `WouldBlock` clears it,
//! and a guard's late `clear_ready` keeps an edge that came while it was held;
//! `ready` reports which directions are ready; `async_io` never keeps the loop from
//! its timers, whatever its closure says; an eventfd signalled from another thread wakes the loop;
//! fds the reactor cannot or should not take are refused with an error that says why.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::future::{Future, poll_fn};
use std::io::{ErrorKind, PipeReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd};
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use executor::net::{AsyncFd, Interest, Ready, UnixStream};
use executor::time::{self, Timer};
use executor::{spawn, yield_now};
use net_support::{TempDir, poll_once, set_nonblocking, within};

const LIMIT: Duration = Duration::from_secs(10);

/// A pipe whose read end is non-blocking and registered for reading.
fn pipe() -> (AsyncFd<PipeReader>, std::io::PipeWriter) {
    let (reader, writer) = std::io::pipe().unwrap();
    set_nonblocking(&reader);
    let reader = AsyncFd::with_interest(reader, Interest::READABLE).unwrap();
    (reader, writer)
}

/// Runs `future`, counting in `polls` how often it is polled: the first poll, then
/// one per wake.
async fn count_polls<F: Future>(polls: Rc<Cell<usize>>, future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(|cx| {
        polls.set(polls.get() + 1);
        future.as_mut().poll(cx)
    })
    .await
}

#[test]
fn a_pipe_reader_waits_for_the_writer_and_wakes_once_per_edge() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, mut writer) = pipe();
        let got = Rc::new(RefCell::new(Vec::new()));
        let polls = Rc::new(Cell::new(0));
        let reading = spawn(count_polls(polls.clone(), {
            let got = got.clone();
            async move {
                let mut buf = [0; 64];
                loop {
                    let mut guard = reader.readable().await.unwrap();
                    match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
                        Ok(Ok(0)) => return, // the writer closed its end
                        Ok(read) => got.borrow_mut().extend_from_slice(&buf[..read.unwrap()]),
                        Err(_would_block) => continue, // cleared: wait for the next edge
                    }
                }
            }
        }));
        yield_now().await;
        // The first poll parked: a new AsyncFd waits for the kernel's first report, and
        // an empty pipe has nothing to report.
        assert_eq!(polls.get(), 1);
        for byte in 0..5u8 {
            writer.write_all(&[byte]).unwrap();
            within(LIMIT, "the reader to take the byte", async {
                while got.borrow().len() < usize::from(byte) + 1 {
                    yield_now().await;
                }
            })
            .await;
            // One write, one edge, one wake: the reader drained the pipe and parked
            // again in the same poll.
            assert_eq!(polls.get(), 2 + usize::from(byte));
        }
        drop(writer); // the hang-up is an edge too: the reader reads end of stream
        within(LIMIT, "the reader to see end of stream", reading)
            .await
            .unwrap();
        assert_eq!(polls.get(), 7);
        assert_eq!(*got.borrow(), [0, 1, 2, 3, 4]);
    });
}

#[test]
fn readiness_is_kept_until_try_io_hears_would_block() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, mut writer) = pipe();
        writer.write_all(b"abc").unwrap();
        let mut buf = [0; 64];

        let read = reader
            .readable()
            .await
            .unwrap()
            .try_io(|fd| fd.get_ref().read(&mut buf));
        assert_eq!(read.unwrap().unwrap(), 3);
        // Nothing has proved the pipe drained, so readiness is remembered: the next
        // wait returns at once, even though the pipe is empty now.
        let read = reader
            .readable()
            .await
            .unwrap()
            .try_io(|fd| fd.get_ref().read(&mut buf));
        assert!(read.is_err(), "WouldBlock comes back as TryIoError");

        // Cleared: now the wait parks until the writer writes again.
        let mut waiting = pin!(reader.readable());
        assert!(poll_once(waiting.as_mut()).await.is_pending());
        writer.write_all(b"d").unwrap();
        let mut guard = within(LIMIT, "the next edge", waiting).await.unwrap();
        let read = guard.try_io(|fd| fd.get_ref().read(&mut buf));
        assert_eq!(read.unwrap().unwrap(), 1);
        assert_eq!(buf[0], b'd');
    });
}

#[test]
fn clear_ready_by_hand_after_would_block_rearms_the_wait() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, mut writer) = pipe();
        writer.write_all(b"xy").unwrap();
        let mut buf = [0; 64];
        {
            let mut guard = reader.readable().await.unwrap();
            // Reading through the inner value directly: try_io is not there to clear.
            assert_eq!(guard.get_inner().read(&mut buf).unwrap(), 2);
            let drained = guard.get_inner().read(&mut buf).unwrap_err();
            assert_eq!(drained.kind(), ErrorKind::WouldBlock);
            guard.clear_ready();
        }

        let mut waiting = pin!(reader.readable());
        assert!(poll_once(waiting.as_mut()).await.is_pending());
        writer.write_all(b"z").unwrap();
        within(LIMIT, "the next edge", waiting).await.unwrap();
    });
}

#[test]
fn async_io_retries_until_the_read_succeeds() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, mut writer) = pipe();
        let writing = spawn(async move {
            yield_now().await;
            writer.write_all(b"late").unwrap();
        });
        let mut buf = [0; 16];
        let read = reader.async_io(Interest::READABLE, |mut pipe| pipe.read(&mut buf));
        let read = within(LIMIT, "async_io", read).await.unwrap();
        assert_eq!(&buf[..read], b"late");
        writing.await.unwrap();
    });
}

#[test]
fn an_interrupted_syscall_is_tried_again_not_returned() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, mut writer) = pipe();
        writer.write_all(b"x").unwrap();
        // EINTR: a signal cut the syscall short and nothing happened. The loop tries
        // again at once; the caller never sees it.
        let mut tries = 0;
        let read = reader.async_io(Interest::READABLE, |_| {
            tries += 1;
            if tries == 1 {
                Err(std::io::ErrorKind::Interrupted.into())
            } else {
                Ok(tries)
            }
        });
        assert_eq!(
            within(LIMIT, "async_io after EINTR", read).await.unwrap(),
            2
        );
    });
}

#[test]
fn a_full_pipe_writer_waits_until_the_reader_drains_it() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (mut reader, writer) = std::io::pipe().unwrap();
        set_nonblocking(&writer);
        let writer = AsyncFd::with_interest(writer, Interest::WRITABLE).unwrap();
        let chunk = [7; 4096];
        let mut written = 0;
        // Fill the pipe: the last try says WouldBlock, which clears write readiness.
        loop {
            let mut guard = writer.writable().await.unwrap();
            match guard.try_io(|fd| fd.get_ref().write(&chunk)) {
                Ok(wrote) => written += wrote.unwrap(),
                Err(_full) => break,
            }
        }
        let mut waiting = pin!(writer.writable());
        assert!(
            poll_once(waiting.as_mut()).await.is_pending(),
            "full: it waits"
        );
        let mut drained = vec![0; written];
        reader.read_exact(&mut drained).unwrap();
        within(LIMIT, "room in the pipe", waiting).await.unwrap();
    });
}

#[test]
fn an_eventfd_signalled_from_another_thread_wakes_the_reader() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        // SAFETY: eventfd takes no pointers; it returns a new fd, or -1 (checked).
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        assert!(fd >= 0, "eventfd: {}", std::io::Error::last_os_error());
        // SAFETY: `fd` was just returned by eventfd: open, and owned by nothing else.
        let eventfd = unsafe { File::from_raw_fd(fd) };
        let signaller = eventfd.try_clone().unwrap();
        let eventfd = AsyncFd::with_interest(eventfd, Interest::READABLE).unwrap();
        let thread = std::thread::spawn(move || {
            for _ in 0..3 {
                std::thread::sleep(Duration::from_millis(5));
                (&signaller).write_all(&1u64.to_ne_bytes()).unwrap();
            }
        });
        let mut signals = 0;
        while signals < 3 {
            let mut guard = within(LIMIT, "a signal", eventfd.readable()).await.unwrap();
            let mut counter = [0; 8];
            // An eventfd read returns the count so far and resets it to zero.
            if let Ok(read) = guard.try_io(|fd| fd.get_ref().read(&mut counter)) {
                assert_eq!(read.unwrap(), 8);
                signals += u64::from_ne_bytes(counter);
            }
        }
        assert_eq!(signals, 3);
        thread.join().unwrap();
    });
}

#[test]
fn a_regular_file_is_refused_with_an_error_that_says_why() {
    let _hang = hang_guard::start();
    let dir = TempDir::new("async-fd-file");
    let path = dir.join("plain.txt");
    std::fs::write(&path, "not pollable").unwrap();
    executor::block_on(async {
        let error = AsyncFd::new(File::open(&path).unwrap()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::PermissionDenied);
        let message = error.to_string();
        assert!(message.contains("regular file"), "{message}");
        assert!(message.contains("spawn_blocking"), "{message}");
    });
}

#[test]
fn a_blocking_fd_is_refused() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, _writer) = std::io::pipe().unwrap();
        let error = AsyncFd::new(reader).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("non-blocking"), "{error}");
    });
}

#[test]
fn an_fd_already_on_the_reactor_is_refused() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (stream, peer) = UnixStream::pair().unwrap();
        let error = AsyncFd::new(stream.as_fd()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AlreadyExists);
        assert!(error.to_string().contains("already registered"), "{error}");
        // The refused registration took nothing away from the stream's own.
        stream.write_all(b"still works").await.unwrap();
        peer.read_exact(&mut [0; 11]).await.unwrap();
    });
}

#[test]
fn waiting_for_a_direction_not_registered_is_an_error_not_a_hang() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, _writer) = pipe();
        let error = reader.writable().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("WRITABLE"), "{error}");
        let both = Interest::READABLE | Interest::WRITABLE;
        let error = reader.async_io(both, |_| Ok(())).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn into_inner_hands_back_the_same_fd_off_the_reactor() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, mut writer) = pipe();
        let fd = reader.as_raw_fd();
        let reader = reader.into_inner();
        assert_eq!(reader.as_raw_fd(), fd);
        // Registering it again works only because into_inner deregistered it.
        let reader = AsyncFd::new(reader).unwrap();
        writer.write_all(b"!").unwrap();
        let mut buf = [0; 4];
        let read = reader.async_io(Interest::READABLE, |mut pipe| pipe.read(&mut buf));
        assert_eq!(read.await.unwrap(), 1);
    });
}

/// Parks the loop long enough for it to take in the events already queued.
async fn let_the_reactor_turn() {
    Timer::new(time::now() + Duration::from_millis(10)).await;
}

/// A new non-blocking eventfd, never signalled.
fn eventfd() -> File {
    // SAFETY: eventfd takes no pointers; it returns a new fd, or -1 (checked).
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    assert!(fd >= 0, "eventfd: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` was just returned by eventfd: open, and owned by nothing else.
    unsafe { File::from_raw_fd(fd) }
}

#[test]
fn a_new_async_fd_is_ready_for_nothing_until_the_kernel_says_so() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (empty_pipe, _writer) = pipe();
        let eventfd = AsyncFd::with_interest(eventfd(), Interest::READABLE).unwrap();
        for turn in ["before", "after"] {
            let pipe_read = poll_once(pin!(empty_pipe.readable())).await;
            assert!(
                pipe_read.is_pending(),
                "an empty pipe is not readable ({turn} a turn)"
            );
            let signalled = poll_once(pin!(eventfd.readable())).await;
            assert!(
                signalled.is_pending(),
                "an unsignalled eventfd is not readable ({turn} a turn)"
            );
            let_the_reactor_turn().await;
        }

        // What is ready at registration is reported by the kernel, so nothing is lost
        // by waiting for it: a pipe with data in it, the write end of an empty pipe.
        let (reader, mut writer) = std::io::pipe().unwrap();
        writer.write_all(b"x").unwrap();
        set_nonblocking(&reader);
        set_nonblocking(&writer);
        let reader = AsyncFd::with_interest(reader, Interest::READABLE).unwrap();
        let writer = AsyncFd::with_interest(writer, Interest::WRITABLE).unwrap();
        within(LIMIT, "the pipe with data", reader.readable())
            .await
            .unwrap();
        within(LIMIT, "the pipe with room", writer.writable())
            .await
            .unwrap();
    });
}

#[test]
fn clear_ready_after_an_await_keeps_the_edge_of_a_byte_that_arrived_meanwhile() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, mut writer) = pipe();
        writer.write_all(b"a").unwrap();
        let mut buf = [0; 8];
        let mut guard = within(LIMIT, "the first byte", reader.readable())
            .await
            .unwrap();
        assert_eq!(guard.get_inner().read(&mut buf).unwrap(), 1);
        let drained = guard.get_inner().read(&mut buf).unwrap_err();
        assert_eq!(drained.kind(), ErrorKind::WouldBlock);
        // Before clearing, the task awaits something else, and a byte arrives: the
        // loop takes its edge in meanwhile.
        writer.write_all(b"b").unwrap();
        let_the_reactor_turn().await;
        guard.clear_ready(); // as the docs ask after a WouldBlock, but late

        let mut guard = within(
            LIMIT,
            "the byte that came during the await",
            reader.readable(),
        )
        .await
        .unwrap();
        let read = guard.try_io(|fd| fd.get_ref().read(&mut buf));
        assert_eq!(read.unwrap().unwrap(), 1);
        assert_eq!(buf[0], b'b');
    });
}

#[test]
fn ready_for_both_directions_reports_which_the_kernel_reported() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (ours, mut peer) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let fd = AsyncFd::new(ours).unwrap();
        let both = Interest::READABLE | Interest::WRITABLE;

        let guard = within(LIMIT, "ready", fd.ready(both)).await.unwrap();
        assert!(guard.ready().is_writable(), "room to write");
        assert!(!guard.ready().is_readable(), "nothing sent yet");

        peer.write_all(b"hi").unwrap();
        let mut guard = within(LIMIT, "readable", fd.ready(Interest::READABLE))
            .await
            .unwrap();
        assert_eq!(guard.ready(), Ready::READABLE, "only what was asked for");
        let mut buf = [0; 8];
        let read = guard.try_io(|fd| fd.get_ref().read(&mut buf));
        assert_eq!(read.unwrap().unwrap(), 2);
        let drained = guard.try_io(|fd| fd.get_ref().read(&mut buf));
        assert!(drained.is_err(), "WouldBlock: read readiness cleared");
        assert!(guard.ready().is_empty());

        drop(peer);
        let guard = within(LIMIT, "the hang-up", fd.ready(Interest::READABLE))
            .await
            .unwrap();
        assert!(guard.ready().is_read_closed(), "{:?}", guard.ready());
    });
}

#[test]
fn an_async_io_whose_syscall_always_says_interrupted_still_lets_a_timer_fire() {
    use futures::future::{Either, select};

    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, mut writer) = pipe();
        writer.write_all(b"x").unwrap(); // ready: the closure runs
        let started = std::time::Instant::now();
        let spinning = reader.async_io(Interest::READABLE, |_| -> std::io::Result<()> {
            if started.elapsed() > LIMIT {
                // The loop never got its thread back: end the test by name.
                return Err(std::io::Error::other("the timer never fired"));
            }
            Err(ErrorKind::Interrupted.into())
        });
        let timer = Timer::new(time::now() + Duration::from_millis(20));
        match select(pin!(spinning), timer).await {
            Either::Right(((), _)) => {} // the timeout fired: the loop ran its timers
            Either::Left((result, _)) => panic!("async_io returned {result:?}"),
        }
    });
}

#[test]
fn ready_with_an_interest_that_holds_no_direction_is_an_error() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let (reader, _writer) = pipe();
        let error = reader.ready(Interest::PRIORITY).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(
            error
                .to_string()
                .contains("READABLE, Interest::WRITABLE or both"),
            "{error}"
        );
    });
}

/// How many times an `async_io` whose syscall says `Interrupted` `interruptions` times
/// (then succeeds) gave the loop back (forced yields), and how many calls it made.
fn interrupted_then_done(interruptions: usize) -> (u64, usize) {
    let mut rt = executor::Runtime::new().unwrap();
    let calls = Rc::new(Cell::new(0));
    rt.block_on({
        let calls = calls.clone();
        async move {
            let (reader, mut writer) = pipe();
            writer.write_all(b"x").unwrap();
            reader
                .async_io(Interest::READABLE, |_| {
                    calls.set(calls.get() + 1);
                    if calls.get() <= interruptions {
                        Err(ErrorKind::Interrupted.into())
                    } else {
                        Ok(())
                    }
                })
                .await
                .unwrap();
        }
    });
    (rt.metrics().forced_yields, calls.get())
}

#[test]
fn three_interrupted_syscalls_are_retried_in_one_poll_and_a_fourth_gives_the_loop_back() {
    let _hang = hang_guard::start();
    assert_eq!(
        interrupted_then_done(1),
        (0, 2),
        "one signal: tried again at once"
    );
    assert_eq!(
        interrupted_then_done(3),
        (0, 4),
        "three: still within one poll"
    );
    assert_eq!(
        interrupted_then_done(4),
        (1, 5),
        "four: the loop gets its turn once"
    );
}
