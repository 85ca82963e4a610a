//! Few-shot prompts: rendering them from demonstrations, and reading an LLM's
//! answer back into character spans of the query sentence.
//!
//! A [`PromptFormat`] names a format; its [`Style`] is one file that both
//! renders (the instruction, each demonstration's input and answer) and parses
//! (an answer into [`Span`]s), so the two cannot drift apart. Four formats ship:
//!
//! | format | passes | a demonstration's answer |
//! | --- | --- | --- |
//! | [`list`] | one | `Type: mention` lines in order of appearance, or `None` |
//! | [`tanl`] | one | the sentence with inline tags: `[ rubella | test ] immune` |
//! | [`gpt_ner`] | one per type | the sentence with that type's mentions marked: `@@rubella## immune` |
//! | [`dice`] | one per type, with its definition | one mention a line, or `None` |
//!
//! [`build`] assembles a [`Prompt`] from a style, a [`Pass`], a [`Context`]
//! (the entity types, their definitions, optional guidelines and template) and
//! the demonstrations in prompt order (least similar first, most similar last,
//! as [`crate::select`] returns them); when a token budget is given it drops the
//! least similar demonstrations first. A prompt is sent either as one text for
//! a completion endpoint ([`Prompt::completion_text`]) or as chat messages
//! ([`Prompt::chat_messages`]).
//!
//! # Instructions and templates
//!
//! Each format's instruction comes from a template, built in from
//! `prompts/<format>.txt` ([`PromptFormat::default_template`]); a user's edited copy goes in
//! [`Context::template`]. Placeholders: `{types}` (the types, comma-separated),
//! `{type}` (the pass's type), `{definition}` (the pass's type's definition),
//! `{definitions}` (one `- Type: definition` line per type with a definition)
//! and `{guidelines}`. A paragraph (lines between blank lines) that uses
//! `{definition}`, `{definitions}` or `{guidelines}` is left out when that value
//! is empty, so optional parts vanish cleanly. Other braces are left alone.
//!
//! # Reading answers back
//!
//! Parsing never fails: what cannot be read is counted in [`Parsed`]. Rules
//! shared by all formats:
//! - **Locating a mention** in the query: exact match first, then
//!   case-insensitive, then ignoring whitespace and case (so `BRCA1-associated`
//!   finds the tokenised `BRCA1 - associated`); a match must not cut a word in
//!   two (`cancer` is not found inside `cancers`). A trailing `.`, `,`, `;` or
//!   `:` is dropped if the mention is not found with it. **Every occurrence** of
//!   a found mention is returned, since a list answer cannot say which one was
//!   meant; a mention found nowhere counts in [`Parsed::not_found`].
//! - **Inline formats** (`tanl`, `gpt-ner`): when the answer with its tags
//!   removed equals the query up to whitespace and case, each tag's offsets are
//!   carried over exactly. Otherwise each tagged mention is located by search
//!   as above, except that when the mention occurs as often in the untagged
//!   answer as in the query, the n-th tagged occurrence maps to the n-th one in
//!   the query.
//! - **Spans of one answer never overlap**: where located mentions would, the
//!   longer wins (between equal lengths, the earlier in the answer). Spans are
//!   sorted and unique.
//! - **Types** are matched to [`Context::types`] ignoring case, quotes, the
//!   difference between spaces, `-` and `_`, and a plural `s`; a type that
//!   matches none counts in [`Parsed::unknown_types`] and its mentions are
//!   dropped.
//! - A blank answer sets [`Parsed::empty`]; `None` is a valid answer with no
//!   entities.
//!
//! The format-specific rules (what counts as unparseable) are in each
//! format's module documentation.
//!
//! ```
//! use exemplar::prompt::{build, Budget, Context, PromptFormat};
//! use exemplar::{Entity, Example};
//!
//! let demo = Example {
//!     id: "train.tsv:3".into(),
//!     text: "Germline BRCA1 mutations cause breast cancer .".into(),
//!     entities: vec![Entity { start: 31, end: 44, label: "Disease".into(), text: "breast cancer".into() }],
//! };
//! let ctx = Context::new(["Disease"]);
//! let style = PromptFormat::List.style();
//! let query = "Sjögren 's syndrome and lupus overlap .";
//! for pass in style.passes(&ctx.types) {
//!     let count_words = |text: &str| text.split_whitespace().count();
//!     let budget = Budget { max_tokens: 4096, count_tokens: &count_words, drop_order: &[] };
//!     let prompt = build(&*style, &pass, &ctx, &[demo.clone()], query, Some(&budget));
//!     assert!(prompt.completion_text().ends_with("Input: Sjögren 's syndrome and lupus overlap .\nOutput:\n"));
//!     assert_eq!(prompt.chat_messages()[2].content, "Disease: breast cancer");
//!
//!     // The model's answer, read back into character offsets of the query.
//!     let parsed = style.parse("- Disease: Sjögren's syndrome\n- disease: lupus", query, &pass, &ctx);
//!     let found: Vec<_> = parsed.spans.iter().map(|s| (s.start, s.end)).collect();
//!     assert_eq!(found, [(0, 19), (24, 29)]);
//! }
//! ```

