//! Selection on small indexes built with the hashed test encoder: filters,
//! strategies through [`Method`], the errors a user can meet.

use std::collections::BTreeMap;

use super::*;
use crate::corpus::{tokenize, Corpus, Sentence, Span};
use crate::encoder::{embed_all, Encoder, HashedEncoder};
use crate::error::ErrorKind;
use crate::index::BuildOptions;

const WORDS: &[&str] = &[
    "cancer",
    "tumour",
    "gene",
    "mutation",
    "patients",
    "therapy",
    "dose",
    "liver",
    "kidney",
    "protein",
    "acute",
    "chronic",
    "deficiency",
    "syndrome",
    "infection",
    "renal",
    "cardiac",
    "aspirin",
];

/// Sentence i: five words chosen by i (the same for i and i + 90), i % 4
/// entities (the first word, typed by i % 3), document `doc{i % 90 / 10}`
/// when `docs` (so sentences with the same words share their document, and a
/// query's nearest neighbours include sentences of its own document), and
/// `split` = `dev` for every tenth sentence, `train` else.
fn sentence(i: usize, docs: bool) -> Sentence {
    let words: Vec<&str> = (0..5)
        .map(|j| WORDS[(i * 7 + j * (i % 5 + 1)) % WORDS.len()])
        .collect();
    let text = format!("{} {i}", words.join(" "));
    let first = words[0].chars().count();
    let entities = (0..i % 4)
        .map(|_| Span {
            start: 0,
            end: first,
            label: ["Disease", "Chemical", "Gene"][i % 3].to_string(),
        })
        .collect();
    let split = if i.is_multiple_of(10) { "dev" } else { "train" };
    Sentence {
        id: format!("s{i}"),
        tokens: tokenize(&text),
        text,
        entities,
        doc: docs.then(|| format!("doc{}", i % 90 / 10)),
        meta: BTreeMap::from([("split".to_string(), split.to_string())]),
    }
}

fn encoder() -> HashedEncoder {
    HashedEncoder::new(64, 512).unwrap()
}

fn index_of(n: usize, docs: bool) -> Index {
    let corpus = Corpus {
        sentences: (0..n).map(|i| sentence(i, docs)).collect(),
        warnings: Vec::new(),
    };
    let texts: Vec<&str> = corpus.sentences.iter().map(|s| s.text.as_str()).collect();
    let vectors = embed_all(&encoder(), &texts, None, |_| {}).unwrap().vectors;
    Index::build(
        &corpus,
        Vec::new(),
        vectors,
        encoder().info(),
        0,
        &BuildOptions::default(),
    )
    .unwrap()
}

fn vector_of(text: &str) -> Vec<f32> {
    encoder().embed(&[text]).unwrap().vectors.remove(0)
}

fn method(strategy: Strategy, setup: impl FnOnce(&mut Method)) -> Method {
    let mut method = Method::new(strategy);
    setup(&mut method);
    method
}

fn select(index: &Index, method: &Method, mode: SearchMode, text: &str, k: usize) -> Result<Vec<Demo>> {
    let vector = vector_of(text);
    let query = Query {
        text,
        vector: Some(&vector),
        doc: None,
        mentions: None,
    };
    method.build(index, mode, k)?.select(index, &query, k)
}

fn by_id<'a>(index: &'a Index, demo: &Demo) -> &'a Sentence {
    index.examples().iter().find(|s| s.id == demo.example.id).unwrap()
}

const HNSW: SearchMode = SearchMode::Hnsw { ef: None };

#[test]
fn a_selective_filter_still_gives_k_from_every_strategy() {
    let index = index_of(400, false);
    // One sentence in ten is `dev`: 40 of 400.
    let dev = |m: &mut Method| {
        m.filters.where_.insert("split".into(), "dev".into());
    };
    for strategy in [Strategy::Knn, Strategy::Random, Strategy::Mmr, Strategy::Coverage] {
        for mode in [HNSW, SearchMode::Hnsw { ef: Some(4) }, SearchMode::Exact] {
            let demos = select(
                &index,
                &method(strategy, dev),
                mode,
                "gene mutation in cancer patients",
                12,
            )
            .unwrap();
            assert_eq!(demos.len(), 12, "{strategy} {mode:?}");
            assert!(
                demos.iter().all(|d| by_id(&index, d).meta["split"] == "dev"),
                "{strategy}"
            );
        }
    }
}

