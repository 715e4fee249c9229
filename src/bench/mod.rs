//! `lrm bench`: the seed papers' scaling laws measured on a user's own models,
//! problems and machine. Every measurement is a mean over a dataset, taken in
//! one run, with its wall time; every law is fitted by `fit`.
//! Inference scaling here, model scaling across models (or a ladder the CLI
//! trains), size scaling in `size`, throughput in `throughput`.

pub mod fit;
pub mod ladder;
pub mod memory;
pub mod report;
pub mod size;
pub mod throughput;

use std::time::Instant;

use burn::tensor::backend::Backend;
use serde::Serialize;

use crate::decode::{self, DecodeOptions, Starts, Strategy};
use crate::error::Result;
use crate::eval::Score;
use crate::model::{ModelConfig, Policy};
use crate::problem::Instance;

/// One measured point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    pub model: String,
    /// `trajectories`, `beam` or `rrc`.
    pub axis: &'static str,
    pub x: f64,
    /// Decoded with x8 augmentation (the trajectories axis counts its copies).
    pub augmented: bool,
    /// Mean gap to the reference in %, or the mean cost without one.
    pub score: f64,
    pub seconds: f64,
    /// Instances without a feasible solution.
    pub infeasible: usize,
}

/// The decodings of the inference-scaling sweep for instances of `n` customers:
/// multi-start K = 1, 2, 4, ... n, each without and with x8 augmentation
/// (trajectories K or 8K), beam widths 1 to `max_beam`, and RRC rounds 0 to 16.
pub fn sweep(n: usize, max_beam: usize, augmentable: bool) -> Vec<(&'static str, f64, DecodeOptions)> {
    let mut out = vec![];
    let mut starts: Vec<usize> = std::iter::successors(Some(1usize), |k| Some(k * 2)).take_while(|&k| k < n).collect();
    starts.push(n);
    for aug in [false, true].into_iter().filter(|&a| !a || augmentable) {
        for &k in &starts {
            let starts = if k == 1 { Starts::One } else { Starts::Count(k) };
            let copies = if aug { 8 } else { 1 };
            out.push(("trajectories", (k * copies) as f64, DecodeOptions { starts, augment: aug, ..DecodeOptions::default() }));
        }
    }
    for w in std::iter::successors(Some(1usize), |w| Some(w * 2)).take_while(|&w| w <= max_beam) {
        out.push(("beam", w as f64, DecodeOptions { strategy: Strategy::Beam, beam_width: w, ..DecodeOptions::default() }));
    }
    for r in [0usize, 1, 2, 4, 8, 16] {
        out.push(("rrc", r as f64, DecodeOptions { strategy: Strategy::Rrc, rrc_rounds: r, ..DecodeOptions::default() }));
    }
    out
}

/// Run the sweep on `instances`, scored against `reference` costs when given;
/// `progress` sees each point as it is measured.
#[allow(clippy::too_many_arguments)]
pub fn inference_scaling<B: Backend>(
    name: &str,
    policy: &Policy<B>,
    config: &ModelConfig,
    instances: &[Instance],
    reference: Option<&[f64]>,
    max_beam: usize,
    device: &B::Device,
    mut progress: impl FnMut(&Point),
) -> Result<Vec<Point>> {
    let n = instances.iter().map(Instance::num_customers).max().unwrap_or(1);
    let augmentable = instances.iter().all(|i| decode::augment::applies(i, config));
    let mut points = vec![];
    for (axis, x, options) in sweep(n, max_beam, augmentable) {
        let start = Instant::now();
        let outcomes = decode::solve(policy, config, instances, &options, device)?;
        let seconds = start.elapsed().as_secs_f64();
        let scored = Score::of(&outcomes, reference, &(0..outcomes.len()).collect::<Vec<_>>());
        let score = scored.value().unwrap_or(0.0);
        let point = Point { model: name.to_string(), axis, x, augmented: options.augment, score, seconds, infeasible: scored.instances - scored.solved };
        progress(&point);
        points.push(point);
    }
    Ok(points)
}

/// The fits of one model's sweep: Gap(T) = (T_c / T)^alpha over trajectories,
/// and Gap(t) = a t^-b + c over the wall time of every point.
#[derive(Clone, Debug, Serialize)]
pub struct InferenceFits {
    pub model: String,
    pub trajectories: Option<fit::PowerLaw>,
    pub time: Option<fit::ShiftedPowerLaw>,
}

pub fn inference_fits(model: &str, points: &[Point]) -> InferenceFits {
    let mine: Vec<&Point> = points.iter().filter(|p| p.model == model).collect();
    let trajectories: Vec<(f64, f64)> = mine.iter().filter(|p| p.axis == "trajectories").map(|p| (p.x, p.score)).collect();
    let time: Vec<(f64, f64)> = mine.iter().map(|p| (p.seconds, p.score)).collect();
    InferenceFits { model: model.to_string(), trajectories: fit::power_law(&trajectories), time: fit::shifted_power_law(&time) }
}

/// One model of a model-scaling comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelPoint {
    pub model: String,
    pub parameters: usize,
    pub depth: usize,
    pub width: usize,
    /// The score of greedy multi-start from every customer (T = n, no augmentation).
    pub score: f64,
}

/// Model scaling from the inference sweeps: score against parameters with the
/// power law, and the bivariate law in depth and width when both vary.
pub fn model_scaling(points: &[Point], models: &[(String, ModelConfig)], n: usize) -> (Vec<ModelPoint>, Option<fit::PowerLaw>, Option<fit::Bivariate>) {
    let rows: Vec<ModelPoint> = models
        .iter()
        .filter_map(|(name, c)| {
            let p = points.iter().find(|p| &p.model == name && p.axis == "trajectories" && p.x == n as f64)?;
            Some(ModelPoint { model: name.clone(), parameters: c.num_params(), depth: c.n_layers, width: c.d_model, score: p.score })
        })
        .collect();
    let law = fit::power_law(&rows.iter().map(|r| (r.parameters as f64, r.score)).collect::<Vec<_>>());
    let varies = |f: fn(&ModelPoint) -> usize| rows.iter().any(|r| f(r) != f(&rows[0]));
    let bivariate = (rows.len() >= 3 && varies(|r| r.depth) && varies(|r| r.width))
        .then(|| fit::bivariate(&rows.iter().map(|r| (r.depth as f64, r.width as f64, r.score)).collect::<Vec<_>>()))
        .flatten();
    (rows, law, bivariate)
}
