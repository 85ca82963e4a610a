//! Filters every strategy honours: at least m entities, not from the query's
//! own document, metadata fields equal to given values. [`Filters`] is what a
//! user asks for (and what reports record); [`Filter`] is it checked against
//! one index, and [`Pool`] is it applied to one query: the rows a strategy may
//! choose from. Strategies search through the pool (filters apply during the
//! search, not after it), so a filtered query still gets k demonstrations
//! when k exist.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::corpus::{Example, Sentence};
use crate::error::{Error, Result};
use crate::index::{Hit, Index, SearchMode};

use super::Demo;

/// Which training sentences may be demonstrations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Keep only sentences with at least this many entities.
    #[serde(default)]
    pub min_entities: usize,
    /// Leave out sentences of the query's own document.
    #[serde(default)]
    pub exclude_same_doc: bool,
    /// Keep only sentences whose metadata field equals the value, for every
    /// field named (JSONL fields such as `source`, `split`).
    #[serde(default, rename = "where")]
    pub where_: BTreeMap<String, String>,
}

impl Filters {
    /// Reads `FIELD=VALUE` pairs (the command line's `--where`); a field named
    /// twice is refused (a sentence has one value per field).
    pub fn parse_where<S: AsRef<str>>(pairs: &[S]) -> Result<BTreeMap<String, String>> {
        let mut fields = BTreeMap::new();
        for pair in pairs {
            let pair = pair.as_ref();
            let (field, value) = pair
                .split_once('=')
                .ok_or_else(|| Error::InvalidInput(format!("--where {pair:?}: expected FIELD=VALUE")))?;
            if fields
                .insert(field.trim().to_string(), value.trim().to_string())
                .is_some()
            {
                return Err(Error::InvalidInput(format!(
                    "--where names the field {} twice",
                    field.trim()
                )));
            }
        }
        Ok(fields)
    }

    /// Checks the filters against `index`: every field named exists, and
    /// some example passes. Errors say why nothing could be chosen.
    pub fn compile(&self, index: &Index) -> Result<Filter> {
        let examples = index.examples();
        for field in self.where_.keys() {
            if !examples.iter().any(|s| s.meta.contains_key(field)) {
                let known: BTreeSet<&str> = examples
                    .iter()
                    .flat_map(|s| s.meta.keys())
                    .map(String::as_str)
                    .collect();
                return Err(Error::InvalidInput(format!(
                    "no example of the index has the field {field:?} ({})",
                    match known.is_empty() {
                        true => "it has no metadata: JSONL string fields beside \"text\" become metadata"
                            .to_string(),
                        false => format!("fields: {}", known.into_iter().collect::<Vec<_>>().join(", ")),
                    }
                )));
            }
        }
        if self.exclude_same_doc && examples.iter().all(|s| s.doc.is_none()) {
            return Err(Error::InvalidInput(
                "exclude-same-doc: the index's sentences carry no document ids (CoNLL -DOCSTART- lines, BRAT files or a JSONL \"doc\" field give them)".into(),
            ));
        }
        let rows = self.static_rows(examples);
        if rows.as_ref().is_some_and(|r| r.is_empty()) {
            return Err(Error::InvalidInput(format!(
                "no example of the index passes the filters ({})",
                self.describe()
            )));
        }
        let doc_of_text = match self.exclude_same_doc {
            true => doc_of_text(examples),
            false => HashMap::new(),
        };
        Ok(Filter {
            rows,
            admitted: None,
            exclude_same_doc: self.exclude_same_doc,
            doc_of_text,
            len: examples.len(),
        }
        .with_mask())
    }

