//! 2-opt within a route: reverse the path between two positions. On an
//! asymmetric matrix the reversed path's own length changes too; it comes
//! from the route's backward prefix lengths in constant time.

use crate::problem::rules::route_segment;
use crate::problem::{Backhaul, Instance};
use crate::search::routes::{Move, Routes};

/// Reverse `nodes[i+1..=j]` of route `r` (`0 <= i`, `i + 1 < j`, `j` before
/// the end depot). `None` when the move does not improve the cost by more
/// than [`super::IMPROVEMENT`], or breaks a rule.
pub fn two_opt(s: &Routes, r: usize, i: usize, j: usize) -> Option<Move> {
    let route = s.route(r);
    let n = &route.nodes;
    if i + 1 >= j || j + 1 >= n.len() {
        return None;
    }
    let arcs = s.arcs;
    let d = |a: usize, b: usize| arcs.get(a, b);
    let inner = route.backward_length(i + 1, j) - route.forward_length(i + 1, j);
    let delta = d(n[i], n[j]) + d(n[i + 1], n[j + 1]) - d(n[i], n[i + 1]) - d(n[j], n[j + 1]) + inner;
    if delta >= -super::IMPROVEMENT {
        return None;
    }
    let mut c = route.customers().to_vec();
    c[i..j].reverse();
    let inst = s.instance();
    let feasible = order_free(inst) && inst.distance_limit.is_none() || route_segment(inst, &c).breach(inst).is_none();
    feasible.then_some(Move { delta, routes: vec![(r, c)] })
}

/// Whether the order of visits matters to no rule but the length: no time
/// windows, backhauls or draft limits.
fn order_free(inst: &Instance) -> bool {
    inst.time_windows.is_none() && inst.backhaul_rule() == Backhaul::None && inst.draft_limit.is_none()
}
