//! Reading predictions: files a model or another tool wrote in one of the
//! corpus formats. They are read as corpora, with two differences. CoNLL tags
//! are read as seqeval reads them by default (an `I-` after `O` or after
//! another type opens an entity, and the repairs are counted), since models
//! write such tags and refusing the file would score nothing; and a malformed
//! line is the predictions' fault ([`Error::Answers`]), not a corpus's.

use std::path::Path;

use crate::corpus::{self, conll, Corpus, Format, ReadOptions};
use crate::error::{Error, Result};

/// Predicted sentences and what reading them took.
#[derive(Debug, Clone)]
pub struct Predictions {
    /// The predicted sentences (their entities are the predictions) and the reader's warnings.
    pub corpus: Corpus,
    /// CoNLL `I-`/`E-` tags that continued no entity and were read as opening
    /// one (0 when `strict_tags`, under IOB1, and for other formats).
    pub repaired_tags: usize,
}

/// The format of a predictions file not given explicitly: by its extension
/// (`.jsonl`, `.json`: JSONL; `.tsv`, `.conll`, `.iob`, `.bio`: CoNLL), else
/// the gold corpus's format.
pub fn predictions_format(path: &Path, gold: Format) -> Format {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("jsonl" | "json") => Format::Jsonl,
        Some("tsv" | "conll" | "iob" | "bio") => Format::Conll,
        _ => gold,
    }
}

/// Reads a predictions file. CoNLL tags that continue no entity are repaired
/// unless `strict_tags`, which makes them an error as in a gold corpus.
pub fn read_predictions(
    path: &Path,
    format: Format,
    options: &ReadOptions,
    strict_tags: bool,
) -> Result<Predictions> {
    let read = if format == Format::Conll && !strict_tags {
        conll::read_repairing(path, options)
    } else {
        corpus::read(path, format, options).map(|corpus| (corpus, 0))
    };
    let (corpus, repaired_tags) = read.map_err(as_answers)?;
    Ok(Predictions {
        corpus,
        repaired_tags,
    })
}

/// A malformed line of a predictions file is an [`Error::Answers`]; problems
/// of the whole file (no sentences, a BRAT directory) stay corpus errors.
fn as_answers(error: Error) -> Error {
    match error {
        Error::Corpus {
            path,
            line: Some(line),
            message,
        } => Error::Answers { path, line, message },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, content: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn format_follows_the_extension_then_the_gold() {
        for (path, gold, expected) in [
            ("runs/knn/predictions.jsonl", Format::Conll, Format::Jsonl),
            ("pred.JSON", Format::Conll, Format::Jsonl),
            ("runs/knn/predictions.conll", Format::Jsonl, Format::Conll),
            ("pred.tsv", Format::Jsonl, Format::Conll),
            ("pred.txt", Format::Brat, Format::Brat),
            ("predictions", Format::Jsonl, Format::Jsonl),
        ] {
            assert_eq!(predictions_format(Path::new(path), gold), expected, "{path}");
        }
    }

    #[test]
    fn conll_tags_are_repaired_unless_strict() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "pred.tsv", "a\tO\nb\tI-X\nc\tB-Y\nd\tI-X\n");
        let options = ReadOptions::default();
        let lenient = read_predictions(&path, Format::Conll, &options, false).unwrap();
        assert_eq!(lenient.repaired_tags, 2);
        assert_eq!(lenient.corpus.sentences[0].entities.len(), 3);
        let error = read_predictions(&path, Format::Conll, &options, true).unwrap_err();
        assert!(
            matches!(&error, Error::Answers { line: 2, message, .. } if message.contains("does not continue")),
            "{error:?}"
        );
    }

    #[test]
    fn malformed_lines_are_answers_errors_and_empty_files_corpus_errors() {
        let dir = tempfile::tempdir().unwrap();
        let options = ReadOptions::default();
        let json = write(dir.path(), "pred.jsonl", "{\"text\": \"a\"}\nnot json\n");
        let error = read_predictions(&json, Format::Jsonl, &options, false).unwrap_err();
        assert!(matches!(error, Error::Answers { line: 2, .. }), "{error:?}");
        assert!(error.to_string().contains("pred.jsonl:2:"), "{error}");
        let tags = write(dir.path(), "pred.tsv", "a\tO\nb\tQ-X\n");
        let error = read_predictions(&tags, Format::Conll, &options, false).unwrap_err();
        assert!(matches!(error, Error::Answers { line: 2, .. }), "{error:?}");
        let empty = write(dir.path(), "empty.jsonl", "");
        let error = read_predictions(&empty, Format::Jsonl, &options, false).unwrap_err();
        assert!(matches!(error, Error::Corpus { line: None, .. }), "{error:?}");
    }
}
