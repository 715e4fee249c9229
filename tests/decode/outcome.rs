//! What an outcome keeps of the rollouts offered to it: the cheapest
//! feasible solution, the next cheapest distinct ones (where `lrm solve`'s
//! search starts its descents), and an infeasible one only while nothing
//! feasible is known.

use lrm::decode::{Outcome, RUNNERS_UP};
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::{evaluate, Instance, Solution};

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

#[test]
fn an_outcome_keeps_the_cheapest_distinct_feasible_solutions_cheapest_first() {
    let inst = cvrp(8);
    let all = candidates(&inst);
    let mut expected: Vec<f64> = vec![];
    for s in &all {
        let eval = evaluate(&inst, s);
        assert!(eval.is_feasible(), "{:?}: {:?}", s.routes, eval.violation);
        let mut sorted = s.routes.clone();
        sorted.sort();
        if !all.iter().take_while(|t| !std::ptr::eq(*t, s)).any(|t| {
            let mut u = t.routes.clone();
            u.sort();
            u == sorted
        }) {
            expected.push(eval.cost);
        }
    }
    expected.sort_by(f64::total_cmp);
    expected.truncate(RUNNERS_UP + 1);
    assert!(expected.len() == RUNNERS_UP + 1, "the test offers more distinct solutions than an outcome keeps");

    let mut outcome = Outcome::default();
    for s in &all {
        outcome.offer(&inst, s.clone());
        // The same routes in another order are the same solution.
        outcome.offer(&inst, Solution::new(s.routes.iter().rev().cloned().collect()));
    }
    assert_eq!(costs(&outcome), expected);
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
    assert_eq!(costs(&first), costs(&whole));
}
