//! The batched environment: B instances x P rollouts on the CPU, with rayon.
//!
//! Rollout `r` belongs to instance `r / P`. The mask is one flat row-major
//! `[B * P, width]` array of booleans (`true` = allowed), `width` being the
//! largest node count of the batch; every entry comes from `problem::rules`
//! through [`Rollout`]. Masks follow RouteFinder: the depot is allowed unless
//! the vehicle is at the depot and some customer is feasible; a finished
//! rollout allows only the depot, as a no-op. With a fleet limit (`VEHICLES`)
//! a route may not close while the vehicles left could not serve the
//! customers left (`problem::rules::FleetBound`: capacity and time windows),
//! so a rollout never uses more vehicles than there are; it may dead-end instead.
//! Training may relax a single-tour rollout ([`Env::relax`]): it then finishes
//! breaking rules, and what it overran is measured through `problem::rules`.

mod rollout;

use std::sync::Arc;

use rand::Rng;
use rayon::prelude::*;

pub use rollout::{Forbidden, Rollout};

use crate::error::{Error, Result};
use crate::problem::rules::FleetBound;
use crate::problem::{Instance, Solution};

/// What a decoder needs to know about every rollout at the current step, in
/// the instance's own units (`model::features` normalises). Absent attributes
/// are `f64::INFINITY` (no capacity, no distance limit).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    pub current: Vec<usize>,
    pub available_load: Vec<f64>,
    pub time: Vec<f64>,
    pub remaining_distance: Vec<f64>,
}

/// A copy of every rollout's state and the mask, to come back to.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    rollouts: Vec<Rollout>,
    mask: Vec<bool>,
    per_instance: usize,
}

/// B instances x P rollouts.
pub struct Env {
    instances: Arc<[Instance]>,
    /// Each instance's bound on the routes its customers need (fleet limits).
    fleet: Vec<FleetBound>,
    per_instance: usize,
    width: usize,
    rollouts: Vec<Rollout>,
    mask: Vec<bool>,
}

impl Env {
    /// `per_instance` rollouts of each instance, all at the depot.
    pub fn new(instances: Arc<[Instance]>, per_instance: usize) -> Self {
        assert!(per_instance > 0, "at least one rollout per instance");
        let width = instances.iter().map(Instance::num_nodes).max().unwrap_or(1);
        let fleet = instances.iter().map(FleetBound::new).collect();
        let mut env = Env { instances, fleet, per_instance, width, rollouts: vec![], mask: vec![] };
        env.reset(None).expect("no first nodes to check");
        env
    }

    /// Start again from the depot; with `first_nodes` (one per rollout), take
    /// that first step at once (POMO multi-start).
    pub fn reset(&mut self, first_nodes: Option<&[usize]>) -> Result<()> {
        let p = self.per_instance;
        self.rollouts = (0..self.instances.len() * p).map(|r| Rollout::new(&self.instances[r / p], &self.fleet[r / p])).collect();
        self.mask = vec![false; self.rollouts.len() * self.width];
        self.refresh_masks();
        match first_nodes {
            Some(first) => self.step(first),
            None => Ok(()),
        }
    }

    fn refresh_masks(&mut self) {
        let (p, width, instances) = (self.per_instance, self.width, &self.instances);
        self.rollouts.par_iter_mut().zip(self.mask.par_chunks_mut(width)).enumerate().for_each(|(r, (roll, mask))| {
            roll.fill_mask(&instances[r / p], mask);
        });
    }

    /// Take one action per rollout. An action the mask forbids is an error
    /// naming the rollout, the node and the reason, and nothing is applied.
    pub fn step(&mut self, actions: &[usize]) -> Result<()> {
        let some: Vec<Option<usize>> = actions.iter().map(|&a| Some(a)).collect();
        self.step_some(&some)
    }

