//! `lrm info INSTANCE`: variant, size, attributes, distance rule;
//! `lrm info --model M`: a model's size and cost; `lrm info --models`: the zoo;
//! `lrm info --curve RUN`: a run's learning curve and its fitted power law.

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;

use super::shared::{JsonArg, RoundArg};
use crate::backend::{run_on, BackendJob, DeviceSpec};
use crate::error::{Error, Result};
use crate::model::zoo::ModelSource;
use crate::model::{checkpoint, zoo, ModelConfig};
use crate::problem::instance::fmt_num;
use crate::problem::io::read_instance;
use crate::problem::Instance;
use crate::train::curve;

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["instance", "model", "models", "curve"])))]
pub struct Args {
    /// VRPLIB/TSPLIB instance (.vrp .tsp .atsp) or Solomon .txt.
    instance: Option<PathBuf>,
    /// A checkpoint (NAME.toml), a shipped model (see --models) or a preset
    /// (pomo, rf-te, lrm-1m, lrm-5m, lrm-40m, lrm-1b, radar, lmask, rrnco,
    /// deep-DxW): its size, its FLOPs at --size and, for a trained model, what
    /// its card records (steps, instances, decoder, validation gaps per set).
    #[arg(long)]
    model: Option<String>,
    /// The shipped models: what each serves and its card's numbers.
    #[arg(long)]
    models: bool,
    /// A training run's directory: validation gap against instances seen
    /// (counted from the model's first stretch), with LRM-1B's power law fitted.
    #[arg(long, value_name = "RUN")]
    curve: Option<PathBuf>,
    /// With --curve: a gap in % to project the instances for (repeat for several).
    #[arg(long, requires = "curve", allow_negative_numbers = true)]
    target: Vec<f64>,
    /// Customers for the FLOP counts of --model.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// With --model: build it on this device (cpu, cuda[:N], wgpu[:N]) and count what was built.
    #[arg(long)]
    device: Option<DeviceSpec>,
    #[command(flatten)]
    rounding: RoundArg,
    #[command(flatten)]
    output: JsonArg,
}

pub fn run(a: Args) -> Result<()> {
    if a.models {
        return zoo_table(a.output.json);
    }
    if let Some(run) = &a.curve {
        return curve_table(run, &a.target, a.output.json);
    }
    let facts = match (&a.instance, &a.model) {
        (Some(path), _) => facts(&read_instance(path, a.rounding.round)?),
        (None, Some(model)) => model_facts(model, a.size, a.device)?,
        (None, None) => unreachable!("clap requires one of them"),
    };
    if a.output.json {
        let map: serde_json::Map<String, serde_json::Value> = facts.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        println!("{}", crate::cli::json_line(&serde_json::Value::Object(map)));
    } else {
        for (k, v) in facts {
            println!("{k:<16}{}", shown_fact(k, v));
        }
    }
    Ok(())
}

fn model_facts(model: &str, n: usize, device: Option<DeviceSpec>) -> Result<Vec<(&'static str, serde_json::Value)>> {
    use serde_json::json;
    let card = ModelSource::parse(model)?.card()?;
    let config = card.model;
    let mut facts = vec![
        ("model", json!(model)),
        ("parameters", json!(config.num_params())),
        ("buffers", json!(config.num_buffers())),
        ("layers", json!(config.n_layers)),
        ("d_model", json!(config.d_model)),
        ("heads", json!(config.n_heads)),
        ("d_ff", json!(config.d_ff)),
        ("size", json!(n)),
        ("encoding_gflops", json!(config.encoding_flops(n) as f64 / 1e9)),
        ("step_mflops", json!(config.decoding_step_flops(n) as f64 / 1e6)),
    ];
    if let Some(t) = card.trained_on {
        facts.extend([
            ("variants", json!(t.variants)),
            ("sizes", json!(t.sizes)),
            ("distribution", json!(t.distribution)),
            ("decoder", json!(t.decoder)),
            ("steps", json!(t.steps)),
            ("instances", json!(t.instances)),
            ("wall_hours", json!((t.wall_seconds / 36.0).round() / 100.0)),
            ("stretches", json!(t.stretches.len())),
            ("validation", json!(t.validation)),
        ]);
    }
    if let Some(spec) = device {
        let built = run_on(spec, Build(config))?;
        facts.push(("device", json!(spec.to_string())));
        facts.push(("built_parameters", json!(built)));
    }
    Ok(facts)
}

/// A fact as text, with the unit the JSON leaves to the reader: the card's
/// sizes are a range of customers, its validation numbers gaps in %.
fn shown_fact(key: &str, v: serde_json::Value) -> String {
    match key {
        "sizes" => format!("{} to {} customers", v[0], v[1]),
        "validation" => format!("mean gap to the references in % per set (a mean cost for a set without references)\n{:16}{}", "", shown(v)),
        _ => shown(v),
    }
}

/// A fact as text: lists joined by commas, a table one entry a line
/// (numbers to two decimals), nothing recorded as `-`.
fn shown(v: serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s,
        Value::Null => "-".into(),
        Value::Array(items) => items.into_iter().map(shown).collect::<Vec<_>>().join(", "),
        Value::Object(entries) => entries
            .into_iter()
            .map(|(k, v)| match v.as_f64() {
                Some(x) => format!("{k} {x:.2}"),
                None => format!("{k} {}", shown(v)),
            })
            .collect::<Vec<_>>()
            .join(&format!("\n{:16}", "")),
        other => other.to_string(),
    }
}

