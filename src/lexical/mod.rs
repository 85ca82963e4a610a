//! Lexical retrieval over an index's sentences: BM25 on the tokens of
//! [`tokenize`], searched with tantivy (docs/performance/lexical-1m.md has
//! the measurements that chose it over the `bm25` crate).
//!
//! The inverted index is derived, not stored: it is built in memory from the
//! index's sentences the first time a lexical strategy asks for it (about
//! 0.4 s for 20k sentences, 17 s for 1M) and kept for the life of the
//! process, so k-NN users never pay for it and a server builds it once, not
//! per request.
//!
//! Scores are tantivy's BM25: Lucene's idf, `ln(1 + (N − n + 0.5) / (n + 0.5))`
//! (never negative), and k1 = 1.2, b = 0.75, which tantivy fixes. Sentence
//! lengths are stored exactly up to 40 tokens and approximately beyond.

mod tokenize;

use std::sync::Arc;

use rayon::prelude::*;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, Scorer, TermQuery, Weight};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{DocAddress, DocSet, IndexReader, ReloadPolicy, Searcher, TantivyDocument, TantivyError, Term};

use crate::error::{Error, Result};
use crate::index::Index;

pub use tokenize::tokenize;

/// BM25's term-frequency saturation, as tantivy fixes it.
pub const K1: f32 = 1.2;

/// BM25's length normalisation, as tantivy fixes it.
pub const B: f32 = 0.75;

/// Sentences tokenised per batch while building (bounds the memory of the
/// joined token strings).
const BATCH: usize = 16_384;

/// The writer's memory budget (tantivy's minimum is 15 MB).
const WRITER_BYTES: usize = 64 << 20;

fn internal(e: TantivyError) -> Error {
    Error::Internal(format!("lexical index: {e}"))
}

/// A BM25 index over sentences (row i: sentence i).
pub struct Lexical {
    /// Kept so that the searcher's segments stay valid.
    _reader: IndexReader,
    searcher: Searcher,
    field: Field,
    /// Row of each document, per segment.
    rows: Vec<Vec<u32>>,
    /// Document of each row.
    docs: Vec<DocAddress>,
}

impl Lexical {
    /// Indexes `texts` (row i: `texts[i]`).
    pub fn build(texts: &[&str]) -> Result<Lexical> {
        let mut schema = Schema::builder();
        let indexing = TextFieldIndexing::default()
            .set_tokenizer("exemplar")
            .set_index_option(IndexRecordOption::WithFreqs);
        let field = schema.add_text_field("text", TextOptions::default().set_indexing_options(indexing));
        let row_field = schema.add_u64_field("row", FAST);
        let index = tantivy::Index::create_in_ram(schema.build());
        // The tokens are exemplar's, joined by spaces: the index only splits them again.
        index
            .tokenizers()
            .register("exemplar", TextAnalyzer::from(WhitespaceTokenizer::default()));
        let mut writer = index
            .writer_with_num_threads::<TantivyDocument>(1, WRITER_BYTES)
            .map_err(internal)?;
        for (batch, chunk) in texts.chunks(BATCH).enumerate() {
            let joined: Vec<String> = chunk.par_iter().map(|text| tokenize(text).join(" ")).collect();
            for (i, tokens) in joined.into_iter().enumerate() {
                let mut document = TantivyDocument::new();
                document.add_text(field, tokens);
                document.add_u64(row_field, (batch * BATCH + i) as u64);
                writer.add_document(document).map_err(internal)?;
            }
        }
        writer.commit().map_err(internal)?;
        writer.wait_merging_threads().map_err(internal)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(internal)?;
        let searcher = reader.searcher();
        let (rows, docs) = row_maps(&searcher, texts.len())?;
        Ok(Lexical {
            _reader: reader,
            searcher,
            field,
            rows,
            docs,
        })
    }

