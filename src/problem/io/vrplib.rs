//! VRPLIB / TSPLIB instances (`.vrp`, `.tsp`, `.atsp`): read and write.
//!
//! `KEY : value` specifications, then `*_SECTION` blocks, `EOF` optional, as
//! PyVRP and the `vrplib` package read them (FORMAT.md). Rows of explicit
//! weights may wrap across lines. Every error names the file and the line.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use super::{issue_to_error, parse_number, read_text, LineOf};
use crate::error::{Error, Result};
use crate::problem::distance::{Rounding, Weights};
use crate::problem::instance::{Field, Instance, InstanceData};
use crate::problem::variant::{Backhaul, Variant};

const KNOWN_SPECS: [&str; 12] = [
    "NAME",
    "TYPE",
    "DIMENSION",
    "CAPACITY",
    "VEHICLES",
    "EDGE_WEIGHT_TYPE",
    "EDGE_WEIGHT_FORMAT",
    "SERVICE_TIME",
    "VEHICLES_MAX_DISTANCE",
    "DISTANCE",
    "EDGE_DURATION_TYPE",
    "EDGE_DURATION_FORMAT",
];

/// What an explicit matrix section holds: weights (distances) or durations (travel times).
#[derive(Clone, Copy)]
struct MatrixKind {
    section: &'static str,
    format: &'static str,
    negative: &'static str,
}

const WEIGHTS: MatrixKind = MatrixKind { section: "EDGE_WEIGHT_SECTION", format: "EDGE_WEIGHT_FORMAT", negative: "negative weight" };
const DURATIONS: MatrixKind = MatrixKind { section: "EDGE_DURATION_SECTION", format: "EDGE_DURATION_FORMAT", negative: "negative travel time" };
/// Per-node sections and the number of values after the node id.
const NODE_SECTIONS: [(&str, usize); 7] = [
    ("NODE_COORD_SECTION", 2),
    ("DEMAND_SECTION", 1),
    ("LINEHAUL_SECTION", 1),
    ("BACKHAUL_SECTION", 1),
    ("TIME_WINDOW_SECTION", 2),
    ("SERVICE_TIME_SECTION", 1),
    ("DRAFT_LIMIT_SECTION", 1),
];

struct Section<'a> {
    header: usize,
    rows: Vec<(usize, Vec<&'a str>)>,
}

/// A file split into specifications and sections, with line numbers.
struct Raw<'a> {
    path: &'a Path,
    specs: HashMap<String, (&'a str, usize)>,
    sections: HashMap<String, Section<'a>>,
}

/// Read a VRPLIB/TSPLIB instance. `round` overrides the distance rule of coordinates.
pub fn read(path: &Path, round: Option<Rounding>) -> Result<Instance> {
    let text = read_text(path)?;
    parse(path, &text, round)
}

/// Parse VRPLIB text; `path` only names the source in errors.
pub fn parse(path: &Path, text: &str, round: Option<Rounding>) -> Result<Instance> {
    let raw = split(path, text)?;
    raw.instance(round)
}

fn split<'a>(path: &'a Path, text: &'a str) -> Result<Raw<'a>> {
    let mut raw = Raw { path, specs: HashMap::new(), sections: HashMap::new() };
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.eq_ignore_ascii_case("EOF") {
            break;
        }
        let first = line.split_whitespace().next().unwrap_or("").trim_end_matches(':').to_ascii_uppercase();
        if first.ends_with("_SECTION") {
            if raw.sections.contains_key(&first) {
                return Err(Error::bad_input(path, Some(ln), format!("section {first} appears twice")));
            }
            let rest: Vec<&str> =
                line.split_once(char::is_whitespace).map_or(vec![], |(_, r)| r.trim_start().trim_start_matches(':').split_whitespace().collect());
            let mut section = Section { header: ln, rows: vec![] };
            if !rest.is_empty() {
                section.rows.push((ln, rest));
            }
            raw.sections.insert(first.clone(), section);
            current = Some(first);
            continue;
        }
        if let Some((key, value)) = spec_line(line) {
            // A comment may span several COMMENT lines (FORMAT.md); lrm keeps none of it.
            if key == "COMMENT" && raw.specs.contains_key(&key) {
                current = None;
                continue;
            }
            if raw.specs.contains_key(&key) {
                return Err(Error::bad_input(path, Some(ln), format!("specification {key} appears twice")));
            }
            raw.specs.insert(key, (value, ln));
            current = None;
            continue;
        }
        match &current {
            Some(name) => raw.sections.get_mut(name).expect("open section").rows.push((ln, line.split_whitespace().collect())),
            None => {
                let shown: String = line.chars().take(60).collect();
                return Err(Error::bad_input(path, Some(ln), format!("unexpected line outside any section: {shown:?}")));
            }
        }
    }
    Ok(raw)
}

