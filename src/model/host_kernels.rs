//! The vector helpers of the fused CPU ops (the pointer's step and its
//! backward pass, `pointer_host`; multi-head attention, `attention_host`):
//! products over contiguous rows with their accumulators in registers, and
//! branch-free `exp`, `tanh`, masked max and softmax, so that every loop
//! vectorises inside the functions compiled for AVX-512 or AVX2 + FMA
//! ([`Simd`]).

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// Lanes of a node tile: the accumulators of one row of products stay in
/// registers (4 AVX-512 or 8 AVX2 registers).
pub(crate) const TILE: usize = 64;

/// The widest vector instructions this CPU has, as far as the kernel uses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Simd {
    Avx512,
    Avx2,
    Baseline,
}

impl Simd {
    /// The widest set this CPU has, capped by the environment variable
    /// `LRM_SIMD` (`avx2` or `baseline`), which lets one machine measure what
    /// a CPU without AVX-512 (or without AVX2) gets from these kernels.
    pub(crate) fn detect() -> Simd {
        static DETECTED: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| {
            let widest = Simd::widest();
            match std::env::var("LRM_SIMD").as_deref() {
                Ok("baseline") => Simd::Baseline,
                Ok("avx2") if widest == Simd::Avx512 => Simd::Avx2,
                _ => widest,
            }
        })
    }

    /// Every instruction set of [`Simd`] this CPU runs, for tests that
    /// compare the kernels' forms.
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Simd> {
        let mut all = vec![Simd::Baseline];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                all.push(Simd::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                all.push(Simd::Avx512);
            }
        }
        all
    }

    fn widest() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            // The AVX-512 functions are compiled with AVX2 and FMA too.
            let avx2 = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
            if avx2 && std::arch::is_x86_feature_detected!("avx512f") {
                return Simd::Avx512;
            }
            if avx2 {
                return Simd::Avx2;
            }
        }
        Simd::Baseline
    }
}

