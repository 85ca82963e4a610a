//! An index's own annotations as a knowledge source: every mention its
//! sentences annotate, ASCII case-folded (as the matcher compares), with the
//! entity types it was given and how often. Derived from the examples when
//! asked for (a pass over the entities: milliseconds for NCBI-disease's
//! 5,000 sentences), so nothing is stored in the index.
//!
//! A mention is one [`Term`] per type it was given: named by its most
//! frequent spelling (among equals, the first in byte order), category the type, `count`
//! the times it was so annotated.

use std::collections::BTreeMap;
use std::path::Path;

use super::{SourceInfo, Term, TermList};
use crate::corpus::Sentence;
use crate::index::Index;

/// The name hints give this source.
pub const NAME: &str = "gazetteer";

/// The gazetteer of the index opened from `dir`.
pub fn of_index(index: &Index, dir: &Path) -> TermList {
    let info = SourceInfo {
        name: NAME.to_string(),
        title: Some("mentions annotated in the index's sentences".to_string()),
        version: None,
        licence: None,
        origin: dir.display().to_string(),
        sha256: index.manifest().corpus.sha256.clone(),
        terms: 0,
    };
    TermList::new(info, terms(index.examples()))
}

/// Counts of one folded mention: spellings and types.
#[derive(Default)]
struct Seen {
    spellings: BTreeMap<String, usize>,
    types: BTreeMap<String, usize>,
}

/// The terms of `sentences`' annotations, by folded mention then type.
pub fn terms(sentences: &[Sentence]) -> Vec<Term> {
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    for sentence in sentences {
        for entity in &sentence.entities {
            let text = sentence.slice(entity.start, entity.end).trim();
            if text.is_empty() {
                continue;
            }
            let counts = seen.entry(text.to_ascii_lowercase()).or_default();
            *counts.spellings.entry(text.to_string()).or_default() += 1;
            *counts.types.entry(entity.label.clone()).or_default() += 1;
        }
    }
    seen.into_values()
        .flat_map(|counts| {
            // The most frequent spelling; among equals the first in byte order.
            let name = counts
                .spellings
                .iter()
                .fold(None::<(&String, usize)>, |best, (s, &n)| match best {
                    Some((_, m)) if m >= n => best,
                    _ => Some((s, n)),
                })
                .map(|(s, _)| s.clone())
                .unwrap_or_default();
            counts.types.into_iter().map(move |(label, n)| Term {
                id: None,
                name: name.clone(),
                synonyms: Vec::new(),
                category: label,
                definition: None,
                count: Some(n),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::annotated as sentence;

    #[test]
    fn mentions_are_counted_per_type_across_spellings() {
        let sentences = [
            sentence(
                "Lead poisoning and lead .",
                &[(0, 14, "Disease"), (19, 23, "Chemical")],
            ),
            sentence("lead poisoning again", &[(0, 14, "Disease")]),
            sentence("LEAD", &[(0, 4, "Disease")]),
        ];
        let terms = terms(&sentences);
        let summary: Vec<(&str, &str, usize)> = terms
            .iter()
            .map(|t| (t.name.as_str(), t.category.as_str(), t.count.unwrap()))
            .collect();
        assert_eq!(
            summary,
            [
                ("LEAD", "Chemical", 1),
                ("LEAD", "Disease", 1),
                ("Lead poisoning", "Disease", 2),
            ]
        );
    }
}
