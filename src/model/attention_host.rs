//! Multi-head attention's core (scores, softmax, weighted values) as one op
//! on the CPU, with a hand-written backward pass.
//!
//! Burn's form (`blocks::Attention`: split the heads, `q k^T`, softmax,
//! `weights v`, merge the heads) spends a `pomo` training step's encoder
//! mostly in layout copies of the split and merged heads and in the softmax
//! and its gradient, which the CPU backend runs on one thread: a fifth of the
//! step's single-threaded time at n = 50. Here each instance is one task:
//! scores, softmax and the weighted values of every head are computed from
//! the `[batch, nodes, d]` projections where they are, and written in the
//! merged layout. The backward pass is the closed form: with `P` the weights
//! and `dO` the gradient of the output,
//! `dV = P^T dO`, `dP = dO V^T`, `dS = P (dP - rowsum(P dP))`,
//! `dQ = dS K / sqrt(d_head)`, `dK = dS^T Q / sqrt(d_head)` per head.
//! `tests/model/attention_host.rs` checks values and gradients against
//! Burn's form.
//!
//! It applies on `Flex` and `Autodiff<Flex>` (found by type at run time),
//! without a mask and with a plain softmax (no Sinkhorn iterations); other
//! cases take Burn's form.

use std::any::Any;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use rayon::prelude::*;

use super::host_kernels::{axpy, combine_group, combine_rows_group, softmax_kept, Simd, GROUP};
use super::norm_host::{host, Cpu, Values};

/// Sizes of one attention: queries and keys per instance, width, heads.
#[derive(Clone, Copy, Debug)]
struct Shape {
    batch: usize,
    queries: usize,
    keys: usize,
    d: usize,
    heads: usize,
}

impl Shape {
    fn head_dim(&self) -> usize {
        self.d / self.heads
    }
}

/// What the backward pass keeps: the inputs and the weights `[batch, heads, queries, keys]`.
#[derive(Debug)]
struct Kept {
    /// The inputs where they lie (no copies).
    q: Values,
    k: Values,
    v: Values,
    weights: Vec<f32>,
}

/// One instance's `[nodes, d]` projections.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
}

/// One instance's gradients, shaped as its [`Inputs`].
struct InputGradients<'a> {
    dq: &'a mut [f32],
    dk: &'a mut [f32],
    dv: &'a mut [f32],
}

/// Head `h` of `x` `[n, d]` transposed into `out` `[head_dim, n]`, times `scale`.
#[inline(always)]
fn transpose_head(x: &[f32], s: Shape, n: usize, h: usize, scale: f32, out: &mut [f32]) {
    let hd = s.head_dim();
    for j in 0..n {
        for c in 0..hd {
            out[c * n + j] = x[j * s.d + h * hd + c] * scale;
        }
    }
}

/// One instance's forward pass: `out` `[queries, d]`, `weights` `[heads, queries, keys]` (none when empty).
/// The keys are transposed once, scaled and padded to rows of whole vectors;
/// then [`GROUP`] queries at a time, the scores of every head are sums of
/// those rows, the softmax runs on whole vectors, and the weighted values of
/// all heads are one pass over the value rows (the kernels of the pointer's
/// step, `host_kernels`).
#[inline(always)]
fn forward_instance(simd: Simd, x: Inputs, s: Shape, out: &mut [f32], weights: &mut [f32]) {
    let Inputs { q, k, v } = x;
    let (d, hd, nk, heads) = (s.d, s.head_dim(), s.keys, s.heads);
    let stride = nk.div_ceil(16) * 16;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut kt = vec![0.0f32; d * stride];
    for (j, row) in k.chunks_exact(d).enumerate() {
        for (c, &x) in row.iter().enumerate() {
            kt[c * stride + j] = x * scale;
        }
    }
    let mut keep = vec![0.0f32; stride];
    keep[..nk].fill(1.0);
    let every_key: Vec<usize> = (0..nk).collect();
    let mut scores = vec![0.0f32; GROUP * heads * stride];
    for first in (0..s.queries).step_by(GROUP) {
        let g = GROUP.min(s.queries - first);
        for h in 0..heads {
            let coefficients = &q[first * d + h * hd..];
            combine_rows_group(simd, g, coefficients, d, hd, &kt[h * hd * stride..(h + 1) * hd * stride], stride, &mut scores[h * stride..], heads * stride);
        }
        for m in 0..g {
            for h in 0..heads {
                let row = &mut scores[(m * heads + h) * stride..(m * heads + h + 1) * stride];
                softmax_kept(simd, row, &keep);
                if !weights.is_empty() {
                    let i = first + m;
                    weights[(h * s.queries + i) * nk..(h * s.queries + i + 1) * nk].copy_from_slice(&row[..nk]);
                }
            }
        }
        combine_group(simd, g, &scores, heads * stride, stride, hd, v, d, &every_key, &mut out[first * d..(first + g) * d]);
    }
}

