//! The report of an `lrm bench` run: CSVs of every measurement, `fits.json`
//! with every fitted law, and `scaling.svg` / `scaling.png` (inference
//! scaling per model with the fitted law and its confidence band, model
//! scaling, size scaling of time and memory), all in one output folder.

use std::path::Path;

use super::fit::PowerLaw;
use super::size::{growth, SizePoint};
use super::throughput::Throughput;
use super::{inference_fits, model_scaling, InferenceFits, Point};
use crate::error::Result;
use crate::model::ModelConfig;
use crate::plot::{self, Panel, Series, Style};
use crate::problem::io::write_atomic;

/// What one `lrm bench` run measured.
#[derive(Default)]
pub struct Measured {
    pub points: Vec<Point>,
    /// Each measured model's name and config.
    pub configs: Vec<(String, ModelConfig)>,
    pub sizes: Vec<SizePoint>,
    pub throughput: Vec<Throughput>,
}

fn write_csv<const K: usize>(path: &Path, header: &[&str; K], rows: &[[String; K]]) -> Result<()> {
    let mut text = header.join(",") + "\n";
    for r in rows {
        text += &(r.join(",") + "\n");
    }
    write_atomic(path, text.as_bytes())
}

/// `throughput.csv`: instances/s (median, slowest and fastest of the timed
/// runs), GFLOP/s and seconds per phase of every workload and size.
pub fn write_throughput(out: &Path, throughput: &[Throughput]) -> Result<()> {
    let rows: Vec<[String; 12]> = throughput
        .iter()
        .map(|t| {
            let p = &t.phases;
            [
                t.workload.clone(),
                t.n.to_string(),
                t.instances_per_s.to_string(),
                t.runs.to_string(),
                t.slowest.to_string(),
                t.fastest.to_string(),
                t.gflop_per_s.to_string(),
                p.encode.to_string(),
                p.step.to_string(),
                p.env.to_string(),
                p.backward.to_string(),
                p.optimizer.to_string(),
            ]
        })
        .collect();
    let header = [
        "workload",
        "n",
        "instances_per_s",
        "runs",
        "slowest_per_s",
        "fastest_per_s",
        "gflop_per_s",
        "encode_s",
        "step_s",
        "env_s",
        "backward_s",
        "optimizer_s",
    ];
    write_csv(&out.join("throughput.csv"), &header, &rows)
}

