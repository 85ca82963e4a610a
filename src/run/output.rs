//! The output directory of an experiment, every file written atomically:
//!
//! ```text
//! <out>/report.json                  the ExperimentReport
//! <out>/report.md                    the same as a Markdown table
//! <out>/<strategy>/predictions.jsonl one {"id", "text", "entities"} line per test sentence
//! <out>/<strategy>/predictions.conll the same as IOB2 tags on the test tokens
//! <out>/<strategy>/log.jsonl         one Exchange per request: prompt, answer, spans
//! <out>/<strategy>/requests.jsonl    a dry run's OpenAI batch request lines (only)
//! <out>/<pass>/requests.jsonl        those of a two-pass run's first pass (`candidates`)
//! ```
//!
//! `<strategy>` is the arm's name: the strategy's, or `zero-shot`.

use std::path::{Path, PathBuf};

use super::{predictions, Event, ExperimentReport, Planned};
use crate::backend::{batch_request_line, Request};
use crate::corpus::{Sentence, Span};
use crate::error::{Error, Result};
use crate::index::write_file_atomically;

/// One JSON line per item.
fn jsonl<T: serde::Serialize>(items: impl IntoIterator<Item = T>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for item in items {
        serde_json::to_writer(&mut out, &item)
            .map_err(|e| Error::Internal(format!("cannot serialise: {e}")))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// `<out>/<name>`, created.
fn arm_dir(out: &Path, name: &str) -> Result<PathBuf> {
    let dir = out.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

/// `<out>/<name>/requests.jsonl`: `(key, request)` pairs as OpenAI batch
/// lines, `custom_id` their cache key.
fn write_batch<'a>(
    out: &Path,
    name: &str,
    requests: impl ExactSizeIterator<Item = (&'a String, &'a Request)>,
    first_pass: Option<&str>,
    on: &(dyn Fn(Event<'_>) + Sync),
) -> Result<()> {
    let count = requests.len();
    let lines = requests.map(|(key, request)| batch_request_line(request, key));
    let path = arm_dir(out, name)?.join("requests.jsonl");
    write_file_atomically(&path, &jsonl(lines)?)?;
    on(Event::RequestsWritten {
        path: &path,
        requests: count,
        first_pass,
    });
    Ok(())
}

/// Each strategy's requests.
pub(super) fn write_requests(out: &Path, planned: &[Planned], on: &(dyn Fn(Event<'_>) + Sync)) -> Result<()> {
    for p in planned {
        let requests = p.exchanges.iter().map(|e| (&e.key, &e.request));
        write_batch(out, &p.name, requests, None, on)?;
    }
    Ok(())
}

/// A first pass's requests (`pass` names it).
pub(super) fn write_first_requests(
    out: &Path,
    pass: &str,
    requests: &[(String, Request)],
    on: &(dyn Fn(Event<'_>) + Sync),
) -> Result<()> {
    let requests = requests.iter().map(|(key, request)| (key, request));
    write_batch(out, pass, requests, Some(pass), on)
}

/// A strategy's predictions (JSONL and CoNLL) and its log of prompts and answers.
pub(super) fn write_strategy(out: &Path, planned: &Planned, test: &[Sentence]) -> Result<()> {
    let dir = arm_dir(out, &planned.name)?;
    let predicted = predictions(planned, test.len());
    let records = test.iter().zip(&predicted).map(|(sentence, spans)| {
        serde_json::json!({ "id": sentence.id, "text": sentence.text, "entities": spans })
    });
    write_file_atomically(&dir.join("predictions.jsonl"), &jsonl(records)?)?;
    write_file_atomically(&dir.join("predictions.conll"), conll(test, &predicted).as_bytes())?;
    write_file_atomically(&dir.join("log.jsonl"), &jsonl(&planned.exchanges)?)?;
    Ok(())
}

/// `report.json` and `report.md`.
pub(super) fn write_report(out: &Path, report: &ExperimentReport) -> Result<()> {
    let json = serde_json::to_vec_pretty(report)
        .map_err(|e| Error::Internal(format!("cannot serialise the report: {e}")))?;
    write_file_atomically(&out.join("report.json"), &json)?;
    write_file_atomically(&out.join("report.md"), report.markdown().as_bytes())
}

/// Predicted spans as IOB2 tags on the test sentences' tokens. A token is
/// tagged by the first span (by start) that overlaps it; overlapping spans
/// after it are left out, since IOB cannot nest.
fn conll(test: &[Sentence], predicted: &[Vec<Span>]) -> String {
    let mut out = String::new();
    for (sentence, spans) in test.iter().zip(predicted) {
        let mut current: Option<&Span> = None;
        for token in &sentence.tokens {
            let span = spans.iter().find(|s| s.start < token.end && token.start < s.end);
            let tag = match span {
                Some(s) if current == Some(s) => format!("I-{}", s.label),
                Some(s) => format!("B-{}", s.label),
                None => "O".into(),
            };
            current = span;
            out.push_str(&format!("{}\t{tag}\n", sentence.slice(token.start, token.end)));
        }
        out.push('\n');
    }
    out
}
