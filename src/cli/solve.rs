//! `lrm solve INSTANCE...`: construct with a policy, improve by the anytime
//! search, evaluate, write `.sol` files (atomically, each time the best
//! improves) and report cost, routes, time and the gap to a best-known cost
//! when one is known.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use burn::tensor::backend::AutodiffBackend;
use serde_json::json;

use super::decoding::DecodeArgs;
use super::shared::{JsonArg, RoundArg};
use crate::backend::{run_on, BackendJob};
use crate::decode::{augment, DecodeOptions, Found};
use crate::error::{Error, Result};
use crate::model::zoo::ModelSource;
use crate::plot;
use crate::problem::instance::fmt_num;
use crate::problem::io::{read_instance, solution};
use crate::problem::Instance;
use crate::search::solve::Solved;
use crate::search::{self, SearchOptions};

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
    #[command(flatten)]
    rounding: RoundArg,
    /// Draw the routes: FILE.svg or FILE.png for one instance, a directory
    /// (NAME.svg each) for several. Instances need coordinates.
    #[arg(long)]
    plot: Option<PathBuf>,
    #[command(flatten)]
    output: JsonArg,
    /// Bound the search by ruin-and-recreate iterations (per instance)
    /// instead of time: the result is then deterministic under --seed.
    #[arg(long)]
    iterations: Option<usize>,
    /// Share of the search's time spent on the policy's re-construction of
    /// segments (RRC), 0 to 1; 0: local search and ruin-and-recreate only.
    #[arg(long, default_value_t = 0.2)]
    neural_share: f64,
}

/// Constructs and searches on the chosen backend, without autodiff.
struct Solve<'a> {
    model: &'a ModelSource,
    instances: &'a [Instance],
    decoding: &'a DecodeOptions,
    search: &'a SearchOptions,
    stop: &'a AtomicBool,
    on_improve: &'a mut dyn FnMut(usize, &Found, f64),
}

impl BackendJob for Solve<'_> {
    type Output = Vec<Solved>;
    /// Each group of instances with its model (see [`ModelSource::assign`]);
    /// a time limit is shared among the groups by their number of instances.
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Vec<Solved>> {
        let mut solved: Vec<Option<Solved>> = (0..self.instances.len()).map(|_| None).collect();
        for (source, members) in self.model.assign(self.instances) {
            let (policy, card) = source.load::<B::InnerBackend>(&device)?;
            let subset: Vec<Instance> = members.iter().map(|&k| self.instances[k].clone()).collect();
            let share = members.len() as f64 / self.instances.len() as f64;
            let search = SearchOptions { time_limit: self.search.time_limit.map(|t| t.mul_f64(share)), ..self.search.clone() };
            let mut on_improve = |j: usize, found: &Found, seconds: f64| (self.on_improve)(members[j], found, seconds);
            let out = search::solve(&policy, &card.model, &subset, self.decoding, &search, &device, self.stop, &mut on_improve)?;
            for (&k, s) in members.iter().zip(out) {
                solved[k] = Some(s);
            }
        }
        Ok(solved.into_iter().map(|s| s.expect("every instance is in one group")).collect())
    }
}

