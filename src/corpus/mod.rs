//! Annotated corpora, read into one normalised shape: a [`Sentence`] holds its
//! text, its tokens and its typed entity spans, all as character offsets into
//! the text (Unicode scalar values, as Python counts them, so offsets written
//! by exemplar can be used by other tools unchanged).
//!
//! Readers: [`conll`] (token TAB tag, IOB2 / BIOES, IOB1 on request),
//! [`brat`] (`.txt` + `.ann` standoff, split into sentences), [`jsonl`]
//! (`{"text", "entities": [{"start", "end", "type"}]}`) and [`text`] (one
//! sentence per line, no entities). Offsets are checked once, here: every
//! span a reader returns lies inside its sentence and on token boundaries.
//! Sentences also carry their document, when the format marks one, and (JSONL)
//! metadata fields, which selection can filter on.

pub mod brat;
pub mod conll;
pub mod jsonl;
pub mod text;
mod tokenize;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;

pub use tokenize::tokenize;

/// A typed entity mention: characters `start..end` of its sentence's text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// First character of the mention.
    pub start: usize,
    /// One past its last character.
    pub end: usize,
    /// The entity type (`type` in JSON).
    #[serde(rename = "type")]
    pub label: String,
}

/// A token: characters `start..end` of its sentence's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// First character of the token.
    pub start: usize,
    /// One past its last character.
    pub end: usize,
}

/// One sentence of a corpus with its gold entities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sentence {
    /// Stable identifier: source file (relative to what was read) and position,
    /// e.g. `train.tsv:17` or `batch2/case_35.txt:3`.
    pub id: String,
    /// The text (for CoNLL, the tokens joined by single spaces).
    pub text: String,
    /// Its tokens in order; every entity starts and ends on a token boundary.
    pub tokens: Vec<Token>,
    /// Its gold entities, in order of start.
    pub entities: Vec<Span>,
    /// The document the sentence belongs to, when the corpus says: a CoNLL
    /// `-DOCSTART-` block (`train.tsv#2`), a BRAT file, a JSONL `doc` field.
    #[serde(default)]
    pub doc: Option<String>,
    /// Other top-level string fields of a JSONL record (`source`, `split`, ...).
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
}

/// A sentence of `text` with `entities` (start, end, type), for unit tests.
#[cfg(test)]
pub(crate) fn annotated(text: &str, entities: &[(usize, usize, &str)]) -> Sentence {
    Sentence {
        id: "s".into(),
        text: text.into(),
        tokens: Vec::new(),
        entities: entities
            .iter()
            .map(|&(start, end, label)| Span {
                start,
                end,
                label: label.into(),
            })
            .collect(),
        doc: None,
        meta: Default::default(),
    }
}

impl Sentence {
    /// The text of characters `start..end` (empty when out of range).
    pub fn slice(&self, start: usize, end: usize) -> &str {
        let byte = |char_pos: usize| {
            self.text
                .char_indices()
                .nth(char_pos)
                .map_or(self.text.len(), |(b, _)| b)
        };
        if start >= end {
            return "";
        }
        &self.text[byte(start)..byte(end)]
    }

    /// The text an entity points at.
    pub fn span_text(&self, span: &Span) -> &str {
        self.slice(span.start, span.end)
    }
}

/// Checks an entity type read from a corpus: one rule for every reader. A
/// type must be non-empty and hold no whitespace or control character: an
/// empty type names nothing a prompt can ask for, and CoNLL (read by
/// exemplar, and written for its predictions) splits columns at whitespace.
pub(crate) fn check_type_name(label: &str) -> std::result::Result<(), String> {
    if label.is_empty() {
        return Err("empty entity type".into());
    }
    if label.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "entity type {label:?} contains whitespace or a control character"
        ));
    }
    Ok(())
}

/// An entity with the text it covers, as printed in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    /// First character of the mention.
    pub start: usize,
    /// One past its last character.
    pub end: usize,
    /// The entity type (`type` in JSON).
    #[serde(rename = "type")]
    pub label: String,
    /// The characters `start..end` of the sentence.
    pub text: String,
}

