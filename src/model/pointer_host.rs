//! The pointer's decoding step as one fused CPU kernel, for inference.
//!
//! The Burn form ([`super::pointer::Pointer::step`]) spends most of a step
//! on layout copies, fresh buffers and exponentiating masked scores, not on
//! arithmetic. Here the per-encoding tensors are laid out once so that every
//! per-step product reads contiguous rows, each rollout is one pass over its
//! instance's keys with the accumulators in registers, masked nodes get weight
//! 0 by selection (their `exp` is taken of a clamped value and discarded,
//! never of `-1e9` on libm's slow path), and
//! nothing moves between host and device: the env's context and mask are read
//! where they are. The result is the Burn form's within float rounding
//! (`tests/model/pointer_host.rs` checks 1e-5 on log-probabilities).
//!
//! Rollouts are spread over the cores with rayon; the inner loops are
//! compiled for AVX-512 and AVX2 + FMA too, chosen at run time.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::blocks::MASKED;
use super::pointer::PointerCache;

mod backward;
mod kernels;

use backward::Transposed;
pub(crate) use backward::{Choice, InstanceGradients};
use kernels::clip_log_sum_exp;
pub(crate) use kernels::Simd;
use kernels::{argmax_allowed, axpy, combine, combine_rows, softmax_allowed};

/// A [`PointerCache`] on the host, laid out for the fused step.
#[derive(Clone, Debug)]
pub struct HostPointer {
    instances: usize,
    /// Nodes per instance, and the same rounded up to a multiple of 16 (the stride of the transposed arrays).
    nodes: usize,
    stride: usize,
    d: usize,
    heads: usize,
    context: usize,
    tanh_clip: f32,
    /// `[batch, nodes, d]`.
    node_queries: Vec<f32>,
    /// `[context, d]`.
    context_weight: Vec<f32>,
    /// `[batch, d, stride]`, scaled by `1 / sqrt(head_dim)`.
    keys: Vec<f32>,
    /// `[batch, nodes, d]`.
    values: Vec<f32>,
    /// `[batch, d, stride]`, scaled by `1 / sqrt(d)`.
    logit_keys: Vec<f32>,
    /// The layouts the backward pass reads ([`Self::for_training`]).
    transposed: Option<Transposed>,
}

/// What one decoding step reads, per rollout, in the env's order (rollout
/// `r` belongs to instance `r / per_instance`).
pub struct StepRows<'a> {
    pub per_instance: usize,
    /// Current node of every rollout.
    pub current: &'a [usize],
    /// `[rollouts, context]` model-frame context rows (`Features::context_rows`).
    pub context: &'a [f32],
    /// `[rollouts, nodes]`, `true` where allowed.
    pub allowed: &'a [bool],
}

/// Per-thread buffers of one rollout's step.
pub(crate) struct Scratch {
    query: Vec<f32>,
    scores: Vec<f32>,
    glimpse: Vec<f32>,
    logits: Vec<f32>,
    /// The nodes the glimpse attends to: the allowed ones (all when none is).
    active: Vec<usize>,
    /// The backward pass's gradient of the query.
    dquery: Vec<f32>,
}

impl HostPointer {
    /// Read `cache` back from the device and lay it out.
    pub fn new<B: Backend>(cache: &PointerCache<B>) -> Self {
        let host = |t: Tensor<B, 3>| -> Vec<f32> { t.into_data().convert::<f32>().to_vec().expect("float tensors") };
        let [instances, nodes, d] = cache.node_queries.dims();
        let [context, _] = cache.context_weight.dims();
        let heads = cache.heads;
        let stride = nodes.div_ceil(16) * 16;
        let head_scale = 1.0 / ((d / heads) as f32).sqrt();
        let logit_scale = 1.0 / (d as f32).sqrt();
        // [b, h, hd, n] and [b, d, n] are both [b, d, n] row-major.
        let keys = host(cache.glimpse_keys.clone().reshape([instances, d, nodes]));
        let logit_keys = host(cache.logit_keys.clone());
        let values = host(cache.glimpse_values.clone().swap_dims(1, 2).reshape([instances, nodes, d]));
        HostPointer {
            instances,
            nodes,
            stride,
            d,
            heads,
            context,
            tanh_clip: cache.tanh_clip as f32,
            node_queries: host(cache.node_queries.clone()),
            context_weight: cache.context_weight.clone().into_data().convert::<f32>().to_vec().expect("float tensors"),
            keys: padded(&keys, nodes, stride, head_scale),
            values,
            logit_keys: padded(&logit_keys, nodes, stride, logit_scale),
            transposed: None,
        }
    }

    pub(crate) fn scratch(&self) -> Scratch {
        Scratch {
            query: vec![0.0; self.d],
            scores: vec![0.0; self.heads * self.stride],
            glimpse: vec![0.0; self.d],
            logits: vec![0.0; self.stride],
            active: Vec::with_capacity(self.nodes),
            dquery: vec![0.0; self.d],
        }
    }

    /// Log-probabilities `[rollouts, nodes]` of the next node, forbidden
    /// nodes at [`MASKED`]; as `Pointer::step`.
    pub fn log_probs(&self, rows: &StepRows) -> Vec<f32> {
        let mut out = vec![0.0f32; rows.current.len() * self.nodes];
        self.for_each_rollout(rows, &mut out, self.nodes, |me, scratch, allowed, out| me.finish_log_probs(scratch, allowed, out));
        out
    }

