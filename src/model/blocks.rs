//! The building blocks of every policy, each a `Config` with `init(&device)`
//! and a `Module` with `forward`, each switchable from the model config:
//! normalisation (RMS, layer, instance, none), feed-forward (SwiGLU or ReLU
//! MLP), the spectral-normalised linear of LRM-1B, multi-head attention with a
//! softmax or Sinkhorn normalisation, optional mixed scores (MatNet) and an
//! optional output gate, and ReZero. MatNet's mixed score and RRNet's blocks
//! (RRNCO: the adaptive node embedding, the neural adaptive bias and the
//! attention-free block) live in the submodules.

pub mod aafm;
pub mod adaptive_bias;
pub mod adaptive_embedding;
pub mod mixed_score;

use burn::config::Config;
use burn::module::{Module, Param, RunningState};
use burn::nn::{InstanceNorm, InstanceNormConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig, RmsNorm, RmsNormConfig};
use burn::tensor::activation::{relu, sigmoid, silu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, ElementConversion, Tensor};

/// Score of masked entries, in attention and in the decoders' logits: finite,
/// so that a fully masked row gives uniform weights instead of NaN, and exp()
/// of it is exactly 0 in f32.
pub const MASKED: f32 = -1e9;

/// Which normalisation a layer uses.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum NormKind {
    /// RMSNorm (RouteFinder RF-TE, LRM-1B), epsilon 1e-5.
    Rms,
    /// Layer normalisation over the embedding.
    Layer,
    /// Instance normalisation of each channel over the nodes (POMO, RF-POMO).
    Instance,
    /// No normalisation (with ReZero residuals).
    None,
}

#[derive(Config, Debug)]
pub struct NormConfig {
    pub d_model: usize,
    pub kind: NormKind,
}

/// One normalisation; at most one of the fields is set.
#[derive(Module, Debug)]
pub struct Norm<B: Backend> {
    rms: Option<RmsNorm<B>>,
    layer: Option<LayerNorm<B>>,
    instance: Option<InstanceNorm<B>>,
}

impl NormConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Norm<B> {
        let d = self.d_model;
        Norm {
            rms: (self.kind == NormKind::Rms).then(|| RmsNormConfig::new(d).with_epsilon(1e-5).init(device)),
            layer: (self.kind == NormKind::Layer).then(|| LayerNormConfig::new(d).init(device)),
            instance: (self.kind == NormKind::Instance).then(|| InstanceNormConfig::new(d).with_affine(true).init(device)),
        }
    }
}

impl<B: Backend> Norm<B> {
    /// `x`: `[batch, nodes, d_model]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        if let Some(n) = &self.rms {
            return n.forward(x);
        }
        if let Some(n) = &self.layer {
            return n.forward(x);
        }
        if let Some(n) = &self.instance {
            return instance_norm(n, x);
        }
        x
    }
}

/// Instance normalisation of `x` `[batch, nodes, d]`: each channel over the
/// nodes, then the affine map; Burn's `InstanceNorm` with its parameters,
/// computed in this layout (no transposed copies).
/// On the CPU backends it is one op ([`super::norm_host`]).
fn instance_norm<B: Backend>(n: &InstanceNorm<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
    if let (Some(g), Some(b)) = (&n.gamma, &n.beta) {
        if let Some(y) = super::norm_host::instance_norm(&x, &g.val(), &b.val(), n.epsilon) {
            return y;
        }
    }
    let mean = x.clone().mean_dim(1);
    let centred = x - mean;
    let variance = centred.clone().square().mean_dim(1);
    let normalised = centred / (variance + n.epsilon).sqrt();
    match (&n.gamma, &n.beta) {
        (Some(g), Some(b)) => normalised * g.val().unsqueeze::<3>() + b.val().unsqueeze::<3>(),
        _ => normalised,
    }
}

/// `layer` over the last axis of `x`, every leading axis flattened into one
/// first: [`linear_flat_with`] with the layer's weight and bias.
///
/// # Shapes
/// `[..., d_input] -> [..., d_output]`.
pub fn linear_flat<B: Backend, const D: usize>(layer: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
    linear_flat_with(x, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()))
}

