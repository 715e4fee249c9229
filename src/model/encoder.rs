//! The encoder: node and depot embeddings, then L transformer layers, run once
//! per instance. Post-norm (POMO), pre-norm with a final norm (RF-TE), or
//! ReZero residuals, as the config says.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor};

use super::blocks::{Attention, AttentionConfig, FeedForward, FeedForwardConfig, Norm, NormConfig, ReZero, ReZeroConfig, SpectralLinear, SpectralLinearConfig};
use super::config::ModelConfig;
use super::features::Features;

#[derive(Module, Debug)]
pub struct EncoderLayer<B: Backend> {
    pub attention: Attention<B>,
    pub feed_forward: FeedForward<B>,
    pub norm_attention: Option<Norm<B>>,
    pub norm_feed_forward: Option<Norm<B>>,
    pub rezero_attention: Option<ReZero<B>>,
    pub rezero_feed_forward: Option<ReZero<B>>,
    pub pre_norm: bool,
}

impl<B: Backend> EncoderLayer<B> {
    pub fn new(c: &ModelConfig, device: &B::Device) -> Self {
        let norm = || (!c.rezero).then(|| NormConfig::new(c.d_model, c.norm).init(device));
        let rezero = || c.rezero.then(|| ReZeroConfig::new().init(device));
        EncoderLayer {
            attention: AttentionConfig::new(c.d_model, c.n_heads)
                .with_sinkhorn_iterations(c.sinkhorn_iterations)
                .with_gate(c.gated_attention)
                .with_bias(c.attention_bias)
                .with_spectral(c.spectral)
                .with_mixed_score(c.mixed_score)
                .init(device),
            feed_forward: FeedForwardConfig::new(c.d_model, c.d_ff, c.feed_forward).with_spectral(c.spectral).init(device),
            norm_attention: norm(),
            norm_feed_forward: norm(),
            rezero_attention: rezero(),
            rezero_feed_forward: rezero(),
            pre_norm: c.pre_norm,
        }
    }

    /// `x`: `[batch, tokens, d]`; `mask`: `[batch, tokens, tokens]`, `true` where
    /// a token may not attend to another; `distances`: `[batch, tokens,
    /// tokens]`, which mixed scores read.
    pub fn forward(&self, x: Tensor<B, 3>, mask: Option<Tensor<B, 3, Bool>>, distances: Option<&Tensor<B, 3>>) -> Tensor<B, 3> {
        let attend = |h: Tensor<B, 3>| self.attention.forward_with_distances(h.clone(), h, mask.clone(), distances.cloned());
        let h = self.residual(x, &self.norm_attention, &self.rezero_attention, attend);
        self.residual(h, &self.norm_feed_forward, &self.rezero_feed_forward, |h| self.feed_forward.forward(h))
    }

    fn residual(&self, x: Tensor<B, 3>, norm: &Option<Norm<B>>, rezero: &Option<ReZero<B>>, f: impl Fn(Tensor<B, 3>) -> Tensor<B, 3>) -> Tensor<B, 3> {
        match (rezero, norm) {
            (Some(r), _) => r.forward(x.clone(), f(x)),
            (None, Some(n)) if self.pre_norm => x.clone() + f(n.forward(x)),
            (None, Some(n)) => n.forward(x.clone() + f(x)),
            (None, None) => x.clone() + f(x),
        }
    }
}

#[derive(Module, Debug)]
pub struct Encoder<B: Backend> {
    pub customer_embedding: SpectralLinear<B>,
    pub depot_embedding: SpectralLinear<B>,
    pub layers: Vec<EncoderLayer<B>>,
    /// After the last layer, with pre-norm (RouteFinder's `encoder_use_post_layers_norm`).
    pub final_norm: Option<Norm<B>>,
}

impl<B: Backend> Encoder<B> {
    pub fn new(c: &ModelConfig, device: &B::Device) -> Self {
        let embed = |i| SpectralLinearConfig::new(i, c.d_model).with_bias(false).with_spectral(c.spectral).init(device);
        Encoder {
            customer_embedding: embed(c.customer_features()),
            depot_embedding: embed(c.depot_features()),
            layers: (0..c.n_layers).map(|_| EncoderLayer::new(c, device)).collect(),
            final_norm: (c.pre_norm && !c.rezero).then(|| NormConfig::new(c.d_model, c.norm).init(device)),
        }
    }

    /// Node embeddings `[batch, n + 1, d]`, depot first.
    pub fn forward(&self, features: &Features<B>) -> Tensor<B, 3> {
        let depot = self.depot_embedding.forward(features.depot.clone()).unsqueeze_dim::<3>(1);
        let customers = self.customer_embedding.forward(features.customers.clone());
        let mut h = Tensor::cat(vec![depot, customers], 1);
        for layer in &self.layers {
            h = layer.forward(h, None, features.distances.as_ref());
        }
        match &self.final_norm {
            Some(n) => n.forward(h),
            None => h,
        }
    }
}
