//! 2-opt within a route: exact cost changes on every rule family (asymmetric
//! matrices included), and a hand-made crossing.

use lrm::problem::{InstanceData, Solution};
use lrm::search::operators::two_opt;
use lrm::search::{Arcs, Routes};

use crate::moves::{check, integer, lists, on_every_family};

#[test]
fn two_opt_proposes_exactly_the_improving_feasible_moves_on_every_family() {
    let proposed = on_every_family(|s| {
        let mut proposed = 0;
        for (r, route) in s.routes().iter().enumerate() {
            for i in 0..route.nodes.len() {
                for j in i..route.nodes.len() {
                    let mv = two_opt(s, r, i, j);
                    if i + 1 >= j || j + 1 >= route.nodes.len() {
                        assert!(mv.is_none());
                        continue;
                    }
                    let mut expected = lists(s);
                    expected[r][i..j].reverse();
                    proposed += usize::from(check(s, mv, expected, &format!("{}: 2-opt route {r} ({i}, {j})", s.instance().name)));
                }
            }
        }
        proposed
    });
    assert!(proposed > 20, "improving 2-opt moves were found: {proposed}");
}

#[test]
fn two_opt_uncrosses_a_tour_by_the_exact_amount() {
    // Square corners visited 1, 3, 2, 4 cross; reversing [3, 2] gives the perimeter.
    let coords = [[0.0, 0.0], [0.0, 10.0], [10.0, 10.0], [10.0, 0.0], [5.0, -5.0]];
    let inst = integer("TSP", &coords, InstanceData::default());
    let arcs = Arcs::new(&inst);
    let s = Routes::new(&arcs, &Solution::new(vec![vec![1, 3, 2, 4]]));
    let before = lrm::problem::evaluate(&inst, &s.solution()).cost;
    let after = lrm::problem::evaluate(&inst, &Solution::new(vec![vec![1, 2, 3, 4]])).cost;
    let mv = two_opt(&s, 0, 1, 3).expect("the crossing is removed");
    assert_eq!(mv.routes, vec![(0, vec![1, 2, 3, 4])]);
    assert_eq!(mv.delta, after - before);
}
