//! `lrm bench --scaling`: inference scaling of one or more models on a
//! dataset, model scaling across them, size scaling of the first; and
//! `lrm bench --throughput`. Tables on stdout; CSVs, a JSON of the fits and
//! log-log plots in `--out`.

use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;

use super::shared::DeviceArg;
use crate::backend::{run_on, BackendJob};
use crate::bench::ladder::Ladder;
use crate::bench::report::{self, Measured};
use crate::bench::size::size_scaling;
use crate::bench::throughput::{throughput, Throughput};
use crate::bench::{inference_scaling, sweep, Point};
use crate::error::{Error, Result};
use crate::eval::Dataset;
use crate::model::zoo::{self, ModelSource};
use crate::problem::generate::{GeneratorConfig, Problem};
use crate::problem::{Instance, Variant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Inference scaling (gap against trajectories, beam width and RRC rounds),
    /// model scaling across the models, size scaling of the first, with fits.
    #[arg(long, required_unless_present = "throughput")]
    scaling: bool,
    /// Instances per second and FLOP/s: greedy, multi-start x8, a training step.
    #[arg(long)]
    throughput: bool,
    /// Sizes (customers) of the size-scaling and throughput measurements.
    #[arg(long, value_delimiter = ',', default_value = "20,50,100,200,500,1000")]
    sizes: Vec<usize>,
    /// Instances per size (size scaling) and per batch (throughput).
    #[arg(long, default_value_t = 8)]
    count: usize,
    /// Timed runs of each throughput workload after one warm-up, the median
    /// reported (as the RL4CO harness in `../shared/tools/peer/` measures).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    repeats: u32,
    /// Checkpoints (NAME.toml) or preset names (`pomo`, `rf-te`, ...: fresh
    /// weights, for speed), one sweep each; default: the compiled-in model.
    #[arg(long)]
    model: Vec<String>,
    /// Dataset (.npz); default: 32 generated CVRP instances of 20 customers, scored by mean cost.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Reference costs for --data (NAME_sol_SOLVER.npz): scores become gaps in %.
    #[arg(long)]
    r#ref: Option<PathBuf>,
    /// Widest beam of the sweep.
    #[arg(long, default_value_t = 64)]
    max_beam: usize,
    /// Train the model ladder first: CONFIG with each preset of --ladder, for
    /// --steps steps (or --budget seconds) each, into OUT/ladder/PRESET; the
    /// ladder is then measured.
    #[arg(long)]
    train_ladder: Option<PathBuf>,
    /// Presets of the ladder (decoder-only deep-DxW, or any preset).
    #[arg(long, value_delimiter = ',', default_value = "deep-1x32,deep-2x32,deep-1x64,deep-2x64,deep-3x64")]
    ladder: Vec<String>,
    /// Training steps per model of the ladder: every rung sees the same data
    /// and updates, as the papers compare models.
    #[arg(long, default_value_t = 300)]
    steps: usize,
    /// Instead of --steps: training seconds per model of the ladder (the same
    /// compute time for every rung, so bigger models take fewer steps).
    #[arg(long, conflicts_with = "steps")]
    budget: Option<f64>,
    /// Output directory: inference.csv, models.csv, sizes.csv, throughput.csv, fits.json, scaling.svg.
    #[arg(long, default_value = "bench")]
    out: PathBuf,
    #[command(flatten)]
    backend: DeviceArg,
}

struct Measure<'a> {
    models: &'a [(String, ModelSource)],
    instances: &'a [Instance],
    reference: Option<&'a [f64]>,
    args: &'a Args,
}

impl Measure<'_> {
    /// A bar over the points of every model's inference sweep (hidden when
    /// stderr is not a terminal); the table rows print above it.
    fn progress_bar(&self) -> indicatif::ProgressBar {
        let n = self.instances.iter().map(Instance::num_customers).max().unwrap_or(1);
        let augmentable = |source: &ModelSource| source.card().is_ok_and(|c| self.instances.iter().all(|i| crate::decode::augment::applies(i, &c.model)));
        let points: usize =
            if self.args.scaling { self.models.iter().map(|(_, source)| sweep(n, self.args.max_beam, augmentable(source)).len()).sum() } else { 0 };
        let bar = indicatif::ProgressBar::new(points as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} points  {msg}  [{elapsed_precise} < {eta_precise}]").expect("a valid template"),
        );
        bar
    }
}

