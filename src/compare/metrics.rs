//! What a set of demonstrations offers one query, measured without an LLM:
//! pure functions of the query's gold entities, its vector and the
//! demonstrations' entities and vectors. Each gives `None` where it is
//! undefined (no gold entity to cover, fewer than two demonstrations to
//! compare), so that means leave such queries out instead of counting zeros.

use std::collections::HashSet;

use crate::corpus::{Entity, Example};

crate::named! {
    /// The figures `exemplar compare` reports per strategy.
    pub enum Metric: "metric" {
        /// Share of the query's gold entity types that some demonstration's entity has.
        TypeCoverage => "type_coverage",
        /// Share of the query's gold mention strings (case-folded) that some demonstration has as an entity.
        MentionCoverage => "mention_coverage",
        /// Mean cosine similarity of the demonstrations to the query.
        MeanSimilarity => "mean_similarity",
        /// Share of the demonstrations that carry at least one entity.
        WithEntities => "with_entities",
        /// Mean cosine similarity between two demonstrations of the set (lower: more diverse).
        Diversity => "diversity",
    }
}

/// One query and the demonstrations a strategy chose for it.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The query's gold entities.
    pub gold: &'a [Entity],
    /// The query's vector.
    pub query: &'a [f32],
    /// The demonstrations.
    pub demos: &'a [&'a Example],
    /// The demonstrations' vectors, in the same order.
    pub vectors: &'a [&'a [f32]],
}

impl Metric {
    /// This metric of one observation; `None` where undefined.
    pub fn of(self, seen: &Observation) -> Option<f64> {
        match self {
            Metric::TypeCoverage => type_coverage(seen.gold, seen.demos),
            Metric::MentionCoverage => mention_coverage(seen.gold, seen.demos),
            Metric::MeanSimilarity => mean_similarity(seen.query, seen.vectors),
            Metric::WithEntities => with_entities(seen.demos),
            Metric::Diversity => diversity(seen.vectors),
        }
    }

    /// Whether it is undefined only for queries without gold entities
    /// (then the same queries are left out for every strategy).
    pub fn needs_gold(self) -> bool {
        matches!(self, Metric::TypeCoverage | Metric::MentionCoverage)
    }
}

/// The share of `wanted` (distinct) found in `offered`; `None` when nothing is wanted.
fn share_found(wanted: HashSet<String>, offered: HashSet<String>) -> Option<f64> {
    if wanted.is_empty() {
        return None;
    }
    let found = wanted.iter().filter(|w| offered.contains(*w)).count();
    Some(found as f64 / wanted.len() as f64)
}

/// The share of the gold entity types some demonstration shows.
pub fn type_coverage(gold: &[Entity], demos: &[&Example]) -> Option<f64> {
    let types = |entities: &mut dyn Iterator<Item = &Entity>| entities.map(|e| e.label.clone()).collect();
    let shown = types(&mut demos.iter().flat_map(|d| &d.entities));
    share_found(types(&mut gold.iter()), shown)
}

/// The share of the distinct gold mention strings, case-folded, that some
/// demonstration has verbatim as one of its entities (whatever its type).
pub fn mention_coverage(gold: &[Entity], demos: &[&Example]) -> Option<f64> {
    let mentions =
        |entities: &mut dyn Iterator<Item = &Entity>| entities.map(|e| e.text.to_lowercase()).collect();
    let shown = mentions(&mut demos.iter().flat_map(|d| &d.entities));
    share_found(mentions(&mut gold.iter()), shown)
}

/// The mean cosine similarity of `demos` to `query`; `None` without demonstrations.
pub fn mean_similarity(query: &[f32], demos: &[&[f32]]) -> Option<f64> {
    mean(demos.iter().map(|d| cosine(query, d)))
}

/// The share of demonstrations with at least one entity; `None` without demonstrations.
pub fn with_entities(demos: &[&Example]) -> Option<f64> {
    mean(
        demos
            .iter()
            .map(|d| if d.entities.is_empty() { 0.0 } else { 1.0 }),
    )
}

/// The mean cosine similarity over the pairs of `demos`; `None` with fewer than two.
pub fn diversity(demos: &[&[f32]]) -> Option<f64> {
    mean(
        demos
            .iter()
            .enumerate()
            .flat_map(|(i, a)| demos[i + 1..].iter().map(move |b| cosine(a, b))),
    )
}

