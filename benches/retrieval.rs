//! Criterion benches of the hot paths: sentence embedding throughput (real
//! model) and single-query search latency, HNSW against exact, on synthetic
//! clustered unit vectors. Figures are printed by criterion; nothing is asserted.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use exemplar::bench::clustered_unit_vectors;
use exemplar::index::{build_graph, exact_search, HnswParams, Quantized};
use exemplar::{Encoder, OnnxEncoder};

const SEED: u64 = 42;

fn ncbi_sentences(n: usize) -> Vec<String> {
    let tsv =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ncbi-disease/train.tsv"))
            .expect("data/ncbi-disease/train.tsv");
    tsv.split("\n\n")
        .take(n)
        .map(|block| {
            block
                .lines()
                .filter_map(|l| l.split('\t').next())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn embedding(c: &mut Criterion) {
    let model = exemplar::encoder::default_models_dir().join(exemplar::encoder::DEFAULT_MODEL_NAME);
    let encoder = OnnxEncoder::open(&model, &Default::default(), None).expect("run scripts/setup.sh first");
    let sentences = ncbi_sentences(256);
    let mut group = c.benchmark_group("embed");
    group.sample_size(10);
    for batch in [1usize, 32, 256] {
        let texts: Vec<&str> = sentences.iter().take(batch).map(String::as_str).collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::new("sentences", batch), &texts, |b, texts| {
            b.iter(|| encoder.embed(texts).expect("embeds"))
        });
    }
    group.finish();
}

fn search(c: &mut Criterion) {
    let n = 20_000;
    println!("search bench: {n} clustered 384-d unit vectors, seed {SEED}");
    let vectors = clustered_unit_vectors(n, 384, 64, 0.6, SEED);
    let queries = clustered_unit_vectors(256, 384, 64, 0.6, SEED + 1);
    let graph = build_graph(
        &vectors,
        &HnswParams {
            parallel: true,
            ..HnswParams::default()
        },
    );
    let codes = Quantized::new(&vectors);
    let mut group = c.benchmark_group("search_k16");
    let mut q = 0;
    for ef in [32usize, 64, 128] {
        group.bench_function(BenchmarkId::new("hnsw_f32_walk_ef", ef), |b| {
            b.iter(|| {
                q = (q + 1) % queries.len();
                graph.search(&vectors, queries.row(q), 16, ef)
            })
        });
        group.bench_function(BenchmarkId::new("hnsw_int8_walk_ef", ef), |b| {
            b.iter(|| {
                q = (q + 1) % queries.len();
                graph.search_quantized(&vectors, &codes, queries.row(q), 16, ef)
            })
        });
    }
    group.bench_function("exact", |b| {
        b.iter(|| {
            q = (q + 1) % queries.len();
            exact_search(&vectors, queries.row(q), 16)
        })
    });
    group.finish();
}

criterion_group!(benches, embedding, search);
criterion_main!(benches);
