//! Placement arithmetic: which level and slot a deadline lands in.

use super::*;

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
