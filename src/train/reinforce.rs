//! POMO / REINFORCE with the shared baseline: every instance is rolled out
//! from P first customers, or P times from the depot with sampled first
//! steps (`samples`, as LMask trains), and with training-time augmentation
//! from 8 dihedral copies; the baseline of a rollout is the mean reward of
//! its instance's rollouts; loss = -mean((R - b) log p), log p summed over
//! the decoded steps (a forced first step excluded, as in POMO).
//!
//! Rewards are negative costs. A rollout that dead-ends (TSPTW, TSPDL, a
//! fleet limit) gets LMask's penalty per customer left unserved on top of
//! the cost so far. With a backtracking budget (LMask's training) rollouts
//! decode under LazyMask: a backtrack drops the undone step from the
//! log-likelihood, and a rollout out of budget finishes its tour relaxed,
//! charged per unit of overrun and per customer it served late.
//!
//! With `reward_ema > 0` rewards are divided by an exponential moving
//! average of their variant's mean reward (RouteFinder's `normalize_reward:
//! exponential, div`), so that variants of different cost scales weigh alike
//! in a mixed batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::config::TrainerConfig;
use crate::decode::lazymask::{LazyMask, WhenSpent};
use crate::decode::multistart::cycle;
use crate::decode::sampling::{Rng, Sampling, Selector};
use crate::decode::{augment, Starts};
use crate::env::{Env, Rollout};
use crate::error::Result;
use crate::model::features::{Features, Refinement};
use crate::model::{Encoding, ModelConfig, Policy};
use crate::problem::Instance;

/// Per-variant moving averages of the mean reward.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RewardNormaliser {
    pub mean: BTreeMap<String, f64>,
}

impl RewardNormaliser {
    /// Update `variant`'s average with `rewards` and return them divided by it.
    fn normalise(&mut self, variant: &str, rewards: &[f64], alpha: f64) -> Vec<f64> {
        let batch_mean = rewards.iter().sum::<f64>() / rewards.len() as f64;
        let m = self.mean.entry(variant.to_string()).or_insert(batch_mean);
        *m = (1.0 - alpha) * *m + alpha * batch_mean;
        let scale = m.abs().max(1e-9);
        rewards.iter().map(|r| r / scale).collect()
    }
}

/// What one batch gave, for the metrics.
#[derive(Clone, Debug, Default)]
pub struct BatchStats {
    /// Mean raw reward per variant.
    pub reward: BTreeMap<String, f64>,
    pub mean_reward: f64,
    /// Share of rollouts that ended infeasible: a dead end, or a relaxed
    /// finish that broke a rule.
    pub infeasible: f64,
}

