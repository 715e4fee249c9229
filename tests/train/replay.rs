//! The trainers' log-likelihood, replayed after the rollouts in a few large
//! passes (`decode::trajectory`), against stepping with gradients: the same
//! values and the same gradients (1e-4 relative in norm) for both policy families,
//! with LMask's refinement input, with held rollouts.

use std::sync::Arc;

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};

use lrm::decode::trajectory::Trajectory;
use lrm::decode::Batch;
use lrm::env::Env;
use lrm::model::features::{Features, Refinement};
use lrm::model::{ModelConfig, Policy};
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::Instance;

use crate::common::small_config as small;

type Ad = Autodiff<Flex>;

/// Every parameter's gradient, flattened, in module order.
struct Gradients<'a> {
    grads: &'a <Ad as AutodiffBackend>::Gradients,
    out: Vec<Vec<f32>>,
}

impl ModuleVisitor<Ad> for Gradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Ad, D>>) {
        if let Some(g) = param.val().grad(self.grads) {
            self.out.push(g.into_data().convert::<f32>().to_vec().unwrap());
        }
    }
}

fn gradients(policy: &Policy<Ad>, loss: Tensor<Ad, 1>) -> Vec<Vec<f32>> {
    let grads = loss.backward();
    let mut visitor = Gradients { grads: &grads, out: vec![] };
    policy.visit(&mut visitor);
    visitor.out
}

/// Weights that make every rollout count differently in the loss.
fn weights(b: usize, p: usize) -> Tensor<Ad, 2> {
    let w: Vec<f32> = (0..b * p).map(|k| ((k * 7) % 5) as f32 - 2.0).collect();
    Tensor::from_data(TensorData::new(w, [b, p]), &Default::default())
}