/// `sum_i a_i b_i`, in 16 lanes (vectorisable: the lanes are summed last).
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    let (a16, b16) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = a16.remainder().iter().zip(b16.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a16.zip(b16) {
        for l in 0..16 {
            acc[l] = x[l].mul_add(y[l], acc[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `y += a x`.
#[inline(always)]
pub(crate) fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = x.mul_add(a, *y);
    }
}

/// `out[j] = sum_i coefficients[i] * rows[i * stride + j]` for every `j`
/// below `stride`, a tile of up to [`TILE`] lanes at a time with its
/// accumulators in registers (the last tile of a stride that is a multiple
/// of 16 but not of 64, as at n = 100, is 16, 32 or 48 wide).
#[inline(always)]
pub(crate) fn combine_rows(coefficients: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) {
    let mut start = 0;
    while start < stride {
        let width = TILE.min(stride - start);
        match width {
            TILE => rows_tile::<TILE>(coefficients, rows, stride, start, out),
            48 => rows_tile::<48>(coefficients, rows, stride, start, out),
            32 => rows_tile::<32>(coefficients, rows, stride, start, out),
            16 => rows_tile::<16>(coefficients, rows, stride, start, out),
            // Strides are multiples of 16; any other width, one axpy per row.
            _ => {
                let acc = &mut out[start..start + width];
                acc.fill(0.0);
                for (i, &c) in coefficients.iter().enumerate() {
                    axpy(c, &rows[i * stride + start..i * stride + start + width], acc);
                }
            }
        }
        start += width;
    }
}

/// One `W`-lane tile of [`combine_rows`].
#[inline(always)]
fn rows_tile<const W: usize>(coefficients: &[f32], rows: &[f32], stride: usize, start: usize, out: &mut [f32]) {
    let mut acc = [0.0f32; W];
    for (i, &c) in coefficients.iter().enumerate() {
        let row: &[f32; W] = rows[i * stride + start..i * stride + start + W].try_into().expect("a full tile");
        for l in 0..W {
            acc[l] = row[l].mul_add(c, acc[l]);
        }
    }
    out[start..start + W].copy_from_slice(&acc);
}

/// Rollouts of one instance stepped together at inference
/// ([`combine_rows_group`], [`combine_group`]): each tile of keys, values and
/// logit keys is read from memory once for all of them instead of once per
/// rollout (the single-rollout step reads about 90 KB per 46 kFLOP at
/// n = 50, d = 128 and waits on the cache). Four 64-lane accumulator tiles
/// are 16 of AVX-512's 32 registers.
pub(crate) const GROUP: usize = 4;

/// [`combine_rows`] for `group` coefficient vectors at once:
/// `out[r * out_stride + j] = sum_{i < count} coefficients[r * c_stride + i]
/// * rows[i * stride + j]` for `r < group` and every `j < stride` (a
/// multiple of 16). Each rollout's sums are taken in [`combine_rows`]'s
/// order, so the results are the same to the bit; with AVX-512 the group
/// shares each tile's loads ([`avx512`], [`avx2`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn combine_rows_group(
    simd: Simd,
    group: usize,
    coefficients: &[f32],
    c_stride: usize,
    count: usize,
    rows: &[f32],
    stride: usize,
    out: &mut [f32],
    out_stride: usize,
) {
    assert!((1..=GROUP).contains(&group) && stride.is_multiple_of(16), "groups of 1 to {GROUP} over strides of 16");
    let span = |rows: usize, stride: usize, last: usize| rows.checked_mul(stride).and_then(|x| x.checked_add(last)).expect("sizes that fit in memory");
    assert!(coefficients.len() >= span(group - 1, c_stride, count) && rows.len() >= span(count, stride, 0) && out.len() >= span(group - 1, out_stride, stride));
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx512 {
        // SAFETY: AVX-512 is present (`simd`), and the bounds are checked above.
        return unsafe { avx512::combine_rows_group(group, coefficients.as_ptr(), c_stride, count, rows.as_ptr(), stride, out.as_mut_ptr(), out_stride) };
    }
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx2 {
        // SAFETY: AVX2 and FMA are present (`simd`), and the bounds are checked above.
        return unsafe { avx2::combine_rows_group(group, coefficients.as_ptr(), c_stride, count, rows.as_ptr(), stride, out.as_mut_ptr(), out_stride) };
    }
    let _ = simd;
    for r in 0..group {
        combine_rows(&coefficients[r * c_stride..r * c_stride + count], rows, stride, &mut out[r * out_stride..r * out_stride + stride]);
    }
}

/// [`combine`] for `group` rollouts at once over the union of their active
/// rows: rollout `r`'s weights start at `r * w_stride`, its output row at
/// `r * out.len() / group`. A row outside a rollout's own active set has
/// weight 0 there, and adding `0 * row` changes no sum, so each rollout's
/// result is [`combine`]'s to the bit.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn combine_group(
    simd: Simd,
    group: usize,
    weights: &[f32],
    w_stride: usize,
    head_stride: usize,
    head_dim: usize,
    rows: &[f32],
    row_stride: usize,
    active: &[usize],
    out: &mut [f32],
) {
    let width = out.len() / group;
    let heads = width / head_dim;
    assert!(head_dim > 0 && width.is_multiple_of(head_dim), "whole heads");
    let last = active.iter().max().map_or(0, |&j| j + 1);
    let span = |rows: usize, stride: usize, last: usize| rows.checked_mul(stride).and_then(|x| x.checked_add(last)).expect("sizes that fit in memory");
    assert!((1..=GROUP).contains(&group) && width <= row_stride && span(last, row_stride, 0) <= rows.len(), "rows of every active node");
    let heads_span = span(heads.saturating_sub(1), head_stride, last);
    assert!(weights.len() >= span(group - 1, w_stride, heads_span), "weights of every member, head and active node");
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx512 && width.is_multiple_of(TILE) && head_dim.is_multiple_of(16) {
        // SAFETY: AVX-512 is present (`simd`), and the bounds are checked above.
        return unsafe {
            avx512::combine_group(group, weights.as_ptr(), w_stride, head_stride, head_dim, rows.as_ptr(), row_stride, active, out.as_mut_ptr(), width)
        };
    }
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx2 && width.is_multiple_of(16) && head_dim.is_multiple_of(16) {
        // SAFETY: AVX2 and FMA are present (`simd`), and the bounds are checked above.
        return unsafe {
            avx2::combine_group(group, weights.as_ptr(), w_stride, head_stride, head_dim, rows.as_ptr(), row_stride, active, out.as_mut_ptr(), width)
        };
    }
    let _ = simd;
    for (r, out) in out.chunks_mut(width).enumerate() {
        combine(&weights[r * w_stride..], head_stride, head_dim, rows, row_stride, active, out);
    }
}

/// The largest entry of `x` over the allowed ones; `-inf` when none is.
/// 16 independent lanes, so that it vectorises.
#[inline(always)]
pub(crate) fn max_allowed(x: &[f32], allowed: &[bool]) -> f32 {
    debug_assert_eq!(x.len(), allowed.len());
    let mut acc = [f32::NEG_INFINITY; 16];
    let (x16, a16) = (x.chunks_exact(16), allowed.chunks_exact(16));
    let mut tail = f32::NEG_INFINITY;
    for (&v, &a) in x16.remainder().iter().zip(a16.remainder()) {
        if a && v > tail {
            tail = v;
        }
    }
    for (v, a) in x16.zip(a16) {
        for l in 0..16 {
            // The entry's bits where allowed, -inf's elsewhere, through an
            // all-ones mask: a `bool` select here compiled to scalar code.
            let keep = 0u32.wrapping_sub(u32::from(a[l]));
            let candidate = f32::from_bits((v[l].to_bits() & keep) | (f32::NEG_INFINITY.to_bits() & !keep));
            acc[l] = if candidate > acc[l] { candidate } else { acc[l] };
        }
    }
    acc.iter().fold(tail, |m, &v| if v > m { v } else { m })
}

/// `out[i] = sum_{j in active} weights[head(i) * head_stride + j] *
/// rows[j * row_stride + i]` for every `i < out.len()`, `head(i) = i /
/// head_dim` (a `head_stride` of 0: one weight per row for every head).
/// The glimpse (`weights` the attention of each head, `rows` the values),
/// and in the backward pass the gradients of the glimpse and the query.
/// Where `out` is made of 64-dimension tiles whose 16-lane chunks each lie
/// in one head (widths that are multiples of 64 with heads of 16 or more,
/// as in `pomo`, `rf-te`, `lrm-*` and the shipped models; or one weight for
/// every head), a tile at a time in four independent register chains, each
/// chunk with one broadcast weight; otherwise one axpy per row and head.
#[inline(always)]
pub(crate) fn combine(weights: &[f32], head_stride: usize, head_dim: usize, rows: &[f32], row_stride: usize, active: &[usize], out: &mut [f32]) {
    if out.len().is_multiple_of(TILE) && (head_dim.is_multiple_of(16) || head_stride == 0) {
        combine_by_head(weights, head_stride, head_dim, rows, row_stride, active, out)
    } else {
        combine_by_head_rows(weights, head_stride, head_dim, rows, row_stride, active, out)
    }
}

#[inline(always)]
fn combine_by_head(weights: &[f32], head_stride: usize, head_dim: usize, rows: &[f32], row_stride: usize, active: &[usize], out: &mut [f32]) {
    for start in (0..out.len()).step_by(TILE) {
        let heads = [0, 1, 2, 3].map(|q| (start + 16 * q) / head_dim * head_stride);
        let mut acc = [0.0f32; TILE];
        for &j in active {
            let row: &[f32; TILE] = rows[j * row_stride + start..j * row_stride + start + TILE].try_into().expect("a full tile");
            for q in 0..4 {
                let w = weights[heads[q] + j];
                for l in 0..16 {
                    acc[16 * q + l] = row[16 * q + l].mul_add(w, acc[16 * q + l]);
                }
            }
        }
        out[start..start + TILE].copy_from_slice(&acc);
    }
}

#[inline(always)]
fn combine_by_head_rows(weights: &[f32], head_stride: usize, head_dim: usize, rows: &[f32], row_stride: usize, active: &[usize], out: &mut [f32]) {
    out.fill(0.0);
    for &j in active {
        for (h, part) in out.chunks_mut(head_dim).enumerate() {
            let start = j * row_stride + h * head_dim;
            axpy(weights[h * head_stride + j], &rows[start..start + head_dim], part);
        }
    }
}

/// `keep[j]` is 1 where node `j` takes part in the glimpse's softmax (the
/// allowed nodes; every node when none is allowed) and 0 elsewhere and in
/// the padding beyond `allowed.len()`: a row [`softmax_kept`] multiplies by.
#[inline(always)]
pub(crate) fn keep_row(allowed: &[bool], keep: &mut [f32]) {
    let any = allowed.iter().any(|&a| a);
    keep.fill(0.0);
    for (k, &a) in keep.iter_mut().zip(allowed) {
        *k = if a || !any { 1.0 } else { 0.0 };
    }
}

/// Softmax in place of a padded row of `scores` (a multiple of 16 long)
/// over the entries `keep` marks; the others get weight 0 (their `exp` is
/// taken of a clamped value and multiplied by 0, so there is no slow path
/// of `exp` and no branch). Whole 16-lane vectors, no scalar tail; with
/// AVX-512 or AVX2 in intrinsics ([`avx512::softmax_kept`],
/// [`avx2::softmax_kept`]).
#[inline(always)]
pub(crate) fn softmax_kept(simd: Simd, scores: &mut [f32], keep: &[f32]) {
    assert!(scores.len().is_multiple_of(16) && keep.len() == scores.len(), "padded rows of whole vectors");
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx512 {
        // SAFETY: AVX-512 is present (`simd`), and the lengths are checked above.
        return unsafe { avx512::softmax_kept(scores, keep) };
    }
    #[cfg(target_arch = "x86_64")]
    if simd == Simd::Avx2 {
        // SAFETY: AVX2 and FMA are present (`simd`), and the lengths are checked above.
        return unsafe { avx2::softmax_kept(scores, keep) };
    }
    let mut top = [f32::NEG_INFINITY; 16];
    for (x, k) in scores.chunks_exact(16).zip(keep.chunks_exact(16)) {
        for l in 0..16 {
            let candidate = if k[l] > 0.0 { x[l] } else { f32::NEG_INFINITY };
            top[l] = if candidate > top[l] { candidate } else { top[l] };
        }
    }
    let max = top.iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let mut total = [0.0f32; 16];
    for (x, k) in scores.chunks_exact_mut(16).zip(keep.chunks_exact(16)) {
        for l in 0..16 {
            let e = exp_non_positive(x[l] - max) * k[l];
            x[l] = e;
            total[l] += e;
        }
    }
    let inverse = 1.0 / total.iter().sum::<f32>();
    for x in scores.iter_mut() {
        *x *= inverse;
    }
}

/// The constants of [`exp_non_positive`] and [`tanh`], shared with their
/// vector forms (`avx2`, `avx512`), which follow them operation for operation.
pub(crate) mod polynomial {
    /// 1.5 * 2^23: adding it rounds to an integer, which then sits in the low mantissa bits.
    pub const SHIFTER: f32 = 12_582_912.0;
    /// `exp`'s argument is clamped to `[EXP_FLOOR, 0]`.
    pub const EXP_FLOOR: f32 = -87.0;
    /// Cody-Waite: `ln 2` as a high and a low part, negated (`r = x - n ln 2`).
    pub const MINUS_LN2_HIGH: f32 = -0.693_359_4;
    pub const MINUS_LN2_LOW: f32 = 2.121_944_4e-4;
    /// Cephes' `expf` polynomial, highest degree first (Horner).
    pub const EXP: [f32; 6] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5];
    /// Cephes' `tanhf` odd polynomial in `x^2`, highest degree first, used below [`TANH_SMALL`].
    pub const TANH: [f32; 5] = [-5.704_988_7e-3, 2.063_909e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328e-1];
    pub const TANH_SMALL: f32 = 0.625;
}

