//! POMO / REINFORCE with the shared baseline: every instance is rolled out
//! from P first customers (and, with training-time augmentation, from 8
//! dihedral copies); the baseline of a rollout is the mean reward of its
//! instance's rollouts; loss = -mean((R - b) log p), log p summed over the
//! decoded steps (the forced first step excluded, as in POMO).
//!
//! Rewards are negative costs. A rollout that dead-ends (TSPTW, TSPDL, a
//! fleet limit) gets LMask's penalty per customer left unserved on top of
//! the cost so far. With `reward_ema > 0` rewards are divided by an
//! exponential moving average of their variant's mean reward (RouteFinder's
//! `normalize_reward: exponential, div`), so that variants of different cost
//! scales weigh alike in a mixed batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::config::TrainerConfig;
use crate::decode::multistart::cycle;
use crate::decode::sampling::{Rng, Sampling, Selector};
use crate::decode::{augment, Starts};
use crate::env::Env;
use crate::error::Result;
use crate::model::features::{Features, Refinement};
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
    let mut env = Env::new(expanded, 1);
    let ranked: Vec<Vec<usize>> = (0..env.num_rollouts()).map(|r| (1..env.width()).filter(|&j| env.mask_row(r)[j]).collect()).collect();
    let starts = if trainer.starts == 0 { Starts::All } else { Starts::Count(trainer.starts) };
    let first = cycle(&ranked, starts);
    let p = first.len() / env.num_instances();
    env = Env::new(env.instances().clone(), p);
    env.reset(Some(&first))?;

    let (b, w) = (env.num_instances(), env.width());
    let sampling = Sampling { samples: p, ..Sampling::default() };
    let mut selector = Selector::Sample { sampling: &sampling, rng };
    let mut log_likelihood = Tensor::<B, 2>::zeros([b, p], device);
    let mut entropy = Tensor::<B, 2>::zeros([b, p], device);
    let refinement = model.refinement_intensity.then(|| Refinement::none(env.num_rollouts()));
    while !env.all_done() {
        let log_p = policy.step(&encoding, policy.step_input(&features, &env, env.mask(), refinement.as_ref(), device));
        let host: Vec<f32> = log_p.clone().inner().into_data().convert::<f32>().to_vec().expect("log-probabilities are floats");
        let actions: Vec<usize> = (0..env.num_rollouts()).map(|r| selector.choose(&host[r * w..(r + 1) * w], env.mask_row(r))).collect();
        let index = Tensor::<B, 3, Int>::from_data(TensorData::new(actions.iter().map(|&a| a as i64).collect::<Vec<_>>(), [b, p, 1]), device);
        log_likelihood = log_likelihood + log_p.clone().gather(2, index).reshape([b, p]);
        if trainer.entropy_bonus > 0.0 {
            entropy = entropy - (log_p.clone().exp() * log_p).sum_dim(2).reshape([b, p]);
        }
        env.step(&actions)?;
    }

    let rewards: Vec<f64> = (0..env.num_rollouts())
        .map(|r| {
            let roll = env.rollout(r);
            let unserved = if roll.is_dead_end() { roll.unvisited().len() as f64 } else { 0.0 };
            -roll.cost(env.instance_of(r)) - trainer.penalty_per_customer * unserved
        })
        .collect();
    let per_instance = copies * p;
    let mut stats = BatchStats { mean_reward: rewards.iter().sum::<f64>() / rewards.len() as f64, ..Default::default() };
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
