//! The JSON of `/v1/select`: the request, its validation into a [`Plan`], and
//! carrying a plan out ([`Plan::run`], blocking: embedding and search).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ApiError, Limits, Metrics, ServedIndex, MAX_K};
use crate::corpus::Example;
use crate::encoder::Encoder;
use crate::index::SearchMode;
use crate::knowledge::Hints;
use crate::pipeline::select;
use crate::progress::Quiet;
use crate::prompt::{build, Context, PromptFormat, QueryInput};
pub use crate::select::DEFAULT_SEED;
use crate::select::{Demo, Filters, Method, Order, Params, Resources, Strategy, DEFAULT_K};

/// Largest HNSW candidate list a request may ask for.
pub const MAX_EF: usize = 4096;

/// The body of `POST /v1/select`: exactly one of `text` and `texts`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectRequest {
    /// One query sentence (id `text` in the answer).
    pub text: Option<String>,
    /// Several query sentences (ids `texts[0]`, `texts[1]`, ...), at most the server's batch limit.
    pub texts: Option<Vec<String>>,
    /// Demonstrations per query [default: 16, at most 256].
    pub k: Option<usize>,
    /// The strategy [default: `knn`]: a name `exemplar select --strategy` takes.
    /// This and the next four are the fields of [`Method`], as
    /// `exemplar select --json` echoes it.
    pub strategy: Option<Strategy>,
    /// The strategy's parameters, e.g. `{"lambda": 0.7, "candidates": 64}`.
    pub params: Option<Params>,
    /// `{"min_entities": M, "exclude_same_doc": true, "where": {"FIELD": "VALUE"}}`, each optional;
    /// the query's document is known when the query is a sentence of the index.
    pub filters: Option<Filters>,
    /// `similar-last` (default), `similar-first` or `random`.
    pub order: Option<Order>,
    /// The index's name; may be left out when one index is served.
    pub index: Option<String>,
    /// Seed of random choices [default: 42].
    pub seed: Option<u64>,
    /// Exhaustive search instead of HNSW.
    #[serde(default)]
    pub exact: bool,
    /// HNSW candidate list length [default: the index's].
    pub ef: Option<usize>,
    /// Also render the prompt(s) for each query in this format.
    pub prompt: Option<PromptRequest>,
}

/// `"prompt": {"format": "tanl" | "list" | "gpt-ner" | "dice", "knowledge": true | false}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptRequest {
    /// The format to render prompts in.
    pub format: PromptFormat,
    /// Whether prompts show the server's knowledge hints [default: whether
    /// it has knowledge sources]; `true` from a server without is refused.
    pub knowledge: Option<bool>,
}

/// The answer of `POST /v1/select`: one result per query, in request order.
#[derive(Debug, Serialize)]
pub struct SelectResponse {
    /// One per query, in request order.
    pub results: Vec<Selection>,
    /// What gave queries fewer demonstrations than asked (absent when nothing did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One query's demonstrations: an `exemplar select --json` line, plus the
/// rendered prompts when asked for.
#[derive(Debug, Serialize)]
pub struct Selection {
    /// The query and its demonstrations (inline in JSON).
    #[serde(flatten)]
    pub selection: crate::select::Selection,
    /// The completion text of each pass, when the request asked for prompts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Vec<RenderedPrompt>>,
}

/// The completion text of one pass: all types (`type` null) or one type.
#[derive(Debug, Serialize)]
pub struct RenderedPrompt {
    /// The pass's type (`type` in JSON); `None` when the pass asks for all types.
    #[serde(rename = "type")]
    pub label: Option<String>,
    /// The prompt as one completion text (see [`crate::prompt::Prompt::completion_text`]).
    pub text: String,
    /// The knowledge hints it shows, most specific first (absent without knowledge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hints: Option<Vec<String>>,
    /// Hints left out by the server's caps (absent without knowledge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped_hints: Option<usize>,
}

/// A validated request.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The query sentences, none blank, with the ids the answer gives them.
    pub queries: Vec<Example>,
    /// The index asked for; `None` when the request named none.
    pub index: Option<String>,
    /// Demonstrations per query, 1 to [`MAX_K`].
    pub k: usize,
    /// How demonstrations are chosen, its parameters resolved.
    pub method: Method,
    /// Exact search, or HNSW with the request's `ef` (`None`: the index's default).
    pub mode: SearchMode,
    /// The prompts to render, when asked for.
    pub prompt: Option<PromptRequest>,
}

