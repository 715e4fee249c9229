//! Ruin and recreate (Schrimpf et al. 2000, "Record breaking optimization
//! results using the ruin and recreate principle"; the removal of nearby
//! customers and the insertion with blinks follow SISR, Christiaens and
//! Vanden Berghe 2020): remove customers close to each other, or a whole
//! route, and put each back at its cheapest place that keeps the rules.

use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng as _;

use super::routes::{Piece, Routes};
use super::Rng;

/// SISR's blink rate: a place is skipped with this probability, so the
/// recreate step does not always rebuild the same routes.
const BLINK: f64 = 0.01;

/// How to ruin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ruin {
    /// A random customer and up to `size - 1` of its nearest neighbours.
    Nearby { size: usize },
    /// Every customer of one random route (fleet repair: fewer routes).
    Route,
}

/// Remove customers from `s` as `how` says; returns them.
pub fn ruin(s: &mut Routes, neighbours: &[Vec<usize>], how: Ruin, rng: &mut Rng) -> Vec<usize> {
    let n = s.instance().num_customers();
    let removed: Vec<usize> = match how {
        Ruin::Nearby { size } => {
            let seed = rng.random_range(1..=n);
            std::iter::once(seed).chain(neighbours[seed].iter().copied()).take(size.max(1)).collect()
        }
        Ruin::Route => {
            let used: Vec<usize> = (0..s.routes().len()).filter(|&r| !s.route(r).is_empty()).collect();
            let Some(&r) = used.choose(rng) else { return vec![] };
            s.route(r).customers().to_vec()
        }
    };
    s.remove(&removed);
    removed
}

/// Put `customers` back, each at its cheapest feasible place, in an order
/// SISR draws (random, far from the depot first, or largest demand first).
/// A customer that fits nowhere opens a new route when `beyond_fleet` allows
/// routes past `VEHICLES` (repair) or the fleet has room; otherwise the
/// recreate fails and returns `false`.
pub fn recreate(s: &mut Routes, customers: &mut [usize], beyond_fleet: bool, rng: &mut Rng) -> bool {
    let inst = s.instance();
    match rng.random_range(0..4) {
        0 | 1 => customers.shuffle(rng),
        2 => customers.sort_by(|&a, &b| inst.distance(0, b).total_cmp(&inst.distance(0, a))),
        _ => customers.sort_by(|&a, &b| (inst.linehaul[b] + inst.backhaul_of(b)).total_cmp(&(inst.linehaul[a] + inst.backhaul_of(a)))),
    }
    for &u in customers.iter() {
        match cheapest_place(s, u, rng) {
            Some((r, pos)) => s.insert(u, r, pos),
            None if beyond_fleet && !inst.variant.is_tsp() => s.open_route(u),
            None => return false,
        }
    }
    true
}

/// The route and position (after `nodes[pos]`) where `u` costs least and
/// keeps every rule.
pub fn cheapest_place(s: &Routes, u: usize, rng: &mut Rng) -> Option<(usize, usize)> {
    let (inst, arcs) = (s.instance(), s.arcs);
    let single = Piece::customer(inst, u);
    let mut best: Option<(f64, usize, usize)> = None;
    for (r, route) in s.routes().iter().enumerate() {
        let n = &route.nodes;
        for pos in 0..n.len() - 1 {
            let (p, q) = (n[pos], n[pos + 1]);
            let delta = arcs.get(p, u) + arcs.get(u, q) - arcs.get(p, q);
            if best.is_some_and(|(b, _, _)| delta >= b) || rng.random_bool(BLINK) {
                continue;
            }
            if route.prefix(pos).then(&single, arcs).then(&route.suffix(pos + 1), arcs).feasible(inst) {
                best = Some((delta, r, pos));
            }
        }
    }
    best.map(|(_, r, pos)| (r, pos))
}
