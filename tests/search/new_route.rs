//! New route: exact cost changes on every rule family, the matrix case
//! that a descent without it leaves on two routes, and a descent that tries
//! it when either customer's route changed.

use lrm::problem::io::read_instance;
use lrm::problem::{Instance, InstanceData, Solution};
use lrm::search::arcs::neighbours;
use lrm::search::operators::new_route;
use lrm::search::{descent, rng, Arcs, Move, Routes};

use crate::common::data;
use crate::moves::{check, lists, on_every_family};

/// Every route of `s` with `u` and `v` taken out, and `[u, v]` on the spare.
fn plainly(s: &Routes, u: usize, v: usize, spare: usize) -> Vec<Vec<usize>> {
    let mut expected: Vec<Vec<usize>> = lists(s).into_iter().map(|r| r.into_iter().filter(|&c| c != u && c != v).collect()).collect();
    expected[spare] = vec![u, v];
    expected
}

#[test]
fn new_route_proposes_exactly_the_improving_feasible_moves_on_every_family() {
    let mut tried = 0;
    let proposed = on_every_family(|s| {
        let Some(spare) = s.spare() else { return 0 };
        let n = s.instance().num_customers();
        let mut proposed = 0;
        for u in 1..=n {
            for v in (1..=n).filter(|&v| v != u) {
                let what = format!("{}: new route [{u}, {v}]", s.instance().name);
                proposed += usize::from(check(s, new_route(s, u, v, spare), plainly(s, u, v, spare), &what));
                tried += 1;
            }
        }
        proposed
    });
    assert!(tried > 1000, "pairs were tried: {tried}");
    assert!(proposed > 10, "improving new routes were found: {proposed}");
}

/// `data/cases/matrix-cvrp.vrp` (five customers on an explicit symmetric
/// matrix, demands 3, 4, 3, 4, 5) with the given capacity (10 in the file).
fn matrix_case(capacity: f64) -> Instance {
    let inst = read_instance(&data().join("cases/matrix-cvrp.vrp"), None).unwrap();
    Instance::new(inst.variant, InstanceData { capacity: Some(capacity), ..inst.to_data() }).unwrap()
}

#[test]
fn new_route_leaves_the_matrix_case_local_optimum_by_the_exact_amount() {
    // Capacity 10: [2, 1, 3] + [4, 5] = 144 + 134 = 278 becomes
    // [2, 1] + [5] + [3, 4] = 72 + 72 + 86 = 230. Capacity 6, from five
    // single-customer routes: [3, 4] would save 72 but carries 7.
    let cases: [(f64, Vec<Vec<usize>>, Option<f64>); 2] =
        [(10.0, vec![vec![2, 1, 3], vec![4, 5]], Some(-48.0)), (6.0, (1..=5).map(|c| vec![c]).collect(), None)];
    for (capacity, routes, expect) in cases {
        let inst = matrix_case(capacity);
        let arcs = Arcs::new(&inst);
        let s = Routes::new(&arcs, &Solution::new(routes));
        let spare = s.spare().unwrap();
        let mv = new_route(&s, 3, 4, spare);
        assert_eq!(mv.as_ref().map(|m| m.delta), expect, "capacity {capacity}");
        check(&s, mv, plainly(&s, 3, 4, spare), &format!("capacity {capacity}"));
    }
}

#[test]
fn a_descent_leaves_the_matrix_case_local_optimum_in_one_move() {
    // No other move improves 278 (relocating 3 to a route of its own
    // changes nothing): the one move taken is the new route [3, 4].
    let inst = matrix_case(10.0);
    let arcs = Arcs::new(&inst);
    let mut s = Routes::new(&arcs, &Solution::new(vec![vec![2, 1, 3], vec![4, 5]]));
    assert_eq!(descent(&mut s, &neighbours(&inst, 40), &mut rng(1)), 1);
    assert_eq!(s.cost(), 230.0, "{:?}", s.solution());
}

#[test]
fn a_descent_tries_a_new_route_when_only_the_neighbours_route_changed() {
    // Granular lists need not be symmetric: 3 lists 4, but 4 does not list 3.
    // After a local optimum, only 4's route changes (rebuilt as it was): the
    // new route [3, 4] must still be tried from 3, whose route did not change.
    let inst = matrix_case(10.0);
    let arcs = Arcs::new(&inst);
    let mut s = Routes::new(&arcs, &Solution::new(vec![vec![2, 1, 3], vec![4, 5]]));
    s.settle();
    let route_of_4 = s.position(4).unwrap().0;
    s.apply(&Move { delta: 0.0, routes: vec![(route_of_4, vec![4, 5])] });
    let neighbours = vec![vec![], vec![2], vec![1], vec![4], vec![5], vec![4]];
    assert_eq!(descent(&mut s, &neighbours, &mut rng(1)), 1);
    assert_eq!(s.cost(), 230.0, "{:?}", s.solution());
}