/// The POMO loss of one batch (instances of one size).
pub fn pomo_loss<B: AutodiffBackend>(
    policy: &Policy<B>,
    model: &ModelConfig,
    trainer: &TrainerConfig,
    instances: &[Instance],
    normaliser: &mut RewardNormaliser,
    rng: &mut Rng,
    device: &B::Device,
) -> Result<(Tensor<B, 1>, BatchStats)> {
    let mut features = Features::<B>::new(instances, model.svd_rank, device);
    let copies = if trainer.augment == augment::DIHEDRAL && instances.iter().all(augment::applies) {
        features = augment::dihedral(&features);
        augment::DIHEDRAL
    } else {
        1
    };
    let expanded: Arc<[Instance]> = instances.iter().flat_map(|i| std::iter::repeat_n(i.clone(), copies)).collect();
    let encoding = policy.encode(&features);
    let (mut env, floor) = if trainer.samples > 0 { (Env::new(expanded, trainer.samples), 0) } else { (pomo_starts(expanded, trainer.starts)?, 1) };
    let (b, p, n) = (env.num_instances(), env.per_instance(), env.num_rollouts());
    let kept = roll_out(Decoding { policy, model, trainer, features: &features, encoding: &encoding, device }, &mut env, floor, rng)?;
    let (log_likelihood, entropy) = kept.sums([b, p], trainer.entropy_bonus > 0.0, device);

    let rewards: Vec<f64> = (0..n).map(|r| penalised_reward(env.rollout(r), env.instance_of(r), trainer)).collect();
    let per_instance = copies * p;
    let infeasible = (0..n).filter(|&r| env.rollout(r).is_dead_end() || env.rollout(r).violations() > 0).count();
    let mut stats = BatchStats { mean_reward: rewards.iter().sum::<f64>() / n as f64, infeasible: infeasible as f64 / n as f64, ..Default::default() };
    let mut by_variant: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, inst) in instances.iter().enumerate() {
        by_variant.entry(inst.variant.to_string()).or_default().push(i);
    }
    let mut shaped = rewards.clone();
    for (variant, members) in &by_variant {
        let mine: Vec<f64> = members.iter().flat_map(|&i| rewards[i * per_instance..(i + 1) * per_instance].iter().copied()).collect();
        stats.reward.insert(variant.clone(), mine.iter().sum::<f64>() / mine.len() as f64);
        if trainer.reward_ema > 0.0 {
            let scaled = normaliser.normalise(variant, &mine, trainer.reward_ema);
            for (k, &i) in members.iter().enumerate() {
                shaped[i * per_instance..(i + 1) * per_instance].copy_from_slice(&scaled[k * per_instance..(k + 1) * per_instance]);
            }
        }
    }
    let advantage: Vec<f32> = shaped
        .chunks(per_instance)
        .flat_map(|group| {
            let baseline = group.iter().sum::<f64>() / group.len() as f64;
            group.iter().map(move |r| (r - baseline) as f32)
        })
        .collect();
    let advantage = Tensor::<B, 2>::from_data(TensorData::new(advantage, [b, p]), device);
    let loss = (advantage * log_likelihood).mean().neg() - entropy.mean() * trainer.entropy_bonus;
    Ok((loss, stats))
}

/// What sampling a batch's rollouts needs.
struct Decoding<'a, B: AutodiffBackend> {
    policy: &'a Policy<B>,
    model: &'a ModelConfig,
    trainer: &'a TrainerConfig,
    features: &'a Features<B>,
    encoding: &'a Encoding<B>,
    device: &'a B::Device,
}

/// Sample every rollout of `env` to its end, under LazyMask when the trainer
/// has a backtracking budget (steps below `floor` are never undone); the
/// log-probabilities of the actions each final solution kept.
fn roll_out<B: AutodiffBackend>(d: Decoding<'_, B>, env: &mut Env, floor: usize, rng: &mut Rng) -> Result<Kept<B>> {
    let (w, n) = (env.width(), env.num_rollouts());
    let sampling = Sampling { samples: env.per_instance(), ..Sampling::default() };
    let mut selector = Selector::Sample { sampling: &sampling, rng };
    let mut lazy = d.trainer.backtrack_budget.map(|budget| LazyMask::new(env, 2, budget, floor, WhenSpent::Relax));
    let mut kept = Kept::new(n);
    loop {
        let (allowed, moving) = match lazy.as_mut() {
            Some(lazy) => match lazy.next(env)? {
                Some(step) => {
                    step.undone.iter().for_each(|&r| kept.undo(r));
                    (step.allowed, step.moving)
                }
                None => break,
            },
            None if env.all_done() => break,
            None => (env.mask().to_vec(), vec![true; n]),
        };
        let refinement = d.model.refinement_intensity.then(|| lazy.as_ref().map_or_else(|| Refinement::none(n), LazyMask::refinement));
        let log_p = d.policy.step(d.encoding, d.policy.step_input(d.features, env, &allowed, refinement.as_ref(), d.device));
        let host: Vec<f32> = log_p.clone().inner().into_data().convert::<f32>().to_vec().expect("log-probabilities are floats");
        let actions: Vec<Option<usize>> =
            (0..n).map(|r| moving[r].then(|| selector.choose(&host[r * w..(r + 1) * w], &allowed[r * w..(r + 1) * w]))).collect();
        kept.record(&actions);
        kept.steps.push(log_p);
        env.step_some(&actions)?;
        if let Some(lazy) = lazy.as_mut() {
            lazy.stepped(&moving);
        }
    }
    Ok(kept)
}

