//! A model directory on disk: `model.onnx`, `tokenizer.json` and the configs
//! beside them. Pooling and maximum length are read from (in order of
//! precedence) command-line overrides, `exemplar.json`, the sentence-transformers
//! files `1_Pooling/config.json` and `sentence_bert_config.json`, and defaults.
//! A biomedical encoder is therefore a directory, not a code change.

use std::path::{Path, PathBuf};

use crate::digest::sha256_hex;
use serde::Deserialize;

use super::{EncoderInfo, Pooling};
use crate::error::{Error, Result};

/// Folder name of the default model under the models directory.
pub const DEFAULT_MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Where `scripts/setup.sh` puts models and the ONNX Runtime library: `$EXEMPLAR_MODELS`,
/// else `models/` in the working directory, else `models/` beside the checkout the
/// binary was built in (so `target/release/exemplar` works from any directory).
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("EXEMPLAR_MODELS") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("models");
    if local.is_dir() {
        return local;
    }
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    if built_in.is_dir() {
        return built_in;
    }
    local
}

/// Settings given on the command line that win over the directory's config.
#[derive(Debug, Clone, Default)]
pub struct ModelOverrides {
    /// Pooling instead of the directory's.
    pub pooling: Option<Pooling>,
    /// Maximum length in word pieces instead of the directory's.
    pub max_length: Option<usize>,
    /// Model name instead of `exemplar.json`'s `id` or the directory's name.
    pub id: Option<String>,
}

/// The files of one model, read into memory, and what they say about it.
pub struct ModelDir {
    /// The directory.
    pub path: PathBuf,
    /// `model.onnx`: the encoder's graph.
    pub onnx: Vec<u8>,
    /// `tokenizer.json`.
    pub tokenizer: Vec<u8>,
    /// `config.json`, or `{}` when there is none.
    pub config: Vec<u8>,
    /// `special_tokens_map.json`, or `{}` when there is none.
    pub special_tokens_map: Vec<u8>,
    /// `tokenizer_config.json`, or `{}` when there is none.
    pub tokenizer_config: Vec<u8>,
    /// Everything but the dimension, which only running the model tells.
    pub info: EncoderInfo,
}

/// `exemplar.json`: an explicit description of a model directory.
#[derive(Debug, Default, Deserialize)]
struct ExemplarConfig {
    id: Option<String>,
    pooling: Option<Pooling>,
    max_length: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct StPooling {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
}

#[derive(Debug, Deserialize)]
struct StConfig {
    max_seq_length: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct HfConfig {
    max_position_embeddings: Option<usize>,
}

impl ModelDir {
    /// Reads a model directory. A missing `model.onnx` or `tokenizer.json` is an
    /// error naming the file and the set-up script that provides the default model.
    pub fn open(path: &Path, overrides: &ModelOverrides) -> Result<ModelDir> {
        let onnx = read_required(path, "model.onnx")?;
        let tokenizer = read_required(path, "tokenizer.json")?;
        let config = read_optional(path, "config.json")?.unwrap_or_else(|| b"{}".to_vec());
        let special_tokens_map =
            read_optional(path, "special_tokens_map.json")?.unwrap_or_else(|| b"{}".to_vec());
        let tokenizer_config =
            read_optional(path, "tokenizer_config.json")?.unwrap_or_else(|| b"{}".to_vec());

        let explicit: ExemplarConfig = parse_optional(path, "exemplar.json")?.unwrap_or_default();
        let st_pooling: Option<StPooling> = parse_optional(path, "1_Pooling/config.json")?;
        let st_config: Option<StConfig> = parse_optional(path, "sentence_bert_config.json")?;
        let hf_config: Option<HfConfig> = parse_optional(path, "config.json")?;

        let pooling = overrides
            .pooling
            .or(explicit.pooling)
            .or_else(|| st_pooling.and_then(|p| pooling_from_st(&p)))
            .unwrap_or(Pooling::Mean);
        let max_length = overrides
            .max_length
            .or(explicit.max_length)
            .or_else(|| st_config.and_then(|c| c.max_seq_length))
            .or_else(|| hf_config.and_then(|c| c.max_position_embeddings))
            .unwrap_or(512);
        let id = overrides
            .id
            .clone()
            .or(explicit.id)
            .unwrap_or_else(|| directory_name(path));

        let info = EncoderInfo {
            id,
            sha256: sha256_hex(&onnx),
            tokenizer_sha256: sha256_hex(&tokenizer),
            dimension: 0,
            pooling,
            max_length,
        };
        Ok(ModelDir {
            path: path.to_path_buf(),
            onnx,
            tokenizer,
            config,
            special_tokens_map,
            tokenizer_config,
            info,
        })
    }

