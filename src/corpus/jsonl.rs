//! JSON Lines: one object per non-empty line,
//! `{"text": ..., "entities": [{"start", "end", "type"}], "id": ..., "doc": ...}`,
//! with character offsets into `text`. `entities`, `id` and `doc` (the
//! sentence's document) are optional, `label` is accepted for `type`. Other
//! top-level fields holding a string (`"source"`, `"split"`, ...) are kept as
//! the sentence's metadata; fields of other kinds are ignored.

use std::collections::BTreeMap;

use std::path::Path;

use serde::Deserialize;

use super::text::{file_name, read_lines};
use super::tokenize::{checked_span, sentence};
use super::{check_type_name, Corpus, Sentence, Warning};
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct Record {
    text: String,
    #[serde(default)]
    entities: Vec<Entity>,
    id: Option<serde_json::Value>,
    doc: Option<serde_json::Value>,
    #[serde(flatten)]
    rest: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Entity {
    start: usize,
    end: usize,
    #[serde(rename = "type", alias = "label")]
    label: String,
}

/// Reads a JSONL file; ids default to `{file_name}:{line}`.
pub fn read(path: &Path) -> Result<Corpus> {
    let name = file_name(path);
    let mut corpus = Corpus::default();
    for (i, line) in read_lines(path)?.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line)
            .map_err(|e| Error::corpus_at(path, i + 1, format!("not a JSONL record with \"text\": {e}")))?;
        let default_id = format!("{name}:{}", i + 1);
        corpus.sentences.push(to_sentence(
            path,
            i + 1,
            record,
            default_id,
            &mut corpus.warnings,
        )?);
    }
    Ok(corpus)
}

/// Checks the text and the entities against it, and tokenizes. A blank text
/// is refused: it would be indexed and served as a demonstration of nothing.
fn to_sentence(
    path: &Path,
    line: usize,
    record: Record,
    default_id: String,
    warnings: &mut Vec<Warning>,
) -> Result<Sentence> {
    let refuse = |message: String| Error::corpus_at(path, line, message);
    if record.text.trim().is_empty() {
        return Err(refuse(
            "\"text\" is empty or only whitespace; a sentence needs words".into(),
        ));
    }
    let chars: Vec<char> = record.text.chars().collect();
    let mut spans = Vec::with_capacity(record.entities.len());
    for Entity { start, end, label } in record.entities {
        check_type_name(&label).map_err(|m| refuse(format!("entity {start}..{end}: {m}")))?;
        let (span, note) = checked_span(&chars, start, end, label).map_err(refuse)?;
        if let Some(message) = note {
            warnings.push(Warning {
                location: format!("{}:{line}", path.display()),
                message,
            });
        }
        spans.push(span);
    }
    let id = record.id.map_or(default_id, as_text);
    let mut sentence = sentence(id, record.text, spans);
    sentence.doc = record.doc.map(as_text);
    sentence.meta = record
        .rest
        .into_iter()
        .filter_map(|(field, value)| match value {
            serde_json::Value::String(text) => Some((field, text)),
            _ => None,
        })
        .collect();
    Ok(sentence)
}

