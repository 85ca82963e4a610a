//! A reader of the OBO 1.4 flat file format, for what hints need.
//!
//! Read: the header's `data-version` (the version), `remark` and the
//! licence and title `property_value`s (the notice shown where the terms are
//! used), and in each `[Term]` stanza `id`, `name`, `synonym "…" SCOPE [type] […]`,
//! `def "…" […]`, `is_a` and `is_obsolete`. Other tags and stanzas
//! (`[Typedef]`, `[Instance]`) are passed over; obsolete terms and synonyms
//! typed `obsolete_synonym` are left out. Quoted strings take OBO's escapes
//! (`\"`, `\\`, `\n`, `\t`, any other `\x` is `x`); an unquoted value ends at
//! an unescaped `!` (a comment).
//!
//! A term's category is the name of its top-level branch, reached through its
//! first `is_a` parent at each step (for a term below HPO's `Phenotypic
//! abnormality`, HP:0000118, its first parent below it): the ancestor just
//! below a root or, below `Phenotypic abnormality`, the one below that (the
//! organ system: `Abnormality of the nervous system`). A root is its own
//! category. The `hpo` source keeps only the terms below `Phenotypic
//! abnormality` ([`HPO_FINDINGS`]): HPO's other branches (onset, severity,
//! frequency, inheritance, history) describe findings, and their names
//! (`severe`, `onset`, `affected`, `frequency`) would be hints about nothing.
//!
//! A line that is not `tag: value`, a stanza header without its `]`, a
//! `[Term]` without an `id` or a `name`, an id given twice, and a `def` or
//! `synonym` without its closing quote are errors naming the file and line.
//! (fastobo, the OBO crate, was not used: it parses the whole OBO grammar
//! with pest into a full syntax tree, far more than hints need, and refuses
//! files that real ontologies ship with small deviations.)

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::{SourceInfo, Term, TermList};
use crate::digest::sha256_hex;
use crate::error::{Error, Result};

/// HPO's `Phenotypic abnormality`: its children are the organ systems, the
/// categories its terms are given.
const PHENOTYPIC_ABNORMALITY: &str = "HP:0000118";

/// Ancestors followed at most (a cycle in a broken file ends there).
const MAX_DEPTH: usize = 64;

/// HPO's `Phenotypic abnormality`, whose terms are findings (the rest of
/// HPO describes them: onset, severity, frequency, inheritance, history).
pub const HPO_FINDINGS: &str = PHENOTYPIC_ABNORMALITY;

/// Reads an OBO file as a source named `name`; with `within`, only the terms
/// below that term (e.g. [`HPO_FINDINGS`]).
pub fn read(path: &Path, name: &str, within: Option<&str>) -> Result<TermList> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text =
        std::str::from_utf8(&bytes).map_err(|e| Error::corpus(path, format!("not UTF-8 text: {e}")))?;
    let ontology = parse(text).map_err(|(line, message)| Error::corpus_at(path, line, message))?;
    let info = SourceInfo {
        name: name.to_string(),
        title: ontology.header.title.clone(),
        version: ontology.header.version.clone(),
        licence: ontology.header.licence(),
        origin: path.display().to_string(),
        sha256: sha256_hex(&bytes),
        terms: 0,
    };
    Ok(TermList::new(info, ontology.terms(within)))
}

/// What the header says about the ontology.
#[derive(Debug, Default, PartialEq)]
struct Header {
    version: Option<String>,
    title: Option<String>,
    remarks: Vec<String>,
    licence: Option<String>,
}