    /// The rows passing the filters that do not depend on the query, or
    /// `None` when there are none such (every row passes).
    fn static_rows(&self, examples: &[Sentence]) -> Option<Vec<u32>> {
        if self.min_entities == 0 && self.where_.is_empty() {
            return None;
        }
        let passes = |s: &Sentence| {
            s.entities.len() >= self.min_entities
                && self
                    .where_
                    .iter()
                    .all(|(field, value)| s.meta.get(field) == Some(value))
        };
        Some(
            (0..examples.len())
                .filter(|&row| passes(&examples[row]))
                .map(|row| row as u32)
                .collect(),
        )
    }

    /// The filters in words, for messages.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.min_entities > 0 {
            parts.push(format!("min-entities {}", self.min_entities));
        }
        parts.extend(self.where_.iter().map(|(f, v)| format!("{f}={v}")));
        parts.join(", ")
    }
}

/// The document of each distinct sentence text, for queries that are
/// themselves in the index (a corpus evaluated against itself): their
/// document is the one the index knows.
fn doc_of_text(examples: &[Sentence]) -> HashMap<String, String> {
    let mut docs = HashMap::new();
    for sentence in examples {
        if let Some(doc) = &sentence.doc {
            docs.entry(sentence.text.trim().to_string())
                .or_insert_with(|| doc.clone());
        }
    }
    docs
}

/// [`Filters`] checked against one index.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The rows that pass the query-independent filters (`None`: all).
    rows: Option<Vec<u32>>,
    /// The same as a mask, for constant-time checks during a search.
    admitted: Option<Vec<bool>>,
    exclude_same_doc: bool,
    doc_of_text: HashMap<String, String>,
    /// Rows of the index it was checked against.
    len: usize,
}

impl Filter {
    fn with_mask(mut self) -> Self {
        self.admitted = self.rows.as_ref().map(|rows| {
            let mut mask = vec![false; self.len];
            for &row in rows {
                mask[row as usize] = true;
            }
            mask
        });
        self
    }

    /// Rows of the index the filter was checked against.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it was checked against an empty index.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What will give queries fewer than `k` demonstrations: too few
    /// sentences pass the filters (or the index is that small).
    pub fn warnings(&self, k: usize) -> Vec<String> {
        let left = self.rows.as_ref().map_or(self.len, Vec::len);
        if left >= k {
            return Vec::new();
        }
        let which = match self.rows {
            Some(_) => "the filters leave",
            None => "the index has",
        };
        vec![format!(
            "{which} {left} sentences, fewer than k = {k}: queries get at most {left} demonstrations"
        )]
    }

    /// The filter applied to one query: its text and, when known, document.
    pub fn pool<'a>(&'a self, index: &'a Index, text: &'a str, doc: Option<&'a str>) -> Pool<'a> {
        let doc = match self.exclude_same_doc {
            true => doc.or_else(|| self.doc_of_text.get(text.trim()).map(String::as_str)),
            false => None,
        };
        Pool {
            filter: self,
            index,
            query_text: text,
            excluded_doc: doc,
        }
    }
}

/// A candidate demonstration: a row of the index and its similarity to the
/// query (absent for strategies that do not compare vectors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The row of the index.
    pub row: usize,
    /// Cosine similarity to the query, when compared.
    pub score: Option<f32>,
}

/// The rows one query may take demonstrations from.
pub struct Pool<'a> {
    filter: &'a Filter,
    index: &'a Index,
    query_text: &'a str,
    excluded_doc: Option<&'a str>,
}

