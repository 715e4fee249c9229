//! The batched environment: masks by RouteFinder's conventions, multi-start
//! resets, snapshots, selection, context, and errors on masked actions.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use lrm::env::{Env, Forbidden};
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::io::read_instance;
use lrm::problem::{Instance, Rule};

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::data;

fn instances(name: &str, n: usize, count: usize) -> Arc<[Instance]> {
    Arc::from(GeneratorConfig::new(Problem::Variant(name.parse().unwrap())).generate(n, count, 21))
}

fn run_to_end(env: &mut Env, rng: &mut ChaCha8Rng) {
    while !env.all_done() {
        let a = env.random_actions(rng);
        env.step(&a).unwrap();
    }
}

#[test]
fn the_depot_is_masked_at_the_depot_while_a_customer_is_feasible() {
    let env = Env::new(instances("CVRP", 10, 2), 3);
    for r in 0..env.num_rollouts() {
        let row = env.mask_row(r);
        assert!(!row[0], "at the start the depot is masked");
        assert!(row[1..].iter().all(|&m| m), "every customer fits an empty vehicle");
    }
}

#[test]
fn multi_start_resets_visit_the_chosen_first_customers() {
    let mut env = Env::new(instances("VRPBLTW", 20, 2), 20);
    let first: Vec<usize> = (0..40).map(|r| r % 20 + 1).collect();
    env.reset(Some(&first)).unwrap();
    let ctx = env.context();
    assert_eq!(ctx.current, first);
    for (r, &f) in first.iter().enumerate() {
        assert!(!env.mask_row(r)[f], "a visited customer is masked");
        assert!(env.mask_row(r)[0], "away from the depot it may always return");
        assert!(ctx.time[r] > 0.0 && ctx.remaining_distance[r].is_finite() && ctx.available_load[r] <= 30.0);
    }
}

#[test]
fn masked_actions_are_errors_that_change_nothing() {
    let mut env = Env::new(instances("CVRP", 10, 1), 2);
    let before = env.snapshot();
    let err = env.step(&[0, 3]).unwrap_err().to_string();
    assert!(err.contains("rollout 0 may not go to node 0"), "{err}");
    assert_eq!(env.snapshot(), before);
    env.step(&[3, 4]).unwrap();
    let err = env.step(&[3, 5]).unwrap_err().to_string();
    assert!(err.contains("Visited"), "{err}");
}

#[test]
fn a_rule_that_forbids_a_customer_is_named() {
    let inst = read_instance(&data().join("checker/vrptw.vrp"), None).unwrap();
    let mut env = Env::new(Arc::from(vec![inst]), 1);
    // Customer 3 (window [0, 6]) after customer 2 (reached at 10) is too late.
    env.step(&[2]).unwrap();
    let inst = env.instance_of(0).clone();
    assert_eq!(env.rollout(0).check(&inst, 3), Err(Forbidden::Rule(Rule::TimeWindow)));
    assert!(!env.mask_row(0)[3]);
}

#[test]
fn snapshot_and_restore_replay_exactly() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut env = Env::new(instances("OVRPMBLTW", 30, 3), 4);
    for _ in 0..5 {
        let a = env.random_actions(&mut rng);
        env.step(&a).unwrap();
    }
    let snap = env.snapshot();
    let mut replay = rng.clone();
    run_to_end(&mut env, &mut rng);
    let first = (env.solutions(), env.costs());
    env.restore(&snap);
    run_to_end(&mut env, &mut replay);
    assert_eq!((env.solutions(), env.costs()), first);
}

#[test]
fn select_keeps_chosen_rollouts_per_instance() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut env = Env::new(instances("VRPTW", 15, 2), 3);
    for _ in 0..4 {
        let a = env.random_actions(&mut rng);
        env.step(&a).unwrap();
    }
    let sols = env.solutions();
    env.select(&[2, 2, 0, 4, 3, 5]).unwrap();
    assert_eq!(env.per_instance(), 3);
    let kept = env.solutions();
    assert_eq!(kept, vec![sols[2].clone(), sols[2].clone(), sols[0].clone(), sols[4].clone(), sols[3].clone(), sols[5].clone()]);
    env.select(&[1, 4]).unwrap();
    assert_eq!(env.per_instance(), 1);
    assert!(env.select(&[3, 0]).is_err(), "index 3 is not a rollout of instance 0");
    run_to_end(&mut env, &mut rng);
}

#[test]
fn a_batch_may_mix_sizes_and_variants() {
    let mut all: Vec<Instance> = instances("CVRP", 10, 1).to_vec();
    all.extend(instances("TSPTW", 25, 1).iter().cloned());
    all.extend(instances("OVRPL", 5, 1).iter().cloned());
    let mut env = Env::new(Arc::from(all), 2);
    assert_eq!(env.width(), 26);
    assert!(env.mask_row(4)[6..].iter().all(|&m| !m), "padding is never allowed");
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    run_to_end(&mut env, &mut rng);
    let done = env.done();
    assert!(done.iter().all(|&d| d));
}

#[test]
fn tsp_tours_close_only_at_the_end_and_dead_ends_are_reported() {
    let mut env = Env::new(instances("TSP", 6, 1), 1);
    env.step(&[1]).unwrap();
    assert!(!env.mask_row(0)[0], "a TSP tour cannot close early");
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    run_to_end(&mut env, &mut rng);
    assert_eq!(env.rollout(0).solution().routes.len(), 1);
    // Hard TSPTW: uniformly random tours run into windows that have closed.
    let mut env = Env::new(instances("TSPTW", 49, 8), 8);
    run_to_end(&mut env, &mut rng);
    let dead = (0..env.num_rollouts()).filter(|&r| env.rollout(r).is_dead_end()).count();
    assert!(dead > 0, "random decoding hits dead ends on hard TSPTW");
    for r in (0..env.num_rollouts()).filter(|&r| env.rollout(r).is_dead_end()) {
        assert!(env.mask_row(r)[0], "a finished rollout allows only the no-op");
    }
}

