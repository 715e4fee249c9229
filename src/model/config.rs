//! `ModelConfig`: plain serialisable data that fixes a policy, and the named
//! presets of the seed papers.

use burn::config::Config;

use super::blocks::{FeedForwardKind, NormKind};
use super::features::{CONTEXT_FEATURES, CUSTOMER_FEATURES, DEPOT_FEATURES, REFINEMENT_CLASSES};

/// The two policy families of DESIGN.md.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum PolicyFamily {
    /// An encoder once per instance, the light POMO pointer decoder per step.
    EncoderPointer,
    /// No encoder: a linear embedding re-encoded by the D layers every step.
    DecoderOnly,
    /// RRNCO's RRNet: row and column embeddings from the distance and
    /// duration matrices, attention-free layers, a penalised pointer
    /// ([`super::rrnet`]). `n_heads`, `norm`, `pre_norm`, `feed_forward`,
    /// `attention_bias` and `svd_rank` do not apply (instance norms, ReLU
    /// MLPs, single-head AAFM, as the reference).
    RrNet,
}

#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    #[config(default = "PolicyFamily::EncoderPointer")]
    pub family: PolicyFamily,
    pub d_model: usize,
    pub n_heads: usize,
    pub n_layers: usize,
    pub d_ff: usize,
    pub norm: NormKind,
    /// Normalise before each sub-layer (and once after the last layer), not after.
    pub pre_norm: bool,
    pub feed_forward: FeedForwardKind,
    /// Biases on the attention projections.
    pub attention_bias: bool,
    /// Spectral normalisation on every linear (LRM-1B).
    #[config(default = false)]
    pub spectral: bool,
    /// 0: softmax attention; k > 0: Sinkhorn with k iterations (RADAR).
    #[config(default = 0)]
    pub sinkhorn_iterations: usize,
    /// MatNet's mixed-score attention in the encoder (RADAR): each head's
    /// scores pass with the distances `d_ij`, `d_ji` through a `3 -> 16 -> 1`
    /// MLP ([`super::blocks::mixed_score`]).
    #[config(default = false)]
    pub mixed_score: bool,
    /// Output gate `sigmoid(X W_G)` on attention (decoder-scaling paper).
    #[config(default = false)]
    pub gated_attention: bool,
    /// ReZero residuals instead of normalised ones.
    #[config(default = false)]
    pub rezero: bool,
    /// SVD features of the distance matrix: `2 * svd_rank` more inputs per node
    /// (0: none; RADAR uses 10).
    #[config(default = 0)]
    pub svd_rank: usize,
    /// LMask's refinement-intensity one-hot in the decoder context.
    #[config(default = false)]
    pub refinement_intensity: bool,
    /// Heads of the pointer's glimpse.
    #[config(default = 8)]
    pub pointer_heads: usize,
    /// Logits are `clip * tanh(logits)`.
    #[config(default = 10.0)]
    pub tanh_clip: f64,
    /// RRNet: sampled distances per node in the adaptive node embedding (`k`).
    #[config(default = 25)]
    pub neighbour_samples: usize,
    /// RRNet: the adaptive bias reads the duration matrix (3-channel gate);
    /// false reads distance and angle only (RRNCO's ATSP and RCVRP models).
    #[config(default = true)]
    pub road_durations: bool,
}

/// Every preset name but the `deep-DxW` grid.
pub const PRESETS: [&str; 9] = ["pomo", "rf-te", "lrm-1m", "lrm-5m", "lrm-40m", "lrm-1b", "radar", "lmask", "rrnco"];

/// The decoder-scaling paper's grid, plus its two extra shapes.
pub const DEEP_GRID: [(usize, usize); 14] =
    [(6, 128), (12, 128), (24, 128), (42, 128), (6, 256), (12, 256), (24, 256), (42, 256), (6, 512), (12, 512), (24, 512), (42, 512), (24, 64), (96, 32)];

