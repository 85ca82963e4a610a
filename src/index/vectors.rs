//! Unit vectors stored row-major in one contiguous block, and the similarity
//! used everywhere in exemplar: the inner product, which on L2-normalised
//! vectors is the cosine.

use serde::{Deserialize, Serialize};

/// `n` vectors of `dim` floats, one after another.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vectors {
    dim: usize,
    data: Vec<f32>,
}

impl Vectors {
    /// An empty matrix whose rows will have `dim` entries.
    pub fn new(dim: usize) -> Self {
        Vectors { dim, data: Vec::new() }
    }

    /// Wraps `data`, which must hold a whole number of rows.
    pub fn from_flat(dim: usize, data: Vec<f32>) -> Option<Self> {
        (dim > 0 && data.len() % dim == 0).then_some(Vectors { dim, data })
    }

    /// Appends one row; panics if its length is not `dim` (a programming error:
    /// encoders are checked to return vectors of their declared dimension).
    pub fn push(&mut self, row: &[f32]) {
        assert_eq!(row.len(), self.dim, "vector of the wrong dimension");
        self.data.extend_from_slice(row);
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        if self.dim == 0 {
            0
        } else {
            self.data.len() / self.dim
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// All rows as one slice.
    pub fn as_flat(&self) -> &[f32] {
        &self.data
    }

    /// Little-endian bytes, as stored in an index's `vectors.f32`.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.data.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// Reads what [`Vectors::to_le_bytes`] wrote; `None` if the length does not fit `dim`.
    pub fn from_le_bytes(dim: usize, bytes: &[u8]) -> Option<Self> {
        if bytes.len() % 4 != 0 {
            return None;
        }
        let data = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Self::from_flat(dim, data)
    }
}

/// Inner product of two equally long vectors. Eight independent partial sums
/// let the compiler use SIMD lanes (a single running sum cannot be reordered).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0f32; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for lane in 0..8 {
            sums[lane] += ca[lane] * cb[lane];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_naive_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.1).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.05).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }

    #[test]
    fn bytes_round_trip_and_bad_lengths_are_refused() {
        let v = Vectors::from_flat(2, vec![1.0, -2.5, 3.0, 0.25]).unwrap();
        assert_eq!(Vectors::from_le_bytes(2, &v.to_le_bytes()), Some(v.clone()));
        assert_eq!(Vectors::from_le_bytes(3, &v.to_le_bytes()), None);
        assert_eq!(Vectors::from_le_bytes(2, &v.to_le_bytes()[..15]), None);
    }
}
