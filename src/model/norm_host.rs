//! Instance normalisation (POMO's) as one op on the CPU, with a hand-written
//! backward pass.
//!
//! Burn's form (`blocks::instance_norm`: two means over the nodes, a
//! subtraction and a division, each broadcast) runs its broadcasts and their
//! gradients through the CPU backend's strided iterator: 8% of a `pomo`
//! training step at n = 50, more than the arithmetic. Here the statistics,
//! the normalisation and the affine map are one pass over `[batch, nodes, d]`
//! rows, and the backward pass is the closed form of the gradient
//! (`dx = (dx̂ - mean(dx̂) - x̂ mean(dx̂ x̂)) / sigma` per instance and
//! channel, `dx̂ = gamma dy`). `tests/model/norm_host.rs` checks values and
//! gradients against Burn's form.
//!
//! It applies on `Flex` and `Autodiff<Flex>` (found by type at run time);
//! other backends take Burn's form.

use std::any::Any;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use rayon::prelude::*;

use super::host_kernels::Simd;

/// The CPU backend under autodiff, on which these host ops record their own backward pass.
pub(crate) type Cpu = Autodiff<Flex>;

/// What the backward pass keeps of one instance norm.
#[derive(Debug)]
struct Normalised {
    /// `[batch, nodes, d]`: `(x - mean) / sigma`.
    x_hat: Vec<f32>,
    /// `[batch, d]`: `1 / sigma`.
    inverse_sigma: Vec<f32>,
}

/// `y = gamma (x - mean) / sqrt(var + epsilon) + beta`, mean and (biased)
/// variance of each instance's channel over its nodes; `y` and, with `keep`
/// (training), what the backward pass needs (empty without).
fn forward(x: &[f32], gamma: &[f32], beta: &[f32], [batch, nodes, d]: [usize; 3], epsilon: f32, keep: bool) -> (Vec<f32>, Normalised) {
    let mut y = vec![0.0f32; x.len()];
    let mut x_hat = vec![0.0f32; if keep { x.len() } else { 0 }];
    let mut inverse_sigma = vec![0.0f32; batch * d];
    let per = nodes * d;
    let simd = Simd::detect();
    let run = |b: usize, y: &mut [f32], x_hat: &mut [f32], inv: &mut [f32]| {
        let one = Instance { x: &x[b * per..(b + 1) * per], gamma, beta, nodes, epsilon };
        normalise_with(simd, one, y, x_hat, inv);
    };
    if keep {
        y.par_chunks_mut(per)
            .zip(x_hat.par_chunks_mut(per))
            .zip(inverse_sigma.par_chunks_mut(d))
            .enumerate()
            .for_each(|(b, ((y, x_hat), inv))| run(b, y, x_hat, inv));
    } else {
        y.par_chunks_mut(per).zip(inverse_sigma.par_chunks_mut(d)).enumerate().for_each(|(b, (y, inv))| run(b, y, &mut [], inv));
    }
    (y, Normalised { x_hat, inverse_sigma })
}

/// One instance's input to [`normalise`].
#[derive(Clone, Copy)]
struct Instance<'a> {
    /// `[nodes, d]`.
    x: &'a [f32],
    gamma: &'a [f32],
    beta: &'a [f32],
    nodes: usize,
    epsilon: f32,
}

/// One instance of [`forward`]: `y`, `x_hat` (when not empty) and `inv`, `1 / sigma`.
#[inline(always)]
fn normalise(one: Instance, y: &mut [f32], x_hat: &mut [f32], inv: &mut [f32]) {
    let Instance { x, gamma, beta, nodes, epsilon } = one;
    let d = inv.len();
    let mut mean = vec![0.0f32; d];
    for row in x.chunks_exact(d) {
        add(row, &mut mean);
    }
    mean.iter_mut().for_each(|m| *m /= nodes as f32);
    let mut variance = vec![0.0f32; d];
    for row in x.chunks_exact(d) {
        for ((v, &x), &m) in variance.iter_mut().zip(row).zip(&mean) {
            *v += (x - m) * (x - m);
        }
    }
    for (i, v) in inv.iter_mut().zip(&variance) {
        *i = 1.0 / (v / nodes as f32 + epsilon).sqrt();
    }
    for (k, (row, y)) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)).enumerate() {
        for c in 0..d {
            let normalised = (row[c] - mean[c]) * inv[c];
            y[c] = normalised.mul_add(gamma[c], beta[c]);
            if !x_hat.is_empty() {
                x_hat[k * d + c] = normalised;
            }
        }
    }
}

