//! A persisted demonstration index: the training sentences, their vectors and
//! an HNSW graph over them, in one directory with a checked manifest.
//!
//! ```text
//! indexes/NAME -> .NAME.v<nanos>-<pid>   a link to the current version (see store.rs)
//! indexes/.NAME.v<nanos>-<pid>/
//!   manifest.json   format version, model, parameters, counts, file checksums
//!   examples.bin    the sentences with their entities (bincode)
//!   vectors.f32     unit vectors, little-endian f32, row-major
//!   graph.bin       the HNSW layers (bincode)
//!   mentions.bin, mentions.f32, mentions-graph.bin
//!                   the mention index (see mentions.rs)
//! ```

mod derived;
mod dot;
mod graph;
mod hnsw;
mod manifest;
pub mod mentions;
mod quantized;
mod store;

use std::any::Any;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use crate::vectors::Vectors;
pub use derived::Derived;
pub use dot::{dot, kernel_name};
pub use graph::{exact_search, exact_search_among, Graph, Hit};
pub use hnsw::{build_graph, HnswParams};
pub use manifest::{CorpusInfo, FileInfo, HnswInfo, Manifest, MentionInfo, SourceInfo, FORMAT_VERSION};
pub use mentions::{MentionTable, Mentions};
pub use quantized::Quantized;
pub use store::{check_replaceable, write_file_atomically};

use crate::corpus::{Corpus, Sentence};
use crate::digest::sha256_hex;
use crate::encoder::EncoderInfo;
use crate::error::{Error, Result};

const EXAMPLES: &str = "examples.bin";
const VECTORS: &str = "vectors.f32";
const GRAPH: &str = "graph.bin";
const MENTIONS: &str = "mentions.bin";
const MENTION_VECTORS: &str = "mentions.f32";
const MENTION_GRAPH: &str = "mentions-graph.bin";

/// Default candidate list length of a search; `index verify` measures the recall it gives.
pub const DEFAULT_EF_SEARCH: usize = 64;

/// How neighbours are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SearchMode {
    /// Walk the HNSW graph with this candidate list length (`None`: the index's default).
    Hnsw {
        /// Candidate list length; `None`: the index's `ef_search`.
        ef: Option<usize>,
    },
    /// Compare with every vector: slow, exact, for checking.
    Exact,
}

/// Options of [`Index::build`] beyond the HNSW parameters.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Graph construction parameters.
    pub hnsw: HnswParams,
    /// Candidate list length searches use by default.
    pub ef_search: usize,
    /// Words of context on each side of a mention in its vector (0: the
    /// mention alone; see [`mentions`]).
    pub mention_window: usize,
}

/// Default [`BuildOptions::mention_window`]: mentions embedded alone (the
/// better of the two measured in docs/experiments.md).
pub const DEFAULT_MENTION_WINDOW: usize = 0;

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            hnsw: HnswParams::default(),
            ef_search: DEFAULT_EF_SEARCH,
            mention_window: DEFAULT_MENTION_WINDOW,
        }
    }
}

/// Where an interrupted build of the index `dir` keeps its progress: a hidden
/// directory beside it.
pub fn partial_dir(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!(".{name}.partial"))
}

