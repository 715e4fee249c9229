//! The anytime search on its own (no policy): feasible on every family from
//! nothing, improving only, within the fleet, deterministic under a seed,
//! never worse from a start than from nothing nor than the start, nor from
//! several starts than from the first; and no policy round after the first
//! started that the time left would not hold.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::{evaluate, Instance, Solution};
use lrm::search::{search, NoPolicy, Reconstruct, Report, SearchOptions};

use crate::common::every_family;

fn run(inst: &Instance, start: Option<&Solution>, iterations: usize, seed: u64) -> Report {
    let options = SearchOptions { iterations: Some(iterations), seed, ..SearchOptions::default() };
    let mut seen = vec![];
    let report = search(inst, start.map_or(&[][..], std::slice::from_ref), &options, &AtomicBool::new(false), &mut NoPolicy, &mut |found, _| {
        seen.push(found.evaluation.cost)
    })
    .unwrap();
    assert_eq!(seen, report.trace.iter().map(|i| i.cost).collect::<Vec<_>>(), "every improvement is reported as it happens");
    report
}

#[test]
fn every_family_gets_a_feasible_solution_from_nothing_and_it_only_improves() {
    for inst in every_family(20, 3) {
        let report = run(&inst, None, 30, 1);
        let best = report.best.unwrap_or_else(|| panic!("{}: no feasible solution", inst.name));
        let eval = evaluate(&inst, &best.solution);
        assert!(eval.is_feasible(), "{}: {:?}", inst.name, eval.violation);
        assert_eq!(eval.cost, best.evaluation.cost);
        assert!(report.trace.windows(2).all(|w| w[1].cost < w[0].cost), "{}: the trace only improves", inst.name);
        assert_eq!(report.trace.last().unwrap().cost, eval.cost);
    }
}

#[test]
fn the_search_is_deterministic_under_its_seed_when_bounded_by_iterations() {
    let inst = GeneratorConfig::new(Problem::Variant("VRPTW".parse().unwrap())).generate_one(40, 5, 0).0;
    let a = run(&inst, None, 60, 9).best.unwrap();
    let b = run(&inst, None, 60, 9).best.unwrap();
    assert_eq!(a.solution, b.solution);
    assert_eq!(a.evaluation.cost, b.evaluation.cost);
}

#[test]
fn a_start_beyond_the_fleet_is_repaired_to_within_it() {
    let mut inst = GeneratorConfig::new(Problem::Variant("CVRP".parse().unwrap())).generate_one(30, 2, 0).0;
    let q = inst.capacity.unwrap();
    let total: f64 = inst.linehaul.iter().sum();
    let vehicles = (total / q).ceil() as usize + 1;
    inst.vehicles = Some(vehicles);
    let alone = Solution::new((1..=30).map(|c| vec![c]).collect());
    assert!(!evaluate(&inst, &alone).is_feasible(), "30 routes exceed the fleet of {vehicles}");
    let best = run(&inst, Some(&alone), 200, 1).best.expect("repaired within the fleet");
    assert!(best.evaluation.routes <= vehicles);
}

/// The cost of the search with no limit (the first descents only) from `start`.
fn unlimited(inst: &Instance, start: Option<&Solution>) -> f64 {
    let report =
        search(inst, start.map_or(&[][..], std::slice::from_ref), &SearchOptions::default(), &AtomicBool::new(false), &mut NoPolicy, &mut |_, _| {}).unwrap();
    report.best.unwrap_or_else(|| panic!("{}: no feasible solution", inst.name)).evaluation.cost
}

#[test]
fn a_start_never_ends_worse_than_the_search_alone_nor_than_itself() {
    for inst in every_family(20, 4) {
        let alone = unlimited(&inst, None);
        // A poor start: the customers in reverse order of their index, one
        // route each (one reversed tour for the TSPs).
        let reversed: Vec<usize> = (1..=inst.num_customers()).rev().collect();
        let poor = match inst.variant.is_tsp() {
            true => Solution::new(vec![reversed]),
            false => Solution::new(reversed.into_iter().map(|c| vec![c]).collect()),
        };
        assert!(unlimited(&inst, Some(&poor)) <= alone, "{}: a poor start ends worse than the search alone", inst.name);
        let good = run(&inst, None, 200, 1).best.unwrap();
        let from_good = unlimited(&inst, Some(&good.solution));
        assert!(from_good <= good.evaluation.cost, "{}: the start's cost {} is lost ({from_good})", inst.name, good.evaluation.cost);
    }
}

#[test]
fn more_starts_never_end_worse_than_the_first_alone() {
    for inst in every_family(30, 6) {
        // Starts of differing quality: the search's own results after a few
        // iterations under different seeds.
        let starts: Vec<Solution> = (1..=4).map(|seed| run(&inst, None, 3, seed).best.unwrap().solution).collect();
        let first = unlimited(&inst, Some(&starts[0]));
        let report = search(&inst, &starts, &SearchOptions::default(), &AtomicBool::new(false), &mut NoPolicy, &mut |_, _| {}).unwrap();
        assert_eq!(report.descended_constructions, starts.len(), "{}: with no limit every start is descended", inst.name);
        let all = report.best.unwrap().evaluation.cost;
        assert!(all <= first, "{}: {all} from {} starts, {first} from the first", inst.name, starts.len());
        let cheapest = starts.iter().map(|s| evaluate(&inst, s).cost).fold(f64::INFINITY, f64::min);
        assert!(all <= cheapest, "{}: {all}, above the cheapest start's {cheapest}", inst.name);
    }
}

/// A policy whose every round takes `round` and proposes nothing.
struct Slow {
    round: Duration,
}

impl Reconstruct for Slow {
    fn propose(&mut self, _: &Solution) -> lrm::error::Result<Vec<Solution>> {
        std::thread::sleep(self.round);
        Ok(vec![])
    }
}

/// The policy's rounds in a 1 s search where it has all of the time, each round taking `round`.
fn rounds_in_one_second(round: Duration) -> usize {
    let inst = GeneratorConfig::new(Problem::Variant("CVRP".parse().unwrap())).generate_one(30, 1, 0).0;
    let options = SearchOptions { time_limit: Some(Duration::from_secs(1)), neural_share: 1.0, ..SearchOptions::default() };
    let report = search(&inst, &[], &options, &AtomicBool::new(false), &mut Slow { round }, &mut |_, _| {}).unwrap();
    assert!(report.best.is_some());
    report.reconstructions
}

#[test]
fn no_policy_round_starts_after_the_first_that_the_time_left_would_not_hold() {
    // Its share would give the policy a second round at 0.7 s; the 1 s limit
    // does not hold one more of 0.7 s.
    assert_eq!(rounds_in_one_second(Duration::from_millis(700)), 1);
}

#[test]
fn policy_rounds_that_fit_in_the_time_left_all_start() {
    // Rounds of 0.1 s fit until about 0.9 s: the guard must not stop them early.
    assert!(rounds_in_one_second(Duration::from_millis(100)) >= 7);
}
