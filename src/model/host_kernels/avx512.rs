//! The grouped products of the inference step ([`super::GROUP`]
//! rollouts of one instance at once) in AVX-512 intrinsics: every tile of
//! keys, values or logit keys is loaded into registers once and multiplied
//! into each rollout's accumulators, which stay in registers (4 x 4 of the
//! 32). Written with intrinsics because the compiler's vectoriser does not
//! keep a two-dimensional accumulator array in registers. Each rollout's
//! sums run in the order of the single-rollout kernels, so the results are
//! theirs to the bit.

use std::arch::x86_64::{
    __m128i, __m512, _mm512_abs_ps, _mm512_add_epi32, _mm512_add_ps, _mm512_and_si512, _mm512_castps_si512, _mm512_castsi512_ps, _mm512_cmp_ps_mask,
    _mm512_div_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_blend_ps, _mm512_mask_max_ps, _mm512_max_ps, _mm512_min_ps, _mm512_mul_ps, _mm512_or_si512,
    _mm512_reduce_add_ps, _mm512_reduce_max_ps, _mm512_set1_epi32, _mm512_set1_ps, _mm512_setzero_ps, _mm512_slli_epi32, _mm512_storeu_ps, _mm512_sub_epi32,
    _mm512_sub_ps, _mm_cmpgt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_setzero_si128, _CMP_GT_OQ, _CMP_LT_OQ,
};

/// `out[r * out_stride + j] = sum_{i < count} coefficients[r * c_stride + i] * rows[i * stride + j]`, `r < group`, `j < stride`.
///
/// # Safety
/// AVX-512F is available; `group` is 1 to 4, `stride` a multiple of 16, and every index above is in bounds.
#[target_feature(enable = "avx512f")]
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
    let args = Rows { coefficients, c_stride, count, rows, stride, out, out_stride };
    match group {
        1 => args.tiles::<1>(),
        2 => args.tiles::<2>(),
        3 => args.tiles::<3>(),
        _ => args.tiles::<4>(),
    }
}

struct Rows {
    coefficients: *const f32,
    c_stride: usize,
    count: usize,
    rows: *const f32,
    stride: usize,
    out: *mut f32,
    out_stride: usize,
}

impl Rows {
    #[inline(always)]
    unsafe fn tiles<const G: usize>(&self) {
        let mut start = 0;
        while start < self.stride {
            match (self.stride - start) / 16 {
                1 => self.tile::<1, G>(start),
                2 => self.tile::<2, G>(start),
                3 => self.tile::<3, G>(start),
                _ => self.tile::<4, G>(start),
            }
            start += 64;
        }
    }

    /// `K` vectors of 16 lanes from `start`.
    #[inline(always)]
    unsafe fn tile<const K: usize, const G: usize>(&self, start: usize) {
        let mut acc = [[_mm512_setzero_ps(); K]; G];
        for i in 0..self.count {
            let row = self.rows.add(i * self.stride + start);
            let x: [__m512; K] = std::array::from_fn(|k| _mm512_loadu_ps(row.add(16 * k)));
            for (r, acc) in acc.iter_mut().enumerate() {
                let c = _mm512_set1_ps(*self.coefficients.add(r * self.c_stride + i));
                for k in 0..K {
                    acc[k] = _mm512_fmadd_ps(x[k], c, acc[k]);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (k, &v) in acc.iter().enumerate() {
                _mm512_storeu_ps(self.out.add(r * self.out_stride + start + 16 * k), v);
            }
        }
    }
}

/// The glimpse of `group` rollouts: `out[r * width + i] = sum_{j in active} weights[r * w_stride + (i / head_dim) * head_stride + j] * rows[j * row_stride + i]`, `i < width`.
///
/// # Safety
/// AVX-512F is available; `group` is 1 to 4, `width` a multiple of 64, `head_dim` of 16, and every index above is in bounds.
#[target_feature(enable = "avx512f")]
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
    let args = Heads { weights, w_stride, head_stride, head_dim, rows, row_stride, active, out, width };
    match group {
        1 => args.tiles::<1>(),
        2 => args.tiles::<2>(),
        3 => args.tiles::<3>(),
        _ => args.tiles::<4>(),
    }
}

struct Heads<'a> {
    weights: *const f32,
    w_stride: usize,
    head_stride: usize,
    head_dim: usize,
    rows: *const f32,
    row_stride: usize,
    active: &'a [usize],
    out: *mut f32,
    width: usize,
}