/// `x W + b` over the last axis of `x`, computed on `x` reshaped to
/// `[rows, d_input]`. Burn 0.21's `linear` on a `[B, N, d]` input multiplies
/// each of the `B` slices by the weight, and its backward pass writes a
/// `[B, d_input, d_output]` weight gradient per slice and sums it on one
/// thread; flattened, the forward pass and both gradients are single matrix
/// products over `B * N` rows. Same values up to float rounding.
///
/// # Shapes
/// `x`: `[..., d_input]`, `weight`: `[d_input, d_output]`, `bias`:
/// `[d_output]`; returns `[..., d_output]`.
pub fn linear_flat_with<B: Backend, const D: usize>(x: Tensor<B, D>, weight: Tensor<B, 2>, bias: Option<Tensor<B, 1>>) -> Tensor<B, D> {
    if D < 2 {
        return burn::tensor::module::linear(x, weight, bias);
    }
    let mut dims = x.dims();
    let rows = dims[..D - 1].iter().product();
    let x = x.reshape([rows, dims[D - 1]]);
    // Inference on the CPU: row blocks in parallel (`linear_host`).
    let y = super::linear_host::linear(&x, &weight, bias.as_ref()).unwrap_or_else(|| burn::tensor::module::linear(x, weight, bias));
    dims[D - 1] = y.dims()[1];
    y.reshape(dims)
}

/// A linear layer, optionally spectral-normalised (LRM-1B): the weight is divided
/// by its largest singular value, estimated by power iteration with a persistent
/// vector: one iteration per forward under autodiff (training), none otherwise,
/// so inference uses the estimate training left.
#[derive(Config, Debug)]
pub struct SpectralLinearConfig {
    pub d_input: usize,
    pub d_output: usize,
    #[config(default = true)]
    pub bias: bool,
    #[config(default = false)]
    pub spectral: bool,
}

#[derive(Module, Debug)]
pub struct SpectralLinear<B: Backend> {
    pub linear: Linear<B>,
    /// Right singular vector estimate, `[d_output]` (weights are `[d_input, d_output]`).
    pub u: Option<RunningState<Tensor<B, 1>>>,
}

impl SpectralLinearConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> SpectralLinear<B> {
        let linear = LinearConfig::new(self.d_input, self.d_output).with_bias(self.bias).init(device);
        let u = self.spectral.then(|| {
            let u = Tensor::<B, 1>::ones([self.d_output], device) / (self.d_output as f64).sqrt();
            RunningState::new(u)
        });
        SpectralLinear { linear, u }
    }
}

impl<B: Backend> SpectralLinear<B> {
    /// # Shapes
    /// `[..., d_input] -> [..., d_output]`.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        if self.u.is_none() {
            return linear_flat(&self.linear, x);
        }
        linear_flat_with(x, self.weight(), self.linear.bias.as_ref().map(|b| b.val()))
    }

    /// The weight `[d_input, d_output]` this layer multiplies by: divided by
    /// its spectral-norm estimate when spectral (one power iteration under
    /// autodiff, as in `forward`). For algebra done once per encoding
    /// (`pointer::Pointer::precompute`).
    pub fn weight(&self) -> Tensor<B, 2> {
        let weight = self.linear.weight.val();
        let Some(u_state) = &self.u else { return weight };
        let device = weight.device();
        let u = u_state.value();
        let u = if B::ad_enabled(&device) { power_iteration(weight.clone().detach(), u, 1) } else { u };
        if B::ad_enabled(&device) {
            u_state.update(u.clone());
        }
        let sigma = spectral_norm_estimate(weight.clone(), u);
        weight / sigma.unsqueeze::<2>()
    }

    /// The current largest-singular-value estimate (no iteration).
    pub fn sigma(&self) -> Option<f32> {
        let u = self.u.as_ref()?.value();
        Some(spectral_norm_estimate(self.linear.weight.val(), u).into_scalar().elem())
    }
}

/// `iterations` steps of power iteration on `W^T W` for `W` of shape `[in, out]`, from `u` (`[out]`).
pub fn power_iteration<B: Backend>(weight: Tensor<B, 2>, mut u: Tensor<B, 1>, iterations: usize) -> Tensor<B, 1> {
    for _ in 0..iterations {
        let v = normalise(weight.clone().matmul(u.unsqueeze_dim::<2>(1)).squeeze_dim::<1>(1));
        u = normalise(weight.clone().transpose().matmul(v.unsqueeze_dim::<2>(1)).squeeze_dim::<1>(1));
    }
    u
}

/// `||W u||` with `u` held constant: the gradient flows to `W` only (as in
/// PyTorch's spectral_norm, where u and v are buffers).
fn spectral_norm_estimate<B: Backend>(weight: Tensor<B, 2>, u: Tensor<B, 1>) -> Tensor<B, 1> {
    let wu = weight.matmul(u.detach().unsqueeze_dim::<2>(1));
    (wu.square().sum() + 1e-24).sqrt()
}

