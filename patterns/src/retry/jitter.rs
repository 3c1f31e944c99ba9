//! `retry`'s jitter: a small seeded pseudo-random generator, so the crate takes no
//! dependency for randomness.
//!
//! xorshift64* (Vigna, 2016) makes the numbers; SplitMix64 turns any seed, even 0,
//! 1, 2…, into a well-mixed non-zero state; an unseeded `retry` seeds from the clock
//! mixed with a call counter.
//!
//! # Ground rules
//! - The same seed gives the same waits (`Backoff::jitter_seed`, for tests).
//! - A wait is uniform in `[0, max]` and never above `max`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// xorshift64*: a tiny, fast, well-mixed pseudo-random generator (Vigna, 2016).
pub(super) struct XorShift {
    state: u64,
}

impl XorShift {
    pub(super) fn new(seed: u64) -> XorShift {
        // Scramble the seed so nearby seeds (0, 1, 2...) give unrelated sequences;
        // the state must never be 0 (xorshift would stay at 0 for ever).
        let state = splitmix64(seed);
        XorShift {
            state: if state == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                state
            },
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniformly random duration in `[0, max]`.
    pub(super) fn up_to(&mut self, max: Duration) -> Duration {
        // The top 53 bits make an f64 in [0, 1) with every value equally likely.
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        // `min`: float rounding must not carry a huge `max` one step past itself.
        Duration::try_from_secs_f64(max.as_secs_f64() * unit).map_or(max, |wait| wait.min(max))
    }
}

/// One step of SplitMix64, the usual way to turn any seed into a good state.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed that differs between runs and between calls in one run.
pub(super) fn seed_from_clock() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    nanos ^ splitmix64(CALLS.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_from_the_clock_differ_call_to_call_and_reach_every_bit() {
        // The call counter's SplitMix64 output spreads over all 64 bits, so two calls
        // in the same nanosecond still differ, and no bit of the seed is stuck (the
        // clock alone never sets the top ones: it is under 2^61 ns since 1970).
        let seeds: Vec<u64> = (0..64).map(|_| seed_from_clock()).collect();
        let distinct: std::collections::HashSet<_> = seeds.iter().collect();
        assert_eq!(distinct.len(), seeds.len());
        assert_eq!(seeds.iter().fold(0, |all, seed| all | seed), u64::MAX);
    }

    #[test]
    fn the_generator_is_xorshift64_star_seeded_by_splitmix64() {
        // Known answers, computed apart from this code: SplitMix64's first output for
        // seed 0 is the reference implementation's, and xorshift64* from state 1.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        let mut rng = XorShift { state: 1 };
        let outputs = [rng.next_u64(), rng.next_u64(), rng.next_u64()];
        assert_eq!(
            outputs,
            [
                0x47E4_CE4B_896C_DD1D,
                0xABCF_A6A8_E079_651D,
                0xB9D1_0D8F_EB73_1F57
            ]
        );
    }

    #[test]
    fn jitter_stays_below_the_delay_and_is_reproducible_from_a_seed() {
        let max = Duration::from_millis(100);
        let mut a = XorShift::new(42);
        let mut b = XorShift::new(42);
        for _ in 0..1_000 {
            let wait = a.up_to(max);
            assert!(wait <= max);
            assert_eq!(wait, b.up_to(max));
        }
        assert_eq!(XorShift::new(0).up_to(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn jitter_spreads_over_the_whole_range() {
        let max = Duration::from_millis(100);
        let mut rng = XorShift::new(1);
        let waits: Vec<Duration> = (0..1_000).map(|_| rng.up_to(max)).collect();
        assert!(waits.iter().any(|w| *w < Duration::from_millis(10)));
        assert!(waits.iter().any(|w| *w > Duration::from_millis(90)));
    }
}
