//! 2-opt*: exchange the tails of two routes (Potvin and Rousseau 1995). The
//! tails keep their direction, so the move is exact on asymmetric matrices.

use crate::search::routes::{Move, Routes};

/// Route `r1` keeps `nodes[..=i]` and takes route `r2`'s tail after
/// position `j`; `r2` keeps `nodes[..=j]` and takes `r1`'s tail after `i`.
/// Positions 0 are the start depots (a whole route moves). `None` when the
/// move does not improve the cost by more than [`super::IMPROVEMENT`], or
/// breaks a rule.
pub fn two_opt_star(s: &Routes, r1: usize, i: usize, r2: usize, j: usize) -> Option<Move> {
    let (route1, route2) = (s.route(r1), s.route(r2));
    let (n1, n2) = (&route1.nodes, &route2.nodes);
    if r1 == r2 || i + 1 >= n1.len() || j + 1 >= n2.len() {
        return None;
    }
    let arcs = s.arcs;
    let d = |a: usize, b: usize| arcs.get(a, b);
    let delta = d(n1[i], n2[j + 1]) + d(n2[j], n1[i + 1]) - d(n1[i], n1[i + 1]) - d(n2[j], n2[j + 1]);
    if delta >= -super::IMPROVEMENT {
        return None;
    }
    let inst = s.instance();
    let new1 = route1.prefix(i).then(&route2.suffix(j + 1), arcs);
    let new2 = route2.prefix(j).then(&route1.suffix(i + 1), arcs);
    if !new1.feasible(inst) || !new2.feasible(inst) {
        return None;
    }
    let (c1, c2) = (route1.customers(), route2.customers());
    let a: Vec<usize> = c1[..i].iter().chain(&c2[j..]).copied().collect();
    let b: Vec<usize> = c2[..j].iter().chain(&c1[i..]).copied().collect();
    Some(Move { delta, routes: vec![(r1, a), (r2, b)] })
}