pub mod candidates;
pub mod dice;
pub mod gpt_ner;
pub mod list;
mod locate;
pub mod tanl;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::corpus::{Example, Span};
use crate::error::{Error, Result};
use crate::index::Index;

/// One request to the model for one query: all types at once (`label` is
/// `None`) or a single type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Pass {
    /// The type asked for; `None` asks for all types.
    pub label: Option<String>,
}

impl Pass {
    /// The single pass of formats that ask for all types at once.
    pub fn all() -> Self {
        Pass { label: None }
    }

    /// A pass asking for one type.
    pub fn for_type(label: impl Into<String>) -> Self {
        Pass {
            label: Some(label.into()),
        }
    }
}

/// What a prompt knows about the task: the entity types (canonical names, in
/// the order they are shown), their definitions, optional annotation
/// guidelines and an optional instruction template replacing the format's
/// built-in one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Canonical type names, in the order prompts show them.
    pub types: Vec<String>,
    /// The definition of each type that has one, by type name.
    pub definitions: BTreeMap<String, String>,
    /// Annotation guidelines, for the `{guidelines}` placeholder.
    pub guidelines: Option<String>,
    /// An instruction template replacing the format's built-in one.
    pub template: Option<String>,
}

impl Context {
    /// A context with these types and nothing else.
    pub fn new(types: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Context {
            types: types.into_iter().map(Into::into).collect(),
            ..Context::default()
        }
    }

    /// The canonical type name that `raw` (as a model wrote it) stands for:
    /// case, surrounding quotes and markdown, spaces versus `-`/`_` and a
    /// plural `s` do not matter.
    pub fn canonical_type(&self, raw: &str) -> Option<&str> {
        let key = type_key(raw);
        if key.is_empty() {
            return None;
        }
        let find = |key: &str| self.types.iter().find(|t| type_key(t) == key).map(String::as_str);
        find(&key).or_else(|| key.strip_suffix('s').and_then(find))
    }
}

/// The entity types prompts over `index` ask for: those its corpus shows, in
/// order.
pub fn entity_types(index: &Index) -> Vec<String> {
    index
        .manifest()
        .corpus
        .entities_per_type
        .keys()
        .cloned()
        .collect()
}

/// A type name reduced for comparison: lower case, words joined by `_`.
fn type_key(raw: &str) -> String {
    let raw = strip_quotes(raw);
    let mut key = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_whitespace() || c == '-' || c == '_' {
            if !key.is_empty() && !key.ends_with('_') {
                key.push('_');
            }
        } else {
            key.extend(c.to_lowercase());
        }
    }
    while key.ends_with('_') {
        key.pop();
    }
    key
}

/// What was read from one answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    /// Located mentions, sorted, unique and non-overlapping.
    pub spans: Vec<Span>,
    /// Answer lines or tags that look like an attempt at an entity but could
    /// not be read (the rule is per format).
    pub unparseable: usize,
    /// Mentions given with a type that is not one of the context's types (or,
    /// in a one-type pass, another type than the pass's).
    pub unknown_types: usize,
    /// Mentions that could not be located in the query.
    pub not_found: usize,
    /// The answer was blank (after [`Parsed::merge`]: some pass's answer was).
    pub empty: bool,
}