#[test]
fn rollouts_never_use_more_vehicles_than_the_fleet() {
    let mut inst = read_instance(&data().join("benchmarks/vrptw/C101.vrp"), None).unwrap();
    inst.vehicles = Some(12);
    let mut env = Env::new(Arc::from(vec![inst]), 64);
    run_to_end(&mut env, &mut ChaCha8Rng::seed_from_u64(4));
    for r in 0..env.num_rollouts() {
        let roll = env.rollout(r);
        let routes = roll.actions().iter().filter(|&&a| a == 0).count();
        assert!(routes <= 12, "rollout {r}: {routes} routes");
        assert!(roll.is_dead_end() || lrm::problem::evaluate(env.instance_of(r), &roll.solution()).is_feasible());
    }
    let last_vehicle = (0..env.num_rollouts()).any(|r| env.rollout(r).is_dead_end());
    assert!(last_vehicle, "twelve vehicles for C101 leave random rollouts stuck");
}

#[test]
fn rewind_and_step_some_move_only_the_rollouts_asked() {
    let mut env = Env::new(instances("CVRP", 10, 2), 2);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..4 {
        let a = env.random_actions(&mut rng);
        env.step(&a).unwrap();
    }
    let before = env.snapshot();
    let held: Vec<usize> = env.rollout(1).actions().to_vec();
    let moves: Vec<Option<usize>> = env.random_actions(&mut rng).into_iter().enumerate().map(|(r, a)| (r != 1).then_some(a)).collect();
    env.step_some(&moves).unwrap();
    assert_eq!(env.rollout(1).actions(), &held[..]);
    env.rewind(0, 4);
    env.rewind(2, 4);
    env.rewind(3, 4);
    assert_eq!(env.snapshot(), before, "rewinding to 4 steps restores the state and the masks");
}

#[test]
fn rewinding_a_dead_end_gives_the_state_and_mask_of_the_same_steps_taken_afresh() {
    let mut inst = read_instance(&data().join("benchmarks/vrptw/C101.vrp"), None).unwrap();
    inst.vehicles = Some(12);
    let instances: Arc<[Instance]> = Arc::from(vec![inst]);
    let mut env = Env::new(instances.clone(), 16);
    run_to_end(&mut env, &mut ChaCha8Rng::seed_from_u64(6));
    let dead: Vec<usize> = (0..env.num_rollouts()).filter(|&r| env.rollout(r).is_dead_end()).collect();
    assert!(!dead.is_empty(), "twelve vehicles for C101 leave random rollouts stuck");
    for r in dead {
        for back in [1, 5, 30] {
            let keep = env.rollout(r).actions().len().saturating_sub(back);
            let steps = env.rollout(r).actions()[..keep].to_vec();
            let before = env.snapshot();
            env.rewind(r, keep);
            let mut fresh = Env::new(instances.clone(), 1);
            for &a in &steps {
                fresh.step(&[a]).unwrap();
            }
            assert_eq!(env.rollout(r), fresh.rollout(0), "rollout {r} rewound by {back}");
            assert_eq!(env.mask_row(r), fresh.mask_row(0), "rollout {r} rewound by {back}: its mask");
            env.restore(&before);
        }
    }
}

/// Depot at the origin, customers at x = 1, 2, 3; customer 3 closes at 3.
fn line_tsptw() -> Instance {
    let data = lrm::problem::InstanceData {
        coords: Some((0..=3).map(|i| [i as f64, 0.0]).collect()),
        rounding: Some(lrm::problem::Rounding::Exact),
        time_windows: Some(vec![[0.0, 100.0], [0.0, 100.0], [0.0, 100.0], [0.0, 3.0]]),
        ..Default::default()
    };
    Instance::new("TSPTW".parse().unwrap(), data).unwrap()
}

#[test]
fn a_relaxed_rollout_finishes_its_tour_and_measures_what_it_overran() {
    let mut env = Env::new(Arc::from(vec![line_tsptw()]), 1);
    env.step(&[2]).unwrap();
    env.step(&[1]).unwrap();
    assert!(env.rollout(0).is_dead_end(), "customer 3 can no longer be reached by 3");
    env.relax(0).unwrap();
    assert!(!env.rollout(0).is_done() && env.mask_row(0) == [false, false, false, true]);
    env.step(&[3]).unwrap();
    assert_eq!(env.mask_row(0), [true, false, false, false], "every customer visited: home");
    env.step(&[0]).unwrap();
    let roll = env.rollout(0);
    assert!(roll.is_done() && roll.is_relaxed() && !roll.is_dead_end());
    assert_eq!((roll.overrun(), roll.violations()), (2.0, 1), "customer 3 reached at 5, window closed at 3");
    assert_eq!(roll.cost(&line_tsptw()), 8.0);
    let violation = lrm::problem::evaluate(&line_tsptw(), &roll.solution()).violation.expect("a relaxed tour breaks the window");
    assert_eq!(violation.rule(), Rule::TimeWindow.name());
    // Capacitated fleets have no relaxed mode.
    let mut cvrp = Env::new(instances("CVRP", 5, 1), 1);
    assert!(cvrp.relax(0).unwrap_err().to_string().contains("single-tour"));
}
