//! # exemplar
//!
//! Few-shot biomedical and clinical named-entity recognition with large
//! language models, made fast and reproducible. For each test sentence,
//! exemplar retrieves the most similar annotated training sentences
//! (KATE-style k-NN over sentence embeddings) to serve as in-context
//! demonstrations, the choice that matters most for few-shot NER
//! (Monajatipoor et al., 2024).
//!
//! The pieces, one module each:
//! - [`corpus`]: CoNLL/IOB, BRAT standoff, JSONL and plain-text readers into [`Sentence`]s;
//! - [`encoder`]: the [`Encoder`] trait and [`OnnxEncoder`], any local ONNX sentence encoder;
//! - [`index`]: the persisted [`Index`] (HNSW graph, examples, checked manifest);
//! - [`lexical`]: biomedical tokens and BM25 over an index's sentences;
//! - [`knowledge`]: knowledge sources (OBO ontologies such as HPO, term lists, an index's own annotations) and finding their terms in a sentence;
//! - [`select`]: strategies (k-NN, random, MMR, type coverage), their parameters, filters and order; the [`Selector`] trait;
//! - [`pick`]: choosing the sentences of an unlabelled pool to annotate (Vote-k, k-means, random);
//! - [`prompt`]: few-shot prompts (list, tanl, gpt-ner, dice) and reading answers back into spans;
//! - [`backend`]: generation backends (OpenAI-compatible servers), the answer cache, batch replay;
//! - [`eval`]: strict and relaxed P/R/F1, bootstrap intervals;
//! - [`run`]: one experiment, strategies side by side;
//! - [`serve`]: `exemplar serve`, demonstrations (and prompts) over HTTP;
//! - [`compare`]: selection strategies compared without an LLM (coverage of the gold entities, similarity, diversity);
//! - [`bench`]: retrieval benchmarks (synthetic data, recall@k, the `exemplar bench` report);
//!
//! ```
//! use exemplar::corpus::{self, Format, ReadOptions};
//! use exemplar::progress::Quiet;
//! use exemplar::{BuildOptions, Encoder, Index, Method, OnnxEncoder, Query, SearchMode, Selector, Strategy};
//!
//! # fn main() -> exemplar::Result<()> {
//! // The default model, as installed by scripts/setup.sh.
//! let model = exemplar::encoder::default_models_dir().join("all-MiniLM-L6-v2");
//! # // Runs where scripts/setup.sh has run; `cargo test` alone passes over it elsewhere.
//! # if !model.join("model.onnx").is_file() && std::env::var_os("EXEMPLAR_FULL_TESTS").is_none() {
//! #     return Ok(());
//! # }
//! let encoder = OnnxEncoder::open(&model, &Default::default(), None)?;
//!
//! // Index a (small) annotated corpus.
//! let dir = tempfile::tempdir().expect("a temporary directory");
//! let train = dir.path().join("train.jsonl");
//! std::fs::write(&train, concat!(
//!     r#"{"text": "Patients with cystic fibrosis often have pancreatic insufficiency.", "entities": [{"start": 14, "end": 29, "type": "Disease"}]}"#, "\n",
//!     r#"{"text": "The BRCA1 gene is linked to breast cancer.", "entities": [{"start": 29, "end": 42, "type": "Disease"}]}"#, "\n",
//!     r#"{"text": "Aspirin was given twice daily.", "entities": []}"#, "\n",
//! )).expect("writable");
//! let corpus = corpus::read(&train, Format::Jsonl, &ReadOptions::default())?;
//! let options = BuildOptions::default();
//! let out = dir.path().join("index");
//! exemplar::pipeline::build_and_save(&corpus, Vec::new(), &encoder, &options, &out, &Quiet)?;
//!
//! // Retrieve demonstrations for a test sentence, most similar last.
//! let index = Index::open(&dir.path().join("index"))?;
//! let text = "Mutations in BRCA2 also raise the risk of ovarian cancer.";
//! let vector = encoder.embed(&[text])?.vectors.remove(0);
//! let knn = Method::new(Strategy::Knn).build(&index, SearchMode::Hnsw { ef: None }, 2)?;
//! let demos = knn.select(&index, &Query { text, vector: Some(&vector), doc: None, mentions: None }, 2)?;
//! assert_eq!(demos.len(), 2);
//! assert_eq!(demos[1].example.text, "The BRCA1 gene is linked to breast cancer.");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod bench;
pub mod compare;
pub mod corpus;
pub mod digest;
pub mod encoder;
pub mod error;
pub mod eval;
pub mod index;
pub mod knowledge;
pub mod lexical;
pub mod names;
pub mod pick;
pub mod pipeline;
pub mod progress;
pub mod prompt;
pub mod run;
pub mod select;
pub mod serve;
pub mod vectors;

pub use corpus::{Corpus, Entity, Example, Format, Sentence, Span};
pub use encoder::{Encoder, EncoderInfo, HashedEncoder, OnnxEncoder};
pub use error::{Error, Result};
pub use index::{BuildOptions, HnswParams, Index, SearchMode};
pub use select::{Demo, Method, Query, Selector, Strategy};
pub mod backend;
