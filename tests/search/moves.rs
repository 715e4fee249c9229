//! What each operator should do, written plainly on lists of customers, and
//! the check that an operator's proposal is exactly that: the same routes,
//! the cost change `evaluate` measures, feasible; and when it proposes
//! nothing, that the plain move would not have been a feasible improvement.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use lrm::problem::{evaluate, Instance, InstanceData, Rounding, Solution};
use lrm::search::ruin::recreate;
use lrm::search::{Arcs, Move, Routes};

/// Every route of `s` as a list, the spare empty one included, so that
/// route indices match the operators'.
pub fn lists(s: &Routes) -> Vec<Vec<usize>> {
    s.routes().iter().map(|r| r.customers().to_vec()).collect()
}

/// A feasible start that leaves the operators work to do: every customer
/// inserted at its cheapest place in a random order.
pub fn start<'a>(arcs: &'a Arcs<'a>, seed: u64) -> Option<Routes<'a>> {
    let mut s = Routes::new(arcs, &Solution::default());
    let mut customers: Vec<usize> = (1..=arcs.instance().num_customers()).collect();
    recreate(&mut s, &mut customers, true, &mut ChaCha8Rng::seed_from_u64(seed)).then_some(s)
}

/// Run `f` on a feasible start of every rule family (nine customers, three
/// seeds); returns the sum of what `f` returns (the moves it saw proposed).
pub fn on_every_family(mut f: impl FnMut(&Routes) -> usize) -> usize {
    let mut proposed = 0;
    for seed in 0..3 {
        for inst in crate::common::every_family(9, seed) {
            let arcs = Arcs::new(&inst);
            if let Some(s) = start(&arcs, seed) {
                proposed += f(&s);
            }
        }
    }
    proposed
}

/// Check `proposed` against the plain move giving `expected` routes.
/// Returns whether a move was proposed.
pub fn check(s: &Routes, proposed: Option<Move>, expected: Vec<Vec<usize>>, what: &str) -> bool {
    let inst = s.instance();
    let before = evaluate(inst, &s.solution());
    assert!(before.is_feasible(), "{what}: the start is feasible");
    let after_solution = Solution::new(expected.iter().filter(|r| !r.is_empty()).cloned().collect());
    let after = evaluate(inst, &after_solution);
    let change = after.cost - before.cost;
    match proposed {
        Some(mv) => {
            let mut routes = lists(s);
            for (r, c) in &mv.routes {
                routes[*r] = c.clone();
            }
            assert_eq!(routes, expected, "{what}: the proposed routes are the move's");
            assert!(after.is_feasible(), "{what}: proposed an infeasible move ({:?})", after.violation);
            assert!((mv.delta - change).abs() <= 1e-9 * before.cost.max(1.0), "{what}: reported {} but evaluate measures {change}", mv.delta);
            if inst.is_integral() {
                assert_eq!(mv.delta, change, "{what}: integer data, exact change");
            }
            assert!(change < 0.0, "{what}: an improvement");
            true
        }
        None => {
            let fleet_ok = inst.vehicles.is_none_or(|v| after.routes <= v);
            assert!(!(after.is_feasible() && fleet_ok && change < -1e-6), "{what}: missed a feasible improvement of {change}");
            false
        }
    }
}

/// An integer instance on coordinates, for exact cost changes.
pub fn integer(variant: &str, coords: &[[f64; 2]], data: InstanceData) -> Instance {
    let data = InstanceData { coords: Some(coords.to_vec()), rounding: Some(Rounding::Nint), ..data };
    Instance::new(variant.parse().unwrap(), data).unwrap()
}