/// `KEY : value` (the colon may touch either side); keys start with a letter.
fn spec_line(line: &str) -> Option<(String, &str)> {
    let (key, value) = line.split_once(':')?;
    let key = key.trim();
    let ok = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| (key.to_ascii_uppercase(), value.trim()))
}

impl<'a> Raw<'a> {
    fn err(&self, line: Option<usize>, msg: impl Into<String>) -> Error {
        Error::bad_input(self.path, line, msg)
    }

    fn spec_number(&self, key: &str) -> Result<Option<(f64, usize)>> {
        let Some(&(value, ln)) = self.specs.get(key) else { return Ok(None) };
        let v = parse_number(self.path, ln, value, key)?;
        if v <= 0.0 && key != "SERVICE_TIME" {
            return Err(self.err(Some(ln), format!("{key} must be positive, got {value:?}")));
        }
        if v < 0.0 {
            return Err(self.err(Some(ln), format!("negative {key}")));
        }
        Ok(Some((v, ln)))
    }

    fn spec_count(&self, key: &str) -> Result<Option<(usize, usize)>> {
        match self.spec_number(key)? {
            Some((v, ln)) if v.fract() != 0.0 || v > u32::MAX as f64 => {
                Err(self.err(Some(ln), format!("{key} must be a whole number below 2^32, got {:?}", self.specs[key].0)))
            }
            Some((v, ln)) => Ok(Some((v as usize, ln))),
            None => Ok(None),
        }
    }

    fn instance(&self, round: Option<Rounding>) -> Result<Instance> {
        for (key, (_, ln)) in &self.specs {
            if !KNOWN_SPECS.contains(&key.as_str()) && key != "COMMENT" {
                tracing::warn!("{}:{ln}: unknown specification {key} ignored", self.path.display());
            }
        }
        for (name, s) in &self.sections {
            let known = NODE_SECTIONS.iter().any(|(k, _)| k == name) || ["DEPOT_SECTION", WEIGHTS.section, DURATIONS.section].contains(&name.as_str());
            if !known {
                tracing::warn!("{}:{}: unknown section {name} ignored", self.path.display(), s.header);
            }
        }
        let &(type_name, type_line) = self.specs.get("TYPE").ok_or_else(|| self.err(None, "TYPE specification missing (it names the variant)"))?;
        let (variant, lenient) = Variant::parse_lenient(type_name).map_err(|e| self.err(Some(type_line), format!("unknown TYPE '{}' ({})", e.name, e.why)))?;
        if lenient {
            tracing::warn!("{}:{type_line}: non-canonical TYPE {type_name:?}: read as {variant}", self.path.display());
        }
        let (dimension, dim_line) = self.spec_count("DIMENSION")?.ok_or_else(|| self.err(None, "DIMENSION specification missing"))?;
        if dimension < 2 {
            return Err(self.err(Some(dim_line), "DIMENSION must be at least 2"));
        }
        let room = self.specs.len() + self.sections.values().map(|s| s.rows.len()).sum::<usize>();
        if dimension > 64.max(room * 64) {
            return Err(self.err(Some(dim_line), format!("DIMENSION {dimension} is far larger than the file can hold")));
        }
        let mut lines = LineOf::default();
        lines.field(Field::Type, type_line);
        lines.field(Field::Dimension, dim_line);
        let data = self.data(dimension, round, &mut lines)?;
        let inst = Instance::new(variant, data).map_err(|i| issue_to_error(self.path, &lines, i))?;
        if inst.backhaul.is_some() && variant.backhaul == Backhaul::None {
            tracing::warn!("{}: BACKHAUL_SECTION in TYPE {variant}: enforced as classic backhauls", self.path.display());
        }
        Ok(inst)
    }