impl ModelConfig {
    /// A named preset: `pomo`, `rf-te`, `lrm-{1m,5m,40m,1b}`, `radar`, `lmask`, `rrnco`, `deep-DxW`.
    pub fn preset(name: &str) -> Result<ModelConfig, String> {
        let pomo = ModelConfig::new(128, 8, 6, 512, NormKind::Instance, false, FeedForwardKind::ReluMlp, true);
        let rf_te = ModelConfig { norm: NormKind::Rms, pre_norm: true, feed_forward: FeedForwardKind::SwiGlu, ..pomo.clone() };
        let lrm = |d_model, n_heads, n_layers, d_ff| ModelConfig { d_model, n_heads, n_layers, d_ff, spectral: true, ..rf_te.clone() };
        Ok(match name {
            "pomo" => pomo,
            "rf-te" => rf_te,
            "lrm-1m" => lrm(128, 8, 5, 384),
            "lrm-5m" => lrm(256, 8, 6, 768),
            "lrm-40m" => lrm(512, 16, 12, 1536),
            "lrm-1b" => lrm(1792, 28, 24, 4864),
            // RADAR: 5 x 256, 8 heads, FF 512, instance norm, Sinkhorn (10), SVD features (k = 10), MatNet's mixed scores.
            "radar" => ModelConfig { d_model: 256, n_layers: 5, sinkhorn_iterations: 10, svd_rank: 10, mixed_score: true, ..pomo },
            "lmask" => ModelConfig { refinement_intensity: true, ..pomo },
            // RRNCO's experiment config: E 128, 6 layers, FF 512, 8 decoder heads, k = 25.
            "rrnco" => ModelConfig { family: PolicyFamily::RrNet, ..pomo },
            _ => return deep(name),
        })
    }

    /// Fill the fields a serialised config may omit (those with a default)
    /// into `model`: a model card written before a field existed lacks it,
    /// and means its default. The eight fields `new` takes stay required.
    pub fn fill_defaults(model: &mut toml::Table) {
        const REQUIRED: [&str; 8] = ["d_model", "n_heads", "n_layers", "d_ff", "norm", "pre_norm", "feed_forward", "attention_bias"];
        let base = ModelConfig::new(1, 1, 1, 1, NormKind::None, false, FeedForwardKind::ReluMlp, false);
        let defaults = toml::Table::try_from(base).expect("a config serialises to TOML");
        for (key, value) in defaults {
            if !REQUIRED.contains(&key.as_str()) {
                model.entry(key).or_insert(value);
            }
        }
    }

    /// Trainable parameters of the policy this config builds, counted from the config alone
    /// (so that `lrm-1b` reports its size without allocating it).
    pub fn num_params(&self) -> usize {
        if self.family == PolicyFamily::RrNet {
            return super::rrnet::num_params(self);
        }
        let d = self.d_model;
        let linear = |i: usize, o: usize, bias: bool| i * o + if bias { o } else { 0 };
        let norm = match self.norm {
            NormKind::Rms => d,
            NormKind::Layer | NormKind::Instance => 2 * d,
            NormKind::None => 0,
        };
        let mixed = if self.mixed_score { super::blocks::mixed_score::num_params(self.n_heads) } else { 0 };
        let attention = 4 * linear(d, d, self.attention_bias) + if self.gated_attention { d * d } else { 0 } + mixed;
        let ff = match self.feed_forward {
            FeedForwardKind::SwiGlu => 3 * d * self.d_ff,
            FeedForwardKind::ReluMlp => linear(d, self.d_ff, true) + linear(self.d_ff, d, true),
        };
        let residual = if self.rezero { 2 } else { 2 * norm };
        let layers = self.n_layers * (attention + ff + residual);
        let final_norm = if self.pre_norm && !self.rezero { norm } else { 0 };
        let embeddings = linear(self.customer_features(), d, false) + linear(self.depot_features(), d, false);
        let context = self.context_features();
        let decoder = match self.family {
            // Query from [current node, context], fixed context from the mean
            // embedding, glimpse keys/values and logit keys, glimpse output.
            PolicyFamily::EncoderPointer => linear(d + context, d, false) + linear(d, d, false) + linear(d, 3 * d, false) + linear(d, d, false),
            // Start and current tokens, and the score head.
            PolicyFamily::DecoderOnly => linear(d, d, false) + linear(d + context, d, false) + linear(d, 1, false),
            PolicyFamily::RrNet => unreachable!("counted above"),
        };
        layers + final_norm + embeddings + decoder
    }