impl Heads<'_> {
    #[inline(always)]
    unsafe fn tiles<const G: usize>(&self) {
        for start in (0..self.width).step_by(64) {
            // The weight offset of the head each 16-lane vector lies in.
            let heads: [usize; 4] = std::array::from_fn(|k| (start + 16 * k) / self.head_dim * self.head_stride);
            let mut acc = [[_mm512_setzero_ps(); 4]; G];
            for &j in self.active {
                let row = self.rows.add(j * self.row_stride + start);
                let x: [__m512; 4] = std::array::from_fn(|k| _mm512_loadu_ps(row.add(16 * k)));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let weights = self.weights.add(r * self.w_stride + j);
                    for k in 0..4 {
                        acc[k] = _mm512_fmadd_ps(x[k], _mm512_set1_ps(*weights.add(heads[k])), acc[k]);
                    }
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                for (k, &v) in acc.iter().enumerate() {
                    _mm512_storeu_ps(self.out.add(r * self.width + start + 16 * k), v);
                }
            }
        }
    }
}

/// [`super::softmax_kept`] in intrinsics: the portable loops' masked
/// maximum compiles to lane extracts and shuffles, and its sums to a scalar
/// chain. `exp` is [`super::exp_non_positive`] operation for operation, so
/// the same to the bit.
///
/// # Safety
/// AVX-512F is available; `scores` and `keep` have the same length, a multiple of 16.
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) unsafe fn softmax_kept(scores: &mut [f32], keep: &[f32]) {
    let (x, k, len) = (scores.as_mut_ptr(), keep.as_ptr(), scores.len());
    let zero = _mm512_setzero_ps();
    let mut top = _mm512_set1_ps(f32::NEG_INFINITY);
    for c in (0..len).step_by(16) {
        let kept = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(_mm512_loadu_ps(k.add(c)), zero);
        top = _mm512_mask_max_ps(top, kept, top, _mm512_loadu_ps(x.add(c)));
    }
    let max = _mm512_set1_ps(_mm512_reduce_max_ps(top));
    let mut total = zero;
    for c in (0..len).step_by(16) {
        let e = _mm512_mul_ps(exp_non_positive(_mm512_sub_ps(_mm512_loadu_ps(x.add(c)), max)), _mm512_loadu_ps(k.add(c)));
        _mm512_storeu_ps(x.add(c), e);
        total = _mm512_add_ps(total, e);
    }
    let inverse = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(total));
    for c in (0..len).step_by(16) {
        _mm512_storeu_ps(x.add(c), _mm512_mul_ps(_mm512_loadu_ps(x.add(c)), inverse));
    }
}

/// [`super::exp_non_positive`] on 16 lanes.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn exp_non_positive(x: __m512) -> __m512 {
    use super::polynomial::*;
    let c = _mm512_set1_ps;
    let x = _mm512_min_ps(_mm512_max_ps(x, c(EXP_FLOOR)), _mm512_setzero_ps());
    let t = _mm512_fmadd_ps(x, c(std::f32::consts::LOG2_E), c(SHIFTER));
    let n = _mm512_sub_ps(t, c(SHIFTER));
    let r = _mm512_fmadd_ps(n, c(MINUS_LN2_HIGH), x);
    let r = _mm512_fmadd_ps(n, c(MINUS_LN2_LOW), r);
    let p = EXP[1..].iter().fold(c(EXP[0]), |p, &k| _mm512_fmadd_ps(p, r, c(k)));
    let e = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), c(1.0));
    let n = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(c(SHIFTER)));
    let scale = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(n, _mm512_set1_epi32(127))));
    _mm512_mul_ps(e, scale)
}

