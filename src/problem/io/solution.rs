//! Solution files: CVRPLIB `.sol` (read and write) and TSPLIB `.tour` (read).
//!
//! `.sol`: one `Route #k: c1 c2 ...` line per route with customers numbered
//! `1..n` (file node id minus one; the depot is never written), then `Cost X`.
//! `.tour`: a `TOUR_SECTION` of 1-based node ids ending in -1, rotated here so
//! that the tour starts at the depot.

use std::fmt::Write as _;
use std::path::Path;

use super::{parse_number, read_text, write_atomic};
use crate::error::{Error, Result};
use crate::problem::instance::fmt_num;
use crate::problem::solution::Solution;

/// A solution as read from a file, with the cost the file claims, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct SolutionFile {
    pub solution: Solution,
    pub cost: Option<f64>,
}

pub fn read(path: &Path) -> Result<SolutionFile> {
    let text = read_text(path)?;
    parse(path, &text)
}

pub fn parse(path: &Path, text: &str) -> Result<SolutionFile> {
    if text.lines().any(|l| l.trim().to_ascii_uppercase().starts_with("TOUR_SECTION")) {
        return parse_tour(path, text);
    }
    let mut routes = vec![];
    let mut cost = None;
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("route") {
            let rest = rest.trim_start().trim_start_matches('#').trim_start();
            let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            if digits > 0 {
                let body = rest[digits..].trim_start().trim_start_matches(':');
                let ids = body.split_whitespace().map(|t| customer_number(path, ln, t)).collect::<Result<Vec<usize>>>()?;
                routes.push(ids);
                continue;
            }
        }
        if let Some(rest) = lower.strip_prefix("cost") {
            let value = rest.trim().trim_start_matches(':').trim();
            if !value.contains(char::is_whitespace) && !value.is_empty() {
                if cost.is_some() {
                    return Err(Error::bad_input(path, Some(ln), "Cost given twice"));
                }
                cost = Some(parse_number(path, ln, value, "Cost")?);
                continue;
            }
        }
        tracing::warn!("{}:{ln}: line ignored: {:?}", path.display(), line.chars().take(60).collect::<String>());
    }
    if routes.is_empty() {
        return Err(Error::bad_input(path, None, "no 'Route #k:' lines and no TOUR_SECTION"));
    }
    Ok(SolutionFile { solution: Solution::new(routes), cost })
}

fn customer_number(path: &Path, ln: usize, token: &str) -> Result<usize> {
    let v = parse_number(path, ln, token, "route")?;
    if v.fract() != 0.0 || v < 0.0 || v > u32::MAX as f64 {
        return Err(Error::bad_input(path, Some(ln), format!("customer number {token:?} is not a non-negative integer")));
    }
    Ok(v as usize)
}

fn parse_tour(path: &Path, text: &str) -> Result<SolutionFile> {
    let mut ids: Vec<(usize, usize)> = vec![];
    let mut started = false;
    'lines: for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        let line = line.trim();
        if !started {
            started = line.to_ascii_uppercase().starts_with("TOUR_SECTION");
            continue;
        }
        if line.eq_ignore_ascii_case("EOF") {
            break;
        }
        for t in line.split_whitespace() {
            let v = parse_number(path, ln, t, "TOUR_SECTION")?;
            if v == -1.0 {
                break 'lines;
            }
            if v.fract() != 0.0 || v < 1.0 || v > u32::MAX as f64 {
                return Err(Error::bad_input(path, Some(ln), format!("node id {t:?} is not a positive integer")));
            }
            ids.push((v as usize, ln));
        }
    }
    let Some(&(_, first_line)) = ids.first() else {
        return Err(Error::bad_input(path, None, "TOUR_SECTION is empty"));
    };
    let depots: Vec<usize> = ids.iter().enumerate().filter(|(_, (v, _))| *v == 1).map(|(k, _)| k).collect();
    let k = match depots.as_slice() {
        [k] => *k,
        [] => return Err(Error::bad_input(path, Some(first_line), "tour does not visit the depot (node 1)")),
        [_, second, ..] => return Err(Error::bad_input(path, Some(ids[*second].1), "tour visits the depot (node 1) twice")),
    };
    let route: Vec<usize> = ids[k + 1..].iter().chain(&ids[..k]).map(|(v, _)| v - 1).collect();
    Ok(SolutionFile { solution: Solution::new(vec![route]), cost: None })
}

/// CVRPLIB `.sol` text for a solution and its evaluated cost.
pub fn to_string(sol: &Solution, cost: f64) -> String {
    let mut s = String::new();
    for (k, r) in sol.routes.iter().enumerate() {
        let ids: Vec<String> = r.iter().map(usize::to_string).collect();
        let _ = writeln!(s, "Route #{}: {}", k + 1, ids.join(" "));
    }
    let cost = if cost.fract() == 0.0 { fmt_num(cost) } else { cost.to_string() };
    let _ = writeln!(s, "Cost {cost}");
    s
}

pub fn write(path: &Path, sol: &Solution, cost: f64) -> Result<()> {
    write_atomic(path, to_string(sol, cost).as_bytes())
}
