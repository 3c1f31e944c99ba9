//! The wheel's tests: placement arithmetic, firing on time, cancel, reset, far
//! deadlines and `NEVER`, and a property test against a sorted-map model.
use super::*;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;

use proptest::prelude::*;

/// Three years of milliseconds: past the top level's 2.18 years.
const THREE_YEARS: u64 = 3 * 365 * 24 * 60 * 60 * 1000;

/// A waker that counts how often it is woken.
struct CountingWaker(AtomicUsize);

impl CountingWaker {
    fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    (counter.clone(), Waker::from(counter))
}

fn insert(wheel: &mut Wheel, deadline: u64) -> TimerKey {
    wheel.insert(deadline, Waker::noop().clone())
}

/// Advances and returns the deadlines that fired.
fn advance(wheel: &mut Wheel, now: u64) -> Vec<u64> {
    let mut fired = Vec::new();
    wheel.advance(now, &mut fired);
    fired.iter().map(|f| f.deadline).collect()
}

fn at(level: usize, slot: usize) -> Location {
    Location { level, slot }
}

// --- placement arithmetic ---

#[test]
fn entry_1_tick_ahead_goes_to_level_0() {
    assert_eq!(placement(0, 1), at(0, 1));
}

#[test]
fn entry_63_ticks_ahead_stays_on_level_0() {
    assert_eq!(placement(0, 63), at(0, 63));
}

#[test]
fn entry_64_ticks_ahead_goes_to_level_1() {
    assert_eq!(placement(0, 64), at(1, 1));
}

#[test]
fn entry_4096_ticks_ahead_goes_to_level_2() {
    assert_eq!(placement(0, 4096), at(2, 1));
}

#[test]
fn crossing_an_aligned_boundary_picks_the_level_not_the_distance() {
    // One tick apart, but 64 starts a new level-0 turn.
    assert_eq!(placement(63, 64), at(1, 1));
    assert_eq!(placement(64, 65), at(0, 1));
}

#[test]
fn each_level_spans_64_slots_of_64_to_the_level_ticks() {
    for level in 0..LEVELS {
        let width = slot_width(level);
        assert_eq!(
            placement(0, width),
            at(level, 1),
            "level {level} first slot"
        );
        assert_eq!(
            placement(0, 64 * width - 1),
            at(level, 63),
            "level {level} last slot"
        );
    }
}

#[test]
fn entry_beyond_the_top_level_goes_to_overflow() {
    assert_eq!(placement(0, TOP_RANGE - 1), at(5, 63));
    assert_eq!(placement(0, TOP_RANGE), OVERFLOW_LIST);
    assert_eq!(placement(0, THREE_YEARS), OVERFLOW_LIST);
    assert_eq!(placement(0, u64::MAX / 2), OVERFLOW_LIST);
}

#[test]
fn insert_reports_the_placement_as_its_location() {
    let mut wheel = Wheel::new();
    let key = insert(&mut wheel, 5 * 64 + 3);
    assert_eq!(wheel.location(key), Some(at(1, 5)));
    assert_eq!(wheel.deadline(key), 5 * 64 + 3);
}

// --- firing ---

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

// --- cancel ---

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

// --- reset ---

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

// --- NEVER ---

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

// --- far deadlines and the overflow list ---

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

// --- next_expiration ---

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

// --- property test against a sorted map ---

#[derive(Debug, Clone)]
enum Op {
    /// Insert a timer due this many ticks after `elapsed`.
    Insert(u64),
    /// Remove a live key (pending or fired), picked by this number.
    Remove(usize),
    /// Advance by this many ticks.
    Advance(u64),
    /// Advance exactly to `next_expiration()`.
    AdvanceToNext,
    /// Move a live key (picked by the number) to this many ticks after `elapsed`.
    Reset(usize, u64),
    /// Insert a timer due at `NEVER`.
    InsertNever,
}

/// Ticks from 0 to 2^40, mostly small.
fn delta() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0..=130u64,
        3 => 0..=10_000u64,
        2 => 0..=1u64 << 24,
        1 => 0..=1u64 << 40,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => delta().prop_map(Op::Insert),
        2 => any::<usize>().prop_map(Op::Remove),
        3 => delta().prop_map(Op::Advance),
        2 => Just(Op::AdvanceToNext),
        2 => (any::<usize>(), delta()).prop_map(|(pick, delta)| Op::Reset(pick, delta)),
        1 => Just(Op::InsertNever),
    ]
}

