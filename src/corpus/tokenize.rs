//! The one tokenizer of exemplar, used for every format that does not bring
//! its own tokens (BRAT, JSONL, plain text), and the helpers that make entity
//! boundaries fall on token boundaries.

use super::{Sentence, Span, Token};

/// Splits `text` into tokens: maximal runs of alphanumeric characters, and
/// every other non-whitespace character on its own. Offsets are characters.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut previous_alphanumeric = false;
    for (i, c) in text.chars().enumerate() {
        let alphanumeric = c.is_alphanumeric();
        match tokens.last_mut() {
            // An alphanumeric run goes on only while it is unbroken.
            Some(last) if alphanumeric && previous_alphanumeric => last.end = i + 1,
            _ if !c.is_whitespace() => tokens.push(Token { start: i, end: i + 1 }),
            _ => {}
        }
        previous_alphanumeric = alphanumeric;
    }
    tokens
}

/// Splits every token that an entity starts or ends inside of, so that all
/// entity boundaries are token boundaries ("IL-2R" with an entity on "IL"
/// gives "IL", "-", "2R" either way, but "p53mutant" needs the split).
pub(crate) fn split_at_spans(tokens: &[Token], spans: &[Span]) -> Vec<Token> {
    let mut cuts: Vec<usize> = spans.iter().flat_map(|s| [s.start, s.end]).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut result = Vec::with_capacity(tokens.len());
    for token in tokens {
        let first = cuts.partition_point(|&c| c <= token.start);
        let mut start = token.start;
        for &cut in cuts[first..].iter().take_while(|&&c| c < token.end) {
            result.push(Token { start, end: cut });
            start = cut;
        }
        result.push(Token {
            start,
            end: token.end,
        });
    }
    result
}

/// Builds a sentence from raw text and entities whose offsets are already
/// checked against it: tokenizes, splits tokens at entity boundaries and
/// sorts the entities.
pub(crate) fn sentence(id: String, text: String, mut entities: Vec<Span>) -> Sentence {
    entities.sort();
    let tokens = split_at_spans(&tokenize(&text), &entities);
    Sentence {
        id,
        text,
        tokens,
        entities,
        doc: None,
        meta: Default::default(),
    }
}

/// Checks that `start..end` is a non-empty range inside `chars` and narrows
/// it to exclude leading and trailing whitespace, because a span must start
/// and end on a token. Returns the span and, when it was narrowed, a note for
/// a warning; a message when the span cannot be placed in the text.
pub(crate) fn checked_span(
    chars: &[char],
    start: usize,
    end: usize,
    label: String,
) -> Result<(Span, Option<String>), String> {
    let what = format!("entity {start}..{end} of type {label}");
    if end == start {
        return Err(format!("{what} is an empty entity (start == end)"));
    }
    if end < start || end > chars.len() {
        return Err(format!(
            "{what} is not inside the text ({} characters)",
            chars.len()
        ));
    }
    let (new_start, new_end) =
        trim_span(chars, start, end).ok_or_else(|| format!("{what} is only whitespace"))?;
    let note = ((new_start, new_end) != (start, end))
        .then(|| format!("{what} trimmed of whitespace to {new_start}..{new_end}"));
    Ok((
        Span {
            start: new_start,
            end: new_end,
            label,
        },
        note,
    ))
}

/// Narrows `start..end` of `chars` to exclude leading and trailing
/// whitespace; `None` when nothing but whitespace is left.
pub(crate) fn trim_span(chars: &[char], start: usize, end: usize) -> Option<(usize, usize)> {
    let inner = chars.get(start..end)?;
    let first = inner.iter().position(|c| !c.is_whitespace())?;
    let last = inner.iter().rposition(|c| !c.is_whitespace())?;
    Some((start + first, start + last + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str, tokens: &[Token]) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        tokens
            .iter()
            .map(|t| chars[t.start..t.end].iter().collect())
            .collect()
    }

    #[test]
    fn tokenizes_runs_and_punctuation() {
        let text = "IL-2R  (p53)\tmutée, 5.3mg";
        assert_eq!(
            texts(text, &tokenize(text)),
            ["IL", "-", "2R", "(", "p53", ")", "mutée", ",", "5", ".", "3mg"]
        );
        assert!(tokenize(" \n\t ").is_empty());
        assert!(tokenize("").is_empty());
    }

    #[test]
    fn offsets_are_characters() {
        let tokens = tokenize("é β-cell");
        assert_eq!(tokens[0], Token { start: 0, end: 1 });
        assert_eq!(tokens[1], Token { start: 2, end: 3 });
        assert_eq!(tokens[3], Token { start: 4, end: 8 });
    }

    #[test]
    fn splits_tokens_at_entity_boundaries() {
        let text = "p53mutant cells";
        let span = |start, end| Span {
            start,
            end,
            label: "X".into(),
        };
        let tokens = split_at_spans(&tokenize(text), &[span(0, 3), span(1, 3), span(10, 15)]);
        assert_eq!(texts(text, &tokens), ["p", "53", "mutant", "cells"]);
    }

    #[test]
    fn checks_spans_against_the_text() {
        let chars: Vec<char> = "a b ".chars().collect();
        let (span, note) = checked_span(&chars, 0, 4, "X".into()).unwrap();
        assert_eq!((span.start, span.end), (0, 3));
        assert!(note.unwrap().contains("trimmed"));
        assert_eq!(checked_span(&chars, 2, 3, "X".into()).unwrap().1, None);
        assert!(checked_span(&chars, 3, 4, "X".into())
            .unwrap_err()
            .contains("whitespace"));
        assert!(checked_span(&chars, 2, 5, "X".into())
            .unwrap_err()
            .contains("not inside"));
        assert!(checked_span(&chars, 2, 2, "X".into())
            .unwrap_err()
            .contains("empty entity (start == end)"));
        assert!(checked_span(&chars, 3, 2, "X".into())
            .unwrap_err()
            .contains("not inside"));
    }

    #[test]
    fn trims_whitespace_from_spans() {
        let chars: Vec<char> = " a b  ".chars().collect();
        assert_eq!(trim_span(&chars, 0, 6), Some((1, 4)));
        assert_eq!(trim_span(&chars, 4, 6), None);
        assert_eq!(trim_span(&chars, 4, 9), None);
    }
}
