//! Optimisation: Adam and AdamW (Burn's), Adafactor (ours, as a Burn
//! `SimpleOptimizer`), global-norm gradient clipping (Burn clips per tensor),
//! and the learning-rate schedule, a pure function of the step so that a
//! resumed run follows it exactly.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, Optimizer, SimpleOptimizer};
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Record, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};

use super::config::{OptimizerConfig, OptimizerKind, ScheduleConfig, ScheduleKind};
use crate::error::{Error, Result};
use crate::model::Policy;

/// The learning rate at `step` (0-based) of `total` steps, `per_epoch` per epoch.
pub fn learning_rate(lr: f64, s: &ScheduleConfig, step: usize, per_epoch: usize, total: usize) -> f64 {
    let warm = if s.warmup_steps > 0 { ((step + 1) as f64 / s.warmup_steps as f64).min(1.0) } else { 1.0 };
    let scheduled = match s.kind {
        ScheduleKind::Constant => lr,
        ScheduleKind::Step => {
            let epoch = step / per_epoch.max(1);
            lr * s.gamma.powi(s.milestones.iter().filter(|&&m| epoch >= m).count() as i32)
        }
        ScheduleKind::Cosine => {
            let t = step.saturating_sub(s.warmup_steps) as f64 / total.saturating_sub(s.warmup_steps).max(1) as f64;
            0.5 * lr * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
        }
    };
    warm * scheduled
}

/// Sums the squares of every gradient of a module.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: f64,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            self.total += g.powi_scalar(2).sum().into_scalar().elem::<f64>();
        }
    }
}

/// Multiplies every gradient of a module by a factor.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl<B: AutodiffBackend> ModuleMapper<B> for Scale<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        if let Some(g) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            self.grads.register::<B::InnerBackend, D>(param.id, g * self.factor);
        }
        param
    }
}

/// The global L2 norm of all gradients; with `max_norm > 0`, gradients above
/// it are scaled down to it (all by the same factor). Returns the norm before clipping.
pub fn clip_global_norm<B: AutodiffBackend>(policy: Policy<B>, grads: &mut GradientsParams, max_norm: f64) -> (Policy<B>, f64) {
    let mut norm = SquaredNorm { grads, total: 0.0 };
    policy.visit(&mut norm);
    let norm = norm.total.sqrt();
    if max_norm > 0.0 && norm > max_norm && norm.is_finite() {
        let policy = policy.map(&mut Scale { grads, factor: max_norm / norm });
        return (policy, norm);
    }
    (policy, norm)
}

/// Adafactor (Shazeer & Stern, 2018) without momentum: second moments kept
/// as row and column averages for matrices (factored), in full for vectors;
/// updates clipped to RMS 1; decay `beta2_t = 1 - t^-0.8`.
#[derive(Clone, Debug)]
pub struct Adafactor {
    epsilon: f64,
    weight_decay: f64,
}

/// Adafactor's state: for a matrix, `row` is `[..., rows, 1]` and `col`
/// `[..., 1, cols]`; for a vector, `row` is the full second moment and `col` unused.
#[derive(Record, Clone)]
pub struct AdafactorState<B: Backend, const D: usize> {
    pub time: usize,
    pub row: Tensor<B, D>,
    pub col: Tensor<B, D>,
}

impl<B: Backend> SimpleOptimizer<B> for Adafactor {
    type State<const D: usize> = AdafactorState<B, D>;