impl Parsed {
    /// Adds another pass's result for the same query: spans are united
    /// (sorted, unique; spans of different passes may overlap), counts added.
    pub fn merge(&mut self, other: Parsed) {
        self.spans.extend(other.spans);
        self.spans.sort();
        self.spans.dedup();
        self.unparseable += other.unparseable;
        self.unknown_types += other.unknown_types;
        self.not_found += other.not_found;
        self.empty |= other.empty;
    }
}

/// The behaviour of a [`PromptFormat`]: how demonstrations are shown and
/// answers read back.
pub trait Style: Send + Sync {
    /// The format this is the style of (its name, its built-in template).
    fn format(&self) -> PromptFormat;

    /// The requests one query needs: by default one pass for all types;
    /// per-type formats return one per type.
    fn passes(&self, _types: &[String]) -> Vec<Pass> {
        vec![Pass::all()]
    }

    /// The instruction (system message) for a pass: the format's template
    /// (or the user's) filled in.
    fn instruction(&self, pass: &Pass, ctx: &Context) -> String {
        instruction_from_template(self.format(), pass, ctx)
    }

    /// A sentence as shown to the model (demonstration or query): as it is.
    fn render_input(&self, text: &str, _pass: &Pass) -> String {
        text.to_string()
    }

    /// The answer a demonstration teaches for a pass.
    fn render_answer(&self, example: &Example, pass: &Pass) -> String;

    /// Reads a model's answer for `query` back into spans of `query`.
    fn parse(&self, answer: &str, query: &str, pass: &Pass, ctx: &Context) -> Parsed;
}

/// One answer line per distinct item, or `None` when there is none: how the
/// line-based formats (`list`, `dice`) write a demonstration's answer.
pub(crate) fn lines_or_none(items: impl IntoIterator<Item = String>) -> String {
    let mut lines: Vec<String> = Vec::new();
    for item in items {
        if !lines.contains(&item) {
            lines.push(item);
        }
    }
    if lines.is_empty() {
        "None".to_string()
    } else {
        lines.join("\n")
    }
}

crate::named! {
    /// The prompt formats (not exhaustive: more may come).
    #[non_exhaustive]
    pub enum PromptFormat: "prompt format" {
        /// `Type: mention` lines, all types in one request.
        List => "list",
        /// The sentence with inline `[ mention | Type ]` tags, all types in one request.
        Tanl => "tanl",
        /// The sentence with `@@mention##` marks, one request per type.
        GptNer => "gpt-ner",
        /// One mention a line, one request per type with its definition.
        Dice => "dice",
    }
}

impl PromptFormat {
    /// How this format renders prompts and reads answers.
    pub fn style(self) -> Box<dyn Style> {
        match self {
            PromptFormat::List => Box::new(list::List),
            PromptFormat::Tanl => Box::new(tanl::Tanl),
            PromptFormat::GptNer => Box::new(gpt_ner::GptNer),
            PromptFormat::Dice => Box::new(dice::Dice),
        }
    }

    /// The built-in instruction template (`prompts/<name>.txt`).
    pub fn default_template(self) -> &'static str {
        match self {
            PromptFormat::List => include_str!("../../prompts/list.txt"),
            PromptFormat::Tanl => include_str!("../../prompts/tanl.txt"),
            PromptFormat::GptNer => include_str!("../../prompts/gpt-ner.txt"),
            PromptFormat::Dice => include_str!("../../prompts/dice.txt"),
        }
    }
}

/// Checks a user's template for a format: per-type formats need `{type}`
/// (or the model is never told which type to find), the others `{types}`.
pub fn check_template(style: &dyn Style, template: &str) -> Result<()> {
    let per_type = style.passes(&["T".to_string()]).iter().any(|p| p.label.is_some());
    let needed = if per_type { "{type}" } else { "{types}" };
    if template.contains(needed) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "the {} template must contain {needed}",
            style.format()
        )))
    }
}