fn normalise<B: Backend>(x: Tensor<B, 1>) -> Tensor<B, 1> {
    x.clone() / (x.square().sum() + 1e-24).sqrt()
}

/// Which feed-forward a layer uses.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum FeedForwardKind {
    /// `W3 (silu(W1 x) * W2 x)`, no biases (RouteFinder RF-TE, LRM-1B).
    SwiGlu,
    /// `W2 relu(W1 x)` with biases (POMO).
    ReluMlp,
}

#[derive(Config, Debug)]
pub struct FeedForwardConfig {
    pub d_model: usize,
    pub d_hidden: usize,
    pub kind: FeedForwardKind,
    #[config(default = false)]
    pub spectral: bool,
}

#[derive(Module, Debug)]
pub struct FeedForward<B: Backend> {
    pub up: SpectralLinear<B>,
    /// SwiGLU's gate projection.
    pub gate: Option<SpectralLinear<B>>,
    pub down: SpectralLinear<B>,
}

impl FeedForwardConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> FeedForward<B> {
        let bias = self.kind == FeedForwardKind::ReluMlp;
        let lin = |i, o| SpectralLinearConfig::new(i, o).with_bias(bias).with_spectral(self.spectral).init(device);
        FeedForward {
            up: lin(self.d_model, self.d_hidden),
            gate: (self.kind == FeedForwardKind::SwiGlu).then(|| lin(self.d_model, self.d_hidden)),
            down: lin(self.d_hidden, self.d_model),
        }
    }
}

impl<B: Backend> FeedForward<B> {
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let hidden = match &self.gate {
            Some(gate) => silu(gate.forward(x.clone())) * self.up.forward(x),
            None => relu(self.up.forward(x)),
        };
        self.down.forward(hidden)
    }
}

/// Multi-head attention. `sinkhorn_iterations` 0 is a softmax; k > 0 alternates
/// k row and column normalisations in the log domain (RADAR) before a final row
/// normalisation. `mixed_score` passes each head's scores with the distances
/// through MatNet's score MLP ([`mixed_score`]). `gate` multiplies the heads'
/// output by `sigmoid(X W_G)` before the output projection (gated attention,
/// decoder-scaling paper).
#[derive(Config, Debug)]
pub struct AttentionConfig {
    pub d_model: usize,
    pub n_heads: usize,
    #[config(default = 0)]
    pub sinkhorn_iterations: usize,
    #[config(default = false)]
    pub gate: bool,
    #[config(default = true)]
    pub bias: bool,
    #[config(default = false)]
    pub spectral: bool,
    #[config(default = false)]
    pub mixed_score: bool,
}

#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    pub query: SpectralLinear<B>,
    pub key: SpectralLinear<B>,
    pub value: SpectralLinear<B>,
    pub output: SpectralLinear<B>,
    pub gate: Option<SpectralLinear<B>>,
    pub mixed: Option<mixed_score::MixedScore<B>>,
    pub n_heads: usize,
    pub sinkhorn_iterations: usize,
}

impl AttentionConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Attention<B> {
        assert!(self.d_model.is_multiple_of(self.n_heads), "d_model {} is not a multiple of n_heads {}", self.d_model, self.n_heads);
        let lin = |bias| SpectralLinearConfig::new(self.d_model, self.d_model).with_bias(bias).with_spectral(self.spectral).init(device);
        Attention {
            query: lin(self.bias),
            key: lin(self.bias),
            value: lin(self.bias),
            output: lin(self.bias),
            gate: self.gate.then(|| lin(false)),
            mixed: self.mixed_score.then(|| mixed_score::MixedScoreConfig::new(self.n_heads).init(device)),
            n_heads: self.n_heads,
            sinkhorn_iterations: self.sinkhorn_iterations,
        }
    }
}

impl<B: Backend> Attention<B> {
    /// `x`: `[batch, n_query, d]` attends to `context`: `[batch, n_key, d]`.
    /// `mask`: `[batch, n_query, n_key]`, `true` where attention is forbidden.
    /// On the CPU backends, without a mask or Sinkhorn iterations, the heads
    /// are one op ([`super::attention_host`]); Burn's form otherwise.
    pub fn forward(&self, x: Tensor<B, 3>, context: Tensor<B, 3>, mask: Option<Tensor<B, 3, Bool>>) -> Tensor<B, 3> {
        self.forward_with_distances(x, context, mask, None)
    }