    /// The ONNX Runtime library to load: `explicit`, else `$ORT_DYLIB_PATH`, else the
    /// newest `libonnxruntime.so*` under `<models>/onnxruntime/`.
    pub fn onnxruntime_library(explicit: Option<&Path>) -> Result<PathBuf> {
        if let Some(path) = explicit {
            return Ok(path.to_path_buf());
        }
        if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
            return Ok(PathBuf::from(path));
        }
        let dir = default_models_dir().join("onnxruntime");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::Model {
                path: dir.clone(),
                message: format!(
                    "cannot find the ONNX Runtime library ({e}); run scripts/setup.sh or set ORT_DYLIB_PATH"
                ),
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("libonnxruntime.so"))
            })
            .collect();
        found.sort();
        found.pop().ok_or_else(|| Error::Model {
            path: dir,
            message: "no libonnxruntime.so* here; run scripts/setup.sh or set ORT_DYLIB_PATH".into(),
        })
    }
}

fn pooling_from_st(config: &StPooling) -> Option<Pooling> {
    if config.pooling_mode_mean_tokens {
        Some(Pooling::Mean)
    } else if config.pooling_mode_cls_token {
        Some(Pooling::Cls)
    } else {
        None
    }
}

fn directory_name(path: &Path) -> String {
    path.canonicalize()
        .ok()
        .as_deref()
        .unwrap_or(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn read_required(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|e| Error::Model {
        path: path.clone(),
        message: format!(
            "cannot read {name} ({e}); a model directory needs model.onnx and tokenizer.json \
             (run scripts/setup.sh for the default model, or pass --model DIR)"
        ),
    })
}

fn read_optional(dir: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn parse_optional<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<T>> {
    let Some(bytes) = read_optional(dir, name)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Model {
            path: dir.join(name),
            message: format!("invalid JSON: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn settings_come_from_sentence_transformers_files() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "model.onnx", "graph");
        write(dir.path(), "tokenizer.json", "{}");
        write(
            dir.path(),
            "1_Pooling/config.json",
            r#"{"pooling_mode_cls_token": true}"#,
        );
        write(
            dir.path(),
            "sentence_bert_config.json",
            r#"{"max_seq_length": 128}"#,
        );
        let model = ModelDir::open(dir.path(), &ModelOverrides::default()).unwrap();
        assert_eq!(model.info.pooling, Pooling::Cls);
        assert_eq!(model.info.max_length, 128);
        assert_eq!(model.info.sha256, sha256_hex(b"graph"));
    }

    #[test]
    fn exemplar_json_and_overrides_take_precedence() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "model.onnx", "graph");
        write(dir.path(), "tokenizer.json", "{}");
        write(
            dir.path(),
            "1_Pooling/config.json",
            r#"{"pooling_mode_cls_token": true}"#,
        );
        write(
            dir.path(),
            "exemplar.json",
            r#"{"id": "bio/encoder", "pooling": "mean", "max_length": 64}"#,
        );
        let model = ModelDir::open(dir.path(), &ModelOverrides::default()).unwrap();
        assert_eq!(
            (model.info.id.as_str(), model.info.pooling, model.info.max_length),
            ("bio/encoder", Pooling::Mean, 64)
        );
        let overrides = ModelOverrides {
            pooling: Some(Pooling::Cls),
            max_length: Some(32),
            id: None,
        };
        let model = ModelDir::open(dir.path(), &overrides).unwrap();
        assert_eq!((model.info.pooling, model.info.max_length), (Pooling::Cls, 32));
    }

    #[test]
    fn missing_model_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "tokenizer.json", "{}");
        let err = ModelDir::open(dir.path(), &ModelOverrides::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("model.onnx") && err.contains("setup.sh"), "{err}");
    }
}