/// [`super::clip_log_sum_exp`] in intrinsics: `clip * tanh` of 16 lanes at
/// a time (the tail through masked loads and stores), the masked maximum
/// and sum in registers. `tanh` and `exp` are the portable functions
/// operation for operation; the sum runs in another order (lanes, then a
/// tree), so the log-sum-exp may differ from the portable one in its last
/// bit.
///
/// # Safety
/// AVX-512F is available; `allowed` is as long as `z`.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn clip_log_sum_exp(z: &mut [f32], clip: f32, allowed: &[bool]) -> f32 {
    let len = z.len();
    let scale = _mm512_set1_ps(clip);
    // The tail goes through a zero-padded copy.
    let load = |z: &[f32], start: usize| -> __m512 {
        if start + 16 <= len {
            return _mm512_loadu_ps(z.as_ptr().add(start));
        }
        let mut tail = [0.0f32; 16];
        tail[..len - start].copy_from_slice(&z[start..]);
        _mm512_loadu_ps(tail.as_ptr())
    };
    let kept = |start: usize| -> u16 {
        let count = (len - start).min(16);
        allowed_lanes(&allowed[start..start + count])
    };
    let mut top = _mm512_set1_ps(f32::NEG_INFINITY);
    for start in (0..len).step_by(16) {
        let u = _mm512_mul_ps(scale, tanh(load(z, start)));
        let mut lanes = [0.0f32; 16];
        _mm512_storeu_ps(lanes.as_mut_ptr(), u);
        let count = (len - start).min(16);
        z[start..start + count].copy_from_slice(&lanes[..count]);
        top = _mm512_mask_max_ps(top, kept(start), top, u);
    }
    let max = _mm512_reduce_max_ps(top);
    let shift = _mm512_set1_ps(max);
    let mut total = _mm512_setzero_ps();
    for start in (0..len).step_by(16) {
        let e = exp_non_positive(_mm512_sub_ps(load(z, start), shift));
        total = _mm512_add_ps(total, _mm512_mask_blend_ps(kept(start), _mm512_setzero_ps(), e));
    }
    max + _mm512_reduce_add_ps(total).ln()
}

/// Bit `i` set where `allowed[i]` (at most 16 entries).
#[inline(always)]
unsafe fn allowed_lanes(allowed: &[bool]) -> u16 {
    if allowed.len() == 16 {
        // A bool is one byte, 0 or 1.
        let bytes = _mm_loadu_si128(allowed.as_ptr() as *const __m128i);
        return _mm_movemask_epi8(_mm_cmpgt_epi8(bytes, _mm_setzero_si128())) as u16;
    }
    allowed.iter().enumerate().fold(0, |m, (i, &a)| m | (u16::from(a) << i))
}

/// [`super::tanh`] on 16 lanes, operation for operation.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn tanh(x: __m512) -> __m512 {
    use super::polynomial::{TANH, TANH_SMALL};
    let c = _mm512_set1_ps;
    let z = _mm512_mul_ps(x, x);
    let p = TANH[1..].iter().fold(c(TANH[0]), |p, &k| _mm512_fmadd_ps(p, z, c(k)));
    let small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
    let magnitude = _mm512_abs_ps(x);
    let e = exp_non_positive(_mm512_mul_ps(c(-2.0), magnitude));
    let large = _mm512_div_ps(_mm512_sub_ps(c(1.0), e), _mm512_add_ps(c(1.0), e));
    // copysign: the magnitude's bits (non-negative here) with x's sign bit.
    let sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(i32::MIN));
    let large = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(large), sign));
    _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(magnitude, c(TANH_SMALL)), large, small)
}
