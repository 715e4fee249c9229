//! `lrm eval --data FILE.npz|DIR --model M`: decode datasets, compare with
//! reference costs, one line per dataset, variant and size, and a CSV or JSON file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;

use super::decoding::DecodeArgs;
use super::shared::JsonArg;
use crate::backend::{run_on, BackendJob};
use crate::decode::{self, augment, DecodeOptions, Outcome, Strategy};
use crate::error::{Error, Result};
use crate::eval::{self, find_datasets, Dataset, COLUMNS};
use crate::model::zoo::ModelSource;
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
    #[command(flatten)]
    output: JsonArg,
}

/// One dataset and what decoding gave.
struct Evaluated {
    dataset: Dataset,
    outcomes: Vec<Outcome>,
    /// The model that decoded each instance.
    models: Vec<String>,
    seconds: f64,
}

struct Eval<'a> {
    model: &'a ModelSource,
    datasets: Vec<Dataset>,
    options: &'a DecodeOptions,
}

impl BackendJob for Eval<'_> {
    type Output = Vec<Evaluated>;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Vec<Evaluated>> {
        let mut out = vec![];
        for dataset in self.datasets {
            let start = Instant::now();
            let instances = &dataset.instances;
            if self.options.strategy == Strategy::Nearest {
                let outcomes = decode::nearest::decode(instances)?;
                let models = vec!["none (nearest neighbour)".to_string(); instances.len()];
                out.push(Evaluated { dataset, outcomes, models, seconds: start.elapsed().as_secs_f64() });
                continue;
            }
            let mut outcomes: Vec<Option<Outcome>> = (0..instances.len()).map(|_| None).collect();
            let mut models = vec![String::new(); instances.len()];
            for (source, members) in self.model.assign(instances) {
                let (policy, card) = source.load::<B::InnerBackend>(&device)?;
                let subset: Vec<Instance> = members.iter().map(|&k| instances[k].clone()).collect();
                if self.options.augment && !subset.iter().all(|i| augment::applies(i, &card.model)) {
                    tracing::warn!(
                        "{}: x8 augmentation does not apply to explicit-matrix instances under {}; batches that hold them are decoded without it",
                        dataset.path.display(),
                        source.name()
                    );
                }
                for (&k, o) in members.iter().zip(decode::solve(&policy, &card.model, &subset, self.options, &device)?) {
                    (outcomes[k], models[k]) = (Some(o), source.name());
                }
            }
            let outcomes = outcomes.into_iter().map(|o| o.expect("every instance is in one group")).collect();
            out.push(Evaluated { dataset, outcomes, models, seconds: start.elapsed().as_secs_f64() });
        }
        Ok(out)
    }
}

pub fn run(a: Args) -> Result<i32> {
    let options = a.decoding.options()?;
    let model = a.decoding.model()?;
    let files = find_datasets(&a.data)?;
    if a.r#ref.is_some() && files.len() > 1 {
        return Err(Error::bad_input("--ref", None, format!("{} holds {} datasets; --ref goes with one", a.data.display(), files.len())));
    }
    let datasets = files
        .iter()
        .map(|path| match &a.r#ref {
            Some(r) => Dataset::load(path, Some(r)),
            None => Dataset::load_beside(path),
        })
        .collect::<Result<Vec<_>>>()?;
    let evaluated = run_on(a.decoding.backend.device, Eval { model: &model, datasets, options: &options })?;
    let rows: Vec<serde_json::Value> = evaluated
        .iter()
        .flat_map(|e| eval::rows(&e.dataset, &e.outcomes, &e.models, e.seconds))
        .map(|r| serde_json::to_value(r).expect("rows serialise"))
        .collect();
    for row in &rows {
        if a.output.json {
            println!("{}", super::json_line(row));
        } else {
            println!("{}", text(row));
        }
    }
    write_results(&a.out, &rows)?;
    Ok(0)
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
