//! The mention index of an index: every gold mention of the pool (its
//! normalised string, type, sentence and offsets), and vectors of the
//! distinct mentions with an HNSW graph over them, so that a phrase the
//! pool never annotates verbatim ("breast carcinoma") still finds the
//! sentences annotating a close one ("breast cancer").
//!
//! ```text
//! mentions.bin        the mentions and the distinct strings (bincode)
//! mentions.f32        one unit vector per point, little-endian f32
//! mentions-graph.bin  the HNSW layers over those vectors (bincode)
//! ```
//!
//! A point is a distinct mention string embedded alone (`window` 0), or
//! one mention embedded with `window` words of its sentence on each side.
//! The vectors are made by the index's own encoder (see
//! `pipeline::mention_index`); this module only holds and searches them.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::graph::{exact_search, Graph, Layer};
use super::hnsw::{build_graph, HnswParams};
use crate::corpus::Sentence;
use crate::vectors::Vectors;

/// Candidate list length of mention searches.
const EF: usize = 64;

/// One gold mention of the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// Row of the sentence that annotates it.
    pub row: u32,
    /// First character of the mention in the sentence.
    pub start: u32,
    /// One past its last character.
    pub end: u32,
    /// Its entity type.
    pub label: String,
    /// Its normalised string, as an index into [`MentionTable::strings`].
    pub key: u32,
}

/// The mentions of a pool and their distinct normalised strings: what is
/// stored in `mentions.bin`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MentionTable {
    /// Words of context on each side of a mention in its vector (0: alone).
    pub window: usize,
    /// The distinct normalised strings ([`normalise`]), in order of first appearance.
    pub strings: Vec<String>,
    /// Every gold mention, in sentence order.
    pub mentions: Vec<Mention>,
    /// For each vector, the mention it was made from (for `window` 0, the
    /// first mention of its string).
    pub points: Vec<u32>,
}

/// A mention's string as mentions are compared: lower case, runs of white
/// space as one space, trimmed.
pub fn normalise(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

impl MentionTable {
    /// The gold mentions of `sentences` (row i is sentence i), with one point
    /// per distinct string (`window` 0) or per mention.
    pub fn collect(sentences: &[Sentence], window: usize) -> MentionTable {
        let mut keys: HashMap<String, u32> = HashMap::new();
        let mut table = MentionTable {
            window,
            ..MentionTable::default()
        };
        for (row, sentence) in sentences.iter().enumerate() {
            for entity in &sentence.entities {
                let text = normalise(sentence.slice(entity.start, entity.end));
                if text.is_empty() {
                    continue;
                }
                let next = table.strings.len() as u32;
                let key = *keys.entry(text.clone()).or_insert(next);
                let new_string = key == next;
                if new_string {
                    table.strings.push(text);
                }
                if window > 0 || new_string {
                    table.points.push(table.mentions.len() as u32);
                }
                table.mentions.push(Mention {
                    row: row as u32,
                    start: entity.start as u32,
                    end: entity.end as u32,
                    label: entity.label.clone(),
                    key,
                });
            }
        }
        table
    }

    /// The text embedded for each point, in point order.
    pub fn point_texts(&self, sentences: &[Sentence]) -> Vec<String> {
        self.points
            .iter()
            .map(|&m| {
                let mention = &self.mentions[m as usize];
                match self.window {
                    0 => self.strings[mention.key as usize].clone(),
                    window => {
                        let sentence = &sentences[mention.row as usize];
                        in_context(
                            &sentence.text,
                            mention.start as usize,
                            mention.end as usize,
                            window,
                        )
                    }
                }
            })
            .collect()
    }

    /// Checks that the table fits `sentences`; the reason when it does not.
    pub fn validate(&self, sentences: &[Sentence]) -> Result<(), String> {
        for (i, m) in self.mentions.iter().enumerate() {
            let Some(sentence) = sentences.get(m.row as usize) else {
                return Err(format!("mention {i} is of row {}, beyond the sentences", m.row));
            };
            let chars = sentence.text.chars().count() as u32;
            if m.start >= m.end || m.end > chars || m.key as usize >= self.strings.len() {
                return Err(format!(
                    "mention {i} has offsets or a string outside its sentence"
                ));
            }
        }
        match self.points.iter().find(|&&p| p as usize >= self.mentions.len()) {
            Some(p) => Err(format!("point of mention {p}, beyond the mentions")),
            None => Ok(()),
        }
    }
}

/// `text`'s characters `start..end` with up to `window` words of the text on
/// each side: what a mention (or a query's phrase) is embedded as.
pub fn in_context(text: &str, start: usize, end: usize, window: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let (start, end) = (start.min(chars.len()), end.min(chars.len()));
    let before: String = chars[..start].iter().collect();
    let inside: String = chars[start..end].iter().collect();
    let after: String = chars[end..].iter().collect();
    let left: Vec<&str> = before.split_whitespace().collect();
    let right: Vec<&str> = after.split_whitespace().take(window).collect();
    let left = &left[left.len().saturating_sub(window)..];
    let mut words: Vec<&str> = left.to_vec();
    words.push(inside.trim());
    words.extend(right);
    words.join(" ")
}

/// The mention table with its vectors and graph: the mention index.
#[derive(Debug)]
pub struct Mentions {
    /// The mentions, strings and points.
    pub table: MentionTable,
    /// One unit vector per point.
    pub vectors: Vectors,
    /// The graph over the vectors.
    pub graph: Graph,
}

/// A mention string found near a query phrase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    /// The string's key in [`MentionTable::strings`].
    pub key: u32,
    /// Cosine similarity of the phrase and the point.
    pub similarity: f32,
}

