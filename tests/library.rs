//! The library on the NCBI-disease copy shipped in `data/`, with the hashed
//! test encoder ([`HashedEncoder`]) instead of the sentence model: everything
//! about indexes and demonstration selection that does not depend on what the
//! vectors mean. Needs no model, no ONNX Runtime and no network, and runs in
//! seconds, so plain `cargo test` always runs it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use exemplar::corpus::{self, Corpus, Format};
use exemplar::pipeline::build_index;
use exemplar::progress::Quiet;
use exemplar::select::{select_batch, Method};
use exemplar::{BuildOptions, Encoder, Error, HashedEncoder, HnswParams, Index, Query, SearchMode, Strategy};

mod common;
use common::{damaged_copies, repo, scratch};

const DIM: usize = 128;
const MAX_LENGTH: usize = 1024;

fn encoder() -> HashedEncoder {
    HashedEncoder::new(DIM, MAX_LENGTH).unwrap()
}

fn split(name: &str) -> Corpus {
    corpus::read(
        &repo().join("data/ncbi-disease").join(name),
        Format::Conll,
        &Default::default(),
    )
    .unwrap()
}

/// The development split (923 sentences), its index as built, and where
/// that index was saved; built once.
fn devel() -> &'static (Corpus, Index, PathBuf) {
    static BUILT: OnceLock<(Corpus, Index, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let corpus = split("devel.tsv");
        let (mut index, _) = build_index(
            &corpus,
            Vec::new(),
            &encoder(),
            &BuildOptions::default(),
            None,
            &Quiet,
        )
        .unwrap();
        let dir = scratch("library").join("devel");
        index.save(&dir).unwrap();
        (corpus, index, dir)
    })
}

fn saved() -> &'static Path {
    &devel().2
}

fn vector_of(text: &str) -> Vec<f32> {
    encoder().embed(&[text]).unwrap().vectors.remove(0)
}

fn texts_of(corpus: &Corpus, n: usize) -> Vec<&str> {
    corpus.sentences.iter().take(n).map(|s| s.text.as_str()).collect()
}

#[test]
fn a_saved_index_reopens_with_its_manifest_and_answers_as_built() {
    let (corpus, built, _) = devel();
    let reopened = Index::open(saved()).unwrap();
    let manifest = reopened.manifest();
    assert_eq!(&manifest.model, encoder().info());
    assert_eq!(manifest.corpus.sentences, corpus.sentences.len());
    assert_eq!(manifest.corpus.entities_per_type, corpus.counts_per_type());
    assert!(manifest.corpus.entities_per_type["Disease"] > 700);
    let files: Vec<&str> = manifest.files.keys().map(String::as_str).collect();
    assert_eq!(
        files,
        [
            "examples.bin",
            "graph.bin",
            "mentions-graph.bin",
            "mentions.bin",
            "mentions.f32",
            "vectors.f32"
        ]
    );
    let mentions = manifest.mentions.as_ref().expect("a mention index");
    assert_eq!(
        mentions.mentions,
        manifest.corpus.entities_per_type.values().sum::<usize>()
    );
    assert_eq!(
        reopened.mentions().unwrap().table,
        built.mentions().unwrap().table
    );
    assert_eq!(
        manifest.files["vectors.f32"].bytes,
        (corpus.sentences.len() * DIM * 4) as u64
    );
    assert_eq!(reopened.examples(), built.examples());
    assert_eq!(reopened.vectors(), built.vectors());
    for text in ["Familial breast cancer .", "colon cancer in mice", "fever"] {
        let query = vector_of(text);
        for mode in [SearchMode::Hnsw { ef: None }, SearchMode::Exact] {
            assert_eq!(built.search(&query, 16, mode), reopened.search(&query, 16, mode));
        }
    }
}

#[test]
fn every_sentence_finds_itself_first() {
    let (corpus, index, _) = devel();
    let vectors = encoder().embed(&texts_of(corpus, usize::MAX)).unwrap().vectors;
    let finds_itself = |mode| {
        let found = corpus
            .sentences
            .iter()
            .zip(&vectors)
            .filter(|(sentence, vector)| {
                let best = index.search(vector, 1, mode)[0];
                // A duplicate sentence may come first: same text, same vector.
                index.examples()[best.node as usize].text == sentence.text
                    && (best.similarity - 1.0).abs() < 1e-4
            });
        found.count()
    };
    assert_eq!(finds_itself(SearchMode::Exact), corpus.sentences.len());
    // Open issue: 15 of these 923 nodes cannot be reached through the graph at
    // any ef (exact search finds each at similarity 1), so HNSW misses them.
    let missed = corpus.sentences.len() - finds_itself(SearchMode::Hnsw { ef: Some(400) });
    assert!(
        missed <= corpus.sentences.len() / 50,
        "{missed} sentences not found by HNSW"
    );
}

#[test]
fn hnsw_finds_what_exact_search_finds() {
    let index = &devel().1;
    let test = split("test.tsv");
    let queries = encoder().embed(&texts_of(&test, 200)).unwrap().vectors;
    let k = 10;
    let mut found = 0;
    for query in &queries {
        let exact = index.search(query, k, SearchMode::Exact);
        let approx = index.search(query, k, SearchMode::Hnsw { ef: None });
        assert!(exact.windows(2).all(|w| w[0].similarity >= w[1].similarity));
        found += approx
            .iter()
            .filter(|hit| exact.iter().any(|e| e.node == hit.node))
            .count();
    }
    let recall = found as f64 / (queries.len() * k) as f64;
    assert!(recall >= 0.97, "recall@{k} {recall}");
}