impl SelectRequest {
    /// Reads a request body.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let invalid = |problem: String| ApiError::BadRequest(format!("invalid request: {problem}"));
        let mut json = serde_json::Deserializer::from_slice(body);
        let request =
            serde_path_to_error::deserialize(&mut json).map_err(|e| match e.path().to_string().as_str() {
                "." => invalid(e.into_inner().to_string()),
                at => invalid(format!("{at}: {}", e.inner())),
            })?;
        json.end().map_err(|e| invalid(e.to_string()))?;
        Ok(request)
    }

    /// Checks the request against `limits` and the fixed bounds.
    pub fn into_plan(self, limits: &Limits) -> Result<Plan, ApiError> {
        let k = self.k.unwrap_or(DEFAULT_K);
        if !(1..=MAX_K).contains(&k) {
            return Err(ApiError::BadRequest(format!(
                "k must be between 1 and {MAX_K}, not {k}"
            )));
        }
        if let Some(ef) = self.ef.filter(|ef| !(1..=MAX_EF).contains(ef)) {
            return Err(ApiError::BadRequest(format!(
                "ef must be between 1 and {MAX_EF}, not {ef}"
            )));
        }
        let mode = match (self.exact, self.ef) {
            (true, _) => SearchMode::Exact,
            (false, ef) => SearchMode::Hnsw { ef },
        };
        let method = Method {
            strategy: self.strategy.unwrap_or(Strategy::Knn),
            params: self.params.unwrap_or_default(),
            filters: self.filters.unwrap_or_default(),
            order: self.order.unwrap_or_default(),
            seed: self.seed.unwrap_or(DEFAULT_SEED),
        };
        Ok(Plan {
            queries: non_blank(queries(self.text, self.texts, limits.max_batch)?)?,
            index: self.index,
            k,
            method: method.resolve(k)?,
            mode,
            prompt: self.prompt,
        })
    }
}

/// The query sentences: `text` (id `text`, as `exemplar select --text`) or
/// `texts` (ids `texts[i]`).
fn queries(
    text: Option<String>,
    texts: Option<Vec<String>>,
    max_batch: usize,
) -> Result<Vec<Example>, ApiError> {
    let query = |id: String, text: String| Example {
        id,
        text,
        entities: Vec::new(),
    };
    match (text, texts) {
        (Some(text), None) => Ok(vec![query("text".into(), text)]),
        (None, Some(texts)) if texts.is_empty() => Err(ApiError::BadRequest("\"texts\" is empty".into())),
        (None, Some(texts)) if texts.len() > max_batch => Err(ApiError::TooLarge(format!(
            "{} sentences in one request; the limit is {max_batch}",
            texts.len()
        ))),
        (None, Some(texts)) => Ok(texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| query(format!("texts[{i}]"), text))
            .collect()),
        _ => Err(ApiError::BadRequest(
            "give exactly one of \"text\" (a sentence) and \"texts\" (a list of sentences)".into(),
        )),
    }
}

/// Refuses a query with no text (empty or white space): it would still get
/// `k` demonstrations, chosen by nothing.
fn non_blank(queries: Vec<Example>) -> Result<Vec<Example>, ApiError> {
    match queries.iter().find(|q| q.text.trim().is_empty()) {
        Some(blank) => Err(ApiError::BadRequest(format!(
            "{:?} is empty: every query needs text",
            blank.id
        ))),
        None => Ok(queries),
    }
}

impl Plan {
    /// Embeds the queries (when the strategy needs vectors), selects with the
    /// library's [`select_batch`] and renders prompts. Blocking.
    pub fn run(
        &self,
        served: &ServedIndex,
        encoder: &Arc<dyn Encoder>,
        metrics: &Metrics,
    ) -> Result<SelectResponse, ApiError> {
        let resources = Resources {
            encoder: Some(encoder.clone()),
            knowledge: served.knowledge.as_ref().map(|(knowledge, _)| knowledge.clone()),
        };
        let selected = select(
            &served.index,
            &self.method,
            self.mode,
            &self.queries,
            self.k,
            &resources,
            &Quiet,
        )?;
        if self.method.needs_vector() {
            metrics.add_encoded(self.queries.len());
        }
        let renderer = self
            .prompt
            .map(|asked| Renderer::new(asked, served))
            .transpose()?;
        let results = selected
            .selections
            .into_iter()
            .map(|selection| {
                let prompts = renderer
                    .as_ref()
                    .map(|r| r.render(&selection.query.text, &selection.demos));
                Selection { selection, prompts }
            })
            .collect();
        Ok(SelectResponse {
            results,
            warnings: selected.warnings,
        })
    }
}

