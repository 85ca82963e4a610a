//! Vote-k's graph stage (Su et al. 2022, Algorithm 1, lines 1-6).
//!
//! Every row `v` votes for each row `u` among its k nearest neighbours (the
//! edge `v → u`). Rows are picked one at a time; a candidate `u`'s score is the
//! sum, over the unpicked rows `v` that vote for it, of `ρ^-s(v)`, where `s(v)`
//! counts the picked rows that `v` votes for. A row near many others is worth
//! picking; once a pick lies in a voter's neighbourhood, that voter is partly
//! represented already and its votes shrink, so the next pick moves to a
//! part of the pool no pick covers yet.
//!
//! The paper picks only a tenth of the budget this way and the rest by a
//! language model's confidence; exemplar has no model in the loop at this
//! point and picks the whole budget with the graph.

use crate::progress::Progress;

/// Picks `budget` rows from the voting lists (`lists[v]`: the rows `v` votes
/// for), discounting by `rho`. Reports the stage `"picking"`.
pub(super) fn pick(lists: &[Vec<u32>], budget: usize, rho: f64, progress: &dyn Progress) -> Vec<usize> {
    let voters = voters(lists);
    // ρ^-s(v) of each voter; each candidate's score is the sum of its
    // voters' weights, kept up to date as weights change.
    let mut weight = vec![1.0f64; lists.len()];
    let mut score: Vec<f64> = voters.iter().map(|v| v.len() as f64).collect();
    let mut picked = vec![false; lists.len()];
    let mut order = Vec::with_capacity(budget);
    progress.start("picking", budget as u64);
    while order.len() < budget {
        let Some(best) = best_unpicked(&score, &picked) else {
            break;
        };
        picked[best] = true;
        order.push(best);
        // A picked row votes no more.
        for &u in &lists[best] {
            score[u as usize] -= weight[best];
        }
        // Each unpicked row that votes for the pick is covered once more.
        for &v in &voters[best] {
            let v = v as usize;
            if picked[v] {
                continue;
            }
            let lost = weight[v] - weight[v] / rho;
            weight[v] /= rho;
            for &u in &lists[v] {
                score[u as usize] -= lost;
            }
        }
        progress.advance(1);
    }
    progress.finish();
    order
}

/// For each row, the rows that vote for it (the graph's edges reversed).
fn voters(lists: &[Vec<u32>]) -> Vec<Vec<u32>> {
    let mut voters = vec![Vec::new(); lists.len()];
    for (v, list) in lists.iter().enumerate() {
        for &u in list {
            voters[u as usize].push(v as u32);
        }
    }
    voters
}

/// The unpicked row with the highest score, the lowest such row on ties
/// (so equal inputs give equal picks).
fn best_unpicked(score: &[f64], picked: &[bool]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &s) in score.iter().enumerate() {
        if !picked[i] && best.is_none_or(|b| s > score[b]) {
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Quiet;

    /// The score of every unpicked row computed from scratch by the paper's
    /// formula, to check the incremental updates against.
    fn scores_by_definition(lists: &[Vec<u32>], picked: &[usize], rho: f64) -> Vec<f64> {
        let covered = |v: usize| {
            lists[v]
                .iter()
                .filter(|&&u| picked.contains(&(u as usize)))
                .count()
        };
        (0..lists.len())
            .map(|u| {
                (0..lists.len())
                    .filter(|&v| !picked.contains(&v) && lists[v].contains(&(u as u32)))
                    .map(|v| rho.powi(-(covered(v) as i32)))
                    .sum()
            })
            .collect()
    }

    /// Vote-k by the definition: recompute every score, take the best.
    fn pick_by_definition(lists: &[Vec<u32>], budget: usize, rho: f64) -> Vec<usize> {
        let mut picked = Vec::new();
        while picked.len() < budget {
            let scores = scores_by_definition(lists, &picked, rho);
            let flags: Vec<bool> = (0..lists.len()).map(|i| picked.contains(&i)).collect();
            picked.push(best_unpicked(&scores, &flags).unwrap());
        }
        picked
    }

    #[test]
    fn incremental_scores_pick_what_the_definition_picks() {
        let pool = crate::vectors::clustered_unit_vectors(120, 8, 6, 0.4, 5);
        let lists = super::super::nearest_neighbours(&pool, 7, &Quiet);
        for rho in [1.0, 2.0, 10.0] {
            assert_eq!(
                pick(&lists, 25, rho, &Quiet),
                pick_by_definition(&lists, 25, rho),
                "rho {rho}"
            );
        }
    }

    #[test]
    fn the_hub_goes_first_then_the_other_group() {
        // Rows 0-3 all vote for 0 and 1; rows 4-6 vote for 4 (a second, smaller group).
        let lists = vec![
            vec![1],
            vec![0],
            vec![0, 1],
            vec![0, 1],
            vec![5],
            vec![4],
            vec![4],
        ];
        // Without a discount, 1 (three votes: 0, 2, 3) follows 0 (1, 2, 3);
        // with one, 2 and 3 are covered by 0, and 4's group comes next.
        assert_eq!(pick(&lists, 2, 1.0, &Quiet), [0, 1]);
        assert_eq!(pick(&lists, 2, 10.0, &Quiet), [0, 4]);
    }
}