/// The scaling report of `m` (instances of `n` customers; scores are gaps in
/// % when `gaps`, else mean costs): CSVs, `fits.json` and the plots; the
/// fitted laws are also printed.
pub fn write_scaling(out: &Path, m: &Measured, n: usize, gaps: bool) -> Result<()> {
    let rows: Vec<[String; 7]> = m
        .points
        .iter()
        .map(|p| {
            [
                p.model.clone(),
                p.axis.to_string(),
                p.x.to_string(),
                p.augmented.to_string(),
                p.score.to_string(),
                p.seconds.to_string(),
                p.infeasible.to_string(),
            ]
        })
        .collect();
    write_csv(&out.join("inference.csv"), &["model", "axis", "x", "augmented", "score", "seconds", "infeasible"], &rows)?;
    let fits: Vec<InferenceFits> = m.configs.iter().map(|(name, _)| inference_fits(name, &m.points)).collect();
    for f in &fits {
        if let Some(law) = &f.trajectories {
            println!("{}: gap(T) = ({:.4} / T)^{:.4} (+/- {:.4}), R^2 {:.4}, MAPE {:.2}%", f.model, law.x_c, law.alpha, law.alpha_ci, law.r2, law.mape);
        }
        if let Some(law) = &f.time {
            println!("{}: gap(t) = {:.4} t^-{:.4} + {:.4}, R^2 {:.4}", f.model, law.a, law.b, law.c, law.r2);
        }
    }
    let (model_rows, params_law, bivariate) = model_scaling(&m.points, &m.configs, n);
    let rows: Vec<[String; 5]> =
        model_rows.iter().map(|r| [r.model.clone(), r.parameters.to_string(), r.depth.to_string(), r.width.to_string(), r.score.to_string()]).collect();
    write_csv(&out.join("models.csv"), &["model", "parameters", "depth", "width", "score"], &rows)?;
    if let Some(law) = &params_law {
        println!("models: gap(N) = ({:.4e} / N)^{:.4} (+/- {:.4}), R^2 {:.4}", law.x_c, law.alpha, law.alpha_ci, law.r2);
    }
    let mib = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let rows: Vec<[String; 5]> =
        m.sizes.iter().map(|s| [s.n.to_string(), s.encode_ms.to_string(), s.decode_ms.to_string(), mib(s.encode_peak_mib), mib(s.decode_peak_mib)]).collect();
    write_csv(&out.join("sizes.csv"), &["n", "encode_ms_per_instance", "decode_ms_per_instance", "encode_peak_mib", "decode_peak_mib"], &rows)?;
    let (encode, decode) = growth(&m.sizes);
    for (what, law) in [("encoding", &encode), ("decoding", &decode)] {
        if let Some(law) = law {
            println!("size: {what} time per instance ~ n^{:.3} (+/- {:.3}), R^2 {:.4}", -law.alpha, law.alpha_ci, law.r2);
        }
    }
    let json = serde_json::json!({ "inference": fits, "models": params_law, "depth_width": bivariate, "size_encoding": encode, "size_decoding": decode });
    write_atomic(&out.join("fits.json"), (serde_json::to_string_pretty(&json).expect("fits serialise") + "\n").as_bytes())?;
    let panels = panels(m, &fits, params_law.as_ref(), [encode.as_ref(), decode.as_ref()], if gaps { "gap (%)" } else { "mean cost" });
    if panels.iter().all(|p| p.series.iter().all(|s| s.points.is_empty())) {
        return Ok(());
    }
    plot::write(&out.join("scaling.svg"), &panels)?;
    plot::write(&out.join("scaling.png"), &panels)
}

/// `law` over the span of `xs` (40 points, evenly on a log scale), dashed,
/// labelled with its exponent and R^2, with the band of its exponent's
/// confidence interval.
fn fitted(law: &PowerLaw, xs: &[f64], label: String) -> Series {
    let (lo, hi) = xs.iter().filter(|x| **x > 0.0).fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    let grid: Vec<f64> = if lo < hi { (0..40).map(|k| lo * (hi / lo).powf(k as f64 / 39.0)).collect() } else { vec![] };
    let at = |alpha: f64, x: f64| PowerLaw { alpha, ..law.clone() }.eval(x);
    let mut s = Series::new(label, grid.iter().map(|&x| (x, law.eval(x))).collect(), Style::Dashed);
    s.band = grid
        .iter()
        .map(|&x| {
            let (a, b) = (at(law.alpha - law.alpha_ci, x), at(law.alpha + law.alpha_ci, x));
            (x, a.min(b), a.max(b))
        })
        .collect();
    s
}

