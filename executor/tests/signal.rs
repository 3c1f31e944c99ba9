//! Signals on the reactor: an arrival wakes `recv`, arrivals between two `recv`s count
//! as one, every listener (on any runtime) hears each arrival, forbidden signals are
//! refused, and `ctrl_c` lets a process that gets SIGINT shut down gracefully instead
//! of dying (checked in a child process: the test binary run again). A listener polled
//! where its runtime is not running reports no arrival that did not happen.

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::io::ErrorKind;
use std::pin::pin;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use executor::Runtime;
use executor::signal::unix::{SignalKind, signal};
use net_support::{poll_once, within};

const LIMIT: Duration = Duration::from_secs(10);

fn raise(signal: i32) {
    // SAFETY: raise(3) with a valid signal number; a handler is installed for it.
    let status = unsafe { libc::raise(signal) };
    assert_eq!(status, 0, "raise({signal})");
}

#[test]
fn a_raised_signal_wakes_recv_and_arrivals_between_recvs_count_as_one() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let mut usr1 = signal(SignalKind::from_raw(libc::SIGUSR1)).unwrap();
        assert!(
            poll_once(pin!(usr1.recv())).await.is_pending(),
            "nothing yet"
        );
        for _ in 0..3 {
            raise(libc::SIGUSR1);
        }
        assert_eq!(
            within(LIMIT, "recv after raise", usr1.recv()).await,
            Some(())
        );
        assert!(
            poll_once(pin!(usr1.recv())).await.is_pending(),
            "three arrivals before one recv are one"
        );
        raise(libc::SIGUSR1);
        assert_eq!(
            within(LIMIT, "recv after a new raise", usr1.recv()).await,
            Some(())
        );
    });
}

#[test]
fn listeners_on_two_runtimes_each_hear_every_arrival() {
    let _hang = hang_guard::start();
    let listening = Arc::new(Barrier::new(3));
    let listeners: Vec<_> = (0..2)
        .map(|_| {
            let listening = listening.clone();
            std::thread::spawn(move || {
                executor::block_on(async move {
                    let mut usr2 = signal(SignalKind::from_raw(libc::SIGUSR2)).unwrap();
                    listening.wait();
                    within(LIMIT, "each listener's recv", usr2.recv()).await
                })
            })
        })
        .collect();
    listening.wait();
    raise(libc::SIGUSR2);
    for listener in listeners {
        assert_eq!(listener.join().unwrap(), Some(()));
    }
}

#[test]
fn a_signal_no_handler_may_take_is_refused_with_a_clear_error() {
    let _hang = hang_guard::start();
    executor::block_on(async {
        let error = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("cannot be handled"), "{error}");
    });
}

/// The child's half of the test below: a "server" with work in flight waits for
/// Ctrl-C, then finishes its work and says what it drained.
fn serve_until_ctrl_c() {
    executor::block_on(async {
        let ctrl_c = executor::spawn(executor::signal::ctrl_c());
        let in_flight = executor::spawn(async {
            executor::time::Timer::new(executor::time::now() + Duration::from_millis(50)).await;
            "request"
        });
        executor::yield_now().await; // ctrl_c is listening now
        raise(libc::SIGINT);
        ctrl_c.await.unwrap().unwrap();
        println!("ctrl-c: stopped accepting");
        println!("drained: {}", in_flight.await.unwrap());
    });
}

#[test]
fn ctrl_c_in_a_child_process_shuts_down_gracefully_instead_of_dying() {
    let _hang = hang_guard::start();
    if std::env::var_os("GLASSBOX_CTRL_C_CHILD").is_some() {
        serve_until_ctrl_c();
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "ctrl_c_in_a_child_process_shuts_down_gracefully_instead_of_dying",
            "--nocapture",
        ])
        .env("GLASSBOX_CTRL_C_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the child did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(
        status.success(),
        "SIGINT killed the child: {status:?}\n{stdout}"
    );
    assert!(stdout.contains("ctrl-c: stopped accepting"), "{stdout}");
    assert!(stdout.contains("drained: request"), "{stdout}");
}

#[test]
fn a_signal_that_interrupts_the_loops_sleep_in_epoll_wait_is_not_an_error() {
    let _hang = hang_guard::start();
    // epoll_wait is never restarted after a handler runs: it fails with EINTR, which
    // the reactor must treat as "woke early", not as a broken poller.
    let (thread_of_loop, loop_thread) = std::sync::mpsc::channel();
    let interrupter = std::thread::spawn(move || {
        let target: libc::pthread_t = loop_thread.recv().unwrap();
        std::thread::sleep(Duration::from_millis(50)); // the loop is asleep by now
        // `target` stays alive until block_on returns, which waits for a 200 ms timer.
        // SAFETY: a live thread, and a signal with a handler installed (SIGPROF).
        let status = unsafe { libc::pthread_kill(target, libc::SIGPROF) };
        assert_eq!(status, 0, "pthread_kill");
    });
    executor::block_on(async move {
        // A listener installs the handler (so SIGPROF does not end the process); it
        // is never polled, so only the interrupted epoll_wait can see the signal.
        let _listening = signal(SignalKind::from_raw(libc::SIGPROF)).unwrap();
        // SAFETY: pthread_self has no preconditions.
        let this_thread = unsafe { libc::pthread_self() };
        thread_of_loop.send(this_thread).unwrap();
        let start = executor::time::now();
        executor::time::Timer::new(start + Duration::from_millis(200)).await;
        assert!(executor::time::now() - start >= Duration::from_millis(200));
    });
    interrupter.join().unwrap();
}

// SIGWINCH is raised by no other test in this binary: an arrival below is one of
// this file's own, or an invented one.

#[test]
fn a_listener_polled_on_another_runtime_reports_no_arrival_and_keeps_the_real_ones() {
    let _hang = hang_guard::start();
    let mut first = Runtime::new().unwrap();
    let mut winch = first
        .block_on(async { signal(SignalKind::from_raw(libc::SIGWINCH)) })
        .unwrap();
    let mut second = Runtime::new().unwrap();
    let polled = second.block_on(async { poll_once(pin!(winch.recv())).await });
    assert_eq!(polled, std::task::Poll::Ready(None), "no signal was sent");

    raise(libc::SIGWINCH);
    let polled = second.block_on(async { poll_once(pin!(winch.recv())).await });
    assert_eq!(polled, std::task::Poll::Ready(None), "not heard here");
    let heard =
        first.block_on(async { within(LIMIT, "recv on its own runtime", winch.recv()).await });
    assert_eq!(heard, Some(()), "the arrival was kept for its own runtime");
}

#[test]
fn a_reload_loop_on_a_listener_whose_runtime_was_dropped_ends_without_reloading() {
    let _hang = hang_guard::start();
    let mut first = Runtime::new().unwrap();
    let mut winch = first
        .block_on(async { signal(SignalKind::from_raw(libc::SIGWINCH)) })
        .unwrap();
    drop(first);
    let mut second = Runtime::new().unwrap();
    let reloads = second.block_on(async {
        let mut reloads = 0;
        // Capped, so that the invented arrivals this test guards against end it.
        while let Some(()) = winch.recv().await {
            reloads += 1;
            if reloads == 1000 {
                break;
            }
        }
        reloads
    });
    assert_eq!(reloads, 0, "no SIGWINCH was sent");
}