/// Fills a format's template (the context's, else the built-in one) for a pass.
/// See the module documentation for the placeholders.
pub fn instruction_from_template(format: PromptFormat, pass: &Pass, ctx: &Context) -> String {
    let template = ctx
        .template
        .as_deref()
        .unwrap_or_else(|| format.default_template());
    fill_template(template, pass, ctx)
}

/// Fills `template` for a pass (see the module documentation for the placeholders).
pub fn fill_template(template: &str, pass: &Pass, ctx: &Context) -> String {
    let label = pass.label.as_deref().unwrap_or("");
    let definition = pass
        .label
        .as_ref()
        .and_then(|l| ctx.definitions.get(l))
        .map(|d| d.trim().to_string())
        .unwrap_or_default();
    let definitions: Vec<String> = ctx
        .types
        .iter()
        .filter_map(|t| {
            let d = ctx.definitions.get(t)?.trim();
            (!d.is_empty()).then(|| format!("- {t}: {d}"))
        })
        .collect();
    let guidelines = ctx.guidelines.as_deref().unwrap_or("").trim().to_string();
    let values = [
        ("{types}", ctx.types.join(", ")),
        ("{type}", label.to_string()),
        ("{definitions}", definitions.join("\n")),
        ("{definition}", definition),
        ("{guidelines}", guidelines),
    ];
    const OPTIONAL: [&str; 3] = ["{definitions}", "{definition}", "{guidelines}"];

    let mut paragraphs = Vec::new();
    for paragraph in template.replace("\r\n", "\n").split("\n\n") {
        let paragraph = paragraph.trim_matches('\n');
        if paragraph.trim().is_empty() {
            continue;
        }
        let missing_optional = values
            .iter()
            .any(|(key, value)| OPTIONAL.contains(key) && value.is_empty() && paragraph.contains(key));
        if missing_optional {
            continue;
        }
        paragraphs.push(fill(paragraph, &values));
    }
    paragraphs.join("\n\n")
}

/// Replaces the placeholders in one pass over the text, so that a value
/// containing `{type}` (say, a definition) is not expanded again.
fn fill(text: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        for (key, value) in values {
            if let Some(after) = tail.strip_prefix(key) {
                out.push_str(value);
                rest = after;
                continue 'outer;
            }
        }
        out.push('{');
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// A message of a chat request; `role` is `system`, `user` or `assistant`.
/// The backend sends these as they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The message's text.
    pub content: String,
}

/// A rendered prompt for one pass over one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// The instruction filled in from the template (the system message of a chat request).
    pub instruction: String,
    /// Hints about the query's terms, most specific first, shown after the
    /// instruction (see [`HINTS_HEADING`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// The demonstrations kept, in prompt order: (input, answer).
    pub shots: Vec<(String, String)>,
    /// The query's input.
    pub query: String,
    /// How many demonstrations (the least similar) were left out to fit the budget.
    pub dropped: usize,
    /// How many hints (the least specific) were left out to fit the budget.
    #[serde(default)]
    pub dropped_hints: usize,
    /// The positions (in the demonstrations given) of those kept, in prompt order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<usize>,
}

/// The line before a prompt's hints, one `- hint` line each below it.
pub const HINTS_HEADING: &str = "Knowledge sources say this about terms of the last input (hints, not answers: annotate only what the instructions ask for):";

/// A query as a prompt shows it: its text, and hints about its terms (most
/// specific first, as [`crate::knowledge::Knowledge::hints`] gives them).
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryInput<'a> {
    /// The query sentence.
    pub text: &'a str,
    /// Hint lines, most specific first.
    pub hints: &'a [String],
}

impl<'a> From<&'a str> for QueryInput<'a> {
    fn from(text: &'a str) -> Self {
        QueryInput { text, hints: &[] }
    }
}

/// The label before each input in [`Prompt::completion_text`].
pub const INPUT_CUE: &str = "Input:";
/// The label before each answer in [`Prompt::completion_text`].
pub const OUTPUT_CUE: &str = "Output:";