    fn step<const D: usize>(&self, lr: f64, tensor: Tensor<B, D>, grad: Tensor<B, D>, state: Option<Self::State<D>>) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let time = state.as_ref().map_or(0, |s| s.time) + 1;
        let beta = 1.0 - (time as f64).powf(-0.8);
        let g2 = grad.clone().powi_scalar(2) + self.epsilon;
        let (row, col, v) = if D >= 2 {
            let (r_new, c_new) = (g2.clone().mean_dim(D - 1), g2.mean_dim(D - 2));
            let (row, col) = match state {
                Some(s) => (s.row * beta + r_new * (1.0 - beta), s.col * beta + c_new * (1.0 - beta)),
                None => (r_new, c_new),
            };
            let v = row.clone().div(row.clone().mean_dim(D - 2)).mul(col.clone());
            (row, col, v)
        } else {
            let row = match state {
                Some(s) => s.row * beta + g2 * (1.0 - beta),
                None => g2,
            };
            (row.clone(), row.zeros_like().narrow(0, 0, 1), row)
        };
        let update = grad / v.sqrt();
        let rms = update.clone().powi_scalar(2).mean().sqrt().into_scalar().elem::<f64>();
        let update = update / rms.max(1.0);
        let decayed = if self.weight_decay > 0.0 { tensor.clone() * (1.0 - lr * self.weight_decay) } else { tensor };
        (decayed - update * lr, Some(AdafactorState { time, row, col }))
    }

    fn to_device<const D: usize>(s: Self::State<D>, device: &B::Device) -> Self::State<D> {
        AdafactorState { time: s.time, row: s.row.to_device(device), col: s.col.to_device(device) }
    }
}

/// The configured optimizer over a policy.
pub enum Optim<B: AutodiffBackend> {
    Adam(OptimizerAdaptor<burn::optim::Adam, Policy<B>, B>),
    AdamW(OptimizerAdaptor<burn::optim::AdamW, Policy<B>, B>),
    Adafactor(OptimizerAdaptor<Adafactor, Policy<B>, B>),
}

type Bytes = NamedMpkBytesRecorder<FullPrecisionSettings>;

impl<B: AutodiffBackend> Optim<B> {
    pub fn new(c: &OptimizerConfig) -> Self {
        let decay = (c.weight_decay > 0.0).then(|| burn::optim::decay::WeightDecayConfig::new(c.weight_decay as f32));
        match c.kind {
            OptimizerKind::Adam => Optim::Adam(AdamConfig::new().with_epsilon(c.epsilon as f32).with_weight_decay(decay).init()),
            OptimizerKind::AdamW => Optim::AdamW(AdamWConfig::new().with_epsilon(c.epsilon as f32).with_weight_decay(c.weight_decay as f32).init()),
            OptimizerKind::Adafactor => {
                Optim::Adafactor(OptimizerAdaptor::from(Adafactor { epsilon: 1e-30_f64.max(c.epsilon * 1e-22), weight_decay: c.weight_decay }))
            }
        }
    }

    pub fn step(&mut self, lr: f64, policy: Policy<B>, grads: GradientsParams) -> Policy<B> {
        match self {
            Optim::Adam(o) => o.step(lr, policy, grads),
            Optim::AdamW(o) => o.step(lr, policy, grads),
            Optim::Adafactor(o) => o.step(lr, policy, grads),
        }
    }

    /// The optimizer's state, keyed by the policy's parameter ids.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let recorder = Bytes::default();
        let bytes = match self {
            Optim::Adam(o) => Recorder::<B>::record(&recorder, o.to_record(), ()),
            Optim::AdamW(o) => Recorder::<B>::record(&recorder, o.to_record(), ()),
            Optim::Adafactor(o) => Recorder::<B>::record(&recorder, o.to_record(), ()),
        };
        bytes.map_err(|e| Error::Failure(format!("cannot serialise the optimizer state: {e}")))
    }

    pub fn from_bytes(self, bytes: Vec<u8>, device: &B::Device) -> Result<Self> {
        let recorder = Bytes::default();
        let bad = |e: burn::record::RecorderError| Error::Failure(format!("the optimizer state does not load: {e}"));
        Ok(match self {
            Optim::Adam(o) => Optim::Adam(o.load_record(Recorder::<B>::load(&recorder, bytes, device).map_err(bad)?)),
            Optim::AdamW(o) => Optim::AdamW(o.load_record(Recorder::<B>::load(&recorder, bytes, device).map_err(bad)?)),
            Optim::Adafactor(o) => Optim::Adafactor(o.load_record(Recorder::<B>::load(&recorder, bytes, device).map_err(bad)?)),
        })
    }
}
