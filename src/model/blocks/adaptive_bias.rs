//! RRNCO's neural adaptive bias (NAB; ICLR 2026, section 4.2; reference code
//! `rrnco/models/nn/attn_freenet.py`, `DistAngleFusion`): a learned attention
//! bias from the distance, angle and duration matrices.
//!
//! Every entry of each matrix is lifted by its own MLP (`1 -> E -> E`, ReLU);
//! a gate mixes the lifted matrices per entry; a linear map takes the mix
//! back to one number per pair. With durations the gate is a softmax over 3
//! channels from an MLP (`3E -> E -> 3`, SiLU) with a learnable temperature
//! (logits divided by `exp(tau)`, `tau` starting at 5, so the gate starts
//! nearly uniform); without, a sigmoid from one linear (`2E -> 1`) mixes
//! distance and angle. The result is scaled by a learnable `alpha` (start 1).
//!
//! Departures of the reference code from the paper, followed here: the paper's
//! single `W_G` is an MLP in the code, and the angle matrix has the opposite
//! sign (section 6 of `RRNCO.md`; the angle is computed by the caller).
//!
//! Memory is `O(batch * nodes^2 * E)` per block: the lifted matrices are the
//! largest tensors of the RRNet encoder.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid, silu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::{linear_flat, linear_flat_with};

/// The reference's starting temperature: the gate starts at `softmax(logits / e^5)`.
const INITIAL_TEMPERATURE: f64 = 5.0;

#[derive(Config, Debug)]
pub struct AdaptiveBiasConfig {
    pub d_model: usize,
    /// Read the duration matrix too (3-channel gate, RRNCO's RCVRPTW); else
    /// distance and angle (2-channel gate, its ATSP and RCVRP).
    #[config(default = true)]
    pub durations: bool,
}

/// One matrix entry lifted to `E` channels: `W2 relu(W1 x + b1) + b2`.
#[derive(Module, Debug)]
pub struct EntryLift<B: Backend> {
    pub up: Linear<B>,
    pub down: Linear<B>,
}

impl<B: Backend> EntryLift<B> {
    fn new(d_model: usize, device: &B::Device) -> Self {
        EntryLift { up: LinearConfig::new(1, d_model).init(device), down: LinearConfig::new(d_model, d_model).init(device) }
    }

    /// `[batch, nodes, nodes]` to `[batch, nodes, nodes, E]`.
    fn forward(&self, m: Tensor<B, 3>) -> Tensor<B, 4> {
        linear_flat(&self.down, relu(linear_flat(&self.up, m.unsqueeze_dim::<4>(3))))
    }
}

#[derive(Module, Debug)]
pub struct AdaptiveBias<B: Backend> {
    pub distance: EntryLift<B>,
    pub angle: EntryLift<B>,
    pub duration: Option<EntryLift<B>>,
    /// The 3-channel gate's hidden layer (`3E -> E`); absent with 2 channels.
    pub gate_hidden: Option<Linear<B>>,
    /// `E -> 3` with 3 channels, `2E -> 1` with 2.
    pub gate: Linear<B>,
    /// `tau` of the 3-channel gate.
    pub temperature: Option<Param<Tensor<B, 1>>>,
    /// `E -> 1`: the mixed channels to one bias per pair. Its bias adds one
    /// constant to every pair, which the AAFM's softmax over each row cancels:
    /// it never gets a gradient, and is kept for the reference's parameter count.
    pub output: Linear<B>,
    pub alpha: Param<Tensor<B, 1>>,
}

