//! What sampled rollouts saw and chose, for training: the log-likelihood of
//! the kept actions with gradients, computed after the rollouts in a few
//! large teacher-forced passes instead of one small autodiff pass per step.
//!
//! Rollouts are sampled without gradients (on the CPU by the fused step);
//! each step's inputs (current nodes, context, mask) are recorded; then
//! [`Trajectory::log_likelihood`] feeds the recorded steps, many at a time,
//! to the same `Policy::step` as extra rollouts. The loss and its gradients
//! are those of stepping with gradients: only the order of float operations
//! differs (`tests/train/replay.rs`).

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::env::Env;
use crate::model::features::{Refinement, StepInput};
use crate::model::{pointer_replay, Encoding, Policy};

use super::runner::Batch;

/// Floats of one step's largest activation (glimpse scores: batch x rollouts
/// x nodes x heads) per replay pass: larger passes are faster, up to memory.
const PASS_FLOATS: usize = 1 << 26;

/// One recorded step of every rollout.
struct Recorded {
    current: Vec<usize>,
    context: Vec<f32>,
    allowed: Vec<bool>,
    available: Option<Vec<bool>>,
}

/// The recorded steps of a batch's rollouts and the actions each kept.
pub struct Trajectory {
    instances: usize,
    per_instance: usize,
    width: usize,
    steps: Vec<Recorded>,
    /// Per rollout: the `(step, action)` pairs its final solution kept.
    kept: Vec<Vec<(usize, usize)>>,
    /// Per rollout: the log-probability of each kept action when it was
    /// sampled, while every step gave them (the replay's values then need
    /// no recomputation, only its gradients do).
    sampled: Option<Vec<Vec<f32>>>,
}

impl Trajectory {
    /// An empty record for the rollouts of `env`.
    pub fn new(env: &Env) -> Self {
        Trajectory {
            instances: env.num_instances(),
            per_instance: env.per_instance(),
            width: env.width(),
            steps: vec![],
            kept: vec![vec![]; env.num_rollouts()],
            sampled: Some(vec![vec![]; env.num_rollouts()]),
        }
    }

    /// Record the step about to be taken on `env`: its inputs under
    /// `allowed` and `refinement`, `actions` (`None`: the rollout is held)
    /// and, when they were sampled, the log-probabilities `[R, width]` they
    /// were sampled from.
    #[allow(clippy::too_many_arguments)]
    pub fn record<B: burn::tensor::backend::Backend>(
        &mut self,
        batch: &Batch<B>,
        env: &Env,
        allowed: &[bool],
        refinement: Option<&Refinement>,
        actions: &[Option<usize>],
        log_p: Option<&[f32]>,
    ) {
        let t = self.steps.len();
        for (kept, a) in self.kept.iter_mut().zip(actions) {
            if let Some(a) = a {
                kept.push((t, *a));
            }
        }
        match (log_p, self.sampled.as_mut()) {
            (Some(log_p), Some(sampled)) => {
                for (r, a) in actions.iter().enumerate() {
                    if let Some(a) = a {
                        sampled[r].push(log_p[r * self.width + a]);
                    }
                }
            }
            _ => self.sampled = None,
        }
        self.steps.push(Recorded {
            current: env.current_nodes(),
            context: batch.context_rows(env, refinement),
            allowed: allowed.to_vec(),
            available: batch.reads_available().then(|| env.available_mask()),
        });
    }

    /// Drop rollout `r`'s last kept action (LazyMask backtracked it).
    pub fn undo(&mut self, r: usize) {
        self.kept[r].pop();
        if let Some(sampled) = self.sampled.as_mut() {
            sampled[r].pop();
        }
    }