/// One timer as the model sees it.
struct Modelled {
    deadline: u64,
    wakes: Arc<CountingWaker>,
    /// How often its waker must have been woken: once per firing by
    /// `advance` or by a `reset` to a passed deadline while it held a waker;
    /// never by `insert`.
    expected_wakes: usize,
    fired: bool,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn wheel_agrees_with_a_sorted_map_model(
        start in prop_oneof![Just(0u64), 0..=u64::MAX / 4],
        ops in prop::collection::vec(op(), 1..100),
    ) {
        let mut wheel = Wheel::new();
        advance(&mut wheel, start);
        // Every live key (pending or fired, not removed), by slab key.
        let mut model: BTreeMap<usize, Modelled> = BTreeMap::new();
        let mut fired = Vec::new();
        for op in ops {
            let now = match op {
                Op::Insert(_) | Op::InsertNever => {
                    let deadline = match op {
                        Op::Insert(delta) => wheel.elapsed() + delta,
                        _ => NEVER,
                    };
                    let (wakes, waker) = counting_waker();
                    let key = wheel.insert(deadline, waker);
                    let fired_at_once = deadline == wheel.elapsed();
                    prop_assert_eq!(wheel.is_fired(key), fired_at_once);
                    let old = model.insert(key.0, Modelled {
                        deadline, wakes, expected_wakes: 0, fired: fired_at_once,
                    });
                    prop_assert!(old.is_none(), "a live key was reused");
                    None
                }
                Op::Reset(pick, delta) => {
                    if let Some(&key) = model.keys().nth(pick % model.len().max(1)) {
                        let deadline = wheel.elapsed() + delta;
                        let due = wheel.reset(TimerKey(key), deadline);
                        let timer = model.get_mut(&key).unwrap();
                        // Only a pending timer still holds a waker to hand back.
                        prop_assert_eq!(due.is_some(), delta == 0 && !timer.fired);
                        if let Some(waker) = due {
                            waker.wake();
                            timer.expected_wakes += 1;
                        }
                        timer.deadline = deadline;
                        timer.fired = delta == 0;
                        // A revived timer gets its waker back, as its owner's poll would.
                        let (wakes, waker) = counting_waker();
                        wheel.set_waker(TimerKey(key), &waker);
                        if !timer.fired {
                            (timer.wakes, timer.expected_wakes) = (wakes, 0);
                        }
                    }
                    None
                }
                Op::Remove(pick) => {
                    if let Some(&key) = model.keys().nth(pick % model.len().max(1)) {
                        let expected = wheel.location(TimerKey(key));
                        prop_assert_eq!(expected.is_none(), model[&key].fired);
                        prop_assert_eq!(wheel.remove(TimerKey(key)), expected);
                        model.remove(&key);
                    }
                    None
                }
                Op::Advance(delta) => Some(wheel.elapsed() + delta),
                Op::AdvanceToNext => wheel.next_expiration(),
            };
            if let Some(now) = now {
                fired.clear();
                wheel.advance(now, &mut fired);
                prop_assert_eq!(wheel.elapsed(), now);
                for timer in fired.drain(..) {
                    prop_assert!(timer.deadline <= now, "fired early");
                    timer.waker.expect("a fired timer hands back its waker").wake();
                }
                for (&key, timer) in model.iter_mut() {
                    if !timer.fired && timer.deadline <= now {
                        timer.fired = true;
                        timer.expected_wakes += 1;
                    }
                    prop_assert_eq!(wheel.is_fired(TimerKey(key)), timer.fired);
                    // Exactly the due timers, each exactly once.
                    prop_assert_eq!(timer.wakes.wakes(), timer.expected_wakes);
                }
            }
            let earliest = model
                .values()
                .filter(|t| !t.fired && t.deadline != NEVER)
                .map(|t| t.deadline)
                .min();
            prop_assert_eq!(wheel.pending(), model.values().filter(|t| !t.fired).count());
            match (wheel.next_expiration(), earliest) {
                (None, None) => {}
                (Some(next), Some(earliest)) => {
                    prop_assert!(wheel.elapsed() < next && next <= earliest,
                        "next_expiration {} not in ({}, {}]", next, wheel.elapsed(), earliest);
                }
                (next, earliest) => {
                    prop_assert!(false, "next_expiration {:?}, earliest {:?}", next, earliest);
                }
            }
        }
    }
}
