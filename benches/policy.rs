//! One encoding, one decoding step and one POMO training step (forward and
//! backward over a whole batch) of a preset on the default (flex) backend.
//!
//! `cargo bench --bench policy [-- --preset rf-te --batch 64 --size 100 --rollouts 100 --repeats 5 --train-batch 8]`
//!
//! The step is timed from the env's mask and context to the log-probabilities
//! read back on the host: what a decoder pays per step.

use std::sync::Arc;
use std::time::Instant;

use burn::backend::{Autodiff, Flex};

use lrm::decode::sampling::rng;
use lrm::env::Env;
use lrm::model::features::Features;
use lrm::model::{Encoding, ModelConfig};
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::train::config::TrainerConfig;
use lrm::train::distributed::Team;
use lrm::train::reinforce::{pomo_loss, RewardNormaliser};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let preset = arg("--preset", "rf-te");
    let (batch, n, rollouts, repeats): (usize, usize, usize, usize) = (
        arg("--batch", "64").parse().unwrap(),
        arg("--size", "100").parse().unwrap(),
        arg("--rollouts", "100").parse().unwrap(),
        arg("--repeats", "5").parse().unwrap(),
    );
    let device = Default::default();
    let config = ModelConfig::preset(&preset).unwrap();
    let policy = config.init::<Flex>(&device);
    let instances = GeneratorConfig::new(Problem::Mixed { mixed_backhaul: false }).generate(n, batch, 1);
    let features = Features::<Flex>::for_model(&instances, &config, &device);
    let mut encode = vec![];
    let mut encoding = None;
    for _ in 0..repeats {
        let start = Instant::now();
        let e = policy.encode(&features);
        if let Encoding::Pointer(cache) = &e {
            let _ = cache.node_queries.clone().into_data();
        }
        encode.push(start.elapsed().as_secs_f64());
        encoding = Some(e);
    }
    let encoding = encoding.unwrap();
    let mut env = Env::new(Arc::from(instances), rollouts);
    let first: Vec<usize> = (0..env.num_rollouts()).map(|r| r % n + 1).collect();
    env.reset(Some(&first)).unwrap();
    let mut step = vec![];
    for _ in 0..repeats {
        let start = Instant::now();
        let log_p = policy.step(&encoding, policy.step_input(&features, &env, env.mask(), None, &device));
        let _ = log_p.into_data();
        step.push(start.elapsed().as_secs_f64());
    }
    let train_batch: usize = arg("--train-batch", "8").parse().unwrap();
    let trainer = TrainerConfig::pomo();
    let trainable = config.init::<Autodiff<Flex>>(&device);
    let train_instances = GeneratorConfig::new(Problem::Mixed { mixed_backhaul: false }).generate(n, train_batch, 2);
    let mut train = vec![];
    for k in 0..repeats.min(3) {
        let start = Instant::now();
        let (loss, _) =
            pomo_loss(&trainable, &config, &trainer, &train_instances, &mut RewardNormaliser::default(), &mut rng(k as u64), &Team::alone(&device)).unwrap();
        let _ = loss.backward();
        train.push(start.elapsed().as_secs_f64());
    }
    println!("{preset}: {} parameters, B = {batch}, n = {n}, P = {rollouts}, {} rayon threads", config.num_params(), rayon::current_num_threads());
    println!("per-instance encoding: {:.3} s (median of {repeats})", median(encode));
    println!("one decoding step:     {:.1} ms (median of {repeats})", 1e3 * median(step));
    println!("one training step:     {:.2} s for {train_batch} instances x {n} starts (median of {})", median(train.clone()), train.len());
}
