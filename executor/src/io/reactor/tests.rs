//! The reactor's unit tests: stale tokens, waiter entries parked, woken, removed.
use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;

/// A waker that counts its wakes.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn udp_source() -> mio::net::UdpSocket {
    mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap()
}

/// A reactor with one UDP socket registered (its `mio::Waker` kept alive too).
fn one_source() -> (Reactor, mio::Waker, mio::net::UdpSocket, Token) {
    let (reactor, waker) = Reactor::new(Rc::new(Observers::quiet())).unwrap();
    let mut source = udp_source();
    let token = reactor
        .register(&mut source, Interest::READABLE, FirstTry::Now)
        .unwrap();
    (reactor, waker, source, token)
}

/// Polls `waiter`'s read readiness with `counter`'s waker.
fn poll_read(
    reactor: &Reactor,
    token: Token,
    waiter: &mut Waiter,
    counter: &Arc<Counter>,
) -> Poll<()> {
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    reactor.poll_ready(token, Direction::Read, waiter, &mut cx)
}

/// Parks a counting waker on `token` for reading (after a pretend `WouldBlock`).
fn park_reader(reactor: &Reactor, token: Token) -> (Arc<Counter>, Waiter) {
    let counter = Arc::new(Counter::default());
    let mut waiter = Waiter::default();
    reactor.clear_ready(token, Direction::Read);
    assert!(poll_read(reactor, token, &mut waiter, &counter).is_pending());
    (counter, waiter)
}

/// How many entries the read list of `token`'s slot holds.
fn readers(reactor: &Reactor, token: Token) -> usize {
    slot_of(&mut reactor.slots.borrow_mut(), token)
        .read
        .waiters
        .len()
}

const READABLE: Readiness = Readiness {
    read: Known::Ready,
    write: Known::Drained,
    urgent: false,
};

/// What epoll reports for a TCP socket that received urgent data (`EPOLLIN|EPOLLPRI`).
const READABLE_URGENT: Readiness = Readiness {
    read: Known::Ready,
    write: Known::Drained,
    urgent: true,
};

/// Whether `token`'s read side is remembered as worth trying.
fn readable(reactor: &Reactor, token: Token) -> bool {
    reactor.side_state(token, Direction::Read).ready
}

#[test]
fn a_stale_event_for_a_reused_key_does_not_wake_the_new_owner() {
    let (reactor, _waker) = Reactor::new(Rc::new(Observers::quiet())).unwrap();
    let mut old_source = udp_source();
    let old = reactor
        .register(&mut old_source, Interest::READABLE, FirstTry::Now)
        .unwrap();
    reactor.deregister(old, &mut old_source);

    let mut new_source = udp_source();
    let new = reactor
        .register(&mut new_source, Interest::READABLE, FirstTry::Now)
        .unwrap();
    assert_eq!(new.0 & KEY_MASK, old.0 & KEY_MASK, "the slab key is reused");
    assert_ne!(new, old, "but the token is not");
    let (woken, _waiter) = park_reader(&reactor, new);

    let mut to_wake = Vec::new();
    assert!(!reactor.dispatch(old, READABLE, &mut to_wake), "stale");
    assert!(to_wake.is_empty());
    assert!(reactor.dispatch(new, READABLE, &mut to_wake), "current");
    wake_all(&mut to_wake);
    assert_eq!(woken.0.load(Ordering::SeqCst), 1);
    reactor.deregister(new, &mut new_source);
}

#[test]
fn a_waiter_polled_twice_is_parked_once_and_woken_once() {
    let (reactor, _waker, mut source, token) = one_source();
    let (counter, mut waiter) = park_reader(&reactor, token);
    assert!(poll_read(&reactor, token, &mut waiter, &counter).is_pending());
    assert_eq!(readers(&reactor, token), 1, "one entry per operation");
    reactor.wake(token, Direction::Read);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    let polled = poll_read(&reactor, token, &mut waiter, &counter);
    assert!(polled.is_ready(), "the event is remembered");
    reactor.remove_waiter(token, Direction::Read, &mut waiter);
    assert_eq!(readers(&reactor, token), 0);
    reactor.deregister(token, &mut source);
}

#[test]
fn a_removed_waiter_leaves_nothing_behind_and_is_not_woken() {
    let (reactor, _waker, mut source, token) = one_source();
    let (dropped, mut dropped_waiter) = park_reader(&reactor, token);
    let (kept, _kept_waiter) = park_reader(&reactor, token);
    // The operation that parked first is dropped (its timeout won, say).
    reactor.remove_waiter(token, Direction::Read, &mut dropped_waiter);
    assert_eq!(readers(&reactor, token), 1);
    reactor.wake(token, Direction::Read);
    assert_eq!(dropped.0.load(Ordering::SeqCst), 0, "its waker is gone");
    assert_eq!(kept.0.load(Ordering::SeqCst), 1);
    reactor.deregister(token, &mut source);
}

