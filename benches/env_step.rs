//! Environment steps per second for B = 64 instances x P = 100 rollouts at
//! n = 100, on every variant, with ratios to CVRP measured in the same run.
//!
//! `cargo bench --bench env_step [-- --batch 64 --rollouts 100 --size 100 --episodes 3]`
//!
//! One step is one `Env::step` over all B x P rollouts (apply the action,
//! recompute every mask through `problem::rules`); actions are uniformly
//! random among the allowed ones, chosen outside the timed region.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use lrm::env::Env;
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::variant::MTVRP_NAMES;
use lrm::problem::Variant;

struct Options {
    batch: usize,
    rollouts: usize,
    size: usize,
    episodes: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str, default: usize| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map_or(default, |v| v.parse().expect("a number"));
    Options { batch: get("--batch", 64), rollouts: get("--rollouts", 100), size: get("--size", 100), episodes: get("--episodes", 3) }
}

/// (steps, time spent inside `Env::step`) for one full episode.
fn episode(env: &mut Env, rng: &mut ChaCha8Rng) -> (usize, Duration) {
    env.reset(None).unwrap();
    let (mut steps, mut spent) = (0, Duration::ZERO);
    while !env.all_done() {
        let actions = env.random_actions(rng);
        let start = Instant::now();
        env.step(&actions).unwrap();
        spent += start.elapsed();
        steps += 1;
    }
    (steps, spent)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let o = options();
    let mut names: Vec<&str> = MTVRP_NAMES.to_vec();
    names.extend(["VRPMB", "OVRPMBLTW", "ACVRP", "TSP", "ATSP", "TSPTW", "TSPDL"]);
    println!("B = {}, P = {}, n = {}, {} episodes each, {} rayon threads", o.batch, o.rollouts, o.size, o.episodes, rayon::current_num_threads());
    println!("{:<10} {:>6} {:>10} {:>14} {:>10}", "variant", "steps", "steps/s", "rollout-steps/s", "vs CVRP");
    let mut baseline = None;
    for name in names {
        let v: Variant = name.parse().unwrap();
        let instances = GeneratorConfig::new(Problem::Variant(v)).generate(o.size, o.batch, 1);
        let mut env = Env::new(Arc::from(instances), o.rollouts);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        episode(&mut env, &mut rng);
        let mut rates: Vec<(f64, usize)> = (0..o.episodes)
            .map(|_| {
                let (steps, spent) = episode(&mut env, &mut rng);
                (steps as f64 / spent.as_secs_f64(), steps)
            })
            .collect();
        rates.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (rate, steps) = rates[rates.len() / 2];
        let base = *baseline.get_or_insert(rate);
        let rollout_rate = rate * (o.batch * o.rollouts) as f64;
        println!("{name:<10} {steps:>6} {rate:>10.1} {rollout_rate:>14.3e} {:>10.2}", rate / base);
    }
}