impl Header {
    /// The notice to show: the remarks and the licence, as the file states them.
    fn licence(&self) -> Option<String> {
        let mut parts = self.remarks.clone();
        if let Some(licence) = &self.licence {
            parts.push(format!("licence: {licence}"));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// A `[Term]` stanza as read.
#[derive(Debug, Clone, Default, PartialEq)]
struct Stanza {
    id: String,
    name: String,
    synonyms: Vec<String>,
    definition: Option<String>,
    parents: Vec<String>,
    obsolete: bool,
}

#[derive(Debug, Default)]
struct Ontology {
    header: Header,
    stanzas: Vec<Stanza>,
}

/// A parse error: 1-based line and message.
type ParseError = (usize, String);

/// Where the parser is: the header, a `[Term]` (with its first line), or another stanza.
enum In {
    Header,
    Term(Stanza, usize),
    Other,
}

fn parse(text: &str) -> Result<Ontology, ParseError> {
    let mut ontology = Ontology::default();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut state = In::Header;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let number = i + 1;
        if line.is_empty() || line.starts_with('!') {
            continue;
        }
        if line.starts_with('[') {
            let kind = line
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .ok_or((number, format!("a stanza header must be [Name], not {line:?}")))?;
            finish(std::mem::replace(&mut state, In::Other), &mut ontology, &mut ids)?;
            if kind.trim() == "Term" {
                state = In::Term(Stanza::default(), number);
            }
            continue;
        }
        let (tag, value) = line
            .split_once(':')
            .ok_or((number, format!("expected `tag: value`, found {line:?}")))?;
        let (tag, value) = (tag.trim(), value.trim());
        match &mut state {
            In::Header => header_tag(&mut ontology.header, tag, value),
            In::Term(stanza, _) => term_tag(stanza, tag, value).map_err(|m| (number, m))?,
            In::Other => {}
        }
    }
    finish(state, &mut ontology, &mut ids)?;
    Ok(ontology)
}

/// Ends a stanza: a `[Term]` is checked and kept (unless obsolete).
fn finish(state: In, ontology: &mut Ontology, ids: &mut HashMap<String, usize>) -> Result<(), ParseError> {
    let In::Term(stanza, line) = state else {
        return Ok(());
    };
    if stanza.id.is_empty() {
        return Err((line, "this [Term] has no id".into()));
    }
    if stanza.name.is_empty() {
        return Err((line, format!("term {} has no name", stanza.id)));
    }
    if let Some(first) = ids.insert(stanza.id.clone(), line) {
        return Err((
            line,
            format!("term {} is defined again (first at line {first})", stanza.id),
        ));
    }
    if !stanza.obsolete {
        ontology.stanzas.push(stanza);
    }
    Ok(())
}

fn header_tag(header: &mut Header, tag: &str, value: &str) {
    match tag {
        "data-version" => header.version = Some(unquoted(value)),
        "remark" => header.remarks.push(unquoted(value)),
        "property_value" => {
            let (property, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
            let rest = rest.trim();
            let value = match rest.starts_with('"') {
                true => quoted(rest).map(|(s, _)| s).unwrap_or_default(),
                false => unquoted(rest),
            };
            match property {
                "dc:title" | "dcterms:title" => header.title = Some(value),
                "terms:license" | "dcterms:license" | "dc:license" => header.licence = Some(value),
                _ => {}
            }
        }
        _ => {}
    }
}

fn term_tag(stanza: &mut Stanza, tag: &str, value: &str) -> Result<(), String> {
    match tag {
        "id" => stanza.id = unquoted(value),
        "name" => stanza.name = unquoted(value),
        "def" => stanza.definition = Some(quoted(value)?.0),
        "synonym" => {
            let (synonym, rest) = quoted(value)?;
            // `SCOPE [TYPE] [xrefs]`: a discarded name is no name to find.
            let obsolete = rest.split_whitespace().nth(1) == Some("obsolete_synonym");
            if !obsolete {
                stanza.synonyms.push(synonym);
            }
        }
        "is_a" => {
            if let Some(parent) = unquoted(value).split_whitespace().next() {
                stanza.parents.push(parent.to_string());
            }
        }
        "is_obsolete" => stanza.obsolete = unquoted(value) == "true",
        _ => {}
    }
    Ok(())
}

/// A quoted string at the start of `value` (escapes resolved) and what follows it.
fn quoted(value: &str) -> Result<(String, &str), String> {
    let rest = value
        .strip_prefix('"')
        .ok_or_else(|| format!("expected a quoted string, found {value:?}"))?;
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((out, rest[at + 1..].trim_start())),
            '\\' => out.push(chars.next().map_or('\\', |(_, e)| unescape(e))),
            c => out.push(c),
        }
    }
    Err(format!("the quoted string {value:?} is not closed"))
}

/// An unquoted value: escapes resolved, cut at an unescaped `!`, trimmed.
fn unquoted(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '!' => break,
            '\\' => out.push(chars.next().map_or('\\', unescape)),
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        c => c,
    }
}

impl Ontology {
    /// The terms, each with its category (see the module documentation);
    /// with `within`, only the terms below that one.
    fn terms(&self, within: Option<&str>) -> Vec<Term> {
        let tree = Tree::new(&self.stanzas);
        let kept = within.map(|root| tree.below(root));
        self.stanzas
            .iter()
            .filter(|s| {
                kept.as_ref()
                    .is_none_or(|k| k.contains(s.id.as_str()) && Some(s.id.as_str()) != within)
            })
            .map(|stanza| Term {
                id: Some(stanza.id.clone()),
                name: stanza.name.clone(),
                synonyms: stanza.synonyms.clone(),
                category: tree.category(stanza),
                definition: stanza.definition.clone().filter(|d| !d.trim().is_empty()),
                count: None,
            })
            .collect()
    }
}

/// The `is_a` graph of the terms read.
struct Tree<'a> {
    by_id: HashMap<&'a str, &'a Stanza>,
    children: HashMap<&'a str, Vec<&'a str>>,
    /// `Phenotypic abnormality` and the terms below it (empty outside HPO).
    phenotypic: HashSet<&'a str>,
}