/// `exp(x)` for `x <= 0` (larger `x` is taken as 0), within 2 ulp, without
/// branches so that loops over it vectorise: Cody-Waite reduction by `ln 2`
/// and Cephes' degree-6 polynomial; below -87 it gives about 1e-38.
#[inline(always)]
pub(crate) fn exp_non_positive(x: f32) -> f32 {
    use polynomial::*;
    let x = x.clamp(EXP_FLOOR, 0.0);
    let t = x.mul_add(std::f32::consts::LOG2_E, SHIFTER);
    let n = t - SHIFTER;
    let r = n.mul_add(MINUS_LN2_HIGH, x);
    let r = n.mul_add(MINUS_LN2_LOW, r);
    let p = EXP[1..].iter().fold(EXP[0], |p, &c| p.mul_add(r, c));
    let e = p.mul_add(r * r, r) + 1.0;
    // The integer n sits in the low mantissa bits of t.
    let n = t.to_bits().wrapping_sub(SHIFTER.to_bits()) as i32;
    let scale = f32::from_bits(((n + 127) as u32) << 23);
    e * scale
}

/// `clip * tanh(z)` in place; then the log-sum-exp over the allowed
/// entries. In AVX-512 intrinsics ([`avx512::clip_log_sum_exp`]), or
/// compiled for the CPU's FMA instructions (`simd`): the polynomials below,
/// outside such a function, call libm's `fmaf`.
pub(crate) fn clip_log_sum_exp(simd: Simd, z: &mut [f32], clip: f32, allowed: &[bool]) -> f32 {
    match simd {
        // SAFETY: `Simd::detect` found these instructions on this CPU.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => {
            assert_eq!(z.len(), allowed.len(), "one mask entry per logit");
            unsafe { avx512::clip_log_sum_exp(z, clip, allowed) }
        }
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { clip_log_sum_exp_avx2(z, clip, allowed) },
        _ => clip_log_sum_exp_inner(z, clip, allowed),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn clip_log_sum_exp_avx2(z: &mut [f32], clip: f32, allowed: &[bool]) -> f32 {
    clip_log_sum_exp_inner(z, clip, allowed)
}

#[inline(always)]
pub(crate) fn clip_log_sum_exp_inner(z: &mut [f32], clip: f32, allowed: &[bool]) -> f32 {
    for x in z.iter_mut() {
        *x = clip * tanh(*x);
    }
    let max = max_allowed(z, allowed);
    let sum: f32 = z.iter().zip(allowed).map(|(&x, &a)| if a { exp_non_positive(x - max) } else { 0.0 }).sum();
    max + sum.ln()
}

/// `tanh(x)` within 4 ulp of libm, without branches so that loops over it
/// vectorise (libm's `tanhf` and its `expm1f` were an eighth of a training
/// step): Cephes' odd polynomial below |x| = 0.625, `(1 - e) / (1 + e)` with
/// `e = exp(-2|x|)` above.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    use polynomial::{TANH, TANH_SMALL};
    let z = x * x;
    let p = TANH[1..].iter().fold(TANH[0], |p, &c| p.mul_add(z, c));
    let small = (p * z).mul_add(x, x);
    let e = exp_non_positive(-2.0 * x.abs());
    let large = ((1.0 - e) / (1.0 + e)).copysign(x);
    if x.abs() < TANH_SMALL {
        small
    } else {
        large
    }
}

