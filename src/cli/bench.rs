//! `lrm bench --scaling`: inference scaling of one or more models on a dataset,
//! with the fitted laws, a CSV, a JSON of the fits and log-log plots.

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;

use crate::backend::{run_on, BackendJob, DeviceSpec};
use crate::bench::{inference_fits, inference_scaling, Point};
use crate::error::{Error, Result};
use crate::model::shipped::ModelSource;
use crate::plot::{line_chart, Panel};
use crate::problem::generate::{GeneratorConfig, Problem};
use crate::problem::io::npz::{read_dataset, read_reference};
use crate::problem::io::write_atomic;
use crate::problem::{Instance, Variant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Inference scaling: gap against trajectories, beam width and RRC rounds, with fits.
    #[arg(long)]
    scaling: bool,
    /// Checkpoints (NAME.toml), one sweep each; default: the compiled-in model.
    #[arg(long)]
    model: Vec<PathBuf>,
    /// Dataset (.npz); default: 32 generated CVRP instances of 20 customers, scored by mean cost.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Reference costs for --data (NAME_sol_SOLVER.npz): scores become gaps in %.
    #[arg(long)]
    r#ref: Option<PathBuf>,
    /// Widest beam of the sweep.
    #[arg(long, default_value_t = 64)]
    max_beam: usize,
    /// Output directory: inference.csv, fits.json, inference.svg.
    #[arg(long, default_value = "bench")]
    out: PathBuf,
    /// cpu, cuda[:N] or wgpu[:N].
    #[arg(long, default_value = "cpu")]
    device: DeviceSpec,
}

struct Sweep<'a> {
    models: &'a [(String, ModelSource)],
    instances: &'a [Instance],
    reference: Option<&'a [f64]>,
    max_beam: usize,
}

impl BackendJob for Sweep<'_> {
    type Output = Vec<Point>;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Vec<Point>> {
        let mut points = vec![];
        for (name, source) in self.models {
            let (policy, card) = source.load::<B::InnerBackend>(&device)?;
            let print = |p: &Point| println!("{:<24} {:<12} {:>6}  score {:>10.4}  {:>8.3}s  infeasible {}", p.model, p.axis, p.x, p.score, p.seconds, p.infeasible);
            points.extend(inference_scaling(name, &policy, &card.model, self.instances, self.reference, self.max_beam, &device, print)?);
        }
        Ok(points)
    }
}

pub fn run(a: Args) -> Result<()> {
    if !a.scaling {
        return Err(Error::bad_input("lrm bench", None, "choose --scaling (--throughput, model and size scaling are not available yet)"));
    }
    let models: Vec<(String, ModelSource)> = if a.model.is_empty() {
        vec![(crate::model::shipped::NAME.to_string(), ModelSource::Shipped)]
    } else {
        a.model.iter().map(|p| (p.file_stem().map_or("model".into(), |s| s.to_string_lossy().to_string()), ModelSource::File(p.clone()))).collect()
    };
    let instances = match &a.data {
        Some(p) => read_dataset(p)?,
        None => GeneratorConfig::new(Problem::Variant(Variant::CVRP)).generate(20, 32, 1),
    };
    let reference = match &a.r#ref {
        Some(r) => Some(read_reference(r)?.0),
        None => None,
    };
    if reference.as_ref().is_some_and(|r| r.len() < instances.len()) {
        return Err(Error::bad_input(a.r#ref.as_ref().expect("present"), None, "fewer reference costs than instances"));
    }
    let points = run_on(a.device, Sweep { models: &models, instances: &instances, reference: reference.as_deref(), max_beam: a.max_beam })?;
    write_results(&a.out, &models, &points, reference.is_some())
}

fn write_results(out: &Path, models: &[(String, ModelSource)], points: &[Point], gaps: bool) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| Error::writing(out, e))?;
    let mut csv = String::from("model,axis,x,score,seconds,infeasible\n");
    for p in points {
        csv += &format!("{},{},{},{},{},{}\n", p.model, p.axis, p.x, p.score, p.seconds, p.infeasible);
    }
    write_atomic(&out.join("inference.csv"), csv.as_bytes())?;
    let fits: Vec<_> = models.iter().map(|(name, _)| inference_fits(name, points)).collect();
    for f in &fits {
        if let Some(law) = &f.trajectories {
            println!("{}: gap(T) = ({:.4} / T)^{:.4} (+/- {:.4}), R^2 {:.4}, MAPE {:.2}%", f.model, law.x_c, law.alpha, law.alpha_ci, law.r2, law.mape);
        }
        if let Some(law) = &f.time {
            println!("{}: gap(t) = {:.4} t^-{:.4} + {:.4}, R^2 {:.4}", f.model, law.a, law.b, law.c, law.r2);
        }
    }
    write_atomic(&out.join("fits.json"), (serde_json::to_string_pretty(&fits).expect("fits serialise") + "\n").as_bytes())?;
    let what = if gaps { "gap %" } else { "mean cost" };
    let panels: Vec<Panel> = models
        .iter()
        .flat_map(|(name, _)| ["trajectories", "beam", "rrc"].map(|axis| (name.clone(), axis)))
        .map(|(name, axis)| Panel {
            title: format!("{name}: log10 {what} against log10 {axis}"),
            points: points.iter().filter(|p| p.model == name && p.axis == axis && p.x > 0.0).map(|p| (p.x.log10(), p.score.log10())).collect(),
        })
        .collect();
    write_atomic(&out.join("inference.svg"), line_chart(&panels).as_bytes())
}
