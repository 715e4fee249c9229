//! The kernels of [`super::avx512`] for CPUs with AVX2 and FMA but not
//! AVX-512 (most AMD EPYC and Ryzen before Zen 4): 8-lane vectors and
//! 16-lane tiles, so that a group's accumulators (4 x 2), the tile's loads
//! and a broadcast fit in the 16 registers. The same sums in the same order
//! as the single-rollout kernels, so the same results to the bit.

use std::arch::x86_64::{
    __m256, _mm256_add_epi32, _mm256_add_ps, _mm256_blendv_ps, _mm256_castps256_ps128, _mm256_castps_si256, _mm256_castsi256_ps, _mm256_cmp_ps,
    _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_max_ps, _mm256_min_ps, _mm256_mul_ps, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setzero_ps,
    _mm256_slli_epi32, _mm256_storeu_ps, _mm256_sub_epi32, _mm256_sub_ps, _mm_add_ps, _mm_cvtss_f32, _mm_max_ps, _mm_movehl_ps, _mm_shuffle_ps, _CMP_GT_OQ,
};

/// [`super::avx512::combine_rows_group`] with AVX2.
///
/// # Safety
/// AVX2 and FMA are available; `group` is 1 to 4, `stride` a multiple of 16, and every index is in bounds.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn combine_rows_group(
    group: usize,
    coefficients: *const f32,
    c_stride: usize,
    count: usize,
    rows: *const f32,
    stride: usize,
    out: *mut f32,
    out_stride: usize,
) {
    match group {
        1 => rows_tiles::<1>(coefficients, c_stride, count, rows, stride, out, out_stride),
        2 => rows_tiles::<2>(coefficients, c_stride, count, rows, stride, out, out_stride),
        3 => rows_tiles::<3>(coefficients, c_stride, count, rows, stride, out, out_stride),
        _ => rows_tiles::<4>(coefficients, c_stride, count, rows, stride, out, out_stride),
    }
}

#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn rows_tiles<const G: usize>(
    coefficients: *const f32,
    c_stride: usize,
    count: usize,
    rows: *const f32,
    stride: usize,
    out: *mut f32,
    out_stride: usize,
) {
    for start in (0..stride).step_by(16) {
        let mut acc = [[_mm256_setzero_ps(); 2]; G];
        for i in 0..count {
            let row = rows.add(i * stride + start);
            let x = [_mm256_loadu_ps(row), _mm256_loadu_ps(row.add(8))];
            for (r, acc) in acc.iter_mut().enumerate() {
                let c = _mm256_set1_ps(*coefficients.add(r * c_stride + i));
                acc[0] = _mm256_fmadd_ps(x[0], c, acc[0]);
                acc[1] = _mm256_fmadd_ps(x[1], c, acc[1]);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            _mm256_storeu_ps(out.add(r * out_stride + start), acc[0]);
            _mm256_storeu_ps(out.add(r * out_stride + start + 8), acc[1]);
        }
    }
}

/// [`super::avx512::combine_group`] with AVX2: 16 lanes (one head of 16 or
/// more) at a time.
///
/// # Safety
/// AVX2 and FMA are available; `group` is 1 to 4, `width` and `head_dim` multiples of 16, and every index is in bounds.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn combine_group(
    group: usize,
    weights: *const f32,
    w_stride: usize,
    head_stride: usize,
    head_dim: usize,
    rows: *const f32,
    row_stride: usize,
    active: &[usize],
    out: *mut f32,
    width: usize,
) {
    let heads = Heads { weights, w_stride, head_stride, head_dim, rows, row_stride, out, width };
    match group {
        1 => heads.tiles::<1>(active),
        2 => heads.tiles::<2>(active),
        3 => heads.tiles::<3>(active),
        _ => heads.tiles::<4>(active),
    }
}

struct Heads {
    weights: *const f32,
    w_stride: usize,
    head_stride: usize,
    head_dim: usize,
    rows: *const f32,
    row_stride: usize,
    out: *mut f32,
    width: usize,
}