    /// Non-trainable state saved with the weights: the power-iteration vector of
    /// every spectral-normalised linear (one entry per output).
    pub fn num_buffers(&self) -> usize {
        if !self.spectral {
            return 0;
        }
        let d = self.d_model;
        let ff_outputs = match self.feed_forward {
            FeedForwardKind::SwiGlu => 2 * self.d_ff + d,
            FeedForwardKind::ReluMlp => self.d_ff + d,
        };
        let attention_outputs = 4 * d + if self.gated_attention { d } else { 0 };
        let decoder_outputs = match self.family {
            PolicyFamily::EncoderPointer => d + d + 3 * d + d,
            PolicyFamily::DecoderOnly => d + d + 1,
            PolicyFamily::RrNet => 0,
        };
        self.n_layers * (attention_outputs + ff_outputs) + 2 * d + decoder_outputs
    }

    /// Whether the policy reads the distance and duration matrices (RRNet):
    /// its features carry [`super::features::road::RoadInputs`].
    pub fn reads_matrices(&self) -> bool {
        self.family == PolicyFamily::RrNet
    }

    /// Inputs per customer: the shared layout plus the SVD features.
    pub fn customer_features(&self) -> usize {
        CUSTOMER_FEATURES + 2 * self.svd_rank
    }

    /// Inputs of the depot token: the shared layout plus the depot's SVD features.
    pub fn depot_features(&self) -> usize {
        DEPOT_FEATURES + 2 * self.svd_rank
    }

    /// Width of the decoder context: 3, plus LMask's refinement-intensity one-hot.
    pub fn context_features(&self) -> usize {
        CONTEXT_FEATURES + if self.refinement_intensity { REFINEMENT_CLASSES } else { 0 }
    }

    /// Floating-point operations (multiply and add counted apart) of one
    /// encoding of an instance with `n` customers: embeddings, then per layer the
    /// attention projections, scores, weighted sums and the feed-forward, then
    /// the pointer's keys and values. Norms and activations are left out.
    pub fn encoding_flops(&self, n: usize) -> u64 {
        let (nodes, d, ff) = ((n + 1) as u64, self.d_model as u64, self.d_ff as u64);
        let matmul = |rows: u64, inner: u64, cols: u64| 2 * rows * inner * cols;
        let gate = if self.gated_attention { matmul(nodes, d, d) } else { 0 };
        // The mixed scores: per head and pair, 3 -> 16 -> 1.
        let mixed = if self.mixed_score { self.n_heads as u64 * nodes * nodes * 2 * 4 * super::blocks::mixed_score::HIDDEN as u64 } else { 0 };
        let attention = 4 * matmul(nodes, d, d) + 2 * matmul(nodes, d, nodes) + gate + mixed;
        let ff_mats = match self.feed_forward {
            FeedForwardKind::SwiGlu => 3,
            FeedForwardKind::ReluMlp => 2,
        };
        let layer = attention + ff_mats * matmul(nodes, d, ff);
        let embed = matmul(nodes, self.customer_features() as u64, d);
        if self.family == PolicyFamily::RrNet {
            // Per block: the three entry lifts and the gate over nodes^2
            // pairs dominate; then Q, K, V, the two projections, the two
            // bias-weighted sums and the feed-forward over the nodes.
            let pairs = nodes * nodes;
            let bias = pairs * (3 * matmul(1, d, d) + matmul(1, 3 * d, d) + matmul(1, d, 4));
            let block = bias + 5 * matmul(nodes, d, d) + 2 * matmul(nodes, nodes, d) + 2 * matmul(nodes, d, ff);
            return 2 * self.n_layers as u64 * block + matmul(nodes, 3 * d, d);
        }
        match self.family {
            PolicyFamily::EncoderPointer => embed + self.n_layers as u64 * layer + matmul(nodes, d, 3 * d) + matmul(1, d, d),
            PolicyFamily::DecoderOnly | PolicyFamily::RrNet => embed,
        }
    }

