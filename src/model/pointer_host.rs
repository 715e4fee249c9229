//! The pointer's decoding step as one fused CPU kernel, for inference.
//!
//! The Burn form ([`super::pointer::Pointer::step`]) spends most of a step
//! on layout copies, fresh buffers and exponentiating masked scores, not on
//! arithmetic. Here the per-encoding tensors are laid out once so that every
//! per-step product reads contiguous rows, the rollouts of one instance are
//! stepped in groups of four so that each row of its keys, values and logit
//! keys is read once for the group, with the accumulators in registers
//! (`host_kernels`), masked nodes get weight 0 (their `exp` is taken of a
//! clamped value and multiplied by 0, never of `-1e9` on libm's slow path),
//! and
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

use super::host_kernels::{
    argmax_allowed, axpy, clip_log_sum_exp, combine, combine_group, combine_rows, combine_rows_group, keep_row, softmax_kept, Simd, GROUP,
};
use backward::Transposed;
pub(crate) use backward::{Choice, InstanceGradients};

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

impl StepRows<'_> {
    /// What rollout `r` reads.
    fn step(&self, r: usize, nodes: usize, context: usize) -> Step<'_> {
        Step { current: self.current[r], context: &self.context[r * context..(r + 1) * context], allowed: &self.allowed[r * nodes..(r + 1) * nodes] }
    }
}

/// What one rollout's step reads: its current node, its context row, its mask.
#[derive(Clone, Copy)]
pub(crate) struct Step<'a> {
    pub current: usize,
    pub context: &'a [f32],
    pub allowed: &'a [bool],
}

impl Step<'_> {
    /// A placeholder for a group's unused slots (no allocation per group).
    pub(crate) const NONE: Step<'static> = Step { current: 0, context: &[], allowed: &[] };
}

/// Per-thread buffers of one rollout's step.
pub(crate) struct Scratch {
    query: Vec<f32>,
    scores: Vec<f32>,
    glimpse: Vec<f32>,
    logits: Vec<f32>,
    /// Which nodes the glimpse's softmax counts ([`keep_row`]).
    keep: Vec<f32>,
    /// The nodes the glimpse attends to: the allowed ones (all when none is).
    active: Vec<usize>,
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

    pub(crate) fn group_scratch(&self) -> GroupScratch {
        GroupScratch {
            members: Vec::with_capacity(GROUP),
            query: vec![0.0; GROUP * self.d],
            dquery: vec![0.0; GROUP * self.d],
            scores: vec![0.0; GROUP * self.heads * self.stride],
            glimpse: vec![0.0; GROUP * self.d],
            logits: vec![0.0; GROUP * self.stride],
            keep: vec![0.0; self.stride],
            union: vec![false; self.nodes],
            active: Vec::with_capacity(self.nodes),
        }
    }

    pub(crate) fn scratch(&self) -> Scratch {
        Scratch {
            query: vec![0.0; self.d],
            scores: vec![0.0; self.heads * self.stride],
            glimpse: vec![0.0; self.d],
            logits: vec![0.0; self.stride],
            keep: vec![0.0; self.stride],
            active: Vec::with_capacity(self.nodes),
        }
    }

    /// Log-probabilities `[rollouts, nodes]` of the next node, forbidden
    /// nodes at [`MASKED`]; as `Pointer::step`.
    pub fn log_probs(&self, rows: &StepRows) -> Vec<f32> {
        let mut out = vec![0.0f32; rows.current.len() * self.nodes];
        self.for_each_rollout(rows, &mut out, self.nodes, |me, logits, allowed, out| me.finish_log_probs(logits, allowed, out));
        out
    }

    /// The most likely next node of every rollout (the first on ties), as
    /// `argmax` of [`Self::log_probs`]; `tanh` and the softmax are monotone,
    /// so neither is computed.
    pub fn greedy(&self, rows: &StepRows) -> Vec<usize> {
        let mut out = vec![0.0f32; rows.current.len()];
        self.for_each_rollout(rows, &mut out, 1, |_, logits, allowed, out| {
            out[0] = match logits {
                Some(logits) => argmax_allowed(logits, allowed),
                None => allowed.iter().position(|&a| a).unwrap_or(0),
            } as f32
        });
        out.into_iter().map(|a| a as usize).collect()
    }

