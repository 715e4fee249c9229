//! The POMO / attention-model pointer decoder (rl4co's AM decoder, as
//! RouteFinder uses it): per step, a query from the current node's embedding
//! and the context, an 8-head glimpse over the nodes, single-head logits,
//! `clip * tanh`, masked log-softmax.
//!
//! The glimpse keys and values and the logit keys are computed once per
//! encoding and shared by all P rollouts of an instance: the rollouts are the
//! query axis, so nothing is copied per rollout.

use burn::module::Module;
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::blocks::{SpectralLinear, SpectralLinearConfig, MASKED};
use super::config::ModelConfig;
use super::features::StepInput;
use super::heavy_decoder::gather_rows;

#[derive(Module, Debug)]
pub struct Pointer<B: Backend> {
    pub query: SpectralLinear<B>,
    pub fixed_context: SpectralLinear<B>,
    pub keys: SpectralLinear<B>,
    pub glimpse_output: SpectralLinear<B>,
    pub heads: usize,
    pub tanh_clip: f64,
}

/// What the pointer keeps per encoding.
#[derive(Clone, Debug)]
pub struct PointerCache<B: Backend> {
    pub embeddings: Tensor<B, 3>,
    /// `[batch, heads, head_dim, nodes]`, pre-transposed and contiguous.
    glimpse_keys: Tensor<B, 4>,
    glimpse_values: Tensor<B, 4>,
    /// `[batch, d, nodes]`, pre-transposed.
    logit_keys: Tensor<B, 3>,
    /// `[batch, 1, d]`.
    fixed: Tensor<B, 3>,
}

impl<B: Backend> Pointer<B> {
    pub fn new(c: &ModelConfig, device: &B::Device) -> Self {
        let d = c.d_model;
        let context = c.context_features();
        let lin = |i, o| SpectralLinearConfig::new(i, o).with_bias(false).with_spectral(c.spectral).init(device);
        Pointer {
            query: lin(d + context, d),
            fixed_context: lin(d, d),
            keys: lin(d, 3 * d),
            glimpse_output: lin(d, d),
            heads: c.pointer_heads,
            tanh_clip: c.tanh_clip,
        }
    }

    /// Keys and values of every node, once per encoding.
    pub fn precompute(&self, embeddings: Tensor<B, 3>) -> PointerCache<B> {
        let [batch, nodes, d] = embeddings.dims();
        let kv = self.keys.forward(embeddings.clone()).reshape([batch, nodes, 3, d]);
        let part = |k: usize| kv.clone().narrow(2, k, 1).reshape([batch, nodes, d]);
        let split = |t: Tensor<B, 3>| t.reshape([batch, nodes, self.heads, d / self.heads]).swap_dims(1, 2);
        PointerCache {
            glimpse_keys: split(part(0)).swap_dims(2, 3) * 1.0,
            glimpse_values: split(part(1)),
            logit_keys: part(2).swap_dims(1, 2),
            fixed: self.fixed_context.forward(embeddings.clone().mean_dim(1)),
            embeddings,
        }
    }

    /// Log-probabilities `[batch, rollouts, nodes]` of the next node.
    pub fn step(&self, cache: &PointerCache<B>, input: StepInput<B>) -> Tensor<B, 3> {
        let [batch, rollouts] = input.current.dims();
        let d = cache.fixed.dims()[2];
        let head_dim = d / self.heads;
        let at = gather_rows(&cache.embeddings, input.current);
        let query = self.query.forward(Tensor::cat(vec![at, input.context], 2)) + cache.fixed.clone();
        let forbidden = input.allowed.bool_not();
        // Glimpse: rollouts are the queries of a multi-head attention over the nodes.
        let q = query.reshape([batch, rollouts, self.heads, head_dim]).swap_dims(1, 2);
        let nodes = cache.glimpse_keys.dims()[3];
        let bias = Tensor::<B, 3>::zeros([batch, rollouts, nodes], &q.device()).mask_fill(forbidden.clone(), MASKED).unsqueeze_dim::<4>(1);
        let scores = q.matmul(cache.glimpse_keys.clone()) / (head_dim as f64).sqrt() + bias;
        let glimpse = softmax(scores, 3).matmul(cache.glimpse_values.clone()).swap_dims(1, 2).reshape([batch, rollouts, d]);
        let glimpse = self.glimpse_output.forward(glimpse);
        let logits = glimpse.matmul(cache.logit_keys.clone()) / (d as f64).sqrt();
        let logits = logits.tanh() * self.tanh_clip;
        log_softmax(logits.mask_fill(forbidden, MASKED), 2)
    }
}