    fn data(&self, n: usize, round: Option<Rounding>, lines: &mut LineOf) -> Result<InstanceData> {
        let mut d = InstanceData { name: self.specs.get("NAME").map_or("", |s| s.0).to_string(), ..Default::default() };
        if let Some((q, ln)) = self.spec_number("CAPACITY")? {
            d.capacity = Some(q);
            lines.field(Field::Capacity, ln);
        }
        d.vehicles = self.spec_count("VEHICLES")?.map(|v| v.0);
        d.distance_limit = self.distance_limit(lines)?;
        d.coords = self.node_section(n, "NODE_COORD_SECTION", Field::Coords, lines)?.map(|v| v.into_iter().map(|r| [r[0], r[1]]).collect());
        let demand = self.node_section(n, "DEMAND_SECTION", Field::Linehaul, lines)?;
        let linehaul = self.node_section(n, "LINEHAUL_SECTION", Field::Linehaul, lines)?;
        if demand.is_some() && linehaul.is_some() {
            let ln = self.sections["LINEHAUL_SECTION"].header;
            return Err(self.err(Some(ln), "both DEMAND_SECTION and LINEHAUL_SECTION given (they are the same data)"));
        }
        d.linehaul = demand.or(linehaul).map(first_column);
        d.backhaul = self.node_section(n, "BACKHAUL_SECTION", Field::Backhaul, lines)?.map(first_column);
        d.time_windows = self.node_section(n, "TIME_WINDOW_SECTION", Field::TimeWindows, lines)?.map(|v| v.into_iter().map(|r| [r[0], r[1]]).collect());
        d.draft_limit = self.node_section(n, "DRAFT_LIMIT_SECTION", Field::DraftLimit, lines)?.map(first_column);
        d.service = self.service(n, lines)?;
        self.depot()?;
        self.weights(n, round, &mut d, lines)?;
        d.durations = self.durations(n, d.time_windows.is_some(), lines)?;
        Ok(d)
    }

    /// The travel-time matrix of FORMAT.md's "Durations", when the file gives one.
    fn durations(&self, n: usize, has_windows: bool, lines: &mut LineOf) -> Result<Option<Vec<f64>>> {
        let Some(section) = self.sections.get(DURATIONS.section) else {
            if let Some((_, ln)) = self.specs.get("EDGE_DURATION_TYPE") {
                return Err(self.err(Some(*ln), "EDGE_DURATION_TYPE without EDGE_DURATION_SECTION"));
            }
            return Ok(None);
        };
        match self.specs.get("EDGE_DURATION_TYPE") {
            Some((t, ln)) if !t.eq_ignore_ascii_case("EXPLICIT") => {
                return Err(self.err(Some(*ln), format!("unsupported EDGE_DURATION_TYPE {t} (supported: EXPLICIT)")));
            }
            _ => {}
        }
        if !has_windows {
            tracing::warn!("{}:{}: EDGE_DURATION_SECTION read and unused: travel times matter only with time windows", self.path.display(), section.header);
        }
        lines.field(Field::Durations, section.header);
        self.explicit_matrix(n, section, DURATIONS).map(Some)
    }

    fn distance_limit(&self, lines: &mut LineOf) -> Result<Option<f64>> {
        let max = self.spec_number("VEHICLES_MAX_DISTANCE")?;
        let dist = self.spec_number("DISTANCE")?;
        if let (Some(a), Some(b)) = (max, dist) {
            if a.0 != b.0 {
                return Err(self.err(Some(b.1), "VEHICLES_MAX_DISTANCE and DISTANCE disagree"));
            }
        }
        if dist.is_some() && self.specs.contains_key("SERVICE_TIME") {
            tracing::warn!(
                "{}: DISTANCE with SERVICE_TIME means a duration limit including service (Christofides' DCVRP); read as a travel-only limit",
                self.path.display()
            );
        }
        Ok(max.or(dist).map(|(v, ln)| {
            lines.field(Field::DistanceLimit, ln);
            v
        }))
    }

