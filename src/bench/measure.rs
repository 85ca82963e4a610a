//! The measurements every part shares: exact neighbours, recall@k, and per
//! candidate list length the latency percentiles and batch QPS of a search.

use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;

use super::report::SearchRow;
use crate::error::{Error, Result};
use crate::index::{write_file_atomically, Hit, Vectors};

/// The walk `Index::search` uses: 8-bit codes, then exact re-scoring.
pub(super) const INT8: &str = "int8";

/// How every part of a benchmark is measured.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Neighbours per query (at most the size of the index is used).
    pub k: usize,
    /// Candidate list lengths, measured in this order (each at least `k`).
    pub efs: Vec<usize>,
    /// Queries per part: drawn with the synthetic data, or the first this
    /// many sentences of a real index's query corpus.
    pub queries: usize,
    /// Where each part's base and query vectors are written as `.npy` files
    /// (`<export>/<part>/base.npy`, `queries.npy`), for other libraries to
    /// run on exactly the same vectors.
    pub export: Option<PathBuf>,
    /// Say on stderr what was built and encoded, and how fast.
    pub show_progress: bool,
}

/// The node ids `search` returns for the `k` nearest rows of every query
/// (queries in parallel): the ground truth when `search` is exact.
pub fn neighbour_ids(
    queries: &Vectors,
    k: usize,
    search: impl Fn(&[f32], usize) -> Vec<Hit> + Sync,
) -> Vec<Vec<u32>> {
    (0..queries.len())
        .into_par_iter()
        .map(|q| search(queries.row(q), k).iter().map(|h| h.node).collect())
        .collect()
}

/// Recall@k: the share of the exact neighbours of all queries (`truth`, one
/// list per query) that the approximate search returned (`found`, the same
/// order); 1 when there is nothing to find.
pub fn recall_at_k(truth: &[Vec<u32>], found: &[Vec<u32>]) -> f64 {
    let wanted: usize = truth.iter().map(Vec::len).sum();
    if wanted == 0 {
        return 1.0;
    }
    let hits: usize = truth
        .iter()
        .zip(found)
        .map(|(truth, found)| found.iter().filter(|node| truth.contains(node)).count())
        .sum();
    hits as f64 / wanted as f64
}

/// Per ef: single-query latency percentiles, batch QPS over all cores, and
/// recall@k against `truth`.
pub(super) fn measure_search(
    walk: &'static str,
    queries: &Vectors,
    truth: &[Vec<u32>],
    k: usize,
    efs: &[usize],
    approx: impl Fn(&[f32], usize, usize) -> Vec<Hit> + Sync,
) -> Vec<SearchRow> {
    efs.iter()
        .map(|&ef| {
            let ef = ef.max(k);
            let (found, timing) = time_each(truth.len(), |q| {
                approx(queries.row(q), k, ef)
                    .iter()
                    .map(|h| h.node)
                    .collect::<Vec<u32>>()
            });
            SearchRow {
                walk,
                ef,
                p50_us: timing.p50_us,
                p99_us: timing.p99_us,
                qps: timing.qps,
                recall: recall_at_k(truth, &found),
            }
        })
        .collect()
}

/// How long one call takes alone, and how many calls a second all cores make.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// Median latency of one call made alone, in microseconds.
    pub p50_us: f64,
    /// 99th percentile latency of one call made alone, in microseconds.
    pub p99_us: f64,
    /// Calls per second with all of them made in parallel on every core.
    pub qps: f64,
}

/// Calls `run` for 0..n one at a time, timing each, then all in parallel;
/// returns the results of the timed calls, in order, and the timing.
pub(super) fn time_each<R: Send>(n: usize, run: impl Fn(usize) -> R + Sync) -> (Vec<R>, Timing) {
    let mut micros = Vec::with_capacity(n);
    let mut results = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        results.push(run(i));
        micros.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let started = Instant::now();
    (0..n).into_par_iter().for_each(|i| {
        std::hint::black_box(run(i));
    });
    let seconds = started.elapsed().as_secs_f64();
    let timing = Timing {
        p50_us: percentile(&mut micros, 50.0),
        p99_us: percentile(&mut micros, 99.0),
        qps: n as f64 / seconds.max(1e-9),
    };
    (results, timing)
}

/// The nearest-rank percentile `p` (0..=100) of `values` (sorted in place); NaN when empty.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

/// Writes `base.npy` and `queries.npy` into `<export>/<folder>` when the
/// settings ask for it; returns the folder's name then.
pub(super) fn export(
    settings: &Settings,
    folder: &str,
    base: &Vectors,
    queries: &Vectors,
) -> Result<Option<String>> {
    let Some(root) = &settings.export else {
        return Ok(None);
    };
    let dir = root.join(folder);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    write_file_atomically(&dir.join("base.npy"), &base.to_npy_bytes())?;
    write_file_atomically(&dir.join("queries.npy"), &queries.to_npy_bytes())?;
    Ok(Some(folder.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), 50.0);
        assert_eq!(percentile(&mut v, 99.0), 99.0);
        assert_eq!(percentile(&mut v, 100.0), 100.0);
        assert_eq!(percentile(&mut v, 0.0), 1.0);
        let mut one = vec![7.0];
        assert_eq!(percentile(&mut one, 99.0), 7.0);
        let mut three = vec![3.0, 1.0, 2.0];
        assert_eq!(percentile(&mut three, 50.0), 2.0);
        assert!(percentile(&mut [], 50.0).is_nan());
    }

    #[test]
    fn recall_counts_the_true_neighbours_found_over_all_queries() {
        // 2 of 3 found for the first query, 1 of 1 for the second; order does not matter.
        let truth = [vec![1, 2, 3], vec![7]];
        let found = [vec![3, 9, 1], vec![7]];
        assert_eq!(recall_at_k(&truth, &found), 0.75);
        assert_eq!(recall_at_k(&truth, &[vec![], vec![]]), 0.0);
        assert_eq!(recall_at_k(&truth, &truth), 1.0);
        assert_eq!(recall_at_k(&[vec![], vec![]], &[vec![], vec![]]), 1.0);
        assert_eq!(recall_at_k(&[], &[]), 1.0);
    }
}
