//! Solomon VRPTW text files (`.txt`): a name, a VEHICLE block (number,
//! capacity) and a CUSTOMER block of `id x y demand ready due service` rows,
//! customer 0 being the depot. Distances are unrounded unless `--round` says.

use std::path::Path;

use super::{issue_to_error, parse_number, LineOf};
use crate::error::{Error, Result};
use crate::problem::distance::Rounding;
use crate::problem::instance::{Field, Instance, InstanceData};
use crate::problem::variant::Variant;

/// A Solomon file has VEHICLE and CUSTOMER blocks near the top and no `KEY : value` lines.
pub fn looks_like_solomon(text: &str) -> bool {
    let words: Vec<String> = text.lines().map(|l| l.trim().to_ascii_uppercase()).filter(|l| !l.is_empty()).take(10).collect();
    words.iter().take(5).any(|w| w.starts_with("VEHICLE")) && words.iter().any(|w| w.starts_with("CUSTOMER")) && !words.iter().take(5).any(|w| w.contains(':'))
}

/// The instance of a Solomon file, its fleet and capacity as the file gives
/// them.
///
/// # Errors
/// A file without both blocks, a VEHICLE block without `NUMBER CAPACITY`
/// values, a customer row that is not 7 numbers or out of order, a fleet that
/// is not a positive whole number, or values [`Instance::new`] rejects: each
/// naming the file and line.
pub fn parse(path: &Path, text: &str, round: Option<Rounding>) -> Result<Instance> {
    let rows: Vec<(usize, Vec<&str>)> =
        text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (i + 1, l.split_whitespace().collect())).collect();
    let name = rows.first().map(|r| r.1.join(" ")).unwrap_or_default();
    let (fleet, customers) = blocks(path, &rows)?;
    let Some(fleet) = fleet else {
        return Err(Error::bad_input(path, None, "not a Solomon file (VEHICLE / CUSTOMER blocks not found)"));
    };
    if customers.len() < 2 {
        return Err(Error::bad_input(path, None, "not a Solomon file: the CUSTOMER block needs the depot and a customer"));
    }
    for (k, (ln, row)) in customers.iter().enumerate() {
        if row[0] != k as f64 {
            return Err(Error::bad_input(path, Some(*ln), format!("customer rows must be numbered 0, 1, 2, ...: expected {k}, got {}", row[0])));
        }
    }
    if fleet.number.fract() != 0.0 || fleet.number < 1.0 {
        return Err(Error::bad_input(path, Some(fleet.line), format!("NUMBER of vehicles must be a positive integer, got {}", fleet.number)));
    }
    let col = |c: usize| customers.iter().map(|(_, r)| r[c]).collect::<Vec<f64>>();
    let data = InstanceData {
        name,
        coords: Some(customers.iter().map(|(_, r)| [r[1], r[2]]).collect()),
        rounding: Some(round.unwrap_or(Rounding::Exact)),
        capacity: Some(fleet.capacity),
        vehicles: Some(fleet.number as usize),
        linehaul: Some(col(3)),
        time_windows: Some(customers.iter().map(|(_, r)| [r[4], r[5]]).collect()),
        service: Some(col(6)),
        ..Default::default()
    };
    let mut lines = LineOf::default();
    lines.field(Field::Capacity, fleet.line);
    let node_lines: Vec<usize> = customers.iter().map(|(ln, _)| *ln).collect();
    for f in [Field::Coords, Field::Linehaul, Field::TimeWindows, Field::Service] {
        lines.section(f, node_lines[0], node_lines.clone());
    }
    let variant: Variant = "VRPTW".parse().expect("canonical");
    Instance::new(variant, data).map_err(|i| issue_to_error(path, &lines, i))
}

/// A CUSTOMER row's line number and its 7 values.
type CustomerRow = (usize, [f64; 7]);

/// The VEHICLE block's values and the line they stand on.
struct Fleet {
    number: f64,
    capacity: f64,
    line: usize,
}

/// The VEHICLE block (its values two rows below the heading) and the
/// CUSTOMER block's rows (from two rows below its heading to the end), each
/// row with its line number. `rows` are the file's non-blank lines, split
/// into words, the first being the name.
fn blocks(path: &Path, rows: &[(usize, Vec<&str>)]) -> Result<(Option<Fleet>, Vec<CustomerRow>)> {
    let mut fleet = None;
    let mut i = 1;
    while i < rows.len() {
        let (ln, toks) = &rows[i];
        let head = toks.join(" ").to_ascii_uppercase();
        if head.starts_with("VEHICLE") {
            let (line, vals) = rows.get(i + 2).ok_or_else(|| Error::bad_input(path, Some(*ln), "VEHICLE block is truncated"))?;
            if vals.len() != 2 {
                return Err(Error::bad_input(path, Some(*line), "expected 'NUMBER CAPACITY' values"));
            }
            let (number, capacity) = (parse_number(path, *line, vals[0], "NUMBER")?, parse_number(path, *line, vals[1], "CAPACITY")?);
            fleet = Some(Fleet { number, capacity, line: *line });
            i += 3;
        } else if head.starts_with("CUSTOMER") {
            let customers = rows[(i + 2).min(rows.len())..].iter().map(|(line, vals)| customer_row(path, *line, vals)).collect::<Result<_>>()?;
            return Ok((fleet, customers));
        } else {
            i += 1;
        }
    }
    Ok((fleet, vec![]))
}

/// One CUSTOMER row: `id x y demand ready due service`.
fn customer_row(path: &Path, line: usize, vals: &[&str]) -> Result<CustomerRow> {
    if vals.len() != 7 {
        return Err(Error::bad_input(path, Some(line), format!("customer row needs 7 values, got {}", vals.len())));
    }
    let mut row = [0.0; 7];
    for (k, t) in vals.iter().enumerate() {
        row[k] = parse_number(path, line, t, "customer row")?;
    }
    Ok((line, row))
}