#[test]
fn a_filter_walked_through_the_graph_finds_what_a_scan_finds() {
    // Half the rows pass and ef is small: the graph walk with the predicate
    // is used, not the scan of the admitted rows.
    let index = index_of(400, false);
    let mode = SearchMode::Hnsw { ef: Some(16) };
    let two = method(Strategy::Knn, |m| m.filters.min_entities = 2);
    let passing = index.examples().iter().filter(|s| s.entities.len() >= 2).count();
    assert!(
        passing * passing > 4 * 16 * index.len(),
        "{passing} rows: the walk is taken"
    );
    let text = "chronic renal deficiency syndrome";
    let walked = select(&index, &two, mode, text, 8).unwrap();
    let scanned = select(&index, &two, SearchMode::Exact, text, 8).unwrap();
    assert_eq!(walked.len(), 8);
    assert!(walked.iter().all(|d| d.example.entities.len() >= 2));
    let found = walked.iter().filter(|d| scanned.contains(d)).count();
    assert!(found >= 7, "{found} of 8 exact neighbours");
}

#[test]
fn the_queries_own_document_is_left_out() {
    let index = index_of(200, true);
    let own = index.examples()[42].clone();
    let same_doc = |demos: &[Demo]| demos.iter().filter(|d| by_id(&index, d).doc == own.doc).count();
    let knn = method(Strategy::Knn, |_| {});
    let exclude = method(Strategy::Knn, |m| m.filters.exclude_same_doc = true);
    let k = 20;
    assert!(same_doc(&select(&index, &knn, SearchMode::Exact, &own.text, k).unwrap()) > 0);
    // The document of a query found in the index is the index's.
    let demos = select(&index, &exclude, SearchMode::Exact, &own.text, k).unwrap();
    assert_eq!((demos.len(), same_doc(&demos)), (k, 0));
    // A document given with the query wins.
    let vector = vector_of(&own.text);
    let query = Query {
        text: "another text",
        vector: Some(&vector),
        doc: Some("doc4"),
        mentions: None,
    };
    let demos = exclude
        .build(&index, HNSW, k)
        .unwrap()
        .select(&index, &query, k)
        .unwrap();
    assert_eq!((demos.len(), same_doc(&demos)), (k, 0));
}

#[test]
fn filters_the_index_cannot_satisfy_are_refused_with_a_reason() {
    let index = index_of(50, false);
    let refused = |setup: fn(&mut Method)| {
        let error = method(Strategy::Knn, setup).build(&index, HNSW, 4).err().unwrap();
        assert_eq!(error.kind(), ErrorKind::BadInput, "{error}");
        error.to_string()
    };
    let field = refused(|m| {
        m.filters.where_.insert("source".into(), "pubmed".into());
    });
    assert!(
        field.contains("no example of the index has the field \"source\" (fields: split)"),
        "{field}"
    );
    let value = refused(|m| {
        m.filters.where_.insert("split".into(), "test".into());
    });
    assert!(
        value.contains("no example of the index passes the filters (split=test)"),
        "{value}"
    );
    let many = refused(|m| m.filters.min_entities = 9);
    assert!(many.contains("min-entities 9"), "{many}");
    let docs = refused(|m| m.filters.exclude_same_doc = true);
    assert!(docs.contains("carry no document ids"), "{docs}");
}

#[test]
fn a_vector_strategy_without_the_vector_is_an_error_not_an_empty_answer() {
    let index = index_of(50, false);
    let query = Query {
        text: "gene",
        vector: None,
        doc: None,
        mentions: None,
    };
    for strategy in [Strategy::Knn, Strategy::Mmr, Strategy::Coverage] {
        let selector = Method::new(strategy).build(&index, HNSW, 4).unwrap();
        let error = selector.select(&index, &query, 4).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BadInput);
        assert!(error
            .to_string()
            .contains(&format!("strategy {strategy} needs the query's vector")));
    }
    let random = Method::new(Strategy::Random).build(&index, HNSW, 4).unwrap();
    assert_eq!(random.select(&index, &query, 4).unwrap().len(), 4);
    let other = index_of(60, false);
    let error = random.select(&other, &query, 4).unwrap_err().to_string();
    assert!(
        error.contains("built for an index of 50 sentences, not 60"),
        "{error}"
    );
}

