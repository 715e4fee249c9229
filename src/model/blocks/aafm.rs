//! RRNCO's attention-free encoder block (AAFM; ICLR 2026, section 4.2;
//! reference code `rrnco/models/nn/attn_freenet.py`, `AFTFull` and
//! `AttnFree_Block`).
//!
//! The attention-free transformer with an adaptive bias, single head, as
//! the reference code computes it (which adds two softmaxes to the paper's
//! formula; followed here for parity, `RRNCO.md` section 3.4):
//!
//! `out_ic = sigmoid(Q_ic) * sum_j e^(Â_ij) e^(K̂_jc) V_jc / sum_j e^(Â_ij) e^(K̂_jc)`
//!
//! with `Â = softmax_j(A)` (the bias, per row) and `K̂ = softmax` of the keys
//! over the nodes, per channel; both weights lie in `[1, e]`. Queries come
//! from one side (rows or columns), keys and values from the other. The block
//! around it (instance norms throughout):
//!
//! `r = IN1(x); c = IN2(y); o = IN3(W_p AFT(r, c, alpha NAB)); z = IN4(r + o); out = IN5(z + FFN(z))`
//!
//! where `AFT` ends in its own output projection before `W_p` (both are in
//! the reference).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::adaptive_bias::{AdaptiveBias, AdaptiveBiasConfig};
use super::{linear_flat, FeedForward, FeedForwardConfig, FeedForwardKind, Norm, NormConfig, NormKind};

#[derive(Config, Debug)]
pub struct AttentionFreeConfig {
    pub d_model: usize,
}

/// The attention-free transformer with an external bias (`AFTFull`).
#[derive(Module, Debug)]
pub struct AttentionFree<B: Backend> {
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    pub output: Linear<B>,
}

impl AttentionFreeConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> AttentionFree<B> {
        let lin = || LinearConfig::new(self.d_model, self.d_model).init(device);
        AttentionFree { query: lin(), key: lin(), value: lin(), output: lin() }
    }
}

impl<B: Backend> AttentionFree<B> {
    /// # Shapes
    /// - `x`: `[batch, nodes, E]`, the query side
    /// - `y`: `[batch, nodes, E]`, the key and value side
    /// - `bias`: `[batch, nodes, nodes]`, row `i` over the keys `j`
    /// - output: `[batch, nodes, E]`
    pub fn forward(&self, x: Tensor<B, 3>, y: Tensor<B, 3>, bias: Tensor<B, 3>) -> Tensor<B, 3> {
        let q = linear_flat(&self.query, x);
        let k = softmax(linear_flat(&self.key, y.clone()), 1).exp();
        let v = linear_flat(&self.value, y);
        let w = softmax(bias, 2).exp();
        let weighted = w.clone().matmul(k.clone() * v) / w.matmul(k);
        linear_flat(&self.output, sigmoid(q) * weighted)
    }
}

#[derive(Config, Debug)]
pub struct AttentionFreeBlockConfig {
    pub d_model: usize,
    pub d_ff: usize,
    /// The bias reads the duration matrix (see [`AdaptiveBiasConfig`]).
    #[config(default = true)]
    pub durations: bool,
}

/// One side (rows or columns) of an RRNet encoder layer (`AttnFree_Block`).
#[derive(Module, Debug)]
pub struct AttentionFreeBlock<B: Backend> {
    pub norm_query: Norm<B>,
    pub norm_key: Norm<B>,
    pub bias: AdaptiveBias<B>,
    pub attention: AttentionFree<B>,
    pub projection: Linear<B>,
    pub norm_attention: Norm<B>,
    pub norm_residual: Norm<B>,
    pub feed_forward: FeedForward<B>,
    pub norm_output: Norm<B>,
}

impl AttentionFreeBlockConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> AttentionFreeBlock<B> {
        let e = self.d_model;
        let norm = || NormConfig::new(e, NormKind::Instance).init(device);
        AttentionFreeBlock {
            norm_query: norm(),
            norm_key: norm(),
            bias: AdaptiveBiasConfig::new(e).with_durations(self.durations).init(device),
            attention: AttentionFreeConfig::new(e).init(device),
            projection: LinearConfig::new(e, e).init(device),
            norm_attention: norm(),
            norm_residual: norm(),
            feed_forward: FeedForwardConfig::new(e, self.d_ff, FeedForwardKind::ReluMlp).init(device),
            norm_output: norm(),
        }
    }

    /// Trainable parameters of the block this config builds.
    pub fn num_params(&self) -> usize {
        let e = self.d_model;
        let linear = e * e + e;
        let norms = 5 * 2 * e;
        let feed_forward = 2 * e * self.d_ff + self.d_ff + e;
        AdaptiveBiasConfig::new(e).with_durations(self.durations).num_params() + 5 * linear + norms + feed_forward
    }
}

impl<B: Backend> AttentionFreeBlock<B> {
    /// # Shapes
    /// - `x`: `[batch, nodes, E]`, this side's embeddings; `y`: the other side's
    /// - `distance`, `angle`, `duration`: `[batch, nodes, nodes]`, from this
    ///   side's point of view (the column side reads the transposes)
    /// - output: `[batch, nodes, E]`
    pub fn forward(&self, x: Tensor<B, 3>, y: Tensor<B, 3>, distance: Tensor<B, 3>, angle: Tensor<B, 3>, duration: Tensor<B, 3>) -> Tensor<B, 3> {
        let r = self.norm_query.forward(x);
        let c = self.norm_key.forward(y);
        let bias = self.bias.forward(distance, angle, duration);
        let o = self.norm_attention.forward(linear_flat(&self.projection, self.attention.forward(r.clone(), c, bias)));
        let z = self.norm_residual.forward(r + o);
        self.norm_output.forward(z.clone() + self.feed_forward.forward(z))
    }
}
