//! [`HashedEncoder`]: character trigrams hashed into a fixed number of
//! buckets, counted and L2-normalised.
//!
//! For tests and smoke runs; not a semantic model. It needs no model files
//! and no ONNX Runtime, gives the same vectors on every machine and run, and
//! puts texts that share spelling near each other, which is enough to exercise
//! everything that does not depend on what the vectors mean: building, saving
//! and opening indexes, HNSW against exact search, selection, truncation.

use crate::digest::sha256_hex;
use crate::encoder::{Embeddings, Encoder, EncoderInfo, Pooling, Truncation};
use crate::error::{Error, Result};

/// Characters per n-gram.
const N: usize = 3;

/// Names the scheme in [`EncoderInfo`]; change it with any change to the
/// vectors, so indexes built with the old scheme are refused.
const SCHEME: &str = "exemplar hashed character 3-grams, lowercase, space-padded, FNV-1a 64, counts, L2 v1";

/// A deterministic stand-in for a sentence encoder (see the module docs).
#[derive(Debug, Clone)]
pub struct HashedEncoder {
    info: EncoderInfo,
}

impl HashedEncoder {
    /// Vectors of `dimension` buckets; texts longer than `max_length`
    /// characters are cut there (and reported, as a model truncates tokens).
    pub fn new(dimension: usize, max_length: usize) -> Result<Self> {
        if dimension == 0 || max_length == 0 {
            return Err(Error::InvalidInput(format!(
                "the hashed encoder needs a dimension and a maximum length above 0, got {dimension} and {max_length}"
            )));
        }
        let scheme = sha256_hex(SCHEME.as_bytes());
        Ok(HashedEncoder {
            info: EncoderInfo {
                id: format!("exemplar/hashed-char-{N}gram-{dimension}"),
                sha256: scheme.clone(),
                tokenizer_sha256: scheme,
                dimension,
                pooling: Pooling::Mean,
                max_length,
            },
        })
    }

    fn vector(&self, chars: &[char]) -> Vec<f32> {
        let dim = self.info.dimension;
        let mut padded = Vec::with_capacity(chars.len() + 2);
        padded.push(' ');
        padded.extend(chars.iter().flat_map(|c| c.to_lowercase()));
        padded.push(' ');
        let mut counts = vec![0f32; dim];
        let mut bytes = Vec::with_capacity(4 * N);
        for gram in padded.windows(N) {
            bytes.clear();
            for c in gram {
                bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            counts[(fnv1a(&bytes) % dim as u64) as usize] += 1.0;
        }
        let norm = counts.iter().map(|c| c * c).sum::<f32>().sqrt();
        if norm == 0.0 {
            // An empty text has no trigram; it still needs a unit vector.
            counts[0] = 1.0;
        } else {
            counts.iter_mut().for_each(|c| *c /= norm);
        }
        counts
    }
}

impl Encoder for HashedEncoder {
    fn info(&self) -> &EncoderInfo {
        &self.info
    }

    fn embed(&self, texts: &[&str]) -> Result<Embeddings> {
        let mut embeddings = Embeddings::default();
        for (position, text) in texts.iter().enumerate() {
            let chars: Vec<char> = text.chars().collect();
            if chars.len() > self.info.max_length {
                embeddings.truncated.push(Truncation {
                    position,
                    tokens: chars.len(),
                });
            }
            let kept = &chars[..chars.len().min(self.info.max_length)];
            embeddings.vectors.push(self.vector(kept));
        }
        Ok(embeddings)
    }
}

/// 64-bit FNV-1a: fixed by its specification, unlike std's hashers, so the
/// vectors do not change with the Rust release.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embed(encoder: &HashedEncoder, texts: &[&str]) -> Vec<Vec<f32>> {
        encoder.embed(texts).unwrap().vectors
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn vectors_have_the_dimension_and_unit_length() {
        let encoder = HashedEncoder::new(64, 512).unwrap();
        for vector in embed(&encoder, &["", "a", "Fever and cough .", "Sjögren's syndrome 🙂"]) {
            assert_eq!(vector.len(), 64);
            let norm = dot(&vector, &vector).sqrt();
            assert!((norm - 1.0).abs() < 1e-6, "{norm}");
        }
    }

    #[test]
    fn vectors_depend_only_on_the_lowercased_text() {
        let a = HashedEncoder::new(128, 512).unwrap();
        let b = HashedEncoder::new(128, 512).unwrap();
        let texts = ["Familial breast cancer", "familial BREAST cancer", "colon cancer"];
        let (va, vb) = (embed(&a, &texts), embed(&b, &texts));
        assert_eq!(va, vb, "two encoders, same vectors");
        assert_eq!(va[0], va[1], "case does not matter");
        assert_ne!(va[0], va[2]);
    }

    #[test]
    fn shared_spelling_means_higher_similarity() {
        let encoder = HashedEncoder::new(256, 512).unwrap();
        let v = embed(
            &encoder,
            &[
                "hereditary breast and ovarian cancer",
                "hereditary breast cancer",
                "the patient walked home",
            ],
        );
        assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.3, "{v:?}");
    }

    #[test]
    fn texts_over_the_maximum_length_are_cut_and_reported() {
        let encoder = HashedEncoder::new(32, 10).unwrap();
        let result = encoder
            .embed(&["short", "ten chars!", "eleven char", "ten chars! and more"])
            .unwrap();
        assert_eq!(
            result.truncated,
            vec![
                Truncation {
                    position: 2,
                    tokens: 11
                },
                Truncation {
                    position: 3,
                    tokens: 19
                }
            ]
        );
        assert_eq!(
            result.vectors[3], result.vectors[1],
            "the cut text is what is embedded"
        );
    }

    #[test]
    fn the_dimension_is_part_of_the_identity_and_zero_is_refused() {
        let (a, b) = (
            HashedEncoder::new(32, 8).unwrap(),
            HashedEncoder::new(64, 8).unwrap(),
        );
        assert_ne!(a.info(), b.info());
        assert_eq!(a.info().sha256.len(), 64);
        assert!(matches!(HashedEncoder::new(0, 8), Err(Error::InvalidInput(_))));
        assert!(matches!(HashedEncoder::new(8, 0), Err(Error::InvalidInput(_))));
    }
}