    /// Like [`Self::step`], but rollouts whose action is `None` stay where they
    /// are (searches that move some rollouts and hold others).
    pub fn step_some(&mut self, actions: &[Option<usize>]) -> Result<()> {
        if actions.len() != self.rollouts.len() {
            return Err(Error::Failure(format!("step: {} actions for {} rollouts", actions.len(), self.rollouts.len())));
        }
        let forbidden = (0..actions.len()).find_map(|r| actions[r].filter(|&a| !self.allowed(r, a)).map(|a| (r, a)));
        if let Some((r, a)) = forbidden {
            let inst = &self.instances[r / self.per_instance];
            let why = self.rollouts[r].check(inst, a).err();
            return Err(Error::Failure(format!("step: rollout {r} may not go to node {a} ({why:?})")));
        }
        let (p, width, instances) = (self.per_instance, self.width, &self.instances);
        self.rollouts.par_iter_mut().zip(self.mask.par_chunks_mut(width)).enumerate().for_each(|(r, (roll, mask))| {
            if let Some(a) = actions[r] {
                let inst = &instances[r / p];
                roll.apply(inst, a);
                roll.fill_mask(inst, mask);
            }
        });
        Ok(())
    }

    /// Take rollout `r` back to the state after its first `keep` actions
    /// (LazyMask's backtracking). Replaying allowed actions is deterministic.
    /// The mask is computed once, at the end: every recorded action was taken
    /// from a live state, so no step of the replay can be a dead end, and a
    /// mask per replayed step made a backtrack cost O(depth x nodes) rule
    /// checks (most of `lrm solve --starts all`'s time on Solomon's files).
    /// A relaxed rollout is never rewound (LazyMask leaves it be): its
    /// actions may break the rules that a fresh rollout replays them under.
    pub fn rewind(&mut self, r: usize, keep: usize) {
        debug_assert!(!self.rollouts[r].relaxed, "rollout {r} is relaxed: its actions may break the rules");
        let inst = &self.instances[r / self.per_instance];
        let actions = &self.rollouts[r].actions[..keep.min(self.rollouts[r].actions.len())];
        let mut roll = Rollout::new(inst, &self.fleet[r / self.per_instance]);
        for &a in actions {
            roll.apply(inst, a);
        }
        roll.fill_mask(inst, &mut self.mask[r * self.width..(r + 1) * self.width]);
        self.rollouts[r] = roll;
    }

    /// Relax rollout `r` for the rest of its tour (LMask's training fallback
    /// when the backtracking budget is spent): every unvisited customer is
    /// allowed and the rollout records what its visits overrun, for the
    /// penalised reward. Its solution may then break the rules, so only
    /// training relaxes, and it is not rewound afterwards. Single-tour problems (the TSP
    /// family) only: a relaxed capacitated fleet would have no defined overrun.
    pub fn relax(&mut self, r: usize) -> Result<()> {
        let inst = &self.instances[r / self.per_instance];
        if !inst.variant.is_tsp() {
            return Err(Error::Failure(format!("relax: {} is not a single-tour problem (TSP, TSPTW, TSPDL)", inst.variant)));
        }
        let row = &mut self.mask[r * self.width..(r + 1) * self.width];
        self.rollouts[r].relax();
        self.rollouts[r].fill_mask(inst, row);
        Ok(())
    }

    fn allowed(&self, r: usize, j: usize) -> bool {
        j < self.width && self.mask[r * self.width + j]
    }

    /// The flat `[B * P, width]` mask, `true` = allowed.
    pub fn mask(&self) -> &[bool] {
        &self.mask
    }

    /// The mask row of rollout `r`.
    pub fn mask_row(&self, r: usize) -> &[bool] {
        &self.mask[r * self.width..(r + 1) * self.width]
    }

    /// Row width of the mask: the largest node count in the batch.
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn num_instances(&self) -> usize {
        self.instances.len()
    }

    pub fn per_instance(&self) -> usize {
        self.per_instance
    }

    pub fn num_rollouts(&self) -> usize {
        self.rollouts.len()
    }

    pub fn instances(&self) -> &Arc<[Instance]> {
        &self.instances
    }

