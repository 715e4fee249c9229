//! Scoring decoded solutions against reference costs, in one place for
//! training's validation, `lrm eval`, `lrm bench` and `lrm solve`: the gap,
//! datasets with their references (one length rule), and the per-variant,
//! per-size rows `lrm eval` prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::decode::Outcome;
use crate::error::{Error, Result};
use crate::problem::io::npz::{read_dataset, read_reference};
use crate::problem::io::{read_text, solution};
use crate::problem::{evaluate, Instance};

/// Gap of `cost` to `reference` in %: `100 (cost - reference) / reference`
/// (RouteFinder's and LMask's definition; negative when the reference is beaten).
pub fn gap(cost: f64, reference: f64) -> f64 {
    100.0 * (cost - reference) / reference
}

/// An npz dataset with its reference costs, if any.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub path: PathBuf,
    pub instances: Vec<Instance>,
    /// One cost per instance, in the instance's units.
    pub reference: Option<Vec<f64>>,
}

impl Dataset {
    /// Read `data` and the reference `reference` (`NAME_sol_SOLVER.npz`).
    /// The reference must hold one cost per instance; a NaN cost marks an
    /// instance its solver proved or found infeasible (TSPTW-medium has
    /// some): that instance is left out, with a log line.
    ///
    /// # Errors
    /// Unreadable files, or a reference of another length (both files named).
    pub fn load(data: &Path, reference: Option<&Path>) -> Result<Dataset> {
        let mut instances = read_dataset(data)?;
        let Some(path) = reference else { return Ok(Dataset { path: data.to_path_buf(), instances, reference: None }) };
        let mut costs = read_reference(path)?.0;
        if costs.len() != instances.len() {
            let message = format!("{} reference costs for {} instances in {}", costs.len(), instances.len(), data.display());
            return Err(Error::bad_input(path, None, message));
        }
        let keep: Vec<bool> = costs.iter().map(|c| c.is_finite()).collect();
        if keep.contains(&false) {
            let left = keep.iter().filter(|&&k| !k).count();
            tracing::info!("{}: {left} instances without a reference cost left out", data.display());
            instances = instances.into_iter().zip(&keep).filter(|(_, &k)| k).map(|(i, _)| i).collect();
            costs.retain(|c| c.is_finite());
        }
        Ok(Dataset { path: data.to_path_buf(), instances, reference: Some(costs) })
    }

    /// [`Dataset::load`] with the reference beside the data ([`sibling_reference`]), if any.
    pub fn load_beside(data: &Path) -> Result<Dataset> {
        Dataset::load(data, sibling_reference(data).as_deref())
    }

    /// A short name: the folder and the file stem (`cvrp/50.npz` -> `cvrp50`).
    pub fn name(&self) -> String {
        let stem = self.path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let parent = self.path.parent().and_then(|p| p.file_name()).map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        format!("{parent}{stem}")
    }
}

/// A best-known cost from beside the instance file: a sibling `.sol` or
/// `.opt.tour` (evaluated here, so in this instance's convention), or a
/// `bks.csv` with `file` and `bks` columns.
pub fn best_known(path: &Path, inst: &Instance) -> Option<f64> {
    let stem = path.file_stem()?.to_string_lossy().to_string();
    for sibling in [path.with_file_name(format!("{stem}.sol")), path.with_file_name(format!("{stem}.opt.tour"))] {
        if let Ok(file) = solution::read(&sibling) {
            let eval = evaluate(inst, &file.solution);
            if eval.is_feasible() {
                return Some(eval.cost);
            }
        }
    }
    let csv = read_text(&path.with_file_name("bks.csv")).ok()?;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let (file_col, bks_col) = (header.iter().position(|h| *h == "file")?, header.iter().position(|h| *h == "bks")?);
    let name = path.file_name()?.to_string_lossy().to_string();
    lines.map(|l| l.split(',').collect::<Vec<_>>()).find(|row| row.get(file_col) == Some(&name.as_str()))?.get(bks_col)?.parse().ok()
}

/// `NAME_sol_*.npz` beside `NAME.npz`, the first in name order.
pub fn sibling_reference(path: &Path) -> Option<PathBuf> {
    let stem = path.file_stem()?.to_string_lossy().to_string();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let prefix = format!("{stem}_sol_");
    let mut refs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix) && n.to_string_lossy().ends_with(".npz")))
        .collect();
    refs.sort();
    refs.into_iter().next()
}