    /// [`Self::forward`] with the distances between the query and key
    /// nodes, `[batch, n_query, n_key]` in the model's frame, which the
    /// mixed scores read.
    ///
    /// # Panics
    /// With mixed scores and no distances (the encoder always gives them).
    pub fn forward_with_distances(
        &self,
        x: Tensor<B, 3>,
        context: Tensor<B, 3>,
        mask: Option<Tensor<B, 3, Bool>>,
        distances: Option<Tensor<B, 3>>,
    ) -> Tensor<B, 3> {
        let q = self.query.forward(x.clone());
        let k = self.key.forward(context.clone());
        let v = self.value.forward(context);
        let fused = match (&mask, self.sinkhorn_iterations, &self.mixed) {
            (None, 0, None) => super::attention_host::attention(&q, &k, &v, self.n_heads),
            _ => None,
        };
        let heads = fused.unwrap_or_else(|| self.heads(q, k, v, mask, distances));
        let heads = match &self.gate {
            Some(g) => heads * sigmoid(g.forward(x)),
            None => heads,
        };
        self.output.forward(heads)
    }

    /// Burn's form of the heads: `normalise(q_h k_h^T / sqrt(d_head)) v_h`
    /// per head, masked entries at [`MASKED`], merged back.
    ///
    /// # Shapes
    /// `q`: `[batch, n_query, d]`, `k` and `v`: `[batch, n_key, d]`; returns `[batch, n_query, d]`.
    fn heads(&self, q: Tensor<B, 3>, k: Tensor<B, 3>, v: Tensor<B, 3>, mask: Option<Tensor<B, 3, Bool>>, distances: Option<Tensor<B, 3>>) -> Tensor<B, 3> {
        let [batch, n_query, d] = q.dims();
        let (q, k, v) = (self.split_heads(q), self.split_heads(k), self.split_heads(v));
        let head_dim = d / self.n_heads;
        let scores = q.matmul(k.swap_dims(2, 3)) / (head_dim as f64).sqrt();
        let scores = match &self.mixed {
            Some(m) => m.forward(scores, distances.expect("mixed scores read the distances: pass them")),
            None => scores,
        };
        let scores = match mask {
            Some(m) => scores.mask_fill(m.unsqueeze_dim::<4>(1).expand(scores_dims(&v, n_query)), MASKED),
            None => scores,
        };
        self.normalise(scores).matmul(v).swap_dims(1, 2).reshape([batch, n_query, d])
    }

    /// The attention weights of scores `[batch, heads, n_query, n_key]`.
    pub fn normalise(&self, scores: Tensor<B, 4>) -> Tensor<B, 4> {
        sinkhorn(scores, self.sinkhorn_iterations)
    }

    fn split_heads(&self, x: Tensor<B, 3>) -> Tensor<B, 4> {
        let [batch, n, d] = x.dims();
        x.reshape([batch, n, self.n_heads, d / self.n_heads]).swap_dims(1, 2)
    }
}

fn scores_dims<B: Backend>(v: &Tensor<B, 4>, n_query: usize) -> [usize; 4] {
    let [batch, heads, n_key, _] = v.dims();
    [batch, heads, n_query, n_key]
}

/// Sinkhorn normalisation in the log domain: `iterations` alternations of row and
/// column normalisation, then a row normalisation (so 0 iterations is a softmax).
pub fn sinkhorn<B: Backend, const D: usize>(scores: Tensor<B, D>, iterations: usize) -> Tensor<B, D> {
    let mut log_p = scores;
    for _ in 0..iterations {
        log_p = log_p.clone() - log_sum_exp(log_p, D - 1);
        log_p = log_p.clone() - log_sum_exp(log_p, D - 2);
    }
    softmax(log_p, D - 1)
}

/// `log(sum(exp(x)))` along `dim`, kept, stabilised by the maximum.
pub fn log_sum_exp<B: Backend, const D: usize>(x: Tensor<B, D>, dim: usize) -> Tensor<B, D> {
    let max = x.clone().max_dim(dim).detach();
    (x - max.clone()).exp().sum_dim(dim).log() + max
}

/// ReZero residual: `x + alpha * f(x)` with a learnable scalar `alpha` that
/// starts at 0, so a block is the identity at initialisation.
#[derive(Config, Debug)]
pub struct ReZeroConfig {}

#[derive(Module, Debug)]
pub struct ReZero<B: Backend> {
    pub alpha: Param<Tensor<B, 1>>,
}

impl ReZeroConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> ReZero<B> {
        ReZero { alpha: Param::from_tensor(Tensor::zeros([1], device)) }
    }
}

impl<B: Backend> ReZero<B> {
    pub fn forward(&self, x: Tensor<B, 3>, update: Tensor<B, 3>) -> Tensor<B, 3> {
        x + update * self.alpha.val().unsqueeze::<3>()
    }
}