/// One instance's gradients `dq` `[queries, d]`, `dk` and `dv` `[keys, d]`.
#[inline(always)]
fn backward_instance(x: Inputs, weights: &[f32], d_out: &[f32], s: Shape, g: InputGradients) {
    let (Inputs { q, k, v }, InputGradients { dq, dk, dv }) = (x, g);
    let (hd, nk) = (s.head_dim(), s.keys);
    let scale = 1.0 / (hd as f32).sqrt();
    let (mut vt, mut dkt, mut dvt, mut ds) = (vec![0.0f32; hd * nk], vec![0.0f32; hd * nk], vec![0.0f32; hd * nk], vec![0.0f32; nk]);
    for h in 0..s.heads {
        transpose_head(v, s, nk, h, 1.0, &mut vt);
        dkt.fill(0.0);
        dvt.fill(0.0);
        for i in 0..s.queries {
            let p = &weights[(h * s.queries + i) * nk..(h * s.queries + i + 1) * nk];
            let doi = &d_out[i * s.d + h * hd..i * s.d + (h + 1) * hd];
            // dP_i = dO_i V^T, then dS_i = P_i (dP_i - P_i . dP_i), scaled.
            ds.fill(0.0);
            for c in 0..hd {
                axpy(doi[c], &vt[c * nk..(c + 1) * nk], &mut ds);
                axpy(doi[c], p, &mut dvt[c * nk..(c + 1) * nk]);
            }
            let weighted: f32 = p.iter().zip(&ds).map(|(p, g)| p * g).sum();
            ds.iter_mut().zip(p).for_each(|(g, p)| *g = p * (*g - weighted) * scale);
            let qi = &q[i * s.d + h * hd..i * s.d + (h + 1) * hd];
            for c in 0..hd {
                axpy(qi[c], &ds, &mut dkt[c * nk..(c + 1) * nk]);
            }
            let dqi = &mut dq[i * s.d + h * hd..i * s.d + (h + 1) * hd];
            for (j, &g) in ds.iter().enumerate() {
                axpy(g, &k[j * s.d + h * hd..j * s.d + (h + 1) * hd], dqi);
            }
        }
        for j in 0..nk {
            for c in 0..hd {
                dk[j * s.d + h * hd + c] = dkt[c * nk + j];
                dv[j * s.d + h * hd + c] = dvt[c * nk + j];
            }
        }
    }
}

/// [`forward_instance`] compiled for the widest vector instructions at hand.
fn forward_instance_with(simd: Simd, x: Inputs, s: Shape, out: &mut [f32], weights: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn avx512(x: Inputs, s: Shape, out: &mut [f32], weights: &mut [f32]) {
            forward_instance(Simd::Avx512, x, s, out, weights)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(x: Inputs, s: Shape, out: &mut [f32], weights: &mut [f32]) {
            forward_instance(Simd::Avx2, x, s, out, weights)
        }
        match simd {
            // SAFETY: `Simd::detect` found these instructions on this CPU.
            Simd::Avx512 => return unsafe { avx512(x, s, out, weights) },
            Simd::Avx2 => return unsafe { avx2(x, s, out, weights) },
            Simd::Baseline => {}
        }
    }
    forward_instance(Simd::Baseline, x, s, out, weights)
}

/// [`backward_instance`] compiled for the widest vector instructions at hand.
fn backward_instance_with(simd: Simd, x: Inputs, weights: &[f32], d_out: &[f32], s: Shape, g: InputGradients) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn avx512(x: Inputs, weights: &[f32], d_out: &[f32], s: Shape, g: InputGradients) {
            backward_instance(x, weights, d_out, s, g)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(x: Inputs, weights: &[f32], d_out: &[f32], s: Shape, g: InputGradients) {
            backward_instance(x, weights, d_out, s, g)
        }
        match simd {
            // SAFETY: `Simd::detect` found these instructions on this CPU.
            Simd::Avx512 => return unsafe { avx512(x, weights, d_out, s, g) },
            Simd::Avx2 => return unsafe { avx2(x, weights, d_out, s, g) },
            Simd::Baseline => {}
        }
    }
    backward_instance(x, weights, d_out, s, g)
}

/// Softmax of every head's scores; the output `[batch, queries, d]` and,
/// with `keep_weights` (for the backward pass), the weights.
fn forward(q: &[f32], k: &[f32], v: &[f32], s: Shape, keep_weights: bool) -> (Vec<f32>, Vec<f32>) {
    let (per_q, per_k) = (s.queries * s.d, s.keys * s.d);
    let per_w = if keep_weights { s.heads * s.queries * s.keys } else { 0 };
    let mut out = vec![0.0f32; s.batch * per_q];
    let mut weights = vec![0.0f32; s.batch * per_w];
    let simd = Simd::detect();
    let run = |b: usize, out: &mut [f32], weights: &mut [f32]| {
        let x = Inputs { q: &q[b * per_q..(b + 1) * per_q], k: &k[b * per_k..(b + 1) * per_k], v: &v[b * per_k..(b + 1) * per_k] };
        forward_instance_with(simd, x, s, out, weights);
    };
    if keep_weights {
        out.par_chunks_mut(per_q).zip(weights.par_chunks_mut(per_w)).enumerate().for_each(|(b, (out, weights))| run(b, out, weights));
    } else {
        out.par_chunks_mut(per_q).enumerate().for_each(|(b, out)| run(b, out, &mut []));
    }
    (out, weights)
}

