//! POMO / REINFORCE with the shared baseline: every instance is rolled out
//! from P first customers, or P times from the depot with sampled first
//! steps (`samples`, as LMask trains), and with training-time augmentation
//! from 8 dihedral copies; the baseline of a rollout is the mean reward of
//! its instance's rollouts; loss = -mean((R - b) log p), log p summed over
//! the decoded steps (a forced first step excluded, as in POMO).
//!
//! Rewards are negative costs in the model's frame (`Frame::scale`: the
//! generated unit-square instances' own units; road networks' distances
//! divided by their largest, RRNCO's normalised reward). A rollout that dead-ends (TSPTW, TSPDL, a
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
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::config::TrainerConfig;
use crate::decode::lazymask::{LazyMask, WhenSpent};
use crate::decode::multistart::{first_nodes, FirstNodes};
use crate::decode::sampling::{Rng, Sampling, Selector};
use crate::decode::trajectory::Trajectory;
use crate::decode::{augment, Batch, Phases, Starts};
use crate::env::{Env, Rollout};
use crate::error::Result;
use crate::model::features::Frame;
use crate::model::{ModelConfig, Policy};
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
    /// Where the forward pass spent its time (encode, step, env).
    pub phases: Phases,
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
    let batch = Batch::new(policy, model, instances, trainer.augment == augment::DIHEDRAL, device);
    let copies = batch.copies();
    let (mut env, floor) = if trainer.samples > 0 { (batch.env(trainer.samples), 0) } else { (pomo_starts(&batch, trainer.starts)?, 1) };
    let (b, p, n) = (env.num_instances(), env.per_instance(), env.num_rollouts());
    let trajectory = roll_out(&batch, trainer, &mut env, floor, rng)?;
    let start = Instant::now();
    let (log_likelihood, entropy) = trajectory.log_likelihood(policy, batch.encoding(), trainer.entropy_bonus > 0.0, device);
    let mut phases = batch.phases();
    phases.lap(|p| &mut p.step, start);

    let per_instance = copies * p;
    let scales: Vec<f64> = instances.iter().map(|inst| Frame::of(inst).scale).collect();
    let rewards: Vec<f64> = (0..n).map(|r| penalised_reward(env.rollout(r), env.instance_of(r), scales[r / per_instance], trainer)).collect();
    let infeasible = (0..n).filter(|&r| env.rollout(r).is_dead_end() || env.rollout(r).violations() > 0).count();
    let mut stats = BatchStats { mean_reward: rewards.iter().sum::<f64>() / n as f64, infeasible: infeasible as f64 / n as f64, phases, ..Default::default() };
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

/// Sample every rollout of `env` to its end, under LazyMask when the trainer
/// has a backtracking budget (steps below `floor` are never undone); the
/// record of what each step saw and which actions each final solution kept.
fn roll_out<B: AutodiffBackend>(batch: &Batch<B>, trainer: &TrainerConfig, env: &mut Env, floor: usize, rng: &mut Rng) -> Result<Trajectory> {
    let (w, n) = (env.width(), env.num_rollouts());
    let sampling = Sampling { samples: env.per_instance(), ..Sampling::default() };
    let mut selector = Selector::Sample { sampling: &sampling, rng };
    let mut lazy = trainer.backtrack_budget.map(|budget| LazyMask::new(env, 2, budget, floor, WhenSpent::Relax));
    let mut trajectory = Trajectory::new(env);
    loop {
        let (allowed, moving) = match lazy.as_mut() {
            Some(lazy) => match lazy.next(env)? {
                Some(step) => {
                    step.undone.iter().for_each(|&r| trajectory.undo(r));
                    (step.allowed, step.moving)
                }
                None => break,
            },
            None if env.all_done() => break,
            None => (env.mask().to_vec(), vec![true; n]),
        };
        let refinement = lazy.as_ref().map(LazyMask::refinement);
        let log_p = batch.log_probs(env, &allowed, refinement.as_ref());
        let actions: Vec<Option<usize>> =
            (0..n).map(|r| moving[r].then(|| selector.choose(&log_p[r * w..(r + 1) * w], &allowed[r * w..(r + 1) * w]))).collect();
        trajectory.record(batch, env, &allowed, refinement.as_ref(), &actions, Some(&log_p));
        batch.apply(env, &actions)?;
        if let Some(lazy) = lazy.as_mut() {
            lazy.stepped(&moving);
        }
    }
    Ok(trajectory)
}

/// POMO: one rollout per feasible first customer of each instance (`starts`
/// = 0), or per the first `starts` of them in index order
/// ([`FirstNodes::IndexOrder`]: training does not rank by the policy it is
/// training), that step taken.
fn pomo_starts<B: AutodiffBackend>(batch: &Batch<B>, starts: usize) -> Result<Env> {
    let env = batch.env(1);
    let first = first_nodes(batch, &env, if starts == 0 { Starts::All } else { Starts::Count(starts) }, FirstNodes::IndexOrder);
    let mut env = batch.env(first.len() / env.num_instances());
    env.reset(Some(&first))?;
    Ok(env)
}

/// LMask's penalised reward: minus the cost times `scale` (the model frame's), minus `penalty_per_overrun` per
/// unit of time or load overrun, minus `penalty_per_customer` per customer
/// served late, overloaded or not at all.
pub fn penalised_reward(roll: &Rollout, inst: &Instance, scale: f64, trainer: &TrainerConfig) -> f64 {
    let unserved = if roll.is_dead_end() { roll.unvisited().len() } else { 0 };
    let broken = (unserved + roll.violations()) as f64;
    -roll.cost(inst) * scale - trainer.penalty_per_customer * broken - trainer.penalty_per_overrun * roll.overrun()
}
