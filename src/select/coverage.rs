//! Entity-type coverage for corpora with several types: among the N nearest
//! candidates, show every entity type that appears there at least once (the
//! most similar carrier of each type still missing, while k allows), then
//! fill the remaining places with the most similar candidates that carry
//! entities, and only then with those that carry none.

use std::collections::BTreeSet;

use super::filter::Candidate;
use super::{Definition, Demo, Pool, Query, Rank, ScoreKind, CANDIDATES};
use crate::corpus::Sentence;
use crate::error::Result;
use crate::index::SearchMode;

pub(super) const DEFINITION: Definition = Definition {
    params: &[CANDIDATES],
    needs_vector: |_| true,
    score: |_| Ok(Some(ScoreKind::Cosine)),
    build: |_, params, setup| {
        Ok(Box::new(Coverage {
            candidates: params.count("candidates")?,
            mode: setup.mode,
        }))
    },
};

/// Type-covering selection over the `candidates` nearest sentences.
#[derive(Debug, Clone, Copy)]
pub struct Coverage {
    /// How many nearest sentences to choose from.
    pub candidates: usize,
    /// How the candidates are searched.
    pub mode: SearchMode,
}

impl Rank for Coverage {
    fn rank(&self, query: &Query, pool: &Pool, k: usize) -> Result<Vec<Demo>> {
        let vector = query.vector()?;
        let nearest = pool.nearest(vector, self.candidates.max(k), self.mode);
        let picked = cover(&nearest, pool.index().examples(), k);
        Ok(pool.demos(&picked))
    }
}

/// `k` of `candidates` (best first): a carrier of each type first, then
/// entity-bearing ones, then the rest, each by rank; returned best first.
fn cover(candidates: &[Candidate], examples: &[Sentence], k: usize) -> Vec<Candidate> {
    let types = |c: &Candidate| -> BTreeSet<&str> {
        examples[c.row]
            .entities
            .iter()
            .map(|e| e.label.as_str())
            .collect()
    };
    let mut missing: BTreeSet<&str> = candidates.iter().flat_map(types).collect();
    let mut taken = vec![false; candidates.len()];
    let mut count = 0;
    while count < k && !missing.is_empty() {
        let Some(i) = (0..candidates.len())
            .find(|&i| !taken[i] && types(&candidates[i]).iter().any(|t| missing.contains(t)))
        else {
            break;
        };
        taken[i] = true;
        count += 1;
        for t in types(&candidates[i]) {
            missing.remove(t);
        }
    }
    let with_entities = |i: &usize| !examples[candidates[*i].row].entities.is_empty();
    let rest: Vec<usize> = (0..candidates.len()).filter(|&i| !taken[i]).collect();
    let fill = rest
        .iter()
        .filter(|i| with_entities(i))
        .chain(rest.iter().filter(|i| !with_entities(i)));
    for &i in fill.take(k - count) {
        taken[i] = true;
    }
    (0..candidates.len())
        .filter(|&i| taken[i])
        .map(|i| candidates[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Span;

    fn sentence(types: &[&str]) -> Sentence {
        Sentence {
            id: String::new(),
            text: String::new(),
            tokens: Vec::new(),
            entities: types
                .iter()
                .map(|t| Span {
                    start: 0,
                    end: 1,
                    label: t.to_string(),
                })
                .collect(),
            doc: None,
            meta: Default::default(),
        }
    }

    fn ranked(n: usize) -> Vec<Candidate> {
        (0..n)
            .map(|row| Candidate {
                row,
                score: Some(1.0 - row as f32 / 100.0),
            })
            .collect()
    }

    fn rows(picked: &[Candidate]) -> Vec<usize> {
        picked.iter().map(|c| c.row).collect()
    }

    #[test]
    fn every_type_among_the_candidates_is_shown_once_k_allows() {
        let examples = [
            sentence(&["Disease"]),
            sentence(&[]),
            sentence(&["Disease", "Disease"]),
            sentence(&[]),
            sentence(&["Chemical"]),
            sentence(&["Gene", "Disease"]),
        ];
        // k-NN would take rows 0 and 1: Disease only.
        assert_eq!(rows(&cover(&ranked(6), &examples, 2)), [0, 4]);
        assert_eq!(rows(&cover(&ranked(6), &examples, 3)), [0, 4, 5]);
        // Then entity-bearing sentences before those without.
        assert_eq!(rows(&cover(&ranked(6), &examples, 4)), [0, 2, 4, 5]);
        assert_eq!(rows(&cover(&ranked(6), &examples, 5)), [0, 1, 2, 4, 5]);
        assert_eq!(cover(&ranked(6), &examples, 9).len(), 6);
    }

    #[test]
    fn with_fewer_places_than_types_the_best_ranked_carriers_win() {
        let examples = [sentence(&["A"]), sentence(&["B"]), sentence(&["C"])];
        assert_eq!(rows(&cover(&ranked(3), &examples, 2)), [0, 1]);
        let none = [sentence(&[]), sentence(&[])];
        assert_eq!(rows(&cover(&ranked(2), &none, 1)), [0]);
    }
}
