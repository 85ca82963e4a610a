//! Plain text, one sentence per non-empty line, no entities; and the file
//! helpers the line-based readers share.

use std::path::Path;

use super::{tokenize::sentence, Corpus, Warning};
use crate::error::{Error, Result};

/// U+FEFF at the start of a file: the byte-order mark some editors write
/// before UTF-8 text. It is not text; kept, it would shift every offset of
/// the first sentence by one.
pub(crate) const BOM: char = '\u{feff}';

/// Blank lines listed by number in the warning about them.
const BLANK_LINES_NAMED: usize = 5;

/// Reads one sentence per non-empty line (trimmed); ids are `{file_name}:{line}`.
///
/// Blank lines between sentences are skipped with one warning rather than
/// refused: a blank line is no sentence, refusing it would make users clean
/// files that every other line-based tool takes, and ids keep the line
/// numbers, so each result still names its line. The warning says so, for
/// when results are matched to lines by counting.
pub fn read(path: &Path) -> Result<Corpus> {
    let name = file_name(path);
    let mut corpus = Corpus::default();
    let (mut blank, mut blank_between) = (Vec::new(), 0);
    for (i, line) in read_lines(path)?.into_iter().enumerate() {
        match line.trim() {
            "" => blank.push(i + 1),
            text => {
                let id = format!("{name}:{}", i + 1);
                corpus.sentences.push(sentence(id, text.to_string(), Vec::new()));
                blank_between = blank.len();
            }
        }
    }
    // Blank lines after the last sentence shift no numbering: not worth a word.
    blank.truncate(blank_between);
    corpus.warnings.extend(blank_lines_warning(path, &blank));
    Ok(corpus)
}

/// One warning for all the blank lines skipped, naming the first few.
fn blank_lines_warning(path: &Path, blank: &[usize]) -> Option<Warning> {
    let first = blank.first()?;
    let mut named: Vec<String> = blank
        .iter()
        .take(BLANK_LINES_NAMED)
        .map(usize::to_string)
        .collect();
    if blank.len() > BLANK_LINES_NAMED {
        named.push("…".into());
    }
    Some(Warning {
        location: format!("{}:{first}", path.display()),
        message: format!(
            "{} blank line(s) skipped (line {}); sentence ids keep their line numbers",
            blank.len(),
            named.join(", ")
        ),
    })
}

/// The whole file as UTF-8 without a byte-order mark ([`BOM`]); invalid
/// bytes are an error naming the line they are on, so that the user can find them.
pub(crate) fn read_utf8(path: &Path) -> Result<String> {
    let text = read_utf8_as_is(path)?;
    Ok(match text.strip_prefix(BOM) {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// [`read_utf8`] keeping a byte-order mark, for formats whose offsets count it.
pub(crate) fn read_utf8_as_is(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let bad = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..bad].iter().filter(|&&b| b == b'\n').count();
        Error::corpus_at(path, line, format!("not valid UTF-8 (byte {bad} of the file)"))
    })
}

/// The lines of a UTF-8 file, without their `\n` or `\r\n`; line `n` is at
/// index `n - 1`.
pub(crate) fn read_lines(path: &Path) -> Result<Vec<String>> {
    let text = read_utf8(path)?;
    Ok(text.lines().map(str::to_string).collect())
}

/// The file's name, as used in sentence ids (`train.tsv`).
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn temp_file(name: &str, content: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap().write_all(content).unwrap();
        (dir, path)
    }

    #[test]
    fn one_sentence_per_non_empty_line() {
        let (_dir, path) = temp_file("notes.txt", b"  Fever and cough.\r\n\n \nNo rash \n\n\n");
        let corpus = read(&path).unwrap();
        let ids: Vec<_> = corpus.sentences.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["notes.txt:1", "notes.txt:4"]);
        assert_eq!(corpus.sentences[0].text, "Fever and cough.");
        assert_eq!(corpus.sentences[0].tokens.len(), 4);
        assert_eq!(corpus.sentences[1].text, "No rash");
        assert!(corpus.sentences.iter().all(|s| s.entities.is_empty()));
    }

    #[test]
    fn blank_lines_between_sentences_are_skipped_with_one_warning() {
        let (_dir, path) = temp_file("q.txt", b"\none\n\n\ntwo\n\n");
        let corpus = read(&path).unwrap();
        assert_eq!(corpus.sentences.len(), 2);
        let [warning] = &corpus.warnings[..] else {
            panic!("{:?}", corpus.warnings)
        };
        assert!(warning.location.ends_with("q.txt:1"), "{warning:?}");
        assert!(
            warning.message.contains("3 blank line(s) skipped (line 1, 3, 4)"),
            "{warning:?}"
        );
        let (_dir, path) = temp_file("q.txt", b"one\ntwo\n\n\n");
        assert!(read(&path).unwrap().warnings.is_empty());
    }

    #[test]
    fn a_byte_order_mark_is_not_text() {
        let (_dir, path) = temp_file("q.txt", "\u{feff}Fever\n".as_bytes());
        assert_eq!(read(&path).unwrap().sentences[0].text, "Fever");
        assert_eq!(read_lines(&path).unwrap(), ["Fever"]);
        assert!(read_utf8_as_is(&path).unwrap().starts_with(BOM));
    }

    #[test]
    fn empty_file_gives_no_sentences() {
        let (_dir, path) = temp_file("empty.txt", b"");
        assert!(read(&path).unwrap().sentences.is_empty());
    }

    #[test]
    fn invalid_utf8_names_file_and_line() {
        let (_dir, path) = temp_file("bad.txt", b"fine\nalso fine\nnot \xff fine\n");
        let message = read(&path).unwrap_err().to_string();
        assert!(message.contains("bad.txt:3:"), "{message}");
    }

    #[test]
    fn missing_file_is_an_io_error_with_the_path() {
        let error = read(Path::new("/no/such/dir/gone.txt")).unwrap_err();
        assert!(matches!(error, Error::Io { .. }));
        assert!(error.to_string().contains("/no/such/dir/gone.txt"));
    }
}
