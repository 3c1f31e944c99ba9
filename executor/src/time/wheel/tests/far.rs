//! Far deadlines: the overflow list past the top level, and `NEVER`.

use super::*;

/// Steps `advance` from one `next_expiration` to the next, checking that
/// nothing fires before `deadline`; returns how many steps it took.
fn step_until_fired(wheel: &mut Wheel, key: TimerKey, deadline: u64) -> usize {
    let mut steps = 0;
    while let Some(next) = wheel.next_expiration() {
        assert!(
            next <= deadline,
            "next_expiration {next} is past the deadline"
        );
        let fired = advance(wheel, next);
        steps += 1;
        if next < deadline {
            assert!(fired.is_empty(), "fired early at {next}");
        } else {
            assert_eq!(fired, vec![deadline]);
        }
    }
    assert!(wheel.is_fired(key));
    steps
}

#[test]
fn three_year_deadline_goes_to_overflow_and_fires_on_time_in_steps() {
    let mut wheel = Wheel::new();
    let key = insert(&mut wheel, THREE_YEARS);
    assert_eq!(wheel.location(key), Some(OVERFLOW_LIST));
    let steps = step_until_fired(&mut wheel, key, THREE_YEARS);
    assert!(steps <= LEVELS + 1, "took {steps} steps");
}

#[test]
fn three_year_deadline_fires_on_time_in_one_big_jump() {
    let mut wheel = Wheel::new();
    let key = insert(&mut wheel, THREE_YEARS);
    assert!(advance(&mut wheel, THREE_YEARS - 1).is_empty());
    assert!(!wheel.is_fired(key));
    assert_eq!(advance(&mut wheel, THREE_YEARS), vec![THREE_YEARS]);
}

#[test]
fn half_of_u64_max_goes_to_overflow_and_fires_on_time_in_steps() {
    let mut wheel = Wheel::new();
    let deadline = u64::MAX / 2;
    let key = insert(&mut wheel, deadline);
    assert_eq!(wheel.location(key), Some(OVERFLOW_LIST));
    let steps = step_until_fired(&mut wheel, key, deadline);
    assert!(steps <= LEVELS + 1, "took {steps} steps");
}

#[test]
fn half_of_u64_max_fires_on_time_in_big_jumps() {
    let mut wheel = Wheel::new();
    let deadline = u64::MAX / 2;
    let key = insert(&mut wheel, deadline);
    let stride = 1 << 57;
    let mut now = 0;
    while now + stride < deadline {
        now += stride;
        assert!(advance(&mut wheel, now).is_empty(), "fired early at {now}");
    }
    assert!(advance(&mut wheel, deadline - 1).is_empty());
    assert!(!wheel.is_fired(key));
    assert_eq!(advance(&mut wheel, deadline), vec![deadline]);
}

#[test]
fn overflow_entry_moves_into_the_wheel_when_its_turn_begins() {
    let mut wheel = Wheel::new();
    let key = insert(&mut wheel, TOP_RANGE + 100);
    assert_eq!(wheel.next_expiration(), Some(TOP_RANGE));
    assert!(advance(&mut wheel, TOP_RANGE).is_empty());
    assert_eq!(wheel.location(key), Some(at(1, 1)));
}

#[test]
fn overflow_entries_in_later_turns_stay_in_overflow() {
    let mut wheel = Wheel::new();
    let near = insert(&mut wheel, TOP_RANGE + 5);
    let far = insert(&mut wheel, 3 * TOP_RANGE + 5);
    assert_eq!(advance(&mut wheel, TOP_RANGE + 5), vec![TOP_RANGE + 5]);
    assert!(wheel.is_fired(near));
    assert_eq!(wheel.location(far), Some(OVERFLOW_LIST));
    assert_eq!(wheel.next_expiration(), Some(3 * TOP_RANGE));
}

#[test]
fn a_timer_at_never_is_pending_but_never_reported_nor_fired() {
    let mut wheel = Wheel::new();
    let never = insert(&mut wheel, NEVER);
    assert_eq!(wheel.location(never), Some(NEVER_LIST));
    assert_eq!((wheel.pending(), wheel.next_expiration()), (1, None));
    // Beside a far timer in the overflow list: only that one is reported.
    let far = insert(&mut wheel, THREE_YEARS);
    assert!(step_until_fired(&mut wheel, far, THREE_YEARS) <= LEVELS + 1);
    assert!(advance(&mut wheel, NEVER - 1).is_empty());
    assert!(!wheel.is_fired(never));
    assert_eq!(wheel.next_expiration(), None);
}

#[test]
fn a_timer_at_never_can_be_reset_to_a_deadline_that_comes() {
    let mut wheel = Wheel::new();
    let key = insert(&mut wheel, NEVER);
    assert!(wheel.reset(key, 40).is_none());
    assert_eq!(wheel.next_expiration(), Some(40));
    assert_eq!(advance(&mut wheel, 40), vec![40]);
}
