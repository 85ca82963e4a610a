//! An 8-bit copy of the index's vectors that a search walks the graph with.
//!
//! Walking the graph scores thousands of vectors per query, most of which are
//! only looked at and dropped; with 384 floats (1.5 KiB) each, that is memory
//! traffic, not arithmetic. One byte per entry cuts it by four. The walk's
//! final candidates are then re-scored with the full vectors, so the
//! similarities a search returns are exact and only the path through the graph
//! may differ (recall against exact search is measured by `exemplar bench`).
//! The copy is derived from `vectors.f32` when an index is opened, so it
//! changes nothing on disk.

use rayon::prelude::*;

use crate::vectors::Vectors;

/// Each row scaled by its own factor into `-127..=127`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quantized {
    dim: usize,
    codes: Vec<i8>,
    scales: Vec<f32>,
}

impl Quantized {
    /// Quantizes every row of `vectors` (in parallel).
    pub fn new(vectors: &Vectors) -> Self {
        let dim = vectors.dim();
        let rows: Vec<(Vec<i8>, f32)> = (0..vectors.len())
            .into_par_iter()
            .map(|i| quantize(vectors.row(i)))
            .collect();
        let mut codes = Vec::with_capacity(dim * rows.len());
        let mut scales = Vec::with_capacity(rows.len());
        for (row, scale) in rows {
            codes.extend_from_slice(&row);
            scales.push(scale);
        }
        Quantized { dim, codes, scales }
    }

    /// Codes of row `i` and the factor that turns them back into floats.
    #[inline]
    pub fn row(&self, i: usize) -> (&[i8], f32) {
        (&self.codes[i * self.dim..(i + 1) * self.dim], self.scales[i])
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.scales.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }
}

/// Symmetric quantization: the largest magnitude maps to 127.
fn quantize(row: &[f32]) -> (Vec<i8>, f32) {
    let largest = row.iter().fold(0f32, |m, x| m.max(x.abs()));
    if largest == 0.0 || !largest.is_finite() {
        return (vec![0; row.len()], 0.0);
    }
    let scale = largest / 127.0;
    let codes = row
        .iter()
        .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (codes, scale)
}

#[cfg(test)]
mod tests {
    use super::super::dot::{dot, dot_i8};
    use super::*;

    #[test]
    fn similarities_stay_within_the_rounding_bound() {
        let vectors = crate::vectors::clustered_unit_vectors(200, 384, 4, 0.6, 11);
        let quantized = Quantized::new(&vectors);
        assert_eq!(quantized.len(), 200);
        let query = vectors.row(0);
        let l1: f32 = query.iter().map(|x| x.abs()).sum();
        for i in 0..vectors.len() {
            let (codes, scale) = quantized.row(i);
            let approx = dot_i8(query, codes) * scale;
            // Each entry is off by at most half a step.
            let bound = 0.5 * scale * l1 + 1e-5;
            let exact = dot(query, vectors.row(i));
            assert!(
                (approx - exact).abs() <= bound,
                "row {i}: {approx} vs {exact}, bound {bound}"
            );
        }
    }

    #[test]
    fn zero_rows_quantize_to_zero() {
        let vectors = Vectors::from_flat(3, vec![0.0, 0.0, 0.0, 1.0, -0.5, 0.25]).unwrap();
        let quantized = Quantized::new(&vectors);
        assert_eq!(quantized.row(0), (&[0i8, 0, 0][..], 0.0));
        let (codes, scale) = quantized.row(1);
        assert_eq!(codes, &[127, -64, 32]);
        assert!((scale - 1.0 / 127.0).abs() < 1e-9);
    }
}
