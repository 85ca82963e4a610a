//! `list`: all types in one pass. A demonstration's answer is one
//! `Type: mention` line per entity, in order of appearance (a mention repeated
//! with the same type is listed once), or `None`.
//!
//! Reading an answer (besides the rules shared by all formats):
//! - **JSON**: when the answer contains a JSON object (or a non-empty array of
//!   strings or objects), that is the answer and the text around it (prose,
//!   code fences) is ignored. Accepted shapes: the zero-shot dict
//!   `{"mention": "Type", ...}`, `{"Type": ["mention", ...]}` (or
//!   `{"Type": "mention"}`), `[{"mention": ..., "type": ...}]` (also `text`/
//!   `entity` and `label`), nested under a key such as `"entities"`, and for a
//!   single-type task `["mention", ...]`. A pair of which neither side is a
//!   type counts as an unknown type; a value of another kind as unparseable.
//! - **Lines** otherwise. Bullets (`-`, `*`, `•`, `1.`, `1)`), matching
//!   quotes, backticks and `**` are stripped. `Type: mention` is read, and so is
//!   `mention: Type`; `Type: None` says there is none. Ignored: blank lines,
//!   `None`, lines without `:` (prose before or after the list), headers
//!   (nothing after the `:`), and `Note:`/`Explanation:`-style remarks;
//!   `Answer:`/`Output:`/`Entities:` prefixes are skipped. A remaining line
//!   with `:` is an attempt: it counts as an unknown type when its left side
//!   looks like a type name (one word of letters, digits, `_`, `-`, `/`), and
//!   as unparseable otherwise (`The answer is: ...`, `Drug name: ...`).
//! - A mention listing several, `Disease: a, b`, is split at `,`/`;` when it
//!   is not found whole.

use serde_json::{Map, Value};

use super::locate::locate_mentions;
use super::{
    accepted_type, is_none, lines_or_none, shown_entities, strip_bullet, strip_quotes, Context, Parsed, Pass,
    PromptFormat, Style,
};
use crate::corpus::Example;

/// The `list` format.
#[derive(Debug, Clone, Copy, Default)]
pub struct List;

impl Style for List {
    fn format(&self) -> PromptFormat {
        PromptFormat::List
    }

    fn render_answer(&self, example: &Example, pass: &Pass) -> String {
        lines_or_none(
            shown_entities(example, pass)
                .into_iter()
                .map(|(_, _, label, text)| format!("{label}: {text}")),
        )
    }

    fn parse(&self, answer: &str, query: &str, pass: &Pass, ctx: &Context) -> Parsed {
        let mut parsed = Parsed::default();
        if answer.trim().is_empty() {
            parsed.empty = true;
            return parsed;
        }
        let mut reader = Reader {
            ctx,
            pass,
            mentions: Vec::new(),
            parsed: &mut parsed,
        };
        match find_json(answer) {
            Some(value) => reader.json(&value, None),
            None => answer.lines().for_each(|line| reader.line(line)),
        }
        let mentions = std::mem::take(&mut reader.mentions);
        locate_mentions(query, &mentions, &mut parsed);
        parsed
    }
}

/// The first JSON object in `answer` (or array of strings or objects).
fn find_json(answer: &str) -> Option<Value> {
    answer
        .char_indices()
        .filter(|&(_, c)| c == '{' || c == '[')
        .find_map(|(i, _)| {
            let value = serde_json::Deserializer::from_str(&answer[i..])
                .into_iter::<Value>()
                .next()?
                .ok()?;
            match &value {
                Value::Object(_) => Some(value),
                Value::Array(items)
                    if !items.is_empty() && items.iter().all(|v| v.is_string() || v.is_object()) =>
                {
                    Some(value)
                }
                _ => None,
            }
        })
}

struct Reader<'a> {
    ctx: &'a Context,
    pass: &'a Pass,
    /// (mention, canonical type) in answer order.
    mentions: Vec<(String, String)>,
    parsed: &'a mut Parsed,
}

const MENTION_KEYS: [&str; 5] = ["mention", "text", "entity", "span", "name"];
const TYPE_KEYS: [&str; 5] = ["type", "label", "entity_type", "category", "class"];
const PREFIXES: [&str; 7] = [
    "answer", "output", "entities", "entity", "result", "results", "mentions",
];
const REMARKS: [&str; 5] = ["note", "notes", "explanation", "reasoning", "comment"];

