//! LMask's LazyMask: decode on an overestimated mask and backtrack when a
//! rollout reaches a dead end.
//!
//! The mask of a step is the env's (which `problem::rules` makes exact for the
//! route so far) narrowed by a look-ahead: with L = 2 (LMask's SSL, the
//! default) a node is allowed only when, after it, every customer left could
//! still be served (`RouteState::completion_possible`); with L = 1 (TSL) the
//! step is empty as soon as some customer can no longer be served. Both keep
//! every node that leads to a feasible solution, so the mask overestimates.
//!
//! When a rollout's mask is empty with customers left, it backtracks: the last
//! node is undone and removed from that step's mask, whose refinement
//! intensity (fed to policies with LMask's embedding) goes up by one. Each
//! rollout has a budget of R backtracks; when it runs out, or when the first
//! step itself has nothing left, the rollout is reported infeasible. With an
//! unlimited budget the search is exhaustive, so it finds a feasible solution
//! whenever one exists (LMask's Proposition 4.1). TSPTW and TSPDL as in LMask;
//! the time-window variants of VRP work the same way.

use rayon::prelude::*;

use burn::tensor::backend::Backend;

use super::multistart::first_nodes;
use super::{best_of, runner::Batch, DecodeOptions, Outcome, Selector, Starts};
use crate::env::Env;
use crate::error::Result;
use crate::model::features::Refinement;
use crate::problem::RouteState;

/// The backtracking state of one rollout.
#[derive(Clone, Debug)]
struct Track {
    /// Nodes removed from the mask of each step taken so far (index = step).
    excluded: Vec<Vec<usize>>,
    /// How often each step was backtracked.
    refined: Vec<usize>,
    used: usize,
    failed: bool,
}

impl Track {
    fn new(depth: usize) -> Self {
        Track { excluded: vec![vec![]; depth + 1], refined: vec![0; depth + 1], used: 0, failed: false }
    }
}

pub fn decode<B: Backend>(batch: &Batch<B>, options: &DecodeOptions, selector: &mut Selector) -> Result<Vec<Outcome>> {
    let mut env = batch.env(1);
    let floor = if options.starts == Starts::One {
        0
    } else {
        let first = first_nodes(batch, &env, options.starts);
        env = batch.env(first.len() / env.num_instances());
        env.reset(Some(&first))?;
        1
    };
    let n = env.num_rollouts();
    let mut tracks: Vec<Track> = (0..n).map(|r| Track::new(env.rollout(r).actions().len())).collect();
    loop {
        let w = env.width();
        let rows: Vec<Option<Vec<bool>>> = (0..n).into_par_iter().map(|r| lazy_row(&env, r, &tracks[r], options.look_ahead)).collect();
        let mut moving = vec![false; n];
        let mut any_backtrack = false;
        for r in 0..n {
            match &rows[r] {
                Some(row) if row.iter().any(|&a| a) => moving[r] = true,
                Some(_) => {
                    backtrack(&mut env, r, &mut tracks[r], options.backtrack_budget, floor);
                    any_backtrack = true;
                }
                None => {}
            }
        }
        if !moving.iter().any(|&m| m) {
            if any_backtrack {
                continue;
            }
            break;
        }
        let mut allowed = Vec::with_capacity(n * w);
        for r in 0..n {
            match &rows[r] {
                Some(row) if moving[r] => allowed.extend_from_slice(row),
                _ => allowed.extend_from_slice(env.mask_row(r)),
            }
        }
        let refinement = Refinement {
            levels: (0..n).map(|r| tracks[r].refined.last().copied().unwrap_or(0)).collect(),
            budget_spent: tracks.iter().map(|t| t.used >= options.backtrack_budget).collect(),
        };
        let log_p = batch.log_probs(&env, &allowed, Some(&refinement));
        let actions: Vec<Option<usize>> =
            (0..n).map(|r| moving[r].then(|| selector.choose(&log_p[r * w..(r + 1) * w], &allowed[r * w..(r + 1) * w]))).collect();
        env.step_some(&actions)?;
        for r in (0..n).filter(|&r| moving[r]) {
            tracks[r].excluded.push(vec![]);
            tracks[r].refined.push(0);
        }
    }
    let failed: Vec<bool> = tracks.iter().map(|t| t.failed).collect();
    Ok(best_of(batch.originals(), &env, Some(&failed)))
}

/// The lazy mask of rollout `r`; `None` when it has nothing left to do
/// (finished, or failed). An all-false row means: backtrack.
fn lazy_row(env: &Env, r: usize, track: &Track, look_ahead: u8) -> Option<Vec<bool>> {
    let roll = env.rollout(r);
    if track.failed || (roll.is_done() && !roll.is_dead_end()) {
        return None;
    }
    let mut row = env.mask_row(r).to_vec();
    if roll.is_dead_end() {
        row.fill(false);
        return Some(row);
    }
    for &j in track.excluded.last().into_iter().flatten() {
        row[j] = false;
    }
    let inst = env.instance_of(r);
    let unvisited = roll.unvisited();
    if look_ahead == 1 {
        if !roll.route().completion_possible(inst, &unvisited) {
            row.fill(false);
        }
        return Some(row);
    }
    for (j, allowed) in row.iter_mut().enumerate() {
        if !*allowed {
            continue;
        }
        let after = if j == 0 {
            RouteState::start(inst, roll.route().planned_linehaul)
        } else {
            let mut s = roll.route().clone();
            s.visit(inst, j);
            s
        };
        let left: Vec<usize> = unvisited.iter().copied().filter(|&k| k != j).collect();
        *allowed = after.completion_possible(inst, &left);
    }
    Some(row)
}

/// Undo rollout `r`'s last step and forbid it there; fail when the budget is
/// spent or there is no step to undo.
fn backtrack(env: &mut Env, r: usize, track: &mut Track, budget: usize, floor: usize) {
    let depth = env.rollout(r).actions().len();
    if depth <= floor || track.used >= budget {
        track.failed = true;
        return;
    }
    let last = env.rollout(r).actions()[depth - 1];
    env.rewind(r, depth - 1);
    track.excluded.pop();
    track.refined.pop();
    track.excluded.last_mut().expect("a level per step").push(last);
    *track.refined.last_mut().expect("a level per step") += 1;
    track.used += 1;
}
