//! BRAT standoff: `.txt` documents with `.ann` files beside them. Only
//! text-bound annotations (`T` lines) are read; relations, events,
//! attributes, notes and the like are ignored. Documents are split into
//! sentences by a small rule-based splitter (see [`sentence_cuts`]).

use std::path::{Path, PathBuf};

use super::text::{file_name, read_lines, read_utf8_as_is, BOM};
use super::tokenize::{checked_span, sentence, trim_span};
use super::{check_type_name, Corpus, ReadOptions, Span, Warning};
use crate::error::{Error, Result};

/// Words that end in a full stop without ending a sentence ("Dr. Smith",
/// "Fig. 2", "e.g. Aspirin"). Kept short: a missed abbreviation only splits
/// a sentence too early, which costs little.
const ABBREVIATIONS: &[&str] = &[
    "Dr", "Mr", "Mrs", "Ms", "vs", "e.g", "i.e", "etc", "approx", "No", "Fig",
];

/// Reads a directory (every `.txt` with a `.ann` beside it, recursively, in
/// path order) or a single `.txt` file. Sentence ids are the `.txt` path
/// relative to `path`, with `/` separators, and the sentence number in that
/// document: `batch2/case_35.txt:3`.
pub fn read(path: &Path, options: &ReadOptions) -> Result<Corpus> {
    if std::fs::metadata(path).map_err(|e| Error::io(path, e))?.is_dir() {
        return read_directory(path, options);
    }
    if path.extension() != Some("txt".as_ref()) {
        let message = "expected a directory or a .txt file with a .ann file beside it";
        return Err(Error::corpus(path, message));
    }
    let mut corpus = Corpus::default();
    read_document(path, &file_name(path), options, &mut corpus)?;
    Ok(corpus)
}

fn read_directory(root: &Path, options: &ReadOptions) -> Result<Corpus> {
    let mut documents = Vec::new();
    find_text_files(root, &mut documents)?;
    documents.sort();
    let mut corpus = Corpus::default();
    for txt in documents {
        if txt.with_extension("ann").is_file() {
            read_document(&txt, &relative_id(root, &txt), options, &mut corpus)?;
        } else {
            corpus.warnings.push(Warning {
                location: txt.display().to_string(),
                message: "no .ann file beside it; skipped".into(),
            });
        }
    }
    Ok(corpus)
}

fn find_text_files(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if entry.file_type().map_err(|e| Error::io(&path, e))?.is_dir() {
            find_text_files(&path, found)?;
        } else if path.extension() == Some("txt".as_ref()) {
            found.push(path);
        }
    }
    Ok(())
}

/// `batch2/case_35.txt` for `root/batch2/case_35.txt`, on every platform.
fn relative_id(root: &Path, txt: &Path) -> String {
    let relative = txt.strip_prefix(root).unwrap_or(txt);
    let parts: Vec<_> = relative.iter().map(|part| part.to_string_lossy()).collect();
    parts.join("/")
}

/// Reads one `.txt` and its `.ann` and appends the document's sentences.
fn read_document(txt: &Path, doc_id: &str, options: &ReadOptions, corpus: &mut Corpus) -> Result<()> {
    let mut chars: Vec<char> = read_utf8_as_is(txt)?.chars().collect();
    // brat reads documents with Python's `utf-8` codec, which keeps a
    // byte-order mark as character 0: `.ann` offsets count it. It stays as a
    // blank position, so those offsets still land and sentence trimming drops it.
    if chars.first() == Some(&BOM) {
        chars[0] = ' ';
    }
    let ann = txt.with_extension("ann");
    let spans = read_annotations(&ann, &chars, options.skip_invalid_spans, &mut corpus.warnings)?;
    for (n, (text, entities)) in split_sentences(&chars, spans).into_iter().enumerate() {
        let mut sentence = sentence(format!("{doc_id}:{}", n + 1), text, entities);
        sentence.doc = Some(doc_id.to_string());
        corpus.sentences.push(sentence);
    }
    Ok(())
}

