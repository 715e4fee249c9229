//! Swap: exact cost changes on every rule family, and a hand-made case.

use lrm::problem::{InstanceData, Solution};
use lrm::search::operators::swap;
use lrm::search::{Arcs, Routes};

use crate::moves::{check, integer, lists, on_every_family};

#[test]
fn swap_proposes_exactly_the_improving_feasible_moves_on_every_family() {
    let proposed = on_every_family(|s| {
        let n = s.instance().num_customers();
        let mut proposed = 0;
        for u in 1..=n {
            for v in 1..=n {
                let mv = swap(s, u, v);
                if u == v {
                    assert!(mv.is_none());
                    continue;
                }
                let mut expected = lists(s);
                let ((ru, pu), (rv, pv)) = (s.position(u).unwrap(), s.position(v).unwrap());
                expected[ru][pu - 1] = v;
                expected[rv][pv - 1] = u;
                proposed += usize::from(check(s, mv, expected, &format!("{}: swap {u} {v}", s.instance().name)));
            }
        }
        proposed
    });
    assert!(proposed > 50, "improving swaps were found: {proposed}");
}

#[test]
fn swap_finds_the_crossed_pair_and_respects_capacity() {
    // Routes [1, 4] and [3, 2] cross; swapping 4 and 2 gives [1, 2] and [3, 4].
    let coords = [[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [0.0, 10.0], [0.0, 20.0]];
    let data = |q: f64| InstanceData { capacity: Some(q), linehaul: Some(vec![0.0, 2.0, 2.0, 1.0, 1.0]), ..Default::default() };
    for (q, expect) in [(10.0, true), (3.0, false)] {
        let inst = integer("CVRP", &coords, data(q));
        let arcs = Arcs::new(&inst);
        let s = Routes::new(&arcs, &Solution::new(vec![vec![1, 4], vec![3, 2]]));
        let before = lrm::problem::evaluate(&inst, &s.solution()).cost;
        let after = lrm::problem::evaluate(&inst, &Solution::new(vec![vec![1, 2], vec![3, 4]])).cost;
        let mv = swap(&s, 4, 2);
        assert_eq!(mv.as_ref().map(|m| m.delta), expect.then_some(after - before), "capacity {q}");
    }
}
