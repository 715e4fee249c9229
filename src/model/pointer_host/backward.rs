//! The backward pass of the fused step, for training replays
//! (`model::pointer_replay`): each recorded step is recomputed and the
//! gradients of `log p(action)` with respect to the per-encoding tensors are
//! accumulated, every product a run of vector operations over contiguous
//! rows of the transposed layouts made once per encoding.

use burn::tensor::backend::Backend;

use super::{GroupScratch, HostPointer, Scratch, Step};
use crate::model::host_kernels::{axpy, clip_log_sum_exp, combine_group, combine_rows_group, dot, exp_non_positive, Simd, GROUP};
use crate::model::pointer::PointerCache;

/// The per-encoding arrays in the other orientation, so that every product
/// of the backward pass is a run of vector operations over contiguous rows.
#[derive(Clone, Debug)]
pub(super) struct Transposed {
    /// `[batch, nodes, d]`, scaled as `keys`.
    pub(super) keys: Vec<f32>,
    /// `[batch, d, stride]`.
    pub(super) values: Vec<f32>,
    /// `[batch, nodes, d]`, scaled as `logit_keys`.
    pub(super) logit_keys: Vec<f32>,
}

/// One recorded step of one rollout: what it saw and the node it took.
#[derive(Clone, Copy)]
pub(crate) struct Choice<'a> {
    pub current: usize,
    pub context: &'a [f32],
    pub allowed: &'a [bool],
    pub action: usize,
}

/// Gradients of one instance's cache entries, in the fused layout, and the
/// factors of the rank-one updates not yet added (see [`Deferred`]).
pub(crate) struct InstanceGradients {
    node_queries: Vec<f32>,
    keys: Vec<f32>,
    values: Vec<f32>,
    logit_keys: Vec<f32>,
    context_weight: Vec<f32>,
    deferred: Deferred,
}

/// Each recorded step adds rank-one terms to three gradients (`glimpse x
/// dz` to the logit keys, `query_h x dscores_h` to the keys, `weights_h x
/// dglimpse_h` to the values). Their factors are kept, [`CHUNK`] steps at a
/// time, and added as three matrix products: far fewer memory passes over
/// the gradients than one outer product per step.
struct Deferred {
    rows: usize,
    /// `[CHUNK, d]` each.
    glimpse: Vec<f32>,
    query: Vec<f32>,
    dglimpse: Vec<f32>,
    /// `[CHUNK, stride]`.
    dz: Vec<f32>,
    /// `[CHUNK, heads, stride]` each.
    dscores: Vec<f32>,
    weights: Vec<f32>,
}

/// Recorded steps whose rank-one terms are added together.
const CHUNK: usize = 256;

impl HostPointer {
    /// [`Self::new`] with the layouts of the backward pass as well.
    pub(crate) fn for_training<B: Backend>(cache: &PointerCache<B>) -> Self {
        let mut host = Self::new(cache);
        let (b, n, d, stride) = (host.instances, host.nodes, host.d, host.stride);
        // [b][d][stride] <-> [b][n][d], padding dropped or added.
        let node_major = |x: &[f32]| -> Vec<f32> {
            let mut out = vec![0.0f32; b * n * d];
            for k in 0..b {
                for i in 0..d {
                    for j in 0..n {
                        out[(k * n + j) * d + i] = x[(k * d + i) * stride + j];
                    }
                }
            }
            out
        };
        let mut values = vec![0.0f32; b * d * stride];
        for k in 0..b {
            for j in 0..n {
                for i in 0..d {
                    values[(k * d + i) * stride + j] = host.values[(k * n + j) * d + i];
                }
            }
        }
        host.transposed = Some(Transposed { keys: node_major(&host.keys), values, logit_keys: node_major(&host.logit_keys) });
        host
    }

