//! CoNLL-style files: one `token<TAB>tag` line per token (more columns are
//! allowed: the first is the token, the last the tag), a blank line between
//! sentences; a `-DOCSTART-` line starts a document (sentences after the
//! n-th belong to document `{file_name}#n`, those before any to none). Tags are IOB2 or BIOES (`L-`/`U-`
//! accepted for `E-`/`S-`), or IOB1 when the user says so. Predicted tags can
//! be read as seqeval reads them by default ([`read_repairing`]): models write
//! `I-` after `O`, and refusing the file would score nothing.

use std::path::Path;

use super::text::{file_name, read_lines};
use super::{check_type_name, Corpus, ReadOptions, Sentence, Span, TagScheme, Token};
use crate::error::{Error, Result};

/// Reads a CoNLL file; sentence ids are `{file_name}:{n}`, n counting sentences from 1.
pub fn read(path: &Path, options: &ReadOptions) -> Result<Corpus> {
    read_tags(path, options, false).map(|(corpus, _)| corpus)
}

/// Reads a CoNLL file as [`read`] does, except that under [`TagScheme::Auto`]
/// an `I-` or `E-` tag that continues no entity (after `O`, after another
/// type, at the start of a sentence) opens one instead of being an error, as
/// in seqeval's default mode. Returns the corpus and the number of tags so
/// repaired (none under [`TagScheme::Iob1`], where that is the scheme).
pub fn read_repairing(path: &Path, options: &ReadOptions) -> Result<(Corpus, usize)> {
    read_tags(path, options, true)
}

fn read_tags(path: &Path, options: &ReadOptions, repair: bool) -> Result<(Corpus, usize)> {
    let name = file_name(path);
    let lines = read_lines(path)?;
    let numbered: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i + 1, l.as_str()))
        .collect();
    let doc_starts: Vec<usize> = numbered
        .iter()
        .filter(|(_, line)| is_doc_start(line))
        .map(|&(n, _)| n)
        .collect();
    let mut sentences = Vec::new();
    let mut repaired = 0;
    for block in numbered
        .split(|(_, line)| is_separator(line))
        .filter(|b| !b.is_empty())
    {
        let rows = block
            .iter()
            .map(|&(n, line)| parse_row(path, n, line))
            .collect::<Result<Vec<_>>>()?;
        let id = format!("{name}:{}", sentences.len() + 1);
        let (entities, repairs) = decode(path, &rows, options.scheme, repair)?;
        repaired += repairs;
        let mut sentence = build_sentence(id, &rows, entities);
        let docs_before = doc_starts.partition_point(|&start| start < rows[0].line);
        sentence.doc = (docs_before > 0).then(|| format!("{name}#{docs_before}"));
        sentences.push(sentence);
    }
    let corpus = Corpus {
        sentences,
        warnings: Vec::new(),
    };
    Ok((corpus, repaired))
}

/// One token line.
struct Row<'a> {
    line: usize,
    token: &'a str,
    tag: &'a str,
}

/// What a non-`O` tag says: whether it starts a new entity, whether the
/// entity ends with this token, and the entity type.
struct Tag<'a> {
    opens: bool,
    closes: bool,
    label: &'a str,
}

fn is_separator(line: &str) -> bool {
    line.trim().is_empty() || is_doc_start(line)
}

fn is_doc_start(line: &str) -> bool {
    line.trim_start().starts_with("-DOCSTART-")
}

fn parse_row<'a>(path: &Path, line: usize, text: &'a str) -> Result<Row<'a>> {
    let mut fields = text.split_whitespace();
    let token = fields.next().unwrap_or_default();
    let tag = fields
        .last()
        .ok_or_else(|| bad_line(path, line, &format!("'{token}' has no tag")))?;
    Ok(Row { line, token, tag })
}

fn parse_tag(tag: &str) -> Option<Tag<'_>> {
    let (prefix, label) = tag.split_once('-')?;
    let (opens, closes) = match prefix {
        "B" => (true, false),
        "I" => (false, false),
        "E" | "L" => (false, true),
        "S" | "U" => (true, true),
        _ => return None,
    };
    check_type_name(label)
        .is_ok()
        .then_some(Tag { opens, closes, label })
}

