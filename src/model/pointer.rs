//! The POMO / attention-model pointer decoder (rl4co's AM decoder, as
//! RouteFinder uses it): per step, a query from the current node's embedding
//! and the context, an 8-head glimpse over the nodes, single-head logits,
//! `clip * tanh`, masked log-softmax.
//!
//! Everything linear in the node embeddings is computed once per encoding,
//! exactly (only float rounding differs from the step-by-step form):
//! - the query projection of every node's embedding, with the fixed
//!   (graph) context added, so that a step only adds the context's share;
//! - the glimpse output projection folded into the logit keys:
//!   `(g W_o) K^T = g (W_o K^T)`.
//!
//! The keys are shared by all P rollouts of an instance: the rollouts are the
//! query axis, so nothing is copied per rollout. On the CPU the step runs as
//! one fused kernel ([`super::pointer_host`]); this Burn form is the reference
//! it is tested against, the form gradients flow through, and the GPU's.

use burn::module::Module;
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor};

use super::blocks::{linear_flat_with, SpectralLinear, SpectralLinearConfig, MASKED};
use super::config::ModelConfig;
use super::features::StepInput;
use super::heavy_decoder::gather_rows;

#[derive(Module, Debug)]
pub struct Pointer<B: Backend> {
    /// `[d + context] -> d`: the current node's embedding and the context.
    pub query: SpectralLinear<B>,
    pub fixed_context: SpectralLinear<B>,
    /// `d -> 3d`: glimpse keys, glimpse values, logit keys.
    pub keys: SpectralLinear<B>,
    pub glimpse_output: SpectralLinear<B>,
    pub heads: usize,
    pub tanh_clip: f64,
}

/// What the pointer keeps per encoding.
#[derive(Clone, Debug)]
pub struct PointerCache<B: Backend> {
    /// `[batch, nodes, d]`: each node's query share plus the fixed context.
    pub node_queries: Tensor<B, 3>,
    /// `[context, d]`: the context's share of the query projection.
    pub context_weight: Tensor<B, 2>,
    /// `[batch, heads, head_dim, nodes]`, pre-transposed.
    pub glimpse_keys: Tensor<B, 4>,
    /// `[batch, heads, nodes, head_dim]`.
    pub glimpse_values: Tensor<B, 4>,
    /// `[batch, d, nodes]`: `W_o K^T`, the logit keys with the glimpse output folded in.
    pub logit_keys: Tensor<B, 3>,
    pub heads: usize,
    pub tanh_clip: f64,
}

impl<B: Backend> PointerCache<B> {
    /// The same values, cut from the autodiff graph.
    pub fn detach(&self) -> PointerCache<B> {
        PointerCache {
            node_queries: self.node_queries.clone().detach(),
            context_weight: self.context_weight.clone().detach(),
            glimpse_keys: self.glimpse_keys.clone().detach(),
            glimpse_values: self.glimpse_values.clone().detach(),
            logit_keys: self.logit_keys.clone().detach(),
            ..self.clone()
        }
    }
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

    /// Keys, values and query shares of every node, once per encoding.
    ///
    /// # Shapes
    /// - `embeddings`: `[batch, nodes, d]`
    pub fn precompute(&self, embeddings: Tensor<B, 3>) -> PointerCache<B> {
        let [batch, nodes, d] = embeddings.dims();
        let kv = self.keys.forward(embeddings.clone()).reshape([batch, nodes, 3, d]);
        let part = |k: usize| kv.clone().narrow(2, k, 1).reshape([batch, nodes, d]);
        let split = |t: Tensor<B, 3>| t.reshape([batch, nodes, self.heads, d / self.heads]).swap_dims(1, 2);
        let query = self.query.weight();
        let context = query.dims()[0] - d;
        let fixed = self.fixed_context.forward(embeddings.clone().mean_dim(1));
        let node_queries = linear_flat_with(embeddings, query.clone().narrow(0, 0, d), None) + fixed;
        // (W_o K^T)^T = K W_o^T: one linear, no broadcast matmul.
        let folded = linear_flat_with(part(2), self.glimpse_output.weight().transpose(), None);
        PointerCache {
            node_queries,
            context_weight: query.narrow(0, d, context),
            // `* 1.0` lays the transposed views out contiguously, once.
            glimpse_keys: split(part(0)).swap_dims(2, 3) * 1.0,
            glimpse_values: split(part(1)) * 1.0,
            logit_keys: folded.swap_dims(1, 2) * 1.0,
            heads: self.heads,
            tanh_clip: self.tanh_clip,
        }
    }

    /// Log-probabilities `[batch, rollouts, nodes]` of the next node.
    pub fn step(&self, cache: &PointerCache<B>, input: StepInput<B>) -> Tensor<B, 3> {
        let d = cache.context_weight.dims()[1];
        let query = gather_rows(&cache.node_queries, input.current) + linear_flat_with(input.context, cache.context_weight.clone(), None);
        let forbidden = input.allowed.bool_not();
        let glimpse = glimpse(query, &cache.glimpse_keys, &cache.glimpse_values, &forbidden);
        let logits = glimpse.matmul(cache.logit_keys.clone()) / (d as f64).sqrt();
        let logits = logits.tanh() * self.tanh_clip;
        log_softmax(logits.mask_fill(forbidden, MASKED), 2)
    }
}

/// The pointer's glimpse: the rollouts' queries attend over the allowed
/// nodes, one head per key block (the heads' outputs concatenated, no output
/// projection).
///
/// # Shapes
/// - `query`: `[batch, rollouts, d]`
/// - `keys`: `[batch, heads, head_dim, nodes]`; `values`: `[batch, heads, nodes, head_dim]`
/// - `forbidden`: `[batch, rollouts, nodes]`
/// - output: `[batch, rollouts, d]`
pub fn glimpse<B: Backend>(query: Tensor<B, 3>, keys: &Tensor<B, 4>, values: &Tensor<B, 4>, forbidden: &Tensor<B, 3, Bool>) -> Tensor<B, 3> {
    let [batch, rollouts, d] = query.dims();
    let [_, heads, head_dim, _] = keys.dims();
    let q = query.reshape([batch, rollouts, heads, head_dim]).swap_dims(1, 2);
    // The mask as an additive bias shared by the heads: a broadcast add,
    // not a mask expanded to every head.
    let bias = Tensor::<B, 3>::zeros(forbidden.dims(), &q.device()).mask_fill(forbidden.clone(), MASKED).unsqueeze_dim::<4>(1);
    let scores = q.matmul(keys.clone()) / (head_dim as f64).sqrt() + bias;
    softmax(scores, 3).matmul(values.clone()).swap_dims(1, 2).reshape([batch, rollouts, d])
}