/// Exit status 1 when some instance got no feasible solution. Ctrl-C stops
/// the search and reports the best so far.
pub fn run(a: Args) -> Result<i32> {
    if a.bks.is_some() && a.instances.len() > 1 {
        return Err(Error::bad_input("--bks", None, "a best-known cost belongs to one instance; give one file, or put the costs in a bks.csv"));
    }
    if !(0.0..=1.0).contains(&a.neural_share) {
        return Err(Error::bad_input("--neural-share", None, format!("{}: expected a share from 0 to 1", a.neural_share)));
    }
    let instances = a.instances.iter().map(|p| read_instance(p, a.rounding.round)).collect::<Result<Vec<_>>>()?;
    let plots = match &a.plot {
        Some(p) => Some(instances.iter().map(|inst| plot_path(p, inst, instances.len())).collect::<Result<Vec<_>>>()?),
        None => None,
    };
    let mut decoding = a.decoding.solve_options(a.iterations.is_some())?;
    let search = SearchOptions {
        time_limit: decoding.time_limit.take(),
        iterations: a.iterations,
        neural_share: a.neural_share,
        seed: decoding.seed,
        ..SearchOptions::default()
    };
    let model = a.decoding.model()?;
    warn_outside_training(&model, &instances, &decoding)?;
    let bks: Vec<Option<f64>> = a.instances.iter().zip(&instances).map(|(p, inst)| a.bks.or_else(|| crate::eval::best_known(p, inst))).collect();
    let paths = instances.iter().map(|inst| out_path(a.out.as_deref(), inst, instances.len())).collect::<Result<Vec<_>>>()?;
    let stop = stop_on_ctrl_c();
    let progress = indicatif::ProgressBar::new_spinner();
    let mut write_error = None;
    let mut on_improve = |k: usize, found: &Found, seconds: f64| {
        let best = format!("best {}{}", fmt_num(found.evaluation.cost), gap_text(gap(Some(found.evaluation.cost), bks[k])));
        progress.set_message(format!("{}  {best}  {seconds:.1}s", instances[k].name));
        progress.tick();
        if let Err(e) = solution::write(&paths[k], &found.solution, found.evaluation.cost) {
            write_error.get_or_insert(e);
        }
    };
    let job = Solve { model: &model, instances: &instances, decoding: &decoding, search: &search, stop: &stop, on_improve: &mut on_improve };
    let solved = run_on(a.decoding.backend.device, job)?;
    progress.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e);
    }
    for (k, (inst, s)) in instances.iter().zip(&solved).enumerate() {
        if let Some(found) = s.outcome.shown() {
            solution::write(&paths[k], &found.solution, found.evaluation.cost)?;
        }
        if let Some(plots) = &plots {
            plot_routes(&plots[k], inst, s, bks[k])?;
        }
        let mut line = report(inst, s, bks[k], s.outcome.shown().map(|_| paths[k].as_path()));
        line["model"] = json!(model.resolve(inst).name());
        let used = decoding.used_on(inst, &model.resolve(inst).card()?.model);
        line["decoder"] = json!(used.strategy.to_string());
        line["starts"] = json!(used.starts.to_string());
        line["aug"] = json!(if used.augment { augment::DIHEDRAL } else { 1 });
        println!("{}", if a.output.json { super::json_line(&line) } else { text(&line) });
    }
    Ok(if solved.iter().all(|s| s.outcome.best.is_some()) { 0 } else { 1 })
}

/// Warns of each instance outside its model's training (size, demand ratio,
/// horizon) and of x8 asked for where it does not apply.
fn warn_outside_training(model: &ModelSource, instances: &[Instance], decoding: &DecodeOptions) -> Result<()> {
    for inst in instances {
        let card = model.resolve(inst).card()?;
        for warning in card.outside_training(inst) {
            tracing::warn!("{}: {warning}", inst.name);
        }
        if decoding.augment && !augment::applies(inst, &card.model) {
            tracing::warn!("{}: x8 augmentation does not apply to an explicit matrix; decoding it without", inst.name);
        }
    }
    Ok(())
}

/// A flag that Ctrl-C sets, for the search to stop at and report its best.
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)) {
        tracing::warn!("Ctrl-C will not stop the search cleanly: {e}");
    }
    stop
}

/// Draws the solution shown for `inst` (none when there is none), its title
/// marked INFEASIBLE when it is the fallback.
fn plot_routes(path: &Path, inst: &Instance, s: &Solved, bks: Option<f64>) -> Result<()> {
    let Some(found) = s.outcome.shown() else { return Ok(()) };
    let verdict = if s.outcome.best.is_some() { "" } else { ", INFEASIBLE" };
    let gap = gap_text(gap(s.outcome.cost(), bks)).replace("  gap", ", gap");
    plot::routes::write(path, inst, &found.solution, &format!("{}: cost {}{verdict}{gap}", inst.name, fmt_num(found.evaluation.cost)))
}

