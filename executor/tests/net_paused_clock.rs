//! The paused clock never jumps over a ready socket: before it jumps to the next
//! timer, the loop polls the reactor with a zero timeout (run_once phases 3 and 5).

#[path = "../../tests/hang_guard/mod.rs"]
mod hang_guard;

mod net_support;

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use executor::net::TcpListener;
use executor::time::{self, Timer};
use executor::{Runtime, spawn};
use net_support::localhost;

const LONG: Duration = Duration::from_secs(3600);

fn paused() -> Runtime {
    Runtime::builder()
        .paused_clock(true)
        .stall_threshold(None)
        .build()
        .unwrap()
}

#[test]
fn data_written_while_a_read_waits_beats_a_long_sleep() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let listener = TcpListener::bind(localhost()).unwrap();
        let mut sender = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (receiver, _) = listener.accept().await.unwrap();
        let start = time::now();
        let slept = Rc::new(Cell::new(false));
        spawn({
            let slept = slept.clone();
            async move {
                Timer::new(time::now() + LONG).await;
                slept.set(true);
            }
        });
        // Polled after the reader has parked, in the same batch: by the time the loop
        // is idle, the data is in the receiver's buffer. (The sleep lets loopback
        // deliver it even if the kernel defers that; it usually happens inside write.)
        spawn(async move {
            sender.write_all(b"first").unwrap();
            std::thread::sleep(Duration::from_millis(5));
            sender
        });
        let mut buf = [0; 8];
        let read = receiver.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..read], b"first");
        assert_eq!(time::now(), start, "the clock did not jump");
        assert!(!slept.get());
    });
}

#[test]
fn data_from_another_thread_beats_a_long_sleep() {
    let _hang = hang_guard::start();
    paused().block_on(async {
        let listener = TcpListener::bind(localhost()).unwrap();
        let mut sender = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (receiver, _) = listener.accept().await.unwrap();
        let start = time::now();
        spawn(Timer::new(start + LONG));
        // The thread holds the clock while it works, as a blocking job does: without
        // the hold the loop would see nothing ready and jump an hour ahead at once.
        // It writes *before* releasing the hold, so the loop either sleeps in the
        // reactor until the data's event, or (hold already gone) finds the event in
        // its zero-timeout poll before it may jump.
        let hold = time::hold_clock();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.write_all(b"late").unwrap();
            drop(hold);
            sender
        });
        let mut buf = [0; 8];
        let read = receiver.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..read], b"late");
        assert_eq!(time::now(), start, "the clock did not jump");
        drop(thread.join().unwrap());
    });
}
