//! One local-search descent: try the operators between each customer and its
//! granular neighbours, take the first improving move that `problem::rules`
//! confirms, and stop at a local optimum.
//!
//! A pair is tried again only when one of its two routes changed since the
//! customer was last tried (Vidal et al. 2012's bookkeeping in HGS), so a
//! descent after ruin and recreate works around the rebuilt routes only.

use rand::seq::SliceRandom;

use super::operators::{new_route, relocate, swap, two_opt, two_opt_star};
use super::routes::{Move, Routes};
use super::Rng;

/// Longest chain that or-opt moves.
const MAX_CHAIN: usize = 3;

/// Improve `s` until no operator finds an improving feasible move between a
/// customer and its neighbours. Returns the number of moves taken.
pub fn descent(s: &mut Routes, neighbours: &[Vec<usize>], rng: &mut Rng) -> usize {
    let n = s.instance().num_customers();
    let mut order: Vec<usize> = (1..=n).collect();
    let mut tried = vec![s.settled(); n + 1];
    let mut moves = 0;
    loop {
        order.shuffle(rng);
        let before = moves;
        for &u in &order {
            while let Some(mv) = improving_move(s, u, &neighbours[u], tried[u]) {
                s.apply(&mv);
                moves += 1;
            }
            tried[u] = s.clock();
        }
        if moves == before {
            s.settle();
            return moves;
        }
    }
}

/// The first confirmed improving move around customer `u`, among pairs
/// with a route changed after `tried`.
fn improving_move(s: &Routes, u: usize, neighbours: &[usize], tried: u64) -> Option<Move> {
    let (ru, _) = s.position(u)?;
    let take = |mv: Option<Move>| mv.filter(|m| s.confirm(m));
    let u_changed = s.route(ru).stamp > tried;
    for &v in neighbours {
        let Some((rv, pv)) = s.position(v) else { continue };
        if !u_changed && s.route(rv).stamp <= tried {
            continue;
        }
        let pu = s.position(u)?.1;
        let found = take(relocate(s, u, 1, (rv, pv), false))
            .or_else(|| take(relocate(s, u, 1, (rv, pv - 1), false)))
            .or_else(|| take(swap(s, u, v)))
            .or_else(|| if ru != rv { take(two_opt_star(s, ru, pu, rv, pv)).or_else(|| take(two_opt_star(s, ru, pu - 1, rv, pv - 1))) } else { None })
            .or_else(|| {
                if ru == rv {
                    take(two_opt(s, ru, pu.min(pv), pu.max(pv))).or_else(|| take(two_opt(s, ru, pu.min(pv) - 1, pu.max(pv) - 1)))
                } else {
                    None
                }
            })
            .or_else(|| (2..=MAX_CHAIN).find_map(|len| take(relocate(s, u, len, (rv, pv), false)).or_else(|| take(relocate(s, u, len, (rv, pv), true)))));
        if found.is_some() {
            return found;
        }
    }
    let spare = s.spare()?;
    let alone = if u_changed { take(relocate(s, u, 1, (spare, 0), false)).or_else(|| take(two_opt_star(s, ru, s.position(u)?.1, spare, 0))) } else { None };
    let changed = |v: usize| u_changed || s.position(v).is_some_and(|(rv, _)| s.route(rv).stamp > tried);
    alone.or_else(|| neighbours.iter().filter(|&&v| changed(v)).find_map(|&v| take(new_route(s, u, v, spare)).or_else(|| take(new_route(s, v, u, spare)))))
}