/// [`normalise`] compiled for the widest vector instructions at hand (and
/// their FMA: `mul_add` outside such a function calls libm's `fmaf`).
fn normalise_with(simd: Simd, one: Instance, y: &mut [f32], x_hat: &mut [f32], inv: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn avx512(one: Instance, y: &mut [f32], x_hat: &mut [f32], inv: &mut [f32]) {
            normalise(one, y, x_hat, inv)
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2(one: Instance, y: &mut [f32], x_hat: &mut [f32], inv: &mut [f32]) {
            normalise(one, y, x_hat, inv)
        }
        match simd {
            // SAFETY: `Simd::detect` found these instructions on this CPU.
            Simd::Avx512 => return unsafe { avx512(one, y, x_hat, inv) },
            Simd::Avx2 => return unsafe { avx2(one, y, x_hat, inv) },
            Simd::Baseline => {}
        }
    }
    normalise(one, y, x_hat, inv)
}

/// Gradients of `sum dy * y` with respect to `x`, `gamma` and `beta`.
fn backward(n: &Normalised, gamma: &[f32], dy: &[f32], [batch, nodes, d]: [usize; 3]) -> [Vec<f32>; 3] {
    let per = nodes * d;
    let mut dx = vec![0.0f32; dy.len()];
    let parts: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(per)
        .enumerate()
        .map(|(b, dx)| {
            let (dy, x_hat) = (&dy[b * per..(b + 1) * per], &n.x_hat[b * per..(b + 1) * per]);
            let inv = &n.inverse_sigma[b * d..(b + 1) * d];
            // Per channel: sum dy (beta), sum dy x̂ (gamma); dx̂ = gamma dy.
            let (mut dbeta, mut dgamma) = (vec![0.0f32; d], vec![0.0f32; d]);
            for (dy, x_hat) in dy.chunks_exact(d).zip(x_hat.chunks_exact(d)) {
                add(dy, &mut dbeta);
                for ((g, &dy), &x) in dgamma.iter_mut().zip(dy).zip(x_hat) {
                    *g = dy.mul_add(x, *g);
                }
            }
            for ((dx, dy), x_hat) in dx.chunks_exact_mut(d).zip(dy.chunks_exact(d)).zip(x_hat.chunks_exact(d)) {
                for c in 0..d {
                    let mean_dx_hat = gamma[c] * dbeta[c] / nodes as f32;
                    let mean_dx_hat_x_hat = gamma[c] * dgamma[c] / nodes as f32;
                    dx[c] = inv[c] * (gamma[c] * dy[c] - mean_dx_hat - x_hat[c] * mean_dx_hat_x_hat);
                }
            }
            (dgamma, dbeta)
        })
        .collect();
    let (mut dgamma, mut dbeta) = (vec![0.0f32; d], vec![0.0f32; d]);
    for (g, b) in &parts {
        add(g, &mut dgamma);
        add(b, &mut dbeta);
    }
    debug_assert_eq!(parts.len(), batch);
    [dx, dgamma, dbeta]
}

/// `y += x`.
fn add(x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += x;
    }
}

/// The values of a CPU tensor where they lie, without a copy when its
/// buffer is contiguous `f32` (a contiguous copy otherwise): inference's
/// host ops read their inputs through it.
#[derive(Debug)]
pub(crate) struct Values(FlexTensor);

