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