impl Mentions {
    /// The mention index of `table` with the vectors of its points (row i:
    /// point i, in the order of [`MentionTable::point_texts`]).
    pub fn build(table: MentionTable, vectors: Vectors) -> Mentions {
        // hnsw_rs cannot freeze an empty graph: a pool without annotations
        // (plain text) gets one empty layer.
        let graph = match vectors.is_empty() {
            true => Graph::new(0, vec![Layer::from_lists(&[])]),
            false => build_graph(&vectors, &HnswParams::default()),
        };
        Mentions {
            table,
            vectors,
            graph,
        }
    }

    /// The distinct mention strings nearest `vector`, best first, at most
    /// `n` (several points may share a string: each string once).
    pub fn nearest(&self, vector: &[f32], n: usize) -> Vec<Near> {
        if self.vectors.is_empty() {
            return Vec::new();
        }
        // A few times n points: with context windows one string has several.
        let want = n.saturating_mul(4).max(n + 8);
        let hits = match self.vectors.len() <= want {
            true => exact_search(&self.vectors, vector, want),
            false => self.graph.search(&self.vectors, vector, want, EF.max(want)),
        };
        let mut seen = Vec::new();
        let mut near = Vec::new();
        for hit in hits {
            let key = self.table.mentions[self.table.points[hit.node as usize] as usize].key;
            if !seen.contains(&key) {
                seen.push(key);
                near.push(Near {
                    key,
                    similarity: hit.similarity,
                });
            }
            if near.len() == n {
                break;
            }
        }
        near
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::annotated as sentence;

    #[test]
    fn mentions_share_a_string_across_case_and_spacing() {
        let sentences = [
            sentence("Breast  Cancer runs in families .", &[(0, 14, "Disease")]),
            sentence("no mention here", &[]),
            sentence(
                "breast cancer and asthma",
                &[(0, 13, "Disease"), (18, 24, "Disease")],
            ),
        ];
        let table = MentionTable::collect(&sentences, 0);
        assert_eq!(table.strings, ["breast cancer", "asthma"]);
        let keys: Vec<(u32, u32)> = table.mentions.iter().map(|m| (m.row, m.key)).collect();
        assert_eq!(keys, [(0, 0), (2, 0), (2, 1)]);
        assert_eq!(table.points, [0, 2], "one point per distinct string");
        assert_eq!(table.point_texts(&sentences), ["breast cancer", "asthma"]);
        assert!(table.validate(&sentences).is_ok());
        assert!(table.validate(&sentences[..1]).is_err());

        let windowed = MentionTable::collect(&sentences, 2);
        assert_eq!(windowed.points, [0, 1, 2], "one point per mention");
        assert_eq!(
            windowed.point_texts(&sentences),
            [
                "Breast  Cancer runs in",
                "breast cancer and asthma",
                "cancer and asthma"
            ]
        );
    }

    #[test]
    fn context_windows_take_whole_words_on_each_side() {
        let text = "a b c mention here d e";
        assert_eq!(in_context(text, 6, 18, 1), "c mention here d");
        assert_eq!(in_context(text, 6, 18, 0), "mention here");
        assert_eq!(in_context(text, 0, 1, 5), "a b c mention here d");
    }
}