    /// Sentences indexed.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether no sentence is indexed.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The query as tantivy takes it: each of its tokens a term (a token
    /// given twice counts twice, as in rank-bm25).
    pub fn query(&self, text: &str) -> LexicalQuery {
        let clauses: Vec<(Occur, Box<dyn Query>)> = tokenize(text)
            .into_iter()
            .map(|token| {
                let term = TermQuery::new(
                    Term::from_field_text(self.field, &token),
                    IndexRecordOption::WithFreqs,
                );
                (Occur::Should, Box::new(term) as Box<dyn Query>)
            })
            .collect();
        LexicalQuery(BooleanQuery::new(clauses))
    }

    /// The `n` best rows sharing a term with `query` (all of them when fewer
    /// do), best first, with their scores; equal scores by row.
    pub fn top(&self, query: &LexicalQuery, n: usize) -> Result<Vec<(usize, f32)>> {
        let collector = TopDocs::with_limit(n.max(1)).order_by_score();
        let hits = self.searcher.search(&query.0, &collector).map_err(internal)?;
        let mut top: Vec<(usize, f32)> = hits
            .into_iter()
            .map(|(score, doc)| (self.row(doc), score))
            .collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(top)
    }

    /// The scores of `rows` against `query` (0 for a row sharing no term).
    pub fn scores(&self, query: &LexicalQuery, rows: &[usize]) -> Result<Vec<f32>> {
        let weight: Box<dyn Weight> = query
            .0
            .weight(EnableScoring::enabled_from_searcher(&self.searcher))
            .map_err(internal)?;
        // Visit the documents in order, segment by segment, moving one scorer
        // forward through each segment's matches: a seek per row instead of
        // an explanation built per row.
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| {
            let doc = self.docs[rows[i]];
            (doc.segment_ord, doc.doc_id)
        });
        let mut scores = vec![0.0; rows.len()];
        let mut current: Option<(u32, Box<dyn Scorer>)> = None;
        for i in order {
            let doc = self.docs[rows[i]];
            let scorer = match &mut current {
                Some((segment, scorer)) if *segment == doc.segment_ord => scorer,
                _ => {
                    let reader = self.searcher.segment_reader(doc.segment_ord);
                    let scorer = weight.scorer(reader, 1.0).map_err(internal)?;
                    &mut current.insert((doc.segment_ord, scorer)).1
                }
            };
            if scorer.doc() < doc.doc_id {
                scorer.seek(doc.doc_id);
            }
            if scorer.doc() == doc.doc_id {
                scores[i] = scorer.score();
            }
        }
        Ok(scores)
    }

    fn row(&self, doc: DocAddress) -> usize {
        self.rows[doc.segment_ord as usize][doc.doc_id as usize] as usize
    }
}

/// Each segment's documents' rows, and each row's document, from the row field.
fn row_maps(searcher: &Searcher, len: usize) -> Result<(Vec<Vec<u32>>, Vec<DocAddress>)> {
    let mut rows = Vec::new();
    let mut docs = vec![DocAddress::new(0, 0); len];
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let column = segment.fast_fields().u64("row").map_err(internal)?;
        let mut of_segment = Vec::with_capacity(segment.max_doc() as usize);
        for doc in 0..segment.max_doc() {
            let row = column
                .first(doc)
                .filter(|&row| (row as usize) < len)
                .ok_or_else(|| Error::Internal(format!("lexical index: document {doc} has no row")))?;
            docs[row as usize] = DocAddress::new(ord as u32, doc);
            of_segment.push(row as u32);
        }
        rows.push(of_segment);
    }
    Ok((rows, docs))
}

/// A query tokenised for a [`Lexical`] index.
pub struct LexicalQuery(BooleanQuery);

