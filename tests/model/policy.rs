//! Every preset runs on every variant: finite logits where the env allows a
//! node, probability 0 where it does not, finite non-zero gradients everywhere.

use std::sync::Arc;

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};

use burn::tensor::{Int, Tensor, TensorData};

use lrm::env::Env;
use lrm::model::features::{Features, Refinement};
use lrm::model::{ModelConfig, Policy};
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::variant::all_variants;
use lrm::problem::{evaluate, Instance, Variant};

use crate::common::small_config as small;

type B = Flex;
type Ad = Autodiff<Flex>;

pub fn instances(v: Variant, n: usize, count: usize) -> Vec<Instance> {
    GeneratorConfig::new(Problem::Variant(v)).generate(n, count, 13)
}

/// Decode greedily to the end; return the log-probabilities of the chosen nodes.
pub fn greedy<Bk: Backend>(
    policy: &Policy<Bk>,
    config: &ModelConfig,
    instances: &[Instance],
    rollouts: usize,
    device: &Bk::Device,
) -> (Env, Vec<Tensor<Bk, 2>>) {
    let features = Features::<Bk>::for_model(instances, config, device);
    let encoding = policy.encode(&features);
    let mut env = Env::new(Arc::from(instances.to_vec()), rollouts);
    let mut chosen = vec![];
    while !env.all_done() {
        let refinement = config.refinement_intensity.then(|| Refinement::none(env.num_rollouts()));
        let log_p = policy.step(&encoding, policy.step_input(&features, &env, env.mask(), refinement.as_ref(), device));
        let values: Vec<f32> = log_p.clone().into_data().convert::<f32>().to_vec().unwrap();
        let w = env.width();
        let mut actions = vec![];
        for r in 0..env.num_rollouts() {
            let row = &values[r * w..(r + 1) * w];
            for (j, (&lp, &ok)) in row.iter().zip(env.mask_row(r)).enumerate() {
                if ok {
                    assert!(lp.is_finite() && lp <= 1e-6, "rollout {r} node {j}: log-prob {lp}");
                } else {
                    assert_eq!(lp.exp(), 0.0, "rollout {r}: masked node {j} has probability {}", lp.exp());
                }
            }
            let best = (0..w).filter(|&j| env.mask_row(r)[j]).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            actions.push(best);
        }
        let index = Tensor::<Bk, 2, Int>::from_data(TensorData::new(actions.iter().map(|&a| a as i64).collect::<Vec<_>>(), [env.num_rollouts(), 1]), device);
        let picked = log_p.reshape([env.num_rollouts(), w]).gather(1, index).reshape([env.num_instances(), rollouts]);
        chosen.push(picked);
        env.step(&actions).unwrap();
    }
    (env, chosen)
}

#[test]
fn every_preset_decodes_every_variant_with_masked_nodes_at_probability_zero() {
    let device = Default::default();
    let variants: Vec<Variant> = all_variants().into_iter().filter(|v| !(v.asymmetric && v.is_tsp() && (v.time_windows || v.draft_limit))).collect();
    for preset in ["pomo", "rf-te", "lrm-1m", "radar", "lmask", "rrnco", "deep-6x128"] {
        let config = small(preset);
        let policy = config.init::<B>(&device);
        for &v in &variants {
            let insts = instances(v, 7, 2);
            let (env, _) = greedy(&policy, &config, &insts, 3, &device);
            for r in 0..env.num_rollouts() {
                if env.rollout(r).is_dead_end() {
                    continue;
                }
                let eval = evaluate(env.instance_of(r), &env.rollout(r).solution());
                assert!(eval.is_feasible(), "{preset} on {v}: {:?}", eval.violation);
            }
        }
    }
}

/// Sets the single-entry parameters (ReZero's alphas) to 0.1.
struct NudgeReZero;

impl<Bk: Backend> ModuleMapper<Bk> for NudgeReZero {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<Bk, D>>) -> Param<Tensor<Bk, D>> {
        if param.shape().num_elements() == 1 {
            param.map(|t| (t.zeros_like() + 0.1).require_grad())
        } else {
            param
        }
    }
}

/// Checks every float parameter's gradient.
struct GradientCheck<'a, Bk: AutodiffBackend> {
    grads: &'a Bk::Gradients,
    checked: usize,
    problems: Vec<String>,
    /// The submodules entered, to name a parameter in a failure.
    path: Vec<String>,
    /// The largest gradient entry of the other parameters.
    largest: f32,
    /// Parameters whose gradient is zero in exact arithmetic, with their largest entry.
    cancelled: Vec<(String, f32)>,
}

impl<Bk: AutodiffBackend> ModuleVisitor<Bk> for GradientCheck<'_, Bk> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Bk, D>>) {
        if !param.val().is_require_grad() {
            return; // the spectral power-iteration vectors are buffers, not parameters
        }
        self.checked += 1;
        match param.val().grad(self.grads) {
            None => self.problems.push(format!("{}: no gradient", self.path.join("."))),
            Some(g) => {
                let g: Vec<f32> = g.into_data().convert::<f32>().to_vec().unwrap();
                let largest = g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                // RRNet's bias constant is cancelled by the AAFM's row softmax: its
                // gradient is zero up to rounding (model::blocks::adaptive_bias),
                // checked against the largest gradient once all are seen.
                if self.path.join(".").ends_with("bias.output.bias") {
                    self.cancelled.push((self.path.join("."), largest));
                    return;
                }
                self.largest = self.largest.max(largest);
                if !g.iter().all(|v| v.is_finite()) || g.iter().all(|&v| v == 0.0) {
                    self.problems.push(format!("{} {:?}: gradient {g:?}", self.path.join("."), param.shape()));
                }
            }
        }
    }
}

#[test]
fn one_backward_pass_gives_finite_non_zero_gradients_to_every_parameter() {
    let device = Default::default();
    for preset in ["pomo", "rf-te", "lrm-1m", "radar", "lmask", "rrnco", "deep-6x128"] {
        let config = small(preset);
        let policy = config.init::<Ad>(&device);
        // ReZero starts every residual branch at alpha = 0, where only the alphas get
        // a gradient; one training step moves them, and then every weight must.
        let policy = if config.rezero { policy.map(&mut NudgeReZero) } else { policy };
        let insts: Vec<Instance> = instances("VRPBLTW".parse().unwrap(), 8, 2).into_iter().chain(instances("OVRPMBL".parse().unwrap(), 8, 2)).collect();
        let (env, chosen) = greedy(&policy, &config, &insts, 2, &device);
        assert!(env.all_done());
        // The log-likelihood of the greedy solutions (greedy rollouts of one
        // instance coincide, so a shared-baseline advantage would be exactly 0).
        let loss = Tensor::stack::<3>(chosen, 2).sum_dim(2).mean();
        let grads = loss.backward();
        let mut check = GradientCheck::<Ad> { grads: &grads, checked: 0, problems: vec![], path: vec![], largest: 0.0, cancelled: vec![] };
        policy.visit(&mut check);
        assert!(check.checked > 10);
        assert!(check.problems.is_empty(), "{preset}: {:?}", check.problems);
        for (path, g) in &check.cancelled {
            assert!(*g <= 1e-4 * check.largest, "{preset}: {path} has gradient {g}, cancelled in exact arithmetic (largest elsewhere {})", check.largest);
        }
    }
}