/// Gradients with respect to `q`, `k` and `v` of `sum(d_out * out)`.
fn backward(kept: &Kept, d_out: &[f32], s: Shape) -> [Vec<f32>; 3] {
    let (per_q, per_k, per_w) = (s.queries * s.d, s.keys * s.d, s.heads * s.queries * s.keys);
    let (q, k, v) = (kept.q.as_slice(), kept.k.as_slice(), kept.v.as_slice());
    let mut dq = vec![0.0f32; q.len()];
    let mut dk = vec![0.0f32; k.len()];
    let mut dv = vec![0.0f32; v.len()];
    let simd = Simd::detect();
    dq.par_chunks_mut(per_q).zip(dk.par_chunks_mut(per_k)).zip(dv.par_chunks_mut(per_k)).enumerate().for_each(|(b, ((dq, dk), dv))| {
        let x = Inputs { q: &q[b * per_q..(b + 1) * per_q], k: &k[b * per_k..(b + 1) * per_k], v: &v[b * per_k..(b + 1) * per_k] };
        let weights = &kept.weights[b * per_w..(b + 1) * per_w];
        backward_instance_with(simd, x, weights, &d_out[b * per_q..(b + 1) * per_q], s, InputGradients { dq, dk, dv });
    });
    [dq, dk, dv]
}

#[derive(Debug)]
struct AttentionOp;

impl Backward<Flex, 3> for AttentionOp {
    type State = (Arc<Kept>, Shape);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (kept, s) = ops.state;
        let d_out = host(Tensor::<Flex, 3>::from_primitive(TensorPrimitive::Float(grads.consume::<Flex>(&ops.node))));
        let device = Default::default();
        let shapes = [[s.batch, s.queries, s.d], [s.batch, s.keys, s.d], [s.batch, s.keys, s.d]];
        for ((parent, values), shape) in ops.parents.into_iter().zip(backward(&kept, &d_out, s)).zip(shapes) {
            if let Some(node) = parent {
                grads.register::<Flex>(node.id, Flex::float_from_data(TensorData::new(values, shape), &device));
            }
        }
    }
}

/// `softmax(q_h k_h^T / sqrt(d_head)) v_h` for every head `h` (columns
/// `h * d_head ..` of the width), merged back into `[batch, queries, d]`, as
/// one op on the CPU backends; `None` on the others, which take Burn's form.
///
/// # Shapes
/// `q`: `[batch, queries, d]`, `k` and `v`: `[batch, keys, d]`; returns `[batch, queries, d]`.
pub fn attention<B: Backend>(q: &Tensor<B, 3>, k: &Tensor<B, 3>, v: &Tensor<B, 3>, heads: usize) -> Option<Tensor<B, 3>> {
    let ([batch, queries, d], [_, keys, _]) = (q.dims(), k.dims());
    if heads == 0 || d % heads != 0 || queries == 0 || keys == 0 || k.dims() != [batch, keys, d] || v.dims() != k.dims() {
        return None; // Burn's form broadcasts, or says what is wrong.
    }
    let s = Shape { batch, queries, keys, d, heads };
    if let (Some(q), Some(k), Some(v)) = (
        (q as &dyn Any).downcast_ref::<Tensor<Flex, 3>>(),
        (k as &dyn Any).downcast_ref::<Tensor<Flex, 3>>(),
        (v as &dyn Any).downcast_ref::<Tensor<Flex, 3>>(),
    ) {
        let (q, k, v) = (Values::of(q), Values::of(k), Values::of(v));
        let (out, _) = forward(q.as_slice(), k.as_slice(), v.as_slice(), s, false);
        let out: Box<dyn Any> = Box::new(Tensor::<Flex, 3>::from_data(TensorData::new(out, [batch, queries, d]), &Default::default()));
        return out.downcast::<Tensor<B, 3>>().ok().map(|t| *t);
    }
    let (q, k, v) = (
        (q as &dyn Any).downcast_ref::<Tensor<Cpu, 3>>()?,
        (k as &dyn Any).downcast_ref::<Tensor<Cpu, 3>>()?,
        (v as &dyn Any).downcast_ref::<Tensor<Cpu, 3>>()?,
    );
    let (qh, kh, vh) = (Values::of(&q.clone().inner()), Values::of(&k.clone().inner()), Values::of(&v.clone().inner()));
    let (out, weights) = forward(qh.as_slice(), kh.as_slice(), vh.as_slice(), s, true);
    let output = Flex::float_from_data(TensorData::new(out, [batch, queries, d]), &Default::default());
    let nodes = [q.clone().into_primitive().tensor().node, k.clone().into_primitive().tensor().node, v.clone().into_primitive().tensor().node];
    let result = match AttentionOp.prepare::<NoCheckpointing>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((Arc::new(Kept { q: qh, k: kh, v: vh, weights }), s), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    let out: Box<dyn Any> = Box::new(Tensor::<Cpu, 3>::from_primitive(TensorPrimitive::Float(result)));
    out.downcast::<Tensor<B, 3>>().ok().map(|t| *t)
}