#[test]
fn a_woken_waiter_parks_again_in_its_own_entry() {
    let (reactor, _waker, mut source, token) = one_source();
    let (counter, mut waiter) = park_reader(&reactor, token);
    reactor.wake(token, Direction::Read);
    // Woken, but the retry says `WouldBlock` again (another reader took the data).
    reactor.clear_ready(token, Direction::Read);
    assert!(poll_read(&reactor, token, &mut waiter, &counter).is_pending());
    assert_eq!(readers(&reactor, token), 1);
    reactor.wake(token, Direction::Read);
    assert_eq!(counter.0.load(Ordering::SeqCst), 2, "woken again");
    reactor.deregister(token, &mut source);
}

#[test]
fn a_write_event_leaves_readers_parked() {
    let (reactor, _waker, mut source, token) = one_source();
    let (reader, _waiter) = park_reader(&reactor, token);
    reactor.wake(token, Direction::Write);
    assert_eq!(reader.0.load(Ordering::SeqCst), 0);
    reactor.deregister(token, &mut source);
}

#[test]
fn deregistering_a_source_wakes_every_waiter_still_parked_on_it() {
    let (reactor, _waker, mut source, token) = one_source();
    let (reader, _reader_waiter) = park_reader(&reactor, token);
    let writer = Arc::new(Counter::default());
    let mut writer_waiter = Waiter::default();
    reactor.clear_ready(token, Direction::Write);
    let waker = Waker::from(writer.clone());
    let parked = reactor.poll_ready(
        token,
        Direction::Write,
        &mut writer_waiter,
        &mut Context::from_waker(&waker),
    );
    assert!(parked.is_pending());
    reactor.deregister(token, &mut source);
    assert_eq!(reader.0.load(Ordering::SeqCst), 1, "the reader hears it");
    assert_eq!(writer.0.load(Ordering::SeqCst), 1, "the writer hears it");
}

#[test]
fn a_short_read_clears_readiness_until_urgent_data_is_reported_then_never() {
    let (reactor, _waker, mut source, token) = one_source();
    reactor.clear_ready_after_short_transfer(token, Direction::Read);
    assert!(!readable(&reactor, token), "a short read proved it drained");

    let mut to_wake = Vec::new();
    reactor.dispatch(token, READABLE_URGENT, &mut to_wake);
    reactor.clear_ready_after_short_transfer(token, Direction::Read);
    assert!(
        readable(&reactor, token),
        "it may have stopped at the urgent mark"
    );
    reactor.dispatch(token, READABLE, &mut to_wake);
    reactor.clear_ready_after_short_transfer(token, Direction::Read);
    assert!(
        readable(&reactor, token),
        "for the rest of the source's life"
    );
    reactor.clear_ready(token, Direction::Read);
    assert!(!readable(&reactor, token), "a WouldBlock still clears");
    reactor.deregister(token, &mut source);
}

#[test]
fn a_clear_made_with_an_old_tick_keeps_the_readiness_an_event_brought_since() {
    let (reactor, _waker, mut source, token) = one_source();
    let before = reactor.side_state(token, Direction::Read).tick;
    let mut to_wake = Vec::new();
    reactor.dispatch(token, READABLE, &mut to_wake);
    reactor.clear_ready_unless_raised_since(token, Direction::Read, before);
    assert!(readable(&reactor, token), "the new event's edge is kept");
    let now = reactor.side_state(token, Direction::Read).tick;
    reactor.clear_ready_unless_raised_since(token, Direction::Read, now);
    assert!(!readable(&reactor, token), "no event since: cleared");
    reactor.deregister(token, &mut source);
}

#[test]
fn a_source_registered_to_wait_for_its_first_event_starts_drained_both_ways() {
    let (reactor, _waker) = Reactor::new(Rc::new(Observers::quiet())).unwrap();
    let mut source = udp_source();
    let interest = Interest::READABLE | Interest::WRITABLE;
    let token = reactor
        .register(&mut source, interest, FirstTry::AfterFirstEvent)
        .unwrap();
    assert!(!reactor.side_state(token, Direction::Read).ready);
    assert!(!reactor.side_state(token, Direction::Write).ready);
    reactor.deregister(token, &mut source);
}

#[test]
fn tokens_show_as_key_dot_generation() {
    assert_eq!(token_name(Token((5 << KEY_BITS) | 3)).to_string(), "3.5");
}

#[test]
fn the_debug_view_counts_the_registered_sources() {
    let (reactor, _waker, _source, _token) = one_source();
    assert_eq!(format!("{reactor:?}"), "Reactor { sources: 1, .. }");
}
