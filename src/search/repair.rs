//! A first feasible tour for the TSP family, from an order of its cities:
//! the search's own construction for one tour, and the repair of a
//! constructed tour that breaks time windows or draft limits. Shift one
//! customer at a time to the place that most reduces how far the tour breaks
//! its windows (time warp) and draft limits, then its length, and shake the
//! tour with random shifts when stuck. This is the 1-shift variable
//! neighbourhood search of da Silva and Urrutia (2010, "A General VNS
//! heuristic for the traveling salesman problem with time windows", section
//! 3.1), with the violation measured on rule summaries
//! ([`crate::problem::rules::Segment`]).

use rand::Rng as _;

use super::arcs::Arcs;
use super::routes::{Piece, Route};
use super::Rng;
use crate::problem::rules::Segment;

/// Shakes before giving up.
const SHAKES: usize = 200;

/// How far a whole tour breaks the windows and draft limits, then its length.
fn violation(seg: &Segment) -> (f64, f64) {
    (seg.time_warp() + seg.draft_excess(), seg.length)
}

/// A tour of `start`'s customers that keeps every window and draft limit,
/// or `None` when none was found within the shakes.
pub fn repair_tour(arcs: &Arcs, start: Vec<usize>, rng: &mut Rng) -> Option<Vec<usize>> {
    let inst = arcs.instance();
    let mut tour = start;
    for shake in 0..=SHAKES {
        descend(arcs, &mut tour);
        if violation(&Route::new(&tour, arcs).prefix(tour.len() + 1).seg).0 <= inst.tolerance {
            return Some(tour);
        }
        for _ in 0..1 + shake % 8 {
            let u = tour.remove(rng.random_range(0..tour.len()));
            tour.insert(rng.random_range(0..=tour.len()), u);
        }
    }
    None
}

/// Shift customers to their best places until no shift lowers the
/// violation: by [`shorten`] when there are no windows or draft limits,
/// otherwise by [`shift_by_summaries`].
fn descend(arcs: &Arcs, tour: &mut Vec<usize>) {
    let inst = arcs.instance();
    if inst.time_windows.is_none() && inst.draft_limit.is_none() {
        shorten(arcs, tour);
    } else {
        shift_by_summaries(arcs, tour);
    }
}

/// [`descend`] on rule summaries: each customer's every place is judged by
/// the violation, then the length, of the whole tour with it there.
fn shift_by_summaries(arcs: &Arcs, tour: &mut Vec<usize>) {
    let inst = arcs.instance();
    let mut improved = true;
    while improved {
        improved = false;
        for k in 0..tour.len() {
            let now = violation(&Route::new(tour, arcs).prefix(tour.len() + 1).seg);
            let u = tour.remove(k);
            let rest = Route::new(tour, arcs);
            let single = Piece::customer(inst, u);
            let place = |pos: usize| violation(&rest.prefix(pos).then(&single, arcs).then(&rest.suffix(pos + 1), arcs).seg);
            let (best, score) = (0..=tour.len()).map(|pos| (pos, place(pos))).min_by(|a, b| a.1.partial_cmp(&b.1).expect("finite")).expect("a place");
            if score < now && (now.0 - score.0 > inst.tolerance || now.1 - score.1 > super::operators::IMPROVEMENT) {
                tour.insert(best, u);
                improved = true;
            } else {
                tour.insert(k, u);
            }
        }
    }
}

/// [`descend`] without time windows or draft limits: the violation this
/// repair measures is then zero for every order, so a shift is judged on
/// the length alone, from the three arcs it adds and the three it removes.
/// [`shift_by_summaries`] decides the same, but rebuilds the tour's
/// summaries twice per customer (O(n) each, about 15 times slower on 1,000
/// cities); a pass is Θ(n²) either way. A distance limit is best served by
/// the shortest tour anyway, and precedence (backhauls on a tour) is not
/// repaired here, as it is not in [`shift_by_summaries`].
fn shorten(arcs: &Arcs, tour: &mut Vec<usize>) {
    let d = |a: usize, b: usize| arcs.get(a, b);
    let mut improved = true;
    while improved {
        improved = false;
        for k in 0..tour.len() {
            let u = tour.remove(k);
            let node = |i: usize| if i == 0 || i > tour.len() { 0 } else { tour[i - 1] };
            // Place `pos` puts `u` between nodes `pos` and `pos + 1` of the
            // tour without it, depots included at 0 and its end.
            let added = |pos: usize| d(node(pos), u) + d(u, node(pos + 1)) - d(node(pos), node(pos + 1));
            let now = added(k);
            // The first strict minimum, ties kept at `k`, as `min_by` in
            // `shift_by_summaries` gives.
            let (best, best_added) = (0..=tour.len()).map(|pos| (pos, added(pos))).fold((k, now), |b, c| if c.1 < b.1 { c } else { b });
            let at = if now - best_added > super::operators::IMPROVEMENT { best } else { k };
            improved |= at != k;
            tour.insert(at, u);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::generate::{GeneratorConfig, Problem};
    use crate::problem::Variant;

    /// The arcs' shortcut ends at the very tour the summaries' walk ends at.
    #[test]
    fn shorten_decides_as_the_summaries_do() {
        for name in ["TSP", "ATSP"] {
            let v: Variant = name.parse().unwrap();
            for seed in 0..3 {
                let inst = GeneratorConfig::new(Problem::Variant(v)).generate_one(30, seed, 0).0;
                let arcs = Arcs::new(&inst);
                let start: Vec<usize> = (1..=30).collect();
                let (mut fast, mut walked) = (start.clone(), start);
                shorten(&arcs, &mut fast);
                shift_by_summaries(&arcs, &mut walked);
                assert_eq!(fast, walked, "{name}, seed {seed}");
            }
        }
    }
}