impl Prompt {
    /// The whole prompt as one text for a completion endpoint:
    ///
    /// ```text
    /// <instruction>
    ///
    /// Input: <demonstration>
    /// Output:
    /// <answer>
    ///
    /// Input: <query>
    /// Output:
    /// ```
    ///
    /// ending with a newline after the last `Output:`, so that a base model
    /// continues with the answer; [`Prompt::stop_sequences`] ends it there.
    pub fn completion_text(&self) -> String {
        let mut text = String::new();
        let instruction = self.system_text();
        if !instruction.is_empty() {
            text.push_str(&instruction);
            text.push_str("\n\n");
        }
        for (input, answer) in &self.shots {
            text.push_str(&shot_block(input, answer));
        }
        text.push_str(&query_block(&self.query));
        text
    }

    /// The instruction, then the hints under [`HINTS_HEADING`] (when there are any).
    pub fn system_text(&self) -> String {
        let mut text = self.instruction.trim().to_string();
        if self.hints.is_empty() {
            return text;
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(HINTS_HEADING);
        for hint in &self.hints {
            text.push_str("\n- ");
            text.push_str(hint);
        }
        text
    }

    /// The prompt as chat messages: the instruction and hints
    /// ([`Prompt::system_text`]) as the system message (none if it is
    /// empty), a user/assistant pair per demonstration, the query as the
    /// last user message.
    pub fn chat_messages(&self) -> Vec<Message> {
        let message = |role: &str, content: &str| Message {
            role: role.to_string(),
            content: content.to_string(),
        };
        let mut messages = Vec::with_capacity(2 + 2 * self.shots.len());
        let instruction = self.system_text();
        if !instruction.is_empty() {
            messages.push(message("system", &instruction));
        }
        for (input, answer) in &self.shots {
            messages.push(message("user", input));
            messages.push(message("assistant", answer));
        }
        messages.push(message("user", &self.query));
        messages
    }

    /// Where a base model given [`Prompt::completion_text`] should stop: at
    /// the start of the next (invented) demonstration.
    pub fn stop_sequences(&self) -> Vec<String> {
        vec![format!("\n{INPUT_CUE}")]
    }
}

fn shot_block(input: &str, answer: &str) -> String {
    format!("{INPUT_CUE} {input}\n{OUTPUT_CUE}\n{answer}\n\n")
}

fn query_block(query: &str) -> String {
    format!("{INPUT_CUE} {query}\n{OUTPUT_CUE}\n")
}

/// How a prompt is cut to fit a backend's context.
#[derive(Clone, Copy)]
pub struct Budget<'a> {
    /// Most tokens the prompt may have (the context less the answer's).
    pub max_tokens: usize,
    /// Counts a text's tokens.
    pub count_tokens: &'a dyn Fn(&str) -> usize,
    /// Positions of the demonstrations (in `demos`) in the order they are
    /// left out: the least similar first, wherever the order put it. Not a
    /// permutation of the positions (e.g. empty): the front goes first.
    pub drop_order: &'a [usize],
}

