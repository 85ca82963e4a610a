//! The inner product, exemplar's similarity (the cosine on unit vectors), and
//! the memory hint that hides a vector's load behind other work. Searching
//! spends most of its time here, so the widest instructions the CPU offers are
//! picked once at run time (AVX-512, else AVX2 with FMA, else portable code):
//! one binary then runs anywhere and still uses the build-free speed of the
//! machine it lands on, which `-C target-cpu=native` would trade away.

use std::sync::LazyLock;

type Kernel = fn(&[f32], &[f32]) -> f32;
type KernelI8 = fn(&[f32], &[i8]) -> f32;

static KERNEL: LazyLock<(Kernel, KernelI8)> = LazyLock::new(pick_kernels);

/// Inner product of two equally long vectors (extra entries of the longer one are ignored).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (KERNEL.0)(a, b)
}

/// Inner product of a float vector with a vector of 8-bit codes (unscaled).
#[inline]
pub fn dot_i8(a: &[f32], codes: &[i8]) -> f32 {
    (KERNEL.1)(a, codes)
}

/// Name of the kernel [`dot`] uses on this machine, for benchmark reports.
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return "avx512f";
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return "avx2+fma";
        }
    }
    "portable"
}

fn pick_kernels() -> (Kernel, KernelI8) {
    #[cfg(target_arch = "x86_64")]
    {
        match kernel_name() {
            "avx512f" => return (x86::dot_avx512, x86::dot_i8_avx512),
            "avx2+fma" => return (x86::dot_avx2, x86::dot_i8_avx2),
            _ => {}
        }
    }
    (dot_portable::<f32>, dot_portable::<i8>)
}

/// Eight independent partial sums, so that the compiler may use SIMD lanes of
/// the baseline instruction set (one running sum could not be reordered).
/// Serves floats and 8-bit codes alike.
fn dot_portable<T: Copy + Into<f32>>(a: &[f32], b: &[T]) -> f32 {
    let mut sums = [0f32; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, &y)| x * y.into())
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for lane in 0..8 {
            sums[lane] += ca[lane] * cb[lane].into();
        }
    }
    sums.iter().sum::<f32>() + tail
}

