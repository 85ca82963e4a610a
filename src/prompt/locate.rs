//! Finding mentions in the query (character offsets) and turning located
//! mentions into non-overlapping spans; the rules are in the module
//! documentation of [`crate::prompt`].

use super::Parsed;
use crate::corpus::Span;

/// The characters of a text: offsets are indices into this.
pub(crate) fn chars(text: &str) -> Vec<char> {
    text.chars().collect()
}

/// One character's case-folded form, keeping one character for one (so that
/// offsets survive): characters whose lower case is longer stay as they are.
fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric()
}

/// Whether `start..end` does not cut a word of `text` in two.
fn on_boundaries(text: &[char], start: usize, end: usize) -> bool {
    let cuts = |i: usize| i > 0 && i < text.len() && is_word(text[i - 1]) && is_word(text[i]);
    !cuts(start) && !cuts(end)
}

/// Occurrences of `mention` in `text`, compared character by character,
/// whether or not they cut words.
fn find_anywhere(text: &[char], mention: &[char], caseless: bool) -> Vec<(usize, usize)> {
    let m = mention.len();
    if m == 0 || m > text.len() {
        return Vec::new();
    }
    let same = |a: char, b: char| a == b || (caseless && fold(a) == fold(b));
    (0..=text.len() - m)
        .filter(|&i| text[i..i + m].iter().zip(mention).all(|(&a, &b)| same(a, b)))
        .map(|i| (i, i + m))
        .collect()
}

/// Occurrences of `mention` in `text` that do not cut words.
fn find(text: &[char], mention: &[char], caseless: bool) -> Vec<(usize, usize)> {
    find_anywhere(text, mention, caseless)
        .into_iter()
        .filter(|&(s, e)| on_boundaries(text, s, e))
        .collect()
}

/// Occurrences of `mention` in `text` ignoring whitespace and case; each runs
/// from the first to the last matched character.
fn find_loose(text: &[char], mention: &[char]) -> Vec<(usize, usize)> {
    let positions: Vec<usize> = (0..text.len()).filter(|&i| !text[i].is_whitespace()).collect();
    let squeezed: Vec<char> = positions.iter().map(|&i| fold(text[i])).collect();
    let wanted: Vec<char> = mention
        .iter()
        .filter(|c| !c.is_whitespace())
        .map(|&c| fold(c))
        .collect();
    find_anywhere(&squeezed, &wanted, false)
        .into_iter()
        .map(|(s, e)| (positions[s], positions[e - 1] + 1))
        .filter(|&(s, e)| on_boundaries(text, s, e))
        .collect()
}

/// Every occurrence of `mention` in `text` by the first rule that finds any:
/// exact, case-insensitive, then ignoring whitespace and case; failing all,
/// the same without a trailing `.`, `,`, `;` or `:`.
pub(crate) fn locate(text: &[char], mention: &str) -> Vec<(usize, usize)> {
    let mention = mention.trim();
    let once = |mention: &str| {
        let wanted = chars(mention);
        let exact = find(text, &wanted, false);
        if !exact.is_empty() {
            return exact;
        }
        let caseless = find(text, &wanted, true);
        if !caseless.is_empty() {
            return caseless;
        }
        find_loose(text, &wanted)
    };
    let found = once(mention);
    if !found.is_empty() {
        return found;
    }
    let stripped = mention.trim_end_matches(['.', ',', ';', ':']).trim_end();
    if !stripped.is_empty() && stripped.len() < mention.len() {
        return once(stripped);
    }
    found
}

/// Located mentions, in answer order, waiting to become spans.
#[derive(Debug, Default)]
pub(crate) struct Found {
    items: Vec<(usize, usize, String)>,
}

impl Found {
    pub(crate) fn add(&mut self, start: usize, end: usize, label: &str) {
        if start < end {
            self.items.push((start, end, label.to_string()));
        }
    }

    /// The spans, longest first where they would overlap (the earlier
    /// between equal lengths), then sorted and unique.
    pub(crate) fn into_spans(self) -> Vec<Span> {
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(self.items[i].1 - self.items[i].0), i));
        let mut kept: Vec<Span> = Vec::new();
        for i in order {
            let (start, end, ref label) = self.items[i];
            let overlaps = kept.iter().any(|s| start < s.end && s.start < end);
            if !overlaps {
                kept.push(Span {
                    start,
                    end,
                    label: label.clone(),
                });
            }
        }
        kept.sort();
        kept
    }
}

