//! Finding the terms of knowledge sources in a text.
//!
//! The rules:
//! - every name and synonym of every term is a pattern, compared ignoring
//!   ASCII case (`Seizures`, `seizures`); terms of any source that share a
//!   pattern are all reported with it;
//! - patterns shorter than [`MIN_PATTERN_CHARS`] characters, without a
//!   letter or digit, or among a few English function words that sources
//!   list as terms (HPO's root is `All`) are left out: they would match
//!   nearly every sentence;
//! - a match must start and end on a token boundary: the characters just
//!   outside it are not word characters ([`is_word_char`]: letters and
//!   digits). A hyphen is a boundary, as `lexical::tokenize` indexes
//!   `IL-2` also by its parts, so `seizure` is found in `seizure-free`,
//!   but never `ear` inside `year`;
//! - matches do not overlap: the longest is kept first (between equal
//!   lengths, the earlier), then the longest of the rest that overlaps
//!   nothing kept, and so on ([`longest_first`]).
//!
//! A whole candidate term (one an LLM proposed) is also looked up
//! ([`Matcher::exact`]) by every name that has a word character and is not a
//! function word, short names included, its case folded (Unicode's lower
//! case, not only ASCII's): the candidate was asked for, so a name too short
//! to look for in running text can still name it.
//!
//! The automaton is `aho-corasick`'s, searched for *all* (overlapping)
//! occurrences: a leftmost-longest search would report one match per
//! position, and when that one cuts a word (`cancer of the breast` in
//! `cancer of the breasts`) the shorter match that does not (`cancer`) would
//! be lost.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::Term;
use crate::error::{Error, Result};

/// Patterns shorter than this (in characters) are not looked for.
pub const MIN_PATTERN_CHARS: usize = 3;

/// Names too common in running text to be a hint about anything.
pub const STOP_WORDS: &[&str] = &[
    "all", "and", "any", "are", "but", "can", "for", "has", "had", "her", "his", "its", "may", "not", "none",
    "one", "other", "the", "two", "was", "with",
];

/// Whether `c` is part of a word: a match may not begin or end beside one.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The automaton over the distinct patterns and, per pattern, the terms
/// (source, term) it names.
pub(super) struct Matcher {
    automaton: AhoCorasick,
    terms: Vec<Vec<(usize, usize)>>,
    exact: HashMap<String, Vec<(usize, usize)>>,
}

/// A match before the terms are resolved.
pub(super) struct Found {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub terms: Vec<(usize, usize)>,
}

