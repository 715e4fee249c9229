//! `lrm check INSTANCE SOLUTION`: exit 0 feasible, 1 infeasible, 2 bad input.

use std::path::PathBuf;

use super::shared::{JsonArg, RoundArg};
use crate::error::Result;
use crate::problem::instance::fmt_num;
use crate::problem::io::{read_instance, solution};
use crate::problem::{evaluate, Instance};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// VRPLIB/TSPLIB instance (.vrp .tsp .atsp) or Solomon .txt.
    instance: PathBuf,
    /// CVRPLIB .sol or TSPLIB .tour.
    solution: PathBuf,
    #[command(flatten)]
    rounding: RoundArg,
    #[command(flatten)]
    output: JsonArg,
    /// Exit 1 when the file's Cost line does not match the computed cost.
    #[arg(long)]
    strict_cost: bool,
}

pub fn run(a: Args) -> Result<i32> {
    let inst = read_instance(&a.instance, a.rounding.round)?;
    let file = solution::read(&a.solution)?;
    let eval = evaluate(&inst, &file.solution);
    let feasible = eval.is_feasible();
    let cost_match = file.cost.filter(|_| feasible).map(|claimed| cost_matches(&inst, claimed, eval.cost));
    if a.output.json {
        let json = serde_json::json!({
            "instance": a.instance.display().to_string(),
            "solution": a.solution.display().to_string(),
            "feasible": feasible,
            "cost": feasible.then(|| json_number(&inst, eval.cost)),
            "routes": eval.routes,
            "violation": eval.violation.as_ref().map(ToString::to_string),
            "rule": eval.violation.as_ref().map(|v| v.rule()),
            "cost_line": file.cost.map(|c| json_number(&inst, c)),
            "cost_match": cost_match,
            "variant": inst.variant.to_string(),
            "distance_rule": inst.weights.rule_name(),
        });
        println!("{}", crate::cli::json_line(&json));
    } else if let Some(v) = &eval.violation {
        println!("infeasible: {v}");
    } else {
        println!("feasible cost={} routes={}", fmt_num(eval.cost), eval.routes);
        if let (Some(claimed), Some(ok)) = (file.cost, cost_match) {
            if ok {
                println!("cost line {} matches", fmt_num(claimed));
            } else {
                println!("cost line {} does NOT match the computed cost {} (distance rule {})", fmt_num(claimed), fmt_num(eval.cost), inst.weights.rule_name());
            }
        }
    }
    Ok(match (feasible, cost_match) {
        (false, _) => 1,
        (true, Some(false)) if a.strict_cost => 1,
        _ => 0,
    })
}

/// Exact on integer data, 1e-6 relative otherwise.
pub fn cost_matches(inst: &Instance, claimed: f64, cost: f64) -> bool {
    if inst.tolerance == 0.0 {
        claimed == cost
    } else {
        (claimed - cost).abs() <= 1e-6 * cost.abs().max(1e-12)
    }
}

/// Integers on integer data, as the checker prints them.
fn json_number(inst: &Instance, x: f64) -> serde_json::Value {
    if inst.tolerance == 0.0 && x.fract() == 0.0 && x.abs() < 9e15 {
        serde_json::Value::from(x as i64)
    } else {
        serde_json::Value::from(x)
    }
}