/// Cosine similarity, in f64 (0 when either vector is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        aa += x * x;
        bb += y * y;
    }
    match aa * bb {
        norms if norms > 0.0 => dot / norms.sqrt(),
        _ => 0.0,
    }
}

/// The mean of `values`; `None` when there are none.
pub fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0usize), |(sum, count), v| (sum + v, count + 1));
    (count > 0).then(|| sum / count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(text: &str, label: &str) -> Entity {
        Entity {
            start: 0,
            end: text.chars().count(),
            label: label.into(),
            text: text.into(),
        }
    }

    fn example(entities: &[(&str, &str)]) -> Example {
        Example {
            id: "d".into(),
            text: "a sentence".into(),
            entities: entities.iter().map(|(t, l)| entity(t, l)).collect(),
        }
    }

    #[test]
    fn type_coverage_counts_distinct_gold_types_shown() {
        let gold = [
            entity("aspirin", "Chemical"),
            entity("asthma", "Disease"),
            entity("cough", "Disease"),
        ];
        let chemical = example(&[("ibuprofen", "Chemical")]);
        let none = example(&[]);
        assert_eq!(type_coverage(&gold, &[&chemical, &none]), Some(0.5));
        let disease = example(&[("flu", "Disease"), ("BRCA1", "Gene")]);
        assert_eq!(type_coverage(&gold, &[&disease, &chemical]), Some(1.0));
        assert_eq!(type_coverage(&gold, &[]), Some(0.0));
        assert_eq!(type_coverage(&[], &[&chemical]), None);
    }

    #[test]
    fn mention_coverage_is_case_folded_and_verbatim() {
        let gold = [
            entity("Breast Cancer", "Disease"),
            entity("breast cancer", "Disease"),
            entity("ataxia", "Disease"),
        ];
        // Two distinct gold strings once case-folded; a longer mention is not the same string.
        let shown = example(&[
            ("BREAST CANCER", "Chemical"),
            ("ataxia-telangiectasia", "Disease"),
        ]);
        assert_eq!(mention_coverage(&gold, &[&shown]), Some(0.5));
        let both = example(&[("Ataxia", "Disease")]);
        assert_eq!(mention_coverage(&gold, &[&shown, &both]), Some(1.0));
        assert_eq!(mention_coverage(&[], &[&shown]), None);
    }

    #[test]
    fn similarities_are_cosines_whatever_the_norms() {
        let query = [1.0, 0.0];
        let (same, orthogonal, opposite) = ([2.0, 0.0], [0.0, 3.0], [-1.0, 0.0]);
        assert!((cosine(&query, &[1.0, 1.0]) - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-12);
        assert_eq!(cosine(&query, &[0.0, 0.0]), 0.0);
        assert_eq!(mean_similarity(&query, &[&same, &orthogonal]), Some(0.5));
        assert_eq!(mean_similarity(&query, &[]), None);
        // Pairs: same·orthogonal 0, same·opposite -1, orthogonal·opposite 0.
        assert_eq!(diversity(&[&same, &orthogonal, &opposite]), Some(-1.0 / 3.0));
        assert_eq!(diversity(&[&same, &same]), Some(1.0));
        assert_eq!(diversity(&[&same]), None);
    }

    #[test]
    fn with_entities_is_the_share_of_annotated_demonstrations() {
        let (annotated, bare) = (example(&[("x", "T")]), example(&[]));
        assert_eq!(with_entities(&[&annotated, &bare, &bare, &annotated]), Some(0.5));
        assert_eq!(with_entities(&[]), None);
    }

    #[test]
    fn metric_of_dispatches_and_names_match_the_json_keys() {
        use crate::names::Named;
        let gold = [entity("flu", "Disease")];
        let demo = example(&[("Flu", "Disease")]);
        let seen = Observation {
            gold: &gold,
            query: &[1.0, 0.0],
            demos: &[&demo],
            vectors: &[&[1.0, 0.0]],
        };
        let values: Vec<(&str, Option<f64>)> = Metric::ALL.iter().map(|m| (m.name(), m.of(&seen))).collect();
        assert_eq!(
            values,
            [
                ("type_coverage", Some(1.0)),
                ("mention_coverage", Some(1.0)),
                ("mean_similarity", Some(1.0)),
                ("with_entities", Some(1.0)),
                ("diversity", None),
            ]
        );
        assert!(Metric::TypeCoverage.needs_gold() && !Metric::Diversity.needs_gold());
    }
}
