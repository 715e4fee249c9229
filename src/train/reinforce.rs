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

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use rand::{Rng as _, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::TrainerConfig;
use super::distributed::Team;
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
    /// Update `variant`'s average with the batch's mean reward of that
    /// variant and return the divisor of its rewards: the average's size.
    fn update(&mut self, variant: &str, batch_mean: f64, alpha: f64) -> f64 {
        let m = self.mean.entry(variant.to_string()).or_insert(batch_mean);
        *m = (1.0 - alpha) * *m + alpha * batch_mean;
        m.abs().max(1e-9)
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

/// The POMO loss of one batch (instances of one size), as this peer of
/// `team` computes it: its share of the instances rolled out, the reward
/// statistics summed over the peers, its part of the whole batch's mean
/// loss. Alone, the share is the whole batch. Sampling draws from one
/// random stream per instance (drawn from `rng`, numbered by the instance's
/// place in the whole batch), so the rollouts do not depend on the split.
pub fn pomo_loss<B: AutodiffBackend>(
    policy: &Policy<B>,
    model: &ModelConfig,
    trainer: &TrainerConfig,
    instances: &[Instance],
    normaliser: &mut RewardNormaliser,
    rng: &mut Rng,
    team: &Team<B>,
) -> Result<(Tensor<B, 1>, BatchStats)> {
    let share = team.share(instances.len());
    let mut streams = instance_streams(rng.random(), share.clone());
    let mine = &instances[share];
    // Decided for the whole batch, so that every peer's share makes as many copies.
    let augmented = trainer.augment == augment::DIHEDRAL && instances.iter().all(|i| augment::applies(i, model));
    let batch = Batch::new(policy, model, mine, augmented, team.device);
    let copies = batch.copies();
    let (mut env, floor) = if trainer.samples > 0 { (batch.env(trainer.samples), 0) } else { (pomo_starts(&batch, trainer.starts)?, 1) };
    let (b, p, n) = (env.num_instances(), env.per_instance(), env.num_rollouts());
    let trajectory = roll_out(&batch, trainer, &mut env, floor, &mut streams)?;
    let start = Instant::now();
    let (log_likelihood, entropy) = trajectory.log_likelihood(policy, batch.encoding(), trainer.entropy_bonus > 0.0, team.device);
    let mut phases = batch.phases();
    phases.lap(|p| &mut p.step, start);

    let per_instance = copies * p;
    let scales: Vec<f64> = mine.iter().map(|inst| Frame::of(inst).scale).collect();
    let rewards: Vec<f64> = (0..n).map(|r| penalised_reward(env.rollout(r), env.instance_of(r), scales[r / per_instance], trainer)).collect();
    let infeasible = (0..n).filter(|&r| env.rollout(r).is_dead_end() || env.rollout(r).violations() > 0).count();
    let variants = Variants::new(instances, mine);
    let (stats, divisor) = reward_stats(&rewards, infeasible, per_instance, &variants, normaliser, trainer.reward_ema, team)?;
    let stats = BatchStats { phases, ..stats };
    let advantage = shared_baseline_advantage(&rewards, per_instance, &variants.of, &divisor);
    let total = (instances.len() * per_instance) as f64;
    let advantage = Tensor::<B, 2>::from_data(TensorData::new(advantage, [b, p]), team.device);
    let loss = (advantage * log_likelihood).sum().neg() / total - entropy.sum() * (trainer.entropy_bonus / total);
    Ok((loss, stats))
}

/// The variants of a batch, for statistics and reward normalisation per
/// variant.
struct Variants {
    /// The variants of the whole batch (every peer's share), sorted.
    names: Vec<String>,
    /// For each of this peer's instances, its variant's index in `names`.
    of: Vec<usize>,
}

impl Variants {
    fn new(batch: &[Instance], mine: &[Instance]) -> Self {
        let names: Vec<String> = batch.iter().map(|i| i.variant.to_string()).collect::<BTreeSet<_>>().into_iter().collect();
        let of = mine.iter().map(|i| names.binary_search(&i.variant.to_string()).expect("from the batch")).collect();
        Variants { names, of }
    }
}

/// The batch's rewards summed over the peers: the mean per variant, the mean
/// over every rollout and the share of infeasible rollouts. Returns them with
/// each variant's reward divisor: its normaliser's after this batch's mean,
/// with `ema` its weight, or 1 when `ema` is 0. This peer's instance `i` has
/// the `i`th `per_instance` rewards.
fn reward_stats<B: AutodiffBackend>(
    rewards: &[f64],
    infeasible: usize,
    per_instance: usize,
    variants: &Variants,
    normaliser: &mut RewardNormaliser,
    ema: f64,
    team: &Team<B>,
) -> Result<(BatchStats, Vec<f64>)> {
    let count = variants.names.len();
    // Per variant: the sum of rewards and the number of rollouts; then the infeasible rollouts.
    let mut sums = vec![0.0; 2 * count + 1];
    for (&v, group) in variants.of.iter().zip(rewards.chunks(per_instance)) {
        sums[2 * v] += group.iter().sum::<f64>();
        sums[2 * v + 1] += group.len() as f64;
    }
    sums[2 * count] = infeasible as f64;
    let sums = team.sum(sums, "the rewards")?;
    let total: f64 = (0..count).map(|v| sums[2 * v + 1]).sum();
    let mut stats = BatchStats { infeasible: sums[2 * count] / total, ..Default::default() };
    let mut divisor = vec![1.0; count];
    for (v, name) in variants.names.iter().enumerate() {
        let mean = sums[2 * v] / sums[2 * v + 1];
        stats.reward.insert(name.clone(), mean);
        stats.mean_reward += sums[2 * v] / total;
        if ema > 0.0 {
            divisor[v] = normaliser.update(name, mean, ema);
        }
    }
    Ok((stats, divisor))
}

/// POMO's advantage (Kwon et al. 2020, section 4.2): each rollout's reward,
/// divided by its variant's divisor, less the mean of its instance's
/// rollouts, the shared baseline. `rewards` holds `per_instance` rollouts
/// per instance in order.
fn shared_baseline_advantage(rewards: &[f64], per_instance: usize, variant_of: &[usize], divisor: &[f64]) -> Vec<f32> {
    rewards
        .chunks(per_instance)
        .zip(variant_of)
        .flat_map(|(group, &v)| {
            let shaped: Vec<f64> = group.iter().map(|r| r / divisor[v]).collect();
            let baseline = shaped.iter().sum::<f64>() / shaped.len() as f64;
            shaped.into_iter().map(move |r| (r - baseline) as f32)
        })
        .collect()
}

/// One random stream per instance, numbered by the instance's place in the whole batch.
fn instance_streams(seed: u64, places: Range<usize>) -> Vec<Rng> {
    places
        .map(|i| {
            let mut rng = Rng::seed_from_u64(seed);
            rng.set_stream(i as u64);
            rng
        })
        .collect()
}

/// Sample every rollout of `env` to its end, under LazyMask when the trainer
/// has a backtracking budget (steps below `floor` are never undone); the
/// record of what each step saw and which actions each final solution kept.
fn roll_out<B: AutodiffBackend>(batch: &Batch<B>, trainer: &TrainerConfig, env: &mut Env, floor: usize, streams: &mut [Rng]) -> Result<Trajectory> {
    let (w, n) = (env.width(), env.num_rollouts());
    let per_instance = n / streams.len();
    assert_eq!(per_instance * streams.len(), n, "the same number of rollouts for every instance");
    let sampling = Sampling { samples: env.per_instance(), ..Sampling::default() };
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
        // Each instance draws from its own stream, so instances choose in parallel
        // and the choices do not depend on how the work is split.
        let actions: Vec<Option<usize>> = streams
            .par_iter_mut()
            .enumerate()
            .flat_map_iter(|(i, rng)| {
                let (sampling, log_p, allowed, moving) = (&sampling, &log_p, &allowed, &moving);
                (i * per_instance..(i + 1) * per_instance).map(move |r| {
                    let mut selector = Selector::Sample { sampling, rng: &mut *rng };
                    moving[r].then(|| selector.choose(&log_p[r * w..(r + 1) * w], &allowed[r * w..(r + 1) * w]))
                })
            })
            .collect();
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