/// Asks the CPU to start loading the first `lines` cache lines of `row`; has
/// no other effect. The hardware's stream prefetcher follows on after a few.
#[inline(always)]
pub fn prefetch<T>(row: &[T], lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        const LINE: usize = 64;
        let bytes = std::mem::size_of_val(row);
        for line in 0..lines.min(bytes.div_ceil(LINE)) {
            // SAFETY: a prefetch never faults, and the address lies inside `row`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().cast::<i8>().add(line * LINE)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (row, lines);
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    pub fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: chosen only after `pick_kernel` detected AVX2 and FMA.
        unsafe { avx2(a, b) }
    }

    pub fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: chosen only after `pick_kernel` detected AVX-512F.
        unsafe { avx512(a, b) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        // Four accumulators hide the latency of the fused multiply-adds.
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (j, sum) in acc.iter_mut().enumerate() {
                let x = _mm256_loadu_ps(pa.add(i + 8 * j));
                let y = _mm256_loadu_ps(pb.add(i + 8 * j));
                *sum = _mm256_fmadd_ps(x, y, *sum);
            }
            i += 32;
        }
        while i + 8 <= n {
            acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc[0]);
            i += 8;
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps::<1>(sum));
        let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
        let single = _mm_add_ss(quarter, _mm_shuffle_ps::<1>(quarter, quarter));
        _mm_cvtss_f32(single) + scalar_tail(a, b, i, n)
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn avx512(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        while i + 64 <= n {
            for (j, sum) in acc.iter_mut().enumerate() {
                let x = _mm512_loadu_ps(pa.add(i + 16 * j));
                let y = _mm512_loadu_ps(pb.add(i + 16 * j));
                *sum = _mm512_fmadd_ps(x, y, *sum);
            }
            i += 64;
        }
        while i + 16 <= n {
            acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc[0]);
            i += 16;
        }
        let sum = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(sum) + scalar_tail(a, b, i, n)
    }

    pub fn dot_i8_avx2(a: &[f32], codes: &[i8]) -> f32 {
        // SAFETY: chosen only after `pick_kernels` detected AVX2 and FMA.
        unsafe { i8_avx2(a, codes) }
    }

    pub fn dot_i8_avx512(a: &[f32], codes: &[i8]) -> f32 {
        // SAFETY: chosen only after `pick_kernels` detected AVX-512F.
        unsafe { i8_avx512(a, codes) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn i8_avx2(a: &[f32], codes: &[i8]) -> f32 {
        let n = a.len().min(codes.len());
        let (pa, pc) = (a.as_ptr(), codes.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 2];
        let mut i = 0;
        while i + 16 <= n {
            for (j, sum) in acc.iter_mut().enumerate() {
                let wide = _mm256_cvtepi8_epi32(_mm_loadl_epi64(pc.add(i + 8 * j).cast()));
                *sum = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 8 * j)), _mm256_cvtepi32_ps(wide), *sum);
            }
            i += 16;
        }
        let sum = _mm256_add_ps(acc[0], acc[1]);
        let half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps::<1>(sum));
        let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
        let single = _mm_add_ss(quarter, _mm_shuffle_ps::<1>(quarter, quarter));
        let tail: f32 = a[i..n]
            .iter()
            .zip(&codes[i..n])
            .map(|(x, &c)| x * f32::from(c))
            .sum();
        _mm_cvtss_f32(single) + tail
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn i8_avx512(a: &[f32], codes: &[i8]) -> f32 {
        let n = a.len().min(codes.len());
        let (pa, pc) = (a.as_ptr(), codes.as_ptr());
        let mut acc = [_mm512_setzero_ps(); 2];
        let mut i = 0;
        while i + 32 <= n {
            for (j, sum) in acc.iter_mut().enumerate() {
                let wide = _mm512_cvtepi8_epi32(_mm_loadu_si128(pc.add(i + 16 * j).cast()));
                *sum = _mm512_fmadd_ps(
                    _mm512_loadu_ps(pa.add(i + 16 * j)),
                    _mm512_cvtepi32_ps(wide),
                    *sum,
                );
            }
            i += 32;
        }
        let tail: f32 = a[i..n]
            .iter()
            .zip(&codes[i..n])
            .map(|(x, &c)| x * f32::from(c))
            .sum();
        _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1])) + tail
    }

    fn scalar_tail(a: &[f32], b: &[f32], from: usize, to: usize) -> f32 {
        a[from..to].iter().zip(&b[from..to]).map(|(x, y)| x * y).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn every_kernel_matches_the_naive_sum_at_every_length() {
        let mut kernels: Vec<(&str, Kernel)> = vec![("portable", dot_portable::<f32>)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                kernels.push(("avx2+fma", x86::dot_avx2));
            }
            if std::is_x86_feature_detected!("avx512f") {
                kernels.push(("avx512f", x86::dot_avx512));
            }
        }
        for len in (0..80).chain([383, 384, 385, 768]) {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let want = naive(&a, &b);
            for (name, kernel) in &kernels {
                let got = kernel(&a, &b);
                assert!(
                    (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                    "{name} at {len}: {got} vs {want}"
                );
            }
            assert_eq!(dot(&a, &b), (KERNEL.0)(&a, &b));
        }
    }

    #[test]
    fn every_i8_kernel_matches_the_naive_sum_at_every_length() {
        let mut kernels: Vec<(&str, KernelI8)> = vec![("portable", dot_portable::<i8>)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                kernels.push(("avx2+fma", x86::dot_i8_avx2));
            }
            if std::is_x86_feature_detected!("avx512f") {
                kernels.push(("avx512f", x86::dot_i8_avx512));
            }
        }
        for len in (0..80).chain([383, 384, 385, 768]) {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let codes: Vec<i8> = (0..len).map(|i| (i * 37) % 255 - 127).map(|c| c as i8).collect();
            let want: f32 = a.iter().zip(&codes).map(|(x, &c)| x * f32::from(c)).sum();
            for (name, kernel) in &kernels {
                let got = kernel(&a, &codes);
                assert!(
                    (got - want).abs() <= 1e-3 * (1.0 + want.abs()),
                    "{name} at {len}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn the_dispatched_kernel_is_named() {
        assert!(["avx512f", "avx2+fma", "portable"].contains(&kernel_name()));
    }
}