    fn service(&self, n: usize, lines: &mut LineOf) -> Result<Option<Vec<f64>>> {
        let section = self.node_section(n, "SERVICE_TIME_SECTION", Field::Service, lines)?.map(first_column);
        let spec = self.spec_number("SERVICE_TIME")?;
        Ok(match (section, spec) {
            (Some(s), spec) => {
                if spec.is_some() {
                    tracing::warn!("{}: SERVICE_TIME and SERVICE_TIME_SECTION both given: the section is used", self.path.display());
                }
                Some(s)
            }
            (None, Some((s, _))) => Some((0..n).map(|j| if j == 0 { 0.0 } else { s }).collect()),
            (None, None) => None,
        })
    }

    /// Rows `id v1 [v2]` for every node exactly once, indexed by node (0-based).
    fn node_section(&self, n: usize, name: &str, field: Field, lines: &mut LineOf) -> Result<Option<Vec<Vec<f64>>>> {
        let Some(section) = self.sections.get(name) else { return Ok(None) };
        let k = NODE_SECTIONS.iter().find(|(s, _)| *s == name).map_or(1, |(_, k)| *k);
        let mut out: Vec<Option<Vec<f64>>> = vec![None; n];
        let mut row_lines = vec![section.header; n];
        for (ln, toks) in &section.rows {
            if toks.len() != k + 1 {
                return Err(self.err(Some(*ln), format!("{name}: expected {} values (node id and {k}), got {}", k + 1, toks.len())));
            }
            let id = parse_number(self.path, *ln, toks[0], &format!("{name} node id"))?;
            if id.fract() != 0.0 || id < 1.0 || id > n as f64 {
                return Err(self.err(Some(*ln), format!("{name}: node id {} out of range 1..{n}", toks[0])));
            }
            let j = id as usize - 1;
            if out[j].is_some() {
                return Err(self.err(Some(*ln), format!("{name}: node {} listed twice", j + 1)));
            }
            let values = toks[1..].iter().map(|t| parse_number(self.path, *ln, t, name)).collect::<Result<Vec<f64>>>()?;
            out[j] = Some(values);
            row_lines[j] = *ln;
        }
        if let Some(missing) = out.iter().position(Option::is_none) {
            let msg = format!("{name}: {} rows for DIMENSION {n} (node {} missing)", section.rows.len(), missing + 1);
            return Err(self.err(Some(section.header), msg));
        }
        lines.section(field, section.header, row_lines);
        Ok(Some(out.into_iter().map(Option::unwrap).collect()))
    }