#[test]
fn knn_demonstrations_skip_the_query_and_put_the_most_similar_last() {
    let (corpus, index, _) = devel();
    let own = corpus.sentences[3].text.as_str();
    let vector = vector_of(own);
    let knn = Method::new(Strategy::Knn)
        .build(index, SearchMode::Hnsw { ef: None }, 8)
        .unwrap();
    let demos = knn
        .select(
            index,
            &Query {
                text: own,
                vector: Some(&vector),
                doc: None,
                mentions: None,
            },
            8,
        )
        .unwrap();
    assert_eq!(demos.len(), 8);
    assert!(
        demos.iter().all(|d| d.example.text != own),
        "the query itself is not a demonstration"
    );
    let scores: Vec<f32> = demos.iter().map(|d| d.score.unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");
    let exact = index.search(&vector, 9, SearchMode::Exact);
    let best_other = exact
        .iter()
        .find(|h| index.examples()[h.node as usize].text != own)
        .unwrap();
    assert_eq!(
        demos[7].example.text,
        index.examples()[best_other.node as usize].text
    );
    for demo in &demos {
        for entity in &demo.example.entities {
            let slice: String = demo
                .example
                .text
                .chars()
                .skip(entity.start)
                .take(entity.end - entity.start)
                .collect();
            assert_eq!(slice, entity.text);
        }
    }
}

#[test]
fn random_demonstrations_are_reproducible_from_their_seed() {
    let index = &devel().1;
    let query = Query {
        text: "fever",
        vector: None,
        doc: None,
        mentions: None,
    };
    let draw = |seed| {
        let method = Method {
            seed,
            ..Method::new(Strategy::Random)
        };
        let random = method.build(index, SearchMode::Exact, 6).unwrap();
        random.select(index, &query, 6).unwrap()
    };
    let ids = |seed| -> Vec<String> { draw(seed).into_iter().map(|d| d.example.id).collect() };
    assert_eq!(ids(7), ids(7));
    assert_ne!(ids(7), ids(8));
    assert!(draw(7).iter().all(|d| d.score.is_none()));
}

#[test]
fn a_batch_selects_what_single_queries_select() {
    let index = &devel().1;
    let test = split("test.tsv");
    let queries = texts_of(&test, 40);
    let vectors = exemplar::encoder::embed_all(&encoder(), &queries, None, |_| {})
        .unwrap()
        .vectors;
    let knn = Method::new(Strategy::Knn)
        .build(index, SearchMode::Hnsw { ef: None }, 4)
        .unwrap();
    let batch = select_batch(index, knn.as_ref(), &queries, Some(&vectors), 4).unwrap();
    assert_eq!(batch.len(), queries.len());
    for (i, (text, demos)) in queries.iter().zip(&batch).enumerate() {
        let vector = vector_of(text);
        assert_eq!(
            demos,
            &knn.select(
                index,
                &Query {
                    text,
                    vector: Some(&vector),
                    doc: None,
                    mentions: None,
                },
                4
            )
            .unwrap(),
            "query {i}"
        );
    }
    assert!(
        select_batch(index, knn.as_ref(), &queries, None, 4).is_err(),
        "k-NN without vectors is refused"
    );
}

#[test]
fn two_builds_with_the_same_seed_are_identical() {
    let corpus = Corpus {
        sentences: devel().0.sentences[..300].to_vec(),
        ..Default::default()
    };
    let build = |name: &str, seed: u64| {
        let options = BuildOptions {
            hnsw: HnswParams {
                seed,
                ..Default::default()
            },
            ..Default::default()
        };
        let (mut index, _) = build_index(&corpus, Vec::new(), &encoder(), &options, None, &Quiet).unwrap();
        let dir = scratch("library").join(name);
        index.save(&dir).unwrap();
        Index::open(&dir).unwrap().manifest().files.clone()
    };
    let (a, b, c) = (build("seed-a", 42), build("seed-b", 42), build("seed-c", 43));
    assert_eq!(a, b);
    assert_ne!(a["graph.bin"], c["graph.bin"]);
    assert_eq!(
        a["vectors.f32"], c["vectors.f32"],
        "the seed orders insertion, not the vectors"
    );
}

#[test]
fn damaged_indexes_are_refused_with_what_is_wrong() {
    for (dir, expected) in damaged_copies(saved()) {
        let error = Index::open(&dir).unwrap_err();
        assert!(
            matches!(
                error,
                Error::IndexCorrupt { .. } | Error::IndexIncompatible { .. }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        for needle in expected {
            assert!(
                message.contains(needle),
                "{}: expected {needle:?} in {message}",
                dir.display()
            );
        }
    }
}

#[test]
fn an_index_refuses_an_encoder_with_other_vectors() {
    let index = Index::open(saved()).unwrap();
    index.check_encoder(encoder().info(), saved()).unwrap();
    for other in [
        HashedEncoder::new(DIM / 2, MAX_LENGTH),
        HashedEncoder::new(DIM, 64),
    ] {
        let error = index.check_encoder(other.unwrap().info(), saved()).unwrap_err();
        assert!(matches!(error, Error::IndexIncompatible { .. }), "{error:?}");
        assert!(error.to_string().contains("rebuild the index"), "{error}");
    }
}

#[test]
fn sentences_over_the_maximum_length_are_reported_by_the_build() {
    let corpus = &devel().0;
    let short = HashedEncoder::new(DIM, 100).unwrap();
    let (index, report) =
        build_index(corpus, Vec::new(), &short, &BuildOptions::default(), None, &Quiet).unwrap();
    let long: Vec<usize> = (0..corpus.sentences.len())
        .filter(|&i| corpus.sentences[i].text.chars().count() > 100)
        .collect();
    assert!(!long.is_empty());
    assert_eq!(
        report.truncated.iter().map(|t| t.position).collect::<Vec<_>>(),
        long
    );
    assert_eq!(index.manifest().corpus.truncated_sentences, long.len());
}
