//! Work that joins the layers below: embedding a corpus with an encoder and
//! building an index from the vectors. The command line, the server and the
//! Python bindings call these, so each flow exists once.

use std::path::Path;
use std::time::Instant;

use crate::corpus::{Corpus, Example, Format};
use crate::digest::sha256_hex;
use crate::encoder::{embed_all, Embedded, Encoder, Truncation};
use crate::error::{Error, Result};
use crate::index::{
    partial_dir, BuildOptions, Index, MentionTable, Mentions, SearchMode, SourceInfo, Vectors,
};
use crate::progress::Progress;
use crate::select::{select_batch, Method, Resources, Selection, Selector};

/// Embeds `texts` (no checkpoint), reporting progress as the stage `"embedding"`.
pub fn embed(encoder: &dyn Encoder, texts: &[&str], progress: &dyn Progress) -> Result<Embedded> {
    progress.start("embedding", texts.len() as u64);
    let embedded = embed_all(encoder, texts, None, |done| progress.advance(done as u64));
    progress.finish();
    embedded
}

/// Demonstrations for `queries` (in query order) and the queries the encoder
/// had to cut.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Selected {
    /// One selection per query, in query order.
    pub selections: Vec<Selection>,
    /// Queries cut to the model's maximum length.
    pub truncated: Vec<Truncation>,
    /// What gives queries fewer demonstrations than asked (see [`Method::check`]).
    pub warnings: Vec<String>,
}

/// Chooses `k` demonstrations for each query by `method` (searching as
/// `mode` says), embedding the queries first when the strategy needs vectors
/// (then `resources.encoder` must be given and be the index's; knowledge
/// sources there serve `entity`'s `sources=kb`). The method is checked
/// against the index before anything is embedded, and recorded, resolved,
/// with each selection. Queries run in parallel.
pub fn select(
    index: &Index,
    method: &Method,
    mode: SearchMode,
    queries: &[Example],
    k: usize,
    resources: &Resources,
    progress: &dyn Progress,
) -> Result<Selected> {
    let prepared = Prepared::new(index, method, mode, k, resources)?;
    let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    let (vectors, truncated) = if prepared.selector.needs_vector() {
        let encoder = resources.encoder.as_deref().ok_or_else(|| {
            Error::InvalidInput(format!(
                "strategy {} needs the sentence encoder",
                prepared.selector.name()
            ))
        })?;
        let embedded = embed(encoder, &texts, progress)?;
        (Some(embedded.vectors), embedded.truncated)
    } else {
        (None, Vec::new())
    };
    let mut selected = prepared.run(index, queries, vectors.as_ref(), k)?;
    selected.truncated = truncated;
    Ok(selected)
}

/// [`select`] for queries embedded by the caller (row i of `vectors` is
/// query i's, from the index's encoder; `None` for strategies that need no
/// vectors): what the Python bindings' `Index.select(vectors=...)` runs.
pub fn select_embedded(
    index: &Index,
    method: &Method,
    mode: SearchMode,
    queries: &[Example],
    k: usize,
    vectors: Option<&Vectors>,
    resources: &Resources,
) -> Result<Selected> {
    Prepared::new(index, method, mode, k, resources)?.run(index, queries, vectors, k)
}

/// A method checked against an index, resolved and built.
struct Prepared {
    method: Method,
    selector: Box<dyn Selector>,
    warnings: Vec<String>,
}

impl Prepared {
    fn new(
        index: &Index,
        method: &Method,
        mode: SearchMode,
        k: usize,
        resources: &Resources,
    ) -> Result<Prepared> {
        let warnings = method.check(index, k)?;
        method.refuse_first_pass()?;
        let method = method.clone().resolve(k)?;
        let selector = method.build_with(index, mode, k, resources)?;
        Ok(Prepared {
            method,
            selector,
            warnings,
        })
    }

    fn run(
        self,
        index: &Index,
        queries: &[Example],
        vectors: Option<&Vectors>,
        k: usize,
    ) -> Result<Selected> {
        let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
        let demos = select_batch(index, self.selector.as_ref(), &texts, vectors, k)?;
        let score_kind = self.method.score_kind()?;
        let selections = queries
            .iter()
            .zip(demos)
            .map(|(query, demos)| Selection {
                query: query.clone(),
                method: self.method.clone(),
                score_kind,
                demos,
            })
            .collect();
        Ok(Selected {
            selections,
            truncated: Vec::new(),
            warnings: self.warnings,
        })
    }
}