impl Values {
    pub(crate) fn of<const D: usize>(t: &Tensor<Flex, D>) -> Values {
        let t = t.clone().into_primitive().tensor();
        if t.dtype() == DType::F32 && t.as_slice::<f32>().is_some() {
            return Values(t);
        }
        Values(FlexTensor::from_data(t.into_data().convert::<f32>()))
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        self.0.as_slice().expect("a contiguous f32 buffer")
    }
}

/// The values of `t`, on the host: its own buffer when `t` holds the only
/// reference to a contiguous one (no copy), a copy otherwise.
pub(crate) fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().into_vec().expect("float tensors")
}

#[derive(Debug)]
struct InstanceNormOp;

impl Backward<Flex, 3> for InstanceNormOp {
    type State = (Arc<(Normalised, Vec<f32>)>, [usize; 3]);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (kept, shape) = ops.state;
        let (normalised, gamma) = &*kept;
        let dy = host(Tensor::<Flex, 3>::from_primitive(TensorPrimitive::Float(grads.consume::<Flex>(&ops.node))));
        let device = Default::default();
        let shapes = [shape.to_vec(), vec![shape[2]], vec![shape[2]]];
        for ((parent, values), shape) in ops.parents.into_iter().zip(backward(normalised, gamma, &dy, shape)).zip(shapes) {
            if let Some(node) = parent {
                grads.register::<Flex>(node.id, Flex::float_from_data(TensorData::new(values, shape), &device));
            }
        }
    }
}

/// Instance normalisation of `x` `[batch, nodes, d]` with the affine map
/// `gamma`, `beta` `[d]`, as one op on the CPU backends; `None` on the
/// others, which take Burn's form.
pub fn instance_norm<B: Backend>(x: &Tensor<B, 3>, gamma: &Tensor<B, 1>, beta: &Tensor<B, 1>, epsilon: f64) -> Option<Tensor<B, 3>> {
    let shape = x.dims();
    if let (Some(x), Some(gamma), Some(beta)) = (
        (x as &dyn Any).downcast_ref::<Tensor<Flex, 3>>(),
        (gamma as &dyn Any).downcast_ref::<Tensor<Flex, 1>>(),
        (beta as &dyn Any).downcast_ref::<Tensor<Flex, 1>>(),
    ) {
        let (x, gamma, beta) = (Values::of(x), Values::of(gamma), Values::of(beta));
        let (y, _) = forward(x.as_slice(), gamma.as_slice(), beta.as_slice(), shape, epsilon as f32, false);
        let y: Box<dyn Any> = Box::new(Tensor::<Flex, 3>::from_data(TensorData::new(y, shape), &Default::default()));
        return y.downcast::<Tensor<B, 3>>().ok().map(|t| *t);
    }
    let (x, gamma, beta) = (
        (x as &dyn Any).downcast_ref::<Tensor<Cpu, 3>>()?,
        (gamma as &dyn Any).downcast_ref::<Tensor<Cpu, 1>>()?,
        (beta as &dyn Any).downcast_ref::<Tensor<Cpu, 1>>()?,
    );
    let gamma_host = host(gamma.clone().inner());
    let (x_values, beta_values) = (Values::of(&x.clone().inner()), Values::of(&beta.clone().inner()));
    let (y, n) = forward(x_values.as_slice(), &gamma_host, beta_values.as_slice(), shape, epsilon as f32, true);
    let output = Flex::float_from_data(TensorData::new(y, shape), &Default::default());
    let nodes = [x.clone().into_primitive().tensor().node, gamma.clone().into_primitive().tensor().node, beta.clone().into_primitive().tensor().node];
    let result = match InstanceNormOp.prepare::<NoCheckpointing>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((Arc::new((n, gamma_host)), shape), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    let y: Box<dyn Any> = Box::new(Tensor::<Cpu, 3>::from_primitive(TensorPrimitive::Float(result)));
    y.downcast::<Tensor<B, 3>>().ok().map(|t| *t)
}