    /// The most likely next node of every rollout (the first on ties), as
    /// `argmax` of [`Self::log_probs`]; `tanh` and the softmax are monotone,
    /// so neither is computed.
    pub fn greedy(&self, rows: &StepRows) -> Vec<usize> {
        let mut out = vec![0.0f32; rows.current.len()];
        self.for_each_rollout(rows, &mut out, 1, |_, scratch, allowed, out| out[0] = argmax_allowed(&scratch.logits, allowed) as f32);
        out.into_iter().map(|a| a as usize).collect()
    }

    /// Run the shared part of the step for every rollout, then `finish` on
    /// its `width` outputs; rollouts in parallel chunks.
    fn for_each_rollout(&self, rows: &StepRows, out: &mut [f32], width: usize, finish: impl Fn(&Self, &Scratch, &[bool], &mut [f32]) + Sync) {
        let count = rows.current.len();
        assert_eq!(count, self.instances * rows.per_instance, "one step row per rollout");
        assert_eq!(rows.allowed.len(), count * self.nodes, "one mask row of {} nodes per rollout", self.nodes);
        assert_eq!(rows.context.len(), count * self.context, "one context row of {} per rollout", self.context);
        let chunk = count.div_ceil(4 * rayon::current_num_threads()).clamp(1, 256);
        let simd = Simd::detect();
        out.par_chunks_mut(chunk * width).enumerate().for_each(|(k, block)| {
            let mut scratch = self.scratch();
            for (i, out) in block.chunks_mut(width).enumerate() {
                let r = k * chunk + i;
                let allowed = &rows.allowed[r * self.nodes..(r + 1) * self.nodes];
                let context = &rows.context[r * self.context..(r + 1) * self.context];
                self.logits_with(simd, r / rows.per_instance, rows.current[r], context, allowed, &mut scratch);
                finish(self, &scratch, allowed, out);
            }
        });
    }

    /// The pre-`tanh` logits of one rollout into `scratch.logits`.
    #[inline(always)]
    fn logits(&self, b: usize, current: usize, context: &[f32], allowed: &[bool], s: &mut Scratch) {
        let (d, n, stride) = (self.d, self.nodes, self.stride);
        let head_dim = d / self.heads;
        let any = allowed.iter().any(|&a| a);
        // Query: the current node's share and the context's.
        s.query.copy_from_slice(&self.node_queries[(b * n + current) * d..(b * n + current + 1) * d]);
        for (c, &x) in context.iter().enumerate() {
            axpy(x, &self.context_weight[c * d..(c + 1) * d], &mut s.query);
        }
        // Glimpse scores of every head over every node, then the softmax over
        // the allowed ones (all of them when none is: the Burn form's uniform row).
        let keys = &self.keys[b * d * stride..(b + 1) * d * stride];
        for h in 0..self.heads {
            let rows = &keys[h * head_dim * stride..(h + 1) * head_dim * stride];
            combine_rows(&s.query[h * head_dim..(h + 1) * head_dim], rows, stride, &mut s.scores[h * stride..(h + 1) * stride]);
            softmax_allowed(&mut s.scores[h * stride..h * stride + n], allowed, any);
        }
        // Glimpse: the weighted values of the nodes with weight.
        s.active.clear();
        s.active.extend((0..n).filter(|&j| allowed[j] || !any));
        let values = &self.values[b * n * d..(b + 1) * n * d];
        combine(&s.scores, stride, head_dim, values, d, &s.active, &mut s.glimpse);
        combine_rows(&s.glimpse, &self.logit_keys[b * d * stride..(b + 1) * d * stride], stride, &mut s.logits);
    }

    /// `clip * tanh`, then the log-softmax over the allowed nodes.
    fn finish_log_probs(&self, s: &Scratch, allowed: &[bool], out: &mut [f32]) {
        if !allowed.iter().any(|&a| a) {
            // Every node at MASKED: the Burn form's uniform row.
            out.fill(-(self.nodes as f32).ln());
            return;
        }
        out[..self.nodes].copy_from_slice(&s.logits[..self.nodes]);
        let lse = clip_log_sum_exp(Simd::detect(), &mut out[..self.nodes], self.tanh_clip, allowed);
        for j in 0..self.nodes {
            out[j] = if allowed[j] { out[j] - lse } else { MASKED };
        }
    }
}

/// `[rows, nodes]` into `[rows, stride]`, zero-padded, times `scale`.
fn padded(x: &[f32], nodes: usize, stride: usize, scale: f32) -> Vec<f32> {
    let rows = x.len() / nodes;
    let mut out = vec![0.0f32; rows * stride];
    for (o, i) in out.chunks_mut(stride).zip(x.chunks(nodes)) {
        for (a, b) in o.iter_mut().zip(i) {
            *a = b * scale;
        }
    }
    out
}

impl HostPointer {
    /// [`Self::logits`] compiled for `simd`.
    fn logits_with(&self, simd: Simd, b: usize, current: usize, context: &[f32], allowed: &[bool], s: &mut Scratch) {
        match simd {
            // SAFETY: `Simd::detect` found these instructions on this CPU.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { self.logits_avx512(b, current, context, allowed, s) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { self.logits_avx2(b, current, context, allowed, s) },
            _ => self.logits(b, current, context, allowed, s),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn logits_avx512(&self, b: usize, current: usize, context: &[f32], allowed: &[bool], s: &mut Scratch) {
        self.logits(b, current, context, allowed, s)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn logits_avx2(&self, b: usize, current: usize, context: &[f32], allowed: &[bool], s: &mut Scratch) {
        self.logits(b, current, context, allowed, s)
    }
}