/// A sentence as shown to users: id, text and entities with their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The sentence's id (see [`Sentence::id`]).
    pub id: String,
    /// The sentence's text.
    pub text: String,
    /// Its entities, with their text.
    pub entities: Vec<Entity>,
}

impl From<&Sentence> for Example {
    fn from(sentence: &Sentence) -> Self {
        Example {
            id: sentence.id.clone(),
            text: sentence.text.clone(),
            entities: sentence
                .entities
                .iter()
                .map(|span| Entity {
                    start: span.start,
                    end: span.end,
                    label: span.label.clone(),
                    text: sentence.span_text(span).to_string(),
                })
                .collect(),
        }
    }
}

crate::named! {
    /// Input formats exemplar reads (not exhaustive: more may come).
    #[non_exhaustive]
    pub enum Format: "corpus format" {
        /// `token<TAB>tag` lines, blank line between sentences (IOB2, BIOES, IOB1).
        Conll => "conll",
        /// BRAT standoff: a directory (searched recursively) or `.txt` files with `.ann` beside them.
        Brat => "brat",
        /// One JSON object a line: `{"text": ..., "entities": [{"start", "end", "type"}]}`.
        Jsonl => "jsonl",
        /// Plain text, one sentence a line, no annotations.
        Text => "text",
    }
}

crate::named! {
    /// How CoNLL tags are read.
    #[derive(Default)]
    pub enum TagScheme: "tag scheme" {
        /// IOB2 or BIOES; an `I-` with no opening `B-` is an error.
        #[default]
        Auto => "auto",
        /// IOB1: an `I-` after `O` or another type opens a new entity.
        Iob1 => "iob1",
    }
}

/// Options shared by the readers.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// How CoNLL tags are read.
    pub scheme: TagScheme,
    /// BRAT: drop entities whose offsets do not fit the text (with a warning)
    /// instead of refusing the file.
    pub skip_invalid_spans: bool,
}

/// Something a reader accepted but the user should know about (a discontinuous
/// BRAT entity kept as its fragments, an IOB1 tag read leniently, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Where: a file, or `file:line`.
    pub location: String,
    /// What was noticed, and what was done about it.
    pub message: String,
}

/// The sentences of one or more files, in reading order, and what the readers noticed.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Every sentence read, in reading order.
    pub sentences: Vec<Sentence>,
    /// What the readers accepted but noticed.
    pub warnings: Vec<Warning>,
}

impl Corpus {
    /// Number of gold entities per type, sorted by type.
    pub fn counts_per_type(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for span in self.sentences.iter().flat_map(|s| &s.entities) {
            *counts.entry(span.label.clone()).or_insert(0) += 1;
        }
        counts
    }
}

/// Reads one corpus file (or, for BRAT, a directory) in the given format.
/// An empty result is an error naming the file: a corpus without sentences is
/// always a mistake in the path or the format.
pub fn read(path: &Path, format: Format, options: &ReadOptions) -> Result<Corpus> {
    let corpus = match format {
        Format::Conll => conll::read(path, options)?,
        Format::Brat => brat::read(path, options)?,
        Format::Jsonl => jsonl::read(path)?,
        Format::Text => text::read(path)?,
    };
    if corpus.sentences.is_empty() {
        return Err(crate::error::Error::corpus(
            path,
            format!("no sentences found (is it really {format:?}?)"),
        ));
    }
    Ok(corpus)
}

/// Reads several files and concatenates them in the order given.
pub fn read_all(paths: &[impl AsRef<Path>], format: Format, options: &ReadOptions) -> Result<Corpus> {
    let mut all = Corpus::default();
    for path in paths {
        let corpus = read(path.as_ref(), format, options)?;
        all.sentences.extend(corpus.sentences);
        all.warnings.extend(corpus.warnings);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_non_empty_and_without_whitespace() {
        for good in ["Disease", "Sign_or_Symptom", "Gene-or-protein", "ß"] {
            assert_eq!(check_type_name(good), Ok(()), "{good}");
        }
        assert!(check_type_name("").unwrap_err().contains("empty entity type"));
        for bad in [" ", "  ", " Disease", "Specific Disease", "A\tB", "X\u{7}"] {
            let message = check_type_name(bad).unwrap_err();
            assert!(message.contains("whitespace or a control"), "{bad:?}: {message}");
        }
    }
}