impl Heads {
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn tiles<const G: usize>(&self, active: &[usize]) {
        for start in (0..self.width).step_by(16) {
            let head = start / self.head_dim * self.head_stride;
            let mut acc = [[_mm256_setzero_ps(); 2]; G];
            for &j in active {
                let row = self.rows.add(j * self.row_stride + start);
                let x = [_mm256_loadu_ps(row), _mm256_loadu_ps(row.add(8))];
                for (r, acc) in acc.iter_mut().enumerate() {
                    let w = _mm256_set1_ps(*self.weights.add(r * self.w_stride + head + j));
                    acc[0] = _mm256_fmadd_ps(x[0], w, acc[0]);
                    acc[1] = _mm256_fmadd_ps(x[1], w, acc[1]);
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                _mm256_storeu_ps(self.out.add(r * self.width + start), acc[0]);
                _mm256_storeu_ps(self.out.add(r * self.width + start + 8), acc[1]);
            }
        }
    }
}

/// [`super::softmax_kept`] with AVX2 (see [`super::avx512::softmax_kept`]).
///
/// # Safety
/// AVX2 and FMA are available; `scores` and `keep` have the same length, a multiple of 16.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(super) unsafe fn softmax_kept(scores: &mut [f32], keep: &[f32]) {
    let (x, k, len) = (scores.as_mut_ptr(), keep.as_ptr(), scores.len());
    let zero = _mm256_setzero_ps();
    let lowest = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut top = lowest;
    for c in (0..len).step_by(8) {
        let kept = _mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_loadu_ps(k.add(c)), zero);
        top = _mm256_max_ps(top, _mm256_blendv_ps(lowest, _mm256_loadu_ps(x.add(c)), kept));
    }
    let max = _mm256_set1_ps(fold(top, Fold::Max));
    let mut total = zero;
    for c in (0..len).step_by(8) {
        let e = _mm256_mul_ps(exp_non_positive(_mm256_sub_ps(_mm256_loadu_ps(x.add(c)), max)), _mm256_loadu_ps(k.add(c)));
        _mm256_storeu_ps(x.add(c), e);
        total = _mm256_add_ps(total, e);
    }
    let inverse = _mm256_set1_ps(1.0 / fold(total, Fold::Sum));
    for c in (0..len).step_by(8) {
        _mm256_storeu_ps(x.add(c), _mm256_mul_ps(_mm256_loadu_ps(x.add(c)), inverse));
    }
}

#[derive(Clone, Copy)]
enum Fold {
    Max,
    Sum,
}

/// The maximum or the sum of 8 lanes, halving the width three times.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn fold(v: __m256, how: Fold) -> f32 {
    let op = |a, b| match how {
        Fold::Max => _mm_max_ps(a, b),
        Fold::Sum => _mm_add_ps(a, b),
    };
    let quad = op(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = op(quad, _mm_movehl_ps(quad, quad));
    _mm_cvtss_f32(op(pair, _mm_shuffle_ps::<0b01>(pair, pair)))
}

/// [`super::exp_non_positive`] on 8 lanes, operation for operation.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn exp_non_positive(x: __m256) -> __m256 {
    use super::polynomial::*;
    let c = _mm256_set1_ps;
    let x = _mm256_min_ps(_mm256_max_ps(x, c(EXP_FLOOR)), _mm256_setzero_ps());
    let t = _mm256_fmadd_ps(x, c(std::f32::consts::LOG2_E), c(SHIFTER));
    let n = _mm256_sub_ps(t, c(SHIFTER));
    let r = _mm256_fmadd_ps(n, c(MINUS_LN2_HIGH), x);
    let r = _mm256_fmadd_ps(n, c(MINUS_LN2_LOW), r);
    let p = EXP[1..].iter().fold(c(EXP[0]), |p, &k| _mm256_fmadd_ps(p, r, c(k)));
    let e = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), c(1.0));
    let n = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_castps_si256(c(SHIFTER)));
    let scale = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n, _mm256_set1_epi32(127))));
    _mm256_mul_ps(e, scale)
}