    pub fn instance_of(&self, r: usize) -> &Instance {
        &self.instances[r / self.per_instance]
    }

    pub fn rollout(&self, r: usize) -> &Rollout {
        &self.rollouts[r]
    }

    /// Done flag of every rollout.
    pub fn done(&self) -> Vec<bool> {
        self.rollouts.iter().map(Rollout::is_done).collect()
    }

    pub fn all_done(&self) -> bool {
        self.rollouts.iter().all(Rollout::is_done)
    }

    /// `[rollouts, width]`: `true` for the depot and the customers not yet
    /// visited (what the heavy decoder re-encodes).
    pub fn available_mask(&self) -> Vec<bool> {
        (0..self.num_rollouts())
            .flat_map(|r| (0..self.width).map(move |j| j < self.instance_of(r).num_nodes() && (j == 0 || !self.rollouts[r].visited(j))))
            .collect()
    }

    /// The node every rollout is at.
    pub fn current_nodes(&self) -> Vec<usize> {
        self.rollouts.iter().map(|r| r.route().node).collect()
    }

    /// The decoder's context for every rollout.
    pub fn context(&self) -> Context {
        let mut c = Context::default();
        for (r, roll) in self.rollouts.iter().enumerate() {
            let inst = self.instance_of(r);
            let route = roll.route();
            c.current.push(route.node);
            c.available_load.push(route.available_load(inst).unwrap_or(f64::INFINITY));
            c.time.push(route.time);
            c.remaining_distance.push(route.remaining_distance(inst).unwrap_or(f64::INFINITY));
        }
        c
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot { rollouts: self.rollouts.clone(), mask: self.mask.clone(), per_instance: self.per_instance }
    }

    pub fn restore(&mut self, s: &Snapshot) {
        self.rollouts.clone_from(&s.rollouts);
        self.mask.clone_from(&s.mask);
        self.per_instance = s.per_instance;
    }

    /// Keep the rollouts at `indices` (flat rollout indices), instance by
    /// instance: the first `len / B` indices must belong to instance 0, the next
    /// to instance 1, and so on. Beam search uses it to keep its best beams;
    /// the number of rollouts per instance may change.
    pub fn select(&mut self, indices: &[usize]) -> Result<()> {
        let b = self.instances.len();
        if indices.is_empty() || !indices.len().is_multiple_of(b) {
            return Err(Error::Failure(format!("select: {} indices for {b} instances", indices.len())));
        }
        let new_p = indices.len() / b;
        if let Some((k, &r)) = indices.iter().enumerate().find(|&(k, &r)| r >= self.rollouts.len() || r / self.per_instance != k / new_p) {
            return Err(Error::Failure(format!("select: index {r} at position {k} is not a rollout of instance {}", k / new_p)));
        }
        let w = self.width;
        self.rollouts = indices.iter().map(|&r| self.rollouts[r].clone()).collect();
        self.mask = indices.iter().flat_map(|&r| self.mask[r * w..(r + 1) * w].iter().copied()).collect();
        self.per_instance = new_p;
        Ok(())
    }

    /// Each rollout's partial or complete solution.
    pub fn solutions(&self) -> Vec<Solution> {
        self.rollouts.iter().map(Rollout::solution).collect()
    }

    /// Each rollout's cost so far (its open route as if closed now).
    pub fn costs(&self) -> Vec<f64> {
        self.rollouts.iter().enumerate().map(|(r, roll)| roll.cost(self.instance_of(r))).collect()
    }

    /// One uniformly random allowed action per rollout (tests, benchmarks, baselines).
    pub fn random_actions(&self, rng: &mut impl Rng) -> Vec<usize> {
        (0..self.rollouts.len())
            .map(|r| {
                let row = self.mask_row(r);
                let allowed = row.iter().filter(|&&m| m).count();
                let pick = rng.random_range(0..allowed.max(1));
                row.iter().enumerate().filter(|(_, &m)| m).nth(pick).map_or(0, |(j, _)| j)
            })
            .collect()
    }
}
