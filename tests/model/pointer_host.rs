//! The fused CPU step (`model::pointer_host`) against the Burn step it
//! replaces at inference: the same log-probabilities within 1e-5 (relative
//! below -1) on every
//! variant, for every pointer preset, with and without LMask's refinement
//! input; masked nodes at probability 0; greedy picks the Burn argmax.

use std::sync::Arc;

use burn::backend::Flex;
use burn::tensor::Tensor;

use lrm::env::Env;
use lrm::model::features::{Features, Refinement, REFINEMENT_LEVELS};
use lrm::model::pointer_host::{HostPointer, StepRows};
use lrm::model::{Encoding, ModelConfig, Policy};
use lrm::problem::variant::all_variants;
use lrm::problem::{Instance, Variant};

use super::policy::instances;
use crate::common::small_config as small;

type B = Flex;

/// Within 1e-5, relative for log-probabilities below -1 (float rounding of
/// sums in another order, and the kernel's own `exp`, 2 ulp).
fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5 * a.abs().max(1.0)
}

fn host(encoding: &Encoding<B>) -> HostPointer {
    match encoding {
        Encoding::Pointer(cache) => HostPointer::new(cache),
        _ => panic!("a pointer preset"),
    }
}

/// Greedy rollouts of `config` on `variant`, comparing the two steps at every step.
fn compare(config: &ModelConfig, variant: Variant, refinement_levels: bool) -> usize {
    let device = Default::default();
    let policy = config.init::<B>(&device);
    let insts = instances(variant, 9, 3);
    let features = Features::<B>::for_model(&insts, config, &device);
    let encoding = policy.encode(&features);
    let fused = host(&encoding);
    let mut env = Env::new(Arc::from(insts), 4);
    let (w, n) = (env.width(), env.num_rollouts());
    let mut compared = 0;
    let mut step = 0;
    while !env.all_done() {
        let refinement = config.refinement_intensity.then(|| {
            let mut r = Refinement::none(n);
            if refinement_levels {
                r.levels = (0..n).map(|k| (k + step) % (REFINEMENT_LEVELS + 1)).collect();
                r.budget_spent = (0..n).map(|k| (k + step) % 3 == 0).collect();
            }
            r
        });
        let burn: Tensor<B, 3> = policy.step(&encoding, policy.step_input(&features, &env, env.mask(), refinement.as_ref(), &device));
        let burn: Vec<f32> = burn.into_data().convert::<f32>().to_vec().unwrap();
        let context = features.context_rows(&env.context(), env.per_instance(), refinement.as_ref());
        let current = env.current_nodes();
        let rows = StepRows { per_instance: env.per_instance(), current: &current, context: &context, allowed: env.mask() };
        let mine = fused.log_probs(&rows);
        let chosen = fused.greedy(&rows);
        for r in 0..n {
            for j in 0..w {
                let (a, b) = (burn[r * w + j], mine[r * w + j]);
                if env.mask_row(r)[j] {
                    assert!(close(a, b), "{variant}: step {step} rollout {r} node {j}: Burn {a}, fused {b}");
                    compared += 1;
                } else {
                    assert_eq!(b.exp(), 0.0, "{variant}: masked node {j} has probability {}", b.exp());
                }
            }
            let row = &burn[r * w..(r + 1) * w];
            let best = (0..w).filter(|&j| env.mask_row(r)[j]).map(|j| row[j]).fold(f32::NEG_INFINITY, f32::max);
            assert!(row[chosen[r]] >= best - 1e-5, "{variant}: greedy chose {} ({}) over a best of {best}", chosen[r], row[chosen[r]]);
        }
        // Rollouts of one instance take different nodes, so that the rollouts
        // stepped together by the fused kernel differ in node, context and mask.
        env.step(&spread(&env, step)).unwrap();
        step += 1;
    }
    compared
}

#[test]
fn the_fused_step_gives_the_burn_steps_log_probabilities_on_every_variant() {
    let variants: Vec<Variant> = all_variants().into_iter().filter(|v| !(v.asymmetric && v.is_tsp() && (v.time_windows || v.draft_limit))).collect();
    for preset in ["pomo", "rf-te", "lrm-1m", "radar"] {
        let config = small(preset);
        let compared: usize = variants.iter().map(|&v| compare(&config, v, false)).sum();
        assert!(compared > 1000, "{preset}: only {compared} log-probabilities compared");
    }
}

#[test]
fn the_fused_step_reads_lmasks_refinement_input() {
    let config = small("lmask");
    assert!(config.refinement_intensity);
    for v in ["TSPTW", "TSPDL"] {
        let v: Variant = v.parse().unwrap();
        compare(&config, v, false);
        compare(&config, v, true);
    }
}

#[test]
fn the_fused_step_matches_at_full_width() {
    // The preset's own sizes: 128 wide, 8 pointer heads; node tiles of 64 and
    // a tail of 16, 32 or 48 (71, 91 and 101 nodes).
    let config = ModelConfig { n_layers: 1, ..ModelConfig::preset("pomo").unwrap() };
    let variant: Variant = "VRPBLTW".parse().unwrap();
    let device = Default::default();
    let policy = config.init::<B>(&device);
    for customers in [70, 90, 100] {
        full_width_steps(&policy, &config, instances(variant, customers, 2));
    }
}

/// Five steps of three rollouts per instance, the fused step against Burn's.
fn full_width_steps(policy: &Policy<B>, config: &ModelConfig, insts: Vec<Instance>) {
    let device = Default::default();
    let features = Features::<B>::new(&insts, config.svd_rank, &device);
    let encoding = policy.encode(&features);
    let fused = host(&encoding);
    let mut env = Env::new(Arc::from(insts), 3);
    for step in 0..5 {
        let burn: Vec<f32> =
            policy.step(&encoding, policy.step_input(&features, &env, env.mask(), None, &device)).into_data().convert::<f32>().to_vec().unwrap();
        let context = features.context_rows(&env.context(), 3, None);
        let current = env.current_nodes();
        let rows = StepRows { per_instance: 3, current: &current, context: &context, allowed: env.mask() };
        let mine = fused.log_probs(&rows);
        for (k, (&a, &b)) in burn.iter().zip(&mine).enumerate() {
            if env.mask()[k] {
                assert!(close(a, b), "entry {k}: Burn {a}, fused {b}");
            }
        }
        let chosen = fused.greedy(&rows);
        assert!(chosen.iter().enumerate().all(|(r, &j)| env.mask_row(r)[j]));
        env.step(&spread(&env, step)).unwrap();
    }
}

/// An allowed node for every rollout, a different one for each rollout of an instance where possible.
fn spread(env: &Env, step: usize) -> Vec<usize> {
    (0..env.num_rollouts())
        .map(|r| {
            let allowed: Vec<usize> = (0..env.width()).filter(|&j| env.mask_row(r)[j]).collect();
            allowed[(r * 7 + step) % allowed.len()]
        })
        .collect()
}