    /// Run the shared part of the step for every rollout, then `finish` on
    /// its `width` outputs with its logits; rollouts in parallel chunks, the
    /// rollouts of one instance in groups of up to [`GROUP`]. A rollout with
    /// one allowed node or none gets `None`: its result does not depend on
    /// the logits (that node at log-probability 0; the uniform row), so they
    /// are not computed (finished rollouts keep only the depot).
    fn for_each_rollout(&self, rows: &StepRows, out: &mut [f32], width: usize, finish: impl Fn(&Self, Option<&[f32]>, &[bool], &mut [f32]) + Sync) {
        let count = rows.current.len();
        assert_eq!(count, self.instances * rows.per_instance, "one step row per rollout");
        assert_eq!(rows.allowed.len(), count * self.nodes, "one mask row of {} nodes per rollout", self.nodes);
        assert_eq!(rows.context.len(), count * self.context, "one context row of {} per rollout", self.context);
        let chunk = count.div_ceil(4 * rayon::current_num_threads()).clamp(1, 256);
        let simd = Simd::detect();
        let allowed = |r: usize| &rows.allowed[r * self.nodes..(r + 1) * self.nodes];
        out.par_chunks_mut(chunk * width).enumerate().for_each(|(k, block)| {
            let mut s = self.group_scratch();
            let first = k * chunk;
            let flush = |s: &mut GroupScratch, block: &mut [f32]| {
                if s.members.is_empty() {
                    return;
                }
                let mut steps = [Step::NONE; GROUP];
                for (step, &r) in steps.iter_mut().zip(&s.members) {
                    *step = rows.step(r, self.nodes, self.context);
                }
                self.logits_group_with(simd, s.members[0] / rows.per_instance, &steps[..s.members.len()], s);
                for (m, &r) in s.members.iter().enumerate() {
                    let logits = &s.logits[m * self.stride..m * self.stride + self.nodes];
                    finish(self, Some(logits), allowed(r), &mut block[(r - first) * width..(r - first + 1) * width]);
                }
                s.members.clear();
            };
            for r in first..first + block.len() / width {
                if allowed(r).iter().filter(|&&a| a).count() <= 1 {
                    finish(self, None, allowed(r), &mut block[(r - first) * width..(r - first + 1) * width]);
                    continue;
                }
                let same = s.members.first().is_none_or(|&m| m / rows.per_instance == r / rows.per_instance);
                if s.members.len() == GROUP || !same {
                    flush(&mut s, block);
                }
                s.members.push(r);
            }
            flush(&mut s, block);
        });
    }

    /// [`Self::logits`] for `steps`, all of instance `b` (at most
    /// [`GROUP`]), at once into `s.logits` (`[steps, stride]`; the queries,
    /// the attention weights and the glimpses stay in `s` too); the same to
    /// the bit.
    #[inline(always)]
    pub(crate) fn logits_group(&self, simd: Simd, b: usize, steps: &[Step], s: &mut GroupScratch) {
        let (d, n, stride, heads) = (self.d, self.nodes, self.stride, self.heads);
        let head_dim = d / heads;
        let g = steps.len();
        for (m, step) in steps.iter().enumerate() {
            let query = &mut s.query[m * d..(m + 1) * d];
            query.copy_from_slice(&self.node_queries[(b * n + step.current) * d..(b * n + step.current + 1) * d]);
            for (c, &x) in step.context.iter().enumerate() {
                axpy(x, &self.context_weight[c * d..(c + 1) * d], query);
            }
        }
        let keys = &self.keys[b * d * stride..(b + 1) * d * stride];
        for h in 0..heads {
            let head_rows = &keys[h * head_dim * stride..(h + 1) * head_dim * stride];
            combine_rows_group(simd, g, &s.query[h * head_dim..], d, head_dim, head_rows, stride, &mut s.scores[h * stride..], heads * stride);
        }
        // The glimpse attends to the union of the members' allowed nodes
        // (every node when a member allows none, as its own softmax does).
        s.union.fill(false);
        for (m, step) in steps.iter().enumerate() {
            let allowed = step.allowed;
            if allowed.iter().any(|&a| a) {
                for (u, &a) in s.union.iter_mut().zip(allowed) {
                    *u |= a;
                }
            } else {
                s.union.fill(true);
            }
            let keep = &mut s.keep[..stride];
            keep_row(allowed, keep);
            for h in 0..heads {
                let at = (m * heads + h) * stride;
                softmax_kept(simd, &mut s.scores[at..at + stride], keep);
            }
        }
        s.active.clear();
        s.active.extend(s.union.iter().enumerate().filter(|&(_, &u)| u).map(|(j, _)| j));
        let values = &self.values[b * n * d..(b + 1) * n * d];
        combine_group(simd, g, &s.scores, heads * stride, stride, head_dim, values, d, &s.active, &mut s.glimpse[..g * d]);
        combine_rows_group(simd, g, &s.glimpse, d, d, &self.logit_keys[b * d * stride..(b + 1) * d * stride], stride, &mut s.logits, stride);
    }

