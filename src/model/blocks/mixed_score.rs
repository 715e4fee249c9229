//! MatNet's mixed-score attention (Kwon et al., NeurIPS 2021, section 3.2)
//! in RADAR's form (`REFERENCES.md`, RADAR): each head's attention score
//! `q_i k_j / sqrt(d)` is passed, with the distances `d_ij` and `d_ji` of the
//! two nodes, through a small MLP of the head's own (`3 -> 16 -> 1`, ReLU)
//! before the softmax or Sinkhorn normalisation. MatNet's MLP reads the
//! score and `d_ij` only (2 inputs); RADAR adds `d_ji`. It is how the
//! encoder reads the whole matrix, not only its low-rank SVD features.
//!
//! Initialisation: the MLP starts as the identity on the score (two hidden
//! units compute `relu(s)` and `relu(-s)`, read out as `relu(s) - relu(-s) =
//! s`; the other units start with random input weights and a zero read-out),
//! so the attention starts as the plain one and learns to use the distances
//! from there. This is what lets a trained model without mixed scores grow
//! them and keep its outputs to the bit (`super::super::grow`). MatNet
//! initialises the MLP at random instead.
//!
//! The MLP runs as two batched matrix products over every pair at once
//! (`[s, d_ij, d_ji, 1]` times a `4 x 17` matrix per head, the ReLU, then
//! times a `17 x 1` one; the constant input and a constant hidden unit carry
//! the two biases), so that the backend's matrix kernels do the work:
//! applied unit by unit, as broadcast products of the scores' size, the
//! MLP took most of a training step at 100 nodes on the CPU backend. Its
//! hidden layer is 17 times the scores' size; above [`MAX_HIDDEN`] entries
//! the rows go through in chunks. The chunks bound the memory of inference
//! only (one chunk's inputs, hidden layer and ReLU output at a time, about
//! 2.3 x 64 MiB): in training, autodiff keeps every chunk's activations for
//! the backward pass, 17 hidden values per pair and head as before.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};

/// MatNet's hidden width of the score MLP (`ms_hidden_dim`).
pub const HIDDEN: usize = 16;

/// The most hidden activations (`batch * heads * rows * nodes * 17`) one
/// chunk of rows holds: 64 MiB of f32.
pub const MAX_HIDDEN: usize = 1 << 24;

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
        self.forward_in_chunks(scores, distances, MAX_HIDDEN)
    }

    /// [`Self::forward`], with at most `max_hidden` hidden activations at a
    /// time (at least one row of pairs): the same values and gradients
    /// whatever the chunks.
    ///
    /// # Shapes
    /// As [`Self::forward`].
    ///
    /// # Panics
    /// As [`Self::forward`].
    pub fn forward_in_chunks(&self, scores: Tensor<B, 4>, distances: Tensor<B, 3>, max_hidden: usize) -> Tensor<B, 4> {
        let [batch, heads, n, m] = scores.dims();
        assert_eq!(n, m, "mixed scores are self-attention's: every node attends to every node");
        if n == 0 {
            return scores;
        }
        let backward_d = distances.clone().swap_dims(1, 2);
        let (first, second) = self.layers();
        let per_row = (batch * heads * n * (HIDDEN + 1)).max(1);
        let rows = (max_hidden / per_row).clamp(1, n);
        let mut chunks: Vec<Tensor<B, 4>> = (0..n)
            .step_by(rows)
            .map(|row| {
                let len = rows.min(n - row);
                let pairs = |d: &Tensor<B, 3>| d.clone().narrow(1, row, len).reshape([batch, 1, len * n, 1]).expand([batch, heads, len * n, 1]);
                let inputs = Tensor::cat(
                    vec![
                        scores.clone().narrow(2, row, len).reshape([batch, heads, len * n, 1]),
                        pairs(&distances),
                        pairs(&backward_d),
                        Tensor::ones([batch, heads, len * n, 1], &scores.device()),
                    ],
                    3,
                );
                relu(inputs.matmul(first.clone())).matmul(second.clone()).reshape([batch, heads, len, n])
            })
            .collect();
        if chunks.len() == 1 {
            chunks.pop().expect("one chunk")
        } else {
            Tensor::cat(chunks, 2)
        }
    }

    /// The MLP as two matrices per head: `[1, heads, 4, HIDDEN + 1]` (the
    /// input weights, the biases as the row of the constant input, and a
    /// last unit that passes the constant on) and `[1, heads, HIDDEN + 1, 1]`
    /// (the read-out, the output bias last).
    fn layers(&self) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let heads = self.output_bias.dims()[0];
        let device = self.output_bias.device();
        let constant = Tensor::<B, 3>::from_data(TensorData::new(vec![0f32, 0.0, 0.0, 1.0], [1, 4, 1]), &device).expand([heads, 4, 1]);
        let weights = Tensor::cat(vec![self.input.val(), self.input_bias.val().reshape([heads, 1, HIDDEN])], 1);
        let first = Tensor::cat(vec![weights, constant], 2).reshape([1, heads, 4, HIDDEN + 1]);
        let second = Tensor::cat(vec![self.output.val(), self.output_bias.val().reshape([heads, 1])], 1).reshape([1, heads, HIDDEN + 1, 1]);
        (first, second)
    }
}

/// Trainable parameters of one layer's mixed scores.
pub fn num_params(n_heads: usize) -> usize {
    n_heads * (3 * HIDDEN + HIDDEN + HIDDEN + 1)
}