/// The lexical index of `index`'s sentences: built on the index's first
/// lexical search, then kept with the index (so every selector and request
/// over it shares one, and it is dropped with the index).
pub fn of(index: &Index) -> Result<Arc<Lexical>> {
    index.derived(|index| {
        let texts: Vec<&str> = index.examples().iter().map(|s| s.text.as_str()).collect();
        Lexical::build(&texts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(lexical: &Lexical, query: &str) -> Vec<usize> {
        let top = lexical.top(&lexical.query(query), 10).unwrap();
        top.into_iter().map(|(row, _)| row).collect()
    }

    #[test]
    fn rare_shared_terms_rank_first_and_unrelated_rows_are_left_out() {
        let texts = [
            "the patient had a fever",
            "BRCA1 mutations raise the risk of breast cancer",
            "the the the the",
            "IL-2 therapy",
        ];
        let lexical = Lexical::build(&texts).unwrap();
        assert_eq!(lexical.len(), 4);
        assert_eq!(rows(&lexical, "brca1 carriers")[0], 1);
        assert_eq!(rows(&lexical, "IL 2"), [3]);
        assert_eq!(rows(&lexical, "il-2")[0], 3);
        assert!(rows(&lexical, "aspirin").is_empty());
        assert!(rows(&lexical, " ; ").is_empty());
        let query = lexical.query("breast cancer");
        let scores = lexical.scores(&query, &[0, 1]).unwrap();
        assert_eq!(scores[0], 0.0);
        let top = lexical.top(&query, 1).unwrap();
        assert_eq!(top, [(1, scores[1])], "the same score either way");
    }

    #[test]
    fn scores_of_rows_in_any_order_equal_the_search_s() {
        let texts: Vec<String> = (0..200)
            .map(|i| {
                format!(
                    "cancer risk {} gene{} patient {}",
                    i % 7,
                    i % 13,
                    ["fever", "cough", "pain"][i % 3]
                )
            })
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let lexical = Lexical::build(&refs).unwrap();
        for text in ["gene3 fever", "cancer 5 pain gene12", "unrelated words"] {
            let query = lexical.query(text);
            let searched: std::collections::HashMap<usize, f32> =
                lexical.top(&query, 200).unwrap().into_iter().collect();
            // Unsorted, repeated and unmatched rows.
            let rows: Vec<usize> = [199, 3, 3, 150, 0, 77, 42, 198, 1].to_vec();
            let scores = lexical.scores(&query, &rows).unwrap();
            for (row, score) in rows.iter().zip(scores) {
                let expected = searched.get(row).copied().unwrap_or(0.0);
                assert!(
                    (score - expected).abs() < 1e-6,
                    "{text}: row {row} {score} != {expected}"
                );
            }
        }
    }

    #[test]
    fn bm25_as_lucene_defines_it() {
        // N = 3, "fever" in 2 sentences; sentence 0 has 1 token, the mean is 2.
        let lexical = Lexical::build(&["fever", "fever cough", "cough and cold"]).unwrap();
        let idf = (1.0f32 + (3.0 - 2.0 + 0.5) / (2.0 + 0.5)).ln();
        let tf = |length: f32| (K1 + 1.0) / (1.0 + K1 * (1.0 - B + B * length / 2.0));
        let top = lexical.top(&lexical.query("fever"), 5).unwrap();
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [0, 1]);
        assert!((top[0].1 - idf * tf(1.0)).abs() < 1e-4, "{top:?}");
        assert!((top[1].1 - idf * tf(2.0)).abs() < 1e-4, "{top:?}");
    }

    #[test]
    fn ties_go_to_the_lower_row() {
        let lexical = Lexical::build(&["fever a", "fever b", "fever c"]).unwrap();
        assert_eq!(rows(&lexical, "fever"), [0, 1, 2]);
    }

    #[test]
    fn rows_survive_many_batches() {
        let texts: Vec<String> = (0..BATCH + 10).map(|i| format!("sentence w{i}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let lexical = Lexical::build(&refs).unwrap();
        for row in [0, 7, BATCH - 1, BATCH, BATCH + 9] {
            assert_eq!(rows(&lexical, &format!("w{row}")), [row]);
        }
    }
}