impl Reader<'_> {
    fn accept(&self, raw: &str) -> Option<String> {
        accepted_type(self.ctx, self.pass, raw)
    }

    /// The one type a bare mention can have: the pass's, or the only type.
    fn only_type(&self) -> Option<String> {
        match (&self.pass.label, self.ctx.types.as_slice()) {
            (Some(label), _) => Some(label.clone()),
            (None, [only]) => Some(only.clone()),
            _ => None,
        }
    }

    fn push(&mut self, mention: &str, label: String) {
        let mention = strip_quotes(mention);
        if !mention.is_empty() && !is_none(mention) {
            self.mentions.push((mention.to_string(), label));
        }
    }

    /// A JSON value; `key_type` is the type named by the enclosing key.
    fn json(&mut self, value: &Value, key_type: Option<&str>) {
        match value {
            Value::Object(map) => {
                if !self.entity_object(map) {
                    for (key, value) in map {
                        self.json_pair(key, value);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::String(mention) => {
                            match key_type.map(str::to_string).or_else(|| self.only_type()) {
                                Some(label) => self.push(mention, label),
                                None => self.parsed.unparseable += 1,
                            }
                        }
                        Value::Object(_) => self.json(item, key_type),
                        _ => self.parsed.unparseable += 1,
                    }
                }
            }
            _ => self.parsed.unparseable += 1,
        }
    }

    fn json_pair(&mut self, key: &str, value: &Value) {
        let key_type = self.accept(key);
        match value {
            Value::String(text) => {
                if let Some(label) = self.accept(text) {
                    self.push(key, label);
                } else if let Some(label) = key_type {
                    self.push(text, label);
                } else if !is_none(text) {
                    self.parsed.unknown_types += 1;
                }
            }
            Value::Array(_) => match key_type {
                Some(label) => self.json(value, Some(&label)),
                None if PREFIXES.contains(&key.to_lowercase().as_str()) => self.json(value, None),
                None => self.parsed.unknown_types += 1,
            },
            Value::Object(_) => self.json(value, key_type.as_deref()),
            Value::Null => {}
            _ => self.parsed.unparseable += 1,
        }
    }

    /// Reads `{"mention": ..., "type": ...}`; false if `map` is not of that shape.
    fn entity_object(&mut self, map: &Map<String, Value>) -> bool {
        let field = |keys: &[&str]| {
            map.iter()
                .find(|(k, _)| keys.contains(&k.to_lowercase().as_str()))
                .map(|(_, v)| v)
        };
        let (Some(mention), Some(label)) = (field(&MENTION_KEYS), field(&TYPE_KEYS)) else {
            return false;
        };
        match (mention.as_str(), label.as_str()) {
            (Some(mention), Some(label)) => match self.accept(label) {
                Some(label) => self.push(mention, label),
                None => self.parsed.unknown_types += 1,
            },
            _ => self.parsed.unparseable += 1,
        }
        true
    }

    fn line(&mut self, line: &str) {
        let line = strip_bullet(line);
        if line.is_empty() || is_none(line) {
            return;
        }
        let Some((left, right)) = line.split_once(':') else {
            return; // prose
        };
        let left = strip_quotes(left);
        let right = strip_quotes(right.trim().trim_end_matches(','));
        if right.is_empty() {
            return; // a header
        }
        if let Some(label) = self.accept(left) {
            self.push(right, label);
            return;
        }
        if let Some((mention, label)) = line.rsplit_once(':') {
            if let Some(label) = self.accept(label.trim().trim_end_matches(',')) {
                self.push(mention, label);
                return;
            }
        }
        let word = left.to_lowercase();
        if PREFIXES.contains(&word.as_str()) {
            self.line(right);
        } else if REMARKS.contains(&word.as_str()) {
        } else if looks_like_type(left) {
            self.parsed.unknown_types += 1;
        } else {
            self.parsed.unparseable += 1;
        }
    }
}

