//! 2-opt*: exact cost changes on every rule family, and a hand-made exchange.

use lrm::problem::{InstanceData, Solution};
use lrm::search::operators::two_opt_star;
use lrm::search::{Arcs, Routes};

use crate::moves::{check, integer, lists, on_every_family};

#[test]
fn two_opt_star_proposes_exactly_the_improving_feasible_moves_on_every_family() {
    let proposed = on_every_family(|s| {
        let routes = s.routes();
        let mut proposed = 0;
        for r1 in 0..routes.len() {
            for r2 in 0..routes.len() {
                for i in 0..routes[r1].nodes.len() - 1 {
                    for j in 0..routes[r2].nodes.len() - 1 {
                        let mv = two_opt_star(s, r1, i, r2, j);
                        if r1 == r2 {
                            assert!(mv.is_none());
                            continue;
                        }
                        let mut expected = lists(s);
                        let (a, b) = (expected[r1].clone(), expected[r2].clone());
                        expected[r1] = a[..i].iter().chain(&b[j..]).copied().collect();
                        expected[r2] = b[..j].iter().chain(&a[i..]).copied().collect();
                        proposed += usize::from(check(s, mv, expected, &format!("{}: 2-opt* ({r1}, {i}) ({r2}, {j})", s.instance().name)));
                    }
                }
            }
        }
        proposed
    });
    assert!(proposed > 50, "improving 2-opt* moves were found: {proposed}");
}

#[test]
fn two_opt_star_exchanges_tails_by_the_exact_amount_and_respects_capacity() {
    // [1, 4] and [3, 2] (52 + 52): tails after 1 and after 3 exchanged give [1, 2] and [3, 4] (40 + 40).
    let coords = [[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [0.0, 10.0], [0.0, 20.0]];
    for (q, expect) in [(10.0, Some(-24.0)), (6.0, None)] {
        let data = InstanceData { capacity: Some(q), linehaul: Some(vec![0.0, 5.0, 5.0, 1.0, 1.0]), ..Default::default() };
        let inst = integer("CVRP", &coords, data);
        let arcs = Arcs::new(&inst);
        let s = Routes::new(&arcs, &Solution::new(vec![vec![1, 4], vec![3, 2]]));
        let mv = two_opt_star(&s, 0, 1, 1, 1);
        assert_eq!(mv.map(|m| m.delta), expect, "capacity {q}: [1, 2] carries 10");
    }
}