    fn depot(&self) -> Result<()> {
        let Some(section) = self.sections.get("DEPOT_SECTION") else { return Ok(()) };
        let mut ids = vec![];
        'rows: for (ln, toks) in &section.rows {
            for t in toks {
                let v = parse_number(self.path, *ln, t, "DEPOT_SECTION")?;
                if v == -1.0 {
                    break 'rows;
                }
                ids.push((v, *ln));
            }
        }
        match ids.as_slice() {
            [] => Err(self.err(Some(section.header), "DEPOT_SECTION lists no depot")),
            [(v, ln), ..] if *v != 1.0 => Err(self.err(Some(*ln), format!("the depot must be node 1, got {v}"))),
            [_, (_, ln), ..] => Err(self.err(Some(*ln), "more than one depot (multi-depot is not supported)")),
            _ => Ok(()),
        }
    }

    fn weights(&self, n: usize, round: Option<Rounding>, d: &mut InstanceData, lines: &mut LineOf) -> Result<()> {
        let ew_type = self.specs.get("EDGE_WEIGHT_TYPE").map(|(v, ln)| (v.to_ascii_uppercase(), *ln));
        let explicit_section = self.sections.get("EDGE_WEIGHT_SECTION");
        let explicit = match &ew_type {
            Some((t, _)) if t == "EXPLICIT" => true,
            Some((t, ln)) if !["EUC_2D", "EXACT_2D", "CEIL_2D"].contains(&t.as_str()) => {
                return Err(self.err(Some(*ln), format!("unsupported EDGE_WEIGHT_TYPE {t} (supported: EUC_2D, EXACT_2D, CEIL_2D, EXPLICIT)")));
            }
            Some(_) => false,
            None if explicit_section.is_some() => {
                tracing::warn!("{}: EDGE_WEIGHT_TYPE missing; EDGE_WEIGHT_SECTION present: EXPLICIT", self.path.display());
                true
            }
            None if round.is_some() => false,
            None => return Err(self.err(None, "EDGE_WEIGHT_TYPE missing (give it, or --round)")),
        };
        if explicit {
            let section = explicit_section.ok_or_else(|| self.err(None, "EDGE_WEIGHT_TYPE EXPLICIT without EDGE_WEIGHT_SECTION"))?;
            if round.is_some() {
                tracing::warn!("{}: --round ignored: weights are EXPLICIT", self.path.display());
            }
            lines.field(Field::Weights, section.header);
            d.matrix = Some(self.explicit_matrix(n, section, WEIGHTS)?);
            return Ok(());
        }
        if let Some(section) = explicit_section {
            tracing::warn!("{}:{}: EDGE_WEIGHT_SECTION ignored: weights come from coordinates", self.path.display(), section.header);
        }
        if d.coords.is_none() {
            let t = ew_type.map_or("coordinate".to_string(), |t| t.0);
            return Err(self.err(None, format!("EDGE_WEIGHT_TYPE {t} needs NODE_COORD_SECTION")));
        }
        d.rounding = Some(round.unwrap_or(match ew_type.as_ref().map(|t| t.0.as_str()) {
            Some("EUC_2D") => Rounding::Nint,
            Some("CEIL_2D") => Rounding::Ceil,
            _ => Rounding::Exact,
        }));
        Ok(())
    }

    /// An explicit matrix in any of TSPLIB's layouts; durations default to
    /// FULL_MATRIX, whose rows may each begin with their 1-based node index
    /// (as the `vrplib` package writes them).
    fn explicit_matrix(&self, n: usize, section: &Section, kind: MatrixKind) -> Result<Vec<f64>> {
        let given = self.specs.get(kind.format).map(|(v, ln)| (v.to_ascii_uppercase(), *ln));
        let (format, fmt_line) = match (given, kind.section) {
            (Some(f), _) => f,
            (None, s) if s == DURATIONS.section => ("FULL_MATRIX".to_string(), section.header),
            (None, _) => return Err(self.err(Some(section.header), format!("{} missing for EXPLICIT weights", kind.format))),
        };
        let cells: Box<dyn Fn(usize) -> std::ops::Range<usize>> = match format.as_str() {
            "FULL_MATRIX" => Box::new(move |_| 0..n),
            "LOWER_ROW" => Box::new(|i| 0..i),
            "UPPER_ROW" => Box::new(move |i| i + 1..n),
            "LOWER_DIAG_ROW" => Box::new(|i| 0..i + 1),
            "UPPER_DIAG_ROW" => Box::new(move |i| i..n),
            _ => {
                let msg = format!("unsupported {} {format} (supported: FULL_MATRIX, LOWER_ROW, UPPER_ROW, LOWER_DIAG_ROW, UPPER_DIAG_ROW)", kind.format);
                return Err(self.err(Some(fmt_line), msg));
            }
        };
        let expected: usize = (0..n).map(|i| cells(i).len()).sum();
        let mut values: Vec<(&str, usize)> = section.rows.iter().flat_map(|(ln, toks)| toks.iter().map(move |t| (*t, *ln))).collect();
        if format == "FULL_MATRIX" && values.len() == n * (n + 1) {
            values = self.without_row_indices(n, values, kind)?;
        }
        if values.len() != expected {
            let ln = values.get(expected).map_or(section.header, |v| v.1);
            let msg = format!("{} ({format}) has {} values, expected {expected} for DIMENSION {n}", kind.section, values.len());
            return Err(self.err(Some(ln), msg));
        }
        let mut m = vec![0.0; n * n];
        let mut it = values.into_iter();
        for i in 0..n {
            for j in cells(i) {
                let (tok, ln) = it.next().expect("counted");
                let v = parse_number(self.path, ln, tok, kind.section)?;
                if v < 0.0 && i != j {
                    return Err(self.err(Some(ln), format!("{}: {} {tok} from node {} to node {}", kind.section, kind.negative, i + 1, j + 1)));
                }
                m[i * n + j] = v;
                if format != "FULL_MATRIX" {
                    m[j * n + i] = v;
                }
            }
        }
        Ok(m)
    }
}

