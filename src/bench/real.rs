//! The benchmark part of a real index: encoding throughput of its model,
//! search and each selection strategy on the query sentences' vectors, and
//! its size on disk.

use std::path::Path;
use std::time::Instant;

use super::measure::{export, measure_search, neighbour_ids, Settings, INT8};
use super::report::{Part, Throughput};
use super::selection::measure_selection;
use crate::encoder::{embed_all, Encoder};
use crate::error::{Error, Result};
use crate::index::{Index, SearchMode};

/// Batch sizes at which encoding throughput is measured.
const ENCODE_BATCHES: [usize; 3] = [1, 32, 256];
/// Sentences encoded per batch size (at least one batch).
const ENCODE_SENTENCES: usize = 256;

/// Measures `index` (opened from `dir`, built with `encoder`'s model) with
/// the first [`Settings::queries`] of `texts` as queries: encoding speed per
/// batch size, the search `Index::search` does against exact search, then
/// the selection of `k` demonstrations by every strategy.
/// No texts is an [`Error::InvalidInput`].
pub fn index_part(
    index: &Index,
    dir: &Path,
    encoder: &dyn Encoder,
    texts: &[&str],
    settings: &Settings,
) -> Result<Part> {
    let texts = &texts[..texts.len().min(settings.queries)];
    if texts.is_empty() {
        return Err(Error::InvalidInput(format!(
            "no query sentences for {}",
            dir.display()
        )));
    }
    let encoding = encoding_throughput(encoder, texts, settings.show_progress)?;
    let query_vectors = embed_all(encoder, texts, None, |_| {})?.vectors;
    let exported = export(settings, "index", index.vectors(), &query_vectors)?;
    let k = settings.k.min(index.len());
    let truth = neighbour_ids(&query_vectors, k, |q, k| index.search(q, k, SearchMode::Exact));
    let search = measure_search(INT8, &query_vectors, &truth, k, &settings.efs, |q, k, ef| {
        index.search(q, k, SearchMode::Hnsw { ef: Some(ef) })
    });
    let selection = measure_selection(index, texts, &query_vectors, k)?;
    let params = &index.manifest().hnsw.params;
    Ok(Part {
        name: format!("index {}", dir.display()),
        exported,
        vectors: index.len(),
        dim: index.vectors().dim(),
        queries: query_vectors.len(),
        data_seed: None,
        clusters: None,
        spread: None,
        m: Some(params.m),
        ef_construction: Some(params.ef_construction),
        build_seconds: None,
        build_vectors_per_second: None,
        index_bytes: Some(dir_bytes(dir)?),
        encoding,
        search,
        selection,
    })
}

/// Sentences per second at each of [`ENCODE_BATCHES`], after one warm-up call.
fn encoding_throughput(
    encoder: &dyn Encoder,
    texts: &[&str],
    show_progress: bool,
) -> Result<Vec<Throughput>> {
    encoder.embed(&texts[..1])?;
    let mut encoding = Vec::new();
    for batch in ENCODE_BATCHES {
        let count = ENCODE_SENTENCES.max(batch).min(texts.len());
        let started = Instant::now();
        for chunk in texts[..count].chunks(batch) {
            encoder.embed(chunk)?;
        }
        let seconds = started.elapsed().as_secs_f64();
        if show_progress {
            eprintln!("encoded {count} sentences at batch {batch} in {seconds:.2}s");
        }
        encoding.push(Throughput {
            batch,
            sentences: count,
            sentences_per_second: count as f64 / seconds.max(1e-9),
        });
    }
    Ok(encoding)
}

/// Bytes of the plain files directly in `dir`.
fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let meta = entry.and_then(|e| e.metadata()).map_err(|e| Error::io(dir, e))?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}
