//! What an outcome keeps of the rollouts offered to it: the cheapest
//! feasible solution, the next cheapest distinct ones (where `lrm solve`'s
//! search starts its descents, kept by decoding only when asked), and an
//! infeasible one only while nothing feasible is known.

use lrm::decode::{self, DecodeOptions, Outcome, Starts, RUNNERS_UP};
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::{evaluate, Instance, Solution};

use crate::common::{assert_close, small_policy};

fn cvrp(n: usize) -> Instance {
    GeneratorConfig::new(Problem::Variant("CVRP".parse().unwrap())).generate_one(n, 4, 0).0
}

/// Distinct solutions of `inst`: the customers in ten different orders,
/// cut into routes of one, two or three.
fn candidates(inst: &Instance) -> Vec<Solution> {
    let n = inst.num_customers();
    let mut out = vec![];
    for m in 1..=10 {
        let mut order: Vec<usize> = (1..=n).collect();
        order.sort_by_key(|&c| c * m % 11);
        for size in 1..=3 {
            out.push(Solution::new(order.chunks(size).map(<[usize]>::to_vec).collect()));
        }
    }
    out
}

fn costs(outcome: &Outcome) -> Vec<f64> {
    outcome.best.iter().chain(&outcome.runners_up).map(|f| f.evaluation.cost).collect()
}

/// `s`'s routes each in its smaller direction, sorted: one solution, however written.
fn canonical(s: &Solution) -> Vec<Vec<usize>> {
    let mut routes: Vec<Vec<usize>> = s.routes.iter().map(|r| r.clone().min(r.iter().rev().copied().collect())).collect();
    routes.sort();
    routes
}

#[test]
fn an_outcome_keeps_the_cheapest_distinct_feasible_solutions_cheapest_first() {
    let inst = cvrp(8);
    let all = candidates(&inst);
    let mut distinct: Vec<(Vec<Vec<usize>>, f64)> = vec![];
    for s in &all {
        let eval = evaluate(&inst, s);
        assert!(eval.is_feasible(), "{:?}: {:?}", s.routes, eval.violation);
        if !distinct.iter().any(|(c, _)| *c == canonical(s)) {
            distinct.push((canonical(s), eval.cost));
        }
    }
    let mut expected: Vec<f64> = distinct.iter().map(|(_, cost)| *cost).collect();
    expected.sort_by(f64::total_cmp);
    expected.truncate(RUNNERS_UP + 1);
    assert!(expected.len() == RUNNERS_UP + 1, "the test offers more distinct solutions than an outcome keeps");

    let mut outcome = Outcome::default();
    for s in &all {
        outcome.offer(&inst, s.clone());
        // The same routes in another order or direction are the same solution.
        outcome.offer(&inst, Solution::new(s.routes.iter().rev().cloned().collect()));
        outcome.offer(&inst, Solution::new(s.routes.iter().map(|r| r.iter().rev().copied().collect()).collect()));
    }
    // Equal but for the order of summing the routes.
    assert_close("kept costs", &costs(&outcome), &expected, 1e-12);
    let kept: Vec<Vec<Vec<usize>>> = outcome.best.iter().chain(&outcome.runners_up).map(|f| canonical(&f.solution)).collect();
    assert!(kept.iter().enumerate().all(|(i, c)| !kept[..i].contains(c)), "no solution kept twice");
    assert!(outcome.fallback.is_none());
}

#[test]
fn offer_says_whether_the_solution_is_the_new_best() {
    let inst = cvrp(8);
    let all = candidates(&inst);
    let mut outcome = Outcome::default();
    for s in &all {
        let before = outcome.cost();
        let cost = evaluate(&inst, s).cost;
        assert_eq!(outcome.offer(&inst, s.clone()), before.is_none_or(|b| cost < b));
    }
}

#[test]
fn an_infeasible_solution_is_kept_only_until_a_feasible_one_comes() {
    let mut inst = cvrp(8);
    inst.vehicles = Some(3);
    let eight_routes = Solution::new((1..=8).map(|c| vec![c]).collect());
    let mut outcome = Outcome::default();
    assert!(!outcome.offer(&inst, eight_routes.clone()));
    assert_eq!(outcome.shown().map(|f| &f.solution), Some(&eight_routes), "reported, never hidden");
    assert!(outcome.best.is_none() && outcome.runners_up.is_empty());

    let three_routes = Solution::new(vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8]]);
    assert!(evaluate(&inst, &three_routes).is_feasible());
    assert!(outcome.offer(&inst, three_routes.clone()));
    assert!(outcome.fallback.is_none());
    outcome.offer(&inst, eight_routes);
    assert!(outcome.fallback.is_none() && outcome.runners_up.is_empty(), "an infeasible solution is no runner-up");
    assert_eq!(outcome.shown().map(|f| &f.solution), Some(&three_routes));
}

#[test]
fn merging_keeps_the_cheapest_distinct_solutions_of_both() {
    let inst = cvrp(8);
    let all = candidates(&inst);
    let (mut whole, mut first, mut second) = (Outcome::default(), Outcome::default(), Outcome::default());
    for (k, s) in all.iter().enumerate() {
        whole.offer(&inst, s.clone());
        let half = if k % 2 == 0 { &mut first } else { &mut second };
        half.offer(&inst, s.clone());
    }
    // Both halves hold the solution offered twice: it is kept once.
    second.offer(&inst, all[0].clone());
    first.merge(second);
    assert_close("merged costs", &costs(&first), &costs(&whole), 1e-12);
}

#[test]
fn decoding_keeps_the_runners_up_only_when_asked() {
    let (config, policy) = small_policy("rf-te");
    let insts: Vec<Instance> = (0..3).map(|k| GeneratorConfig::new(Problem::Variant("CVRP".parse().unwrap())).generate_one(12, 5, k).0).collect();
    let options = DecodeOptions { starts: Starts::All, ..DecodeOptions::default() };
    let device = Default::default();
    let plain = decode::solve(&policy, &config, &insts, &options, &device).unwrap();
    let kept = decode::solve(&policy, &config, &insts, &DecodeOptions { runners_up: true, ..options }, &device).unwrap();
    for (p, k) in plain.iter().zip(&kept) {
        assert!(p.runners_up.is_empty());
        assert_eq!(p.best, k.best, "the same best either way");
        assert!(!k.runners_up.is_empty(), "12 starts give more than one distinct solution");
        assert!(k.runners_up.iter().all(|f| f.evaluation.is_feasible() && f.evaluation.cost >= k.cost().unwrap()));
    }
}
