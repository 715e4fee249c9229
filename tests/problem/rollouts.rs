//! Property tests: random rollouts through the environment on every variant
//! end feasible under `problem::rules` and under the independent checker, at
//! the same cost; solutions broken on purpose are rejected by both, for the
//! same rule.

use std::path::PathBuf;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use lrm::env::Env;
use lrm::problem::generate::{GeneratorConfig, Hardness, Problem};
use lrm::problem::io::{solution, vrplib};
use lrm::problem::variant::all_variants;
use lrm::problem::{evaluate, Instance, Solution, Variant};

use crate::common::{close, rule_of_message, temp_dir, vrpcheck_many};

fn config(v: Variant, hardness: Hardness) -> GeneratorConfig {
    GeneratorConfig { hardness, ..GeneratorConfig::new(Problem::Variant(v)) }
}

/// Variants with a generator: all of them but asymmetric TSPTW/TSPDL.
fn generated_variants() -> Vec<Variant> {
    all_variants().into_iter().filter(|v| !(v.asymmetric && v.is_tsp() && (v.time_windows || v.draft_limit))).collect()
}

/// Drive `per_instance` random rollouts of each instance to the end.
fn random_rollouts(instances: &[Instance], per_instance: usize, rng: &mut impl Rng) -> Env {
    let mut env = Env::new(Arc::from(instances.to_vec()), per_instance);
    let mut steps = 0;
    while !env.all_done() {
        let actions = env.random_actions(rng);
        env.step(&actions).unwrap();
        steps += 1;
        assert!(steps < 10 * instances.iter().map(Instance::num_nodes).max().unwrap(), "rollouts must end");
    }
    env
}

#[test]
fn random_rollouts_are_feasible_for_lrm_and_vrpcheck_alike() {
    let dir = temp_dir("rollouts");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut pairs: Vec<(PathBuf, PathBuf)> = vec![];
    let mut expected: Vec<(String, f64)> = vec![];
    let mut dead_ends = 0;
    for (k, v) in generated_variants().into_iter().enumerate() {
        for (seed, n) in [(1u64, 10usize), (2, 37), (3, 100)] {
            let instances = config(v, Hardness::Hard).generate(n, 3, seed + 100 * k as u64);
            let env = random_rollouts(&instances, 4, &mut rng);
            for r in 0..env.num_rollouts() {
                let inst = env.instance_of(r);
                let roll = env.rollout(r);
                if roll.is_dead_end() {
                    // Random tours may paint themselves into a corner on the TSP
                    // family's windows and draft limits; a route-based variant never
                    // does, since every customer fits a route of its own.
                    assert!(v.is_tsp(), "{v}: a capacitated rollout hit a dead end");
                    dead_ends += 1;
                    continue;
                }
                let sol = roll.solution();
                let eval = evaluate(inst, &sol);
                assert!(eval.is_feasible(), "{v} n={n}: {:?} for {sol:?}", eval.violation);
                assert!(close(eval.cost, roll.cost(inst)), "{v}: env cost {} vs evaluated {}", roll.cost(inst), eval.cost);
                if r % 4 == 0 {
                    let stem = dir.join(format!("{}-{r}", inst.name));
                    let (ip, sp) = (stem.with_extension("vrp"), stem.with_extension("sol"));
                    vrplib::write(&ip, inst).unwrap();
                    solution::write(&sp, &sol, eval.cost).unwrap();
                    pairs.push((ip, sp));
                    expected.push((format!("{v} {}", inst.name), eval.cost));
                }
            }
        }
    }
    let verdicts = vrpcheck_many(&pairs).unwrap_or_default();
    for ((what, cost), verdict) in expected.iter().zip(&verdicts) {
        assert_eq!(verdict.feasible, Some(true), "{what}: vrpcheck says {verdict:?}");
        assert!(close(verdict.cost.unwrap(), *cost), "{what}: vrpcheck cost {:?}, lrm {cost}", verdict.cost);
    }
    assert!(pairs.len() > 150, "checked {} solutions with vrpcheck", pairs.len());
    assert!(dead_ends < expected.len(), "most rollouts complete");
}

/// A solution of `inst` that breaks `rule`, found by perturbing feasible
/// rollouts: a random short route of unserved customers spliced into singletons.
fn breaking(inst: &Instance, rule: &str, rng: &mut impl Rng) -> Option<Solution> {
    let n = inst.num_customers();
    for _ in 0..2000 {
        let mut order: Vec<usize> = (1..=n).collect();
        order.shuffle(rng);
        let sol = if inst.variant.is_tsp() {
            Solution::new(vec![order])
        } else {
            let len = rng.random_range(2..=n.min(12));
            let mut routes = vec![order[..len].to_vec()];
            routes.extend(order[len..].iter().map(|&c| vec![c]));
            Solution::new(routes)
        };
        if evaluate(inst, &sol).violation.is_some_and(|v| v.rule() == rule) {
            return Some(sol);
        }
    }
    None
}

#[test]
fn broken_solutions_are_rejected_by_both_checkers_for_the_same_rule() {
    let dir = temp_dir("violations");
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let cases: [(&str, &str, Hardness); 9] = [
        ("CVRP", "capacity", Hardness::Hard),
        ("VRPB", "precedence", Hardness::Hard),
        ("VRPMB", "capacity", Hardness::Hard),
        ("VRPTW", "time-window", Hardness::Hard),
        ("OVRPTW", "time-window", Hardness::Hard),
        ("VRPL", "distance-limit", Hardness::Hard),
        ("TSPTW", "time-window", Hardness::Hard),
        ("TSPDL", "draft-limit", Hardness::Hard),
        ("ACVRP", "capacity", Hardness::Hard),
    ];
    let mut pairs = vec![];
    let mut rules = vec![];
    for (name, rule, hardness) in cases {
        let v: Variant = name.parse().unwrap();
        let mut found = 0;
        for (i, inst) in config(v, hardness).generate(20, 12, 5).into_iter().enumerate() {
            let Some(sol) = breaking(&inst, rule, &mut rng) else { continue };
            let stem = dir.join(format!("{name}-{i}"));
            let (ip, sp) = (stem.with_extension("vrp"), stem.with_extension("sol"));
            vrplib::write(&ip, &inst).unwrap();
            solution::write(&sp, &sol, evaluate(&inst, &sol).cost).unwrap();
            pairs.push((ip, sp));
            rules.push((name, rule));
            found += 1;
        }
        assert!(found >= 3, "{name}: found only {found} solutions breaking {rule}");
    }
    for ((name, rule), verdict) in rules.iter().zip(vrpcheck_many(&pairs).unwrap_or_default()) {
        assert_eq!(verdict.feasible, Some(false), "{name}: vrpcheck accepts a solution lrm rejects for {rule}");
        let theirs = rule_of_message(verdict.violation.as_deref().unwrap());
        assert_eq!(theirs, *rule, "{name}: vrpcheck says {:?}", verdict.violation);
    }
}
