//! New route: exact cost changes on every rule family, and the matrix case
//! that a descent without it leaves on two routes.

use lrm::problem::{InstanceData, Solution};
use lrm::search::operators::new_route;
use lrm::search::{Arcs, Routes};

use crate::moves::{check, lists, on_every_family};

#[test]
fn new_route_proposes_exactly_the_improving_feasible_moves_on_every_family() {
    let mut tried = 0;
    let proposed = on_every_family(|s| {
        let Some(spare) = s.spare() else { return 0 };
        let n = s.instance().num_customers();
        let mut proposed = 0;
        for u in 1..=n {
            for v in (1..=n).filter(|&v| v != u) {
                let mut expected: Vec<Vec<usize>> = lists(s).into_iter().map(|r| r.into_iter().filter(|&c| c != u && c != v).collect()).collect();
                expected[spare] = vec![u, v];
                let what = format!("{}: new route [{u}, {v}]", s.instance().name);
                proposed += usize::from(check(s, new_route(s, u, v, spare), expected, &what));
                tried += 1;
            }
        }
        proposed
    });
    assert!(tried > 1000, "pairs were tried: {tried}");
    assert!(proposed > 10, "improving new routes were found: {proposed}");
}

/// `../shared/cases/matrix-cvrp.vrp`: five customers on an explicit
/// symmetric matrix, capacity 10.
fn matrix_case(capacity: f64) -> InstanceData {
    let lower = [[36.0].as_slice(), &[29.0, 7.0], &[36.0, 72.0, 65.0], &[43.0, 79.0, 72.0, 7.0], &[36.0, 51.0, 45.0, 51.0, 55.0]];
    let mut matrix = vec![0.0; 36];
    for (i, row) in lower.iter().enumerate() {
        for (j, &d) in row.iter().enumerate() {
            matrix[(i + 1) * 6 + j] = d;
            matrix[j * 6 + i + 1] = d;
        }
    }
    InstanceData { matrix: Some(matrix), capacity: Some(capacity), linehaul: Some(vec![0.0, 3.0, 4.0, 3.0, 4.0, 5.0]), ..Default::default() }
}

#[test]
fn new_route_leaves_the_matrix_case_local_optimum_by_the_exact_amount() {
    // [2, 1, 3] + [4, 5] = 144 + 134 = 278; [2, 1] + [5] + [3, 4] = 72 + 72 + 86 = 230.
    // With capacity 6, from five single-customer routes: [3, 4] would save 72
    // but carries 7.
    for (capacity, expect) in [(10.0, Some(-48.0)), (6.0, None)] {
        let inst = lrm::problem::Instance::new("CVRP".parse().unwrap(), matrix_case(capacity)).unwrap();
        let arcs = Arcs::new(&inst);
        let routes = if capacity == 10.0 { vec![vec![2, 1, 3], vec![4, 5]] } else { (1..=5).map(|c| vec![c]).collect() };
        let s = Routes::new(&arcs, &Solution::new(routes));
        let spare = s.spare().unwrap();
        assert_eq!(new_route(&s, 3, 4, spare).map(|m| m.delta), expect, "capacity {capacity}: 3 and 4 carry 7");
    }
}

#[test]
fn a_descent_reaches_the_optimum_of_the_matrix_case() {
    let inst = lrm::problem::Instance::new("CVRP".parse().unwrap(), matrix_case(10.0)).unwrap();
    let arcs = Arcs::new(&inst);
    let mut s = Routes::new(&arcs, &Solution::new(vec![vec![2, 1, 3], vec![4, 5]]));
    let neighbours = lrm::search::arcs::neighbours(&inst, 40);
    lrm::search::descent(&mut s, &neighbours, &mut lrm::search::rng(1));
    assert_eq!(s.cost(), 230.0, "{:?}", s.solution());
}