/// Renders the prompts a request asks for over one served index.
struct Renderer<'a> {
    format: PromptFormat,
    ctx: Context,
    served: &'a ServedIndex,
    knowledge: bool,
}

impl<'a> Renderer<'a> {
    /// Refuses hints asked of an index served without knowledge sources.
    fn new(asked: PromptRequest, served: &'a ServedIndex) -> Result<Self, ApiError> {
        let has = served.knowledge.is_some();
        let knowledge = asked.knowledge.unwrap_or(has);
        if knowledge && !has {
            return Err(ApiError::BadRequest(format!(
                "index {:?} is served without knowledge sources: start the server with --knowledge",
                served.name
            )));
        }
        Ok(Renderer {
            format: asked.format,
            ctx: Context::new(served.types.iter().cloned()),
            served,
            knowledge,
        })
    }

    /// The completion text of each pass for one query, with its hints when asked for.
    fn render(&self, query: &str, demos: &[Demo]) -> Vec<RenderedPrompt> {
        let hints: Option<Hints> = match (&self.served.knowledge, self.knowledge) {
            (Some((knowledge, limits)), true) => Some(knowledge.hints(query, limits)),
            _ => None,
        };
        let input = QueryInput {
            text: query,
            hints: hints.as_ref().map_or(&[], |h| &h.lines),
        };
        let style = self.format.style();
        let examples: Vec<Example> = demos.iter().map(|d| d.example.clone()).collect();
        style
            .passes(&self.ctx.types)
            .into_iter()
            .map(|pass| {
                let prompt = build(&*style, &pass, &self.ctx, &examples, input, None);
                RenderedPrompt {
                    label: pass.label,
                    text: prompt.completion_text(),
                    dropped_hints: hints.as_ref().map(|h| h.dropped + prompt.dropped_hints),
                    hints: hints.as_ref().map(|_| prompt.hints),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn plan(body: &str) -> Result<Plan, ApiError> {
        SelectRequest::parse(body.as_bytes())?.into_plan(&Limits::default())
    }

    fn status(body: &str) -> StatusCode {
        plan(body).map_or_else(|e| e.status(), |_| StatusCode::OK)
    }

    #[test]
    fn defaults_follow_exemplar_select() {
        let plan = plan(r#"{"text": "BRCA1 mutations"}"#).unwrap();
        assert_eq!(plan.k, DEFAULT_K);
        assert_eq!(plan.method.strategy, Strategy::Knn);
        assert_eq!(plan.mode, SearchMode::Hnsw { ef: None });
        assert_eq!(plan.method.seed, DEFAULT_SEED);
        assert_eq!(plan.method.order, Order::SimilarLast);
        assert_eq!(plan.queries[0].id, "text");
        assert!(plan.prompt.is_none());
    }

    #[test]
    fn a_batch_keeps_its_order_and_options() {
        let plan = plan(
            r#"{"texts": ["a", "b"], "k": 3, "strategy": "random", "seed": 7, "exact": true,
                "index": "ncbi", "prompt": {"format": "gpt-ner"}}"#,
        )
        .unwrap();
        let ids: Vec<&str> = plan.queries.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(ids, ["texts[0]", "texts[1]"]);
        assert_eq!(
            (plan.k, plan.method.strategy, plan.method.seed),
            (3, Strategy::Random, 7)
        );
        assert_eq!(plan.mode, SearchMode::Exact);
        assert_eq!(plan.index.as_deref(), Some("ncbi"));
        assert_eq!(
            plan.prompt,
            Some(PromptRequest {
                format: PromptFormat::GptNer,
                knowledge: None
            })
        );
        let without = r#"{"text": "a", "prompt": {"format": "list", "knowledge": false}}"#;
        let without = SelectRequest::parse(without.as_bytes()).unwrap();
        assert_eq!(without.prompt.unwrap().knowledge, Some(false));
    }

    #[test]
    fn parameters_filters_and_order_are_read() {
        let plan = plan(
            r#"{"text": "a", "k": 4, "strategy": "mmr", "params": {"lambda": 0.25}, "order": "similar-first",
                "filters": {"min_entities": 1, "exclude_same_doc": true, "where": {"split": "train"}}}"#,
        )
        .unwrap();
        let method = serde_json::to_value(&plan.method).unwrap();
        assert_eq!(
            method["params"],
            serde_json::json!({"lambda": 0.25, "candidates": 64})
        );
        assert_eq!(
            method["filters"],
            serde_json::json!({"min_entities": 1, "exclude_same_doc": true, "where": {"split": "train"}})
        );
        assert_eq!(method["order"], "similar-first");
        let echoed = serde_json::json!({"text": "a", "k": 4, "strategy": method["strategy"],
            "params": method["params"], "filters": method["filters"], "order": method["order"], "seed": method["seed"]});
        let again = SelectRequest::parse(echoed.to_string().as_bytes()).unwrap();
        assert_eq!(
            again.into_plan(&Limits::default()).unwrap().method,
            plan.method,
            "the echoed method reads back"
        );
    }

    #[test]
    fn bad_parameters_are_refused_naming_them() {
        for (body, needle) in [
            (
                r#"{"text": "a", "strategy": "mmr", "params": {"lambda": 1.5}}"#,
                "parameter lambda: 1.5",
            ),
            (
                r#"{"text": "a", "strategy": "mmr", "k": 8, "params": {"candidates": 4}}"#,
                "parameter candidates",
            ),
            (
                r#"{"text": "a", "params": {"lambda": 0.5}}"#,
                "strategy knn has no parameter \"lambda\"",
            ),
            (
                r#"{"text": "a", "order": "shuffled"}"#,
                "unknown order \"shuffled\"",
            ),
            (
                r#"{"text": "a", "strategy": "nearest"}"#,
                "unknown strategy \"nearest\"",
            ),
            (
                r#"{"text": "a", "strategy": "mmr", "params": {"lambda": true}}"#,
                "params: parameter lambda: true is neither a number nor a name",
            ),
            (
                r#"{"text": "a", "filters": {"min_entities": -1}}"#,
                "filters.min_entities: invalid value",
            ),
            (
                r#"{"text": "a", "filters": {"min_entity": 1}}"#,
                "unknown field `min_entity`",
            ),
            (r#"{"text": "a", "lambda": 0.5}"#, "unknown field `lambda`"),
            (r#"{"text": "a", "k": "eight"}"#, "k: invalid type"),
            (r#"{"text": "a"} x"#, "trailing characters"),
        ] {
            let error = plan(body).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{body}");
            assert!(error.to_string().contains(needle), "{body}: {error}");
        }
    }

    #[test]
    fn bad_requests_are_refused_with_the_right_status() {
        assert_eq!(status("{"), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(r#"{"text": "a", "texts": ["b"]}"#),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(status(r#"{}"#), StatusCode::BAD_REQUEST);
        assert_eq!(status(r#"{"texts": []}"#), StatusCode::BAD_REQUEST);
        assert_eq!(status(r#"{"text": "a", "k": 0}"#), StatusCode::BAD_REQUEST);
        assert_eq!(status(r#"{"text": "a", "k": 257}"#), StatusCode::BAD_REQUEST);
        assert_eq!(status(r#"{"text": "a", "k": 256}"#), StatusCode::OK);
        assert_eq!(status(r#"{"text": "a", "ef": 0}"#), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(r#"{"text": "a", "strategy": "nearest"}"#),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(r#"{"text": "a", "strategey": "knn"}"#),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(r#"{"text": "a", "prompt": {"format": "xml"}}"#),
            StatusCode::BAD_REQUEST
        );
        for blank in [
            r#"{"text": ""}"#,
            r#"{"text": " \t\n"}"#,
            r#"{"texts": ["a", ""]}"#,
        ] {
            assert_eq!(status(blank), StatusCode::BAD_REQUEST, "{blank}");
        }
        let error = plan(r#"{"texts": ["a", "b", "  "]}"#).unwrap_err().to_string();
        assert!(error.contains("\"texts[2]\" is empty"), "{error}");
        let batch = serde_json::json!({ "texts": vec!["a"; 65] }).to_string();
        assert_eq!(status(&batch), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
