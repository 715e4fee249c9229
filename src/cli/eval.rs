//! `lrm eval --data FILE.npz|DIR --model M`: decode datasets, compare with
//! reference costs, one line per dataset, variant and size, and a CSV or JSON file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use serde_json::json;

use super::decoding::DecodeArgs;
use crate::backend::{run_on, BackendJob};
use crate::decode::{self, DecodeOptions, Outcome};
use crate::error::{Error, Result};
use crate::model::zoo::ModelSource;
use crate::problem::io::npz::{read_dataset, read_reference};
use crate::problem::io::write_atomic;
use crate::problem::Instance;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A dataset (.npz, RouteFinder's or LMask's arrays) or a directory searched for them.
    #[arg(long)]
    data: PathBuf,
    /// Reference costs (`NAME_sol_SOLVER.npz`); by default the one beside each dataset.
    #[arg(long)]
    r#ref: Option<PathBuf>,
    #[command(flatten)]
    decoding: DecodeArgs,
    /// Results file: .csv or .json.
    #[arg(long, default_value = "eval.csv")]
    out: PathBuf,
    /// Print one JSON object per line instead of text.
    #[arg(long)]
    json: bool,
}

/// One dataset: its instances, reference costs if any, and what decoding gave.
struct Evaluated {
    path: PathBuf,
    instances: Vec<Instance>,
    reference: Option<Vec<f64>>,
    outcomes: Vec<Outcome>,
    /// The model that decoded each instance.
    models: Vec<String>,
    seconds: f64,
}

struct Eval<'a> {
    model: &'a ModelSource,
    datasets: Vec<(PathBuf, Vec<Instance>, Option<Vec<f64>>)>,
    options: &'a DecodeOptions,
}

impl BackendJob for Eval<'_> {
    type Output = Vec<Evaluated>;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Vec<Evaluated>> {
        let mut out = vec![];
        for (path, instances, reference) in self.datasets {
            let start = Instant::now();
            let mut outcomes: Vec<Option<Outcome>> = (0..instances.len()).map(|_| None).collect();
            let mut models = vec![String::new(); instances.len()];
            for (source, members) in self.model.assign(&instances) {
                let (policy, card) = source.load::<B::InnerBackend>(&device)?;
                let subset: Vec<Instance> = members.iter().map(|&k| instances[k].clone()).collect();
                for (&k, o) in members.iter().zip(decode::solve(&policy, &card.model, &subset, self.options, &device)?) {
                    (outcomes[k], models[k]) = (Some(o), source.name());
                }
            }
            let outcomes = outcomes.into_iter().map(|o| o.expect("every instance is in one group")).collect();
            out.push(Evaluated { path, instances, reference, outcomes, models, seconds: start.elapsed().as_secs_f64() });
        }
        Ok(out)
    }
}

pub fn run(a: Args) -> Result<i32> {
    let options = a.decoding.options()?;
    let model = a.decoding.model();
    let files = datasets(&a.data)?;
    if a.r#ref.is_some() && files.len() > 1 {
        return Err(Error::bad_input("--ref", None, format!("{} holds {} datasets; --ref goes with one", a.data.display(), files.len())));
    }
    let mut loaded = vec![];
    for path in files {
        let instances = read_dataset(&path)?;
        let reference = match a.r#ref.clone().or_else(|| sibling_reference(&path)) {
            Some(r) => {
                let (costs, _) = read_reference(&r)?;
                if costs.len() < instances.len() {
                    return Err(Error::bad_input(&r, None, format!("{} reference costs for {} instances in {}", costs.len(), instances.len(), path.display())));
                }
                Some(costs)
            }
            None => None,
        };
        loaded.push((path, instances, reference));
    }
    let evaluated = run_on(a.decoding.device, Eval { model: &model, datasets: loaded, options: &options })?;
    let rows: Vec<serde_json::Value> = evaluated.iter().flat_map(rows_of).collect();
    for row in &rows {
        if a.json {
            println!("{}", super::json_line(row));
        } else {
            println!("{}", text(row));
        }
    }
    write_results(&a.out, &rows)?;
    Ok(0)
}

