//! Entity-level retrieval (`--strategy entity`) through the CLI on a tiny
//! annotated pool indexed by the real encoder: a candidate mention brings the
//! one sentence annotating it, a query without candidates gets its base
//! strategy's answer, a paraphrase is found through the mention vectors, and
//! bad input is refused with the fix named.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{build_jsonl_index, exemplar, failure_of, json_lines, scratch, skip_without_model, stdout_of};
use serde_json::{json, Value};

/// Pool sentences: (text, annotated mention) — each mention annotated once.
const POOL: &[(&str, Option<&str>)] = &[
    (
        "Two brothers with Wiskott-Aldrich syndrome had eczema and bleeding .",
        Some("Wiskott-Aldrich syndrome"),
    ),
    (
        "Breast cancer is the most common tumour in women .",
        Some("Breast cancer"),
    ),
    ("Mutations in BRCA2 were found in three families .", None),
    ("The patients were followed for ten years .", None),
    (
        "Cystic fibrosis affects the lungs of children .",
        Some("Cystic fibrosis"),
    ),
    ("Eczema and bleeding were reported in two boys .", None),
    ("The weather in the clinic was cold that winter .", None),
    (
        "Huntington disease is an inherited neurodegenerative disorder .",
        Some("Huntington disease"),
    ),
    ("Cold rooms were reported by staff this winter .", None),
    ("Families were screened for mutations in the clinic .", None),
    ("Cystic fibrosis was not discussed with the families .", None),
];

fn write_pool(path: &Path, annotated: bool) {
    let lines: String = POOL
        .iter()
        .enumerate()
        .map(|(i, (text, mention))| {
            let entities: Vec<Value> = match (annotated, mention) {
                (true, Some(m)) => {
                    let start = text.find(m).unwrap();
                    vec![json!({"start": start, "end": start + m.len(), "label": "Disease"})]
                }
                _ => Vec::new(),
            };
            json!({"id": format!("p{i}"), "text": text, "entities": entities}).to_string() + "\n"
        })
        .collect();
    std::fs::write(path, lines).unwrap();
}

fn build(name: &str, annotated: bool) -> PathBuf {
    let dir = scratch("entity");
    let corpus = dir.join(format!("{name}.jsonl"));
    write_pool(&corpus, annotated);
    let out = dir.join(name);
    build_jsonl_index(&corpus, &out);
    out
}

fn pool_index() -> &'static Path {
    static INDEX: OnceLock<PathBuf> = OnceLock::new();
    INDEX.get_or_init(|| build("pool", true))
}

fn select(index: &Path, text: &str, extra: &[&str]) -> Value {
    let out = stdout_of(
        exemplar()
            .args(["select", "--json", "--k", "3", "--index"])
            .arg(index)
            .args(["--text", text])
            .args(extra),
    );
    json_lines(&out).remove(0)
}

fn demos(selection: &Value) -> &Vec<Value> {
    selection["demos"].as_array().unwrap()
}

#[test]
fn a_candidate_mention_brings_the_one_sentence_annotating_it() {
    if skip_without_model() {
        return;
    }
    let query = "A boy with Wiskott-Aldrich syndrome was admitted .";
    let selection = select(pool_index(), query, &["--strategy", "entity"]);
    assert_eq!(selection["method"]["params"]["sources"], "lexicon");
    assert_eq!(selection["method"]["params"]["base"], "bm25");
    let demos = demos(&selection);
    assert_eq!(demos.len(), 3);
    let shown: Vec<&Value> = demos.iter().filter(|d| d["id"] == "p0").collect();
    assert_eq!(shown.len(), 1, "{selection}");
    assert_eq!(
        shown[0]["reason"],
        json!({"mention": "Wiskott-Aldrich syndrome", "source": "lexicon"})
    );
    for other in demos.iter().filter(|d| d["id"] != "p0") {
        assert_eq!(other["reason"], json!({"base": "bm25"}), "{other}");
    }
}

#[test]
fn a_query_without_candidates_gets_its_base_strategys_answer() {
    if skip_without_model() {
        return;
    }
    let query = "Staff said the clinic was cold that winter .";
    for base in ["bm25", "knn"] {
        let entity = select(
            pool_index(),
            query,
            &["--strategy", "entity", "--param", &format!("base={base}")],
        );
        let plain = select(pool_index(), query, &["--strategy", base]);
        let view = |s: &Value| -> Vec<(Value, Value)> {
            demos(s)
                .iter()
                .map(|d| (d["id"].clone(), d["score"].clone()))
                .collect()
        };
        assert_eq!(view(&entity), view(&plain), "base {base}");
        assert_eq!(entity["score_kind"], plain["score_kind"]);
        assert!(demos(&entity)
            .iter()
            .all(|d| d["reason"] == json!({"base": base})));
    }
}

#[test]
fn a_paraphrased_mention_is_found_through_the_mention_vectors() {
    if skip_without_model() {
        return;
    }
    let query = "She had a breast carcinoma removed last year .";
    let lexicon = select(pool_index(), query, &["--strategy", "entity"]);
    assert!(
        demos(&lexicon).iter().all(|d| d["reason"]["base"] == "bm25"),
        "no pool mention occurs verbatim: {lexicon}"
    );
    let ngrams = select(
        pool_index(),
        query,
        &["--strategy", "entity", "--param", "sources=ngrams"],
    );
    let found: Vec<&Value> = demos(&ngrams)
        .iter()
        .filter(|d| d["reason"]["source"] == "ngrams")
        .collect();
    assert_eq!(found.len(), 1, "{ngrams}");
    assert_eq!(found[0]["id"], "p1");
    assert_eq!(found[0]["reason"]["matched"], "breast cancer");
    assert!(
        found[0]["reason"]["mention"]
            .as_str()
            .unwrap()
            .contains("carcinoma"),
        "{}",
        found[0]
    );
}