/// The datasets under `path`: the file itself, or every `.npz` below a
/// directory that is not a reference file, sorted.
///
/// # Errors
/// An unreadable directory, or one with no dataset.
pub fn find_datasets(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = vec![];
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::reading(&dir, e))? {
            let p = entry.map_err(|e| Error::reading(&dir, e))?.path();
            let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".npz") && !name.contains("_sol_") {
                found.push(p);
            }
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(Error::bad_input(path, None, "no .npz dataset in this directory"));
    }
    Ok(found)
}

/// How a set of outcomes scores.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    pub instances: usize,
    /// Instances with a feasible solution.
    pub solved: usize,
    /// Mean cost over the solved instances.
    pub mean_cost: Option<f64>,
    /// Mean reference cost over the solved instances.
    pub mean_reference: Option<f64>,
    /// Mean gap in % over the solved instances.
    pub gap: Option<f64>,
}

impl Score {
    /// `outcomes[i]` for every `i` of `members`, against `reference[i]`.
    pub fn of(outcomes: &[Outcome], reference: Option<&[f64]>, members: &[usize]) -> Score {
        let solved: Vec<(usize, f64)> = members.iter().filter_map(|&i| outcomes[i].cost().map(|c| (i, c))).collect();
        let mean = |xs: Vec<f64>| if xs.is_empty() { None } else { Some(xs.iter().sum::<f64>() / xs.len() as f64) };
        Score {
            instances: members.len(),
            solved: solved.len(),
            mean_cost: mean(solved.iter().map(|&(_, c)| c).collect()),
            mean_reference: reference.and_then(|r| mean(solved.iter().map(|&(i, _)| r[i]).collect())),
            gap: reference.and_then(|r| mean(solved.iter().map(|&(i, c)| gap(c, r[i])).collect())),
        }
    }

    /// Share of the instances without a feasible solution, 0 to 1.
    pub fn infeasible(&self) -> f64 {
        if self.instances == 0 {
            0.0
        } else {
            1.0 - self.solved as f64 / self.instances as f64
        }
    }

    /// The gap, else the mean cost (no reference): what a sweep or a curve plots.
    pub fn value(&self) -> Option<f64> {
        self.gap.or(self.mean_cost)
    }
}

/// One row of `lrm eval`: a dataset's instances of one variant and size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub dataset: String,
    pub variant: String,
    pub size: usize,
    pub instances: usize,
    pub mean_cost: Option<f64>,
    pub mean_reference: Option<f64>,
    pub gap_percent: Option<f64>,
    pub instance_infeasible_percent: f64,
    /// Rollouts that dead-ended, over all rollouts.
    pub solution_infeasible_percent: f64,
    /// The dataset's time, shared by instance.
    pub time_s: f64,
    pub model: String,
}

/// The columns of `lrm eval`'s CSV, in order: stable, scripts read them.
pub const COLUMNS: [&str; 11] = [
    "dataset",
    "variant",
    "size",
    "instances",
    "mean_cost",
    "mean_reference",
    "gap_percent",
    "instance_infeasible_percent",
    "solution_infeasible_percent",
    "time_s",
    "model",
];

/// One row per variant and size of `dataset` (by variant name, then size in
/// numeric order), `models[i]` naming what decoded instance `i`.
pub fn rows(dataset: &Dataset, outcomes: &[Outcome], models: &[String], seconds: f64) -> Vec<Row> {
    let mut groups: BTreeMap<(String, usize), Vec<usize>> = BTreeMap::new();
    for (i, inst) in dataset.instances.iter().enumerate() {
        groups.entry((inst.variant.to_string(), inst.num_customers())).or_default().push(i);
    }
    let share = seconds / dataset.instances.len().max(1) as f64;
    groups
        .into_iter()
        .map(|((variant, size), members)| {
            let score = Score::of(outcomes, dataset.reference.as_deref(), &members);
            let rollouts: usize = members.iter().map(|&i| outcomes[i].trajectories + outcomes[i].dead_ends).sum();
            let dead: usize = members.iter().map(|&i| outcomes[i].dead_ends).sum();
            Row {
                dataset: dataset.path.display().to_string(),
                variant,
                size,
                instances: members.len(),
                mean_cost: score.mean_cost,
                mean_reference: score.mean_reference,
                gap_percent: score.gap,
                instance_infeasible_percent: 100.0 * score.infeasible(),
                solution_infeasible_percent: 100.0 * dead as f64 / rollouts.max(1) as f64,
                time_s: share * members.len() as f64,
                model: models[members[0]].clone(),
            }
        })
        .collect()
}
