//! Firing: timers fire at their tick, in order, and `next_expiration` says when.

use super::*;

#[test]
fn fires_at_exact_deadline_not_before() {
    let mut wheel = Wheel::new();
    let key = insert(&mut wheel, 1000);
    assert!(advance(&mut wheel, 999).is_empty());
    assert!(!wheel.is_fired(key));
    assert_eq!(advance(&mut wheel, 1000), vec![1000]);
    assert!(wheel.is_fired(key));
    assert_eq!(wheel.location(key), None);
    assert_eq!(wheel.pending(), 0);
}

#[test]
fn cascade_from_level_2_to_level_0_fires_exactly_on_time() {
    let mut wheel = Wheel::new();
    let deadline = 3 * 4096 + 5 * 64 + 7;
    let key = insert(&mut wheel, deadline);
    assert_eq!(wheel.location(key), Some(at(2, 3)));
    // Walking one tick at a time, the timer moves down as each slot begins.
    for now in 1..deadline {
        assert!(advance(&mut wheel, now).is_empty(), "fired early at {now}");
        let expected = match now {
            ..12288 => at(2, 3),
            12288..12608 => at(1, 5),
            _ => at(0, 7),
        };
        assert_eq!(wheel.location(key), Some(expected), "at tick {now}");
    }
    let mut fired = Vec::new();
    wheel.advance(deadline, &mut fired);
    assert_eq!(fired.len(), 1);
    assert_eq!((fired[0].deadline, fired[0].location), (deadline, at(0, 7)));
}

#[test]
fn jumping_past_a_deadline_fires_it_from_its_high_slot() {
    let mut wheel = Wheel::new();
    insert(&mut wheel, 3 * 4096 + 5);
    let mut fired = Vec::new();
    wheel.advance(1_000_000, &mut fired);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].location, at(2, 3));
    assert_eq!(wheel.elapsed(), 1_000_000);
}

#[test]
fn insert_of_a_past_deadline_is_fired_at_once() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, 500);
    let (counter, waker) = counting_waker();
    let past = wheel.insert(499, waker.clone());
    let now = wheel.insert(500, waker);
    assert!(wheel.is_fired(past) && wheel.is_fired(now));
    assert_eq!(wheel.pending(), 0);
    assert_eq!(wheel.next_expiration(), None);
    assert!(advance(&mut wheel, 10_000).is_empty());
    assert_eq!(counter.wakes(), 0, "the wheel never wakes anyone itself");
    assert_eq!(wheel.remove(past), None);
}

#[test]
fn fired_hands_back_the_waker_without_waking_it() {
    let mut wheel = Wheel::new();
    let (counter, waker) = counting_waker();
    wheel.insert(70, waker);
    let mut fired = Vec::new();
    wheel.advance(70, &mut fired);
    assert_eq!(counter.wakes(), 0);
    fired.pop().unwrap().waker.unwrap().wake();
    assert_eq!(counter.wakes(), 1);
}

#[test]
fn set_waker_replaces_only_a_waker_for_another_task() {
    let mut wheel = Wheel::new();
    let (first, first_waker) = counting_waker();
    let (second, second_waker) = counting_waker();
    let key = wheel.insert(10, first_waker.clone());
    wheel.set_waker(key, &first_waker);
    wheel.set_waker(key, &second_waker);
    let mut fired = Vec::new();
    wheel.advance(10, &mut fired);
    fired.pop().unwrap().waker.unwrap().wake();
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
    // Once fired there is nothing to wake; setting a waker is harmless.
    wheel.set_waker(key, &first_waker);
    assert!(wheel.is_fired(key));
}

#[test]
fn fired_entry_keeps_its_key_until_removed() {
    let mut wheel = Wheel::new();
    let first = insert(&mut wheel, 1);
    advance(&mut wheel, 1);
    let second = insert(&mut wheel, 2);
    assert_ne!(first, second, "a fired key must not be reused while held");
    assert!(wheel.is_fired(first));
    assert_eq!(wheel.remove(first), None);
    assert_eq!(wheel.remove(second), Some(at(0, 2)));
}

#[test]
fn advance_backwards_is_a_no_op() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, 100);
    let key = insert(&mut wheel, 150);
    assert!(advance(&mut wheel, 50).is_empty());
    assert_eq!(wheel.elapsed(), 100);
    assert_eq!(wheel.location(key), Some(at(1, 2)));
}

#[test]
fn empty_wheel_has_no_next_expiration() {
    assert_eq!(Wheel::new().next_expiration(), None);
}

#[test]
fn next_expiration_is_never_later_than_the_earliest_deadline() {
    let deadlines = [
        1,
        63,
        64,
        65,
        4095,
        4097,
        70_000,
        TOP_RANGE + 1,
        THREE_YEARS,
    ];
    for elapsed in [0, 1, 63, 64, 5000, TOP_RANGE - 1] {
        for &delta in &deadlines {
            let mut wheel = Wheel::new();
            advance(&mut wheel, elapsed);
            insert(&mut wheel, elapsed + delta);
            let next = wheel.next_expiration().unwrap();
            assert!(
                elapsed < next && next <= elapsed + delta,
                "{elapsed} + {delta}: {next}"
            );
        }
    }
}

#[test]
fn debug_shows_the_pending_and_the_fired_but_not_removed() {
    let mut wheel = Wheel::new();
    let fired = insert(&mut wheel, 10);
    let _waiting = insert(&mut wheel, 5_000);
    insert(&mut wheel, 7_000);
    advance(&mut wheel, 10);
    let shown = format!("{wheel:?}");
    assert!(shown.contains("pending: 2"), "{shown}");
    assert!(shown.contains("fired_not_removed: 1"), "{shown}");
    wheel.remove(fired);
    assert!(format!("{wheel:?}").contains("fired_not_removed: 0"));
}