    /// The log-probability of `action` at one recorded step of instance `b`
    /// (`scratch` then holds the step's intermediates).
    pub(crate) fn choice_log_prob(&self, b: usize, step: Choice, s: &mut Scratch) -> f32 {
        self.logits_with(Simd::detect(), b, step.current, step.context, step.allowed, s);
        let lse = self.clip_and_log_sum_exp(s, step.allowed);
        s.logits[step.action] - lse
    }

    /// Turn the logits in `scratch` into clipped logits `clip * tanh z` in
    /// place; their log-sum-exp over the allowed nodes.
    fn clip_and_log_sum_exp(&self, s: &mut Scratch, allowed: &[bool]) -> f32 {
        clip_log_sum_exp(Simd::detect(), &mut s.logits[..self.nodes], self.tanh_clip, allowed)
    }

    /// Add `weights[m]` times the gradient of [`Self::choice_log_prob`] of
    /// `choices[m]` with respect to this instance's cache entries to `g`, in
    /// the fused layout (scaled keys, node-major values;
    /// [`Self::cache_gradients`] converts), for up to [`GROUP`] recorded
    /// steps of instance `b` at once: every product reads each row of the
    /// instance's arrays once for the group. Each choice's gradient is the
    /// same to the bit as alone (the same sums in the same order; rows
    /// outside a choice's own allowed nodes enter with weight 0).
    pub(crate) fn choices_backward(&self, b: usize, choices: &[Choice], weights: &[f32], s: &mut GroupScratch, g: &mut InstanceGradients) {
        match Simd::detect() {
            // SAFETY: `Simd::detect` found these instructions on this CPU.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { self.choices_backward_avx512(b, choices, weights, s, g) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { self.choices_backward_avx2(b, choices, weights, s, g) },
            _ => self.choices_backward_inner(Simd::Baseline, b, choices, weights, s, g),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn choices_backward_avx512(&self, b: usize, choices: &[Choice], weights: &[f32], s: &mut GroupScratch, g: &mut InstanceGradients) {
        self.choices_backward_inner(Simd::Avx512, b, choices, weights, s, g)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn choices_backward_avx2(&self, b: usize, choices: &[Choice], weights: &[f32], s: &mut GroupScratch, g: &mut InstanceGradients) {
        self.choices_backward_inner(Simd::Avx2, b, choices, weights, s, g)
    }

    #[inline(always)]
    fn choices_backward_inner(&self, simd: Simd, b: usize, choices: &[Choice], weights: &[f32], s: &mut GroupScratch, g: &mut InstanceGradients) {
        let (d, n, stride, heads) = (self.d, self.nodes, self.stride, self.heads);
        let head_dim = d / heads;
        let count = choices.len();
        assert!((1..=GROUP).contains(&count) && weights.len() == count, "1 to {GROUP} choices, one weight each");
        // Full groups fill a chunk exactly (CHUNK is a multiple of GROUP);
        // a short group only ends an instance. Kept for any other caller.
        if g.deferred.rows + count > CHUNK {
            self.add_deferred(g);
        }
        let mut steps = [Step::NONE; GROUP];
        for (step, c) in steps.iter_mut().zip(choices) {
            *step = Step { current: c.current, context: c.context, allowed: c.allowed };
        }
        self.logits_group(simd, b, &steps[..count], s);
        let t = self.transposed.as_ref().expect("a HostPointer made for training");
        let first = g.deferred.rows;
        let f = &mut g.deferred;
        let rows = first..first + count;
        f.glimpse[rows.start * d..rows.end * d].copy_from_slice(&s.glimpse[..count * d]);
        f.query[rows.start * d..rows.end * d].copy_from_slice(&s.query[..count * d]);
        f.weights[rows.start * heads * stride..rows.end * heads * stride].copy_from_slice(&s.scores[..count * heads * stride]);
        for (m, (step, &weight)) in choices.iter().zip(weights).enumerate() {
            debug_assert!(step.allowed[step.action], "a recorded choice is an allowed node");
            let logits = &mut s.logits[m * stride..m * stride + n];
            let lse = clip_log_sum_exp(simd, logits, self.tanh_clip, step.allowed);
            clipped_logit_gradient(logits, lse, self.tanh_clip, step, weight, &mut f.dz[(first + m) * stride..(first + m + 1) * stride]);
        }
        // Logits z_j = sum_i glimpse_i L_ij (one weight per node for every head).
        let logit_keys = &t.logit_keys[b * n * d..(b + 1) * n * d];
        combine_group(simd, count, &f.dz[first * stride..], stride, 0, head_dim, logit_keys, d, &s.active, &mut f.dglimpse[first * d..(first + count) * d]);
        // Glimpse g_h = sum_j a_hj V_hj; scores through the softmax.
        let values = &t.values[b * d * stride..(b + 1) * d * stride];
        for h in 0..heads {
            let part = h * head_dim..(h + 1) * head_dim;
            let dscores = &mut f.dscores[(first * heads + h) * stride..];
            combine_rows_group(
                simd,
                count,
                &f.dglimpse[first * d + part.start..],
                d,
                head_dim,
                &values[part.start * stride..part.end * stride],
                stride,
                dscores,
                heads * stride,
            );
        }
        for m in 0..count {
            for h in 0..heads {
                let at = ((first + m) * heads + h) * stride;
                let a = &f.weights[at..at + stride];
                let dscores = &mut f.dscores[at..at + stride];
                let mean = dot(a, dscores);
                for (ds, &a) in dscores.iter_mut().zip(a) {
                    *ds = a * (*ds - mean);
                }
            }
        }
        // Scores s_hj = q_h . K_hj.
        let keys = &t.keys[b * n * d..(b + 1) * n * d];
        let dscores = &f.dscores[first * heads * stride..];
        combine_group(simd, count, dscores, heads * stride, stride, head_dim, keys, d, &s.active, &mut s.dquery[..count * d]);
        // Query q = NQ[current] + sum_c context_c W_c.
        for (step, dquery) in choices.iter().zip(s.dquery.chunks_exact(d)) {
            axpy(1.0, dquery, &mut g.node_queries[step.current * d..(step.current + 1) * d]);
            for (c, &x) in step.context.iter().enumerate() {
                axpy(x, dquery, &mut g.context_weight[c * d..(c + 1) * d]);
            }
        }
        g.deferred.rows += count;
        if g.deferred.rows == CHUNK {
            self.add_deferred(g);
        }
    }

    /// Empty gradients of one instance's cache entries.
    pub(crate) fn instance_gradients(&self) -> InstanceGradients {
        let (d, n, stride) = (self.d, self.nodes, self.stride);
        let deferred = Deferred {
            rows: 0,
            glimpse: vec![0.0; CHUNK * d],
            query: vec![0.0; CHUNK * d],
            dglimpse: vec![0.0; CHUNK * d],
            dz: vec![0.0; CHUNK * stride],
            dscores: vec![0.0; CHUNK * self.heads * stride],
            weights: vec![0.0; CHUNK * self.heads * stride],
        };
        InstanceGradients {
            node_queries: vec![0.0; n * d],
            keys: vec![0.0; d * stride],
            values: vec![0.0; n * d],
            logit_keys: vec![0.0; d * stride],
            context_weight: vec![0.0; self.context * d],
            deferred,
        }
    }

    /// Add the deferred rank-one terms of `g` as matrix products.
    fn add_deferred(&self, g: &mut InstanceGradients) {
        let (d, n, stride, heads) = (self.d, self.nodes, self.stride, self.heads);
        let head_dim = d / heads;
        let f = &mut g.deferred;
        let k = std::mem::take(&mut f.rows);
        // Logit keys [d, stride] += glimpse^T dz.
        add_transposed_product(&mut g.logit_keys, stride, &f.glimpse, d, &f.dz, stride, [d, stride, k]);
        for h in 0..heads {
            let (part, scores) = (h * head_dim, h * stride);
            // Keys [hd, stride] of head h += query_h^T dscores_h.
            add_transposed_product(&mut g.keys[part * stride..], stride, &f.query[part..], d, &f.dscores[scores..], heads * stride, [head_dim, stride, k]);
            // Values [n, hd] of head h (node-major rows of d) += weights_h^T dglimpse_h.
            add_transposed_product(&mut g.values[part..], d, &f.weights[scores..], heads * stride, &f.dglimpse[part..], d, [n, head_dim, k]);
        }
    }

    /// Per-instance gradients in the cache's own layouts: `node_queries`
    /// `[B, N, d]`, `context_weight` `[context, d]` (summed), `glimpse_keys`
    /// `[B, H, hd, N]`, `glimpse_values` `[B, H, N, hd]`, `logit_keys` `[B, d, N]`.
    pub(crate) fn cache_gradients(&self, per_instance: Vec<InstanceGradients>) -> [Vec<f32>; 5] {
        let (d, n, stride, heads) = (self.d, self.nodes, self.stride, self.heads);
        let head_dim = d / heads;
        let head_scale = 1.0 / (head_dim as f32).sqrt();
        let logit_scale = 1.0 / (d as f32).sqrt();
        let (mut nq, mut keys, mut values, mut logits) = (vec![], vec![], vec![], vec![]);
        let mut context = vec![0.0f32; self.context * d];
        for mut g in per_instance {
            self.add_deferred(&mut g);
            nq.extend_from_slice(&g.node_queries);
            for row in g.keys.chunks(stride) {
                keys.extend(row[..n].iter().map(|x| x * head_scale));
            }
            for row in g.logit_keys.chunks(stride) {
                logits.extend(row[..n].iter().map(|x| x * logit_scale));
            }
            for h in 0..heads {
                for j in 0..n {
                    values.extend_from_slice(&g.values[j * d + h * head_dim..j * d + (h + 1) * head_dim]);
                }
            }
            axpy(1.0, &g.context_weight, &mut context);
        }
        [nq, context, keys, values, logits]
    }
}

/// `dst[i, j] += sum_p a[p, i] b[p, j]` for `i < m`, `j < n`, `p < k`, each
/// matrix row-major with the given row strides (`gemm`).
fn add_transposed_product(dst: &mut [f32], dst_stride: usize, a: &[f32], a_stride: usize, b: &[f32], b_stride: usize, [m, n, k]: [usize; 3]) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(dst.len() >= (m - 1) * dst_stride + n, "destination too short");
    assert!(a.len() >= (k - 1) * a_stride + m && b.len() >= (k - 1) * b_stride + n, "factors too short");
    // SAFETY: the asserts above keep every element gemm reads or writes
    // inside the slices; `dst` does not alias `a` or `b` (a `&mut` borrow).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_stride as isize,
            true,
            a.as_ptr(),
            a_stride as isize,
            1,
            b.as_ptr(),
            1,
            b_stride as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// `dz` (a padded row): the gradient of `weight * log p(action)` with
/// respect to the pre-`tanh` logits `z`, given the clipped logits `u = clip
/// tanh z` of the allowed nodes and their log-sum-exp `lse`
/// (`p = softmax u`).
#[inline(always)]
fn clipped_logit_gradient(u: &[f32], lse: f32, clip: f32, step: &Choice, weight: f32, dz: &mut [f32]) {
    let n = u.len();
    for ((dz, &u), &allowed) in dz.iter_mut().zip(u).zip(step.allowed) {
        let (tanh, p) = (u / clip, exp_non_positive(u - lse));
        *dz = if allowed { -weight * p * clip * (1.0 - tanh * tanh) } else { 0.0 };
    }
    dz[n..].fill(0.0);
    let tanh = u[step.action] / clip;
    dz[step.action] += weight * clip * (1.0 - tanh * tanh);
}