/// A `T` annotation as written: one span per fragment.
struct TextBound {
    id: String,
    label: String,
    fragments: Vec<(usize, usize)>,
    surface: String,
}

/// The entities of a `.ann` file as spans of the document. An entity that
/// cannot be placed in the text (outside it, or only whitespace) is an error
/// naming the line, or, with `skip_invalid`, dropped with a warning (real data
/// has one that runs past the end of its document).
fn read_annotations(
    ann: &Path,
    chars: &[char],
    skip_invalid: bool,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Span>> {
    let mut spans = Vec::new();
    for (line, record) in records(&read_lines(ann)?) {
        if !record.starts_with('T') {
            continue;
        }
        let entity = parse_text_bound(ann, line, &record)?;
        let mut warn = |message: String| {
            warnings.push(Warning {
                location: format!("{}:{line}", ann.display()),
                message,
            });
        };
        let placed: std::result::Result<Vec<_>, String> = entity
            .fragments
            .iter()
            .map(|&(start, end)| checked_span(chars, start, end, entity.label.clone()))
            .collect();
        let placed = match placed {
            Ok(placed) => placed,
            Err(problem) if skip_invalid => {
                warn(format!("{}: {problem}; dropped", entity.id));
                continue;
            }
            Err(problem) => {
                let hint =
                    "fix the offsets, or pass --skip-invalid-spans to drop such entities with a warning";
                return Err(Error::corpus_at(
                    ann,
                    line,
                    format!("{}: {problem}; {hint}", entity.id),
                ));
            }
        };
        // BRAT writes the text of a discontinuous entity as its fragments joined by spaces.
        let slices: Vec<String> = entity
            .fragments
            .iter()
            .map(|&(s, e)| chars[s..e].iter().collect())
            .collect();
        let slice = slices.join(" ");
        if slice != entity.surface {
            warn(format!(
                "{}: text '{}' differs from the document's '{slice}'; kept the offsets",
                entity.id, entity.surface
            ));
        }
        if placed.len() > 1 {
            warn(format!(
                "discontinuous entity {} kept as {} fragments",
                entity.id,
                placed.len()
            ));
        }
        for (span, note) in placed {
            if let Some(note) = note {
                warn(format!("{}: {note}", entity.id));
            }
            spans.push(span);
        }
    }
    Ok(spans)
}

/// Annotation records with the line they start on. A line that does not start
/// with an ID continues the previous record's text (an entity text with line
/// breaks is written over several lines); blank lines are skipped.
fn records(lines: &[String]) -> Vec<(usize, String)> {
    let mut records: Vec<(usize, String)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match records.last_mut() {
            _ if line.trim().is_empty() => {}
            Some((_, record)) if !starts_with_id(line) => {
                record.push('\n');
                record.push_str(line);
            }
            _ => records.push((i + 1, line.clone())),
        }
    }
    records
}

