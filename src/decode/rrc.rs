//! RRC, LEHD's random re-construction: take the incumbent, pick a random
//! segment of it, re-decode the segment greedily with the policy while the
//! rest stays as it was, and keep the result when it is feasible and cheaper.
//!
//! The incumbent is first rearranged as LEHD does for CVRP: its routes are
//! shuffled and, where that changes neither cost nor feasibility (closed,
//! symmetric routes with no windows, backhauls or draft limits), each is
//! reversed with probability 1/2, so segments span route boundaries in many
//! ways. The segment is a window of the env's action sequence (depot returns
//! included), of length uniform in [4, L] as in LEHD. Re-decoding replays the
//! prefix, lets the policy choose among the segment's customers (and the
//! depot, so routes may be split or joined) until all are served, then replays
//! the suffix; any step the rules forbid sinks that candidate. The env checks
//! every step, and `Outcome::offer` evaluates the result, so a repair is
//! feasible under every rule, windows and limits included.

use std::collections::VecDeque;

use rand::seq::SliceRandom;
use rand::Rng as _;

use burn::tensor::backend::Backend;

use super::sampling::{argmax, Rng};
use super::{runner::Batch, Outcome};
use crate::env::Env;
use crate::error::Result;
use crate::problem::{Backhaul, Instance, Solution};

/// Segments re-decoded per instance and augmentation copy in one round.
pub const SEGMENTS: usize = 8;
/// LEHD's shortest segment.
const MIN_SEGMENT: usize = 4;

/// One candidate: what to replay, what to re-decode, what to replay after.
#[derive(Clone, Debug, Default)]
struct Plan {
    prefix: VecDeque<usize>,
    in_segment: Vec<bool>,
    left: usize,
    suffix: VecDeque<usize>,
    failed: bool,
}

impl Plan {
    /// The forced next action, if the plan has one now.
    fn forced(&self) -> Option<usize> {
        match (self.prefix.front(), self.left) {
            (Some(&a), _) => Some(a),
            (None, 0) => self.suffix.front().copied(),
            _ => None,
        }
    }

    fn took(&mut self, a: usize) {
        if self.prefix.pop_front().is_none() {
            if self.left == 0 {
                self.suffix.pop_front();
            } else if self.in_segment[a] {
                self.in_segment[a] = false;
                self.left -= 1;
            }
        }
    }
}

/// Whether reversing a route keeps its cost and feasibility.
fn reversible(inst: &Instance) -> bool {
    let v = &inst.variant;
    !v.open && !v.asymmetric && inst.time_windows.is_none() && inst.backhaul_rule() == Backhaul::None && inst.draft_limit.is_none()
}

/// The incumbent's env actions after LEHD's rearrangement, then a random window of it.
fn plan(inst: &Instance, incumbent: &Solution, rng: &mut Rng) -> Plan {
    let mut routes = incumbent.routes.clone();
    routes.shuffle(rng);
    if reversible(inst) {
        routes.iter_mut().filter(|_| rng.random_bool(0.5)).for_each(|r| r.reverse());
    }
    let actions: Vec<usize> = routes.iter().flat_map(|r| r.iter().copied().chain(std::iter::once(0))).collect();
    let len = actions.len();
    let m = rng.random_range(MIN_SEGMENT.min(len)..=len);
    let s = rng.random_range(0..=len - m);
    let mut in_segment = vec![false; inst.num_nodes()];
    for &a in &actions[s..s + m] {
        in_segment[a] = a != 0;
    }
    let left = in_segment.iter().filter(|&&x| x).count();
    Plan { prefix: actions[..s].iter().copied().collect(), in_segment, left, suffix: actions[s + m..].iter().copied().collect(), failed: false }
}

