//! `lrm solve`'s pipeline: the policy constructs solutions for every
//! instance (`decode::solve`), then the anytime search improves each in
//! turn from its best constructions, the instances sharing one time limit,
//! with the policy's RRC as the search's neural re-construction.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use burn::tensor::backend::Backend;

use super::anytime::{search, Reconstruct, Report, SearchOptions};
use super::Rng;
use crate::decode::{self, rrc, Batch, DecodeOptions, Found, Outcome};
use crate::error::Result;
use crate::model::{ModelConfig, Policy};
use crate::problem::{Instance, Solution};

/// What solving one instance gave: the construction's outcome, with its
/// best replaced by the search's when that is better (the replaced one
/// joining the runners-up), and the search's report.
#[derive(Clone, Debug)]
pub struct Solved {
    pub outcome: Outcome,
    /// Cost of the policy's best feasible constructed solution, before the
    /// search; `None` when no rollout was feasible.
    pub constructed_cost: Option<f64>,
    pub report: Report,
    /// Wall time on this instance: its share of the batched construction plus its search.
    pub seconds: f64,
}

/// The policy's RRC on one instance, encoded on first use.
struct Rrc<'a, B: Backend> {
    policy: &'a Policy<B>,
    config: &'a ModelConfig,
    instance: &'a Instance,
    augment: bool,
    device: &'a B::Device,
    batch: Option<Batch<'a, B>>,
    rng: Rng,
}

impl<B: Backend> Reconstruct for Rrc<'_, B> {
    fn propose(&mut self, incumbent: &Solution) -> Result<Vec<Solution>> {
        let batch = self.batch.get_or_insert_with(|| Batch::new(self.policy, self.config, std::slice::from_ref(self.instance), self.augment, self.device));
        Ok(rrc::candidates(batch, &[Some(incumbent.clone())], &mut self.rng)?.pop().unwrap_or_default())
    }
}

/// Construct with `policy` as `decoding` says, then search each instance;
/// `search_options.time_limit` covers the whole call (construction
/// included), shared equally by the instances left. `on_improve(k, found,
/// seconds)` sees every new best feasible solution of instance `k`; times
/// (there and in the reports' traces) count from the start of the call.
/// Every instance's search draws from `search_options.seed` itself, so an
/// instance ends the same whatever other instances the call holds (under an
/// iteration bound; a time limit is shared among them).
#[allow(clippy::too_many_arguments)]
pub fn solve<B: Backend>(
    policy: &Policy<B>,
    config: &ModelConfig,
    instances: &[Instance],
    decoding: &DecodeOptions,
    search_options: &SearchOptions,
    device: &B::Device,
    stop: &AtomicBool,
    on_improve: &mut dyn FnMut(usize, &Found, f64),
) -> Result<Vec<Solved>> {
    let start = Instant::now();
    let decoding = &DecodeOptions { runners_up: true, ..decoding.clone() };
    let outcomes = decode::solve(policy, config, instances, decoding, device)?;
    let construction = start.elapsed().as_secs_f64() / instances.len().max(1) as f64;
    let mut solved = Vec::with_capacity(instances.len());
    for (k, (inst, mut outcome)) in instances.iter().zip(outcomes).enumerate() {
        let mut options = search_options.clone();
        options.time_limit = search_options.time_limit.map(|t| t.saturating_sub(start.elapsed()) / (instances.len() - k) as u32);
        let mut rrc = Rrc { policy, config, instance: inst, augment: decoding.augment, device, batch: None, rng: super::rng(options.seed) };
        let starts: Vec<Solution> = outcome.shown().into_iter().chain(&outcome.runners_up).map(|f| f.solution.clone()).collect();
        let constructed_cost = outcome.cost();
        let searching = Instant::now();
        let offset = start.elapsed().as_secs_f64();
        let mut report = search(inst, &starts, &options, stop, &mut rrc, &mut |found, seconds| on_improve(k, found, offset + seconds))?;
        report.trace.iter_mut().for_each(|i| i.seconds += offset);
        if let Some(found) = &report.best {
            outcome.offer(inst, found.solution.clone());
        }
        solved.push(Solved { outcome, constructed_cost, report, seconds: construction + searching.elapsed().as_secs_f64() });
    }
    Ok(solved)
}
