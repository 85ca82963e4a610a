//! Asking the model for a sentence's candidate terms, and reading its answer:
//! the first request of the paper's LLM-candidate variant of knowledge hints
//! (`exemplar run --knowledge-candidates llm`), whose candidates are then
//! looked up in the knowledge sources.
//!
//! The prompt is zero-shot: the instruction of [`TEMPLATE`]
//! (`prompts/candidates.txt`, `{types}` filled in as for any format) and the
//! sentence, rendered like every other prompt.
//!
//! Reading an answer never fails. Line by line: a bullet (`-`, `*`, `1.`,
//! `(1)`, ...) and matching quotes are stripped; blank lines, `None` and
//! headers (a line ending in `:`) are skipped. A line is located in the
//! sentence as a mention is (exact, then ignoring case, then ignoring
//! whitespace and case; a trailing `.`, `,`, `;` or `:` dropped when needed;
//! never cutting a word in two, see [`crate::prompt`]). A line not found
//! whole is tried without a `Label:` prefix, then split at `,` and `;`. Each
//! term found becomes one [`Candidate`]: the sentence's own text at the
//! term's first occurrence, so a candidate is always a substring of the
//! sentence on word boundaries. A line that yields nothing counts in
//! [`Candidates::not_found`].

use serde::{Deserialize, Serialize};

use super::locate::{chars, locate};
use super::{fill_template, is_none, strip_bullet, strip_quotes, Context, Pass, Prompt};

/// The instruction of the candidate request.
pub const TEMPLATE: &str = include_str!("../../prompts/candidates.txt");

/// A term of the sentence that the model proposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// First character in the sentence (Unicode scalar values, as spans count).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// The sentence's text there.
    pub text: String,
}

/// What was read from one answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidates {
    /// The candidates, by position in the sentence, each once.
    pub found: Vec<Candidate>,
    /// Answer lines that named nothing found in the sentence.
    pub not_found: usize,
}

impl Candidates {
    /// Whether the answer said something but nothing of it is in the
    /// sentence (a blank answer or `None` is read, as no candidates).
    pub fn unparseable(&self) -> bool {
        self.found.is_empty() && self.not_found > 0
    }
}

/// The prompt asking for the candidate terms of `query`.
pub fn prompt(ctx: &Context, query: &str) -> Prompt {
    Prompt {
        instruction: fill_template(TEMPLATE, &Pass::all(), ctx),
        hints: Vec::new(),
        shots: Vec::new(),
        query: query.to_string(),
        dropped: 0,
        kept: Vec::new(),
        dropped_hints: 0,
    }
}

/// Reads `answer` into candidates of `query` (see the module documentation).
pub fn parse(answer: &str, query: &str) -> Candidates {
    let text = chars(query);
    let mut read = Candidates::default();
    for raw in answer.lines() {
        let line = strip_quotes(strip_bullet(raw));
        if line.is_empty() || is_none(line) || line.ends_with(':') {
            continue;
        }
        let spans = locate_line(&text, line);
        if spans.is_empty() {
            read.not_found += 1;
        }
        for (start, end) in spans {
            if !read.found.iter().any(|c| (c.start, c.end) == (start, end)) {
                read.found.push(Candidate {
                    start,
                    end,
                    text: text[start..end].iter().collect(),
                });
            }
        }
    }
    read.found.sort_by_key(|c| (c.start, c.end));
    read
}

/// The first occurrence of each term a line names: the line whole, else
/// without a `Label:` prefix, else each of its `,`/`;`-separated parts.
fn locate_line(text: &[char], line: &str) -> Vec<(usize, usize)> {
    let first = |term: &str| locate(text, strip_quotes(term)).first().copied();
    if let Some(span) = first(line) {
        return vec![span];
    }
    if let Some(span) = line.split_once(':').and_then(|(_, term)| first(term)) {
        return vec![span];
    }
    line.split([',', ';']).filter_map(first).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const QUERY: &str = "Recurrent seizures , Microcephaly and breast - cancer in BRCA1 carriers .";

    fn texts(answer: &str) -> Vec<String> {
        parse(answer, QUERY).found.into_iter().map(|c| c.text).collect()
    }

    #[test]
    fn bullets_numbers_quotes_and_blank_lines_are_tolerated() {
        let answer = "Candidates:\n\n- seizures\n2. \"microcephaly\"\n(3) `breast-cancer`\n* BRCA1.\n";
        assert_eq!(
            texts(answer),
            ["seizures", "Microcephaly", "breast - cancer", "BRCA1"]
        );
        let read = parse(answer, QUERY);
        assert_eq!((read.not_found, read.unparseable()), (0, false));
        assert_eq!((read.found[0].start, read.found[0].end), (10, 18));
    }

    #[test]
    fn terms_not_in_the_sentence_or_cutting_words_are_left_out() {
        let read = parse("epilepsy\ncarrier\nseizures", QUERY);
        assert_eq!(
            read.found.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
            ["seizures"]
        );
        assert_eq!(read.not_found, 2, "`carrier` would cut `carriers`");
        assert!(parse("epilepsy", QUERY).unparseable());
        for nothing in ["", "None", "  \n", "None."] {
            let read = parse(nothing, QUERY);
            assert!(read.found.is_empty() && !read.unparseable(), "{nothing:?}");
        }
    }

    #[test]
    fn labelled_and_comma_separated_lines_are_split() {
        assert_eq!(
            texts("Disease: microcephaly\nseizures, breast - cancer; nothing"),
            ["seizures", "Microcephaly", "breast - cancer"]
        );
        assert_eq!(texts("seizures\nSeizures\nSEIZURES"), ["seizures"], "each once");
    }

    #[test]
    fn the_prompt_asks_for_the_types_zero_shot() {
        let prompt = prompt(&Context::new(["Disease", "Gene"]), QUERY);
        assert!(prompt.shots.is_empty());
        let text = prompt.completion_text();
        assert!(text.contains("entity types: Disease, Gene."), "{text}");
        assert!(text.ends_with(&format!("Input: {QUERY}\nOutput:\n")), "{text}");
    }

    fn on_boundaries(text: &[char], start: usize, end: usize) -> bool {
        let cuts =
            |i: usize| i > 0 && i < text.len() && text[i - 1].is_alphanumeric() && text[i].is_alphanumeric();
        !cuts(start) && !cuts(end)
    }

    proptest! {
        #[test]
        fn candidates_are_substrings_of_the_sentence_on_word_boundaries(
            query in "[a-cA-C0-9 ,.;:'\"()é-]{0,40}",
            answer in "[a-cA-C0-9 ,.;:'\"()*\n•é-]{0,60}",
        ) {
            let text: Vec<char> = query.chars().collect();
            let read = parse(&answer, &query);
            for c in &read.found {
                prop_assert!(c.start < c.end && c.end <= text.len(), "{c:?}");
                prop_assert_eq!(&text[c.start..c.end].iter().collect::<String>(), &c.text);
                prop_assert!(on_boundaries(&text, c.start, c.end), "{c:?} in {query:?}");
            }
        }

        #[test]
        fn lines_copied_from_the_sentence_are_found(query in "[a-z]{3,8}( [a-z]{3,8}){0,6}", pick in 0usize..7) {
            let words: Vec<&str> = query.split(' ').collect();
            let word = words[pick % words.len()];
            let read = parse(&format!("- {}", word.to_uppercase()), &query);
            prop_assert_eq!(read.found.len(), 1);
            prop_assert_eq!(read.found[0].text.as_str(), word);
        }
    }
}
