//! Plain text, one sentence per non-empty line, no entities; and the file
//! helpers the line-based readers share.

use std::path::Path;

use super::{tokenize::sentence, Corpus};
use crate::error::{Error, Result};

/// Reads one sentence per non-empty line (trimmed); ids are `{file_name}:{line}`.
pub fn read(path: &Path) -> Result<Corpus> {
    let name = file_name(path);
    let sentences = read_lines(path)?
        .into_iter()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| sentence(format!("{name}:{}", i + 1), line.trim().to_string(), Vec::new()))
        .collect();
    Ok(Corpus {
        sentences,
        warnings: Vec::new(),
    })
}

/// The whole file as UTF-8; invalid bytes are an error naming the line they
/// are on, so that the user can find them.
pub(crate) fn read_utf8(path: &Path) -> Result<String> {
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
        let (_dir, path) = temp_file("notes.txt", b"  Fever and cough.\r\n\n \nNo rash \n");
        let corpus = read(&path).unwrap();
        let ids: Vec<_> = corpus.sentences.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["notes.txt:1", "notes.txt:4"]);
        assert_eq!(corpus.sentences[0].text, "Fever and cough.");
        assert_eq!(corpus.sentences[0].tokens.len(), 4);
        assert_eq!(corpus.sentences[1].text, "No rash");
        assert!(corpus.sentences.iter().all(|s| s.entities.is_empty()));
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
