//! Throughput: instances per second for inference and for a training step,
//! with the FLOP/s achieved against the model's own FLOP count and the time
//! of each phase. Measured as the peer harness (`../shared/tools/peer/`)
//! measures RL4CO: one untimed warm-up on a small batch, then repeated timed
//! runs on the same batch, the median reported, so that the two tools'
//! figures are taken the same way.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::decode::sampling::rng;
use crate::decode::{self, Batch, Phases, Selector, Starts};
use crate::error::Result;
use crate::model::{ModelConfig, Policy};
use crate::problem::generate::{GeneratorConfig, Problem};
use crate::problem::Instance;
use crate::train::config::{OptimizerConfig, OptimizerKind, TrainerConfig};
use crate::train::distributed::Team;
use crate::train::optim::{clip_global_norm, Optim};
use crate::train::reinforce::{pomo_loss, RewardNormaliser};

/// Instances in the untimed warm-up run (the peer harness's 16).
const WARM_UP: usize = 16;

/// Instances per second and achieved FLOP/s for one workload.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Throughput {
    pub workload: String,
    /// Customers per instance.
    pub n: usize,
    /// Of the median run.
    pub instances_per_s: f64,
    pub gflop_per_s: f64,
    /// Timed runs, and the slowest and fastest run's instances/s (the spread).
    pub runs: usize,
    pub slowest: f64,
    pub fastest: f64,
    /// Where the median run's time went.
    pub phases: Phases,
}

/// What one run of a workload gives: its seconds, FLOP count and phases.
struct Run {
    seconds: f64,
    flops: f64,
    phases: Phases,
}

/// Greedy, multi-start x8 (every customer a start, as POMO and RL4CO
/// measure inference) and one POMO training step (multi-start sampling,
/// shared baseline, backward, global-norm clipping at 1, Adam) on `batch`
/// instances of `n` customers, the 16 variants mixed in the batch as
/// RouteFinder trains; each timed `repeats` times (at least once) after a
/// warm-up. Training runs step the policy's copy in place of the caller's.
///
/// # Errors
/// When decoding or the training step fails (an environment error).
pub fn throughput<B: AutodiffBackend>(
    policy: &Policy<B>,
    config: &ModelConfig,
    n: usize,
    batch: usize,
    repeats: usize,
    device: &B::Device,
) -> Result<Vec<Throughput>> {
    let instances = GeneratorConfig::new(Problem::Mixed { mixed_backhaul: false }).generate(n, batch, 1);
    let inner = policy.valid();
    let mut out = vec![];
    let mut multi_start_steps = 0;
    for (name, starts, augment) in [("greedy", Starts::One, false), ("multi-start x8", Starts::All, true)] {
        let decode = |instances: &[Instance]| -> Result<Run> {
            let (run, steps) = decode_once(&inner, config, instances, starts, augment, device)?;
            multi_start_steps = steps;
            Ok(run)
        };
        out.push(measured(name, n, &instances, repeats, decode)?);
    }
    let mut policy = policy.clone();
    let mut optim = Optim::new(&OptimizerConfig { kind: OptimizerKind::Adam, lr: 1e-4, weight_decay: 0.0, epsilon: 1e-8, clip_norm: 1.0 });
    let train = |instances: &[Instance]| -> Result<Run> {
        let (next, mut run) = train_once(policy.clone(), &mut optim, config, instances, device)?;
        policy = next;
        // Forward and backward: about three forward passes of the POMO
        // rollouts (one per customer), as many steps as multi-start took.
        let forward = config.encoding_flops(n) as f64 + (n * multi_start_steps) as f64 * config.decoding_step_flops(n) as f64;
        run.flops = 3.0 * instances.len() as f64 * forward;
        Ok(run)
    };
    out.push(measured("training step", n, &instances, repeats, train)?);
    Ok(out)
}

/// One warm-up on the first [`WARM_UP`] instances, then `repeats` timed
/// runs on all of them; the median run's figures.
fn measured(workload: &str, n: usize, instances: &[Instance], repeats: usize, mut run: impl FnMut(&[Instance]) -> Result<Run>) -> Result<Throughput> {
    run(&instances[..instances.len().min(WARM_UP)])?;
    let mut runs = (0..repeats.max(1)).map(|_| run(instances)).collect::<Result<Vec<_>>>()?;
    let batch = instances.len();
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let per_second = |r: &Run| batch as f64 / r.seconds;
    // The middle run, or the mean time of the two middle ones (their phases: the slower's).
    let median = &runs[runs.len() / 2];
    let seconds = match runs.len() % 2 {
        0 => (runs[runs.len() / 2 - 1].seconds + median.seconds) / 2.0,
        _ => median.seconds,
    };
    Ok(Throughput {
        workload: workload.into(),
        n,
        instances_per_s: batch as f64 / seconds,
        gflop_per_s: median.flops / seconds / 1e9,
        runs: runs.len(),
        slowest: per_second(&runs[runs.len() - 1]),
        fastest: per_second(&runs[0]),
        phases: median.phases,
    })
}

/// Decode `instances` greedily from one start, or from every customer with
/// x8 augmentation; the run and the longest rollout's step count.
fn decode_once<B: burn::tensor::backend::Backend>(
    policy: &Policy<B>,
    config: &ModelConfig,
    instances: &[Instance],
    starts: Starts,
    augment: bool,
    device: &B::Device,
) -> Result<(Run, usize)> {
    let start = Instant::now();
    let b = Batch::new(policy, config, instances, augment, device);
    let mut env = b.env(1);
    if starts == Starts::All {
        let first = decode::multistart::first_nodes(&b, &env, starts, decode::multistart::FirstNodes::Ranked);
        env = b.env(first.len() / env.num_instances());
        env.reset(Some(&first))?;
    }
    b.construct(&mut env, &mut Selector::Greedy)?;
    let seconds = start.elapsed().as_secs_f64();
    let steps = (0..env.num_rollouts()).map(|r| env.rollout(r).actions().len()).max().unwrap_or(0);
    let n = instances.first().map_or(0, |i| i.num_customers());
    let copies = if augment { 8.0 } else { 1.0 };
    let flops =
        instances.len() as f64 * copies * (config.encoding_flops(n) as f64 + (env.per_instance() * steps) as f64 * config.decoding_step_flops(n) as f64);
    Ok((Run { seconds, flops, phases: b.phases() }, steps))
}

/// One POMO training step on `instances`: the stepped policy and the run
/// (its FLOP count left to the caller).
fn train_once<B: AutodiffBackend>(
    policy: Policy<B>,
    optim: &mut Optim<B>,
    config: &ModelConfig,
    instances: &[Instance],
    device: &B::Device,
) -> Result<(Policy<B>, Run)> {
    let trainer = TrainerConfig::pomo();
    let start = Instant::now();
    let (loss, stats) = pomo_loss(&policy, config, &trainer, instances, &mut RewardNormaliser::default(), &mut rng(1), &Team::alone(device))?;
    let mut phases = stats.phases;
    let mark = Instant::now();
    let mut grads = GradientsParams::from_grads(loss.backward(), &policy);
    let mark = phases.lap(|p| &mut p.backward, mark);
    let (clipped, _) = clip_global_norm(policy, &mut grads, 1.0);
    let stepped = optim.step(1e-4, clipped, grads);
    phases.lap(|p| &mut p.optimizer, mark);
    Ok((stepped, Run { seconds: start.elapsed().as_secs_f64(), flops: 0.0, phases }))
}