/// Locates `(mention, label)` pairs (as listed in an answer) in the query,
/// counting those found nowhere. A mention not found as a whole that
/// contains `,` or `;` is tried piece by piece (a model listing several
/// mentions on one line).
pub(crate) fn locate_mentions(query: &str, mentions: &[(String, String)], parsed: &mut Parsed) {
    let text = chars(query);
    let mut seen = std::collections::HashSet::new();
    let mut found = Found::default();
    for (mention, label) in mentions {
        let mention = mention.trim();
        if mention.is_empty() || !seen.insert((mention, label.as_str())) {
            continue;
        }
        let whole = locate(&text, mention);
        if !whole.is_empty() {
            for (s, e) in whole {
                found.add(s, e, label);
            }
            continue;
        }
        let pieces: Vec<&str> = mention
            .split([',', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let located: Vec<Vec<(usize, usize)>> = if pieces.len() > 1 {
            pieces.iter().map(|p| locate(&text, p)).collect()
        } else {
            Vec::new()
        };
        if located.iter().all(Vec::is_empty) {
            parsed.not_found += 1;
            continue;
        }
        for occurrences in located {
            if occurrences.is_empty() {
                parsed.not_found += 1;
            }
            for (s, e) in occurrences {
                found.add(s, e, label);
            }
        }
    }
    parsed.spans = found.into_spans();
}

/// An answer with its inline tags taken out: the remaining text and, for each
/// tag, its mention's offsets in that text and its (canonical) type.
#[derive(Debug, Default)]
pub(crate) struct Untagged {
    pub text: Vec<char>,
    pub tags: Vec<(usize, usize, String)>,
}

impl Untagged {
    /// Appends plain answer text.
    pub(crate) fn push_text(&mut self, text: &[char]) {
        self.text.extend_from_slice(text);
    }

    /// Appends a tagged mention (trimmed); `label` `None` keeps the text
    /// but no tag (a tag of an unknown type). False if the mention is blank.
    pub(crate) fn push_tag(&mut self, mention: &[char], label: Option<&str>) -> bool {
        let start = mention.iter().position(|c| !c.is_whitespace());
        let end = mention.iter().rposition(|c| !c.is_whitespace());
        let (Some(start), Some(end)) = (start, end) else {
            return false;
        };
        let at = self.text.len();
        self.text.extend_from_slice(&mention[start..=end]);
        if let Some(label) = label {
            self.tags.push((at, self.text.len(), label.to_string()));
        }
        true
    }
}

/// Maps the tags of an inline answer onto the query: exactly when the
/// untagged answer is the query up to whitespace and case, by search
/// otherwise (see the module documentation of [`crate::prompt`]).
pub(crate) fn align_tags(query: &str, answer: &Untagged, parsed: &mut Parsed) {
    let text = chars(query);
    let mut found = Found::default();
    let non_space =
        |chars: &[char]| -> Vec<usize> { (0..chars.len()).filter(|&i| !chars[i].is_whitespace()).collect() };
    let query_positions = non_space(&text);
    let answer_positions = non_space(&answer.text);
    let same_text = query_positions.len() == answer_positions.len()
        && query_positions
            .iter()
            .zip(&answer_positions)
            .all(|(&q, &a)| fold(text[q]) == fold(answer.text[a]));
    if same_text {
        // The rank of each non-space answer character among them.
        let mut rank = vec![usize::MAX; answer.text.len()];
        for (r, &i) in answer_positions.iter().enumerate() {
            rank[i] = r;
        }
        for (start, end, label) in &answer.tags {
            // Tags are trimmed, so both ends are non-space characters.
            let first = rank[*start];
            let last = rank[*end - 1];
            found.add(query_positions[first], query_positions[last] + 1, label);
        }
    } else {
        for (start, end, label) in &answer.tags {
            let mention: String = answer.text[*start..*end].iter().collect();
            let in_query = locate(&text, &mention);
            if in_query.is_empty() {
                parsed.not_found += 1;
                continue;
            }
            let in_answer = locate(&answer.text, &mention);
            let nth = in_answer.iter().position(|&(s, _)| s == *start);
            match nth {
                Some(n) if in_answer.len() == in_query.len() => {
                    let (s, e) = in_query[n];
                    found.add(s, e, label);
                }
                _ => {
                    for (s, e) in in_query {
                        found.add(s, e, label);
                    }
                }
            }
        }
    }
    parsed.spans = found.into_spans();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str, mention: &str) -> Vec<&'static str> {
        let chars = chars(text);
        locate(&chars, mention)
            .into_iter()
            .map(|(s, e)| &*chars[s..e].iter().collect::<String>().leak())
            .collect()
    }

    #[test]
    fn exact_before_caseless_before_loose() {
        let text = chars("BRCA1 - associated Breast cancer and breast cancer");
        assert_eq!(locate(&text, "breast cancer"), [(37, 50)]);
        assert_eq!(locate(&text, "BREAST CANCER"), [(19, 32), (37, 50)]);
        assert_eq!(locate(&text, "BRCA1-associated"), [(0, 18)]);
        assert_eq!(locate(&text, "breast cancer."), [(37, 50)]);
        assert_eq!(locate(&text, "lung cancer"), []);
    }

    #[test]
    fn never_cuts_a_word() {
        assert_eq!(spans("cancers and cancer", "cancer"), ["cancer"]);
        assert_eq!(spans("precancerous", "cancer"), Vec::<&str>::new());
        assert_eq!(spans("IL-2 and IL-22", "IL-2"), ["IL-2"]);
    }

    #[test]
    fn offsets_count_characters() {
        let text = chars("Primary Sjögren 's syndrome in ß-thal");
        assert_eq!(locate(&text, "Sjögren's syndrome"), [(8, 27)]);
        assert_eq!(locate(&text, "SJÖGREN 'S SYNDROME"), [(8, 27)]);
        assert_eq!(locate(&text, "ß-thal"), [(31, 37)]);
    }

    #[test]
    fn longer_spans_win_overlaps() {
        let mut found = Found::default();
        found.add(7, 13, "D");
        found.add(0, 13, "D");
        found.add(0, 13, "D");
        found.add(20, 26, "C");
        found.add(20, 26, "D");
        let labels: Vec<_> = found
            .into_spans()
            .into_iter()
            .map(|s| (s.start, s.end, s.label))
            .collect();
        assert_eq!(labels, [(0, 13, "D".into()), (20, 26, "C".into())]);
    }
}