/// Index of the largest allowed entry (the first on ties); 0 when none is
/// allowed (Burn's argmax of a uniform row).
#[inline(always)]
pub(crate) fn argmax_allowed(logits: &[f32], allowed: &[bool]) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (j, &a) in allowed.iter().enumerate() {
        if a && logits[j] > best.1 {
            best = (j, logits[j]);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::{clip_log_sum_exp, combine, combine_group, combine_rows, combine_rows_group, exp_non_positive, softmax_kept, tanh, Simd, GROUP};

    #[test]
    fn the_softmax_is_the_same_with_every_instruction_set() {
        let scores = values(64, 5);
        let keep: Vec<f32> = (0..64).map(|j| if j < 51 && j % 4 != 2 { 1.0 } else { 0.0 }).collect();
        let mut reference = scores.clone();
        softmax_kept(Simd::Baseline, &mut reference, &keep);
        assert!((reference.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        for simd in Simd::available() {
            let mut mine = scores.clone();
            softmax_kept(simd, &mut mine, &keep);
            for (j, (&a, &b)) in reference.iter().zip(&mine).enumerate() {
                assert!((a - b).abs() <= 1e-7, "{simd:?}: node {j}: {b} against {a}");
                assert_eq!(b == 0.0, keep[j] == 0.0, "{simd:?}: node {j} has weight {b}, kept {}", keep[j]);
            }
        }
    }

    #[test]
    fn the_clipped_log_sum_exp_is_the_same_with_every_instruction_set() {
        for len in [1, 2, 15, 16, 17, 33, 51, 64, 101] {
            let z: Vec<f32> = values(len, len).iter().map(|x| 3.0 * x).collect();
            let allowed: Vec<bool> = (0..len).map(|j| j % 5 != 3).collect();
            let mut reference = z.clone();
            let expected = clip_log_sum_exp(Simd::Baseline, &mut reference, 10.0, &allowed);
            for simd in Simd::available() {
                let mut mine = z.clone();
                let lse = clip_log_sum_exp(simd, &mut mine, 10.0, &allowed);
                assert_eq!(mine, reference, "{simd:?}, {len} logits: clip tanh");
                assert!((lse - expected).abs() <= 1e-6 * expected.abs().max(1.0), "{simd:?}, {len} logits: {lse} against {expected}");
            }
        }
    }

    /// Deterministic values in [-1, 1).
    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len).map(|i| ((i * 7919 + seed * 104_729) % 2000) as f32 / 1000.0 - 1.0).collect()
    }

    #[test]
    fn grouped_products_are_the_single_rollout_products_to_the_bit() {
        // Strides with tails of 16, 32 and 48 lanes; every group size; the
        // intrinsics (where the CPU has AVX-512) and the portable loops.
        for simd in Simd::available() {
            for stride in [16, 64, 112, 160, 176] {
                for group in 1..=GROUP {
                    let (count, c_stride) = (24, 40);
                    let coefficients = values(group * c_stride, 1);
                    let rows = values(count * stride, 2);
                    let mut grouped = vec![0.0; group * stride];
                    combine_rows_group(simd, group, &coefficients, c_stride, count, &rows, stride, &mut grouped, stride);
                    for r in 0..group {
                        let mut single = vec![0.0; stride];
                        combine_rows(&coefficients[r * c_stride..r * c_stride + count], &rows, stride, &mut single);
                        assert_eq!(single, grouped[r * stride..(r + 1) * stride], "{simd:?} stride {stride} group {group} row {r}");
                    }
                }
            }
            for (width, head_dim) in [(128, 16), (64, 16), (128, 32), (96, 24)] {
                let (heads, nodes, stride) = (width / head_dim, 51, 64);
                let active: Vec<usize> = (0..nodes).filter(|j| j % 3 != 1).collect();
                for group in 1..=GROUP {
                    let weights = values(group * heads * stride, 3);
                    let rows = values(nodes * width, 4);
                    let mut grouped = vec![0.0; group * width];
                    combine_group(simd, group, &weights, heads * stride, stride, head_dim, &rows, width, &active, &mut grouped);
                    for r in 0..group {
                        let mut single = vec![0.0; width];
                        combine(&weights[r * heads * stride..], stride, head_dim, &rows, width, &active, &mut single);
                        assert_eq!(single, grouped[r * width..(r + 1) * width], "{simd:?} width {width} heads of {head_dim} group {group} row {r}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_vectorisable_tanh_is_within_four_ulp_of_libm() {
        for k in -200_000..=200_000 {
            let x = k as f32 / 10_000.0;
            let (mine, libm) = (tanh(x), x.tanh());
            let ulp = (libm.to_bits() as i64 - mine.to_bits() as i64).abs();
            assert!(ulp <= 4, "tanh({x}): {mine} against {libm}, {ulp} ulp");
        }
        for x in [1e-8f32, 1e-5, 3e-3, 0.624, 0.626, 9.0, 50.0, 1e9] {
            for x in [x, -x] {
                let ulp = (x.tanh().to_bits() as i64 - tanh(x).to_bits() as i64).abs();
                assert!(ulp <= 4, "tanh({x}): {} against {}", tanh(x), x.tanh());
            }
        }
        assert_eq!(tanh(0.0), 0.0);
    }

    #[test]
    fn the_vectorisable_exp_is_within_two_ulp_of_libm() {
        for k in 0..=87_000 {
            let x = -(k as f32) / 1000.0;
            let (mine, libm) = (exp_non_positive(x), x.exp());
            let ulp = (libm.to_bits() as i64 - mine.to_bits() as i64).abs();
            assert!(ulp <= 2, "exp({x}): {mine} against {libm}, {ulp} ulp");
        }
        assert_eq!(exp_non_positive(0.0), 1.0);
        assert!(exp_non_positive(-1e9) < 1e-37 && exp_non_positive(5.0) == 1.0);
    }
}
