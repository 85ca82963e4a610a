//! `tanl` (Paolini et al., 2021): all types in one pass. A demonstration's
//! answer is its sentence with each entity tagged inline, `[ mention | Type ]`:
//! `[ Rubella | Disease ] immune status was tested .`
//!
//! Reading an answer: a tag is a `|` with a `]` after it on the same line (no
//! `[` or `|` between) and a `[` before it; brackets inside the mention are
//! balanced, so `[ [3H]thymidine | Simple_chemical ]` reads as expected. The
//! tags' offsets come from aligning the untagged answer with the query (see
//! [`crate::prompt`]). A tag of an unknown type counts in
//! [`Parsed::unknown_types`] (its text stays in the untagged answer); `|`
//! characters that belong to no tag (beyond those in the query) and tags with
//! an empty mention count as unparseable. Entities overlapping an earlier one
//! cannot be shown inline and are left out of a demonstration's answer.

use super::locate::{align_tags, Untagged};
use super::{accepted_type, mark_inline, Context, Parsed, Pass, PromptFormat, Style};
use crate::corpus::Example;

/// The `tanl` format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tanl;

impl Style for Tanl {
    fn format(&self) -> PromptFormat {
        PromptFormat::Tanl
    }

    fn render_answer(&self, example: &Example, pass: &Pass) -> String {
        mark_inline(example, pass, |mention, label| format!("[ {mention} | {label} ]"))
    }

    fn parse(&self, answer: &str, query: &str, pass: &Pass, ctx: &Context) -> Parsed {
        let mut parsed = Parsed::default();
        if answer.trim().is_empty() {
            parsed.empty = true;
            return parsed;
        }
        if super::is_none(answer) {
            return parsed;
        }
        let untagged = untag(answer, query, pass, ctx, &mut parsed);
        align_tags(query, &untagged, &mut parsed);
        parsed
    }
}

/// The answer without its tags, and the tags.
fn untag(answer: &str, query: &str, pass: &Pass, ctx: &Context, parsed: &mut Parsed) -> Untagged {
    let chars: Vec<char> = answer.chars().collect();
    let mut out = Untagged::default();
    let mut copied = 0;
    let mut stray_pipes = 0usize;
    let mut at = 0;
    while at < chars.len() {
        if chars[at] != '|' {
            at += 1;
            continue;
        }
        let close = chars[at + 1..]
            .iter()
            .position(|&c| matches!(c, ']' | '[' | '|' | '\n'))
            .map(|i| at + 1 + i)
            .filter(|&i| chars[i] == ']');
        let open = opening(&chars, copied, at);
        let (Some(open), Some(close)) = (open, close) else {
            stray_pipes += 1;
            at += 1;
            continue;
        };
        out.push_text(&chars[copied..open]);
        let label: String = chars[at + 1..close].iter().collect();
        let mention = &chars[open + 1..at];
        let pushed = match accepted_type(ctx, pass, label.trim()) {
            Some(label) => out.push_tag(mention, Some(&label)),
            None => {
                parsed.unknown_types += 1;
                out.push_tag(mention, None)
            }
        };
        if !pushed {
            parsed.unparseable += 1;
        }
        copied = close + 1;
        at = close + 1;
    }
    out.push_text(&chars[copied..]);
    let query_pipes = query.chars().filter(|&c| c == '|').count();
    parsed.unparseable += stray_pipes.saturating_sub(query_pipes);
    out
}