/// One round: `SEGMENTS` re-decoded segments per instance (and copy); each
/// instance's incumbent is replaced by its best cheaper candidate.
pub fn improve<B: Backend>(batch: &Batch<B>, outcomes: &mut [Outcome], rng: &mut Rng) -> Result<()> {
    let incumbents: Vec<Option<Solution>> = outcomes.iter().map(|o| o.best.as_ref().map(|f| f.solution.clone())).collect();
    for (i, found) in candidates(batch, &incumbents, rng)?.into_iter().enumerate() {
        for solution in found {
            outcomes[i].trajectories += 1;
            outcomes[i].offer(&batch.originals()[i], solution);
        }
    }
    Ok(())
}

/// One round's candidates: `SEGMENTS` segments of each incumbent (one per
/// original instance of `batch`, `None` to skip it) re-decoded per
/// augmentation copy; the complete ones come back per instance, not yet
/// evaluated (the anytime search descends from them).
pub fn candidates<B: Backend>(batch: &Batch<B>, incumbents: &[Option<Solution>], rng: &mut Rng) -> Result<Vec<Vec<Solution>>> {
    let mut env = batch.env(SEGMENTS);
    let per_original = env.num_rollouts() / incumbents.len();
    let mut plans: Vec<Plan> = (0..env.num_rollouts())
        .map(|r| match &incumbents[r / per_original] {
            Some(solution) => plan(env.instance_of(r), solution, rng),
            None => Plan { failed: true, ..Plan::default() },
        })
        .collect();
    while replay(&mut env, &mut plans)? {
        let w = env.width();
        let mut allowed = env.mask().to_vec();
        let deciding: Vec<bool> = (0..plans.len()).map(|r| !plans[r].failed && !env.rollout(r).is_done()).collect();
        for r in 0..plans.len() {
            if !deciding[r] || plans[r].left == 0 {
                continue;
            }
            let row = &mut allowed[r * w..(r + 1) * w];
            for (j, a) in row.iter_mut().enumerate() {
                *a &= j == 0 || plans[r].in_segment[j];
            }
            if !row.iter().any(|&a| a) {
                plans[r].failed = true;
                row.copy_from_slice(env.mask_row(r));
            }
        }
        let log_p = batch.log_probs(&env, &allowed, None);
        let actions: Vec<Option<usize>> =
            (0..plans.len()).map(|r| (deciding[r] && !plans[r].failed).then(|| argmax(&log_p[r * w..(r + 1) * w], &allowed[r * w..(r + 1) * w]))).collect();
        env.step_some(&actions)?;
        for (plan, a) in plans.iter_mut().zip(&actions) {
            if let Some(a) = a {
                plan.took(*a);
            }
        }
    }
    let mut found = vec![vec![]; incumbents.len()];
    for (r, plan) in plans.iter().enumerate() {
        let roll = env.rollout(r);
        if !plan.failed && roll.is_done() && !roll.is_dead_end() {
            found[r / per_original].push(roll.solution());
        }
    }
    Ok(found)
}

/// Take every forced step there is; `true` while some rollout still needs the policy.
/// A forced depot return where no route is open (the policy already closed it)
/// is dropped.
fn replay(env: &mut Env, plans: &mut [Plan]) -> Result<bool> {
    loop {
        let mut actions = vec![None; plans.len()];
        for (r, plan) in plans.iter_mut().enumerate() {
            let roll = env.rollout(r);
            while plan.forced() == Some(0) && (roll.is_done() || roll.route().visits == 0) {
                plan.took(0);
            }
            match plan.forced().filter(|_| !plan.failed) {
                Some(a) if env.mask_row(r)[a] => actions[r] = Some(a),
                Some(_) => plan.failed = true,
                None => {}
            }
        }
        if actions.iter().all(Option::is_none) {
            return Ok((0..plans.len()).any(|r| !plans[r].failed && !env.rollout(r).is_done()));
        }
        env.step_some(&actions)?;
        for (plan, a) in plans.iter_mut().zip(&actions) {
            if let Some(a) = a {
                plan.took(*a);
            }
        }
    }
}
