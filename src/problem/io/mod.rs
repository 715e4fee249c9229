//! Instance, solution and dataset files.
//!
//! Readers turn text into an [`Instance`] through `Instance::new`, so the checks
//! of the data against the variant live in one place; what the readers add is
//! where in the file each piece came from, so that every error names its line.

pub mod npz;
pub mod solomon;
pub mod solution;
pub mod vrplib;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::problem::distance::Rounding;
use crate::problem::instance::{Field, Instance, InstanceIssue};

/// Read an instance file of any supported format: VRPLIB/TSPLIB, or Solomon text.
pub fn read_instance(path: &Path, round: Option<Rounding>) -> Result<Instance> {
    let text = read_text(path)?;
    if solomon::looks_like_solomon(&text) {
        solomon::parse(path, &text, round)
    } else {
        vrplib::parse(path, &text, round)
    }
}

/// Read a whole file as UTF-8 text; failures are bad input naming the file.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::bad_input(path, None, format!("cannot read file: {e}")))?;
    if bytes.is_empty() {
        return Err(Error::bad_input(path, None, "the file is empty"));
    }
    String::from_utf8(bytes).map_err(|e| Error::bad_input(path, None, format!("cannot read file: not UTF-8 text ({e})")))
}

/// Parse one finite number; `what` says where it was expected.
pub fn parse_number(path: &Path, line: usize, token: &str, what: &str) -> Result<f64> {
    match token.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(Error::bad_input(path, Some(line), format!("non-finite number {token:?} in {what}"))),
        Err(_) => Err(Error::bad_input(path, Some(line), format!("non-numeric token '{token}' in {what}"))),
    }
}

/// Write a file atomically: a temporary file beside it, flushed, then renamed,
/// so a reader never sees half a file and a crash never loses the old one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::writing(path, e)
    })
}

/// Where each field (and each node's row of it) was read, to place errors.
#[derive(Default)]
pub struct LineOf {
    fields: HashMap<FieldKey, usize>,
    rows: HashMap<FieldKey, Vec<usize>>,
}

type FieldKey = u8;

fn key(f: Field) -> FieldKey {
    f as u8
}

impl LineOf {
    pub fn field(&mut self, f: Field, line: usize) {
        self.fields.insert(key(f), line);
    }

    pub fn section(&mut self, f: Field, header: usize, rows: Vec<usize>) {
        self.fields.insert(key(f), header);
        self.rows.insert(key(f), rows);
    }

    fn line(&self, f: Field, node: Option<usize>) -> Option<usize> {
        node.and_then(|j| self.rows.get(&key(f)).and_then(|r| r.get(j).copied())).or_else(|| self.fields.get(&key(f)).copied())
    }
}

/// An instance check that failed, placed at its line and prefixed with its section.
pub fn issue_to_error(path: &Path, lines: &LineOf, issue: InstanceIssue) -> Error {
    let prefix = match issue.field {
        Field::Linehaul => "DEMAND_SECTION: ",
        Field::Backhaul => "BACKHAUL_SECTION: ",
        Field::TimeWindows if !issue.message.starts_with("time window") => "TIME_WINDOW_SECTION: ",
        Field::Service => "SERVICE_TIME_SECTION: ",
        Field::DraftLimit if issue.node.is_some() => "DRAFT_LIMIT_SECTION: ",
        Field::Weights => "EDGE_WEIGHT_SECTION: ",
        Field::Durations => "EDGE_DURATION_SECTION: ",
        _ => "",
    };
    Error::bad_input(path, lines.line(issue.field, issue.node), format!("{prefix}{}", issue.message))
}