/// The `[` opening the tag whose `|` is at `pipe`, searching back no further
/// than `from` and not across a line; brackets in between must balance.
fn opening(chars: &[char], from: usize, pipe: usize) -> Option<usize> {
    let mut depth = 0usize;
    for i in (from..pipe).rev() {
        match chars[i] {
            ']' => depth += 1,
            '[' if depth == 0 => return Some(i),
            '[' => depth -= 1,
            '\n' => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Span;

    const QUERY: &str =
        "Rubella immune status and [3H]thymidine uptake in Sjögren 's syndrome ; rubella again .";

    fn ctx() -> Context {
        Context::new(["Disease", "Simple_chemical"])
    }

    fn parse(answer: &str) -> Parsed {
        Tanl.parse(answer, QUERY, &Pass::all(), &ctx())
    }

    fn found(parsed: &Parsed) -> Vec<(String, String)> {
        let chars: Vec<char> = QUERY.chars().collect();
        parsed
            .spans
            .iter()
            .map(|s| (chars[s.start..s.end].iter().collect(), s.label.clone()))
            .collect()
    }

    fn span(start: usize, end: usize, label: &str) -> Span {
        Span {
            start,
            end,
            label: label.into(),
        }
    }

    #[test]
    fn exact_alignment_keeps_the_tagged_occurrence() {
        let parsed = parse("[ Rubella | Disease ] immune status and [ [3H]thymidine | Simple_chemical ] uptake in [ Sjögren 's syndrome | Disease ] ; rubella again .");
        assert_eq!(
            parsed.spans,
            [
                span(0, 7, "Disease"),
                span(26, 39, "Simple_chemical"),
                span(50, 69, "Disease")
            ]
        );
        assert_eq!(
            (parsed.unparseable, parsed.unknown_types, parsed.not_found),
            (0, 0, 0)
        );
    }

    #[test]
    fn tolerates_spacing_casing_and_type_spelling() {
        let parsed = parse("[Rubella|disease] immune status and [ [3H] thymidine | simple chemical ] uptake in [Sjögren's syndrome | DISEASE] ; rubella again.");
        assert_eq!(
            found(&parsed),
            [
                ("Rubella", "Disease"),
                ("[3H]thymidine", "Simple_chemical"),
                ("Sjögren 's syndrome", "Disease")
            ]
            .map(|(m, t)| (m.to_string(), t.to_string()))
        );
    }

    #[test]
    fn falls_back_to_search_when_the_text_changed() {
        // Prose around a changed sentence: the mention occurs twice in the
        // query (ignoring case), once in the answer, so both are returned.
        let parsed = parse("Here is the tagged sentence:\n[ RUBELLA | Disease ] immune status and thymidine uptake in [ Sjögren syndrome | Disease ].");
        assert_eq!(
            found(&parsed),
            [("Rubella", "Disease"), ("rubella", "Disease")].map(|(m, t)| (m.to_string(), t.to_string()))
        );
        assert_eq!(parsed.not_found, 1);

        // A mention tagged again is one span.
        let parsed =
            parse("[ Sjögren 's syndrome | Disease ] immune status\n[ Sjögren 's syndrome | disease ] again");
        assert_eq!(parsed.spans, [span(50, 69, "Disease")]);

        // As often in the answer as in the query: the n-th maps to the n-th.
        let parsed = parse("RUBELLA immune status , [3H]thymidine uptake in Sjögren 's syndrome ; [ RUBELLA | Disease ] again");
        assert_eq!(parsed.spans, [span(72, 79, "Disease")]);
    }

    #[test]
    fn counts_unknown_types_and_broken_tags() {
        let parsed = parse("[ Rubella | Virus ] immune status and [3H]thymidine | Simple_chemical uptake in [ Sjögren 's syndrome | Disease ] ; [ | Disease ] rubella again .");
        assert_eq!(parsed.spans, [span(50, 69, "Disease")]);
        assert_eq!(
            (parsed.unknown_types, parsed.unparseable, parsed.not_found),
            (1, 2, 0)
        );
    }

    #[test]
    fn empty_none_and_untagged() {
        assert!(parse("   ").empty);
        assert_eq!(parse("None"), Parsed::default());
        assert_eq!(parse(QUERY), Parsed::default());
    }

    #[test]
    fn renders_inline_tags() {
        let example = Example {
            id: "x".into(),
            text: "rubella immune".into(),
            entities: vec![crate::corpus::Entity {
                start: 0,
                end: 7,
                label: "test".into(),
                text: "rubella".into(),
            }],
        };
        assert_eq!(
            Tanl.render_answer(&example, &Pass::all()),
            "[ rubella | test ] immune"
        );
    }
}