/// Greedy rollouts, every third rollout held every other step; the
/// replayed and the step-by-step log-likelihoods and their gradients.
fn compare(config: &ModelConfig, instances: &[Instance], refinement: bool) {
    let device = Default::default();
    let policy = config.init_seeded::<Ad>(13, &device);
    let p = 3;
    // Replayed.
    let batch = Batch::new(&policy, config, instances, false, &device);
    let mut env = batch.env(p);
    let mut trajectory = Trajectory::new(&env);
    // The same steps with the log-probabilities they were chosen from.
    let mut sampled = Trajectory::new(&env);
    let mut taken: Vec<(Vec<Option<usize>>, Option<Refinement>)> = vec![];
    let mut t = 0;
    while !env.all_done() {
        let n = env.num_rollouts();
        let rf = refinement.then(|| Refinement { levels: (0..n).map(|r| (r + t) % 6).collect(), budget_spent: (0..n).map(|r| (r + t) % 4 == 0).collect() });
        let chosen = batch.greedy(&env);
        let actions: Vec<Option<usize>> = (0..n).map(|r| (r % 3 != 0 || t % 2 == 0 || env.rollout(r).is_done()).then_some(chosen[r])).collect();
        trajectory.record(&batch, &env, env.mask(), rf.as_ref(), &actions, None);
        let log_p = batch.log_probs(&env, env.mask(), rf.as_ref());
        sampled.record(&batch, &env, env.mask(), rf.as_ref(), &actions, Some(&log_p));
        taken.push((actions.clone(), rf));
        env.step_some(&actions).unwrap();
        t += 1;
    }
    let (b, _) = (env.num_instances(), ());
    let (replayed, _) = trajectory.log_likelihood(&policy, batch.encoding(), false, &device);
    let (known, _) = sampled.log_likelihood(&policy, batch.encoding(), false, &device);
    let close = |a: Vec<f32>, b: Vec<f32>| a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-4 * y.abs().max(1.0));
    assert!(
        close(known.into_data().convert::<f32>().to_vec().unwrap(), replayed.clone().into_data().convert::<f32>().to_vec().unwrap()),
        "recorded and recomputed log-likelihoods"
    );
    // Step by step, with gradients.
    let features = Features::<Ad>::new(instances, config.svd_rank, &device);
    let encoding = policy.encode(&features);
    let mut env = Env::new(Arc::from(instances.to_vec()), p);
    let mut stepped = Tensor::<Ad, 2>::zeros([b, p], &device);
    for (actions, rf) in &taken {
        let rf = rf.clone().or_else(|| config.refinement_intensity.then(|| Refinement::none(env.num_rollouts())));
        let log_p = policy.step(&encoding, policy.step_input(&features, &env, env.mask(), rf.as_ref(), &device));
        let index: Vec<i64> = actions.iter().map(|a| a.unwrap_or(0) as i64).collect();
        let weight: Vec<f32> = actions.iter().map(|a| a.is_some() as u8 as f32).collect();
        let index = Tensor::<Ad, 3, Int>::from_data(TensorData::new(index, [b, p, 1]), &device);
        let weight = Tensor::<Ad, 2>::from_data(TensorData::new(weight, [b, p]), &device);
        stepped = stepped + log_p.gather(2, index).reshape([b, p]) * weight;
        env.step_some(actions).unwrap();
    }
    let a: Vec<f32> = replayed.clone().into_data().convert::<f32>().to_vec().unwrap();
    let s: Vec<f32> = stepped.clone().into_data().convert::<f32>().to_vec().unwrap();
    for (x, y) in a.iter().zip(&s) {
        assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "log-likelihood: replayed {x}, stepped {y}");
    }
    let g_replayed = gradients(&policy, (replayed * weights(b, p)).sum());
    let g_stepped = gradients(&policy, (stepped * weights(b, p)).sum());
    assert_eq!(g_replayed.len(), g_stepped.len());
    assert!(g_stepped.len() > 10, "gradients reach the parameters");
    let norm = |g: &[f32]| g.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
    let difference: Vec<Vec<f32>> = g_replayed.iter().zip(&g_stepped).map(|(x, y)| x.iter().zip(y).map(|(a, b)| a - b).collect()).collect();
    let total = g_stepped.iter().map(|g| norm(g).powi(2)).sum::<f64>().sqrt();
    let off = difference.iter().map(|g| norm(g).powi(2)).sum::<f64>().sqrt();
    assert!(off <= 1e-4 * total, "the gradient differs by {off} in norm, at a norm of {total}");
    // Tensor by tensor, where the gradient is more than float noise (some are
    // 0 in exact arithmetic: attention key biases, the softmax being shift-invariant).
    for (k, (d, y)) in difference.iter().zip(&g_stepped).enumerate().filter(|(_, (_, y))| norm(y) > 1e-3 * total) {
        assert!(norm(d) <= 1e-3 * norm(y), "parameter {k}: gradients differ by {} in norm, at a norm of {}", norm(d), norm(y));
    }
}

#[test]
fn replayed_log_likelihoods_and_gradients_equal_stepping_with_gradients() {
    let mixed = GeneratorConfig::new(Problem::Mixed { mixed_backhaul: false }).generate(8, 4, 5);
    compare(&small("pomo"), &mixed, false);
    compare(&small("rf-te"), &mixed, false);
    compare(&small("deep-2x32"), &mixed, false);
    // Full width (128, 8 pointer heads of 16): the register-tiled products of the backward pass.
    let full = ModelConfig { n_layers: 1, ..ModelConfig::preset("pomo").unwrap() };
    compare(&full, &mixed, false);
    // 100 customers: node tiles of 64 and 48.
    compare(&full, &GeneratorConfig::new(Problem::Mixed { mixed_backhaul: false }).generate(100, 2, 5), false);
    let tsptw = GeneratorConfig::new(Problem::Variant("TSPTW".parse().unwrap())).generate(8, 3, 5);
    compare(&small("lmask"), &tsptw, true);
}