    /// The pre-`tanh` logits of one rollout into `scratch.logits`.
    #[inline(always)]
    fn logits(&self, simd: Simd, b: usize, current: usize, context: &[f32], allowed: &[bool], s: &mut Scratch) {
        let (d, n, stride) = (self.d, self.nodes, self.stride);
        let head_dim = d / self.heads;
        let any = allowed.iter().any(|&a| a);
        keep_row(allowed, &mut s.keep);
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
            softmax_kept(simd, &mut s.scores[h * stride..(h + 1) * stride], &s.keep);
        }
        // Glimpse: the weighted values of the nodes with weight.
        s.active.clear();
        s.active.extend((0..n).filter(|&j| allowed[j] || !any));
        let values = &self.values[b * n * d..(b + 1) * n * d];
        combine(&s.scores, stride, head_dim, values, d, &s.active, &mut s.glimpse);
        combine_rows(&s.glimpse, &self.logit_keys[b * d * stride..(b + 1) * d * stride], stride, &mut s.logits);
    }

    /// `clip * tanh`, then the log-softmax over the allowed nodes (`logits`
    /// `None`: at most one node is allowed).
    fn finish_log_probs(&self, logits: Option<&[f32]>, allowed: &[bool], out: &mut [f32]) {
        let Some(logits) = logits.filter(|_| allowed.iter().any(|&a| a)) else {
            match allowed.iter().position(|&a| a) {
                Some(j) => {
                    out.fill(MASKED);
                    out[j] = 0.0;
                }
                // Every node at MASKED: the Burn form's uniform row.
                None => out.fill(-(self.nodes as f32).ln()),
            }
            return;
        };
        out[..self.nodes].copy_from_slice(logits);
        let lse = clip_log_sum_exp(Simd::detect(), &mut out[..self.nodes], self.tanh_clip, allowed);
        for j in 0..self.nodes {
            out[j] = if allowed[j] { out[j] - lse } else { MASKED };
        }
    }
}

/// Per-thread buffers of a group of rollouts' step ([`GROUP`] rows each).
pub(crate) struct GroupScratch {
    /// The rollouts of the group, all of one instance.
    members: Vec<usize>,
    /// `[GROUP, d]`.
    query: Vec<f32>,
    /// `[GROUP, heads, stride]`: scores, then attention weights.
    scores: Vec<f32>,
    /// `[GROUP, d]`.
    glimpse: Vec<f32>,
    /// `[GROUP, stride]`.
    logits: Vec<f32>,
    /// `[GROUP, d]`: the backward pass's gradients of the queries.
    dquery: Vec<f32>,
    /// One member's [`keep_row`] at a time.
    keep: Vec<f32>,
    /// Whether any member allows each node.
    union: Vec<bool>,
    /// The nodes any member's glimpse attends to.
    active: Vec<usize>,
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
            _ => self.logits(Simd::Baseline, b, current, context, allowed, s),
        }
    }

    /// [`Self::logits_group`] compiled for `simd`.
    fn logits_group_with(&self, simd: Simd, b: usize, steps: &[Step], s: &mut GroupScratch) {
        match simd {
            // SAFETY: `Simd::detect` found these instructions on this CPU.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => unsafe { self.logits_group_avx512(b, steps, s) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => unsafe { self.logits_group_avx2(b, steps, s) },
            _ => self.logits_group(Simd::Baseline, b, steps, s),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn logits_group_avx512(&self, b: usize, steps: &[Step], s: &mut GroupScratch) {
        self.logits_group(Simd::Avx512, b, steps, s)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn logits_group_avx2(&self, b: usize, steps: &[Step], s: &mut GroupScratch) {
        self.logits_group(Simd::Avx2, b, steps, s)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn logits_avx512(&self, b: usize, current: usize, context: &[f32], allowed: &[bool], s: &mut Scratch) {
        self.logits(Simd::Avx512, b, current, context, allowed, s)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn logits_avx2(&self, b: usize, current: usize, context: &[f32], allowed: &[bool], s: &mut Scratch) {
        self.logits(Simd::Avx2, b, current, context, allowed, s)
    }
}