#[test]
fn mmr_at_lambda_one_is_knn_and_lower_lambda_differs() {
    let index = index_of(300, false);
    let knn = Method::new(Strategy::Knn);
    let mmr = |lambda: f64| {
        method(Strategy::Mmr, |m| {
            m.params.set("lambda", Value::Real(lambda)).unwrap();
        })
    };
    let mut differ = 0;
    for text in [
        "gene mutation",
        "acute renal infection",
        "aspirin dose therapy",
        "liver protein",
    ] {
        for mode in [HNSW, SearchMode::Exact] {
            let nearest = select(&index, &knn, mode, text, 8).unwrap();
            assert_eq!(
                select(&index, &mmr(1.0), mode, text, 8).unwrap(),
                nearest,
                "{text}"
            );
            differ += usize::from(select(&index, &mmr(0.3), mode, text, 8).unwrap() != nearest);
        }
    }
    assert!(differ > 0);
}

#[test]
fn methods_are_resolved_recorded_and_read_back() {
    let mmr = method(Strategy::Mmr, |m| {
        m.params = Params::from_pairs(&["lambda=0.7"]).unwrap();
        m.order = Order::Random;
        m.filters.min_entities = 1;
    })
    .resolve(8)
    .unwrap();
    let json = serde_json::to_value(&mmr).unwrap();
    assert_eq!(json["strategy"], "mmr");
    assert_eq!(
        json["params"],
        serde_json::json!({"lambda": 0.7, "candidates": 64})
    );
    assert_eq!(json["order"], "random");
    assert_eq!(json["filters"]["min_entities"], 1);
    assert_eq!(serde_json::from_value::<Method>(json).unwrap(), mmr);
    let unknown = method(Strategy::Knn, |m| {
        m.params = Params::from_pairs(&["lambda=1"]).unwrap()
    });
    let error = unknown.resolve(8).unwrap_err().to_string();
    assert!(
        error.contains("strategy knn has no parameter \"lambda\""),
        "{error}"
    );
    let small = method(Strategy::Coverage, |m| {
        m.params = Params::from_pairs(&["candidates=4"]).unwrap()
    });
    assert!(small.resolve(8).is_err());
}

#[test]
fn orders_apply_to_every_strategy() {
    let index = index_of(200, false);
    let text = "chronic kidney infection";
    let ordered = |order| select(&index, &method(Strategy::Knn, |m| m.order = order), HNSW, text, 6).unwrap();
    let last = ordered(Order::SimilarLast);
    let mut first = ordered(Order::SimilarFirst);
    first.reverse();
    assert_eq!(first, last);
    let scores: Vec<f32> = last.iter().map(|d| d.score.unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    let shuffled = ordered(Order::Random);
    assert_ne!(shuffled, last);
    assert!(shuffled.iter().all(|d| last.contains(d)));
}

#[test]
fn parameters_go_to_the_strategies_that_take_them() {
    let strategies = [Strategy::Knn, Strategy::Mmr, Strategy::Coverage];
    let both = Params::from_pairs(&["lambda=0.7", "candidates=32"]).unwrap();
    let methods =
        Method::for_strategies(&strategies, &both, &Filters::default(), Order::SimilarFirst, 7).unwrap();
    let json: Vec<String> = methods
        .iter()
        .map(|m| serde_json::to_string(&m.params).unwrap())
        .collect();
    assert_eq!(
        json,
        [
            "{}",
            r#"{"candidates":"32","lambda":"0.7"}"#,
            r#"{"candidates":"32"}"#
        ]
    );
    assert!(methods
        .iter()
        .all(|m| m.order == Order::SimilarFirst && m.seed == 7));
    let lambda = Params::from_pairs(&["lambda=0.7"]).unwrap();
    let none = Method::for_strategies(
        &[Strategy::Knn, Strategy::Random],
        &lambda,
        &Filters::default(),
        Order::default(),
        7,
    );
    let error = none.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BadInput);
    let expected = "no strategy given takes the parameter \"lambda\" (knn takes none; random takes none)";
    assert!(error.to_string().contains(expected), "{error}");
}

#[test]
fn a_k_or_pool_larger_than_the_index_gives_what_there_is_without_overflow() {
    let index = index_of(60, false);
    for strategy in [Strategy::Knn, Strategy::Random, Strategy::Mmr, Strategy::Coverage] {
        let huge = method(strategy, |m| m.filters.min_entities = 1);
        let k = usize::MAX;
        assert_eq!(
            huge.check(&index, k).unwrap().len(),
            1,
            "a warning: fewer than k pass"
        );
        let demos = select(&index, &huge, HNSW, "gene mutation", k).unwrap();
        let passing = index.examples().iter().filter(|s| !s.entities.is_empty()).count();
        assert_eq!(demos.len(), passing, "{strategy}");
    }
}