/// The datasets under `path`: the file itself, or every `.npz` below a
/// directory that is not a reference file, sorted.
fn datasets(path: &Path) -> Result<Vec<PathBuf>> {
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

/// `NAME_sol_*.npz` beside `NAME.npz`, the first in name order.
fn sibling_reference(path: &Path) -> Option<PathBuf> {
    let stem = path.file_stem()?.to_string_lossy().to_string();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut refs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("{stem}_sol_")) && n.to_string_lossy().ends_with(".npz")))
        .collect();
    refs.sort();
    refs.into_iter().next()
}

/// One row per variant and size of a dataset.
fn rows_of(e: &Evaluated) -> Vec<serde_json::Value> {
    let mut groups: BTreeMap<(String, usize), Vec<usize>> = BTreeMap::new();
    for (i, inst) in e.instances.iter().enumerate() {
        groups.entry((inst.variant.to_string(), inst.num_customers())).or_default().push(i);
    }
    let share = e.seconds / e.instances.len() as f64;
    groups
        .into_iter()
        .map(|((variant, size), members)| {
            let solved: Vec<usize> = members.iter().copied().filter(|&i| e.outcomes[i].best.is_some()).collect();
            let cost = |i: usize| e.outcomes[i].cost().expect("solved");
            let mean = |xs: &[f64]| if xs.is_empty() { None } else { Some(xs.iter().sum::<f64>() / xs.len() as f64) };
            let costs: Vec<f64> = solved.iter().map(|&i| cost(i)).collect();
            let (refs, gaps): (Vec<f64>, Vec<f64>) = match &e.reference {
                Some(r) => solved.iter().map(|&i| (r[i], 100.0 * (cost(i) - r[i]) / r[i])).unzip(),
                None => (vec![], vec![]),
            };
            let rollouts: usize = members.iter().map(|&i| e.outcomes[i].trajectories + e.outcomes[i].dead_ends).sum();
            let dead: usize = members.iter().map(|&i| e.outcomes[i].dead_ends).sum();
            json!({
                "dataset": e.path.display().to_string(),
                "variant": variant,
                "size": size,
                "instances": members.len(),
                "mean_cost": mean(&costs),
                "mean_reference": mean(&refs),
                "gap_percent": mean(&gaps),
                "instance_infeasible_percent": 100.0 * (members.len() - solved.len()) as f64 / members.len() as f64,
                "solution_infeasible_percent": 100.0 * dead as f64 / rollouts.max(1) as f64,
                "time_s": share * members.len() as f64,
                "model": e.models[members[0]],
            })
        })
        .collect()
}

fn text(r: &serde_json::Value) -> String {
    let num = |k: &str, digits: usize| r[k].as_f64().map_or("-".to_string(), |v| format!("{v:.digits$}"));
    format!(
        "{:<10} n={:<4} {:>4} instances  cost {}  ref {}  gap {}%  infeasible: instances {}% solutions {}%  time {}s  ({}, model {})",
        r["variant"].as_str().unwrap_or_default(),
        r["size"],
        r["instances"],
        num("mean_cost", 4),
        num("mean_reference", 4),
        num("gap_percent", 2),
        num("instance_infeasible_percent", 1),
        num("solution_infeasible_percent", 1),
        num("time_s", 2),
        r["dataset"].as_str().unwrap_or_default(),
        r["model"].as_str().unwrap_or_default(),
    )
}

/// The columns of the CSV, in order: stable, scripts read them.
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

fn write_results(path: &Path, rows: &[serde_json::Value]) -> Result<()> {
    let text = if path.extension().is_some_and(|e| e == "json") {
        serde_json::to_string_pretty(rows).expect("rows serialise") + "\n"
    } else {
        let mut s = COLUMNS.join(",") + "\n";
        for r in rows {
            let cells: Vec<String> = COLUMNS
                .iter()
                .map(|c| match &r[*c] {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(v) => v.clone(),
                    v => v.to_string(),
                })
                .collect();
            s += &(cells.join(",") + "\n");
        }
        s
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::writing(dir, e))?;
    }
    write_atomic(path, text.as_bytes())
}