    /// FLOPs of the D layers over `tokens` tokens (the heavy decoder's step).
    fn layers_flops(&self, tokens: u64) -> u64 {
        let (d, ff) = (self.d_model as u64, self.d_ff as u64);
        let matmul = |rows: u64, inner: u64, cols: u64| 2 * rows * inner * cols;
        let gate = if self.gated_attention { matmul(tokens, d, d) } else { 0 };
        let ff_mats = match self.feed_forward {
            FeedForwardKind::SwiGlu => 3,
            FeedForwardKind::ReluMlp => 2,
        };
        self.n_layers as u64 * (4 * matmul(tokens, d, d) + 2 * matmul(tokens, d, tokens) + gate + ff_mats * matmul(tokens, d, ff))
    }

    /// Floating-point operations of one pointer decoding step of one rollout.
    pub fn decoding_step_flops(&self, n: usize) -> u64 {
        let (nodes, d) = ((n + 1) as u64, self.d_model as u64);
        let context = self.context_features() as u64;
        if self.family == PolicyFamily::DecoderOnly {
            let tokens = nodes + 2;
            return 2 * (2 * d + context) * d + self.layers_flops(tokens) + 2 * nodes * d;
        }
        let query = 2 * (d + context) * d;
        let logits = 2 * nodes * d;
        if self.family == PolicyFamily::RrNet {
            // No glimpse output projection; a residual MLP instead.
            return query + 2 * 2 * nodes * d + 2 * 2 * d * self.d_ff as u64 + logits;
        }
        let glimpse = 2 * 2 * nodes * d + 2 * d * d;
        query + glimpse + logits
    }

    /// Check the config; the message names the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        if self.d_model == 0 || self.n_layers == 0 || self.d_ff == 0 {
            return Err("d_model, n_layers and d_ff must be positive".into());
        }
        if self.n_heads == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            return Err(format!("n_heads ({}) must divide d_model ({})", self.n_heads, self.d_model));
        }
        if self.pointer_heads == 0 || !self.d_model.is_multiple_of(self.pointer_heads) {
            return Err(format!("pointer_heads ({}) must divide d_model ({})", self.pointer_heads, self.d_model));
        }
        if self.family == PolicyFamily::RrNet {
            if self.neighbour_samples == 0 {
                return Err("neighbour_samples must be positive".into());
            }
            if self.spectral || self.svd_rank > 0 {
                return Err("RRNet reads neither spectral nor svd_rank (its blocks are RRNCO's): leave them at their defaults".into());
            }
        }
        if self.mixed_score && self.family != PolicyFamily::EncoderPointer {
            return Err("mixed_score is for the encoder + pointer family's encoder (RADAR, MatNet)".into());
        }
        if self.tanh_clip <= 0.0 {
            return Err(format!("tanh_clip must be positive, got {}", self.tanh_clip));
        }
        Ok(())
    }
}

/// The presets' names for messages: [`PRESETS`] and the `deep-DxW` family.
pub fn preset_names() -> String {
    format!("{}, deep-DxW", PRESETS.join(", "))
}

/// `deep-DxW`: decoder-only with gated attention and ReZero, ReLU FFN 4W; heads
/// 8/16/16 for W = 128/256/512 (head size 16/16/32), W/16 heads otherwise.
fn deep(name: &str) -> Result<ModelConfig, String> {
    let unknown = || format!("unknown model preset {name:?} (known: {})", preset_names());
    let (depth, width) = name.strip_prefix("deep-").and_then(|dims| dims.split_once('x')).ok_or_else(unknown)?;
    let (depth, width): (usize, usize) = (depth.parse().map_err(|_| unknown())?, width.parse().map_err(|_| unknown())?);
    let heads = match width {
        128 => 8,
        256 | 512 => 16,
        w if w >= 16 && w % 16 == 0 => w / 16,
        _ => return Err(format!("{name}: the width must be a multiple of 16")),
    };
    if depth == 0 {
        return Err(format!("{name}: the depth must be positive"));
    }
    let base = ModelConfig::new(width, heads, depth, 4 * width, NormKind::None, false, FeedForwardKind::ReluMlp, true);
    Ok(ModelConfig { family: PolicyFamily::DecoderOnly, rezero: true, gated_attention: true, ..base })
}