#[test]
fn an_unannotated_slot_shows_a_candidate_where_the_pool_leaves_it_untagged() {
    if skip_without_model() {
        return;
    }
    let query = "Children with cystic fibrosis and Huntington disease were seen .";
    let selection = select(
        pool_index(),
        query,
        &["--strategy", "entity", "--param", "unannotated=1"],
    );
    let reasons: Vec<(&str, &Value)> = demos(&selection)
        .iter()
        .map(|d| (d["id"].as_str().unwrap(), &d["reason"]))
        .collect();
    assert!(
        reasons.contains(&("p4", &json!({"mention": "cystic fibrosis", "source": "lexicon"}))),
        "{selection}"
    );
    assert!(
        reasons.contains(&(
            "p7",
            &json!({"mention": "Huntington disease", "source": "lexicon"})
        )),
        "{selection}"
    );
    let untagged = json!({"mention": "cystic fibrosis", "source": "lexicon", "unannotated": true});
    assert!(reasons.contains(&("p10", &untagged)), "{selection}");
}

#[test]
fn the_mention_index_is_in_the_manifest_and_checked() {
    if skip_without_model() {
        return;
    }
    let manifest = common::manifest(pool_index());
    assert_eq!(
        manifest["mentions"],
        json!({"mentions": 4, "strings": 4, "window": 0, "vectors": 4})
    );
    for file in ["mentions.bin", "mentions.f32", "mentions-graph.bin"] {
        assert!(manifest["files"][file]["sha256"].is_string(), "{file}");
    }
}

#[test]
fn bad_input_is_refused_naming_the_fix() {
    if skip_without_model() {
        return;
    }
    let refused = |index: &Path, extra: &[&str]| {
        failure_of(
            exemplar()
                .args(["select", "--json", "--k", "3", "--index"])
                .arg(index)
                .args(["--text", "A boy with eczema .", "--strategy", "entity"])
                .args(extra),
        )
    };
    let unknown = refused(pool_index(), &["--param", "sources=lexicon,web"]);
    assert!(
        unknown.contains("\"web\" is not one of lexicon, kb, ngrams, llm"),
        "{unknown}"
    );
    let llm = refused(pool_index(), &["--param", "sources=llm"]);
    assert!(llm.contains("only `exemplar run --backend URL` makes"), "{llm}");
    let kb = refused(pool_index(), &["--param", "sources=kb"]);
    assert!(kb.contains("needs knowledge sources: give --knowledge"), "{kb}");
    let plain = build("plain", false);
    let text = refused(&plain, &[]);
    assert!(text.contains("no entity annotations (plain text)"), "{text}");
    assert!(text.contains("bm25 or knn"), "{text}");
}

/// A copy of the pool index as exemplar wrote it before mention indexes:
/// no mention files, no `mentions` in the manifest.
fn index_without_mentions() -> PathBuf {
    let from = std::fs::canonicalize(pool_index()).unwrap();
    let to = scratch("entity").join("old");
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.starts_with("mentions") {
            std::fs::copy(from.join(&name), to.join(&name)).unwrap();
        }
    }
    let mut manifest = common::manifest(&to);
    manifest.as_object_mut().unwrap().remove("mentions");
    let files = manifest["files"].as_object_mut().unwrap();
    files.retain(|name, _| !name.starts_with("mentions"));
    std::fs::write(
        to.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    to
}

#[test]
fn an_index_built_before_mention_indexes_is_told_how_to_add_one() {
    if skip_without_model() {
        return;
    }
    let old = index_without_mentions();
    let query = "A boy with Wiskott-Aldrich syndrome was admitted .";
    // Every other strategy still works; entity names the command that adds what it needs.
    assert_eq!(demos(&select(&old, query, &["--strategy", "bm25"])).len(), 3);
    let refused = failure_of(
        exemplar()
            .args([
                "select",
                "--k",
                "3",
                "--strategy",
                "entity",
                "--text",
                query,
                "--index",
            ])
            .arg(&old),
    );
    assert!(refused.contains("exemplar index mentions"), "{refused}");
    let compare = exemplar_compare(&old);
    assert!(compare.1.contains("entity is left out"), "{}", compare.1);
    assert!(compare.0["strategies"].get("entity").is_none());
    assert!(compare.0["strategies"].get("bm25").is_some());

    stdout_of(exemplar().args(["index", "mentions"]).arg(&old));
    assert_eq!(common::manifest(&old)["mentions"]["mentions"], 4);
    let selection = select(&old, query, &["--strategy", "entity"]);
    assert_eq!(selection, select(pool_index(), query, &["--strategy", "entity"]));
}

/// `exemplar compare --json` of every strategy over the pool sentences as
/// queries (each skips itself), without --quiet: the JSON and stderr.
fn exemplar_compare(index: &Path) -> (Value, String) {
    let queries = scratch("entity").join("queries.jsonl");
    write_pool(&queries, true);
    let output = common::binary()
        .args(["compare", "--json", "--k", "3", "--format", "jsonl", "--queries"])
        .arg(&queries)
        .arg("--index")
        .arg(index)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (serde_json::from_slice(&output.stdout).unwrap(), stderr)
}
