//! What each selection strategy costs on a real index: the time to build its
//! selector (where per-index state is derived) and the latency of choosing
//! k demonstrations for one query, the query's vector given (embedding is
//! measured apart, as encoding throughput).

use std::time::Instant;

use super::measure::time_each;
use super::report::SelectionRow;
use crate::error::Result;
use crate::index::{Index, SearchMode, Vectors};
use crate::names::Named;
use crate::select::{Method, Query, Strategy};

/// One row per strategy of [`Strategy`] the index serves (its defaults for `k`, no filter,
/// the index's own ef): build time, then [`Selector::select`] timed on each
/// of `texts` with its row of `vectors`.
///
/// [`Selector::select`]: crate::select::Selector::select
pub(super) fn measure_selection(
    index: &Index,
    texts: &[&str],
    vectors: &Vectors,
    k: usize,
) -> Result<Vec<SelectionRow>> {
    Strategy::ALL
        .iter()
        // entity needs the mention index, which indexes built before it lack.
        .filter(|&&strategy| strategy != Strategy::Entity || index.mentions().is_some())
        .map(|&strategy| {
            let method = Method::new(strategy).resolve(k)?;
            let started = Instant::now();
            let selector = method.build(index, SearchMode::Hnsw { ef: None }, k)?;
            let build_ms = started.elapsed().as_secs_f64() * 1e3;
            let (chosen, timing) = time_each(texts.len(), |i| {
                let query = Query {
                    text: texts[i],
                    vector: Some(vectors.row(i)),
                    doc: None,
                    mentions: None,
                };
                selector.select(index, &query, k).map(|demos| demos.len())
            });
            let chosen = chosen.into_iter().collect::<Result<Vec<usize>>>()?;
            Ok(SelectionRow {
                strategy,
                params: method.params,
                build_ms,
                p50_us: timing.p50_us,
                p99_us: timing.p99_us,
                qps: timing.qps,
                demos: chosen.iter().sum::<usize>() as f64 / chosen.len().max(1) as f64,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{tokenize, Corpus, Sentence, Span};
    use crate::encoder::{embed_all, Encoder, HashedEncoder};
    use crate::index::{BuildOptions, MentionTable, Mentions};

    /// 60 sentences of numbered words, every other one with an entity.
    fn index() -> (Index, Vec<String>) {
        let sentences: Vec<Sentence> = (0..60)
            .map(|i| {
                let text = format!("word{} word{} word{} sentence {i}", i % 7, i % 11, i % 13);
                let entities = match i % 2 {
                    0 => vec![Span {
                        start: 0,
                        end: 5,
                        label: ["A", "B"][i % 4 / 2].into(),
                    }],
                    _ => Vec::new(),
                };
                Sentence {
                    id: format!("s{i}"),
                    tokens: tokenize(&text),
                    text,
                    entities,
                    doc: None,
                    meta: Default::default(),
                }
            })
            .collect();
        let texts: Vec<String> = sentences.iter().map(|s| s.text.clone()).collect();
        let encoder = HashedEncoder::new(32, 256).unwrap();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = embed_all(&encoder, &refs, None, |_| {}).unwrap().vectors;
        let corpus = Corpus {
            sentences,
            warnings: Vec::new(),
        };
        let mut index = Index::build(
            &corpus,
            Vec::new(),
            vectors,
            encoder.info(),
            0,
            &BuildOptions::default(),
        )
        .unwrap();
        let table = MentionTable::collect(index.examples(), 0);
        let points = table.point_texts(index.examples());
        let points: Vec<&str> = points.iter().map(String::as_str).collect();
        let mention_vectors = embed_all(&encoder, &points, None, |_| {}).unwrap().vectors;
        index
            .set_mentions(Mentions::build(table, mention_vectors))
            .unwrap();
        (index, texts)
    }

    #[test]
    fn every_strategy_is_measured_choosing_k() {
        let (index, texts) = index();
        let queries: Vec<&str> = texts[..10].iter().map(String::as_str).collect();
        let rows = measure_selection(&index, &queries, index.vectors(), 4).unwrap();
        let measured: Vec<Strategy> = rows.iter().map(|r| r.strategy).collect();
        assert_eq!(measured, Strategy::ALL);
        for row in &rows {
            assert_eq!(row.demos, 4.0, "{row:?}");
            assert!(
                row.p50_us <= row.p99_us && row.qps > 0.0 && row.build_ms >= 0.0,
                "{row:?}"
            );
            assert_eq!(row.params, row.strategy.resolve(&Default::default(), 4).unwrap());
        }
    }
}
