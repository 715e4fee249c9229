//! Scoring against references, mirroring `src/eval`: the gap, datasets with
//! their references, and `lrm eval`'s rows.

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

use lrm::decode::{Found, Outcome};
use lrm::eval::{self, Dataset, Score};
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::io::npz::{write_dataset, write_reference};
use lrm::problem::{evaluate, Instance, Solution};

use common::{data, temp_dir};

fn instances(variant: &str, n: usize, count: usize) -> Vec<Instance> {
    GeneratorConfig::new(Problem::Variant(variant.parse().unwrap())).generate(n, count, 3)
}

/// An outcome whose best solution costs what evaluating `routes` gives.
fn solved(inst: &Instance, routes: Vec<Vec<usize>>) -> Outcome {
    let solution = Solution::new(routes);
    let evaluation = evaluate(inst, &solution);
    Outcome { best: Some(Found { solution, evaluation }), trajectories: 1, ..Outcome::default() }
}

fn one_route_each(inst: &Instance) -> Vec<Vec<usize>> {
    (1..=inst.num_customers()).map(|c| vec![c]).collect()
}

#[test]
fn the_gap_is_relative_to_the_reference_and_negative_when_it_is_beaten() {
    assert_eq!(eval::gap(110.0, 100.0), 10.0);
    assert_eq!(eval::gap(95.0, 100.0), -5.0);
}

#[test]
fn a_dataset_finds_its_reference_beside_it_and_leaves_out_instances_without_one() {
    let dir = temp_dir("eval-dataset");
    let set = instances("CVRP", 5, 4);
    write_dataset(&dir.join("5.npz"), &set).unwrap();
    let costs = [10.0, f64::NAN, 12.0, 13.0];
    write_reference(&dir.join("5_sol_b.npz"), &costs, &[]).unwrap();
    write_reference(&dir.join("5_sol_a.npz"), &[1.0, 2.0, 3.0, 4.0], &[]).unwrap();
    assert_eq!(eval::sibling_reference(&dir.join("5.npz")), Some(dir.join("5_sol_a.npz")));
    let d = Dataset::load(&dir.join("5.npz"), Some(&dir.join("5_sol_b.npz"))).unwrap();
    assert_eq!(d.reference, Some(vec![10.0, 12.0, 13.0]));
    assert_eq!(d.instances.len(), 3);
    assert_eq!(d.instances[1].name, "5-002", "the instance without a reference is the one left out");
    assert_eq!(d.name(), format!("{}5", dir.file_name().unwrap().to_string_lossy()));
}

#[test]
fn a_reference_of_another_length_names_both_files() {
    let dir = temp_dir("eval-length");
    write_dataset(&dir.join("5.npz"), &instances("CVRP", 5, 3)).unwrap();
    write_reference(&dir.join("5_sol_x.npz"), &[1.0, 2.0], &[]).unwrap();
    let err = Dataset::load_beside(&dir.join("5.npz")).unwrap_err().to_string();
    assert!(err.contains("5_sol_x.npz") && err.contains("2 reference costs for 3 instances") && err.contains("5.npz"), "{err}");
}

#[test]
fn scores_count_only_solved_instances_and_report_the_rest_as_infeasible() {
    let set = instances("CVRP", 6, 3);
    let outcomes = vec![solved(&set[0], one_route_each(&set[0])), Outcome::default(), solved(&set[2], one_route_each(&set[2]))];
    let costs: Vec<f64> = [0, 2].iter().map(|&i| outcomes[i].cost().unwrap()).collect();
    let reference = [costs[0] / 1.1, 1.0, costs[1] / 1.3];
    let s = Score::of(&outcomes, Some(&reference), &[0, 1, 2]);
    assert_eq!((s.instances, s.solved), (3, 2));
    assert!((s.gap.unwrap() - 20.0).abs() < 1e-9, "{s:?}");
    assert!((s.mean_cost.unwrap() - (costs[0] + costs[1]) / 2.0).abs() < 1e-12);
    assert!((s.infeasible() - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(Score::of(&outcomes, None, &[0, 2]).value(), s.mean_cost);
}

#[test]
fn rows_go_by_variant_then_size_in_numeric_order() {
    let mut set = instances("VRPTW", 12, 2);
    set.extend(instances("CVRP", 100, 1));
    set.extend(instances("CVRP", 20, 2));
    let outcomes: Vec<Outcome> = set.iter().map(|i| solved(i, one_route_each(i))).collect();
    let d = Dataset { path: data().join("x.npz"), instances: set, reference: None };
    let rows = eval::rows(&d, &outcomes, &vec!["m".to_string(); 5], 5.0);
    let keys: Vec<(String, usize, usize)> = rows.iter().map(|r| (r.variant.clone(), r.size, r.instances)).collect();
    assert_eq!(keys, [("CVRP".into(), 20, 2), ("CVRP".into(), 100, 1), ("VRPTW".into(), 12, 2)]);
    assert!(rows.iter().all(|r| r.gap_percent.is_none() && r.instance_infeasible_percent == 0.0 && r.model == "m"));
    assert!((rows[0].time_s - 2.0).abs() < 1e-12);
}