impl<'a> Tree<'a> {
    fn new(stanzas: &'a [Stanza]) -> Self {
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for stanza in stanzas {
            for parent in &stanza.parents {
                children
                    .entry(parent.as_str())
                    .or_default()
                    .push(stanza.id.as_str());
            }
        }
        let mut tree = Tree {
            by_id: stanzas.iter().map(|s| (s.id.as_str(), s)).collect(),
            children,
            phenotypic: HashSet::new(),
        };
        tree.phenotypic = tree.below(PHENOTYPIC_ABNORMALITY);
        tree
    }

    /// `root` and every term below it (through any parent; none if `root` is unknown).
    fn below(&self, root: &str) -> HashSet<&'a str> {
        let mut seen = HashSet::new();
        let Some(start) = self.by_id.get(root) else {
            return seen;
        };
        let mut todo = vec![start.id.as_str()];
        while let Some(id) = todo.pop() {
            if seen.insert(id) {
                todo.extend(self.children.get(id).into_iter().flatten());
            }
        }
        seen
    }

    /// The name of `stanza`'s top-level branch.
    fn category(&self, stanza: &'a Stanza) -> String {
        // The path up, the term first, a root (or the last known ancestor)
        // last: through the first parent, or the first below `Phenotypic
        // abnormality` for a term below it.
        let mut path = vec![stanza];
        while path.len() < MAX_DEPTH {
            let last = path[path.len() - 1];
            let under = self.phenotypic.contains(last.id.as_str());
            let parent = last
                .parents
                .iter()
                .find(|p| !under || self.phenotypic.contains(p.as_str()))
                .and_then(|id| self.by_id.get(id.as_str()));
            match parent {
                Some(&parent) => path.push(parent),
                None => break,
            }
        }
        let n = path.len();
        let branch = match n {
            1 => path[0],
            _ if path[n - 2].id == PHENOTYPIC_ABNORMALITY && n >= 3 => path[n - 3],
            _ => path[n - 2],
        };
        branch.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = r#"format-version: 1.2
data-version: hp/releases/2025-01-16
remark: Please see license of HPO at http://www.human-phenotype-ontology.org
property_value: dc:title "Human Phenotype Ontology" xsd:string
property_value: terms:license https://hpo.jax.org/app/license

[Term]
id: HP:0000001
name: All

[Term]
id: HP:0000118
name: Phenotypic abnormality
is_a: HP:0000001 ! All

[Term]
id: HP:0000707
name: Abnormality of the nervous system
is_a: HP:0000118 ! Phenotypic abnormality

[Term]
id: HP:0001250
name: Seizure
def: "A seizure is an \"intermittent\" abnormality." [PMID:15816939]
synonym: "Epilepsy" RELATED layperson []
synonym: "Seizures" EXACT plural_form []
synonym: "Fits" EXACT obsolete_synonym []
is_a: HP:0000707 {source="x"} ! Abnormality of the nervous system

[Term]
id: HP:0000005
name: Mode of inheritance
is_a: HP:0000001

[Term]
id: HP:0000006
name: Autosomal dominant inheritance
is_a: HP:0000005

[Term]
id: HP:0000007
name: Inherited seizure
is_a: HP:0000005
is_a: HP:0001250

[Term]
id: HP:0000057
name: obsolete Clitoromegaly
is_obsolete: true

[Typedef]
id: part_of
name: part of
"#;

    fn terms_of(text: &str) -> Vec<Term> {
        parse(text).unwrap().terms(None)
    }

    #[test]
    fn reads_terms_their_categories_and_the_header() {
        let ontology = parse(SAMPLE).unwrap();
        assert_eq!(ontology.header.version.as_deref(), Some("hp/releases/2025-01-16"));
        assert_eq!(ontology.header.title.as_deref(), Some("Human Phenotype Ontology"));
        assert_eq!(
            ontology.header.licence().unwrap(),
            "Please see license of HPO at http://www.human-phenotype-ontology.org; licence: https://hpo.jax.org/app/license"
        );
        let terms = ontology.terms(None);
        let seizure = terms.iter().find(|t| t.name == "Seizure").unwrap();
        assert_eq!(seizure.id.as_deref(), Some("HP:0001250"));
        assert_eq!(seizure.synonyms, ["Epilepsy", "Seizures"]);
        assert_eq!(seizure.category, "Abnormality of the nervous system");
        assert_eq!(
            seizure.definition.as_deref(),
            Some("A seizure is an \"intermittent\" abnormality.")
        );
        let category = |name: &str| terms.iter().find(|t| t.name == name).unwrap().category.clone();
        assert_eq!(category("Autosomal dominant inheritance"), "Mode of inheritance");
        assert_eq!(category("Mode of inheritance"), "Mode of inheritance");
        assert_eq!(category("Phenotypic abnormality"), "Phenotypic abnormality");
        assert_eq!(category("All"), "All");
        assert!(
            !terms.iter().any(|t| t.name.contains("Clitoromegaly")),
            "obsolete"
        );
        assert!(!terms.iter().any(|t| t.name == "part of"), "typedefs");
        assert_eq!(category("Inherited seizure"), "Abnormality of the nervous system");
    }

    #[test]
    fn only_the_terms_below_a_branch_can_be_kept() {
        let below = parse(SAMPLE).unwrap().terms(Some(HPO_FINDINGS));
        let names: Vec<&str> = below.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Abnormality of the nervous system",
                "Seizure",
                "Inherited seizure"
            ]
        );
        assert!(parse(SAMPLE).unwrap().terms(Some("X:404")).is_empty());
    }

    #[test]
    fn broken_stanzas_name_their_line() {
        let cases = [
            (
                "[Term]\nid: X:1\nname: a\nnot a tag\n",
                4,
                "expected `tag: value`",
            ),
            ("[Term\nid: X:1\n", 1, "stanza header"),
            (
                "[Term]\nname: nameless\n\n[Term]\nid: X:2\nname: b\n",
                1,
                "has no id",
            ),
            ("[Term]\nid: X:1\n", 1, "X:1 has no name"),
            ("[Term]\nid: X:1\nname: a\ndef: \"open [x]\n", 4, "not closed"),
            (
                "[Term]\nid: X:1\nname: a\nsynonym: bare EXACT []\n",
                4,
                "quoted string",
            ),
            (
                "[Term]\nid: X:1\nname: a\n[Term]\nid: X:1\nname: b\n",
                4,
                "defined again (first at line 1)",
            ),
        ];
        for (text, line, message) in cases {
            let (at, said) = parse(text).unwrap_err();
            assert_eq!(at, line, "{text:?}: {said}");
            assert!(said.contains(message), "{text:?}: {said}");
        }
    }

    #[test]
    fn a_cycle_of_parents_ends() {
        let terms = terms_of("[Term]\nid: A\nname: a\nis_a: B\n\n[Term]\nid: B\nname: b\nis_a: A\n");
        assert_eq!(terms.len(), 2);
    }

    /// A term as an OBO file writes it (the inverse of the reader, for the round trip).
    fn write(stanza: &Stanza) -> String {
        let escape_quoted = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let escape_bare = |s: &str| escape_quoted(s).replace('!', "\\!");
        let mut out = format!("[Term]\nid: {}\nname: {}\n", stanza.id, escape_bare(&stanza.name));
        if let Some(d) = &stanza.definition {
            out.push_str(&format!("def: \"{}\" [PMID:1]\n", escape_quoted(d)));
        }
        for s in &stanza.synonyms {
            out.push_str(&format!("synonym: \"{}\" EXACT []\n", escape_quoted(s)));
        }
        for p in &stanza.parents {
            out.push_str(&format!("is_a: {p} ! parent\n"));
        }
        if stanza.obsolete {
            out.push_str("is_obsolete: true\n");
        }
        out + "\n"
    }

    fn stanza() -> impl Strategy<Value = Stanza> {
        let text = "[^\\s\\\\][^\\r\\n]{0,20}[^\\s\\\\]|[^\\s\\\\]";
        (
            "[A-Z]{2}:[0-9]{1,7}",
            text,
            proptest::collection::vec(text, 0..3),
            proptest::option::of(text),
            proptest::collection::vec("[A-Z]{2}:[0-9]{1,7}", 0..2),
            any::<bool>(),
        )
            .prop_map(|(id, name, synonyms, definition, parents, obsolete)| Stanza {
                id,
                name,
                synonyms,
                definition,
                parents,
                obsolete,
            })
    }

    proptest! {
        #[test]
        fn written_terms_read_back_the_same(stanzas in proptest::collection::vec(stanza(), 0..6)) {
            let mut unique = Vec::new();
            for s in stanzas {
                if !unique.iter().any(|u: &Stanza| u.id == s.id) {
                    unique.push(s);
                }
            }
            let text: String = unique.iter().map(write).collect();
            let read = parse(&text).unwrap();
            let kept: Vec<Stanza> = unique.into_iter().filter(|s| !s.obsolete).collect();
            prop_assert_eq!(read.stanzas, kept);
        }

        #[test]
        fn any_text_is_read_or_refused_without_panic(text in "(\\[Term\\]\n|id: [a-z]\n|name: \\PC{0,8}\n|\\PC{0,12}\n){0,12}") {
            if let Ok(ontology) = parse(&text) {
                for term in ontology.terms(None) {
                    prop_assert!(!term.name.is_empty());
                }
            }
        }
    }
}
