//! New route: take two customers out of their routes and serve them,
//! together, on the spare empty route.
//!
//! Relocate opens a route for one customer at a time, and one customer
//! alone rarely pays for its two arcs to the depot: a descent can stop on
//! two routes that would be cheaper as three, the third route serving a
//! pair (`data/cases/matrix-cvrp.vrp`: 278 on two routes, 230 on three).
//! Opening the route with the pair reaches it in one improving move.

use crate::problem::rules::route_segment;
use crate::search::routes::{Move, Piece, Routes};

/// Remove customers `u` and `v` from their routes (the same route or two)
/// and serve them as the route `[u, v]` on the empty route `spare`. `None`
/// when `u == v`, when either is not on a route, when `spare` is not empty,
/// when the move does not improve the cost by more than
/// [`super::IMPROVEMENT`], or when a rule forbids it. The fleet limit is the
/// caller's ([`Routes::confirm`]).
pub fn new_route(s: &Routes, u: usize, v: usize, spare: usize) -> Option<Move> {
    let (ru, i) = s.position(u)?;
    let (rv, j) = s.position(v)?;
    if u == v || !s.route(spare).is_empty() {
        return None;
    }
    let d = |a: usize, b: usize| s.arcs.get(a, b);
    let (nu, nv) = (&s.route(ru).nodes, &s.route(rv).nodes);
    let removed = if ru == rv && j == i + 1 {
        d(nu[i - 1], nu[j + 1]) - d(nu[i - 1], u) - d(u, v) - d(v, nu[j + 1])
    } else if ru == rv && i == j + 1 {
        d(nu[j - 1], nu[i + 1]) - d(nu[j - 1], v) - d(v, u) - d(u, nu[i + 1])
    } else {
        d(nu[i - 1], nu[i + 1]) - d(nu[i - 1], u) - d(u, nu[i + 1]) + d(nv[j - 1], nv[j + 1]) - d(nv[j - 1], v) - d(v, nv[j + 1])
    };
    let delta = removed + d(0, u) + d(u, v) + d(v, 0);
    if delta >= -super::IMPROVEMENT {
        return None;
    }
    let inst = s.instance();
    let target = s.route(spare);
    let pair = Piece::customer(inst, u).then(&Piece::customer(inst, v), s.arcs);
    if !target.prefix(0).then(&pair, s.arcs).then(&target.suffix(1), s.arcs).feasible(inst) {
        return None;
    }
    let without = |r: usize| -> Vec<usize> { s.route(r).customers().iter().copied().filter(|&c| c != u && c != v).collect() };
    let mut routes = vec![(ru, without(ru))];
    if ru == rv {
        // The route left behind is walked, once the cost says the move pays:
        // a non-adjacent pair leaves a middle piece no summary holds.
        if route_segment(inst, &routes[0].1).breach(inst).is_some() {
            return None;
        }
    } else {
        let (route_u, route_v) = (s.route(ru), s.route(rv));
        let left_u = route_u.prefix(i - 1).then(&route_u.suffix(i + 1), s.arcs);
        let left_v = route_v.prefix(j - 1).then(&route_v.suffix(j + 1), s.arcs);
        if !left_u.feasible(inst) || !left_v.feasible(inst) {
            return None;
        }
        routes.push((rv, without(rv)));
    }
    routes.push((spare, vec![u, v]));
    Some(Move { delta, routes })
}