fn panels(m: &Measured, fits: &[InferenceFits], params_law: Option<&PowerLaw>, size_laws: [Option<&PowerLaw>; 2], unit: &str) -> Vec<Panel> {
    let mut panels = vec![];
    for ((name, _), f) in m.configs.iter().zip(fits) {
        let of = |axis: &str, augmented: bool| -> Vec<(f64, f64)> {
            m.points.iter().filter(|p| &p.model == name && p.axis == axis && p.augmented == augmented).map(|p| (p.x, p.score)).collect()
        };
        let mut t = Panel { log_x: true, log_y: true, ..Panel::new(format!("{name}: inference scaling"), "trajectories per instance", unit) };
        t.series.push(Series::new("greedy multi-start", of("trajectories", false), Style::Line));
        t.series.push(Series::new("greedy multi-start, x8 augmentation", of("trajectories", true), Style::Line));
        if let Some(law) = &f.trajectories {
            let xs: Vec<f64> = m.points.iter().filter(|p| &p.model == name && p.axis == "trajectories").map(|p| p.x).collect();
            t.series.push(fitted(law, &xs, format!("(T_c / T)^alpha, alpha {:.3} +/- {:.3}, R^2 {:.3}", law.alpha, law.alpha_ci, law.r2)));
        }
        panels.push(t);
        let mut b = Panel { log_x: true, log_y: true, ..Panel::new(format!("{name}: beam search"), "beam width", unit) };
        b.series.push(Series::new("beam", of("beam", false), Style::Line));
        panels.push(b);
        let mut r = Panel { log_y: true, ..Panel::new(format!("{name}: RRC"), "RRC rounds", unit) };
        r.series.push(Series::new("RRC", of("rrc", false), Style::Line));
        panels.push(r);
        let mut time = Panel { log_x: true, log_y: true, ..Panel::new(format!("{name}: every decoding against its time"), "seconds", unit) };
        let timed: Vec<(f64, f64)> = m.points.iter().filter(|p| &p.model == name).map(|p| (p.seconds, p.score)).collect();
        if let Some(law) = &f.time {
            let (lo, hi) = timed.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| (a.min(p.0), b.max(p.0)));
            let grid: Vec<(f64, f64)> = (0..40).map(|k| lo * (hi / lo).powf(k as f64 / 39.0)).map(|x| (x, law.eval(x))).collect();
            time.series.push(Series::new(format!("a t^-b + c, b {:.3}, R^2 {:.3}", law.b, law.r2), grid, Style::Dashed));
        }
        time.series.insert(0, Series::new("decodings", timed, Style::Points));
        panels.push(time);
    }
    if m.configs.len() > 1 {
        let mut p = Panel { log_x: true, log_y: true, ..Panel::new("model scaling (multi-start from every customer)", "parameters", unit) };
        let points: Vec<(f64, f64)> = m
            .configs
            .iter()
            .filter_map(|(name, c)| {
                m.points.iter().rev().find(|p| &p.model == name && p.axis == "trajectories" && !p.augmented).map(|p| (c.num_params() as f64, p.score))
            })
            .collect();
        if let Some(law) = params_law {
            let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
            p.series.push(fitted(law, &xs, format!("(N_c / N)^alpha, alpha {:.3}, R^2 {:.3}", law.alpha, law.r2)));
        }
        p.series.insert(0, Series::new("models", points, Style::Points));
        panels.push(p);
    }
    if !m.sizes.is_empty() {
        let ns: Vec<f64> = m.sizes.iter().map(|s| s.n as f64).collect();
        let mut time = Panel { log_x: true, log_y: true, ..Panel::new("size scaling: time", "customers n", "ms per instance") };
        time.series.push(Series::new("encoding", m.sizes.iter().map(|s| (s.n as f64, s.encode_ms)).collect(), Style::Line));
        time.series.push(Series::new("greedy decoding", m.sizes.iter().map(|s| (s.n as f64, s.decode_ms)).collect(), Style::Line));
        for (what, law) in ["encoding", "decoding"].into_iter().zip(size_laws) {
            if let Some(law) = law {
                time.series.push(fitted(law, &ns, format!("{what} ~ n^{:.2}, R^2 {:.3}", -law.alpha, law.r2)));
            }
        }
        panels.push(time);
        let mut memory = Panel { log_x: true, log_y: true, ..Panel::new("size scaling: peak memory", "customers n", "peak resident MiB") };
        memory.series.push(Series::new("encoding", m.sizes.iter().filter_map(|s| Some((s.n as f64, s.encode_peak_mib?))).collect(), Style::Line));
        memory.series.push(Series::new("greedy decoding", m.sizes.iter().filter_map(|s| Some((s.n as f64, s.decode_peak_mib?))).collect(), Style::Line));
        panels.push(memory);
    }
    panels
}
