//! Paired bootstrap over sentences: is system A's strict micro F1 really
//! higher than system B's on this test set, or could the difference come from
//! which sentences happened to be in it?

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{sentence_totals, Counts, Matching};
use crate::corpus::Span;

/// Resamples of every paired bootstrap exemplar reports (runs, compare, eval).
pub const BOOTSTRAP_SAMPLES: usize = 1000;

/// The difference F1(A) - F1(B) and its 95% percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// On the whole test set.
    pub difference: f64,
    /// 2.5th percentile of the resampled differences.
    pub low: f64,
    /// 97.5th percentile of the resampled differences.
    pub high: f64,
    /// Resamples drawn.
    pub samples: usize,
    /// Seed of the resampling.
    pub seed: u64,
}

/// Resamples the sentences `samples` times with replacement (the same draw for
/// both systems: the comparison is paired) and returns the percentile interval
/// of the strict micro F1 difference. The same inputs and seed give the same
/// interval on every platform (ChaCha8).
///
/// # Panics
/// If the three inputs differ in length or `samples` is 0.
pub fn bootstrap_difference(
    gold: &[Vec<Span>],
    pred_a: &[Vec<Span>],
    pred_b: &[Vec<Span>],
    samples: usize,
    seed: u64,
) -> Interval {
    assert!(
        gold.len() == pred_a.len() && gold.len() == pred_b.len(),
        "gold and both predictions must have as many sentences"
    );
    // Counting once per sentence makes each resample a sum of counts.
    let totals = |predicted: &[Vec<Span>]| -> Vec<Counts> {
        gold.iter()
            .zip(predicted)
            .map(|(g, p)| sentence_totals(g, p, Matching::Strict))
            .collect()
    };
    let (a, b) = (totals(pred_a), totals(pred_b));
    bootstrap(gold.len(), samples, seed, |sentences| {
        let (mut sum_a, mut sum_b) = (Counts::default(), Counts::default());
        for i in sentences {
            sum_a += a[i];
            sum_b += b[i];
        }
        sum_a.prf().f1 - sum_b.prf().f1
    })
}

/// The percentile bootstrap of any paired statistic of `n` items (sentences,
/// queries): `statistic` is given the items of one sample (indices, with
/// repetition) and returns the difference it measures; the interval is that
/// of `samples` resamples with replacement, `difference` its value on all
/// `n`. The same inputs and seed give the same interval on every platform.
///
/// # Panics
/// If `samples` is 0.
pub fn bootstrap(
    n: usize,
    samples: usize,
    seed: u64,
    statistic: impl Fn(&mut dyn Iterator<Item = usize>) -> f64,
) -> Interval {
    assert!(samples > 0, "the bootstrap needs at least one sample");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut resampled: Vec<f64> = (0..samples)
        .map(|_| statistic(&mut (0..n).map(|_| rng.random_range(0..n))))
        .collect();
    resampled.sort_by(f64::total_cmp);
    Interval {
        difference: statistic(&mut (0..n)),
        low: percentile(&resampled, 0.025),
        high: percentile(&resampled, 0.975),
        samples,
        seed,
    }
}

/// Linear interpolation between closest ranks (numpy's default) of sorted, non-empty values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let (below, fraction) = (position.floor() as usize, position.fract());
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::{gold_and_predicted, span};
    use proptest::prelude::*;

    type Spans = Vec<Vec<Span>>;

    /// 40 sentences with one entity each; A finds 30, B 20 (and one wrong).
    fn systems() -> (Spans, Spans, Spans) {
        let gold: Spans = (0..40).map(|_| vec![span(0, 4, "X")]).collect();
        let found = |count: usize| -> Spans {
            gold.iter()
                .enumerate()
                .map(|(i, g)| if i < count { g.clone() } else { vec![] })
                .collect()
        };
        let (a, mut b) = (found(30), found(20));
        b[39] = vec![span(5, 6, "X")];
        (gold, a, b)
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let values: Vec<f64> = (0..10).map(f64::from).collect();
        // numpy.percentile(range(10), [2.5, 97.5]) == [0.225, 8.775]
        assert!((percentile(&values, 0.025) - 0.225).abs() < 1e-12);
        assert!((percentile(&values, 0.975) - 8.775).abs() < 1e-12);
        assert_eq!(percentile(&[3.0], 0.975), 3.0);
    }

    #[test]
    fn a_clearly_better_system_has_an_interval_above_zero() {
        let (gold, a, b) = systems();
        let interval = bootstrap_difference(&gold, &a, &b, 1000, 7);
        let f1 = |found: f64, predicted: f64| 2.0 * found / (predicted + 40.0);
        assert!((interval.difference - (f1(30.0, 30.0) - f1(20.0, 21.0))).abs() < 1e-12);
        assert!(0.0 < interval.low && interval.low < interval.difference);
        assert!(interval.difference < interval.high && interval.high < 1.0);
        assert_eq!((interval.samples, interval.seed), (1000, 7));
    }

    #[test]
    fn deterministic_for_a_seed() {
        let (gold, a, b) = systems();
        let first = bootstrap_difference(&gold, &a, &b, 200, 42);
        assert_eq!(first, bootstrap_difference(&gold, &a, &b, 200, 42));
        assert_ne!(first, bootstrap_difference(&gold, &a, &b, 200, 43));
    }

    #[test]
    fn swapping_the_systems_mirrors_the_interval() {
        let (gold, a, b) = systems();
        let ab = bootstrap_difference(&gold, &a, &b, 300, 1);
        let ba = bootstrap_difference(&gold, &b, &a, 300, 1);
        assert!((ab.difference + ba.difference).abs() < 1e-12);
        assert!((ab.low + ba.high).abs() < 1e-12 && (ab.high + ba.low).abs() < 1e-12);
    }

    #[test]
    fn an_empty_test_set_gives_zeros() {
        let interval = bootstrap_difference(&[], &[], &[], 10, 0);
        assert_eq!(
            (interval.difference, interval.low, interval.high),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    #[should_panic(expected = "at least one sample")]
    fn zero_samples_panic() {
        bootstrap_difference(&[], &[], &[], 0, 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn identical_systems_differ_by_nothing((gold, predicted) in gold_and_predicted(), seed in any::<u64>()) {
            let interval = bootstrap_difference(&gold, &predicted, &predicted, 20, seed);
            prop_assert_eq!((interval.difference, interval.low, interval.high), (0.0, 0.0, 0.0));
        }

        #[test]
        fn the_full_set_difference_is_the_scored_one((gold, a) in gold_and_predicted(), seed in any::<u64>()) {
            let empty = vec![Vec::new(); gold.len()];
            let interval = bootstrap_difference(&gold, &a, &empty, 20, seed);
            prop_assert_eq!(interval.difference, crate::eval::score(&gold, &a).strict.micro.f1);
            prop_assert!(interval.low <= interval.high);
        }
    }
}