/// POMO: one rollout per feasible first customer of each instance (`starts`
/// = 0), or per the first `starts` of them, that step taken.
fn pomo_starts(instances: Arc<[Instance]>, starts: usize) -> Result<Env> {
    let env = Env::new(instances, 1);
    let ranked: Vec<Vec<usize>> = (0..env.num_rollouts()).map(|r| (1..env.width()).filter(|&j| env.mask_row(r)[j]).collect()).collect();
    let first = cycle(&ranked, if starts == 0 { Starts::All } else { Starts::Count(starts) });
    let mut env = Env::new(env.instances().clone(), first.len() / env.num_instances());
    env.reset(Some(&first))?;
    Ok(env)
}

/// LMask's penalised reward: minus the cost, minus `penalty_per_overrun` per
/// unit of time or load overrun, minus `penalty_per_customer` per customer
/// served late, overloaded or not at all.
pub fn penalised_reward(roll: &Rollout, inst: &Instance, trainer: &TrainerConfig) -> f64 {
    let unserved = if roll.is_dead_end() { roll.unvisited().len() } else { 0 };
    let broken = (unserved + roll.violations()) as f64;
    -roll.cost(inst) - trainer.penalty_per_customer * broken - trainer.penalty_per_overrun * roll.overrun()
}

/// The log-probability rows of every decoding step and, per rollout, the
/// steps and actions its final solution kept (a backtrack drops the last).
struct Kept<B: AutodiffBackend> {
    steps: Vec<Tensor<B, 3>>,
    chosen: Vec<Vec<(usize, usize)>>,
}

impl<B: AutodiffBackend> Kept<B> {
    fn new(rollouts: usize) -> Self {
        Kept { steps: vec![], chosen: vec![vec![]; rollouts] }
    }

    /// The actions of the step about to be pushed.
    fn record(&mut self, actions: &[Option<usize>]) {
        let t = self.steps.len();
        for (chosen, a) in self.chosen.iter_mut().zip(actions) {
            if let Some(a) = a {
                chosen.push((t, *a));
            }
        }
    }

    fn undo(&mut self, r: usize) {
        self.chosen[r].pop();
    }

    /// Per rollout: the summed log-likelihood of its kept actions and, with
    /// `entropy`, the summed entropy of the steps that chose them.
    fn sums(self, [b, p]: [usize; 2], entropy: bool, device: &B::Device) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let n = b * p;
        let mut index = vec![vec![0i64; n]; self.steps.len()];
        let mut weight = vec![vec![0.0f32; n]; self.steps.len()];
        for (r, chosen) in self.chosen.iter().enumerate() {
            for &(t, a) in chosen {
                index[t][r] = a as i64;
                weight[t][r] = 1.0;
            }
        }
        let mut log_likelihood = Tensor::<B, 2>::zeros([b, p], device);
        let mut total_entropy = Tensor::<B, 2>::zeros([b, p], device);
        for ((log_p, index), weight) in self.steps.into_iter().zip(index).zip(weight) {
            let index = Tensor::<B, 3, Int>::from_data(TensorData::new(index, [b, p, 1]), device);
            let weight = Tensor::<B, 2>::from_data(TensorData::new(weight, [b, p]), device);
            log_likelihood = log_likelihood + log_p.clone().gather(2, index).reshape([b, p]) * weight.clone();
            if entropy {
                total_entropy = total_entropy - (log_p.clone().exp() * log_p).sum_dim(2).reshape([b, p]) * weight;
            }
        }
        (log_likelihood, total_entropy)
    }
}
