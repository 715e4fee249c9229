//! `lrm solve INSTANCE...`: decode instance files with a policy, evaluate,
//! write `.sol` files and report cost, routes, time and the gap to a
//! best-known cost when one is known.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use serde_json::json;

use super::decoding::DecodeArgs;
use crate::backend::{run_on, BackendJob};
use crate::decode::{self, augment, DecodeOptions, Outcome};
use crate::error::{Error, Result};
use crate::model::checkpoint::ModelCard;
use crate::model::shipped::ModelSource;
use crate::problem::instance::fmt_num;
use crate::problem::io::{read_instance, read_text, solution};
use crate::problem::{evaluate, Instance, Rounding};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Instance files: VRPLIB/TSPLIB (.vrp .tsp .atsp) or Solomon .txt. Many are solved in one batch.
    #[arg(required = true)]
    instances: Vec<PathBuf>,
    #[command(flatten)]
    decoding: DecodeArgs,
    /// Where the solutions go: FILE.sol for one instance, a directory for several.
    /// Default: NAME.lrm.sol in the current directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Best-known cost of the (single) instance, for the gap. Without it, a
    /// sibling NAME.sol or NAME.opt.tour, or a bks.csv beside the file, is used.
    #[arg(long)]
    bks: Option<f64>,
    /// Override the distance rule of coordinates: nint, exact, ceil or trunc1.
    #[arg(long)]
    round: Option<Rounding>,
    /// One JSON object per instance.
    #[arg(long)]
    json: bool,
}

/// Decodes on the chosen backend, without autodiff.
struct Solve<'a> {
    model: &'a ModelSource,
    instances: &'a [Instance],
    options: &'a DecodeOptions,
}

impl BackendJob for Solve<'_> {
    type Output = Vec<Outcome>;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Vec<Outcome>> {
        let (policy, card) = self.model.load::<B::InnerBackend>(&device)?;
        decode::solve(&policy, &card.model, self.instances, self.options, &device)
    }
}

/// Exit status 1 when some instance got no feasible solution.
pub fn run(a: Args) -> Result<i32> {
    if a.bks.is_some() && a.instances.len() > 1 {
        return Err(Error::bad_input("--bks", None, "a best-known cost belongs to one instance; give one file, or put the costs in a bks.csv"));
    }
    let instances = a.instances.iter().map(|p| read_instance(p, a.round)).collect::<Result<Vec<_>>>()?;
    let options = a.decoding.options()?;
    let model = a.decoding.model();
    let card = model.card()?;
    for inst in &instances {
        warn_outside_training(&card, inst);
        if options.augment && !augment::applies(inst) {
            tracing::warn!("{}: x8 augmentation does not apply to an explicit matrix; decoding it without", inst.name);
        }
    }
    let start = Instant::now();
    let outcomes = run_on(a.decoding.device, Solve { model: &model, instances: &instances, options: &options })?;
    let per_instance = start.elapsed().as_secs_f64() / instances.len() as f64;
    let mut all_feasible = true;
    for (k, (inst, outcome)) in instances.iter().zip(&outcomes).enumerate() {
        let bks = match a.bks {
            Some(b) => Some(b),
            None => best_known(&a.instances[k], inst),
        };
        let written = match outcome.best.as_ref().or(outcome.fallback.as_ref()) {
            Some(found) => {
                let path = out_path(a.out.as_deref(), inst, instances.len())?;
                solution::write(&path, &found.solution, found.evaluation.cost)?;
                Some(path)
            }
            None => None,
        };
        all_feasible &= outcome.best.is_some();
        let line = report(inst, outcome, bks, per_instance, written.as_deref());
        if a.json {
            println!("{}", super::json_line(&line));
        } else {
            println!("{}", text(&line));
        }
    }
    Ok(if all_feasible { 0 } else { 1 })
}

/// Where one instance's solution goes.
fn out_path(out: Option<&Path>, inst: &Instance, count: usize) -> Result<PathBuf> {
    let file = format!("{}.lrm.sol", inst.name);
    match out {
        None => Ok(PathBuf::from(file)),
        Some(p) if count == 1 && p.extension().is_some_and(|e| e == "sol") => Ok(p.to_path_buf()),
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::writing(dir, e))?;
            Ok(dir.join(file))
        }
    }
}

fn report(inst: &Instance, outcome: &Outcome, bks: Option<f64>, seconds: f64, written: Option<&Path>) -> serde_json::Value {
    let shown = outcome.best.as_ref().or(outcome.fallback.as_ref());
    let cost = shown.map(|f| f.evaluation.cost);
    let gap = match (outcome.cost(), bks) {
        (Some(c), Some(b)) if b > 0.0 => Some(100.0 * (c - b) / b),
        _ => None,
    };
    json!({
        "instance": inst.name,
        "feasible": outcome.best.is_some(),
        "cost": cost,
        "routes": shown.map(|f| f.evaluation.routes),
        "bks": bks,
        "gap_percent": gap,
        "time_s": seconds,
        "trajectories": outcome.trajectories,
        "dead_ends": outcome.dead_ends,
        "violation": shown.and_then(|f| f.evaluation.violation.as_ref()).map(|v| v.to_string()),
        "solution": written.map(|p| p.display().to_string()),
    })
}

fn text(r: &serde_json::Value) -> String {
    let name = r["instance"].as_str().unwrap_or_default();
    let mut line = format!("{name}  ");
    match (r["feasible"].as_bool(), r["cost"].as_f64()) {
        (Some(true), Some(c)) => line += &format!("cost {}  routes {}", fmt_num(c), r["routes"]),
        (_, Some(c)) => line += &format!("INFEASIBLE ({})  cost {}", r["violation"].as_str().unwrap_or("?"), fmt_num(c)),
        _ => line += &format!("no feasible solution found ({} dead ends)", r["dead_ends"]),
    }
    if let Some(g) = r["gap_percent"].as_f64() {
        line += &format!("  gap {g:.2}% (bks {})", fmt_num(r["bks"].as_f64().unwrap_or(0.0)));
    }
    line += &format!("  time {:.2}s", r["time_s"].as_f64().unwrap_or(0.0));
    if let Some(p) = r["solution"].as_str() {
        line += &format!("  -> {p}");
    }
    line
}

/// A best-known cost from beside the instance file: a sibling `.sol` or
/// `.opt.tour` (evaluated here, so in this instance's convention), or a
/// `bks.csv` with `file` and `bks` columns.
fn best_known(path: &Path, inst: &Instance) -> Option<f64> {
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

/// Say so when an instance lies outside what the model card says it was trained on.
fn warn_outside_training(card: &ModelCard, inst: &Instance) {
    let Some(t) = &card.trained_on else { return };
    let n = inst.num_customers();
    if n < t.sizes[0] || n > t.sizes[1] {
        tracing::warn!("{}: {n} customers, outside the sizes the model was trained on ({}..={})", inst.name, t.sizes[0], t.sizes[1]);
    }
    let variant = inst.variant.to_string();
    if !t.variants.is_empty() && !t.variants.contains(&variant) {
        tracing::warn!("{}: the model was not trained on {variant} (trained on {})", inst.name, t.variants.join(", "));
    }
    if let (Some(q), Some(max)) = (inst.capacity.filter(|_| !inst.variant.is_tsp()), t.max_demand_ratio) {
        let ratio = inst.linehaul.iter().copied().fold(0.0, f64::max) / q;
        if ratio > max {
            tracing::warn!("{}: largest demand / capacity {ratio:.3}, above the {max:.3} seen in training", inst.name);
        }
    }
}