impl BackendJob for Measure<'_> {
    type Output = Measured;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Measured> {
        let mut m = Measured::default();
        let bar = self.progress_bar();
        for (k, (name, source)) in self.models.iter().enumerate() {
            let (policy, card) = source.load::<B>(&device)?;
            let inner = policy.valid();
            if self.args.scaling {
                let print = |p: &Point| {
                    bar.suspend(|| {
                        println!("{:<24} {:<12} {:>6}  score {:>10.4}  {:>8.3}s  infeasible {}", p.model, p.axis, p.x, p.score, p.seconds, p.infeasible)
                    });
                    bar.set_message(format!("{} {} {}", p.model, p.axis, p.x));
                    bar.inc(1);
                };
                m.points.extend(inference_scaling(name, &inner, &card.model, self.instances, self.reference, self.args.max_beam, &device, print)?);
                if k == 0 {
                    bar.set_message(format!("size scaling, n = {:?}", self.args.sizes));
                    m.sizes = size_scaling::<B>(&inner, &card.model, &self.args.sizes, self.args.count, &device)?;
                }
            }
            if self.args.throughput {
                for &n in &self.args.sizes {
                    for t in throughput::<B>(&policy, &card.model, n, self.args.count, self.args.repeats as usize, &device)? {
                        println!(
                            "{name:<12} n={n:<5} {:<16} {:>9.2} instances/s (median of {}, {:.2} to {:.2}) {:>7.2} GFLOP/s  {}",
                            t.workload, t.instances_per_s, t.runs, t.slowest, t.fastest, t.gflop_per_s, t.phases
                        );
                        m.throughput.push(Throughput { workload: format!("{name}: {}", t.workload), ..t });
                    }
                }
            }
            m.configs.push((name.clone(), card.model));
        }
        bar.finish_and_clear();
        Ok(m)
    }
}

pub fn run(a: Args) -> Result<()> {
    let models: Vec<(String, ModelSource)> = if let Some(config) = &a.train_ladder {
        let ladder = Ladder { config: config.clone(), presets: a.ladder.clone(), steps: a.steps, budget: a.budget, out: a.out.join("ladder") };
        ladder.train(a.backend.device)?
    } else if a.model.is_empty() {
        vec![(zoo::ZOO[0].name.to_string(), ModelSource::Shipped(zoo::ZOO[0].name))]
    } else {
        a.model.iter().map(|m| Ok((model_name(m), ModelSource::parse(m)?))).collect::<Result<_>>()?
    };
    if a.sizes.is_empty() || a.sizes.contains(&0) || a.count == 0 {
        return Err(Error::bad_input("--sizes/--count", None, "sizes and count must be positive"));
    }
    if a.r#ref.is_some() && a.data.is_none() {
        return Err(Error::bad_input("--ref", None, "reference costs go with a dataset: add --data FILE.npz"));
    }
    let (instances, reference) = match &a.data {
        Some(p) => {
            let d = Dataset::load(p, a.r#ref.as_deref())?;
            (d.instances, d.reference)
        }
        None => (GeneratorConfig::new(Problem::Variant(Variant::CVRP)).generate(20, 32, 1), None),
    };
    let measured = run_on(a.backend.device, Measure { models: &models, instances: &instances, reference: reference.as_deref(), args: &a })?;
    std::fs::create_dir_all(&a.out).map_err(|e| Error::writing(&a.out, e))?;
    if a.scaling {
        let n = instances.iter().map(Instance::num_customers).max().unwrap_or(1);
        report::write_scaling(&a.out, &measured, n, reference.is_some())?;
    }
    if a.throughput {
        report::write_throughput(&a.out, &measured.throughput)?;
    }
    Ok(())
}

/// A short name for a checkpoint path or preset.
fn model_name(text: &str) -> String {
    Path::new(text).file_stem().map_or_else(|| text.to_string(), |s| s.to_string_lossy().to_string())
}
