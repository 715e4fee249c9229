//! The learning curve of a run: validation gap against training instances
//! seen, read back from `metrics.csv`, and LRM-1B's power law
//! `gap = (x_c / instances)^alpha` fitted to it (`bench::fit`), so that a
//! stretch on two cores can say how many instances a target gap would take.
//!
//! Instances count from the model's first training stretch: a run started
//! with `--init` adds the instances of the card it started from (`init.toml`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::bench::fit::{self, PowerLaw};
use crate::error::{Error, Result};
use crate::model::checkpoint;

/// One validated series against instances seen.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// A validation set (`cvrp50`), the mean of the sets of one size
    /// (`mean50`), or `score` (the run's own: gap with infeasible instances at 100%).
    pub name: String,
    /// `(instances seen, gap in %)`, oldest first.
    pub points: Vec<(f64, f64)>,
}

/// A series with its fitted law and the instances it projects for each target gap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fitted {
    pub series: Series,
    /// `None` with fewer than three points or a gap that does not fall.
    pub law: Option<PowerLaw>,
    /// `(target gap %, instances)`; `None` where the law does not fall
    /// beyond its own uncertainty (`alpha` within its 95% half-width of 0).
    pub projected: Vec<(f64, Option<f64>)>,
}

/// The series of the run in `run`: every validation set, the mean per size
/// (sets named `NAME<size>`, when a size has several) and the run's score, last.
///
/// # Errors
/// No readable `metrics.csv`, a malformed row, or an unreadable `init.toml`.
pub fn read(run: &Path) -> Result<Vec<Series>> {
    let path = run.join("metrics.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::reading(&path, e))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name);
    let instances = column("instances").ok_or_else(|| Error::bad_input(&path, Some(1), "no 'instances' column: a run from an older lrm"))?;
    let offset = prior_instances(run)?;
    let validated: Vec<(usize, &str)> =
        header.iter().enumerate().filter_map(|(k, h)| h.strip_prefix("val_").filter(|n| !n.ends_with("_infeasible")).map(|n| (k, n))).collect();
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (line_no, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let number = |k: usize| -> Result<Option<f64>> {
            match cells.get(k).copied().unwrap_or_default() {
                "" => Ok(None),
                cell => {
                    cell.parse().map(Some).map_err(|_| Error::bad_input(&path, Some(line_no + 2), format!("'{cell}' in column {} is not a number", header[k])))
                }
            }
        };
        let Some(seen) = number(instances)? else { continue };
        for &(k, name) in &validated {
            if let Some(gap) = number(k)? {
                series.entry(name.to_string()).or_default().push((offset + seen, gap));
            }
        }
    }
    let score = series.remove("score");
    let mut out: Vec<Series> = series.iter().map(|(name, points)| Series { name: name.clone(), points: points.clone() }).collect();
    out.extend(size_means(&series));
    out.extend(score.map(|points| Series { name: "score".into(), points }));
    Ok(out)
}

/// The mean over the sets of each size that has several (`cvrp50`, `vrptw50`, ... -> `mean50`).
fn size_means(series: &BTreeMap<String, Vec<(f64, f64)>>) -> Vec<Series> {
    let mut by_size: BTreeMap<String, Vec<&Vec<(f64, f64)>>> = BTreeMap::new();
    for (name, points) in series {
        let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && name != "score" {
            by_size.entry(name[name.len() - digits..].to_string()).or_default().push(points);
        }
    }
    by_size
        .into_iter()
        .filter(|(_, sets)| sets.len() > 1)
        .map(|(size, sets)| {
            let points = sets[0]
                .iter()
                .enumerate()
                .filter(|(i, p)| sets.iter().all(|s| s.get(*i).is_some_and(|q| q.0 == p.0)))
                .map(|(i, p)| (p.0, sets.iter().map(|s| s[i].1).sum::<f64>() / sets.len() as f64))
                .collect();
            Series { name: format!("mean{size}"), points }
        })
        .collect()
}

/// Training instances of the card a run started from, 0 for a fresh run.
fn prior_instances(run: &Path) -> Result<f64> {
    let init = run.join("init.toml");
    if !init.exists() {
        return Ok(0.0);
    }
    Ok(checkpoint::read_card(&init)?.trained_on.map_or(0.0, |t| t.instances as f64))
}

/// Fit each series and project the instances for each of `targets` (gaps in %).
pub fn fit(series: Vec<Series>, targets: &[f64]) -> Vec<Fitted> {
    series
        .into_iter()
        .map(|s| {
            let law = if s.points.len() >= 3 { fit::power_law(&s.points).filter(|l| l.alpha > 0.0) } else { None };
            let falls = law.as_ref().filter(|l| l.alpha > l.alpha_ci);
            let projected = targets.iter().map(|&t| (t, falls.map(|l| instances_for(l, t)).filter(|n| n.is_finite()))).collect();
            Fitted { series: s, law, projected }
        })
        .collect()
}

/// Instances at which `law` reaches `gap`: `x_c * gap^(-1/alpha)`.
pub fn instances_for(law: &PowerLaw, gap: f64) -> f64 {
    law.x_c * gap.powf(-1.0 / law.alpha)
}
