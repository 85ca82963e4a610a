//! Pairing predictions with gold sentences. Predictions come back from a
//! model or another tool as their own file, whose text may differ from the
//! gold's in whitespace only: CoNLL joins tokens with single spaces
//! ("( a gene )"), the original text may not ("(a gene)"). Any other
//! difference means the files do not belong together, and scoring them would
//! produce plausible-looking nonsense.

use crate::corpus::{Sentence, Span};
use crate::error::{Error, Result};

/// The predicted entities of each gold sentence, with offsets into the gold
/// text. Sentence `i` of the predictions must have the text of gold sentence
/// `i` but for whitespace (added, removed or changed anywhere); the error
/// names the first that does not, or the difference in number.
pub fn align(gold: &[Sentence], predicted: &[Sentence]) -> Result<Vec<Vec<Span>>> {
    let aligned = gold
        .iter()
        .zip(predicted)
        .enumerate()
        .map(|(i, (g, p))| {
            if g.text == p.text {
                return Ok(p.entities.clone());
            }
            if !same_visible_text(&g.text, &p.text) {
                return Err(Error::InvalidInput(format!(
                    "prediction {n} ({}) has text {:?} but gold sentence {n} ({}) has {:?}",
                    p.id,
                    p.text,
                    g.id,
                    g.text,
                    n = i + 1
                )));
            }
            Ok(move_spans(&p.entities, &p.text, &g.text))
        })
        .collect::<Result<Vec<_>>>()?;
    if gold.len() != predicted.len() {
        return Err(Error::InvalidInput(format!(
            "{} predicted sentences but {} gold sentences: predictions must follow the gold sentence by sentence",
            predicted.len(),
            gold.len()
        )));
    }
    Ok(aligned)
}

fn same_visible_text(a: &str, b: &str) -> bool {
    let visible = |text: &str| text.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    visible(a) == visible(b)
}

/// Character offsets of a text's non-whitespace characters.
fn visible(text: &str) -> Vec<usize> {
    text.chars()
        .enumerate()
        .filter(|(_, c)| !c.is_whitespace())
        .map(|(i, _)| i)
        .collect()
}

/// Moves spans between two texts with the same non-whitespace characters:
/// a span starts at its first visible character and ends after its last, and
/// those are the same characters in both texts.
fn move_spans(spans: &[Span], from: &str, to: &str) -> Vec<Span> {
    let (from, to_visible) = (visible(from), visible(to));
    let to_len = to.chars().count();
    // How many visible characters precede a character offset.
    let rank = |offset: usize| from.partition_point(|&p| p < offset);
    spans
        .iter()
        .map(|span| Span {
            start: to_visible.get(rank(span.start)).copied().unwrap_or(to_len),
            end: rank(span.end)
                .checked_sub(1)
                .and_then(|last| to_visible.get(last))
                .map_or(0, |&p| p + 1),
            label: span.label.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::tokenize;
    use crate::eval::tests::span;

    fn sentence(id: &str, text: &str, entities: Vec<Span>) -> Sentence {
        Sentence {
            id: id.into(),
            text: text.into(),
            tokens: tokenize(text),
            entities,
            doc: None,
            meta: Default::default(),
        }
    }

    #[test]
    fn equal_texts_keep_their_offsets() {
        let gold = [sentence("g:1", "BRCA1 mutations", vec![])];
        let pred = [sentence("p:1", "BRCA1 mutations", vec![span(0, 5, "Gene")])];
        assert_eq!(align(&gold, &pred).unwrap(), [vec![span(0, 5, "Gene")]]);
    }

    #[test]
    fn whitespace_differences_move_the_offsets() {
        let gold = [sentence("g:1", "Breast  cancer\tin BRCA1 ( a gene ) .", vec![])];
        let pred = [sentence(
            "p:1",
            " Breast cancer in BRCA1 (a gene) .",
            vec![span(1, 14, "Disease"), span(18, 23, "Gene"), span(24, 32, "X")],
        )];
        let moved = align(&gold, &pred).unwrap().remove(0);
        let texts: Vec<&str> = moved.iter().map(|s| gold[0].span_text(s)).collect();
        assert_eq!(texts, ["Breast  cancer", "BRCA1", "( a gene )"]);
    }

    #[test]
    fn a_different_text_is_named() {
        let gold = [
            sentence("test.tsv:1", "a b", vec![]),
            sentence("test.tsv:2", "c d", vec![]),
        ];
        let pred = [
            sentence("pred.jsonl:1", "a  b", vec![]),
            sentence("pred.jsonl:2", "c e", vec![]),
        ];
        let message = align(&gold, &pred).unwrap_err().to_string();
        assert_eq!(
            message,
            r#"prediction 2 (pred.jsonl:2) has text "c e" but gold sentence 2 (test.tsv:2) has "c d""#
        );
    }

    #[test]
    fn a_missing_sentence_is_reported_where_the_texts_part() {
        let gold = [
            sentence("g:1", "a", vec![]),
            sentence("g:2", "b", vec![]),
            sentence("g:3", "c", vec![]),
        ];
        let pred = [sentence("p:1", "a", vec![]), sentence("p:2", "c", vec![])];
        let message = align(&gold, &pred).unwrap_err().to_string();
        assert!(message.starts_with("prediction 2 (p:2)"), "{message}");
    }

    #[test]
    fn different_counts_are_an_error() {
        let gold = [sentence("g:1", "a", vec![]), sentence("g:2", "b", vec![])];
        let pred = [sentence("p:1", "a", vec![])];
        let message = align(&gold, &pred).unwrap_err().to_string();
        assert!(
            message.starts_with("1 predicted sentences but 2 gold sentences"),
            "{message}"
        );
    }
}
