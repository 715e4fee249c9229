//! LMask's training: LazyMask with a backtracking budget inside REINFORCE,
//! a relaxed finish once the budget is spent, and the penalised reward.

use rand::SeedableRng;

use lrm::decode::sampling::Rng;
use lrm::env::Env;
use lrm::model::ModelConfig;
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::Instance;
use lrm::train::config::TrainerConfig;
use lrm::train::distributed::Team;
use lrm::train::reinforce::{penalised_reward, pomo_loss, BatchStats, RewardNormaliser};

use crate::learning::Ad;

fn hard(variant: &str) -> Vec<Instance> {
    GeneratorConfig::new(Problem::Variant(variant.parse().unwrap())).generate(19, 6, 3)
}

/// One batch of REINFORCE with 8 samples per instance, backpropagated, by a
/// small LMask model with the same weights on every call (seeded), so that
/// budgets are compared on one policy.
fn batch(instances: &[Instance], budget: Option<usize>) -> BatchStats {
    let mut model = ModelConfig::preset("lmask").unwrap();
    (model.d_model, model.n_heads, model.n_layers, model.d_ff) = (32, 4, 1, 64);
    let device = Default::default();
    let policy = model.init_seeded::<Ad>(11, &device);
    let trainer = TrainerConfig { samples: 8, backtrack_budget: budget, ..TrainerConfig::pomo() };
    let mut rng = Rng::seed_from_u64(5);
    let (loss, stats) = pomo_loss(&policy, &model, &trainer, instances, &mut RewardNormaliser::default(), &mut rng, &Team::alone(&device)).unwrap();
    let value: f32 = loss.clone().into_scalar();
    assert!(value.is_finite(), "loss {value}");
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &policy);
    assert!(!grads.is_empty(), "the loss reaches the weights");
    stats
}

#[test]
fn backtracking_in_training_finds_feasible_tours_that_plain_masks_miss() {
    let instances = hard("TSPTW");
    let plain = batch(&instances, None);
    let exhaustive = batch(&instances, Some(1_000_000));
    let spent = batch(&instances, Some(0));
    assert!(plain.infeasible > 0.2, "a random policy dead-ends on hard windows ({})", plain.infeasible);
    assert_eq!(exhaustive.infeasible, 0.0, "an unlimited budget finds a feasible tour from the depot");
    assert!(
        spent.infeasible > 0.0 && spent.infeasible < plain.infeasible,
        "with no budget the look-ahead still avoids some dead ends; the rest finish relaxed ({})",
        spent.infeasible
    );
    assert!(spent.mean_reward < exhaustive.mean_reward, "the overruns are charged");
}

#[test]
fn draft_limits_never_dead_end_a_tour() {
    // A feasible TSPDL instance has, for every load m, more ports with limit
    // >= m than ports visited before the load falls to m, so the exact mask
    // always leaves one: LazyMask never needs to backtrack there.
    let instances = hard("TSPDL");
    assert_eq!(batch(&instances, None).infeasible, 0.0);
    assert_eq!(batch(&instances, Some(0)).infeasible, 0.0);
}

#[test]
fn the_penalised_reward_charges_overrun_and_late_customers() {
    let inst = &hard("TSPTW")[0];
    let mut env = Env::new(std::sync::Arc::from(vec![inst.clone()]), 1);
    // Visit the customers in reverse order of index until stuck, then relax.
    while !env.all_done() {
        let row = env.mask_row(0).to_vec();
        let next = (0..row.len()).rev().find(|&j| row[j]).unwrap();
        env.step(&[next]).unwrap();
        if env.rollout(0).is_dead_end() {
            env.relax(0).unwrap();
        }
    }
    let roll = env.rollout(0);
    assert!(roll.violations() > 0 && roll.overrun() > 0.0, "reverse order breaks hard windows");
    let trainer = |rho_n: f64, rho_c: f64| TrainerConfig { penalty_per_customer: rho_n, penalty_per_overrun: rho_c, ..TrainerConfig::pomo() };
    let cost = roll.cost(inst);
    assert_eq!(penalised_reward(roll, inst, 1.0, &trainer(0.0, 0.0)), -cost);
    let reward = penalised_reward(roll, inst, 1.0, &trainer(2.0, 3.0));
    assert!((reward - (-cost - 2.0 * roll.violations() as f64 - 3.0 * roll.overrun())).abs() < 1e-9);
    // The cost in the model's frame (road distances divided by their largest); the penalties as they are.
    let halved = penalised_reward(roll, inst, 0.5, &trainer(2.0, 3.0));
    assert!((halved - (reward + 0.5 * cost)).abs() < 1e-9);
}

/// The share of `instances` one greedy LazyMask rollout from the depot
/// leaves without a feasible tour, with `budget` backtracks.
fn unsolved(trainer: &lrm::train::Trainer<Ad>, instances: &[Instance], budget: usize) -> f64 {
    use burn::module::AutodiffModule;
    use lrm::decode::{DecodeOptions, Starts, Strategy};
    let options = DecodeOptions { strategy: Strategy::LazyMask, starts: Starts::One, backtrack_budget: budget, ..DecodeOptions::default() };
    let outcomes = lrm::decode::solve(&trainer.policy.valid(), &trainer.model, instances, &options, &Default::default()).unwrap();
    outcomes.iter().filter(|o| o.cost().is_none()).count() as f64 / instances.len() as f64
}

#[test]
fn validation_backtracks_as_lrm_eval_does_not_as_training_does() {
    let dir = crate::common::temp_dir("lmask-validation");
    let instances = GeneratorConfig::new(Problem::Variant("TSPTW".parse().unwrap())).generate(19, 24, 3);
    let data = dir.join("val.npz");
    lrm::problem::io::npz::write_dataset(&data, &instances).unwrap();
    let text = format!(
        r#"
seed = 5
[problem]
variants = ["TSPTW"]
sizes = [19]
[model]
preset = "lmask"
[model.overrides]
d_model = 32
n_heads = 4
n_layers = 1
d_ff = 64
pointer_heads = 4
[trainer]
kind = "pomo"
samples = 4
backtrack_budget = 0
[optimizer]
kind = "adam"
lr = 1e-3
[batch]
size = 4
[run]
epochs = 1
instances_per_epoch = 4
checkpoint_every = 1
validate_every = 0
[[validation]]
data = "{}"
"#,
        data.display()
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    let config = lrm::train::config::TrainConfig::read(&path).unwrap();
    let trainer = lrm::train::Trainer::<Ad>::new(config, &dir.join("run"), lrm::train::Start::Fresh, &Default::default()).unwrap();
    let scores = trainer.validate().unwrap();
    let (_, infeasible) = scores.iter().find(|(k, _)| k.ends_with("_infeasible")).unwrap();
    let (with_training_budget, with_eval_budget) = (unsolved(&trainer, &instances, 0), unsolved(&trainer, &instances, 300));
    assert!(with_training_budget > with_eval_budget, "the budgets differ on these instances: {with_training_budget} vs {with_eval_budget}");
    assert_eq!(*infeasible, with_eval_budget, "validation counts what `lrm eval` (300 backtracks) leaves unsolved");
}