/// An index in memory, built or opened.
#[derive(Debug)]
pub struct Index {
    manifest: Manifest,
    examples: Vec<Sentence>,
    vectors: Vectors,
    /// 8-bit copy of `vectors` that searches walk the graph with (derived, not stored).
    codes: Quantized,
    graph: Graph,
    /// The pool's gold mentions with their vectors; `None` for an index built before them.
    mentions: Option<Mentions>,
    /// What higher layers derive from the sentences on first use (lexical index, gazetteer).
    derived: Derived,
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| Error::Internal(format!("cannot serialise the index: {e}")))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Index {
    /// Builds the graph over `vectors` (row i: the unit vector of
    /// sentence i of `corpus`, made by the encoder `model`; see
    /// `pipeline::build_index` to embed and build in one call).
    /// `truncated` counts the sentences the encoder had to cut. Nothing is
    /// written: call [`Index::save`].
    pub fn build(
        corpus: &Corpus,
        sources: Vec<SourceInfo>,
        vectors: Vectors,
        model: &EncoderInfo,
        truncated: usize,
        options: &BuildOptions,
    ) -> Result<Index> {
        if vectors.len() != corpus.sentences.len() || vectors.dim() != model.dimension {
            return Err(Error::InvalidInput(format!(
                "{} vectors of dimension {} for {} sentences and a model of dimension {}",
                vectors.len(),
                vectors.dim(),
                corpus.sentences.len(),
                model.dimension
            )));
        }
        let graph = build_graph(&vectors, &options.hnsw);
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            exemplar_version: env!("CARGO_PKG_VERSION").to_string(),
            created_unix: unix_now(),
            model: model.clone(),
            metric: "cosine".into(),
            hnsw: HnswInfo {
                params: options.hnsw,
                layers: graph.layer_count(),
                ef_search: options.ef_search,
            },
            corpus: CorpusInfo {
                sources,
                sha256: String::new(),
                sentences: corpus.sentences.len(),
                entities_per_type: corpus.counts_per_type(),
                truncated_sentences: truncated,
            },
            mentions: None,
            files: Default::default(),
        };
        Ok(Index {
            manifest,
            examples: corpus.sentences.clone(),
            codes: Quantized::new(&vectors),
            vectors,
            graph,
            mentions: None,
            derived: Derived::default(),
        })
    }

    /// Gives the index its mention index (made from its own sentences by
    /// its encoder: `pipeline::mention_index`), replacing any it had.
    pub fn set_mentions(&mut self, mentions: Mentions) -> Result<()> {
        mentions
            .table
            .validate(&self.examples)
            .map_err(|reason| Error::Internal(format!("a mention index of other sentences: {reason}")))?;
        if mentions.vectors.len() != mentions.table.points.len()
            || (!mentions.vectors.is_empty() && mentions.vectors.dim() != self.manifest.model.dimension)
        {
            return Err(Error::Internal(
                "mention vectors do not match their points or the model".into(),
            ));
        }
        self.manifest.mentions = Some(MentionInfo {
            mentions: mentions.table.mentions.len(),
            strings: mentions.table.strings.len(),
            window: mentions.table.window,
            vectors: mentions.vectors.len(),
        });
        self.mentions = Some(mentions);
        Ok(())
    }

    /// The mention index; `None` for an index built before exemplar kept
    /// one (`exemplar index mentions` adds it).
    pub fn mentions(&self) -> Option<&Mentions> {
        self.mentions.as_ref()
    }

    /// Writes the index as the directory `dir`, atomically, replacing any index there.
    pub fn save(&mut self, dir: &Path) -> Result<()> {
        let mut files = vec![
            (EXAMPLES, encode(&self.examples)?),
            (VECTORS, self.vectors.to_le_bytes()),
            (GRAPH, encode(&self.graph)?),
        ];
        if let Some(mentions) = &self.mentions {
            files.push((MENTIONS, encode(&mentions.table)?));
            files.push((MENTION_VECTORS, mentions.vectors.to_le_bytes()));
            files.push((MENTION_GRAPH, encode(&mentions.graph)?));
        }
        self.manifest.files = files
            .iter()
            .map(|(name, bytes)| {
                let info = FileInfo {
                    bytes: bytes.len() as u64,
                    sha256: sha256_hex(bytes),
                };
                (name.to_string(), info)
            })
            .collect();
        self.manifest.corpus.sha256 = self.manifest.files[EXAMPLES].sha256.clone();
        let manifest = serde_json::to_vec_pretty(&self.manifest)
            .map_err(|e| Error::Internal(format!("cannot serialise the manifest: {e}")))?;
        let mut all = files;
        all.push((store::MANIFEST, manifest));
        store::write_dir_atomically(dir, &all)
    }

    /// Opens an index (the link to its current version, or a plain directory),
    /// checking its format version, every file's size and checksum, that every
    /// vector is a finite unit vector, and the consistency of what they hold.
    pub fn open(dir: &Path) -> Result<Index> {
        if !dir.is_dir() {
            return Err(Error::io(
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no index here (build one with `exemplar index build`)",
                ),
            ));
        }
        // A rebuild may replace the index and remove the version just resolved
        // before its files are opened; the link then points to the new version,
        // which is read instead. Two retries: each needs a whole rebuild to
        // complete within one attempt.
        let mut retries = 2;
        loop {
            let version = store::resolve(dir);
            let opened = Self::open_version(dir, &version);
            if opened.is_ok() || retries == 0 || store::resolve(dir) == version {
                return opened;
            }
            retries -= 1;
        }
    }

    /// Opens the files of one version of the index `dir` (the directory itself
    /// or the one its link points to); errors name `dir`.
    fn open_version(dir: &Path, version: &Path) -> Result<Index> {
        // Every file is opened before any is read, so that a rebuild removing
        // this version meanwhile cannot take the later ones away.
        let [manifest, examples, vectors, graph, mention_table, mention_vectors, mention_graph] = [
            store::MANIFEST,
            EXAMPLES,
            VECTORS,
            GRAPH,
            MENTIONS,
            MENTION_VECTORS,
            MENTION_GRAPH,
        ]
        .map(|name| (name, File::open(version.join(name))));
        let manifest = read_manifest(dir, manifest)?;
        let corrupt = |reason: String| Error::IndexCorrupt {
            path: dir.to_path_buf(),
            reason,
        };
        for name in [EXAMPLES, VECTORS, GRAPH] {
            if !manifest.files.contains_key(name) {
                return Err(corrupt(format!("the manifest lists no {name}")));
            }
        }
        let examples: Vec<Sentence> = decode(dir, EXAMPLES, &read_checked(dir, &manifest, examples)?)?;
        let dim = manifest.model.dimension;
        let vectors = Vectors::from_le_bytes(dim, &read_checked(dir, &manifest, vectors)?)
            .ok_or_else(|| corrupt(format!("{VECTORS} does not hold whole {dim}-dimensional vectors")))?;
        let graph: Graph = decode(dir, GRAPH, &read_checked(dir, &manifest, graph)?)?;

        let n = examples.len();
        if vectors.len() != n || manifest.corpus.sentences != n {
            return Err(corrupt(format!(
                "{n} examples, {} vectors, manifest says {} sentences",
                vectors.len(),
                manifest.corpus.sentences
            )));
        }
        if let Some((row, problem)) = vectors.first_non_unit() {
            return Err(corrupt(format!(
                "{VECTORS}: row {row} (sentence {}) {problem}",
                examples[row].id
            )));
        }
        graph
            .validate(n)
            .map_err(|reason| corrupt(format!("{GRAPH}: {reason}")))?;
        let mentions = match &manifest.mentions {
            Some(_) => Some(read_mentions(
                dir,
                &manifest,
                &examples,
                [mention_table, mention_vectors, mention_graph],
            )?),
            None => None,
        };
        Ok(Index {
            manifest,
            examples,
            codes: Quantized::new(&vectors),
            vectors,
            graph,
            mentions,
            derived: Derived::default(),
        })
    }

    /// State a higher layer derives from this index on first use and keeps
    /// while the index lives (see [`Derived`]): built once per index, not per
    /// selector or request.
    pub fn derived<T: Any + Send + Sync>(&self, build: impl FnOnce(&Index) -> Result<T>) -> Result<Arc<T>> {
        self.derived.get_or_build(|| build(self))
    }

    /// Refuses an encoder whose vectors would not be comparable with the index's.
    pub fn check_encoder(&self, info: &EncoderInfo, dir: &Path) -> Result<()> {
        let built = &self.manifest.model;
        if built == info {
            return Ok(());
        }
        let describe = |m: &EncoderInfo| {
            format!(
                "{} (onnx sha256 {}…, {} pooling, max length {}, dim {})",
                m.id,
                &m.sha256.get(..12).unwrap_or(&m.sha256),
                serde_json::to_value(m.pooling)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                m.max_length,
                m.dimension
            )
        };
        Err(Error::IndexIncompatible {
            path: dir.to_path_buf(),
            reason: format!(
                "it was built with model {}, but the model in use is {}; pass --model with the index's model or rebuild the index",
                describe(built),
                describe(info)
            ),
        })
    }

    /// What the index holds and how it was built.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The stored sentences: example i is node i of the graph and row i of the vectors.
    pub fn examples(&self) -> &[Sentence] {
        &self.examples
    }

    /// The examples' unit vectors, one row each.
    pub fn vectors(&self) -> &Vectors {
        &self.vectors
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// Whether the index holds no examples.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// The `k` examples most similar to `query`, best first.
    pub fn search(&self, query: &[f32], k: usize, mode: SearchMode) -> Vec<Hit> {
        match mode {
            SearchMode::Hnsw { ef } => {
                let ef = ef.unwrap_or(self.manifest.hnsw.ef_search);
                self.graph
                    .search_quantized(&self.vectors, &self.codes, query, k, ef)
            }
            SearchMode::Exact => exact_search(&self.vectors, query, k),
        }
    }

    /// [`Index::search`] among the examples `admit` accepts (rows): `k` are
    /// returned whenever `k` are admitted and reachable. `admit` is consulted
    /// during the search, not after it.
    pub fn search_where(
        &self,
        query: &[f32],
        k: usize,
        mode: SearchMode,
        admit: impl Fn(usize) -> bool,
    ) -> Vec<Hit> {
        match mode {
            SearchMode::Hnsw { ef } => {
                let ef = ef.unwrap_or(self.manifest.hnsw.ef_search);
                self.graph
                    .search_quantized_where(&self.vectors, &self.codes, query, k, ef, |node| {
                        admit(node as usize)
                    })
            }
            SearchMode::Exact => {
                let rows = (0..self.len()).filter(|&row| admit(row)).map(|row| row as u32);
                exact_search_among(&self.vectors, query, k, rows)
            }
        }
    }

    /// The `k` of `rows` most similar to `query`, exhaustively, best first:
    /// cheaper than walking the graph when few rows are admitted.
    pub fn search_among(&self, query: &[f32], k: usize, rows: &[u32]) -> Vec<Hit> {
        exact_search_among(&self.vectors, query, k, rows.iter().copied())
    }
}

