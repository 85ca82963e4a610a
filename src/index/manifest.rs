//! `manifest.json`: what an index holds and how it was made, enough to check
//! it on opening and to rebuild it identically.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hnsw::HnswParams;
use crate::corpus::Format;
use crate::encoder::EncoderInfo;

/// Version of the on-disk layout. Bump it whenever a file's encoding changes;
/// opening an index of another version is refused, not guessed at.
/// Version 2: sentences carry their document and metadata.
pub const FORMAT_VERSION: u32 = 2;

/// The manifest of an index directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`FORMAT_VERSION`] when written); another is refused on opening.
    pub format_version: u32,
    /// Version of exemplar that built the index.
    pub exemplar_version: String,
    /// Seconds since the Unix epoch at build time.
    pub created_unix: u64,
    /// The encoder of the vectors; queries must be encoded by an equal one.
    pub model: EncoderInfo,
    /// Always `cosine`: inner product on L2-normalised vectors.
    pub metric: String,
    /// How the graph was built and is searched.
    pub hnsw: HnswInfo,
    /// What the examples were read from.
    pub corpus: CorpusInfo,
    /// The mention index, when the index has one (indexes built before it
    /// existed have none; `exemplar index mentions` adds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentions: Option<MentionInfo>,
    /// Every data file of the index with its size and sha256.
    pub files: BTreeMap<String, FileInfo>,
}

/// What the mention index holds (see `index::mentions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MentionInfo {
    /// Gold mentions of the pool.
    pub mentions: usize,
    /// Distinct normalised mention strings.
    pub strings: usize,
    /// Words of context on each side of a mention in its vector (0: the mention alone).
    pub window: usize,
    /// Vectors: one per string (window 0) or per mention.
    pub vectors: usize,
}

/// Build parameters plus what the build produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HnswInfo {
    /// Build parameters (inline in JSON).
    #[serde(flatten)]
    pub params: HnswParams,
    /// Layers of the built graph, the base layer included.
    pub layers: usize,
    /// Default `ef` used by searches of this index.
    pub ef_search: usize,
}

/// Where the examples came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusInfo {
    /// The files and directories read, in order.
    pub sources: Vec<SourceInfo>,
    /// sha256 of the stored examples (`examples.bin`): equal corpora, equal checksum.
    pub sha256: String,
    /// Number of examples.
    pub sentences: usize,
    /// Gold entities per type, sorted by type.
    pub entities_per_type: BTreeMap<String, usize>,
    /// Sentences longer than the model's maximum length, embedded truncated.
    pub truncated_sentences: usize,
}

/// One input file or directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The path as given to the build.
    pub path: String,
    /// The format it was read in.
    pub format: Format,
    /// sha256 of the file's bytes (absent for a BRAT directory).
    pub sha256: Option<String>,
}

/// Size and checksum of one file of the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Size in bytes.
    pub bytes: u64,
    /// sha256 of the contents, in hex.
    pub sha256: String,
}
