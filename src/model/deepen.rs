//! Growing a trained encoder deeper without changing what it computes, so
//! that a deeper model can start from shipped weights (`lrm train --config
//! DEEPER.toml --init models/NAME.toml`) instead of from scratch.
//!
//! The added layers go after the trained ones (before the final norm) and
//! start as the identity: with ReZero residuals `x + alpha f(x)` the new
//! `alpha` is 0 as initialised; otherwise the attention's output projection
//! and the feed-forward's down projection are zero, so `f` is 0, which makes
//! a pre-norm layer `x + f(norm(x))` the identity (a post-norm one,
//! `norm(x + f(x))`, only without a norm). The other weights of the new layers are drawn as a fresh
//! model's are, and receive gradients once the zeroed projections move (the
//! zero-initialised residual branches of Fixup, Zhang et al. 2019, and
//! SkipInit, De and Smith 2020; progressive growth of depth as in Gong et
//! al. 2019, "Efficient Training of BERT by Progressively Stacking").

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;

use super::blocks::{NormKind, SpectralLinear};
use super::config::{ModelConfig, PolicyFamily};
use super::encoder::EncoderLayer;
use super::{Materialise, Policy};

/// Whether `to` is `from` with more encoder layers and nothing else changed.
pub fn only_deeper(from: &ModelConfig, to: &ModelConfig) -> bool {
    to.n_layers > from.n_layers && ModelConfig { n_layers: from.n_layers, ..to.clone() } == *from
}

/// Why `from` cannot be deepened into `to`, or `None` when it can: `to` is
/// `from` with more layers ([`only_deeper`]), of the encoder + pointer
/// family, and an added layer can pass its input through unchanged (ReZero
/// residuals; pre-norm without spectral normalisation; post-norm without a
/// norm).
pub fn refusal(from: &ModelConfig, to: &ModelConfig) -> Option<String> {
    let how = format!("keep n_layers = {}, or train the deeper model from fresh weights (without --init)", from.n_layers);
    if !only_deeper(from, to) {
        return Some(format!(
            "only n_layers may grow from a checkpoint (it has {}, the config {}), every other field the checkpoint's: {how}",
            from.n_layers, to.n_layers
        ));
    }
    if from.family != PolicyFamily::EncoderPointer {
        return Some(format!("only an encoder + pointer model grows deeper, not {:?}: {how}", from.family));
    }
    if from.rezero {
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

/// `policy` (of config `from`) with `to.n_layers - from.n_layers` encoder
/// layers added after its own, each computing the identity: the log-
/// probabilities of the result equal those of `policy` to the bit. The new
/// layers' other weights come from the backend's random generator (seed it
/// for a reproducible run).
///
/// # Errors
/// [`refusal`]'s reason, when `from` cannot grow into `to`.
pub fn deepen<B: Backend>(policy: Policy<B>, from: &ModelConfig, to: &ModelConfig, device: &B::Device) -> Result<Policy<B>, String> {
    if let Some(why) = refusal(from, to) {
        return Err(why);
    }
    let Policy::Pointer(mut pointer) = policy else {
        return Err("the checkpoint's weights are not an encoder + pointer model's".into());
    };
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