impl AdaptiveBiasConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> AdaptiveBias<B> {
        let e = self.d_model;
        let three = self.durations;
        AdaptiveBias {
            distance: EntryLift::new(e, device),
            angle: EntryLift::new(e, device),
            duration: three.then(|| EntryLift::new(e, device)),
            gate_hidden: three.then(|| LinearConfig::new(3 * e, e).init(device)),
            gate: if three { LinearConfig::new(e, 3).init(device) } else { LinearConfig::new(2 * e, 1).init(device) },
            temperature: three.then(|| Param::from_tensor(Tensor::full([1], INITIAL_TEMPERATURE, device))),
            output: LinearConfig::new(e, 1).init(device),
            alpha: Param::from_tensor(Tensor::ones([1], device)),
        }
    }

    /// Trainable parameters of the block this config builds.
    pub fn num_params(&self) -> usize {
        let e = self.d_model;
        let lift = 2 * e + e * e + e;
        let gate = if self.durations { 3 * e * e + e + 3 * e + 3 + 1 } else { 2 * e + 1 };
        let lifts = if self.durations { 3 } else { 2 };
        lifts * lift + gate + (e + 1) + 1
    }
}

impl<B: Backend> AdaptiveBias<B> {
    /// The bias `alpha * A` of every pair.
    ///
    /// # Shapes
    /// - `distance`, `angle`, `duration`: `[batch, nodes, nodes]` (the
    ///   duration is read only with 3 channels)
    /// - output: `[batch, nodes, nodes]`
    pub fn forward(&self, distance: Tensor<B, 3>, angle: Tensor<B, 3>, duration: Tensor<B, 3>) -> Tensor<B, 3> {
        let d = self.distance.forward(distance);
        let a = self.angle.forward(angle);
        let [batch, nodes, _, _] = d.dims();
        // The output map is linear, so `W (sum_k g_k X_k) + b = sum_k g_k (W X_k) + b`:
        // each lifted matrix is projected to one number per pair before the
        // gate mixes them, and no `[batch, nodes, nodes, E]` product is formed
        // (same values up to float rounding, a fraction of the memory traffic).
        let project = |x: Tensor<B, 4>| linear_flat_with(x, self.output.weight.val(), None);
        let mixed = match (&self.duration, &self.gate_hidden, &self.temperature) {
            (Some(lift), Some(hidden), Some(tau)) => {
                let t = lift.forward(duration);
                let logits = linear_flat(&self.gate, silu(joined(hidden, [&d, &a, &t])));
                let g = softmax(logits / tau.val().exp().unsqueeze::<4>(), 3);
                (g * Tensor::cat(vec![project(d), project(a), project(t)], 3)).sum_dim(3)
            }
            _ => {
                let g = sigmoid(joined(&self.gate, [&d, &a]));
                let (d, a) = (project(d), project(a));
                a.clone() + g * (d - a)
            }
        };
        let mixed = mixed.reshape([batch, nodes, nodes]);
        let mixed = match &self.output.bias {
            Some(b) => mixed + b.val().unsqueeze::<3>(),
            None => mixed,
        };
        mixed * self.alpha.val().unsqueeze::<3>()
    }
}

/// `layer` applied to the lifted matrices joined along their channels,
/// `cat(x_1, .., x_k) W + b = sum_k x_k W_k + b` with `W_k` the rows of `W`
/// that read `x_k`: the joined `[batch, nodes, nodes, kE]` tensor is never
/// built, and each input's gradient stays contiguous (Burn's gradient of a
/// concatenation is strided, and adding to it walks it element by element).
///
/// # Shapes
/// - `parts`: `k` of `[batch, nodes, nodes, E]`; output: `[batch, nodes, nodes, d_output]`
fn joined<B: Backend, const K: usize>(layer: &Linear<B>, parts: [&Tensor<B, 4>; K]) -> Tensor<B, 4> {
    let weight = layer.weight.val();
    let e = weight.dims()[0] / K;
    let sum = parts
        .iter()
        .enumerate()
        .map(|(k, x)| linear_flat_with((*x).clone(), weight.clone().narrow(0, k * e, e), None))
        .reduce(|a, b| a + b)
        .expect("at least one part");
    match &layer.bias {
        Some(b) => sum + b.val().unsqueeze::<4>(),
        None => sum,
    }
}