/// An id as text: a string as it is, a number (or anything else) as JSON.
fn as_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::text::tests::temp_file;
    use crate::corpus::{tokenize::trim_span, Span};
    use proptest::prelude::*;

    fn read_str(content: &str) -> Result<Corpus> {
        let (_dir, path) = temp_file("data.jsonl", content.as_bytes());
        read(&path)
    }

    #[test]
    fn reads_records() {
        let content = r#"{"text": "Aspirin-induced asthma.", "entities": [{"start": 0, "end": 7, "type": "Chemical"}, {"start": 16, "end": 22, "label": "Disease"}], "id": "pmid1"}

{"text": "No entities here", "extra": 1}
{"text": "β-blocker", "entities": [{"start": 2, "end": 9, "type": "Chemical"}], "id": 7}
"#;
        let corpus = read_str(content).unwrap();
        let ids: Vec<_> = corpus.sentences.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["pmid1", "data.jsonl:3", "7"]);
        let first = &corpus.sentences[0];
        assert_eq!(first.span_text(&first.entities[0]), "Aspirin");
        assert_eq!(first.span_text(&first.entities[1]), "asthma");
        assert!(corpus.sentences[1].entities.is_empty());
        let third = &corpus.sentences[2];
        assert_eq!(third.span_text(&third.entities[0]), "blocker");
        assert!(corpus.warnings.is_empty());
    }

    #[test]
    fn keeps_the_document_and_string_metadata() {
        let content = r#"{"text": "a", "doc": "pmid1", "source": "pubmed", "split": "train", "year": 2020}
{"text": "b", "doc": 17, "id": "x"}
"#;
        let corpus = read_str(content).unwrap();
        let [first, second] = &corpus.sentences[..] else {
            panic!("{:?}", corpus.sentences)
        };
        assert_eq!(first.doc.as_deref(), Some("pmid1"));
        let meta: Vec<(&str, &str)> = first.meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(meta, [("source", "pubmed"), ("split", "train")]);
        assert_eq!((second.doc.as_deref(), second.id.as_str()), (Some("17"), "x"));
        assert!(second.meta.is_empty());
    }

    #[test]
    fn splits_tokens_at_entity_boundaries() {
        let corpus =
            read_str(r#"{"text": "p53mutant", "entities": [{"start": 0, "end": 3, "type": "Gene"}]}"#)
                .unwrap();
        assert_eq!(corpus.sentences[0].tokens.len(), 2);
    }

    #[test]
    fn trims_whitespace_around_entities_with_a_warning() {
        let corpus =
            read_str(r#"{"text": "a fever b", "entities": [{"start": 1, "end": 8, "type": "S"}]}"#).unwrap();
        assert_eq!(
            corpus.sentences[0].entities[0],
            Span {
                start: 2,
                end: 7,
                label: "S".into()
            }
        );
        assert_eq!(corpus.warnings.len(), 1);
        assert_eq!(corpus.warnings[0].location.rsplit_once(':').unwrap().1, "1");
    }

    #[test]
    fn bad_records_name_file_and_line() {
        for bad in [
            "{\"text\": \"abc\",}",
            "[1, 2]",
            "{\"entities\": []}",
            r#"{"text": "abc", "entities": [{"start": 2, "end": 2, "type": "X"}]}"#,
            r#"{"text": "abc", "entities": [{"start": 1, "end": 4, "type": "X"}]}"#,
            r#"{"text": "abc", "entities": [{"start": 1, "end": 2}]}"#,
            r#"{"text": "a  c", "entities": [{"start": 1, "end": 3, "type": "X"}]}"#,
            r#"{"text": ""}"#,
            r#"{"text": " \t ", "entities": []}"#,
            r#"{"text": "abc", "entities": [{"start": 0, "end": 1, "type": ""}]}"#,
            r#"{"text": "abc", "entities": [{"start": 0, "end": 1, "type": "  "}]}"#,
        ] {
            let content = format!("{{\"text\": \"fine\"}}\n\n{bad}\n");
            let message = read_str(&content).unwrap_err().to_string();
            assert!(message.contains("data.jsonl:3:"), "{bad}: {message}");
        }
    }

    #[test]
    fn problems_are_said_plainly() {
        for (bad, said) in [
            (r#"{"text": " "}"#, "\"text\" is empty or only whitespace"),
            (
                r#"{"text": "abc", "entities": [{"start": 0, "end": 1, "type": ""}]}"#,
                "empty entity type",
            ),
            (
                r#"{"text": "abc", "entities": [{"start": 1, "end": 1, "type": "X"}]}"#,
                "empty entity (start == end)",
            ),
        ] {
            let message = read_str(bad).unwrap_err().to_string();
            assert!(message.contains(said), "{bad}: {message}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_not_text() {
        let corpus = read_str(
            "\u{feff}{\"text\": \"ab\", \"entities\": [{\"start\": 0, \"end\": 2, \"type\": \"X\"}]}",
        )
        .unwrap();
        assert_eq!(corpus.sentences[0].text, "ab");
    }

    #[test]
    fn empty_file_gives_no_sentences() {
        assert!(read_str("\n  \n").unwrap().sentences.is_empty());
    }

    /// Random text and entities (overlaps allowed) that start and end on a
    /// non-whitespace character: the only spans a reader keeps as given.
    fn text_and_spans() -> impl Strategy<Value = (String, Vec<Span>)> {
        (
            "[a-zβ0-9 ,.()\\-\n\t]{0,40}",
            prop::collection::vec((any::<prop::sample::Index>(), 1..8usize), 0..5),
        )
            .prop_map(|(text, picks)| {
                let chars: Vec<char> = text.chars().collect();
                let mut spans = Vec::new();
                for (pick, length) in picks {
                    if chars.is_empty() {
                        break;
                    }
                    let start = pick.index(chars.len());
                    let end = (start + length).min(chars.len());
                    if let Some((start, end)) = trim_span(&chars, start, end) {
                        spans.push(Span {
                            start,
                            end,
                            label: format!("T{}", length % 3),
                        });
                    }
                }
                spans.sort();
                (text, spans)
            })
    }

    proptest! {
        #[test]
        fn round_trips_spans_on_token_boundaries((text, spans) in text_and_spans()) {
            let entities: Vec<_> = spans.iter()
                .map(|s| serde_json::json!({"start": s.start, "end": s.end, "type": s.label}))
                .collect();
            let line = serde_json::json!({"text": text, "entities": entities}).to_string();
            let read = read_str(&line);
            if text.trim().is_empty() {
                prop_assert!(read.is_err());
                return Ok(());
            }
            let corpus = read.unwrap();
            let sentence = &corpus.sentences[0];
            prop_assert_eq!(&sentence.text, &text);
            prop_assert_eq!(&sentence.entities, &spans);
            prop_assert!(corpus.warnings.is_empty());
            for span in &spans {
                prop_assert!(sentence.tokens.iter().any(|t| t.start == span.start));
                prop_assert!(sentence.tokens.iter().any(|t| t.end == span.end));
            }
            let covered: usize = sentence.tokens.iter().map(|t| t.end - t.start).sum();
            prop_assert_eq!(covered, text.chars().filter(|c| !c.is_whitespace()).count());
            prop_assert!(sentence.tokens.windows(2).all(|w| w[0].end <= w[1].start));
            for token in &sentence.tokens {
                prop_assert!(!sentence.slice(token.start, token.end).contains(char::is_whitespace));
            }
        }
    }
}
