//! The Rust side of the Python bindings' overhead benchmark
//! (`python/bench/overhead.py`): selects k demonstrations for a batch of
//! queries through the library, with the encoder the bindings open by default
//! (one session a core, one thread each), and prints the median time of
//! `repeats` runs as one JSON line: embedding and selecting (`select_s`), and
//! selecting queries already embedded (`select_embedded_s`).
//!
//!   cargo run --release --example select_batch -- INDEX N K REPEATS QUERIES.tsv...

use std::path::PathBuf;
use std::time::Instant;

use exemplar::corpus::{self, Example, Format};
use exemplar::encoder::{default_models_dir, ModelDir, DEFAULT_MODEL_NAME};
use exemplar::pipeline::{embed, select, select_embedded};
use exemplar::progress::Quiet;
use exemplar::select::Resources;
use exemplar::{Index, Method, OnnxEncoder, SearchMode, Strategy};

fn median_seconds(repeats: usize, mut run: impl FnMut() -> exemplar::Result<()>) -> exemplar::Result<f64> {
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let started = Instant::now();
        run()?;
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [index, n, k, repeats, files @ ..] = &args[..] else {
        return Err("usage: select_batch INDEX N K REPEATS QUERIES.tsv...".into());
    };
    let (n, k, repeats): (usize, usize, usize) = (n.parse()?, k.parse()?, repeats.parse()?);
    let index = Index::open(&PathBuf::from(index))?;
    let corpus = corpus::read_all(files, Format::Conll, &Default::default())?;
    let queries: Vec<Example> = corpus.sentences.iter().take(n).map(Example::from).collect();
    let model = ModelDir::open(
        &default_models_dir().join(DEFAULT_MODEL_NAME),
        &Default::default(),
    )?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let encoder = std::sync::Arc::new(OnnxEncoder::new(
        model,
        &ModelDir::onnxruntime_library(None)?,
        cores,
        1,
    )?);
    let resources = Resources {
        encoder: Some(encoder.clone()),
        knowledge: None,
    };
    let method = Method::new(Strategy::Knn);
    let mode = SearchMode::Hnsw { ef: None };
    let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    let vectors = embed(encoder.as_ref(), &texts, &Quiet)?.vectors;

    let select_s = median_seconds(repeats, || {
        select(&index, &method, mode, &queries, k, &resources, &Quiet).map(drop)
    })?;
    let select_embedded_s = median_seconds(repeats, || {
        select_embedded(
            &index,
            &method,
            mode,
            &queries,
            k,
            Some(&vectors),
            &Resources::default(),
        )
        .map(drop)
    })?;
    println!(
        "{{\"queries\": {}, \"k\": {k}, \"select_s\": {select_s:.4}, \"select_embedded_s\": {select_embedded_s:.5}}}",
        queries.len()
    );
    Ok(())
}