fn looks_like_type(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "Germline BRCA1 mutations cause breast cancer and Sjögren 's syndrome ; aspirin did not help the breast cancer .";

    fn ctx() -> Context {
        Context::new(["Disease", "Chemical", "Gene_or_gene_product"])
    }

    fn parse(answer: &str) -> Parsed {
        List.parse(answer, QUERY, &Pass::all(), &ctx())
    }

    /// (mention, type) of the spans.
    fn found(parsed: &Parsed) -> Vec<(String, String)> {
        let chars: Vec<char> = QUERY.chars().collect();
        parsed
            .spans
            .iter()
            .map(|s| (chars[s.start..s.end].iter().collect(), s.label.clone()))
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(m, t)| (m.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn reads_the_rendered_form() {
        let parsed = parse("Gene_or_gene_product: BRCA1\nDisease: breast cancer\nDisease: Sjögren 's syndrome\nChemical: aspirin");
        assert_eq!(
            found(&parsed),
            pairs(&[
                ("BRCA1", "Gene_or_gene_product"),
                ("breast cancer", "Disease"),
                ("Sjögren 's syndrome", "Disease"),
                ("aspirin", "Chemical"),
                ("breast cancer", "Disease"),
            ])
        );
        assert_eq!(parsed.spans[3].start, 71, "character offsets, not bytes");
        assert_eq!(
            (
                parsed.unparseable,
                parsed.unknown_types,
                parsed.not_found,
                parsed.empty
            ),
            (0, 0, 0, false)
        );
    }

    #[test]
    fn tolerates_prose_bullets_casing_and_quotes() {
        let answer = "Sure! Here are the entities I found:\n\n\
                      - **disease**: \"breast cancer\"\n\
                      * CHEMICAL: `aspirin`\n\
                      1. gene or gene product: 'BRCA1'\n\
                      2) Diseases: Sjögren's syndrome.\n\
                      Note: the second breast cancer is the same disease.\n\
                      I hope this helps.";
        let parsed = parse(answer);
        assert_eq!(
            found(&parsed),
            pairs(&[
                ("BRCA1", "Gene_or_gene_product"),
                ("breast cancer", "Disease"),
                ("Sjögren 's syndrome", "Disease"),
                ("aspirin", "Chemical"),
                ("breast cancer", "Disease"),
            ])
        );
        assert_eq!(
            (parsed.unparseable, parsed.unknown_types, parsed.not_found),
            (0, 0, 0)
        );
    }

    #[test]
    fn repeated_mentions_once_and_every_occurrence() {
        let parsed = parse("Disease: breast cancer\nDisease: breast cancer\nDisease: Breast Cancer");
        assert_eq!(
            found(&parsed),
            pairs(&[("breast cancer", "Disease"), ("breast cancer", "Disease")])
        );
        assert_eq!(parsed.not_found, 0);
    }

    #[test]
    fn counts_unknown_types_unparseable_and_missing() {
        let parsed = parse("Protein: BRCA1\nDisease: lung cancer\nThe answer is: maybe, I think so\nDisease: breast cancer\nDisease: None");
        assert_eq!(
            found(&parsed),
            pairs(&[("breast cancer", "Disease"), ("breast cancer", "Disease")])
        );
        assert_eq!(
            (parsed.unknown_types, parsed.unparseable, parsed.not_found),
            (1, 1, 1)
        );
        let parsed = parse("Drug name: aspirin\nGene-product: BRCA1");
        assert_eq!(
            (parsed.unknown_types, parsed.unparseable, parsed.spans.len()),
            (1, 1, 0)
        );
    }

    #[test]
    fn reversed_pairs_and_answer_prefixes() {
        let parsed = parse("Answer: Chemical: aspirin\nBRCA1: Gene or gene product");
        assert_eq!(
            found(&parsed),
            pairs(&[("BRCA1", "Gene_or_gene_product"), ("aspirin", "Chemical")])
        );
    }

    #[test]
    fn several_mentions_on_one_line() {
        let parsed = parse("Disease: breast cancer, Sjögren 's syndrome, gout");
        assert_eq!(found(&parsed).len(), 3);
        assert_eq!(parsed.not_found, 1);
    }

    #[test]
    fn empty_and_none() {
        assert!(parse("").empty && parse(" \n").spans.is_empty());
        for none in ["None", "none.", "- None", "\"None\"", "{}", "[]"] {
            let parsed = parse(none);
            assert_eq!(parsed, Parsed::default(), "{none}");
        }
    }

    #[test]
    fn reads_json_dicts() {
        let parsed = parse("```json\n{\"breast cancer\": \"disease\", \"aspirin\": \"Chemical\", \"BRCA1\": \"Protein\"}\n```\nDisease: gout");
        assert_eq!(
            found(&parsed),
            pairs(&[
                ("breast cancer", "Disease"),
                ("aspirin", "Chemical"),
                ("breast cancer", "Disease")
            ])
        );
        assert_eq!((parsed.unknown_types, parsed.not_found), (1, 0));

        let parsed =
            parse("{\"Disease\": [\"breast cancer\"], \"Chemical\": \"aspirin\", \"Gene\": [\"BRCA1\"]}");
        assert_eq!(found(&parsed).len(), 3);
        assert_eq!(parsed.unknown_types, 1);

        let parsed = parse("{\"entities\": [{\"text\": \"BRCA1\", \"type\": \"Gene_or_gene_product\"}, {\"mention\": \"aspirin\", \"label\": \"chemical\"}, {\"mention\": 3, \"type\": \"Disease\"}]}");
        assert_eq!(
            found(&parsed),
            pairs(&[("BRCA1", "Gene_or_gene_product"), ("aspirin", "Chemical")])
        );
        assert_eq!(parsed.unparseable, 1);

        let single = Context::new(["Disease"]);
        let parsed = List.parse("[\"breast cancer\", \"gout\"]", QUERY, &Pass::all(), &single);
        assert_eq!((parsed.spans.len(), parsed.not_found), (2, 1));
    }

    #[test]
    fn renders_one_line_per_entity() {
        let example = Example {
            id: "x".into(),
            text: "Sjögren 's syndrome and gout , gout".into(),
            entities: [(0, 19, "Disease"), (24, 28, "Disease"), (31, 35, "Disease")]
                .into_iter()
                .map(|(start, end, label)| crate::corpus::Entity {
                    start,
                    end,
                    label: label.into(),
                    text: String::new(),
                })
                .collect(),
        };
        assert_eq!(
            List.render_answer(&example, &Pass::all()),
            "Disease: Sjögren 's syndrome\nDisease: gout"
        );
        let none = Example {
            entities: Vec::new(),
            ..example
        };
        assert_eq!(List.render_answer(&none, &Pass::all()), "None");
    }
}
