//! Tokens of biomedical text for lexical retrieval.
//!
//! Gene, protein and drug names mix letters, digits and hyphens (`BRCA1`,
//! `IL-2`, `5-FU`, `TNF-alpha`); a tokenizer that splits at every
//! non-letter loses them, and one that keeps every punctuation mark makes
//! `IL-2,` and `IL-2` different words. The rules:
//!
//! - text is case-folded (`str::to_lowercase`, before splitting);
//! - it is split at whitespace and at every character that is neither
//!   alphanumeric nor a hyphen (`-`, and the Unicode hyphens U+2010, U+2011,
//!   which count as `-`); letters and digits stay together (`brca1`);
//! - hyphens at either end of a piece are dropped (`-induced` → `induced`);
//! - a piece with inner hyphens is indexed whole *and* by its parts:
//!   `IL-2` → `il-2`, `il`, `2`. The whole form makes the exact name a rare,
//!   strongly weighted term; the parts let `IL-2` match `IL 2` and
//!   `TNF-alpha` match `TNF`.
//!
//! The same function tokenises documents and queries, so whatever a document
//! is indexed by, the same text in a query finds.

/// The tokens of `text`, in order (a hyphenated piece: whole form first, then its parts).
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    // Folded before splitting: lowercasing can turn one letter into a letter
    // and a combining mark (`İ` → `i̇`), which must then separate like any mark.
    for piece in text
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || is_hyphen(c)))
    {
        push_piece(piece, &mut tokens);
    }
    tokens
}

fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2011}')
}

/// Adds one piece (alphanumerics and hyphens only) as its tokens.
fn push_piece(piece: &str, tokens: &mut Vec<String>) {
    let piece = piece.trim_matches(is_hyphen);
    if piece.is_empty() {
        return;
    }
    let folded: String = piece
        .chars()
        .map(|c| if is_hyphen(c) { '-' } else { c })
        .collect();
    if !folded.contains('-') {
        tokens.push(folded);
        return;
    }
    let parts: Vec<&str> = folded.split('-').filter(|p| !p.is_empty()).collect();
    tokens.push(parts.join("-"));
    tokens.extend(parts.into_iter().map(String::from));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_biomedical_names_findable() {
        assert_eq!(tokenize("BRCA1 mutations"), ["brca1", "mutations"]);
        assert_eq!(tokenize("IL-2"), ["il-2", "il", "2"]);
        assert_eq!(tokenize("5-FU, given"), ["5-fu", "5", "fu", "given"]);
        assert_eq!(tokenize("TNF\u{2010}alpha"), ["tnf-alpha", "tnf", "alpha"]);
    }

    #[test]
    fn splits_at_punctuation_and_folds_case() {
        assert_eq!(
            tokenize("Ataxia-telangiectasia (A-T) is rare."),
            [
                "ataxia-telangiectasia",
                "ataxia",
                "telangiectasia",
                "a-t",
                "a",
                "t",
                "is",
                "rare"
            ]
        );
        assert_eq!(tokenize("p53/MDM2;x"), ["p53", "mdm2", "x"]);
        assert_eq!(tokenize("Crohn's"), ["crohn", "s"]);
    }

    #[test]
    fn drops_loose_and_repeated_hyphens() {
        assert_eq!(tokenize("-induced -- a--b -"), ["induced", "a-b", "a", "b"]);
        assert!(tokenize(" .,;-  ").is_empty());
    }

    #[test]
    fn folds_unicode_case() {
        assert_eq!(tokenize("ÉTAT Straße"), ["état", "straße"]);
    }

    proptest! {
        #[test]
        fn tokens_are_folded_nonempty_words(text in "\\PC{0,60}") {
            for token in tokenize(&text) {
                prop_assert!(!token.is_empty());
                prop_assert!(!token.starts_with('-') && !token.ends_with('-') && !token.contains("--"));
                prop_assert!(token.chars().all(|c| c.is_alphanumeric() || c == '-'));
                prop_assert_eq!(token.to_lowercase(), token.clone());
            }
        }

        #[test]
        fn case_and_surrounding_punctuation_do_not_matter(word in "[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8}){0,2}") {
            let bare = tokenize(&word);
            prop_assert_eq!(&tokenize(&word.to_uppercase()), &bare);
            prop_assert_eq!(&tokenize(&format!("({word}),")), &bare);
            prop_assert_eq!(&bare[0], &word.to_lowercase());
        }

        #[test]
        fn a_token_of_a_text_is_found_in_a_longer_one(a in "\\PC{0,30}", b in "[a-z0-9-]{1,10}", c in "\\PC{0,30}") {
            let whole = tokenize(&format!("{a} {b} {c}"));
            for token in tokenize(&b) {
                prop_assert!(whole.contains(&token));
            }
        }
    }
}
