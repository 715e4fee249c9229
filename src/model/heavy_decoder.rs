//! The decoder-only heavy decoder (LEHD, BQ-NCO, the decoder-scaling paper):
//! no encoder; a linear embedding of the nodes, then at every step D layers of
//! gated attention with ReZero re-encode `[start, current, available nodes]`,
//! and a linear head scores the nodes.
//!
//! Routes start at the depot, so the start token is the depot's; the current
//! token carries the decoder context. Visited customers are masked as keys;
//! the depot stays available for capacitated problems (it closes a route).

use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor};

use super::blocks::{SpectralLinear, SpectralLinearConfig, MASKED};
use super::config::ModelConfig;
use super::encoder::EncoderLayer;
use super::features::{Features, StepInput};

/// Tokens before the nodes: start and current.
const LEADING_TOKENS: usize = 2;

#[derive(Module, Debug)]
pub struct HeavyDecoder<B: Backend> {
    pub customer_embedding: SpectralLinear<B>,
    pub depot_embedding: SpectralLinear<B>,
    pub start: SpectralLinear<B>,
    pub current: SpectralLinear<B>,
    pub layers: Vec<EncoderLayer<B>>,
    pub score: SpectralLinear<B>,
}

impl<B: Backend> HeavyDecoder<B> {
    pub fn new(c: &ModelConfig, device: &B::Device) -> Self {
        let lin = |i, o| SpectralLinearConfig::new(i, o).with_bias(false).with_spectral(c.spectral).init(device);
        HeavyDecoder {
            customer_embedding: lin(c.customer_features(), c.d_model),
            depot_embedding: lin(c.depot_features(), c.d_model),
            start: lin(c.d_model, c.d_model),
            current: lin(c.d_model + c.context_features(), c.d_model),
            layers: (0..c.n_layers).map(|_| EncoderLayer::new(c, device)).collect(),
            score: lin(c.d_model, 1),
        }
    }

    /// Node embeddings `[batch, n + 1, d]`, depot first: the only per-instance work.
    pub fn embed(&self, features: &Features<B>) -> Tensor<B, 3> {
        let depot = self.depot_embedding.forward(features.depot.clone()).unsqueeze_dim::<3>(1);
        Tensor::cat(vec![depot, self.customer_embedding.forward(features.customers.clone())], 1)
    }

    /// Log-probabilities `[batch, rollouts, nodes]` of the next node.
    pub fn step(&self, embeddings: &Tensor<B, 3>, input: StepInput<B>) -> Tensor<B, 3> {
        let [batch, nodes, d] = embeddings.dims();
        let rollouts = input.current.dims()[1];
        let flat = batch * rollouts;
        let at = gather_rows(embeddings, input.current);
        let start = self.start.forward(embeddings.clone().narrow(1, 0, 1)).unsqueeze_dim::<4>(1).expand([batch, rollouts, 1, d]).reshape([flat, 1, d]);
        let current = self.current.forward(Tensor::cat(vec![at, input.context], 2)).reshape([flat, 1, d]);
        let node_tokens = embeddings.clone().unsqueeze_dim::<4>(1).expand([batch, rollouts, nodes, d]).reshape([flat, nodes, d]);
        let mut h = Tensor::cat(vec![start, current, node_tokens], 1);
        let available = input.available.expect("the heavy decoder's step input carries the available nodes (Policy::step_input)");
        let mask = key_mask(available, flat, nodes);
        for layer in &self.layers {
            h = layer.forward(h, Some(mask.clone()), None);
        }
        let scores = self.score.forward(h.narrow(1, LEADING_TOKENS, nodes)).reshape([batch, rollouts, nodes]);
        log_softmax(scores.mask_fill(input.allowed.bool_not(), MASKED), 2)
    }
}

/// Rows `index` `[batch, rollouts]` of `x` `[batch, nodes, d]`: `[batch, rollouts, d]`.
pub fn gather_rows<B: Backend>(x: &Tensor<B, 3>, index: Tensor<B, 2, Int>) -> Tensor<B, 3> {
    let [batch, rollouts] = index.dims();
    let d = x.dims()[2];
    x.clone().gather(1, index.unsqueeze_dim::<3>(2).expand([batch, rollouts, d]))
}

/// Attention mask `[batch * rollouts, tokens, tokens]`: every token may attend to
/// the start and current tokens and to the available nodes only.
fn key_mask<B: Backend>(available: Tensor<B, 3, Bool>, flat: usize, nodes: usize) -> Tensor<B, 3, Bool> {
    let device = available.device();
    let tokens = nodes + LEADING_TOKENS;
    let leading = Tensor::<B, 2, Bool>::full([flat, LEADING_TOKENS], true, &device);
    let keys = Tensor::cat(vec![leading, available.reshape([flat, nodes])], 1);
    keys.bool_not().unsqueeze_dim::<3>(1).expand([flat, tokens, tokens])
}
