//! Growing a trained encoder without changing what it computes, so that a
//! larger model can start from shipped weights (`lrm train --config
//! LARGER.toml --init models/NAME.toml`) instead of from scratch. Two ways
//! to grow, alone or together: more encoder layers, and MatNet's mixed
//! scores in the attention.
//!
//! Added layers go after the trained ones (before the final norm) and
//! start as the identity: with ReZero residuals `x + alpha f(x)` the new
//! `alpha` is 0 as initialised; otherwise the attention's output projection
//! and the feed-forward's down projection are zero, so `f` is 0, which makes
//! a pre-norm layer `x + f(norm(x))` the identity (a post-norm one,
//! `norm(x + f(x))`, only without a norm). The other weights of the new layers are drawn as a fresh
//! model's are, and receive gradients once the zeroed projections move (the
//! zero-initialised residual branches of Fixup, Zhang et al. 2019, and
//! SkipInit, De and Smith 2020; progressive growth of depth as in Gong et
//! al. 2019, "Efficient Training of BERT by Progressively Stacking").
//!
//! Mixed scores start as the identity on the attention scores as
//! initialised ([`super::blocks::mixed_score`]), so every layer may gain
//! them.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;

use super::blocks::mixed_score::MixedScoreConfig;
use super::blocks::{NormKind, SpectralLinear};
use super::config::{ModelConfig, PolicyFamily};
use super::encoder::EncoderLayer;
use super::{Materialise, Policy};

/// Whether `to` is `from` grown: more encoder layers, mixed scores added,
/// or both, and nothing else changed.
pub fn grows_into(from: &ModelConfig, to: &ModelConfig) -> bool {
    let deeper = to.n_layers > from.n_layers;
    let mixed = to.mixed_score && !from.mixed_score;
    let kept = to.mixed_score || !from.mixed_score;
    (deeper || mixed) && kept && to.n_layers >= from.n_layers && ModelConfig { n_layers: from.n_layers, mixed_score: from.mixed_score, ..to.clone() } == *from
}

/// Why `from` cannot grow into `to`, or `None` when it can: `to` is `from`
/// grown ([`grows_into`]), of the encoder + pointer family, and, when
/// layers are added, an added layer can pass its input through unchanged
/// (ReZero residuals; pre-norm without spectral normalisation; post-norm
/// without a norm).
pub fn refusal(from: &ModelConfig, to: &ModelConfig) -> Option<String> {
    let how =
        format!("keep n_layers = {} and mixed_score = {}, or train the larger model from fresh weights (without --init)", from.n_layers, from.mixed_score);
    if !grows_into(from, to) {
        return Some(format!(
            "only n_layers may grow and mixed_score turn on from a checkpoint (it has {} layers, mixed_score = {}; the config {}, {}), every other field the checkpoint's: {how}",
            from.n_layers, from.mixed_score, to.n_layers, to.mixed_score
        ));
    }
    if from.family != PolicyFamily::EncoderPointer {
        return Some(format!("only an encoder + pointer model grows, not {:?}: {how}", from.family));
    }
    if to.n_layers == from.n_layers || from.rezero {
        return None;
    }
    if from.spectral {
        return Some(format!("a spectral-normalised layer cannot start at zero (its weights are divided by their norm): {how}"));
    }
    if !from.pre_norm && from.norm != NormKind::None {
        return Some(format!(
            "a post-norm layer (POMO's) normalises its output even when its sub-layers add nothing, so an added one would change the model: {how}"
        ));
    }
    None
}

/// `policy` (of config `from`) grown into `to`: mixed scores added to its
/// layers when `to` has them, then `to.n_layers - from.n_layers` encoder
/// layers after its own, each computing the identity. The log-probabilities
/// of the result equal those of `policy` to the bit (with mixed scores
/// added, where `policy`'s attention already took Burn's form, as with
/// Sinkhorn: a softmax attention's fused CPU path rounds its last bits
/// differently, `super::attention_host`). The new weights come
/// from the backend's random generator (seed it for a reproducible run).
///
/// # Errors
/// [`refusal`]'s reason, when `from` cannot grow into `to`.
pub fn grow<B: Backend>(policy: Policy<B>, from: &ModelConfig, to: &ModelConfig, device: &B::Device) -> Result<Policy<B>, String> {
    if let Some(why) = refusal(from, to) {
        return Err(why);
    }
    let Policy::Pointer(mut pointer) = policy else {
        return Err("the checkpoint's weights are not an encoder + pointer model's".into());
    };
    if to.mixed_score && !from.mixed_score {
        for layer in &mut pointer.encoder.layers {
            let mixed = MixedScoreConfig::new(to.n_heads).init::<B>(device);
            mixed.visit(&mut Materialise);
            layer.attention.mixed = Some(mixed);
        }
    }
    for _ in from.n_layers..to.n_layers {
        let mut layer = EncoderLayer::new(to, device);
        layer.visit(&mut Materialise);
        if !to.rezero {
            layer.attention.output = zeroed(layer.attention.output);
            layer.feed_forward.down = zeroed(layer.feed_forward.down);
        }
        pointer.encoder.layers.push(layer);
    }
    Ok(Policy::Pointer(pointer))
}

/// The same linear with its weight and bias at zero.
fn zeroed<B: Backend>(mut layer: SpectralLinear<B>) -> SpectralLinear<B> {
    layer.linear.weight = Param::from_tensor(layer.linear.weight.val().zeros_like());
    layer.linear.bias = layer.linear.bias.map(|b| Param::from_tensor(b.val().zeros_like()));
    layer
}
