//! Moving and removing an entry: cancel, and `reset` to a later, earlier or passed
//! deadline.

use super::*;

#[test]
fn cancel_unlinks_and_the_slot_bitmap_clears() {
    let mut wheel = Wheel::new();
    let keys = [10, 10, 10].map(|deadline| insert(&mut wheel, deadline));
    let bit = 1 << 10;
    // Middle, then head, then tail of the slot's list.
    assert_eq!(wheel.remove(keys[1]), Some(at(0, 10)));
    assert_eq!(wheel.levels[0].occupied, bit);
    assert_eq!(wheel.remove(keys[2]), Some(at(0, 10)));
    assert_eq!(wheel.levels[0].occupied, bit);
    assert_eq!(wheel.remove(keys[0]), Some(at(0, 10)));
    assert_eq!(wheel.levels[0].occupied, 0);
    assert_eq!(wheel.levels[0].lists[10].head, None);
    assert_eq!((wheel.pending(), wheel.next_expiration()), (0, None));
}

#[test]
fn cancelled_timer_does_not_fire_and_its_neighbours_do() {
    let mut wheel = Wheel::new();
    let keys = [300, 310, 320].map(|deadline| insert(&mut wheel, deadline));
    wheel.remove(keys[1]);
    let mut fired = advance(&mut wheel, 1000);
    fired.sort();
    assert_eq!(fired, vec![300, 320]);
}

#[test]
fn timers_sharing_a_deadline_fire_in_the_order_they_were_set() {
    // Straight onto level 0, and from levels 1 and 2 through one and two cascades.
    for deadline in [10, 200, 5_000] {
        let mut wheel = Wheel::new();
        let wakers: Vec<_> = (0..4).map(|_| counting_waker()).collect();
        for (_, waker) in &wakers {
            wheel.insert(deadline, waker.clone());
        }
        let mut fired = Vec::new();
        while let Some(next) = wheel.next_expiration() {
            wheel.advance(next, &mut fired);
        }
        let order: Vec<usize> = fired
            .iter()
            .map(|f| {
                let waker = f.waker.as_ref().unwrap();
                wakers.iter().position(|(_, w)| w.will_wake(waker)).unwrap()
            })
            .collect();
        assert_eq!(order, [0, 1, 2, 3], "deadline {deadline}");
    }
}

#[test]
#[should_panic(expected = "only valid until it is removed")]
fn remove_of_an_unknown_key_panics_with_a_clear_message() {
    let mut wheel = Wheel::new();
    let key = insert(&mut wheel, 10);
    wheel.remove(key);
    wheel.remove(key);
}

#[test]
fn reset_moves_a_pending_timer_and_its_waker_later_or_earlier() {
    for new_deadline in [5_000, 20] {
        let mut wheel = Wheel::new();
        let (counter, waker) = counting_waker();
        let key = wheel.insert(300, waker);
        assert!(wheel.reset(key, new_deadline).is_none(), "not due yet");
        assert_eq!(wheel.location(key), Some(placement(0, new_deadline)));
        assert_eq!(wheel.pending(), 1);
        assert!(advance(&mut wheel, new_deadline - 1).is_empty());
        let mut fired = Vec::new();
        wheel.advance(new_deadline, &mut fired);
        assert_eq!(fired.len(), 1);
        fired.pop().unwrap().waker.unwrap().wake();
        assert_eq!(counter.wakes(), 1, "the waker moved with the timer");
    }
}

#[test]
fn reset_to_a_passed_deadline_fires_at_once_and_hands_the_waker_back() {
    let mut wheel = Wheel::new();
    advance(&mut wheel, 100);
    let (counter, waker) = counting_waker();
    let key = wheel.insert(500, waker);
    let due = wheel.reset(key, 100).expect("due: the caller wakes it");
    assert!(wheel.is_fired(key));
    assert_eq!((wheel.pending(), wheel.next_expiration()), (0, None));
    due.wake();
    assert_eq!(counter.wakes(), 1);
}

#[test]
fn reset_revives_a_fired_timer_which_takes_its_next_waker() {
    let mut wheel = Wheel::new();
    let key = insert(&mut wheel, 10);
    assert_eq!(advance(&mut wheel, 10), vec![10]);
    // Fired and woken, but its owner has not polled yet: moved to a later tick.
    assert!(wheel.reset(key, 50).is_none());
    assert!(!wheel.is_fired(key));
    let (counter, waker) = counting_waker();
    wheel.set_waker(key, &waker); // the owner's poll
    let mut fired = Vec::new();
    wheel.advance(50, &mut fired);
    fired.pop().unwrap().waker.unwrap().wake();
    assert_eq!(counter.wakes(), 1);
}