/// A file of an index version, opened (or not) by [`Index::open_version`].
type Opened = (&'static str, std::io::Result<File>);

fn read_all((_, file): Opened) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn read_manifest(dir: &Path, manifest: Opened) -> Result<Manifest> {
    let bytes = read_all(manifest).map_err(|e| Error::IndexCorrupt {
        path: dir.to_path_buf(),
        reason: format!("cannot read {}: {e}", store::MANIFEST),
    })?;
    let version: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::IndexCorrupt {
        path: dir.to_path_buf(),
        reason: format!("{} is not valid JSON: {e}", store::MANIFEST),
    })?;
    let found = version.get("format_version").and_then(|v| v.as_u64());
    if found != Some(u64::from(FORMAT_VERSION)) {
        return Err(Error::IndexIncompatible {
            path: dir.to_path_buf(),
            reason: format!(
                "index format version {}, this exemplar reads version {FORMAT_VERSION}; rebuild the index with `exemplar index build`",
                found.map_or("missing".to_string(), |v| v.to_string())
            ),
        });
    }
    serde_json::from_value(version).map_err(|e| Error::IndexCorrupt {
        path: dir.to_path_buf(),
        reason: format!("{}: {e}", store::MANIFEST),
    })
}

/// Reads and checks the mention index's three files.
fn read_mentions(
    dir: &Path,
    manifest: &Manifest,
    examples: &[Sentence],
    files: [Opened; 3],
) -> Result<Mentions> {
    let corrupt = |reason: String| Error::IndexCorrupt {
        path: dir.to_path_buf(),
        reason,
    };
    for name in [MENTIONS, MENTION_VECTORS, MENTION_GRAPH] {
        if !manifest.files.contains_key(name) {
            return Err(corrupt(format!(
                "the manifest describes a mention index but lists no {name}"
            )));
        }
    }
    let [table, vectors, graph] = files;
    let table: MentionTable = decode(dir, MENTIONS, &read_checked(dir, manifest, table)?)?;
    table
        .validate(examples)
        .map_err(|reason| corrupt(format!("{MENTIONS}: {reason}")))?;
    let dim = manifest.model.dimension;
    let vectors = Vectors::from_le_bytes(dim, &read_checked(dir, manifest, vectors)?).ok_or_else(|| {
        corrupt(format!(
            "{MENTION_VECTORS} does not hold whole {dim}-dimensional vectors"
        ))
    })?;
    if vectors.len() != table.points.len() {
        return Err(corrupt(format!(
            "{MENTION_VECTORS}: {} vectors for {} points",
            vectors.len(),
            table.points.len()
        )));
    }
    if let Some((row, problem)) = vectors.first_non_unit() {
        return Err(corrupt(format!("{MENTION_VECTORS}: row {row} {problem}")));
    }
    let graph: Graph = decode(dir, MENTION_GRAPH, &read_checked(dir, manifest, graph)?)?;
    graph
        .validate(vectors.len())
        .map_err(|reason| corrupt(format!("{MENTION_GRAPH}: {reason}")))?;
    Ok(Mentions {
        table,
        vectors,
        graph,
    })
}

/// Reads one data file and checks it against the manifest.
fn read_checked(dir: &Path, manifest: &Manifest, file: Opened) -> Result<Vec<u8>> {
    let name = file.0;
    let corrupt = |reason: String| Error::IndexCorrupt {
        path: dir.to_path_buf(),
        reason: format!("{name}: {reason}"),
    };
    let expected = &manifest.files[name];
    let bytes = read_all(file).map_err(|e| corrupt(format!("cannot read it ({e})")))?;
    if bytes.len() as u64 != expected.bytes {
        return Err(corrupt(format!(
            "{} bytes, the manifest says {} (truncated or replaced)",
            bytes.len(),
            expected.bytes
        )));
    }
    if sha256_hex(&bytes) != expected.sha256 {
        return Err(corrupt("checksum mismatch (the file was altered)".into()));
    }
    Ok(bytes)
}

fn decode<T: DeserializeOwned>(dir: &Path, name: &str, bytes: &[u8]) -> Result<T> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(value, _)| value)
        .map_err(|e| Error::IndexCorrupt {
            path: dir.to_path_buf(),
            reason: format!("{name}: cannot decode ({e})"),
        })
}
