//! The module's functions: reading corpora, rendering prompts, scoring.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use exemplar::corpus::{self, Corpus, Example, Format, ReadOptions, Span, TagScheme, Warning};
use exemplar::eval::{evaluate_files, score, Evaluation, Reading};
use exemplar::prompt::{build, check_template, Context, Message, Prompt, PromptFormat};
use pyo3::exceptions::PyUserWarning;
use pyo3::prelude::*;
use serde::Serialize;

use crate::convert::{from_python, named, paths, to_json, to_python};
use crate::errors::{detached, InvalidInput, Outcome};

fn read_options(py: Python<'_>, scheme: &str, skip_invalid_spans: bool) -> PyResult<ReadOptions> {
    Ok(ReadOptions {
        scheme: named::<TagScheme>(py, scheme)?,
        skip_invalid_spans,
    })
}

/// What the readers accepted but noticed, as Python `UserWarning`s.
fn warn_readers(py: Python<'_>, warnings: &[Warning]) -> PyResult<()> {
    let category = py.get_type::<PyUserWarning>();
    for warning in warnings {
        let text = format!("{}: {}", warning.location, warning.message).replace('\0', " ");
        PyErr::warn(py, &category, &std::ffi::CString::new(text)?, 2)?;
    }
    Ok(())
}

/// Reads corpus file(s) (`format`: conll, brat, jsonl or text) into a list
/// of sentence dicts (id, text, entities with their text), the shape of a
/// selection's query and demos. A malformed file raises CorpusError with
/// `path` and `line`.
#[pyfunction]
#[pyo3(signature = (path, format="conll", *, scheme="auto", skip_invalid_spans=false))]
pub fn read_corpus<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyAny>,
    format: &str,
    scheme: &str,
    skip_invalid_spans: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let files = paths(path)?;
    let format: Format = named(py, format)?;
    let options = read_options(py, scheme, skip_invalid_spans)?;
    let (json, corpus) = detached(py, || {
        let corpus = corpus::read_all(&files, format, &options)?;
        let examples: Vec<Example> = corpus.sentences.iter().map(Example::from).collect();
        Ok((
            to_json(&examples)?,
            Corpus {
                sentences: Vec::new(),
                ..corpus
            },
        ))
    })?;
    warn_readers(py, &corpus.warnings)?;
    to_python(py, &json)
}

/// One pass of a rendered prompt: the library's [`Prompt`] with the texts a
/// backend sends (completion text, chat messages, stop sequences).
#[derive(Serialize)]
struct Rendered {
    /// The type a per-type pass asks for; `None` for all types.
    #[serde(rename = "type")]
    label: Option<String>,
    #[serde(flatten)]
    prompt: Prompt,
    text: String,
    messages: Vec<Message>,
    stop: Vec<String>,
}

/// Renders the prompt(s) for `query` with `demos` (dicts as `Index.select`
/// returns them, in prompt order) in `format` (list, tanl, gpt-ner, dice):
/// one dict per pass (per-type formats have one per type) with the
/// instruction, shots, query, completion `text`, chat `messages` and `stop`
/// sequences. `types` default to those of the demos, sorted.
#[pyfunction]
#[pyo3(signature = (query, demos, format="list", *, types=None, definitions=None, template=None, guidelines=None))]
#[allow(clippy::too_many_arguments)]
pub fn render_prompt<'py>(
    py: Python<'py>,
    query: &str,
    demos: &Bound<'py, PyAny>,
    format: &str,
    types: Option<Vec<String>>,
    definitions: Option<BTreeMap<String, String>>,
    template: Option<String>,
    guidelines: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let demos: Vec<Example> = from_python(demos, "demos")?;
    let format: PromptFormat = named(py, format)?;
    let types = types.unwrap_or_else(|| {
        let seen: BTreeSet<&str> = demos
            .iter()
            .flat_map(|d| &d.entities)
            .map(|e| e.label.as_str())
            .collect();
        seen.into_iter().map(String::from).collect()
    });
    let json = detached(py, || {
        let style = format.style();
        if let Some(template) = &template {
            check_template(style.as_ref(), template)?;
        }
        let ctx = Context {
            definitions: definitions.unwrap_or_default(),
            guidelines,
            template,
            ..Context::new(types)
        };
        let rendered: Vec<Rendered> = style
            .passes(&ctx.types)
            .into_iter()
            .map(|pass| {
                let prompt = build(style.as_ref(), &pass, &ctx, &demos, query, None);
                Rendered {
                    label: pass.label,
                    text: prompt.completion_text(),
                    messages: prompt.chat_messages(),
                    stop: prompt.stop_sequences(),
                    prompt,
                }
            })
            .collect();
        Ok(to_json(&rendered)?)
    })?;
    to_python(py, &json)
}

/// Strict and relaxed P/R/F1, as `exemplar eval --json` prints them. `gold`
/// and `pred` are files (read as `exemplar eval --gold --pred` reads them;
/// `pred_format` by the extension, else `format`), or lists with one list of
/// entity dicts (start, end, type) per sentence.
#[pyfunction]
#[pyo3(signature = (gold, pred, *, format="conll", pred_format=None, scheme="auto", skip_invalid_spans=false, strict_tags=false))]
#[allow(clippy::too_many_arguments)]
pub fn evaluate<'py>(
    py: Python<'py>,
    gold: &Bound<'py, PyAny>,
    pred: &Bound<'py, PyAny>,
    format: &str,
    pred_format: Option<&str>,
    scheme: &str,
    skip_invalid_spans: bool,
    strict_tags: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if let (Ok(gold), Ok(pred)) = (gold.extract::<PathBuf>(), pred.extract::<PathBuf>()) {
        let format: Format = named(py, format)?;
        let pred_format = pred_format.map(|name| named::<Format>(py, name)).transpose()?;
        let options = read_options(py, scheme, skip_invalid_spans)?;
        let reading = Reading {
            format,
            pred_format,
            options,
            strict_tags,
            limit: None,
        };
        let (json, warnings) = detached(py, || {
            let scored = evaluate_files(&gold, &pred, None, &reading)?;
            Ok((to_json(&scored.evaluation)?, scored.warnings))
        })?;
        warn_readers(py, &warnings)?;
        return to_python(py, &json);
    }
    let gold: Vec<Vec<Span>> = from_python(gold, "gold")?;
    let pred: Vec<Vec<Span>> = from_python(pred, "pred")?;
    if gold.len() != pred.len() {
        return Err(InvalidInput::new_err(format!(
            "{} gold sentences but {} predicted",
            gold.len(),
            pred.len()
        )));
    }
    let json = detached(py, || {
        let evaluation = Evaluation {
            report: score(&gold, &pred),
            repaired_tags: 0,
            vs_baseline: None,
        };
        Ok(to_json(&evaluation)?)
    })?;
    to_python(py, &json)
}

/// Panics inside native code, for the tests: shows that a Rust panic
/// arrives as `exemplar.InternalError`, never as an abort.
#[pyfunction]
pub fn _panic(py: Python<'_>, message: String) -> PyResult<()> {
    detached(py, || -> Outcome<()> { panic!("{message}") })
}
