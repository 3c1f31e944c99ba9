//! A property test: the wheel against a sorted-map model of the same operations.

use super::*;

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

/// Ticks (µs) from 0 to 2^40 (12.7 days), mostly small: within a level-0 turn
/// (64 µs), a few ms, seconds, days.
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