/// One line (or JSON object) per shipped model, from its card.
fn zoo_table(as_json: bool) -> Result<()> {
    use serde_json::json;
    for m in zoo::ZOO {
        let card = m.card()?;
        let t = card.trained_on.clone().unwrap_or_else(checkpoint::TrainedOn::untrained);
        let score = t.validation.get("score").copied();
        let row = json!({
            "name": m.name,
            "serves": m.domain.name(),
            "parameters": card.model.num_params(),
            "variants": t.variants,
            "sizes": t.sizes,
            "distribution": t.distribution,
            "decoder": t.decoder,
            "steps": t.steps,
            "instances": t.instances,
            "wall_hours": t.wall_seconds / 3600.0,
            "stretches": t.stretches.len(),
            "validation_score": score,
            "validation": t.validation,
        });
        if as_json {
            println!("{}", crate::cli::json_line(&row));
        } else {
            let variants = if t.variants.len() > 4 { format!("{} variants", t.variants.len()) } else { t.variants.join(",") };
            println!(
                "{:<14} {:<12} {:>9} params  {variants}  n={}..{}  {} steps, {} instances, {:.1} h in {} stretch{}  validation score {}",
                m.name,
                m.domain.name(),
                card.model.num_params(),
                t.sizes[0],
                t.sizes[1],
                t.steps,
                t.instances,
                t.wall_seconds / 3600.0,
                t.stretches.len(),
                if t.stretches.len() == 1 { "" } else { "es" },
                score.map_or("-".into(), |s| format!("{s:.2}%")),
            );
        }
    }
    Ok(())
}

/// Builds a policy on the chosen backend and counts its tensors' entries.
struct Build(ModelConfig);

impl BackendJob for Build {
    type Output = usize;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<usize> {
        Ok(self.0.init::<B>(&device).num_params())
    }
}

fn facts(inst: &Instance) -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let n = inst.num_customers();
    let backhauls = (1..=n).filter(|&j| inst.backhaul_of(j) > 0.0).count();
    let mut out = vec![
        ("name", json!(inst.name)),
        ("variant", json!(inst.variant.to_string())),
        ("customers", json!(n)),
        ("nodes", json!(inst.num_nodes())),
        ("distance_rule", json!(inst.weights.rule_name())),
        ("integer_data", json!(inst.tolerance == 0.0)),
        ("open_routes", json!(inst.variant.open)),
    ];
    if let Some(q) = inst.capacity {
        out.push(("capacity", json!(q)));
        out.push(("total_demand", json!(inst.linehaul.iter().sum::<f64>())));
    }
    if let Some(v) = inst.vehicles {
        out.push(("vehicles", json!(v)));
    }
    if inst.backhaul.is_some() {
        out.push(("backhaul_rule", json!(format!("{:?}", inst.backhaul_rule()).to_lowercase())));
        out.push(("backhauls", json!(backhauls)));
    }
    if let Some(l) = inst.distance_limit {
        out.push(("distance_limit", json!(fmt_num(l))));
    }
    if let Some(tw) = &inst.time_windows {
        out.push(("horizon", json!(format!("[{}, {}]", fmt_num(tw[0][0]), fmt_num(tw[0][1])))));
        out.push(("max_service", json!(inst.service.iter().copied().fold(0.0, f64::max))));
    }
    if inst.draft_limit.is_some() {
        out.push(("draft_limits", json!(true)));
    }
    out
}

/// One line per series: points, last gap, the law and its projections.
fn curve_table(run: &std::path::Path, targets: &[f64], json: bool) -> Result<()> {
    if let Some(t) = targets.iter().find(|t| t.is_nan() || **t <= 0.0) {
        return Err(Error::bad_input("--target", None, format!("{t}: a target is a positive gap in %")));
    }
    let fitted = curve::fit(curve::read(run)?, targets);
    if fitted.is_empty() {
        return Err(Error::bad_input(run.join("metrics.csv"), None, "no validation yet: the run validates every run.validate_every steps"));
    }
    for f in &fitted {
        if json {
            println!("{}", crate::cli::json_line(&serde_json::to_value(f).expect("serialisable")));
            continue;
        }
        let (x, gap) = f.series.points.last().copied().unwrap_or_default();
        let mut line = format!("{:<18}{:>3} points  last {gap:.2}% at {}", f.series.name, f.series.points.len(), fmt_count(x));
        match &f.law {
            Some(l) if l.alpha > l.alpha_ci => line += &format!("  alpha {:.3} +- {:.3}  x_c {:.3e}  R2 {:.2}", l.alpha, l.alpha_ci, l.x_c, l.r2),
            Some(l) => line += &format!("  alpha {:.3} +- {:.3}: flat within noise", l.alpha, l.alpha_ci),
            None => line += "  no falling power law",
        }
        for (t, n) in &f.projected {
            line += &format!("  {t}%: {}", n.map_or("-".into(), fmt_count));
        }
        println!("{line}");
    }
    Ok(())
}

fn fmt_count(x: f64) -> String {
    match x {
        x if x >= 1e12 => format!("{x:.2e}"),
        x if x >= 1e6 => format!("{:.1}M", x / 1e6),
        x => format!("{x:.0}"),
    }
}