/// The positions of demonstrations with these scores in the order a prompt
/// leaves them out: the lowest score first (the least similar, wherever the
/// order put it), the front first among equals and when there are no scores.
pub fn drop_order(scores: &[Option<f32>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    if scores.iter().all(Option::is_some) {
        order.sort_by(|&a, &b| scores[a].unwrap_or(0.0).total_cmp(&scores[b].unwrap_or(0.0)));
    }
    order
}

/// Renders the prompt of one pass for `query` (a text, or a [`QueryInput`]
/// with hints) with `demos` in prompt order.
///
/// With a [`Budget`], the hints are dropped first, the least specific (the
/// last) first, then demonstrations in the budget's drop order (the least
/// similar first), until the completion text's token count fits;
/// [`Prompt::dropped_hints`] and [`Prompt::dropped`] say how many, and
/// [`Prompt::kept`] which demonstrations remain. If the instruction and
/// query alone do not fit, every hint and demonstration is dropped and the
/// prompt is returned anyway. Chat templates add a few tokens per message
/// that the completion text does not have: leave a margin for them.
pub fn build<'a>(
    style: &dyn Style,
    pass: &Pass,
    ctx: &Context,
    demos: &[Example],
    query: impl Into<QueryInput<'a>>,
    budget: Option<&Budget>,
) -> Prompt {
    let query = query.into();
    let shots: Vec<(String, String)> = demos
        .iter()
        .map(|demo| {
            (
                style.render_input(&demo.text, pass),
                style.render_answer(demo, pass),
            )
        })
        .collect();
    let mut prompt = Prompt {
        instruction: style.instruction(pass, ctx),
        hints: query.hints.to_vec(),
        shots,
        query: style.render_input(query.text, pass),
        dropped: 0,
        dropped_hints: 0,
        kept: (0..demos.len()).collect(),
    };
    let Some(budget) = budget else {
        return prompt;
    };
    let (max, count_tokens) = (budget.max_tokens, budget.count_tokens);
    while !prompt.hints.is_empty() && count_tokens(&prompt.completion_text()) > max {
        prompt.hints.pop();
        prompt.dropped_hints += 1;
    }
    let n = prompt.shots.len();
    if n == 0 {
        return prompt;
    }
    let order = match is_permutation(budget.drop_order, n) {
        true => budget.drop_order.to_vec(),
        false => (0..n).collect(),
    };
    // The prompt without the first `drop` demonstrations of the drop order.
    let without = |prompt: &Prompt, drop: usize| {
        let gone = &order[..drop];
        let kept: Vec<usize> = (0..n).filter(|i| !gone.contains(i)).collect();
        Prompt {
            instruction: prompt.instruction.clone(),
            hints: prompt.hints.clone(),
            shots: kept.iter().map(|&i| prompt.shots[i].clone()).collect(),
            query: prompt.query.clone(),
            dropped: drop,
            dropped_hints: prompt.dropped_hints,
            kept,
        }
    };
    let fits = |prompt: &Prompt, drop: usize| count_tokens(&without(prompt, drop).completion_text()) <= max;
    if fits(&prompt, 0) {
        return prompt;
    }
    // A first guess from the pieces' counts (cheap), then exact counts of
    // the whole text decide: fewer drops while they fit, more while not.
    let fixed =
        count_tokens(&format!("{}\n\n", prompt.system_text())) + count_tokens(&query_block(&prompt.query));
    let costs: Vec<usize> = prompt
        .shots
        .iter()
        .map(|(input, answer)| count_tokens(&shot_block(input, answer)))
        .collect();
    let mut total = fixed + costs.iter().sum::<usize>();
    let mut drop = 0;
    while drop < n && total > max {
        total = total.saturating_sub(costs[order[drop]]);
        drop += 1;
    }
    while drop > 1 && fits(&prompt, drop - 1) {
        drop -= 1;
    }
    drop = drop.max(1);
    while drop < n && !fits(&prompt, drop) {
        drop += 1;
    }
    without(&prompt, drop)
}

/// Whether `order` holds each of `0..n` once.
fn is_permutation(order: &[usize], n: usize) -> bool {
    let mut seen = vec![false; n];
    order.len() == n
        && order
            .iter()
            .all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
}

/// Reads entity-type definitions: a JSON object `{"Type": "definition", ...}`.
pub fn load_definitions(path: impl AsRef<Path>) -> Result<BTreeMap<String, String>> {
    let path = path.as_ref();
    let content = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let definitions: BTreeMap<String, String> = serde_json::from_str(&content).map_err(|e| {
        Error::InvalidInput(format!(
            "{}: not a JSON object of type names to definitions: {e}",
            path.display()
        ))
    })?;
    if let Some((label, _)) = definitions.iter().find(|(_, d)| d.trim().is_empty()) {
        return Err(Error::InvalidInput(format!(
            "{}: the definition of {label} is empty",
            path.display()
        )));
    }
    Ok(definitions)
}

