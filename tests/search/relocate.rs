//! Relocate and or-opt: exact cost changes, every rule family, hand-made cases.

use lrm::problem::{Instance, InstanceData, Solution};
use lrm::search::operators::relocate;
use lrm::search::{Arcs, Routes};

use crate::moves::{check, integer, lists, on_every_family};

/// The plain move: the chain of `len` customers at `u` moved after node
/// `(r2, j)`, reversed or not; `None` when the move is not defined.
fn plainly(s: &Routes, u: usize, len: usize, (r2, j): (usize, usize), reversed: bool) -> Option<Vec<Vec<usize>>> {
    let (r1, i) = s.position(u)?;
    let mut routes = lists(s);
    let k = i - 1;
    if k + len > routes[r1].len() || (r1 == r2 && j + 1 >= i && j < i + len) {
        return None;
    }
    let p = s.route(r2).nodes[j];
    let mut chain: Vec<usize> = routes[r1].drain(k..k + len).collect();
    if reversed {
        chain.reverse();
    }
    let at = if p == 0 { 0 } else { routes[r2].iter().position(|&c| c == p).unwrap() + 1 };
    routes[r2].splice(at..at, chain);
    Some(routes)
}

#[test]
fn relocate_proposes_exactly_the_improving_feasible_moves_on_every_family() {
    let proposed = on_every_family(|s| {
        let inst = s.instance();
        let mut proposed = 0;
        for u in 1..=inst.num_customers() {
            for (r2, route) in s.routes().iter().enumerate() {
                for j in 0..route.nodes.len() - 1 {
                    for len in 1..=3 {
                        for reversed in [false, true] {
                            let mv = relocate(s, u, len, (r2, j), reversed);
                            let what = format!("{}: relocate {u} x{len} after ({r2}, {j}) reversed {reversed}", inst.name);
                            match plainly(s, u, len, (r2, j), reversed) {
                                Some(expected) => proposed += usize::from(check(s, mv, expected, &what)),
                                None => assert!(mv.is_none(), "{what}: not a move"),
                            }
                        }
                    }
                }
            }
        }
        proposed
    });
    assert!(proposed > 100, "improving moves were found: {proposed}");
}

/// Depot at the origin; customer 1 at `one`, 2 at (20, 0), 3 at (0, 10).
fn triangle(variant: &str, one: [f64; 2], data: InstanceData) -> Instance {
    integer(variant, &[[0.0, 0.0], one, [20.0, 0.0], [0.0, 10.0]], data)
}

/// From routes [1, 3] and [2] (one tour [2, 3, 1] for the TSP family), move
/// customer 1 right before 2 (or right after it); the cost change proposed.
fn relocate_1(inst: &Instance, after_2: bool) -> Option<f64> {
    let arcs = Arcs::new(inst);
    let routes = if inst.variant.is_tsp() { vec![vec![2, 3, 1]] } else { vec![vec![1, 3], vec![2]] };
    let s = Routes::new(&arcs, &Solution::new(routes));
    assert!(lrm::problem::evaluate(inst, &s.solution()).is_feasible(), "{}: the start is feasible", inst.variant);
    let (r2, p2) = s.position(2).unwrap();
    relocate(&s, 1, 1, (r2, if after_2 { p2 } else { p2 - 1 }), false).map(|m| m.delta)
}

const ON_AXIS: [f64; 2] = [10.0, 0.0];

fn demands(linehaul: [f64; 3]) -> Option<Vec<f64>> {
    Some(vec![0.0, linehaul[0], linehaul[1], linehaul[2]])
}

#[test]
fn relocate_finds_the_known_move_and_rejects_it_where_a_rule_forbids_it() {
    // [1, 3] + [2] = 34 + 40; [3] + [1, 2] = 20 + 40: 14 saved.
    let cap = |q: f64| InstanceData { capacity: Some(q), linehaul: demands([5.0, 6.0, 1.0]), ..Default::default() };
    assert_eq!(relocate_1(&triangle("CVRP", ON_AXIS, cap(20.0)), false), Some(-14.0));
    assert_eq!(relocate_1(&triangle("CVRP", ON_AXIS, cap(10.0)), false), None, "capacity: 5 + 6 > 10");

    // Backhaul phase: 2 picks up 6, 1 and 3 deliver.
    let backhaul = |q: f64| InstanceData { capacity: Some(q), linehaul: demands([5.0, 0.0, 0.5]), backhaul: demands([0.0, 6.0, 0.0]), ..Default::default() };
    assert_eq!(relocate_1(&triangle("VRPB", ON_AXIS, backhaul(10.0)), false), Some(-14.0));
    assert_eq!(relocate_1(&triangle("VRPB", ON_AXIS, backhaul(10.0)), true), None, "classic: linehaul 1 after backhaul 2");
    // Mixed: [2, 1] leaves with 5 and carries 11 after the pickup; [1, 2] never above 6.
    assert_eq!(relocate_1(&triangle("VRPMB", ON_AXIS, backhaul(11.0)), true), Some(-14.0));
    assert_eq!(relocate_1(&triangle("VRPMB", ON_AXIS, backhaul(10.0)), true), None, "mixed load 11 above 10");
    assert_eq!(relocate_1(&triangle("VRPMB", ON_AXIS, backhaul(10.0)), false), Some(-14.0));

    // Distance limit with 1 off the axis: [1, 3] + [2] = 32 + 40, [3] + [1, 2] = 20 + 42.
    let off = [10.0, 5.0];
    let limit = |l: f64| InstanceData { capacity: Some(20.0), linehaul: demands([1.0, 1.0, 1.0]), distance_limit: Some(l), ..Default::default() };
    assert_eq!(relocate_1(&triangle("VRPL", off, limit(42.0)), false), Some(-10.0));
    assert_eq!(relocate_1(&triangle("VRPL", off, limit(41.0)), false), None, "length 42 with the return, above 41");
    // Open: [1, 3] + [2] = 22 + 20 and [3] + [1, 2] = 10 + 22, within 22 without the return.
    assert_eq!(relocate_1(&triangle("OVRPL", off, limit(22.0)), false), Some(-10.0));

    // Windows with waiting and service: 1 opens at 15 (wait 5), serves 5, so 2 is reached at 30.
    let windows = |late2: f64| InstanceData {
        capacity: Some(20.0),
        linehaul: demands([1.0, 1.0, 1.0]),
        time_windows: Some(vec![[0.0, 100.0], [15.0, 50.0], [0.0, late2], [0.0, 50.0]]),
        service: Some(vec![0.0, 5.0, 0.0, 0.0]),
        ..Default::default()
    };
    assert_eq!(relocate_1(&triangle("VRPTW", ON_AXIS, windows(30.0)), false), Some(-14.0));
    assert_eq!(relocate_1(&triangle("VRPTW", ON_AXIS, windows(29.0)), false), None, "2 reached at 30, after it closes at 29");

    // Draft limits: tour [2, 3, 1] (66) -> [1, 2, 3] (52) brings port 1 the whole cargo of 3.
    let draft = |limit1: f64| InstanceData { linehaul: demands([1.0, 1.0, 1.0]), draft_limit: Some(vec![3.0, limit1, 3.0, 3.0]), ..Default::default() };
    assert_eq!(relocate_1(&triangle("TSPDL", ON_AXIS, draft(3.0)), false), Some(-14.0));
    assert_eq!(relocate_1(&triangle("TSPDL", ON_AXIS, draft(2.0)), false), None, "3 aboard at port 1, limit 2");
}