/// IDs are a letter or `#` followed by digits (`T12`, `R3`, `#1`), or `*`.
fn starts_with_id(line: &str) -> bool {
    let id = line.split('\t').next().unwrap_or_default();
    let mut chars = id.chars();
    match chars.next() {
        Some('*') => id.len() == 1,
        Some(c) if c.is_ascii_alphabetic() || c == '#' => {
            let digits = chars.as_str();
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

/// Parses `T<id>\t<Type> <start> <end>[;<start> <end>...]\t<text>`.
fn parse_text_bound(ann: &Path, line: usize, record: &str) -> Result<TextBound> {
    let malformed = || Error::corpus_at(ann, line, "expected 'T<id>\\t<Type> <start> <end>\\t<text>'");
    let mut fields = record.splitn(3, '\t');
    let id = fields.next().unwrap_or_default().to_string();
    let (label, offsets) = fields
        .next()
        .and_then(|f| f.split_once(' '))
        .ok_or_else(malformed)?;
    let fragments = offsets
        .split(';')
        .map(parse_fragment)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(malformed)?;
    check_type_name(label).map_err(|problem| Error::corpus_at(ann, line, format!("{id}: {problem}")))?;
    let surface = fields.next().unwrap_or_default().to_string();
    Ok(TextBound {
        id,
        label: label.to_string(),
        fragments,
        surface,
    })
}

/// `<start> <end>`.
fn parse_fragment(fragment: &str) -> Option<(usize, usize)> {
    let (start, end) = fragment.trim().split_once(' ')?;
    Some((start.parse().ok()?, end.trim_start().parse().ok()?))
}

/// Where sentences may end, as character positions: at every line break, and
/// after `.`, `?` or `!` followed by whitespace and an uppercase letter or a
/// digit, unless the full stop ends an abbreviation.
fn sentence_cuts(chars: &[char]) -> Vec<usize> {
    let ends_sentence = |i: usize| {
        let rest = &chars[i + 1..];
        let next = rest.iter().position(|c| !c.is_whitespace());
        let starts_anew =
            matches!(next, Some(k) if k > 0 && (rest[k].is_uppercase() || rest[k].is_numeric()));
        starts_anew && !(chars[i] == '.' && is_abbreviation(&chars[..i]))
    };
    (0..chars.len())
        .filter_map(|i| match chars[i] {
            '\n' | '\r' => Some(i),
            '.' | '?' | '!' if ends_sentence(i) => Some(i + 1),
            _ => None,
        })
        .collect()
}

/// Whether the word just before a full stop is in [`ABBREVIATIONS`].
fn is_abbreviation(before: &[char]) -> bool {
    let length = before
        .iter()
        .rev()
        .take_while(|c| c.is_alphanumeric() || **c == '.')
        .count();
    let word: String = before[before.len() - length..].iter().collect();
    ABBREVIATIONS.contains(&word.as_str())
}

/// Splits a document into trimmed, non-empty sentences with their entities
/// re-based; a cut that would fall inside an entity is not made.
fn split_sentences(chars: &[char], mut spans: Vec<Span>) -> Vec<(String, Vec<Span>)> {
    let mut inside = vec![false; chars.len() + 1];
    for span in &spans {
        inside[span.start + 1..span.end].fill(true);
    }
    let mut bounds = vec![0];
    bounds.extend(sentence_cuts(chars).into_iter().filter(|&cut| !inside[cut]));
    bounds.push(chars.len());
    spans.sort_by_key(|span| span.start);
    let mut sentences = Vec::new();
    for pair in bounds.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let Some((start, end)) = trim_span(chars, from, to) else {
            continue;
        };
        // No cut falls inside an entity, so an entity starting here ends here too.
        let first = spans.partition_point(|span| span.start < from);
        let last = spans.partition_point(|span| span.start < to);
        let entities = spans[first..last]
            .iter()
            .map(|span| Span {
                start: span.start - start,
                end: span.end - start,
                label: span.label.clone(),
            })
            .collect();
        sentences.push((chars[start..end].iter().collect(), entities));
    }
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Sentence;

    /// Writes `files` (relative path, content) under a fresh directory.
    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        dir
    }

    fn texts(corpus: &Corpus) -> Vec<&str> {
        corpus.sentences.iter().map(|s| s.text.as_str()).collect()
    }

    fn entities(sentence: &Sentence) -> Vec<(&str, &str)> {
        sentence
            .entities
            .iter()
            .map(|e| (sentence.span_text(e), e.label.as_str()))
            .collect()
    }

    fn split(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        split_sentences(&chars, Vec::new())
            .into_iter()
            .map(|(text, _)| text)
            .collect()
    }

    #[test]
    fn splits_sentences_by_rule() {
        assert_eq!(
            split("Seen by Dr. Smith (see Fig. 2). Fever, i.e. 39 C! Why? 3 days ago.\nWBC 12\r\n\nvs. placebo. ok"),
            ["Seen by Dr. Smith (see Fig. 2).", "Fever, i.e. 39 C!", "Why?", "3 days ago.", "WBC 12", "vs. placebo. ok"]
        );
        assert_eq!(
            split("pH 7.4 was normal. Étienne came."),
            ["pH 7.4 was normal.", "Étienne came."]
        );
        assert!(split(" \n\n ").is_empty());
    }

    #[test]
    fn reads_documents_into_sentences() {
        let text = "A 45-year-old man has fever. He denies chest pain.\nTemperature 39 C";
        let ann = "T1\tAge_Group 2 13\t45-year-old\nT2\tSign_or_Symptom 22 27\tfever\n\
                   R1\tRelated Arg1:T1 Arg2:T2\n#1\tAnnotatorNotes T1\tnote\n\
                   T3\tNo_Symptom_Occurence 39 49\tchest pain\nT4\tFinding 51 65\tTemperature 39\nA1\tNeg T3\n";
        let dir = tree(&[("case_1.txt", text), ("case_1.ann", ann)]);
        let corpus = read(dir.path(), &ReadOptions::default()).unwrap();
        assert_eq!(
            texts(&corpus),
            [
                "A 45-year-old man has fever.",
                "He denies chest pain.",
                "Temperature 39 C"
            ]
        );
        let ids: Vec<_> = corpus.sentences.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["case_1.txt:1", "case_1.txt:2", "case_1.txt:3"]);
        assert_eq!(
            entities(&corpus.sentences[0]),
            [("45-year-old", "Age_Group"), ("fever", "Sign_or_Symptom")]
        );
        assert_eq!(
            entities(&corpus.sentences[1]),
            [("chest pain", "No_Symptom_Occurence")]
        );
        assert_eq!(entities(&corpus.sentences[2]), [("Temperature 39", "Finding")]);
        assert!(corpus.warnings.is_empty(), "{:?}", corpus.warnings);
        let single = read(&dir.path().join("case_1.txt"), &ReadOptions::default()).unwrap();
        assert_eq!(single.sentences, corpus.sentences);
    }

    #[test]
    fn does_not_split_inside_an_entity() {
        let text = "Pain in the R. Shoulder. Fever\nspikes noted. Done.";
        let ann = "T1\tLocation 8 23\tthe R. Shoulder\nT2\tSign_or_Symptom 25 37\tFever\nspikes\n";
        let corpus = read(
            tree(&[("d.txt", text), ("d.ann", ann)]).path(),
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(
            texts(&corpus),
            ["Pain in the R. Shoulder.", "Fever\nspikes noted.", "Done."]
        );
        assert_eq!(
            entities(&corpus.sentences[1]),
            [("Fever\nspikes", "Sign_or_Symptom")]
        );
        assert!(corpus.warnings.is_empty(), "{:?}", corpus.warnings);
    }

    #[test]
    fn ids_keep_the_folder_and_walk_in_order() {
        let dir = tree(&[
            ("b2/case_35.txt", "Two."),
            ("b2/case_35.ann", ""),
            ("b1/case_35.txt", "One. Two"),
            ("b1/case_35.ann", ""),
            ("b1/orphan.txt", "No annotations"),
            ("b1/notes.md", "ignored"),
        ]);
        let corpus = read(dir.path(), &ReadOptions::default()).unwrap();
        let ids: Vec<_> = corpus.sentences.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["b1/case_35.txt:1", "b1/case_35.txt:2", "b2/case_35.txt:1"]);
        assert_eq!(corpus.warnings.len(), 1);
        assert!(corpus.warnings[0].location.ends_with("orphan.txt"));
    }

    #[test]
    fn splits_tokens_at_entity_boundaries() {
        let dir = tree(&[("d.txt", "HbA1c raised"), ("d.ann", "T1\tFinding 0 3\tHbA\n")]);
        let corpus = read(dir.path(), &ReadOptions::default()).unwrap();
        let sentence = &corpus.sentences[0];
        assert_eq!(sentence.tokens.len(), 3);
        assert_eq!(sentence.tokens[0], crate::corpus::Token { start: 0, end: 3 });
    }

    #[test]
    fn keeps_discontinuous_fragments_with_one_warning() {
        let text = "Bilirubin\nTotal 15 mg/dL\nDirect 2 mg/dL";
        let ann = "T12\tFinding 0 9;10 24\tBilirubin Total 15 mg/dL\n";
        let corpus = read(
            tree(&[("d.txt", text), ("d.ann", ann)]).path(),
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(corpus.counts_per_type()["Finding"], 2);
        assert_eq!(corpus.warnings.len(), 1);
        assert!(corpus.warnings[0].location.ends_with("d.ann:1"));
        assert_eq!(
            corpus.warnings[0].message,
            "discontinuous entity T12 kept as 2 fragments"
        );
    }

    #[test]
    fn misplaced_entities_are_errors_unless_skipped() {
        let ann = "T1\tFinding 0 4\tcolapse\nT2\tFinding 5 99\tlung\nT3\tFinding 4 5\t \n";
        let dir = tree(&[("d.txt", "lung lung"), ("d.ann", ann)]);
        let message = read(dir.path(), &ReadOptions::default()).unwrap_err().to_string();
        assert!(
            message.contains("d.ann:2") && message.contains("--skip-invalid-spans"),
            "{message}"
        );
        let lenient = ReadOptions {
            skip_invalid_spans: true,
            ..ReadOptions::default()
        };
        let corpus = read(dir.path(), &lenient).unwrap();
        assert_eq!(entities(&corpus.sentences[0]), [("lung", "Finding")]);
        let warnings: Vec<_> = corpus
            .warnings
            .iter()
            .map(|w| format!("{} {}", w.location, w.message))
            .collect();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("d.ann:1") && warnings[0].contains("differs"));
        assert!(warnings[1].contains("d.ann:2") && warnings[1].contains("dropped"));
        assert!(warnings[2].contains("d.ann:3") && warnings[2].contains("whitespace"));
    }

    #[test]
    fn multi_line_entity_text_continues_the_record() {
        let ann = "T1\tFinding 0 11\tHb 14\nWBC 9\n\nT2\tFinding 12 16\tgood\n";
        let corpus = read(
            tree(&[("d.txt", "Hb 14\nWBC 9 good"), ("d.ann", ann)]).path(),
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(corpus.counts_per_type()["Finding"], 2);
        assert!(corpus.warnings.is_empty(), "{:?}", corpus.warnings);
    }

    #[test]
    fn malformed_annotations_name_file_and_line() {
        for bad in [
            "T3\tFinding 1\tx",
            "T3\tFinding a b\tx",
            "T3\tFinding\tx",
            "T3\tFinding 1 2;3\tx",
        ] {
            let ann = format!("T1\tFinding 0 1\tx\n#1\tAnnotatorNotes T1\tnote\n{bad}\n");
            let dir = tree(&[("d.txt", "x y z"), ("d.ann", &ann)]);
            let message = read(dir.path(), &ReadOptions::default()).unwrap_err().to_string();
            assert!(message.contains("d.ann:3:"), "{bad}: {message}");
        }
    }

    #[test]
    fn empty_entity_types_are_refused_with_file_and_line() {
        let dir = tree(&[("d.txt", "x y z"), ("d.ann", "T1\tFinding 0 1\tx\nT2\t 2 3\ty\n")]);
        let message = read(dir.path(), &ReadOptions::default()).unwrap_err().to_string();
        assert!(
            message.contains("d.ann:2:") && message.contains("T2: empty entity type"),
            "{message}"
        );
    }

    #[test]
    fn byte_order_marks_are_counted_by_offsets_but_not_text() {
        // brat counts the mark of the .txt as character 0; the .ann's own mark is dropped.
        let dir = tree(&[
            ("d.txt", "\u{feff}Fever and cough."),
            ("d.ann", "\u{feff}T1\tSign 1 6\tFever\n"),
        ]);
        let corpus = read(dir.path(), &ReadOptions::default()).unwrap();
        let sentence = &corpus.sentences[0];
        assert_eq!(sentence.text, "Fever and cough.");
        assert_eq!(entities(sentence), [("Fever", "Sign")]);
        assert!(corpus.warnings.is_empty(), "{:?}", corpus.warnings);
    }

    #[test]
    fn invalid_utf8_names_file_and_line() {
        let dir = tree(&[("d.txt", "x"), ("d.ann", "")]);
        std::fs::write(dir.path().join("d.ann"), b"T1\tX 0 1\tx\nT2\tX 0 1\t\xff\n").unwrap();
        let message = read(dir.path(), &ReadOptions::default()).unwrap_err().to_string();
        assert!(message.contains("d.ann:2:"), "{message}");
    }

    #[test]
    fn empty_inputs_give_no_sentences() {
        assert!(read(tempfile::tempdir().unwrap().path(), &ReadOptions::default())
            .unwrap()
            .sentences
            .is_empty());
        let dir = tree(&[("d.txt", " \n"), ("d.ann", "")]);
        assert!(read(dir.path(), &ReadOptions::default())
            .unwrap()
            .sentences
            .is_empty());
    }

    #[test]
    fn bad_paths_are_errors() {
        let dir = tree(&[("d.ann", ""), ("e.txt", "no ann")]);
        assert!(read(&dir.path().join("d.ann"), &ReadOptions::default())
            .unwrap_err()
            .to_string()
            .contains("d.ann"));
        assert!(read(&dir.path().join("e.txt"), &ReadOptions::default())
            .unwrap_err()
            .to_string()
            .contains("e.ann"));
        assert!(matches!(
            read(&dir.path().join("gone"), &ReadOptions::default()),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn reads_medqa_usmle_symp() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/medqa-usmle-symp");
        if !root.is_dir() {
            println!("skipped: {} is absent", root.display());
            return;
        }
        let strict = read(&root, &ReadOptions::default()).unwrap_err().to_string();
        assert!(strict.contains("case_1051.ann:30"), "{strict}");
        let lenient = ReadOptions {
            skip_invalid_spans: true,
            ..ReadOptions::default()
        };
        let corpus = read(&root, &lenient).unwrap();
        let documents: std::collections::BTreeSet<_> = corpus
            .sentences
            .iter()
            .filter_map(|s| s.id.rsplit_once(':'))
            .map(|(doc, _)| doc)
            .collect();
        assert_eq!(documents.len(), 300);
        assert!(documents.contains("batch2/case_35.txt") && documents.contains("batch3/case_35.txt"));
        // 5,534 T entities: 3 discontinuous ones give 8 spans, and batch2/case_1051
        // T31 (0..1431 in a text of 1,208 characters) is dropped.
        assert_eq!(
            corpus.counts_per_type().values().sum::<usize>(),
            5_534 - 3 + 8 - 1
        );
        let count = |what: &str| {
            corpus
                .warnings
                .iter()
                .filter(|w| w.message.contains(what))
                .count()
        };
        assert_eq!(
            (count("discontinuous"), count("differs"), count("dropped")),
            (3, 2, 1),
            "{:?}",
            corpus.warnings
        );
        assert_eq!(corpus.warnings.len(), 6);
        // Every entity's text is the document's text at its offsets: compare with
        // the surface text of the single-line, single-fragment T lines.
        let mut expected = std::collections::BTreeMap::new();
        for doc in &documents {
            let ann = std::fs::read_to_string(root.join(doc).with_extension("ann")).unwrap();
            for line in ann.lines().filter(|l| l.starts_with('T')) {
                let fields: Vec<_> = line.split('\t').collect();
                if fields.len() != 3 {
                    continue; // a continuation line
                }
                let (label, offsets) = fields[1].split_once(' ').unwrap();
                if !offsets.contains(';') {
                    *expected
                        .entry((doc.to_string(), label.to_string(), fields[2].to_string()))
                        .or_insert(0) += 1;
                }
            }
        }
        for sentence in &corpus.sentences {
            let doc = sentence.id.rsplit_once(':').unwrap().0;
            for span in &sentence.entities {
                let key = (
                    doc.to_string(),
                    span.label.clone(),
                    sentence.span_text(span).to_string(),
                );
                if let Some(n) = expected.get_mut(&key) {
                    *n -= 1;
                }
            }
        }
        let unmatched: Vec<_> = expected.iter().filter(|(_, &n)| n != 0).collect();
        // The two known surface mismatches and the dropped T31.
        assert_eq!(unmatched.len(), 3, "{unmatched:?}");
    }
}
