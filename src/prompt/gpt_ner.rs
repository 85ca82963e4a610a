//! `gpt-ner` (Wang et al., 2023): one pass per entity type. A demonstration's
//! answer is its sentence with that type's mentions marked `@@mention##`:
//! `@@Rubella## immune status was tested .`
//!
//! Reading an answer: a mark is `@@` followed by `##` before any further
//! `@@`; its offsets come from aligning the unmarked answer with the query
//! (see [`crate::prompt`]). Every mark gets the pass's type (in a pass
//! without a type, the context's only type; with several types nothing can be
//! read and every mark is unparseable). A lone `@@` or `##`, or an empty mark,
//! counts as unparseable and is removed before aligning. Entities
//! overlapping an earlier one are left out of a demonstration's answer.

use super::locate::{align_tags, Untagged};
use super::{is_none, mark_inline, Context, Parsed, Pass, PromptFormat, Style};
use crate::corpus::Example;

/// The `gpt-ner` format.
#[derive(Debug, Clone, Copy, Default)]
pub struct GptNer;

impl Style for GptNer {
    fn format(&self) -> PromptFormat {
        PromptFormat::GptNer
    }

    fn passes(&self, types: &[String]) -> Vec<Pass> {
        types.iter().map(Pass::for_type).collect()
    }

    fn render_answer(&self, example: &Example, pass: &Pass) -> String {
        mark_inline(example, pass, |mention, _| format!("@@{mention}##"))
    }

    fn parse(&self, answer: &str, query: &str, pass: &Pass, ctx: &Context) -> Parsed {
        let mut parsed = Parsed::default();
        if answer.trim().is_empty() {
            parsed.empty = true;
            return parsed;
        }
        if is_none(answer) {
            return parsed;
        }
        let label = match (&pass.label, ctx.types.as_slice()) {
            (Some(label), _) => Some(label.as_str()),
            (None, [only]) => Some(only.as_str()),
            (None, _) => None,
        };
        let untagged = unmark(answer, label, &mut parsed);
        align_tags(query, &untagged, &mut parsed);
        parsed
    }
}

/// The answer without its marks, and the marks.
fn unmark(answer: &str, label: Option<&str>, parsed: &mut Parsed) -> Untagged {
    let chars: Vec<char> = answer.chars().collect();
    let find = |from: usize, c: char| {
        (from..chars.len().saturating_sub(1)).find(|&i| chars[i] == c && chars[i + 1] == c)
    };
    let mut out = Untagged::default();
    let mut copied = 0;
    let mut at = 0;
    while at + 1 < chars.len() {
        let pair = (chars[at], chars[at + 1]);
        if pair == ('@', '@') {
            let close = find(at + 2, '#');
            let next = find(at + 2, '@');
            out.push_text(&chars[copied..at]);
            match close {
                Some(close) if next.is_none_or(|next| close < next) => {
                    let mention = &chars[at + 2..close];
                    if label.is_none() || !out.push_tag(mention, label) {
                        parsed.unparseable += 1;
                    }
                    copied = close + 2;
                }
                _ => {
                    parsed.unparseable += 1;
                    copied = at + 2;
                }
            }
            at = copied;
        } else if pair == ('#', '#') {
            out.push_text(&chars[copied..at]);
            parsed.unparseable += 1;
            copied = at + 2;
            at = copied;
        } else {
            at += 1;
        }
    }
    out.push_text(&chars[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Span;

    const QUERY: &str = "Aspirin and ASPIRIN-induced asthma in Sjögren 's syndrome ; asthma again .";

    fn ctx() -> Context {
        Context::new(["Disease", "Chemical"])
    }

    fn parse(answer: &str) -> Parsed {
        GptNer.parse(answer, QUERY, &Pass::for_type("Disease"), &ctx())
    }

    fn span(start: usize, end: usize) -> Span {
        Span {
            start,
            end,
            label: "Disease".into(),
        }
    }

    #[test]
    fn marks_map_exactly() {
        let parsed =
            parse("Aspirin and ASPIRIN-induced @@asthma## in @@Sjögren 's syndrome## ; asthma again .");
        assert_eq!(parsed.spans, [span(28, 34), span(38, 57)]);
        assert_eq!(
            parsed,
            Parsed {
                spans: parsed.spans.clone(),
                ..Parsed::default()
            }
        );
    }

    #[test]
    fn tolerates_spacing_and_prose() {
        let parsed =
            parse("aspirin and aspirin-induced @@ asthma ## in @@Sjögren's syndrome##; asthma again.");
        assert_eq!(parsed.spans, [span(28, 34), span(38, 57)]);
        // Prose: search; "asthma" is in the answer once, twice in the query.
        let parsed = parse("Output: @@Asthma## was induced by aspirin in @@Sjögren syndrome##.");
        assert_eq!(parsed.spans, [span(28, 34), span(60, 66)]);
        assert_eq!(parsed.not_found, 1);
    }

    #[test]
    fn counts_broken_marks() {
        let parsed =
            parse("Aspirin and ASPIRIN-induced @@asthma in @@Sjögren 's syndrome## ; asthma## again @@##.");
        assert_eq!(parsed.spans, [span(38, 57)]);
        assert_eq!(parsed.unparseable, 3);
        // Without a type there is nothing to give a mark.
        let parsed = GptNer.parse("@@Aspirin## and", QUERY, &Pass::all(), &ctx());
        assert_eq!((parsed.spans.len(), parsed.unparseable), (0, 1));
    }

    #[test]
    fn empty_none_and_unmarked() {
        assert!(parse("").empty);
        assert_eq!(parse("None."), Parsed::default());
        assert_eq!(parse(QUERY), Parsed::default());
    }

    #[test]
    fn renders_marks_for_the_pass_type_only() {
        let example = Example {
            id: "x".into(),
            text: "aspirin-induced asthma".into(),
            entities: [(0, 7, "Chemical"), (16, 22, "Disease")]
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
            GptNer.render_answer(&example, &Pass::for_type("Disease")),
            "aspirin-induced @@asthma##"
        );
        assert_eq!(
            GptNer.render_answer(&example, &Pass::for_type("Chemical")),
            "@@aspirin##-induced asthma"
        );
        assert_eq!(
            GptNer.passes(&ctx().types),
            [Pass::for_type("Disease"), Pass::for_type("Chemical")]
        );
    }
}