impl Matcher {
    /// The matcher over the terms of each source (`sources[s][t]`).
    pub fn new(sources: &[&[Term]]) -> Result<Matcher> {
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut terms: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut exact: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (s, list) in sources.iter().enumerate() {
            for (t, term) in list.iter().enumerate() {
                for key in keys(term, exact_key) {
                    exact.entry(key).or_default().push((s, t));
                }
                for key in keys(term, pattern_key) {
                    let id = *ids.entry(key.clone()).or_insert_with(|| {
                        patterns.push(key);
                        terms.push(Vec::new());
                        patterns.len() - 1
                    });
                    terms[id].push((s, t));
                }
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| Error::Internal(format!("cannot build the term matcher: {e}")))?;
        Ok(Matcher {
            automaton,
            terms,
            exact,
        })
    }

    /// The terms (source, term) that have `name` as a name or synonym, its
    /// case folded (see the module documentation).
    pub fn exact(&self, name: &str) -> Option<&[(usize, usize)]> {
        self.exact.get(&exact_key(name)?).map(Vec::as_slice)
    }

    /// Distinct patterns looked for.
    pub fn patterns(&self) -> usize {
        self.terms.len()
    }

    /// The matches in `text`, by start (see the module documentation).
    pub fn find(&self, text: &str) -> Vec<Found> {
        let candidates: Vec<(usize, usize, usize)> = self
            .automaton
            .find_overlapping_iter(text)
            .filter(|m| on_boundaries(text, m.start(), m.end()))
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect();
        longest_first(candidates, |&(start, end, _)| (start, end))
            .into_iter()
            .map(|(start, end, pattern)| Found {
                start: chars_before(text, start),
                end: chars_before(text, end),
                text: text[start..end].to_string(),
                terms: self.terms[pattern].clone(),
            })
            .collect()
    }
}

/// Of `items` spanning `span(item)` (start, end), those that overlap no
/// longer one kept before them (between equal lengths the earlier wins), by start.
pub(super) fn longest_first<T>(mut items: Vec<T>, span: impl Fn(&T) -> (usize, usize)) -> Vec<T> {
    items.sort_by_key(|item| {
        let (start, end) = span(item);
        (std::cmp::Reverse(end - start), start)
    });
    let mut kept: Vec<T> = Vec::new();
    for item in items {
        let (start, end) = span(&item);
        if kept.iter().all(|k| {
            let (k_start, k_end) = span(k);
            end <= k_start || k_end <= start
        }) {
            kept.push(item);
        }
    }
    kept.sort_by_key(|item| span(item));
    kept
}

/// The distinct keys `key` gives a term's name and synonyms.
fn keys(term: &Term, key: fn(&str) -> Option<String>) -> Vec<String> {
    let mut keys: Vec<String> = std::iter::once(&term.name)
        .chain(&term.synonyms)
        .filter_map(|name| key(name))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The key a whole name is looked up by: Unicode lower case, trimmed;
/// `None` without a word character or for a function word.
fn exact_key(name: &str) -> Option<String> {
    let key = name.trim().to_lowercase();
    (key.chars().any(is_word_char) && !STOP_WORDS.contains(&key.as_str())).then_some(key)
}

/// The pattern a name is looked for by (ASCII case-folded, trimmed), or
/// `None` when it is left out.
fn pattern_key(name: &str) -> Option<String> {
    let key = name.trim().to_ascii_lowercase();
    let long_enough = key.chars().count() >= MIN_PATTERN_CHARS;
    let wordy = key.chars().any(is_word_char);
    (long_enough && wordy && !STOP_WORDS.contains(&key.as_str())).then_some(key)
}

/// Whether the bytes `start..end` of `text` begin and end on token boundaries.
fn on_boundaries(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
}

/// The character offset of byte `at`.
fn chars_before(text: &str, at: usize) -> usize {
    text[..at].chars().count()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A term of category `C` with these names.
    pub(in crate::knowledge) fn term(name: &str, synonyms: &[&str]) -> Term {
        Term {
            id: None,
            name: name.into(),
            synonyms: synonyms.iter().map(|s| s.to_string()).collect(),
            category: "C".into(),
            definition: None,
            count: None,
        }
    }

    fn spans(matcher: &Matcher, text: &str) -> Vec<(usize, usize, String)> {
        matcher
            .find(text)
            .into_iter()
            .map(|f| (f.start, f.end, f.text))
            .collect()
    }

    fn matcher(terms: &[Term]) -> Matcher {
        Matcher::new(&[terms]).unwrap()
    }

    #[test]
    fn matches_whole_words_ignoring_case() {
        let m = matcher(&[term("Seizure", &["Seizures", "Epilepsy"]), term("ear", &[])]);
        assert_eq!(
            spans(&m, "Seizures this year; EPILEPSY, seizure-free ear."),
            [
                (0, 8, "Seizures".to_string()),
                (20, 28, "EPILEPSY".to_string()),
                (30, 37, "seizure".to_string()),
                (43, 46, "ear".to_string()),
            ]
        );
    }

    #[test]
    fn the_longest_match_wins_and_a_cut_word_falls_back_to_a_shorter_one() {
        let m = matcher(&[
            term("breast cancer", &[]),
            term("cancer", &[]),
            term("cancer of the breast", &[]),
        ]);
        assert_eq!(
            spans(&m, "breast cancer of the breast")[0].2,
            "cancer of the breast"
        );
        assert_eq!(spans(&m, "cancer of the breasts"), [(0, 6, "cancer".to_string())]);
    }

    #[test]
    fn short_and_common_names_are_not_looked_for() {
        let m = matcher(&[term("All", &["AT", "--"]), term("Ataxia", &["A-T"])]);
        assert_eq!(m.patterns(), 2);
        assert_eq!(spans(&m, "All at risk of A-T"), [(15, 18, "A-T".to_string())]);
    }

    #[test]
    fn offsets_count_characters_and_terms_sharing_a_name_are_all_reported() {
        let m = Matcher::new(&[&[term("Sjögren syndrome", &[])], &[term("sjögren syndrome", &[])]]).unwrap();
        let found = m.find("Ein Sjögren syndrome");
        assert_eq!((found[0].start, found[0].end), (4, 20));
        assert_eq!(found[0].terms, [(0, 0), (1, 0)]);
    }

    #[test]
    fn whole_names_are_looked_up_case_folded_short_ones_included() {
        let m = matcher(&[term("Sjögren syndrome", &["SS", "All"]), term("ss", &[])]);
        assert_eq!(m.exact("SJÖGREN SYNDROME"), Some(&[(0, 0)][..]));
        assert_eq!(m.exact(" ss "), Some(&[(0, 0), (0, 1)][..]));
        assert_eq!(m.exact("all"), None, "a function word");
        assert_eq!(m.exact("syndrome"), None, "whole names only");
        assert!(
            spans(&m, "SS").is_empty(),
            "too short to look for in running text"
        );
    }

    proptest! {
        #[test]
        fn matches_never_overlap_nor_cut_words(
            names in proptest::collection::vec("[a-cA-C]{1,3}( [a-c]{1,3})?", 1..8),
            text in "[a-cA-C -éß]{0,60}",
        ) {
            let terms: Vec<Term> = names.iter().map(|n| term(n, &[])).collect();
            let m = matcher(&terms);
            let chars: Vec<char> = text.chars().collect();
            let mut last_end = 0;
            for f in m.find(&text) {
                prop_assert!(f.start >= last_end && f.start < f.end && f.end <= chars.len());
                prop_assert_eq!(chars[f.start..f.end].iter().collect::<String>(), f.text.clone());
                prop_assert!(f.start == 0 || !is_word_char(chars[f.start - 1]));
                prop_assert!(f.end == chars.len() || !is_word_char(chars[f.end]));
                prop_assert!(names.iter().any(|n| n.eq_ignore_ascii_case(&f.text)));
                last_end = f.end;
            }
        }

        #[test]
        fn any_text_is_searched_without_panic(text in "\\PC{0,80}") {
            let m = matcher(&[term("fever", &["pyrexia"]), term("Über", &[])]);
            for f in m.find(&text) {
                prop_assert!(f.start < f.end);
            }
        }
    }
}
