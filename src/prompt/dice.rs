//! `dice`: one pass per entity type, its instruction carrying that type's
//! definition (from [`Context::definitions`]) and the guidelines if any. A
//! demonstration's answer is one mention of the type per line, in order of
//! appearance (each text once), or `None`.
//!
//! Reading an answer: bullets, matching quotes and backticks are stripped
//! (a line that starts like a bullet but is found in the query as it is,
//! such as `- 7` of `caspase - 3 and - 7`, is a mention);
//! blank lines, `None` and headers (lines ending in `:`) are ignored; a
//! `Type: mention` prefix naming the pass's type is dropped, while a line
//! naming another known type counts in [`Parsed::unknown_types`];
//! `Note:`-style remarks are ignored. Every other line is a mention; one that
//! is not found counts in [`Parsed::not_found`], unless it reads like a
//! sentence of prose (six words or more, ending in `.`, `!` or `?`), which is
//! ignored. A line listing several mentions (`a, b`) is split at `,`/`;` when
//! it is not found whole.

use super::locate::{chars, locate, locate_mentions};
use super::{
    accepted_type, is_none, lines_or_none, shown_entities, strip_bullet, strip_quotes, Context, Parsed, Pass,
    PromptFormat, Style,
};
use crate::corpus::Example;

/// The `dice` format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dice;

const REMARKS: [&str; 5] = ["note", "notes", "explanation", "reasoning", "comment"];

impl Style for Dice {
    fn format(&self) -> PromptFormat {
        PromptFormat::Dice
    }

    fn passes(&self, types: &[String]) -> Vec<Pass> {
        types.iter().map(Pass::for_type).collect()
    }

    fn render_answer(&self, example: &Example, pass: &Pass) -> String {
        lines_or_none(
            shown_entities(example, pass)
                .into_iter()
                .map(|(_, _, _, text)| text),
        )
    }

    fn parse(&self, answer: &str, query: &str, pass: &Pass, ctx: &Context) -> Parsed {
        let mut parsed = Parsed::default();
        if answer.trim().is_empty() {
            parsed.empty = true;
            return parsed;
        }
        let label = match (&pass.label, ctx.types.as_slice()) {
            (Some(label), _) => label.clone(),
            (None, [only]) => only.clone(),
            (None, _) => {
                // Without a type, lines cannot be read as this format's answer.
                parsed.unparseable = answer
                    .lines()
                    .filter(|l| !l.trim().is_empty() && !is_none(strip_bullet(l)))
                    .count();
                return parsed;
            }
        };
        let text = chars(query);
        let mut mentions = Vec::new();
        for raw in answer.lines() {
            let raw = raw.trim();
            let line = strip_bullet(raw);
            if line.len() < raw.len() && !locate(&text, raw).is_empty() {
                // Not a bullet but a mention such as "- 7" (of "caspase - 3 and - 7").
                mentions.push((raw.to_string(), label.clone()));
                continue;
            }
            if line.is_empty() || is_none(line) || line.ends_with(':') {
                continue;
            }
            let mut mention = line;
            if let Some((left, right)) = line.split_once(':') {
                let left = strip_quotes(left);
                if accepted_type(ctx, pass, left).is_some() {
                    mention = right;
                } else if ctx.canonical_type(left).is_some() {
                    parsed.unknown_types += 1;
                    continue;
                } else if REMARKS.contains(&left.to_lowercase().as_str()) {
                    continue;
                }
            }
            let mention = strip_quotes(mention);
            if mention.is_empty() || is_none(mention) {
                continue;
            }
            if is_prose(mention) && locate(&text, mention).is_empty() {
                continue;
            }
            mentions.push((mention.to_string(), label.clone()));
        }
        locate_mentions(query, &mentions, &mut parsed);
        parsed
    }
}

fn is_prose(line: &str) -> bool {
    line.split_whitespace().count() >= 6 && line.ends_with(['.', '!', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "Aspirin and ASPIRIN-induced asthma in Sjögren 's syndrome ; asthma again .";

    fn ctx() -> Context {
        Context::new(["Disease", "Chemical"])
    }

    fn parse(answer: &str) -> Parsed {
        Dice.parse(answer, QUERY, &Pass::for_type("Disease"), &ctx())
    }

    fn found(parsed: &Parsed) -> Vec<String> {
        let chars: Vec<char> = QUERY.chars().collect();
        parsed
            .spans
            .iter()
            .inspect(|s| assert_eq!(s.label, "Disease"))
            .map(|s| chars[s.start..s.end].iter().collect())
            .collect()
    }

    #[test]
    fn one_mention_a_line() {
        let parsed = parse("asthma\nSjögren 's syndrome");
        assert_eq!(found(&parsed), ["asthma", "Sjögren 's syndrome", "asthma"]);
        assert_eq!(parsed.spans[1].start, 38);
        assert_eq!(
            parsed,
            Parsed {
                spans: parsed.spans.clone(),
                ..Parsed::default()
            }
        );
    }

    #[test]
    fn tolerates_prose_bullets_casing_quotes_and_repeats() {
        let answer = "Here are the Disease mentions:\n\
                      - \"Asthma\"\n\
                      - asthma\n\
                      2. `sjögren's syndrome`\n\
                      Disease: asthma\n\
                      Chemical: aspirin\n\
                      Note: both are chronic conditions.\n\
                      The second asthma mention repeats the first one.";
        let parsed = parse(answer);
        assert_eq!(found(&parsed), ["asthma", "Sjögren 's syndrome", "asthma"]);
        assert_eq!(
            (parsed.unknown_types, parsed.unparseable, parsed.not_found),
            (1, 0, 0)
        );
    }

    #[test]
    fn counts_missing_mentions() {
        let parsed = parse("asthma, lupus\nlung disease");
        assert_eq!(found(&parsed), ["asthma", "asthma"]);
        assert_eq!(parsed.not_found, 2);
    }

    #[test]
    fn a_bullet_found_in_the_query_is_a_mention() {
        let query = "caspase - 3 and - 7 , not 7 .";
        let pass = Pass::for_type("Gene");
        let ctx = Context::new(["Gene"]);
        let parsed = Dice.parse("caspase - 3\n- 7", query, &pass, &ctx);
        let found: Vec<_> = parsed.spans.iter().map(|s| (s.start, s.end)).collect();
        assert_eq!(found, [(0, 11), (16, 19)]);
        let parsed = Dice.parse("- caspase - 3\n- 7", query, &pass, &ctx);
        assert_eq!(parsed.spans.len(), 2);
    }

    #[test]
    fn empty_and_none() {
        assert!(parse("\n").empty);
        assert_eq!(parse("None"), Parsed::default());
        assert_eq!(parse("* None."), Parsed::default());
    }

    #[test]
    fn the_instruction_carries_the_definition() {
        let mut ctx = ctx();
        ctx.definitions
            .insert("Disease".into(), "A disorder of structure or function.".into());
        ctx.guidelines = Some("Mark the longest mention.".into());
        let text = Dice.instruction(&Pass::for_type("Disease"), &ctx);
        assert!(
            text.contains("Disease: A disorder of structure or function."),
            "{text}"
        );
        assert!(text.contains("Mark the longest mention."), "{text}");
        let text = Dice.instruction(&Pass::for_type("Chemical"), &ctx);
        assert!(
            !text.contains("Definition") && !text.contains("disorder"),
            "{text}"
        );
    }
}