/// What an index records of the corpus files it is built from: each path as
/// given, its format and, for a file (not a BRAT directory), its sha256.
pub fn sources(paths: &[impl AsRef<Path>], format: Format) -> Result<Vec<SourceInfo>> {
    paths
        .iter()
        .map(|path| {
            let path = path.as_ref();
            let sha256 = match path.is_file() {
                true => Some(sha256_hex(&std::fs::read(path).map_err(|e| Error::io(path, e))?)),
                false => None,
            };
            Ok(SourceInfo {
                path: path.display().to_string(),
                format,
                sha256,
            })
        })
        .collect()
}

/// What [`build_index`] noticed besides the index itself.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BuildReport {
    /// Sentences cut to the model's maximum length.
    pub truncated: Vec<Truncation>,
    /// Sentences whose vectors came from an interrupted earlier build.
    pub resumed: usize,
    /// Seconds spent embedding the sentences, building their graph, and
    /// building the mention index (embedding the mentions included).
    pub seconds: PhaseSeconds,
}

/// Where an index build's time went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhaseSeconds {
    /// Embedding the sentences.
    pub embedding: f64,
    /// Building the sentences' HNSW graph.
    pub graph: f64,
    /// Embedding the mentions and building their graph.
    pub mentions: f64,
}

/// Embeds every sentence of `corpus` with `encoder` and builds the index in
/// memory; nothing is written (see [`build_and_save`]). With a `checkpoint`
/// directory, finished embeddings are kept there so an interrupted build
/// resumes; the caller removes it once the index is stored.
pub fn build_index(
    corpus: &Corpus,
    sources: Vec<SourceInfo>,
    encoder: &dyn Encoder,
    options: &BuildOptions,
    checkpoint: Option<&Path>,
    progress: &dyn Progress,
) -> Result<(Index, BuildReport)> {
    let texts: Vec<&str> = corpus.sentences.iter().map(|s| s.text.as_str()).collect();
    let started = Instant::now();
    progress.start("embedding", texts.len() as u64);
    let embedded = embed_all(encoder, &texts, checkpoint, |done| progress.advance(done as u64));
    progress.finish();
    let embedded = embedded?;
    let mut seconds = PhaseSeconds {
        embedding: started.elapsed().as_secs_f64(),
        ..Default::default()
    };

    let started = Instant::now();
    progress.start("graph", 1);
    let index = Index::build(
        corpus,
        sources,
        embedded.vectors,
        encoder.info(),
        embedded.truncated.len(),
        options,
    );
    progress.finish();
    let mut index = index?;
    seconds.graph = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mentions = mention_index(&index, encoder, options.mention_window, progress)?;
    index.set_mentions(mentions)?;
    seconds.mentions = started.elapsed().as_secs_f64();
    let report = BuildReport {
        truncated: embedded.truncated,
        resumed: embedded.resumed,
        seconds,
    };
    Ok((index, report))
}

/// The mention index of `index`'s sentences: their gold mentions, embedded
/// by `encoder` (the index's) alone (`window` 0) or with `window` words of
/// context on each side, and a graph over them. Progress is the stage
/// `"mentions"`.
pub fn mention_index(
    index: &Index,
    encoder: &dyn Encoder,
    window: usize,
    progress: &dyn Progress,
) -> Result<Mentions> {
    let table = MentionTable::collect(index.examples(), window);
    let texts = table.point_texts(index.examples());
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    progress.start("mentions", texts.len() as u64);
    let embedded = embed_all(encoder, &texts, None, |done| progress.advance(done as u64));
    progress.finish();
    Ok(Mentions::build(table, embedded?.vectors))
}

/// [`build_index`], then writes the index as the directory `out` atomically
/// (replacing an index there). Finished embeddings are kept beside `out`
/// ([`partial_dir`]) until the index is stored, so a killed build resumes.
pub fn build_and_save(
    corpus: &Corpus,
    sources: Vec<SourceInfo>,
    encoder: &dyn Encoder,
    options: &BuildOptions,
    out: &Path,
    progress: &dyn Progress,
) -> Result<(Index, BuildReport)> {
    let checkpoint = partial_dir(out);
    let (mut index, report) = build_index(corpus, sources, encoder, options, Some(&checkpoint), progress)?;
    index.save(out)?;
    std::fs::remove_dir_all(&checkpoint).map_err(|e| Error::io(&checkpoint, e))?;
    Ok((index, report))
}
