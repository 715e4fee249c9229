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
//!
//! Training uses the same [`LazyMask`] with [`WhenSpent::Relax`]: a rollout
//! out of budget is relaxed (`Env::relax`) and finishes its tour breaking
//! windows or draft limits, which the penalised reward then charges.

use rayon::prelude::*;

use burn::tensor::backend::Backend;

use super::multistart::{first_nodes, FirstNodes};
use super::{best_of, runner::Batch, DecodeOptions, Outcome, Selector, Starts};
use crate::env::Env;
use crate::error::Result;
use crate::model::features::Refinement;
use crate::problem::RouteState;

/// What a rollout does when it must backtrack and cannot: its budget is
/// spent, or there is no step left to undo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenSpent {
    /// Stop and report the rollout infeasible (decoding).
    Fail,
    /// Finish the tour with every unvisited customer allowed (training).
    Relax,
}

/// The backtracking state of one rollout.
#[derive(Clone, Debug)]
struct Track {
    /// Nodes removed from the mask of each step taken so far (index = step).
    excluded: Vec<Vec<usize>>,
    /// How often each step was backtracked.
    refined: Vec<usize>,
    used: usize,
    failed: bool,
    relaxed: bool,
}

/// The masks of the next step, once every rollout that had to backtrack has.
pub struct LazyStep {
    /// Flat `[rollouts, width]` mask to decode with.
    pub allowed: Vec<bool>,
    /// Rollouts that take an action this step; the others hold.
    pub moving: Vec<bool>,
    /// One entry per step undone since the last call, naming its rollout.
    pub undone: Vec<usize>,
}

/// LazyMask over every rollout of an env.
pub struct LazyMask {
    tracks: Vec<Track>,
    look_ahead: u8,
    budget: usize,
    /// Steps that may not be undone (the forced first node of multi-start).
    floor: usize,
    when_spent: WhenSpent,
}

impl LazyMask {
    pub fn new(env: &Env, look_ahead: u8, budget: usize, floor: usize, when_spent: WhenSpent) -> Self {
        let tracks = (0..env.num_rollouts())
            .map(|r| {
                let depth = env.rollout(r).actions().len();
                Track { excluded: vec![vec![]; depth + 1], refined: vec![0; depth + 1], used: 0, failed: false, relaxed: false }
            })
            .collect();
        LazyMask { tracks, look_ahead, budget, floor, when_spent }
    }

    /// Backtrack every rollout whose lazy mask is empty, until some rollout can
    /// move; `None` when none is left to move.
    pub fn next(&mut self, env: &mut Env) -> Result<Option<LazyStep>> {
        let n = env.num_rollouts();
        let mut undone = vec![];
        loop {
            let rows: Vec<Option<Vec<bool>>> = (0..n).into_par_iter().map(|r| self.row(env, r)).collect();
            let mut moving = vec![false; n];
            for r in 0..n {
                match &rows[r] {
                    Some(row) if row.iter().any(|&a| a) => moving[r] = true,
                    Some(_) if self.backtrack(env, r)? => undone.push(r),
                    _ => {}
                }
            }
            if moving.iter().any(|&m| m) {
                let w = env.width();
                let mut allowed = Vec::with_capacity(n * w);
                for (r, row) in rows.iter().enumerate() {
                    match row {
                        Some(row) if moving[r] => allowed.extend_from_slice(row),
                        _ => allowed.extend_from_slice(env.mask_row(r)),
                    }
                }
                return Ok(Some(LazyStep { allowed, moving, undone }));
            }
            if rows.iter().all(Option::is_none) {
                return Ok(None);
            }
        }
    }

    /// Record that the `moving` rollouts took a step.
    pub fn stepped(&mut self, moving: &[bool]) {
        for (track, _) in self.tracks.iter_mut().zip(moving).filter(|(_, &m)| m) {
            track.excluded.push(vec![]);
            track.refined.push(0);
        }
    }

    /// The refinement intensity of every rollout's current step, for the policy.
    pub fn refinement(&self) -> Refinement {
        Refinement {
            levels: self.tracks.iter().map(|t| t.refined.last().copied().unwrap_or(0)).collect(),
            budget_spent: self.tracks.iter().map(|t| t.used >= self.budget).collect(),
        }
    }

    /// The rollouts that failed ([`WhenSpent::Fail`]).
    pub fn failed(&self) -> Vec<bool> {
        self.tracks.iter().map(|t| t.failed).collect()
    }

    /// The lazy mask of rollout `r`; `None` when it has nothing left to do
    /// (finished, or failed). An all-false row means: backtrack.
    fn row(&self, env: &Env, r: usize) -> Option<Vec<bool>> {
        let (track, roll) = (&self.tracks[r], env.rollout(r));
        if track.failed || (roll.is_done() && !roll.is_dead_end()) {
            return None;
        }
        let mut row = env.mask_row(r).to_vec();
        if track.relaxed {
            return Some(row);
        }
        if roll.is_dead_end() {
            row.fill(false);
            return Some(row);
        }
        for &j in track.excluded.last().into_iter().flatten() {
            row[j] = false;
        }
        let inst = env.instance_of(r);
        let unvisited = roll.unvisited();
        if self.look_ahead == 1 {
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

    /// Undo rollout `r`'s last step and forbid it there; when the budget is
    /// spent or there is no step to undo, fail or relax. Whether it undid one.
    fn backtrack(&mut self, env: &mut Env, r: usize) -> Result<bool> {
        let track = &mut self.tracks[r];
        let depth = env.rollout(r).actions().len();
        if depth <= self.floor || track.used >= self.budget {
            match self.when_spent {
                WhenSpent::Fail => track.failed = true,
                WhenSpent::Relax => {
                    env.relax(r)?;
                    track.relaxed = true;
                }
            }
            return Ok(false);
        }
        let last = env.rollout(r).actions()[depth - 1];
        env.rewind(r, depth - 1);
        track.excluded.pop();
        track.refined.pop();
        track.excluded.last_mut().expect("a level per step").push(last);
        *track.refined.last_mut().expect("a level per step") += 1;
        track.used += 1;
        Ok(true)
    }
}

pub fn decode<B: Backend>(batch: &Batch<B>, options: &DecodeOptions, selector: &mut Selector) -> Result<Vec<Outcome>> {
    let mut env = batch.env(1);
    let floor = if options.starts == Starts::One {
        0
    } else {
        let first = first_nodes(batch, &env, options.starts, FirstNodes::Ranked);
        env = batch.env(first.len() / env.num_instances());
        env.reset(Some(&first))?;
        1
    };
    let mut lazy = LazyMask::new(&env, options.look_ahead, options.backtrack_budget, floor, WhenSpent::Fail);
    while let Some(step) = lazy.next(&mut env)? {
        let w = env.width();
        let log_p = batch.log_probs(&env, &step.allowed, Some(&lazy.refinement()));
        let actions: Vec<Option<usize>> =
            (0..env.num_rollouts()).map(|r| step.moving[r].then(|| selector.choose(&log_p[r * w..(r + 1) * w], &step.allowed[r * w..(r + 1) * w]))).collect();
        env.step_some(&actions)?;
        lazy.stepped(&step.moving);
    }
    Ok(best_of(batch.originals(), &env, Some(&lazy.failed())))
}