impl<'a> Pool<'a> {
    /// The index the rows are of.
    pub fn index(&self) -> &'a Index {
        self.index
    }

    /// Whether `row` may be a demonstration.
    pub fn admits(&self, row: usize) -> bool {
        self.filter.admitted.as_ref().is_none_or(|mask| mask[row])
            && self
                .excluded_doc
                .is_none_or(|doc| self.index.examples()[row].doc.as_deref() != Some(doc))
    }

    /// The rows passing the query-independent filters, when some filter
    /// applies (`None`: every row of the index).
    pub fn rows(&self) -> Option<&[u32]> {
        self.filter.rows.as_deref()
    }

    /// Up to `n` admitted rows nearest `vector`, best first, skipping the
    /// query's own sentence and repeated texts; `n` when `n` exist. When few
    /// rows pass, comparing with each is cheaper than walking the graph:
    /// a walk with a filter admitting a share p of n rows scores about
    /// ef/p nodes, a scan p·n, so the scan wins when (p·n)² < ef·n (with a
    /// margin of 4 for the links scored per node expanded).
    pub fn nearest(&self, vector: &[f32], n: usize, mode: SearchMode) -> Vec<Candidate> {
        let index = self.index;
        let scan = match (self.rows(), mode) {
            (Some(rows), SearchMode::Hnsw { ef }) => {
                let ef = ef.unwrap_or(index.manifest().hnsw.ef_search);
                rows.len() * rows.len() <= ef.saturating_mul(4 * index.len())
            }
            _ => false,
        };
        // Ask for a few more than n: the query itself and duplicate texts are
        // skipped. Widen the search until n are found or the index is exhausted.
        let n = n.min(index.len());
        let mut want = n + 8;
        loop {
            let hits: Vec<Hit> = match (scan, self.rows()) {
                (true, Some(rows)) => {
                    let admitted: Vec<u32> = rows
                        .iter()
                        .copied()
                        .filter(|&r| self.admits(r as usize))
                        .collect();
                    index.search_among(vector, want, &admitted)
                }
                _ => index.search_where(vector, want, mode, |row| self.admits(row)),
            };
            let exhausted = scan || hits.len() < want || want >= index.len();
            let candidates = hits.iter().map(|h| Candidate {
                row: h.node as usize,
                score: Some(h.similarity),
            });
            let found = self.distinct(candidates, n);
            if found.len() == n || exhausted {
                return found;
            }
            want = (want * 2).min(index.len());
        }
    }

    /// Keeps candidates in order while skipping rows not admitted, the
    /// query's own sentence and texts already taken; stops at `n`.
    pub fn distinct(&self, candidates: impl IntoIterator<Item = Candidate>, n: usize) -> Vec<Candidate> {
        let query_text = self.query_text.trim();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut kept = Vec::with_capacity(n.min(self.index.len()));
        for candidate in candidates {
            if kept.len() == n {
                break;
            }
            if !self.admits(candidate.row) {
                continue;
            }
            let text = self.index.examples()[candidate.row].text.trim();
            if text == query_text || !seen.insert(text) {
                continue;
            }
            kept.push(candidate);
        }
        kept
    }

    /// The demonstrations of `candidates`, in their order.
    pub fn demos(&self, candidates: &[Candidate]) -> Vec<Demo> {
        candidates
            .iter()
            .map(|c| Demo {
                example: Example::from(&self.index.examples()[c.row]),
                score: c.score,
                reason: None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_pairs_are_read_and_a_field_twice_is_refused() {
        let fields = Filters::parse_where(&["source=pubmed", " split = train "]).unwrap();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(f, v)| (f.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("source", "pubmed"), ("split", "train")]);
        let twice = Filters::parse_where(&["split=a", "split=b"])
            .unwrap_err()
            .to_string();
        assert!(twice.contains("field split twice"), "{twice}");
        let bare = Filters::parse_where(&["split"]).unwrap_err().to_string();
        assert!(bare.contains("expected FIELD=VALUE"), "{bare}");
    }

    #[test]
    fn filters_read_from_json_with_their_public_names() {
        let filters: Filters = serde_json::from_str(
            r#"{"min_entities": 2, "exclude_same_doc": true, "where": {"split": "train"}}"#,
        )
        .unwrap();
        assert_eq!(filters.min_entities, 2);
        assert!(filters.exclude_same_doc);
        assert_eq!(filters.where_["split"], "train");
        assert_eq!(filters.describe(), "min-entities 2, split=train");
        assert!(serde_json::from_str::<Filters>(r#"{"min_entity": 2}"#).is_err());
    }
}
