//! Swap: exchange two customers, in the same route or in two routes.

use crate::problem::rules::route_segment;
use crate::search::routes::{Move, Piece, Routes};

/// Exchange customers `u` and `v`. `None` when the move does not improve the
/// cost by more than [`super::IMPROVEMENT`], or breaks a rule.
pub fn swap(s: &Routes, u: usize, v: usize) -> Option<Move> {
    let (mut r1, mut i) = s.position(u)?;
    let (mut r2, mut j) = s.position(v)?;
    if u == v {
        return None;
    }
    if r1 == r2 && j < i {
        std::mem::swap(&mut i, &mut j);
        std::mem::swap(&mut r1, &mut r2);
    }
    let arcs = s.arcs;
    let d = |a: usize, b: usize| arcs.get(a, b);
    let (n1, n2) = (&s.route(r1).nodes, &s.route(r2).nodes);
    let (x, y) = (n1[i], n2[j]);
    let delta = if r1 == r2 && j == i + 1 {
        let (a, b) = (n1[i - 1], n1[j + 1]);
        d(a, y) + d(y, x) + d(x, b) - d(a, x) - d(x, y) - d(y, b)
    } else {
        let (a, b, c, e) = (n1[i - 1], n1[i + 1], n2[j - 1], n2[j + 1]);
        d(a, y) + d(y, b) + d(c, x) + d(x, e) - d(a, x) - d(x, b) - d(c, y) - d(y, e)
    };
    if delta >= -super::IMPROVEMENT {
        return None;
    }
    let inst = s.instance();
    if r1 != r2 {
        let (route1, route2) = (s.route(r1), s.route(r2));
        let new1 = route1.prefix(i - 1).then(&Piece::customer(inst, y), arcs).then(&route1.suffix(i + 1), arcs);
        let new2 = route2.prefix(j - 1).then(&Piece::customer(inst, x), arcs).then(&route2.suffix(j + 1), arcs);
        if !new1.feasible(inst) || !new2.feasible(inst) {
            return None;
        }
        let mut c1 = route1.customers().to_vec();
        let mut c2 = route2.customers().to_vec();
        c1[i - 1] = y;
        c2[j - 1] = x;
        return Some(Move { delta, routes: vec![(r1, c1), (r2, c2)] });
    }
    let mut c = s.route(r1).customers().to_vec();
    c.swap(i - 1, j - 1);
    route_segment(inst, &c).breach(inst).is_none().then_some(Move { delta, routes: vec![(r1, c)] })
}
