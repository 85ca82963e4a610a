//! A user's own dictionary (a licensed UMLS subset, a hospital's drug list)
//! as a knowledge source, in one of two shapes:
//!
//! - TSV: `term<TAB>type[<TAB>definition]` a line;
//! - JSONL: `{"term": "...", "type": "...", "definition": "...", "synonyms": [...], "id": "..."}`
//!   a line, `definition`, `synonyms` and `id` optional.
//!
//! Blank lines and lines starting with `#` are passed over. A line without a
//! term or a type is an error naming the file and line; a term listed on
//! several lines (say, with two types) is one term per line, all found together.

use std::path::Path;

use serde::Deserialize;

use super::{SourceInfo, Term, TermList};
use crate::digest::sha256_hex;
use crate::error::{Error, Result};

/// Reads a TSV term list as a source named `name`.
pub fn read_tsv(path: &Path, name: &str) -> Result<TermList> {
    read(path, name, tsv_line)
}

/// Reads a JSONL term list as a source named `name`.
pub fn read_jsonl(path: &Path, name: &str) -> Result<TermList> {
    read(path, name, jsonl_line)
}

fn read(path: &Path, name: &str, line: fn(&str) -> Result<Term, String>) -> Result<TermList> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|e| Error::corpus(path, format!("not UTF-8 text: {e}")))?;
    let terms = parse(text, line).map_err(|(at, message)| Error::corpus_at(path, at, message))?;
    let info = SourceInfo {
        name: name.to_string(),
        title: None,
        version: None,
        licence: None,
        origin: path.display().to_string(),
        sha256: sha256_hex(&bytes),
        terms: 0,
    };
    Ok(TermList::new(info, terms))
}

fn parse(text: &str, line: fn(&str) -> Result<Term, String>) -> Result<Vec<Term>, (usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| line(l.trim_end_matches('\r')).map_err(|m| (i + 1, m)))
        .collect()
}

fn tsv_line(line: &str) -> Result<Term, String> {
    let mut columns = line.split('\t').map(str::trim);
    let term = columns.next().unwrap_or("");
    let category = columns.next().unwrap_or("");
    let definition = columns.next().filter(|d| !d.is_empty());
    if term.is_empty() || category.is_empty() {
        return Err(format!(
            "expected term<TAB>type[<TAB>definition], found {line:?} (a missing or empty column)"
        ));
    }
    Ok(term_of(term, category, definition, Vec::new(), None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    term: String,
    #[serde(rename = "type")]
    category: String,
    definition: Option<String>,
    #[serde(default)]
    synonyms: Vec<String>,
    id: Option<String>,
}

fn jsonl_line(line: &str) -> Result<Term, String> {
    let read: Line = serde_json::from_str(line).map_err(|e| format!("not a term line: {e}"))?;
    if read.term.trim().is_empty() || read.category.trim().is_empty() {
        return Err("\"term\" and \"type\" must not be empty".into());
    }
    Ok(term_of(
        read.term.trim(),
        read.category.trim(),
        read.definition
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty()),
        read.synonyms,
        read.id,
    ))
}

fn term_of(
    name: &str,
    category: &str,
    definition: Option<&str>,
    synonyms: Vec<String>,
    id: Option<String>,
) -> Term {
    Term {
        id,
        name: name.to_string(),
        synonyms,
        category: category.to_string(),
        definition: definition.map(str::to_string),
        count: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_lines_give_terms_and_comments_are_passed_over() {
        let terms = parse(
            "# drug list\naspirin\tDrug\tA salicylate.\n\nibuprofen\tDrug\n",
            tsv_line,
        )
        .unwrap();
        assert_eq!(terms.len(), 2);
        assert_eq!(terms[0].definition.as_deref(), Some("A salicylate."));
        assert_eq!(
            (terms[1].name.as_str(), terms[1].category.as_str()),
            ("ibuprofen", "Drug")
        );
        assert_eq!(terms[1].definition, None);
    }

    #[test]
    fn a_missing_column_names_its_line() {
        let (line, message) = parse("aspirin\tDrug\n# x\nibuprofen\n", tsv_line).unwrap_err();
        assert_eq!(line, 3);
        assert!(message.contains("missing or empty column"), "{message}");
        assert_eq!(parse("a\t\tdef\n", tsv_line).unwrap_err().0, 1);
    }

    #[test]
    fn jsonl_lines_take_synonyms_and_refuse_unknown_fields() {
        let terms = parse(
            r#"{"term": "heart attack", "type": "Disease", "synonyms": ["MI"], "id": "D009203"}"#,
            jsonl_line,
        )
        .unwrap();
        assert_eq!(terms[0].synonyms, ["MI"]);
        assert_eq!(terms[0].id.as_deref(), Some("D009203"));
        for bad in [
            r#"{"term": "x"}"#,
            r#"{"term": "x", "type": "T", "typo": 1}"#,
            "not json",
            r#"{"term": " ", "type": "T"}"#,
        ] {
            let (line, message) = parse(bad, jsonl_line).unwrap_err();
            assert_eq!(line, 1, "{bad}: {message}");
        }
    }
}