/// The type a pass accepts for `raw` (as a model wrote it): the canonical
/// type when it is one of the context's types and, in a one-type pass, that
/// pass's type.
pub(crate) fn accepted_type(ctx: &Context, pass: &Pass, raw: &str) -> Option<String> {
    let canonical = ctx.canonical_type(raw).map(str::to_string).or_else(|| {
        // A one-type pass accepts its own type even if the context lacks it.
        let label = pass.label.as_deref()?;
        Context::new([label]).canonical_type(raw).map(str::to_string)
    })?;
    match &pass.label {
        Some(label) if *label != canonical => None,
        _ => Some(canonical),
    }
}

/// The entities a demonstration shows in a pass (all, or the pass's type),
/// in order of appearance, each with the text its offsets point at.
pub(crate) fn shown_entities(example: &Example, pass: &Pass) -> Vec<(usize, usize, String, String)> {
    let chars: Vec<char> = example.text.chars().collect();
    let mut entities: Vec<(usize, usize, String, String)> = example
        .entities
        .iter()
        .filter(|e| pass.label.as_ref().is_none_or(|l| *l == e.label))
        .filter(|e| e.start < e.end)
        .map(|e| {
            let text = if e.end <= chars.len() {
                chars[e.start..e.end].iter().collect()
            } else {
                e.text.clone()
            };
            (e.start, e.end, e.label.clone(), text)
        })
        .collect();
    entities.sort();
    entities
}

/// The sentence with its entities (non-overlapping: an entity overlapping
/// an earlier one is left unmarked) wrapped by `mark(mention, label)`.
pub fn mark_inline(example: &Example, pass: &Pass, mark: impl Fn(&str, &str) -> String) -> String {
    let chars: Vec<char> = example.text.chars().collect();
    let mut out = String::with_capacity(example.text.len() + 16);
    let mut entities = shown_entities(example, pass);
    // Of entities starting together, the longest is marked.
    entities.sort_by_key(|e| (e.0, std::cmp::Reverse(e.1)));
    let mut at = 0;
    for (start, end, label, text) in entities {
        if start < at || end > chars.len() {
            continue;
        }
        out.extend(&chars[at..start]);
        out.push_str(&mark(&text, &label));
        at = end;
    }
    out.extend(&chars[at..]);
    out
}

/// Strips matching quotes, backticks and markdown emphasis around `s`
/// (repeatedly), and surrounding whitespace.
pub(crate) fn strip_quotes(s: &str) -> &str {
    const PAIRS: [(&str, &str); 8] = [
        ("**", "**"),
        ("__", "__"),
        ("\"", "\""),
        ("'", "'"),
        ("`", "`"),
        ("“", "”"),
        ("‘", "’"),
        ("«", "»"),
    ];
    let mut s = s.trim();
    'again: loop {
        for (open, close) in PAIRS {
            if s.len() >= open.len() + close.len() && s.starts_with(open) && s.ends_with(close) {
                s = s[open.len()..s.len() - close.len()].trim();
                continue 'again;
            }
        }
        return s;
    }
}

/// Strips a list bullet (`-`, `*`, `•`, `+`, `1.`, `1)`, `(1)`) at the start of a line.
pub(crate) fn strip_bullet(line: &str) -> &str {
    let line = line.trim();
    for bullet in ["- ", "* ", "• ", "+ ", "– "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return rest.trim_start();
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits <= 3 {
        let rest = &line[digits..];
        for mark in [". ", ") "] {
            if let Some(rest) = rest.strip_prefix(mark) {
                return rest.trim_start();
            }
        }
    }
    if let Some(inner) = line.strip_prefix('(') {
        let digits = inner.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            if let Some(rest) = inner[digits..].strip_prefix(") ") {
                return rest.trim_start();
            }
        }
    }
    line
}

/// Whether a line (or a whole answer) says "no entities".
pub(crate) fn is_none(s: &str) -> bool {
    let s = strip_quotes(s.trim().trim_end_matches('.')).to_lowercase();
    matches!(
        s.as_str(),
        "none" | "n/a" | "no entities" | "no entity" | "no mentions" | "nothing" | "[]" | "{}"
    )
}

#[cfg(test)]
mod tests;
