//! Size scaling and throughput: how encoding and decoding time grow with the
//! instance size (with the fitted exponent), and instances per second for
//! inference and for a training step, with the FLOP/s achieved against the
//! model's own FLOP count.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::fit;
use super::memory::peak_during;
use crate::decode::sampling::rng;
use crate::decode::{self, Batch, DecodeOptions, Phases, Selector, Starts};
use crate::error::Result;
use crate::model::features::Features;
use crate::model::{ModelConfig, Policy};
use crate::problem::generate::{GeneratorConfig, Problem};
use crate::problem::{Instance, Variant};
use crate::train::config::{OptimizerConfig, OptimizerKind, TrainerConfig};
use crate::train::distributed::Team;
use crate::train::optim::{clip_global_norm, Optim};
use crate::train::reinforce::{pomo_loss, RewardNormaliser};

/// Time per instance at one size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SizePoint {
    pub n: usize,
    pub encode_ms: f64,
    pub decode_ms: f64,
    /// Peak resident memory while encoding and while decoding, in MiB
    /// (`memory::peak_during`; Linux only).
    pub encode_peak_mib: Option<f64>,
    pub decode_peak_mib: Option<f64>,
}

fn cvrp(n: usize, count: usize) -> Vec<Instance> {
    GeneratorConfig::new(Problem::Variant(Variant::CVRP)).generate(n, count, 1)
}

/// Encoding and greedy decoding time per CVRP instance at each size (`count` instances each).
pub fn size_scaling<B: AutodiffBackend>(
    policy: &Policy<B::InnerBackend>,
    config: &ModelConfig,
    sizes: &[usize],
    count: usize,
    device: &B::Device,
) -> Result<Vec<SizePoint>> {
    let mut out = vec![];
    for &n in sizes {
        let instances = cvrp(n, count);
        let start = Instant::now();
        let ((), encode_peak_mib) = peak_during(|| {
            let features = Features::<B::InnerBackend>::for_model(&instances, config, device);
            drop(policy.encode(&features));
        });
        let encode = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let options = DecodeOptions { batch_size: count, ..DecodeOptions::default() };
        let (solved, decode_peak_mib) = peak_during(|| decode::solve(policy, config, &instances, &options, device));
        solved?;
        let decode = start.elapsed().as_secs_f64();
        out.push(SizePoint { n, encode_ms: 1e3 * encode / count as f64, decode_ms: 1e3 * decode / count as f64, encode_peak_mib, decode_peak_mib });
    }
    Ok(out)
}

/// Time growth exponents: time per instance ~ n^k for encoding and decoding.
pub fn growth(points: &[SizePoint]) -> (Option<fit::PowerLaw>, Option<fit::PowerLaw>) {
    let law = |f: fn(&SizePoint) -> f64| fit::power_law(&points.iter().map(|p| (p.n as f64, f(p))).collect::<Vec<_>>());
    (law(|p| p.encode_ms), law(|p| p.decode_ms))
}

/// Instances per second and achieved FLOP/s for one workload.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Throughput {
    pub workload: String,
    /// Customers per instance.
    pub n: usize,
    pub instances_per_s: f64,
    pub gflop_per_s: f64,
    /// Where the time went.
    pub phases: Phases,
}

/// Greedy, multi-start x8 (every customer a start, as POMO and RL4CO
/// measure inference) and one POMO training step (multi-start sampling,
/// shared baseline, backward, global-norm clipping at 1, Adam) on `batch`
/// instances of `n` customers, the 16 variants mixed in the batch as
/// RouteFinder trains.
pub fn throughput<B: AutodiffBackend>(policy: &Policy<B>, config: &ModelConfig, n: usize, batch: usize, device: &B::Device) -> Result<Vec<Throughput>> {
    let instances = GeneratorConfig::new(Problem::Mixed { mixed_backhaul: false }).generate(n, batch, 1);
    let inner = policy.valid();
    let mut out = vec![];
    let mut multi_start_steps = 0;
    for (name, starts, augment) in [("greedy", Starts::One, false), ("multi-start x8", Starts::All, true)] {
        let start = Instant::now();
        let b = Batch::new(&inner, config, &instances, augment, device);
        let mut env = b.env(1);
        if starts == Starts::All {
            let first = decode::multistart::first_nodes(&b, &env, starts, decode::multistart::FirstNodes::Ranked);
            env = b.env(first.len() / env.num_instances());
            env.reset(Some(&first))?;
        }
        b.construct(&mut env, &mut Selector::Greedy)?;
        let seconds = start.elapsed().as_secs_f64();
        let steps = (0..env.num_rollouts()).map(|r| env.rollout(r).actions().len()).max().unwrap_or(0);
        let copies = if augment { 8.0 } else { 1.0 };
        multi_start_steps = steps;
        let flops = batch as f64 * copies * (config.encoding_flops(n) as f64 + (env.per_instance() * steps) as f64 * config.decoding_step_flops(n) as f64);
        out.push(Throughput { workload: name.into(), n, instances_per_s: batch as f64 / seconds, gflop_per_s: flops / seconds / 1e9, phases: b.phases() });
    }
    let trainer = TrainerConfig::pomo();
    let mut optim = Optim::new(&OptimizerConfig { kind: OptimizerKind::Adam, lr: 1e-4, weight_decay: 0.0, epsilon: 1e-8, clip_norm: 1.0 });
    let start = Instant::now();
    let (loss, stats) = pomo_loss(policy, config, &trainer, &instances, &mut RewardNormaliser::default(), &mut rng(1), &Team::alone(device))?;
    let mut phases = stats.phases;
    let mark = Instant::now();
    let mut grads = GradientsParams::from_grads(loss.backward(), policy);
    let mark = phases.lap(|p| &mut p.backward, mark);
    let (clipped, _) = clip_global_norm(policy.clone(), &mut grads, 1.0);
    drop(optim.step(1e-4, clipped, grads));
    phases.lap(|p| &mut p.optimizer, mark);
    let seconds = start.elapsed().as_secs_f64();
    // Forward and backward: about three forward passes of the POMO rollouts
    // (one per customer), as many steps as the multi-start decoding took.
    let forward = config.encoding_flops(n) as f64 + (n * multi_start_steps) as f64 * config.decoding_step_flops(n) as f64;
    let flops = 3.0 * batch as f64 * forward;
    out.push(Throughput { workload: "training step".into(), n, instances_per_s: batch as f64 / seconds, gflop_per_s: flops / seconds / 1e9, phases });
    Ok(out)
}