fn bad_line(path: &Path, line: usize, problem: &str) -> Error {
    Error::corpus_at(path, line, format!("{problem}; expected 'token<TAB>tag'"))
}

/// Entities of one sentence as token ranges `(first, end, type)`.
type Decoded<'a> = Vec<(usize, usize, &'a str)>;

/// Turns the tags of one sentence into entities, with the number of tags
/// repaired (`repair`: an `I-`/`E-` continuing nothing opens an entity).
fn decode<'a>(
    path: &Path,
    rows: &[Row<'a>],
    scheme: TagScheme,
    repair: bool,
) -> Result<(Decoded<'a>, usize)> {
    let mut entities = Vec::new();
    let mut repaired = 0;
    let mut open: Option<(usize, &str)> = None;
    let mut close = |open: &mut Option<(usize, &'a str)>, end: usize| {
        if let Some((start, label)) = open.take() {
            entities.push((start, end, label));
        }
    };
    for (i, row) in rows.iter().enumerate() {
        if row.tag == "O" {
            close(&mut open, i);
            continue;
        }
        let unknown = format!("unknown tag '{}' (use O, B-, I-, E-, S-, L- or U-)", row.tag);
        let tag = parse_tag(row.tag).ok_or_else(|| bad_line(path, row.line, &unknown))?;
        let continues = matches!(open, Some((_, label)) if label == tag.label);
        if !tag.opens && !continues && scheme == TagScheme::Auto {
            if !repair {
                let message = format!(
                    "tag '{}' does not continue an entity of type {} (for IOB1 files use --scheme iob1)",
                    row.tag, tag.label
                );
                return Err(Error::corpus_at(path, row.line, message));
            }
            repaired += 1;
        }
        // Under IOB1, or repairing, an I- or E- that continues nothing starts an entity.
        if tag.opens || !continues {
            close(&mut open, i);
            open = Some((i, tag.label));
        }
        if tag.closes {
            close(&mut open, i + 1);
        }
    }
    close(&mut open, rows.len());
    Ok((entities, repaired))
}