    /// Per rollout `[batch, rollouts]`: the summed log-probability of its kept
    /// actions and, with `entropy`, the summed entropy of the steps that chose them.
    ///
    /// A pointer policy on the CPU without the entropy term replays through
    /// `model::pointer_replay` (one op with its own backward pass, which
    /// takes the record over); anything else through `Policy::step`, many
    /// recorded steps per pass.
    pub fn log_likelihood<B: AutodiffBackend>(
        self,
        policy: &Policy<B>,
        encoding: &Encoding<B>,
        entropy: bool,
        device: &B::Device,
    ) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let (b, p, w) = (self.instances, self.per_instance, self.width);
        if let (Encoding::Pointer(cache), false) = (encoding, entropy) {
            if pointer_replay::applies(cache) {
                return (pointer_replay::log_likelihood(cache, self.into_recorded()), Tensor::zeros([b, p], device));
            }
        }
        let mut chosen = vec![vec![None; b * p]; self.steps.len()];
        for (r, kept) in self.kept.iter().enumerate() {
            for &(t, a) in kept {
                chosen[t][r] = Some(a);
            }
        }
        let per_pass = (PASS_FLOATS / (b * p * w * 8).max(1)).max(1);
        let mut log_likelihood = Tensor::<B, 2>::zeros([b, p], device);
        let mut total_entropy = Tensor::<B, 2>::zeros([b, p], device);
        let mut start = 0;
        while start < self.steps.len() {
            let steps = start..(start + per_pass).min(self.steps.len());
            let k = steps.len();
            let (input, index, weight) = self.pass(steps, &chosen, device);
            let log_p = policy.step(encoding, input);
            let weight = Tensor::<B, 3>::from_data(TensorData::new(weight, [b, k, p]), device);
            let picked = log_p.clone().gather(2, index).reshape([b, k, p]) * weight.clone();
            log_likelihood = log_likelihood + picked.sum_dim(1).reshape([b, p]);
            if entropy {
                let h = (log_p.clone().exp() * log_p).sum_dim(2).reshape([b, k, p]).neg() * weight;
                total_entropy = total_entropy + h.sum_dim(1).reshape([b, p]);
            }
            start += k;
        }
        (log_likelihood, total_entropy)
    }

    /// The record in the form of `model::pointer_replay`.
    fn into_recorded(self) -> pointer_replay::Recorded {
        pointer_replay::Recorded {
            per_instance: self.per_instance,
            width: self.width,
            context_width: self.steps.first().map_or(0, |s| s.context.len() / (self.instances * self.per_instance)),
            log_likelihoods: self.sampled.map(|s| s.iter().map(|l| l.iter().sum()).collect()),
            steps: self.steps.into_iter().map(|s| (s.current, s.context, s.allowed)).collect(),
            kept: self.kept,
        }
    }

    /// The step input of recorded `steps` as rollouts `[batch, k * P]`
    /// (instance, then step, then rollout), the chosen node of each
    /// `[batch, k * P, 1]`, and `[batch, k, P]` weights: 1 where kept.
    fn pass<B: AutodiffBackend>(
        &self,
        steps: std::ops::Range<usize>,
        chosen: &[Vec<Option<usize>>],
        device: &B::Device,
    ) -> (StepInput<B>, Tensor<B, 3, Int>, Vec<f32>) {
        let (b, p, w) = (self.instances, self.per_instance, self.width);
        let k = steps.len();
        let cw = self.steps[0].context.len() / (b * p);
        let heavy = self.steps[0].available.is_some();
        let rows = b * k * p;
        let (mut current, mut context, mut allowed) = (Vec::with_capacity(rows), Vec::with_capacity(rows * cw), Vec::with_capacity(rows * w));
        let mut available = heavy.then(|| Vec::with_capacity(rows * w));
        let (mut index, mut weight) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for i in 0..b {
            for t in steps.clone() {
                let s = &self.steps[t];
                for r in i * p..(i + 1) * p {
                    current.push(s.current[r] as i64);
                    context.extend_from_slice(&s.context[r * cw..(r + 1) * cw]);
                    allowed.extend_from_slice(&s.allowed[r * w..(r + 1) * w]);
                    if let (Some(out), Some(a)) = (available.as_mut(), s.available.as_ref()) {
                        out.extend_from_slice(&a[r * w..(r + 1) * w]);
                    }
                    index.push(chosen[t][r].unwrap_or(0) as i64);
                    weight.push(if chosen[t][r].is_some() { 1.0f32 } else { 0.0 });
                }
            }
        }
        let input = StepInput::from_rows([b, k * p, w], current, context, allowed, available, device);
        let index = Tensor::<B, 3, Int>::from_data(TensorData::new(index, [b, k * p, 1]), device);
        (input, index, weight)
    }
}
