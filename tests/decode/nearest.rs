//! The nearest-neighbour baseline, mirroring `src/decode/nearest.rs`.

use lrm::decode::{self, nearest, DecodeOptions, Starts, Strategy};
use lrm::model::ModelConfig;
use lrm::problem::evaluate;
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::io::read_instance;
use lrm::problem::variant::all_variants;

use crate::common::{close, data};

#[test]
fn it_takes_the_nearest_customer_that_fits_and_closes_a_route_only_when_none_does() {
    // From the depot: 2 (29), then 1 (7); 4 and 5 no longer fit, so 3 (load
    // 10), then back (36): 144. Then 5 (36, nearer than 4's 43), 4 (55) and
    // back (43): 134. The optimum beside the file is 230.
    let inst = read_instance(&data().join("cases/matrix-cvrp.vrp"), None).unwrap();
    let outcome = nearest::decode(std::slice::from_ref(&inst)).unwrap().remove(0);
    let found = outcome.best.expect("feasible");
    assert_eq!(found.solution.routes, vec![vec![2, 1, 3], vec![5, 4]]);
    assert!(close(found.evaluation.cost, 278.0), "{}", found.evaluation.cost);
}

#[test]
fn every_solution_it_gives_the_rules_accept_at_its_cost() {
    // Only time windows (and draft limits on one tour) can lead a
    // nearest-neighbour rollout into a dead end; it is then reported as one.
    for v in all_variants() {
        let mut g = GeneratorConfig::new(Problem::Variant(v));
        g.asymmetric = v.asymmetric;
        let instances = g.generate(15, 4, 7);
        for (inst, o) in instances.iter().zip(nearest::decode(&instances).unwrap()) {
            let Some(found) = o.best else {
                assert!((v.time_windows || v.draft_limit) && o.dead_ends == 1, "{v}: no solution and {} dead ends", o.dead_ends);
                continue;
            };
            let check = evaluate(inst, &found.solution);
            assert!(check.violation.is_none() && close(check.cost, found.evaluation.cost), "{v}: {check:?}");
        }
    }
}

#[test]
fn decode_solve_runs_it_without_the_policy_and_refuses_what_it_cannot_do() {
    let instances = GeneratorConfig::new(Problem::Variant("CVRP".parse().unwrap())).generate(12, 3, 2);
    let config = ModelConfig::preset("pomo").unwrap();
    let policy =
        ModelConfig { d_model: 16, n_heads: 2, n_layers: 1, d_ff: 16, pointer_heads: 2, ..config.clone() }.init::<burn::backend::Flex>(&Default::default());
    let options = DecodeOptions { strategy: Strategy::Nearest, ..DecodeOptions::default() };
    let direct: Vec<_> = nearest::decode(&instances).unwrap().into_iter().map(|o| o.cost()).collect();
    let through: Vec<_> = decode::solve(&policy, &config, &instances, &options, &Default::default()).unwrap().into_iter().map(|o| o.cost()).collect();
    assert_eq!(direct, through);
    for bad in [DecodeOptions { starts: Starts::All, ..options.clone() }, DecodeOptions { augment: true, ..options.clone() }] {
        assert!(bad.validate().unwrap_err().contains("nearest-neighbour"));
    }
}
