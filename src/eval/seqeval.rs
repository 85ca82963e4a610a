//! Agreement with seqeval (default mode): chunks are read from tag sequences
//! exactly as seqeval's `get_entities` reads them, scored by [`score`], and
//! compared with the figures seqeval itself computed on the same tags
//! (`tests/data/seqeval_cases.json`, written by `scripts/make_seqeval_cases.py`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{score, Prf};
use crate::corpus::Span;

/// Chunks as token-index spans (end exclusive), by seqeval's lenient rules:
/// an `I-` after `O` or after another type opens a chunk, a change of type
/// closes one, and `E-`/`S-` are understood too.
fn chunks(tags: &[String]) -> Vec<Span> {
    let mut spans = Vec::new();
    let (mut previous, mut previous_type, mut begin) = ('O', "", 0);
    for (i, tag) in tags.iter().map(String::as_str).chain(["O"]).enumerate() {
        let (prefix, label) = split(tag);
        if ends(previous, prefix, previous_type, label) {
            spans.push(Span {
                start: begin,
                end: i,
                label: previous_type.to_string(),
            });
        }
        if starts(previous, prefix, previous_type, label) {
            begin = i;
        }
        (previous, previous_type) = (prefix, label);
    }
    spans
}

/// `B-Gene-or-protein` is prefix `B`, type `Gene-or-protein`; a bare tag has type `_`.
fn split(tag: &str) -> (char, &str) {
    let mut chars = tag.chars();
    let prefix = chars.next().unwrap_or('O');
    let rest = chars.as_str();
    let label = rest.split_once('-').map_or(rest, |(_, label)| label);
    (prefix, if label.is_empty() { "_" } else { label })
}

/// seqeval's `end_of_chunk`.
fn ends(previous: char, tag: char, previous_type: &str, label: &str) -> bool {
    matches!(previous, 'E' | 'S')
        || (matches!(previous, 'B' | 'I') && matches!(tag, 'B' | 'S' | 'O'))
        || (previous != 'O' && previous != '.' && previous_type != label)
}

/// seqeval's `start_of_chunk`.
fn starts(previous: char, tag: char, previous_type: &str, label: &str) -> bool {
    matches!(tag, 'B' | 'S')
        || (matches!(previous, 'E' | 'S' | 'O') && matches!(tag, 'E' | 'I'))
        || (tag != 'O' && tag != '.' && previous_type != label)
}

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    gold: Vec<Vec<String>>,
    pred: Vec<Vec<String>>,
    expected: Expected,
}

#[derive(Deserialize)]
struct Expected {
    micro: Figures,
    #[serde(rename = "macro")]
    macro_avg: Figures,
    per_type: BTreeMap<String, TypeFigures>,
}

/// `null` where seqeval gives NaN (macro over no types); exemplar says 0.
#[derive(Deserialize)]
struct Figures {
    precision: Option<f64>,
    recall: Option<f64>,
    f1: Option<f64>,
}

#[derive(Deserialize)]
struct TypeFigures {
    #[serde(flatten)]
    figures: Figures,
    support: usize,
}

fn assert_agrees(case: &str, what: &str, ours: Prf, theirs: &Figures) {
    for (name, ours, theirs) in [
        ("precision", ours.precision, theirs.precision),
        ("recall", ours.recall, theirs.recall),
        ("f1", ours.f1, theirs.f1),
    ] {
        let theirs = theirs.unwrap_or(0.0);
        assert!(
            (ours - theirs).abs() < 1e-9,
            "{case}: {what} {name} is {ours}, seqeval says {theirs}"
        );
    }
}

#[test]
fn get_entities_examples() {
    let tags = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    let as_tuples = |spans: Vec<Span>| -> Vec<(String, usize, usize)> {
        spans.into_iter().map(|s| (s.label, s.start, s.end)).collect()
    };
    // From seqeval's docstring: [('PER', 0, 1), ('LOC', 3, 3)], end inclusive.
    assert_eq!(
        as_tuples(chunks(&tags("B-PER I-PER O B-LOC"))),
        [("PER".into(), 0, 2), ("LOC".into(), 3, 4)]
    );
    // Checked against seqeval 1.2.2's get_entities.
    assert_eq!(
        as_tuples(chunks(&tags("I-X I-Y E-X I-X B-X-Y I-X-Y S-X E-X"))),
        [
            ("X".into(), 0, 1),
            ("Y".into(), 1, 2),
            ("X".into(), 2, 3),
            ("X".into(), 3, 4),
            ("X-Y".into(), 4, 6),
            ("X".into(), 6, 7),
            ("X".into(), 7, 8),
        ]
    );
}

#[test]
fn strict_scores_equal_seqeval() {
    let cases: Cases = serde_json::from_str(include_str!("../../tests/data/seqeval_cases.json"))
        .expect("tests/data/seqeval_cases.json is valid");
    assert!(cases.cases.len() >= 20);
    for case in &cases.cases {
        let spans =
            |sentences: &[Vec<String>]| -> Vec<Vec<Span>> { sentences.iter().map(|s| chunks(s)).collect() };
        let strict = score(&spans(&case.gold), &spans(&case.pred)).strict;
        let name = case.name.as_str();
        assert_agrees(name, "micro", strict.micro, &case.expected.micro);
        assert_agrees(name, "macro", strict.macro_avg, &case.expected.macro_avg);
        let types: Vec<&String> = strict.per_type.keys().collect();
        assert_eq!(
            types,
            case.expected.per_type.keys().collect::<Vec<_>>(),
            "{name}: types"
        );
        for (label, theirs) in &case.expected.per_type {
            let ours = &strict.per_type[label];
            assert_agrees(name, label, ours.prf, &theirs.figures);
            assert_eq!(ours.support, theirs.support, "{name}: {label} support");
        }
    }
}
