//! The model card a run writes beside each checkpoint: what the weights were
//! trained on (variants, sizes, instances, wall time, hardware, validation),
//! after the history of the model the run started from (`--init`).

use std::path::Path;

use burn::tensor::backend::AutodiffBackend;

use super::Trainer;
use crate::error::{Error, Result};
use crate::model::checkpoint::{self, Stretch, TrainedOn};
use crate::problem::generate::{GeneratorConfig, Problem};
use crate::problem::io::write_atomic;
use crate::problem::variant::MTVRP_NAMES;
use crate::problem::Variant;

impl<B: AutodiffBackend> Trainer<B> {
    /// The largest demand over capacity in a sample of the training
    /// distribution (capacitated problems), for `lrm solve`'s warning.
    fn max_demand_ratio(&self) -> Option<f64> {
        let n = self.config.problem.sizes.bounds()[0];
        self.generators.iter().flat_map(|g| g.generate(n, 16, 0)).filter_map(|inst| inst.max_demand_ratio()).reduce(f64::max)
    }

    /// The model card with what this run trained on, after the history of
    /// the model it started from (`Start::Init`).
    pub(super) fn write_card(&self, path: &Path) -> Result<()> {
        let mut card = checkpoint::read_card(path)?;
        let t = &self.config.trainer;
        let decoder = if t.backtrack_budget.is_some() { "lazymask" } else { "greedy" };
        let stretch = Stretch {
            // Checkpoints from before `config_name` was kept: the run directory's name.
            config: self
                .state
                .config_name
                .clone()
                .or_else(|| self.records.as_ref().and_then(|(run, _)| run.root.file_stem()).map(|n| n.to_string_lossy().to_string()))
                .unwrap_or_default(),
            steps: self.state.step,
            instances: self.state.instances,
            wall_seconds: self.state.wall_seconds,
            hardware: self.state.hardware.clone().unwrap_or_else(|| hardware::<B>(&self.device)),
            score: self.last_validation.get("score").copied(),
            n_layers: Some(self.model.n_layers),
            mixed_score: Some(self.model.mixed_score),
        };
        let now = TrainedOn {
            variants: variant_names(&self.generators, self.cities.is_some()),
            sizes: self.config.problem.sizes.bounds(),
            max_demand_ratio: self.max_demand_ratio(),
            steps: stretch.steps,
            wall_seconds: stretch.wall_seconds,
            instances: stretch.instances,
            distribution: Some(match &self.cities {
                Some((cities, _)) => format!("{} cities, {} sampling", cities.len(), self.config.problem.city_sampling),
                None => self.config.problem.distribution.clone(),
            }),
            decoder: Some(decoder.to_string()),
            validation: self.last_validation.clone(),
            stretches: vec![stretch],
        };
        card.trained_on = Some(match &self.prior {
            Some(prior) => prior.clone().followed_by(now),
            None => now,
        });
        let text = toml::to_string_pretty(&card).map_err(|e| Error::Failure(format!("cannot write the model card: {e}")))?;
        write_atomic(path, text.as_bytes())
    }
}

/// The hardware a run has trained on when it (re)starts at `step` on
/// `now`: `now` for a new run (or a checkpoint that did not record it),
/// unchanged when `now` is where it last ran, else `"... to step N, then
/// now"`, so that a stretch resumed on another machine names both.
pub(super) fn trained_on_so_far(before: Option<String>, step: usize, now: String) -> String {
    match before {
        Some(before) if before == now || before.ends_with(&format!(", then {now}")) => before,
        Some(before) if step > 0 => format!("{before} to step {step}, then {now}"),
        _ => now,
    }
}

/// The backend and processor a run uses, for the model card.
pub(super) fn hardware<B: AutodiffBackend>(device: &B::Device) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|m| m.trim().to_string()))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{} on {cores} cores of {cpu}", B::name(device))
}

/// The variant names the generators produce (RouteFinder's 16 for MIXED),
/// asymmetric when drawn from cities.
pub(super) fn variant_names(generators: &[GeneratorConfig], cities: bool) -> Vec<String> {
    let mut names = vec![];
    for g in generators {
        match g.problem {
            Problem::Variant(v) => names.push(v.to_string()),
            Problem::Mixed { mixed_backhaul } => {
                names.extend(MTVRP_NAMES.iter().map(|n| if mixed_backhaul { n.replacen("PB", "PMB", 1) } else { n.to_string() }))
            }
        }
    }
    if cities {
        names = names.iter().map(|n| n.parse::<Variant>().map_or(n.clone(), |v| Variant { asymmetric: true, ..v }.to_string())).collect();
    }
    names.dedup();
    names
}
