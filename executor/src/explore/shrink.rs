//! Shrinking a failing schedule: the fewest departures from FIFO that still fail.
//!
//! A schedule is its list of answers (`chooser.rs`), and its departures are the
//! answers that are not 0. Delta debugging (Zeller and Hildebrandt's `ddmin`, TSE
//! 2002) over the departures: try keeping only a part of them (every other answer
//! FIFO's), or all but a part; keep any trial that still fails; split finer when
//! none does; stop when no single departure can go.
//!
//! # Ground rules
//! - Deterministic: the trials run in a fixed order, and each run of the program is
//!   (paused clock, replayed answers).
//! - A trial is a replay by position: decision `i` gets the answer kept for it. A
//!   trial that changes an early decision may shift the later ones; it is kept only
//!   if it still fails, so the result always fails when replayed.
//! - At most `MAX_TRIALS` runs; what is left then is the smallest found so far.

/// The most runs a shrink makes.
const MAX_TRIALS: usize = 400;

/// The smallest set of departures (positions, with their answers) found for which
/// `fails` still holds, starting from `departures`, which fail.
pub(crate) fn shrink(
    departures: Vec<(usize, usize)>,
    mut fails: impl FnMut(&[(usize, usize)]) -> bool,
) -> Vec<(usize, usize)> {
    let mut kept = departures;
    let mut parts = 2;
    let mut trials = 0;
    while kept.len() >= 2 && trials < MAX_TRIALS {
        let chunk = kept.len().div_ceil(parts);
        let chunks: Vec<&[(usize, usize)]> = kept.chunks(chunk).collect();
        let mut reduced = None;
        // A part alone, then everything but a part.
        for candidate in chunks
            .iter()
            .map(|part| part.to_vec())
            .chain((0..chunks.len()).map(|skip| without(&chunks, skip)))
        {
            if candidate.len() == kept.len() || candidate.is_empty() {
                continue;
            }
            trials += 1;
            if fails(&candidate) {
                reduced = Some(candidate);
                break;
            }
            if trials >= MAX_TRIALS {
                break;
            }
        }
        match reduced {
            Some(smaller) => {
                // A part alone failing restarts with two parts; a complement keeps
                // the finer split.
                parts = if smaller.len() <= chunk {
                    2
                } else {
                    (parts - 1).max(2)
                };
                kept = smaller;
            }
            None if parts >= kept.len() => break,
            None => parts = (parts * 2).min(kept.len()),
        }
    }
    if kept.len() == 1 && trials < MAX_TRIALS && fails(&[]) {
        // Even FIFO fails: no departure is needed.
        return Vec::new();
    }
    kept
}

/// Every chunk but the `skip`-th, flattened.
fn without(chunks: &[&[(usize, usize)]], skip: usize) -> Vec<(usize, usize)> {
    chunks
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != skip)
        .flat_map(|(_, part)| part.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn departures(n: usize) -> Vec<(usize, usize)> {
        (0..n).map(|i| (i * 3, 1)).collect()
    }

    #[test]
    fn a_failure_that_needs_two_departures_shrinks_to_those_two() {
        let needed = [(9, 1), (27, 1)];
        let shrunk = shrink(departures(20), |kept| {
            needed.iter().all(|d| kept.contains(d))
        });
        assert_eq!(shrunk, needed);
    }

    #[test]
    fn a_failure_that_needs_one_shrinks_to_it() {
        let shrunk = shrink(departures(33), |kept| kept.contains(&(42, 1)));
        assert_eq!(shrunk, [(42, 1)]);
    }

    #[test]
    fn a_failure_that_needs_none_shrinks_to_nothing() {
        assert_eq!(shrink(departures(8), |_| true), Vec::new());
    }

    #[test]
    fn shrinking_is_deterministic() {
        let run = || {
            shrink(departures(40), |kept| {
                kept.len() >= 3 && kept.contains(&(30, 1))
            })
        };
        assert_eq!(run(), run());
    }
}
