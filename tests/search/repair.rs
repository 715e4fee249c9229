//! The 1-shift tour repair: on a tour no order can break (TSP, ATSP) it is a
//! length descent judged from arcs alone, which must end where no single
//! shift shortens the tour, by the exact cost `evaluate` measures.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use lrm::problem::{evaluate, Instance, InstanceData, Solution, Variant};
use lrm::search::repair::repair_tour;
use lrm::search::Arcs;

use crate::common::generated;
use crate::moves::integer;

fn cost(inst: &Instance, tour: &[usize]) -> f64 {
    let e = evaluate(inst, &Solution::new(vec![tour.to_vec()]));
    assert!(e.is_feasible(), "{:?}", e.violation);
    e.cost
}

/// No customer moved to any other place shortens `tour` by more than 1e-6
/// (ten times the search's improvement threshold: `evaluate` sums the tour
/// in another order).
fn assert_one_shift_optimal(inst: &Instance, tour: &[usize]) {
    let now = cost(inst, tour);
    for k in 0..tour.len() {
        let mut rest = tour.to_vec();
        let u = rest.remove(k);
        for pos in 0..=rest.len() {
            let mut shifted = rest.clone();
            shifted.insert(pos, u);
            assert!(cost(inst, &shifted) > now - 1e-6, "{}: moving {u} to {pos} shortens the tour", inst.name);
        }
    }
}

#[test]
fn repair_shortens_an_unruled_tour_to_a_one_shift_optimum() {
    for v in [Variant::TSP, "ATSP".parse().unwrap()] {
        let inst = generated(v, 40, 1, 3).remove(0);
        let start: Vec<usize> = (1..=40).collect();
        let tour = repair_tour(&Arcs::new(&inst), start.clone(), &mut ChaCha8Rng::seed_from_u64(1)).expect("no rule to break");
        let mut sorted = tour.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, start, "{}: every city once", inst.name);
        assert!(cost(&inst, &tour) < cost(&inst, &start), "{}: shorter than the start", inst.name);
        assert_one_shift_optimal(&inst, &tour);
    }
}

#[test]
fn repair_shifts_a_city_back_onto_the_line() {
    // Depot at 0 and cities at 1, 2, 3 on a line: 0-2-1-3-0 costs 8, 0-1-2-3-0 costs 6.
    let coords = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]];
    let inst = integer("TSP", &coords, InstanceData::default());
    let tour = repair_tour(&Arcs::new(&inst), vec![2, 1, 3], &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    assert_eq!(cost(&inst, &[2, 1, 3]), 8.0);
    assert!(tour == vec![1, 2, 3] || tour == vec![3, 2, 1], "{tour:?}");
    assert_eq!(cost(&inst, &tour), 6.0);
}