/// The sentence text is the tokens joined by single spaces.
fn build_sentence(id: String, rows: &[Row], entities: Decoded) -> Sentence {
    let mut text = String::new();
    let mut tokens = Vec::with_capacity(rows.len());
    for row in rows {
        if !text.is_empty() {
            text.push(' ');
        }
        let start = tokens.last().map_or(0, |t: &Token| t.end + 1);
        text.push_str(row.token);
        tokens.push(Token {
            start,
            end: start + row.token.chars().count(),
        });
    }
    let entities = entities
        .into_iter()
        .map(|(first, last, label)| Span {
            start: tokens[first].start,
            end: tokens[last - 1].end,
            label: label.to_string(),
        })
        .collect();
    Sentence {
        id,
        text,
        tokens,
        entities,
        doc: None,
        meta: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::text::tests::temp_file;
    use proptest::prelude::*;

    fn read_str(content: &str, scheme: TagScheme) -> Result<Corpus> {
        let (_dir, path) = temp_file("train.tsv", content.as_bytes());
        read(
            &path,
            &ReadOptions {
                scheme,
                ..ReadOptions::default()
            },
        )
    }

    fn entities(sentence: &Sentence) -> Vec<(&str, &str)> {
        sentence
            .entities
            .iter()
            .map(|e| (sentence.span_text(e), e.label.as_str()))
            .collect()
    }

    fn error(content: &str, scheme: TagScheme) -> String {
        read_str(content, scheme).unwrap_err().to_string()
    }

    #[test]
    fn reads_iob2_sentences() {
        let content =
            "-DOCSTART-\tO\n\nFamilial\tB-Disease\nbreast\tI-Disease\ncancer\tI-Disease\n.\tO\n\n\n\
                       Aspirin\tPOS\tB-Chemical\nhelps\tO\nß-thal\tB-Disease\n";
        let corpus = read_str(content, TagScheme::Auto).unwrap();
        let [first, second] = &corpus.sentences[..] else {
            panic!("{:?}", corpus.sentences)
        };
        assert_eq!(first.id, "train.tsv:1");
        assert_eq!(first.text, "Familial breast cancer .");
        assert_eq!(first.tokens[3], Token { start: 23, end: 24 });
        assert_eq!(entities(first), [("Familial breast cancer", "Disease")]);
        assert_eq!(second.id, "train.tsv:2");
        assert_eq!(entities(second), [("Aspirin", "Chemical"), ("ß-thal", "Disease")]);
        assert_eq!(
            second.entities[1],
            Span {
                start: 14,
                end: 20,
                label: "Disease".into()
            }
        );
        assert!(corpus.warnings.is_empty());
    }

    #[test]
    fn reads_bioes_and_bilou() {
        let content = "a\tS-X\nb\tB-X\nc\tI-X\nd\tE-X\ne\tU-Y\nf\tB-Y\ng\tL-Y\nh\tB-X\ni\tB-X\n";
        let corpus = read_str(content, TagScheme::Auto).unwrap();
        assert_eq!(
            entities(&corpus.sentences[0]),
            [
                ("a", "X"),
                ("b c d", "X"),
                ("e", "Y"),
                ("f g", "Y"),
                ("h", "X"),
                ("i", "X")
            ]
        );
    }

    #[test]
    fn reads_iob1_only_when_asked() {
        let content = "x\tO\nIL\tI-Gene\n2\tI-Gene\np53\tI-Protein\nmdm2\tB-Protein\n";
        let message = error(content, TagScheme::Auto);
        assert!(
            message.contains("train.tsv:2:") && message.contains("--scheme iob1"),
            "{message}"
        );
        let corpus = read_str(content, TagScheme::Iob1).unwrap();
        assert_eq!(
            entities(&corpus.sentences[0]),
            [("IL 2", "Gene"), ("p53", "Protein"), ("mdm2", "Protein")]
        );
        assert!(corpus.warnings.is_empty());
    }

    #[test]
    fn repairing_opens_an_entity_where_a_tag_continues_none() {
        // I- after O, I- after another type, E- after a closed entity, I- first.
        let content =
            "x\tO\nIL\tI-Gene\n2\tI-Gene\np53\tI-Protein\nmdm2\tS-Protein\nup\tE-Protein\n\nz\tI-Gene\n";
        let (_dir, path) = temp_file("pred.tsv", content.as_bytes());
        let (corpus, repaired) = read_repairing(&path, &ReadOptions::default()).unwrap();
        assert_eq!(repaired, 4);
        assert_eq!(
            entities(&corpus.sentences[0]),
            [
                ("IL 2", "Gene"),
                ("p53", "Protein"),
                ("mdm2", "Protein"),
                ("up", "Protein")
            ]
        );
        assert_eq!(entities(&corpus.sentences[1]), [("z", "Gene")]);
        // IOB1 reads the same entities, and nothing is a repair there.
        let iob1 = ReadOptions {
            scheme: TagScheme::Iob1,
            ..ReadOptions::default()
        };
        let (same, none) = read_repairing(&path, &iob1).unwrap();
        assert_eq!((same.sentences, none), (corpus.sentences, 0));
        // Valid IOB2 needs no repair.
        let (_dir, path) = temp_file("gold.tsv", b"a\tB-X\nb\tI-X\nc\tO\n");
        assert_eq!(read_repairing(&path, &ReadOptions::default()).unwrap().1, 0);
    }

    #[test]
    fn end_tag_of_another_type_is_an_error() {
        let message = error("a\tB-X\nb\tE-Y\n", TagScheme::Auto);
        assert!(
            message.contains("train.tsv:2:") && message.contains("--scheme iob1"),
            "{message}"
        );
    }

    #[test]
    fn handles_crlf() {
        let corpus = read_str("a\tB-X\r\nb\tI-X\r\n\r\nc\tO\r\n", TagScheme::Auto).unwrap();
        assert_eq!(corpus.sentences.len(), 2);
        assert_eq!(entities(&corpus.sentences[0]), [("a b", "X")]);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        for (content, line) in [
            ("a\tO\nb\n", 2),
            ("a\tO\n\nb\tB_X\n", 3),
            ("a\tX-Y\n", 1),
            ("a\tB-\n", 1),
        ] {
            let message = error(content, TagScheme::Auto);
            assert!(
                message.contains(&format!("train.tsv:{line}:"))
                    && message.contains("expected 'token<TAB>tag'"),
                "{content:?}: {message}"
            );
        }
    }

    #[test]
    fn invalid_utf8_names_file_and_line() {
        let (_dir, path) = temp_file("train.tsv", b"a\tO\n\n\xc3(\tO\n");
        let message = read(&path, &ReadOptions::default()).unwrap_err().to_string();
        assert!(message.contains("train.tsv:3:"), "{message}");
    }

    #[test]
    fn docstart_lines_number_the_documents() {
        let content = "a\tO\n\n-DOCSTART- -X- O O\n\nb\tO\n\nc\tO\n-DOCSTART-\td\tO\n\nd\tO\n";
        let corpus = read_str(content, TagScheme::Auto).unwrap();
        let docs: Vec<Option<&str>> = corpus.sentences.iter().map(|s| s.doc.as_deref()).collect();
        assert_eq!(docs, [None, Some("train.tsv#1"), Some("train.tsv#1"), Some("train.tsv#2")]);
        let texts: Vec<&str> = corpus.sentences.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c", "d"]);
    }

    #[test]
    fn empty_file_gives_no_sentences() {
        assert!(read_str("", TagScheme::Auto).unwrap().sentences.is_empty());
        assert!(read_str("\n-DOCSTART- -X- O O\n\n", TagScheme::Auto)
            .unwrap()
            .sentences
            .is_empty());
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let error = read(Path::new("/no/such/train.tsv"), &ReadOptions::default()).unwrap_err();
        assert!(matches!(error, Error::Io { .. }) && error.to_string().contains("/no/such/train.tsv"));
    }

    proptest! {
        #[test]
        fn spans_cover_the_tokens_they_tag(
            rows in prop::collection::vec(("[^\\s\u{feff}]{1,5}", "O|[BIESUL]-(A|B)"), 1..30),
            strict in any::<bool>(),
        ) {
            let content: String = rows.iter().map(|(token, tag)| format!("{token}\t{tag}\n")).collect();
            let scheme = if strict { TagScheme::Auto } else { TagScheme::Iob1 };
            let corpus = match read_str(&content, scheme) {
                Err(e) if strict => { prop_assert!(e.to_string().contains("--scheme iob1")); return Ok(()); }
                result => result.unwrap(),
            };
            let tokens: Vec<&str> = rows.iter().map(|(token, _)| token.as_str()).collect();
            prop_assert_eq!(corpus.sentences.len(), 1);
            let sentence = &corpus.sentences[0];
            for span in &sentence.entities {
                let first = sentence.tokens.iter().position(|t| t.start == span.start);
                let last = sentence.tokens.iter().position(|t| t.end == span.end);
                prop_assert!(first.is_some() && last.is_some(), "{span:?} not on token boundaries");
                let (first, last) = (first.unwrap(), last.unwrap());
                prop_assert_eq!(sentence.span_text(span), tokens[first..=last].join(" "));
            }
        }
    }

    #[test]
    fn reads_the_shared_corpora() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        if !root.is_dir() {
            println!("skipped: {} is absent", root.display());
            return;
        }
        // (file, sentences, per-type mention counts) from the corpora's READMEs.
        let expected = [
            ("ncbi-disease/train.tsv", 5_424, vec![("Disease", 5_134)]),
            ("ncbi-disease/test.tsv", 940, vec![("Disease", 960)]),
            (
                "bc5cdr/train.tsv",
                4_560,
                vec![("Chemical", 5_203), ("Disease", 4_182)],
            ),
            (
                "bionlp13cg/devel.tsv",
                1_003,
                vec![("Gene_or_gene_product", 1_360), ("Cell", 540)],
            ),
        ];
        for (file, sentences, counts) in expected {
            let corpus = read(&root.join(file), &ReadOptions::default()).unwrap();
            assert_eq!(corpus.sentences.len(), sentences, "{file}");
            let per_type = corpus.counts_per_type();
            for (label, count) in counts {
                assert_eq!(per_type.get(label), Some(&count), "{file} {label}");
            }
        }
        let bionlp = read(&root.join("bionlp13cg/train.tsv"), &ReadOptions::default()).unwrap();
        assert_eq!(bionlp.counts_per_type().len(), 16);
        assert_eq!(bionlp.counts_per_type().values().sum::<usize>(), 10_826);
    }
}