impl Raw<'_> {
    /// A full matrix whose rows each begin with their 1-based node index: the indices checked and dropped.
    fn without_row_indices<'t>(&self, n: usize, values: Vec<(&'t str, usize)>, kind: MatrixKind) -> Result<Vec<(&'t str, usize)>> {
        let mut kept = Vec::with_capacity(n * n);
        for (i, row) in values.chunks(n + 1).enumerate() {
            let (tok, ln) = row[0];
            if parse_number(self.path, ln, tok, kind.section)? != (i + 1) as f64 {
                return Err(self.err(Some(ln), format!("{}: row {} begins with {tok}, expected its node index {}", kind.section, i + 1, i + 1)));
            }
            kept.extend_from_slice(&row[1..]);
        }
        Ok(kept)
    }
}

fn first_column(rows: Vec<Vec<f64>>) -> Vec<f64> {
    rows.into_iter().map(|r| r[0]).collect()
}

/// Write an instance in VRPLIB with PyVRP's field names. Numbers are written in
/// Rust's shortest round-trip form, so the file reads back to the same values.
pub fn to_string(inst: &Instance) -> String {
    let mut s = String::new();
    let n = inst.num_nodes();
    let _ = writeln!(s, "NAME : {}", if inst.name.is_empty() { "unnamed" } else { &inst.name });
    let _ = writeln!(s, "TYPE : {}", inst.variant);
    let _ = writeln!(s, "DIMENSION : {n}");
    if let Some(q) = inst.capacity {
        let _ = writeln!(s, "CAPACITY : {q}");
    }
    if let Some(v) = inst.vehicles {
        let _ = writeln!(s, "VEHICLES : {v}");
    }
    if let Some(l) = inst.distance_limit {
        let _ = writeln!(s, "VEHICLES_MAX_DISTANCE : {l}");
    }
    match &inst.weights {
        Weights::Euclidean(rule) => {
            let ty = rule.edge_weight_type().unwrap_or("EXACT_2D");
            if rule.edge_weight_type().is_none() {
                let _ = writeln!(s, "COMMENT : distances truncated to one decimal: read with --round {rule}");
            }
            let _ = writeln!(s, "EDGE_WEIGHT_TYPE : {ty}");
        }
        Weights::Matrix(m) => {
            let _ = writeln!(s, "EDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : FULL_MATRIX\nEDGE_WEIGHT_SECTION");
            for row in m.chunks(n) {
                let line: Vec<String> = row.iter().map(|x| x.to_string()).collect();
                let _ = writeln!(s, "{}", line.join(" "));
            }
        }
    }
    if let Some(t) = &inst.durations {
        let _ = writeln!(s, "EDGE_DURATION_TYPE : EXPLICIT\nEDGE_DURATION_FORMAT : FULL_MATRIX\nEDGE_DURATION_SECTION");
        for row in t.chunks(n) {
            let line: Vec<String> = row.iter().map(|x| x.to_string()).collect();
            let _ = writeln!(s, "{}", line.join(" "));
        }
    }
    let mut section = |name: &str, rows: &mut dyn Iterator<Item = String>| {
        let _ = writeln!(s, "{name}");
        for (j, r) in rows.enumerate() {
            let _ = writeln!(s, "{} {r}", j + 1);
        }
    };
    if let Some(c) = &inst.coords {
        section("NODE_COORD_SECTION", &mut c.iter().map(|p| format!("{} {}", p[0], p[1])));
    }
    if !inst.variant.is_tsp() || inst.draft_limit.is_some() {
        section("DEMAND_SECTION", &mut inst.linehaul.iter().map(f64::to_string));
    }
    if let Some(b) = &inst.backhaul {
        section("BACKHAUL_SECTION", &mut b.iter().map(f64::to_string));
    }
    if let Some(tw) = &inst.time_windows {
        section("TIME_WINDOW_SECTION", &mut tw.iter().map(|w| format!("{} {}", w[0], w[1])));
    }
    if inst.time_windows.is_some() || inst.service.iter().any(|&x| x != 0.0) {
        section("SERVICE_TIME_SECTION", &mut inst.service.iter().map(f64::to_string));
    }
    if let Some(d) = &inst.draft_limit {
        section("DRAFT_LIMIT_SECTION", &mut d.iter().map(f64::to_string));
    }
    s.push_str("DEPOT_SECTION\n1\n-1\nEOF\n");
    s
}

/// Write an instance to a VRPLIB file.
pub fn write(path: &Path, inst: &Instance) -> Result<()> {
    super::write_atomic(path, to_string(inst).as_bytes())
}
