//! `Instance`: rebuilt from its own data, and its tabulated distances equal
//! to the rule's to the bit.

use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::instance::MAX_TABULATED_NODES;
use lrm::problem::{Instance, InstanceData, Rounding, Variant};

fn generated(variant: &str, n: usize, asymmetric: bool) -> Instance {
    let mut g = GeneratorConfig::new(Problem::Variant(variant.parse::<Variant>().unwrap()));
    g.asymmetric = asymmetric;
    g.generate(n, 1, 11).remove(0)
}

fn assert_same_distances(a: &Instance, b: &Instance, what: &str) {
    for i in 0..a.num_nodes() {
        for j in 0..a.num_nodes() {
            assert_eq!(a.distance(i, j).to_bits(), b.distance(i, j).to_bits(), "{what}: distance {i} -> {j}");
            assert_eq!(a.travel_time(i, j).to_bits(), b.travel_time(i, j).to_bits(), "{what}: travel time {i} -> {j}");
        }
    }
}

#[test]
fn an_instance_builds_again_from_its_own_data() {
    for (variant, asymmetric) in [("CVRP", false), ("OVRPBLTW", false), ("VRPMBTW", false), ("TSPDL", false), ("ACVRP", true)] {
        let inst = generated(variant, 20, asymmetric);
        let again = Instance::new(inst.variant, inst.to_data()).unwrap();
        assert_eq!(format!("{inst:?}"), format!("{again:?}"), "{variant}");
    }
}

#[test]
fn tabulated_distances_are_the_rules_to_the_bit() {
    let cvrp = generated("CVRP", 30, false);
    // Coordinates with fractions, so that every rule rounds.
    let coords: Vec<[f64; 2]> = cvrp.coords.clone().unwrap().iter().map(|p| [p[0] * 997.3, p[1] * 613.7]).collect();
    for rule in [Rounding::Exact, Rounding::Nint, Rounding::Ceil, Rounding::Trunc1] {
        let data = InstanceData { coords: Some(coords.clone()), rounding: Some(rule), ..cvrp.to_data() };
        let inst = Instance::new(cvrp.variant, data).unwrap();
        let table = inst.tabulated();
        assert!(table.is_tabulated() && !inst.is_tabulated(), "{rule}: 31 nodes tabulated, the original left as it was");
        assert_same_distances(&inst, &table, &format!("{rule}"));
        assert_same_distances(&inst, &table.clone(), &format!("{rule}, a clone"));
    }
    let matrix = generated("ACVRP", 20, true);
    assert!(!matrix.tabulated().is_tabulated(), "a matrix is its own table");
    assert_same_distances(&matrix, &matrix.tabulated(), "matrix");
}

#[test]
fn instances_above_the_limit_compute_their_distances_as_they_go() {
    let large = generated("CVRP", MAX_TABULATED_NODES, false);
    assert_eq!(large.num_nodes(), MAX_TABULATED_NODES + 1);
    assert!(!large.tabulated().is_tabulated(), "no table past {MAX_TABULATED_NODES} nodes");
    let below = generated("CVRP", MAX_TABULATED_NODES - 1, false);
    assert!(below.tabulated().is_tabulated(), "a table up to {MAX_TABULATED_NODES} nodes");
}