fn gap(cost: Option<f64>, bks: Option<f64>) -> Option<f64> {
    match (cost, bks) {
        (Some(c), Some(b)) if b > 0.0 => Some(crate::eval::gap(c, b)),
        _ => None,
    }
}

fn gap_text(gap: Option<f64>) -> String {
    gap.map(|g| format!("  gap {g:.2}%")).unwrap_or_default()
}

/// Where one instance's picture goes; an instance without coordinates is refused before any work.
fn plot_path(plot: &Path, inst: &Instance, count: usize) -> Result<PathBuf> {
    if inst.coords.is_none() {
        return Err(Error::bad_input(
            plot,
            None,
            format!("{}: the instance has no coordinates (an explicit matrix alone), so --plot cannot draw its routes", inst.name),
        ));
    }
    let picture = plot.extension().is_some_and(|e| e == "svg" || e == "png");
    match (count, picture) {
        (1, true) => Ok(plot.to_path_buf()),
        (1, false) => Err(Error::bad_input(plot, None, "--plot: give a file name ending in .svg or .png")),
        (_, true) => Err(Error::bad_input(plot, None, "--plot: several instances draw into a directory (NAME.svg each), not one file")),
        (_, false) => {
            std::fs::create_dir_all(plot).map_err(|e| Error::writing(plot, e))?;
            Ok(plot.join(format!("{}.svg", inst.name)))
        }
    }
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

fn report(inst: &Instance, s: &Solved, bks: Option<f64>, written: Option<&Path>) -> serde_json::Value {
    let outcome = &s.outcome;
    let shown = outcome.shown();
    let trace: Vec<serde_json::Value> = s.report.trace.iter().map(|i| json!({"seconds": i.seconds, "cost": i.cost})).collect();
    json!({
        "instance": inst.name,
        "feasible": outcome.best.is_some(),
        "cost": shown.map(|f| f.evaluation.cost),
        "routes": shown.map(|f| f.evaluation.routes),
        "bks": bks,
        "gap_percent": gap(outcome.cost(), bks),
        "constructed_cost": s.constructed_cost,
        "time_s": s.seconds,
        "descent_s": s.report.first_descent_seconds,
        "descended_constructions": s.report.descended_constructions,
        "kept_own_construction": s.report.kept_own_construction,
        "search_iterations": s.report.iterations,
        "reconstructions": s.report.reconstructions,
        "trajectories": outcome.trajectories,
        "dead_ends": outcome.dead_ends,
        "violation": shown.and_then(|f| f.evaluation.violation.as_ref()).map(|v| v.to_string()),
        "solution": written.map(|p| p.display().to_string()),
        "trace": trace,
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
    let time = r["time_s"].as_f64().unwrap_or(0.0);
    let descent = r["descent_s"].as_f64().unwrap_or(0.0);
    line += &format!("  time {time:.2}s (descents {:.0}%", 100.0 * descent / time.max(1e-9));
    if r["kept_own_construction"].as_bool() == Some(true) {
        line += ", from the search's own construction";
    }
    match r["search_iterations"].as_u64() {
        Some(k) if k > 0 => line += &format!(", {k} search iterations)"),
        _ => line += ")",
    }
    if let (Some(m), Some(d)) = (r["model"].as_str(), r["decoder"].as_str()) {
        let starts = match r["starts"].as_str() {
            Some("1") | None => String::new(),
            Some("all") => ", every start".into(),
            Some(k) => format!(", {k} starts"),
        };
        let aug = if r["aug"].as_u64() == Some(8) { ", x8" } else { "" };
        line += &format!("  model {m} ({d}{starts}{aug})");
    }
    if let Some(p) = r["solution"].as_str() {
        line += &format!("  -> {p}");
    }
    line
}
