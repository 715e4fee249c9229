//! Relocate: move a chain of consecutive customers (one customer; two or
//! three for or-opt) to right after another node, in the same route or
//! another, in its own orientation or reversed.

use crate::problem::rules::route_segment;
use crate::search::routes::{Move, Piece, Routes};

/// Move the `len` customers starting at customer `u` to right after node
/// `to = (route, position)` (position 0: the start depot), reversed when
/// `reversed`. `None` when the move is not possible, does not improve the
/// cost by more than [`super::IMPROVEMENT`], or breaks a rule.
pub fn relocate(s: &Routes, u: usize, len: usize, to: (usize, usize), reversed: bool) -> Option<Move> {
    let (r1, i) = s.position(u)?;
    let (r2, j) = to;
    let (route1, route2) = (s.route(r1), s.route(r2));
    let end1 = route1.nodes.len() - 1;
    if len == 0 || i + len > end1 || j + 1 >= route2.nodes.len() || (r1 == r2 && j + 1 >= i && j < i + len) {
        return None;
    }
    let arcs = s.arcs;
    let n1 = &route1.nodes;
    let (a, b) = (n1[i - 1], n1[i + len]);
    let (head, tail) = (n1[i], n1[i + len - 1]);
    let (c0, cl) = if reversed { (tail, head) } else { (head, tail) };
    let (p, q) = (route2.nodes[j], route2.nodes[j + 1]);
    let inner_old = route1.forward_length(i, i + len - 1);
    let inner_new = if reversed { route1.backward_length(i, i + len - 1) } else { inner_old };
    let delta = arcs.get(a, b) - arcs.get(a, head) - arcs.get(tail, b) + inner_new - inner_old + arcs.get(p, c0) + arcs.get(cl, q) - arcs.get(p, q);
    if delta >= -super::IMPROVEMENT {
        return None;
    }
    let mut chain = n1[i..i + len].to_vec();
    if reversed {
        chain.reverse();
    }
    let inst = s.instance();
    if r1 != r2 {
        let left = route1.prefix(i - 1).then(&route1.suffix(i + len), arcs);
        let chain_piece = chain.iter().fold(Piece::EMPTY, |acc, &c| acc.then(&Piece::customer(inst, c), arcs));
        let joined = route2.prefix(j).then(&chain_piece, arcs).then(&route2.suffix(j + 1), arcs);
        if !left.feasible(inst) || !joined.feasible(inst) {
            return None;
        }
        let kept: Vec<usize> = n1[1..i].iter().chain(&n1[i + len..end1]).copied().collect();
        let c2 = route2.customers();
        let grown: Vec<usize> = c2[..j].iter().chain(&chain).chain(&c2[j..]).copied().collect();
        return Some(Move { delta, routes: vec![(r1, kept), (r2, grown)] });
    }
    let mut rest: Vec<usize> = n1[1..i].iter().chain(&n1[i + len..end1]).copied().collect();
    let at = if p == 0 { 0 } else { rest.iter().position(|&c| c == p)? + 1 };
    rest.splice(at..at, chain);
    route_segment(inst, &rest).breach(inst).is_none().then_some(Move { delta, routes: vec![(r1, rest)] })
}
