//! MatNet's mixed-score attention (Kwon et al., NeurIPS 2021, section 3.2;
//! kept by RADAR's encoder, `REFERENCES.md`): each head's attention score
//! `q_i k_j / sqrt(d)` is passed, with the distances `d_ij` and `d_ji` of the
//! two nodes, through a small MLP of the head's own (`3 -> 16 -> 1`, ReLU)
//! before the softmax or Sinkhorn normalisation. It is how the encoder reads
//! the whole matrix, not only its low-rank SVD features.
//!
//! Initialisation: the MLP starts as the identity on the score (two hidden
//! units compute `relu(s)` and `relu(-s)`, read out as `relu(s) - relu(-s) =
//! s`; the other units start with random input weights and a zero read-out),
//! so the attention starts as the plain one and learns to use the distances
//! from there. This is what lets a trained model without mixed scores grow
//! them and keep its outputs to the bit (`super::super::grow`). MatNet
//! initialises the MLP at random instead.
//!
//! The hidden units are computed one at a time, so the forward pass holds a
//! few tensors of the scores' size (`batch * heads * nodes^2`), not 16 times
//! that; training keeps each unit's activations for the backward pass.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};

/// MatNet's hidden width of the score MLP (`ms_hidden_dim`).
pub const HIDDEN: usize = 16;

#[derive(Config, Debug)]
pub struct MixedScoreConfig {
    pub n_heads: usize,
}

/// Per head: `W2 relu(W1 [s, d_ij, d_ji] + b1) + b2`.
#[derive(Module, Debug)]
pub struct MixedScore<B: Backend> {
    /// `[heads, 3, HIDDEN]`: rows for the score, `d_ij` and `d_ji`.
    pub input: Param<Tensor<B, 3>>,
    /// `[heads, HIDDEN]`.
    pub input_bias: Param<Tensor<B, 2>>,
    /// `[heads, HIDDEN]`.
    pub output: Param<Tensor<B, 2>>,
    /// `[heads]`.
    pub output_bias: Param<Tensor<B, 1>>,
}

impl MixedScoreConfig {
    /// The identity on the score (module docs); the other hidden units'
    /// input weights and biases uniform in `[-1/sqrt(3), 1/sqrt(3)]`, as a
    /// linear layer of 3 inputs.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MixedScore<B> {
        let h = self.n_heads;
        let bound = 1.0 / 3f64.sqrt();
        let random = |shape: Vec<usize>| Tensor::<B, 1>::random([shape.iter().product::<usize>()], Distribution::Uniform(-bound, bound), device);
        // Units 0 and 1 read +s and -s with no bias; the read-out is (1, -1, 0, ...).
        let mut fixed_input = vec![0f32; h * 3 * HIDDEN];
        let mut keep_random = vec![1f32; h * 3 * HIDDEN];
        let mut readout = vec![0f32; h * HIDDEN];
        let mut bias_mask = vec![1f32; h * HIDDEN];
        for head in 0..h {
            for row in 0..3 {
                for unit in 0..2 {
                    keep_random[(head * 3 + row) * HIDDEN + unit] = 0.0;
                }
            }
            fixed_input[head * 3 * HIDDEN] = 1.0;
            fixed_input[head * 3 * HIDDEN + 1] = -1.0;
            readout[head * HIDDEN] = 1.0;
            readout[head * HIDDEN + 1] = -1.0;
            bias_mask[head * HIDDEN] = 0.0;
            bias_mask[head * HIDDEN + 1] = 0.0;
        }
        let data = |v: Vec<f32>, shape: Vec<usize>| Tensor::<B, 1>::from_data(TensorData::new(v, [shape.iter().product::<usize>()]), device);
        let input = random(vec![h, 3, HIDDEN]) * data(keep_random, vec![h, 3, HIDDEN]) + data(fixed_input, vec![h, 3, HIDDEN]);
        let input_bias = random(vec![h, HIDDEN]) * data(bias_mask, vec![h, HIDDEN]);
        MixedScore {
            input: Param::from_tensor(input.reshape([h, 3, HIDDEN])),
            input_bias: Param::from_tensor(input_bias.reshape([h, HIDDEN])),
            output: Param::from_tensor(data(readout, vec![h, HIDDEN]).reshape([h, HIDDEN])),
            output_bias: Param::from_tensor(Tensor::zeros([h], device)),
        }
    }
}

impl<B: Backend> MixedScore<B> {
    /// The mixed scores.
    ///
    /// # Shapes
    /// `scores`: `[batch, heads, n, n]`; `distances`: `[batch, n, n]`, `d_ij`
    /// in row `i`, in the model's frame; returns `[batch, heads, n, n]`.
    ///
    /// # Panics
    /// When `n` and `m` differ: the scores are self-attention's.
    pub fn forward(&self, scores: Tensor<B, 4>, distances: Tensor<B, 3>) -> Tensor<B, 4> {
        let [batch, heads, n, m] = scores.dims();
        assert_eq!(n, m, "mixed scores are self-attention's: every node attends to every node");
        let forward_d = distances.clone().reshape([batch, 1, n, n]);
        let backward_d = distances.swap_dims(1, 2).reshape([batch, 1, n, n]);
        let per_head = |t: Tensor<B, 2>, unit: usize| t.narrow(1, unit, 1).reshape([1, heads, 1, 1]);
        let (input, input_bias, output) = (self.input.val(), self.input_bias.val(), self.output.val());
        let weight = |row: usize, unit: usize| per_head(input.clone().narrow(1, row, 1).reshape([heads, HIDDEN]), unit);
        // One hidden unit at a time: memory stays that of the scores, not 16 times it.
        let mut mixed = self.output_bias.val().reshape([1, heads, 1, 1]).expand([batch, heads, n, n]);
        for unit in 0..HIDDEN {
            let hidden = scores.clone() * weight(0, unit)
                + forward_d.clone() * weight(1, unit)
                + backward_d.clone() * weight(2, unit)
                + per_head(input_bias.clone(), unit);
            mixed = mixed + relu(hidden) * per_head(output.clone(), unit);
        }
        mixed
    }
}

/// Trainable parameters of one layer's mixed scores.
pub fn num_params(n_heads: usize) -> usize {
    n_heads * (3 * HIDDEN + HIDDEN + HIDDEN + 1)
}
