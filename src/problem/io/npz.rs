//! RouteFinder-style `.npz` datasets and reference solutions (FORMAT.md, "Datasets").
//!
//! An `.npz` is a zip of `.npy` arrays. We read little-endian `f4 f8 i1 i2 i4 i8
//! u1 b1` in C order (stored or deflated) and write `f4` data, `i8` actions and
//! `b1` flags, stored, as `np.savez` does. RouteFinder stores demands divided by
//! the capacity with `vehicle_capacity` 1; `capacity_original`, when present,
//! restores the integer demands, so a dataset reads back to its VRPLIB twin.
//! Travel times travel as `duration_matrix [B, n+1, n+1]` beside
//! `distance_matrix` (RRNCO's names; FORMAT.md, "Durations"), so RRNCO's
//! `rcvrptw` test files read as they are.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::problem::distance::Rounding;
use crate::problem::instance::{Instance, InstanceData};
use crate::problem::solution::Solution;
use crate::problem::variant::{Backhaul, Variant};

/// One array: its shape and its values widened to f64.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// The element type an array is written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F4,
    F8,
    I8,
    Bool,
}

impl Array {
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Array { shape, data }
    }

    /// Row `b` of the leading axis.
    pub fn row(&self, b: usize) -> &[f64] {
        let len = self.shape[1..].iter().product::<usize>();
        &self.data[b * len..(b + 1) * len]
    }
}

/// Read every array of an `.npz` file.
pub fn read_arrays(path: &Path) -> Result<BTreeMap<String, Array>> {
    let bytes = std::fs::read(path).map_err(|e| Error::bad_input(path, None, format!("cannot read file: {e}")))?;
    parse_arrays(path, &bytes)
}

/// Every array of an `.npz` file's bytes; `path` names it in errors.
pub fn parse_arrays(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, Array>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| Error::bad_input(path, None, format!("not an .npz (zip) file: {e}")))?;
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| Error::bad_input(path, None, format!("corrupt .npz entry {i}: {e}")))?;
        let name = entry.name().trim_end_matches(".npy").to_string();
        let mut bytes = Vec::with_capacity(entry.size().min(1 << 24) as usize);
        entry.read_to_end(&mut bytes).map_err(|e| Error::bad_input(path, None, format!("array {name}: {e}")))?;
        let array = parse_npy(&bytes).map_err(|msg| Error::bad_input(path, None, format!("array {name}: {msg}")))?;
        out.insert(name, array);
    }
    Ok(out)
}

fn parse_npy(bytes: &[u8]) -> std::result::Result<Array, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy array (bad magic)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes.get(start..start + header_len).ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(header).map_err(|_| "the .npy header is not text")?;
    let descr = header_value(header, "descr").ok_or("no 'descr' in the .npy header")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    if header_value(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err("Fortran-ordered arrays are not supported".into());
    }
    let shape_text = header_value(header, "shape").ok_or("no 'shape' in the .npy header")?;
    let shape = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape {shape_text}")))
        .collect::<std::result::Result<Vec<usize>, String>>()?;
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or("shape overflows")?;
    let body = &bytes[start + header_len..];
    let (size, decode): (usize, fn(&[u8]) -> f64) = match descr {
        "<f4" => (4, |b| f32::from_le_bytes(b.try_into().unwrap()) as f64),
        "<f8" => (8, |b| f64::from_le_bytes(b.try_into().unwrap())),
        "|i1" => (1, |b| b[0] as i8 as f64),
        "<i2" => (2, |b| i16::from_le_bytes(b.try_into().unwrap()) as f64),
        "<i4" => (4, |b| i32::from_le_bytes(b.try_into().unwrap()) as f64),
        "<i8" => (8, |b| i64::from_le_bytes(b.try_into().unwrap()) as f64),
        "|u1" | "|b1" => (1, |b| b[0] as f64),
        other => return Err(format!("unsupported dtype {other}")),
    };
    if body.len() != count * size {
        return Err(format!("{} data bytes for shape {shape:?} of {descr}", body.len()));
    }
    Ok(Array { shape, data: body.chunks_exact(size).map(decode).collect() })
}

/// The text after `'key':` in a .npy header dict, up to the next top-level comma.
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
    Some(rest[..end].trim())
}

fn npy_bytes(array: &Array, dtype: Dtype) -> Vec<u8> {
    let descr = match dtype {
        Dtype::F4 => "<f4",
        Dtype::F8 => "<f8",
        Dtype::I8 => "<i8",
        Dtype::Bool => "|b1",
    };
    let shape = match array.shape.as_slice() {
        [d] => format!("({d},)"),
        dims => format!("({})", dims.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &x in &array.data {
        match dtype {
            Dtype::F4 => out.extend_from_slice(&(x as f32).to_le_bytes()),
            Dtype::F8 => out.extend_from_slice(&x.to_le_bytes()),
            Dtype::I8 => out.extend_from_slice(&(x as i64).to_le_bytes()),
            Dtype::Bool => out.push((x != 0.0) as u8),
        }
    }
    out
}

/// Write arrays as an uncompressed `.npz` (what `np.savez` writes), atomically.
pub fn write_arrays(path: &Path, arrays: &[(&str, Array, Dtype)]) -> Result<()> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(true);
    let fail = |e: String| Error::writing(path, std::io::Error::other(e));
    for (name, array, dtype) in arrays {
        zip.start_file(format!("{name}.npy"), options).map_err(|e| fail(e.to_string()))?;
        zip.write_all(&npy_bytes(array, *dtype)).map_err(|e| fail(e.to_string()))?;
    }
    let bytes = zip.finish().map_err(|e| fail(e.to_string()))?.into_inner();
    super::write_atomic(path, &bytes)
}

/// Read a dataset: one instance per row, variant inferred per instance from the
/// arrays present (RouteFinder stores only the attributes a set has; in mixed
/// sets, switched-off attributes hold their defaults: windows `[0, inf]`, an
/// infinite limit, `open_route` false). Backhauls are on wherever
/// `demand_backhaul` is stored, even for an instance that drew no backhaul
/// customer, except where `backhaul_class` is 0: `lrm` writes 0 for the
/// instances of a mixed set whose B is off (RouteFinder's classes are 1 and 2,
/// and zero backhaul demand constrains nothing under either).
pub fn read_dataset(path: &Path) -> Result<Vec<Instance>> {
    dataset_from_arrays(path, read_arrays(path)?)
}

/// [`read_dataset`] on arrays already read; `path` names them in errors.
pub fn dataset_from_arrays(path: &Path, arrays: BTreeMap<String, Array>) -> Result<Vec<Instance>> {
    let arrays = with_depot_in_locs(path, arrays)?;
    let locs = arrays.get("locs").ok_or_else(|| Error::bad_input(path, None, "no 'locs' array: not a routing dataset"))?;
    if locs.shape.len() != 3 || locs.shape[2] != 2 || locs.shape[1] < 2 {
        return Err(Error::bad_input(path, None, format!("'locs' must have shape [B, n+1, 2], got {:?}", locs.shape)));
    }
    let (batch, nodes) = (locs.shape[0], locs.shape[1]);
    for (name, a) in &arrays {
        if a.shape.first() != Some(&batch) && !a.shape.is_empty() {
            return Err(Error::bad_input(path, None, format!("array {name} has {:?} rows, 'locs' has {batch}", a.shape.first())));
        }
    }
    let expect = |name: &str, tail: &[usize]| -> Result<Option<&Array>> {
        match arrays.get(name) {
            Some(a) if a.shape.get(1..) != Some(tail) => {
                Err(Error::bad_input(path, None, format!("array {name} must have shape [B, {tail:?}], got {:?}", a.shape)))
            }
            other => Ok(other),
        }
    };
    let n = nodes - 1;
    let shapes = Shapes {
        linehaul: expect("demand_linehaul", &[n])?,
        backhaul: expect("demand_backhaul", &[n])?,
        capacity: expect("vehicle_capacity", &[1])?,
        capacity_original: expect("capacity_original", &[1])?,
        windows: expect("time_windows", &[nodes, 2])?,
        service: expect("service_time", &[nodes])?,
        limit: expect("distance_limit", &[1])?,
        open: expect("open_route", &[1])?,
        class: expect("backhaul_class", &[1])?,
        demand: expect("demand", &[nodes])?,
        draft: expect("draft_limit", &[nodes])?,
        matrix: expect("distance_matrix", &[nodes, nodes])?,
        durations: expect("duration_matrix", &[nodes, nodes])?,
    };
    let stem = path.file_stem().map_or("instance".into(), |s| s.to_string_lossy().into_owned());
    (0..batch)
        .map(|b| {
            let (variant, data) = shapes.instance(locs, b, format!("{stem}-{b:03}"));
            Instance::new(variant, data).map_err(|i| Error::bad_input(path, None, format!("instance {b}: {}", i.message)))
        })
        .collect()
}

/// RL4CO's CVRP layout, which RRNCO's `rcvrp` test files use: the depot in
/// its own `depot` `[B, 2]`, customers in `locs` `[B, n, 2]`, `demand`
/// `[B, n]` (unscaled) and `capacity` `[B]`. Rewritten into the layout the
/// reader takes (the depot as row 0 of `locs`, `demand_linehaul` and
/// `vehicle_capacity` `[B, 1]`); any other dataset passes unchanged.
fn with_depot_in_locs(path: &Path, mut arrays: BTreeMap<String, Array>) -> Result<BTreeMap<String, Array>> {
    let Some(depot) = arrays.remove("depot") else { return Ok(arrays) };
    let locs = arrays.get("locs").ok_or_else(|| Error::bad_input(path, None, "a 'depot' array but no 'locs': not a routing dataset"))?;
    let batch = depot.shape.first().copied().unwrap_or(0);
    if depot.shape != [batch, 2] || locs.shape.len() != 3 || locs.shape[0] != batch || locs.shape[2] != 2 {
        return Err(Error::bad_input(path, None, format!("'depot' must have shape [B, 2] and 'locs' [B, n, 2], got {:?} and {:?}", depot.shape, locs.shape)));
    }
    let n = locs.shape[1];
    let data = (0..batch).flat_map(|b| depot.row(b).iter().chain(locs.row(b)).copied().collect::<Vec<f64>>()).collect();
    arrays.insert("locs".into(), Array::new(vec![batch, n + 1, 2], data));
    if let Some(demand) = arrays.remove("demand") {
        if demand.shape != [batch, n] {
            return Err(Error::bad_input(path, None, format!("with 'depot', 'demand' must have shape [B, n] = [{batch}, {n}], got {:?}", demand.shape)));
        }
        arrays.insert("demand_linehaul".into(), demand);
    }
    if let Some(capacity) = arrays.remove("capacity") {
        if capacity.shape != [batch] && capacity.shape != [batch, 1] {
            return Err(Error::bad_input(path, None, format!("'capacity' must have shape [B] or [B, 1], got {:?}", capacity.shape)));
        }
        arrays.insert("vehicle_capacity".into(), Array::new(vec![batch, 1], capacity.data));
    }
    Ok(arrays)
}

struct Shapes<'a> {
    linehaul: Option<&'a Array>,
    backhaul: Option<&'a Array>,
    capacity: Option<&'a Array>,
    capacity_original: Option<&'a Array>,
    windows: Option<&'a Array>,
    service: Option<&'a Array>,
    limit: Option<&'a Array>,
    open: Option<&'a Array>,
    class: Option<&'a Array>,
    demand: Option<&'a Array>,
    draft: Option<&'a Array>,
    matrix: Option<&'a Array>,
    durations: Option<&'a Array>,
}

/// Undo a division by `scale` stored in f32: whole numbers come back whole.
fn unscale(x: f64, scale: f64) -> f64 {
    let v = x * scale;
    if (v - v.round()).abs() < 1e-4 * scale.max(1.0) {
        v.round()
    } else {
        v
    }
}

impl Shapes<'_> {
    fn instance(&self, locs: &Array, b: usize, name: String) -> (Variant, InstanceData) {
        let coords: Vec<[f64; 2]> = locs.row(b).chunks(2).map(|p| [p[0], p[1]]).collect();
        let n = coords.len() - 1;
        let mut d = InstanceData { name, coords: Some(coords), rounding: Some(Rounding::Exact), ..Default::default() };
        d.matrix = self.matrix.map(|m| m.row(b).to_vec());
        d.durations = self.durations.map(|m| m.row(b).to_vec());
        let windows = self.windows.map(|w| w.row(b).chunks(2).map(|p| [p[0], p[1]]).collect::<Vec<[f64; 2]>>());
        let has_windows = windows.as_ref().is_some_and(|w| w.iter().any(|p| p[1].is_finite()));
        if has_windows {
            d.time_windows = windows;
            d.service = self.service.map(|s| s.row(b).to_vec());
        }
        let asymmetric = d.matrix.is_some();
        if let Some(lin) = self.linehaul {
            let capacity = self.capacity.map_or(1.0, |c| c.row(b)[0]);
            let scale = self.capacity_original.map_or(1.0, |c| c.row(b)[0] / capacity);
            let demands = |a: &Array| std::iter::once(0.0).chain(a.row(b).iter().map(|&x| unscale(x, scale))).collect::<Vec<f64>>();
            d.capacity = Some(capacity * scale);
            d.linehaul = Some(demands(lin));
            let class = self.class.map_or(1.0, |c| c.row(b)[0]);
            let backhaul = self.backhaul.map(demands).filter(|_| class != 0.0);
            let kind = match (&backhaul, class == 2.0) {
                (None, _) => Backhaul::None,
                (Some(_), true) => Backhaul::Mixed,
                (Some(_), false) => Backhaul::Classic,
            };
            d.backhaul = backhaul;
            d.distance_limit = self.limit.map(|l| l.row(b)[0]).filter(|l| l.is_finite());
            let open = self.open.is_some_and(|o| o.row(b)[0] != 0.0);
            let v = Variant { asymmetric, ..Variant::mtvrp(open, kind, d.distance_limit.is_some(), has_windows) };
            return (v, d);
        }
        if let (Some(demand), Some(draft)) = (self.demand, self.draft) {
            d.linehaul = Some(demand.row(b).iter().map(|&x| unscale(x, n as f64)).collect());
            d.draft_limit = Some(draft.row(b).iter().map(|&x| unscale(x, n as f64)).collect());
            return (Variant { draft_limit: true, asymmetric, ..Variant::TSP }, d);
        }
        (Variant { time_windows: has_windows, asymmetric, ..Variant::TSP }, d)
    }
}

/// Write instances of one family and size as a RouteFinder-style dataset.
pub fn write_dataset(path: &Path, instances: &[Instance]) -> Result<()> {
    let first = instances.first().ok_or_else(|| Error::Failure("no instances to write".into()))?;
    let nodes = first.num_nodes();
    if let Some(k) = instances.iter().position(|i| i.num_nodes() != nodes || i.variant.family != first.variant.family || i.coords.is_none()) {
        return Err(Error::Failure(format!(
            "instance {k} differs in size or family from instance 0 (or has no coordinates): a dataset holds one family and size"
        )));
    }
    let batch = instances.len();
    let n = nodes - 1;
    let gather = |tail: Vec<usize>, f: &dyn Fn(&Instance) -> Vec<f64>| {
        let mut shape = vec![batch];
        shape.extend(tail);
        Array::new(shape, instances.iter().flat_map(f).collect())
    };
    let mut arrays: Vec<(&str, Array, Dtype)> =
        vec![("locs", gather(vec![nodes, 2], &|i| i.coords.as_ref().expect("checked").iter().flatten().copied().collect()), Dtype::F4)];
    let any = |f: &dyn Fn(&Instance) -> bool| instances.iter().any(f);
    if any(&|i| matches!(i.weights, crate::problem::distance::Weights::Matrix(_))) {
        let matrix = |i: &Instance| (0..nodes).flat_map(|a| (0..nodes).map(move |b| (a, b))).map(|(a, b)| i.distance(a, b)).collect();
        arrays.push(("distance_matrix", gather(vec![nodes, nodes], &matrix), Dtype::F4));
    }
    if any(&|i| i.durations.is_some()) {
        let durations = |i: &Instance| (0..nodes).flat_map(|a| (0..nodes).map(move |b| (a, b))).map(|(a, b)| i.travel_time(a, b)).collect();
        arrays.push(("duration_matrix", gather(vec![nodes, nodes], &durations), Dtype::F4));
    }
    if first.variant.is_tsp() {
        if any(&|i| i.draft_limit.is_some()) {
            arrays.push(("demand", gather(vec![nodes], &|i| i.linehaul.iter().map(|x| x / n as f64).collect()), Dtype::F4));
            let draft = |i: &Instance| i.draft_limit.clone().unwrap_or(vec![n as f64; nodes]).iter().map(|x| x / n as f64).collect();
            arrays.push(("draft_limit", gather(vec![nodes], &draft), Dtype::F4));
        }
    } else {
        let q = |i: &Instance| i.capacity.expect("capacitated");
        arrays.push(("demand_linehaul", gather(vec![n], &|i| i.linehaul[1..].iter().map(|x| x / q(i)).collect()), Dtype::F4));
        arrays.push(("vehicle_capacity", gather(vec![1], &|_| vec![1.0]), Dtype::F4));
        arrays.push(("capacity_original", gather(vec![1], &|i| vec![q(i)]), Dtype::F4));
        arrays.push(("speed", gather(vec![1], &|_| vec![1.0]), Dtype::F4));
        arrays.push(("num_depots", gather(vec![1], &|_| vec![1.0]), Dtype::I8));
        if any(&|i| i.backhaul.is_some()) {
            let back = |i: &Instance| (1..nodes).map(|j| i.backhaul_of(j) / q(i)).collect();
            arrays.push(("demand_backhaul", gather(vec![n], &back), Dtype::F4));
            let class = |i: &Instance| {
                vec![match (&i.backhaul, i.variant.backhaul) {
                    (None, _) => 0.0,
                    (Some(_), Backhaul::Mixed) => 2.0,
                    (Some(_), _) => 1.0,
                }]
            };
            arrays.push(("backhaul_class", gather(vec![1], &class), Dtype::F4));
        }
        if any(&|i| i.variant.open) {
            arrays.push(("open_route", gather(vec![1], &|i| vec![i.variant.open as u8 as f64]), Dtype::Bool));
        }
        if any(&|i| i.distance_limit.is_some()) {
            arrays.push(("distance_limit", gather(vec![1], &|i| vec![i.distance_limit.unwrap_or(f64::INFINITY)]), Dtype::F4));
        }
    }
    if any(&|i| i.time_windows.is_some()) {
        arrays.push(("time_windows", gather(vec![nodes, 2], &|i| (0..nodes).flat_map(|j| i.window(j)).collect()), Dtype::F4));
        let service = |i: &Instance| if i.time_windows.is_some() { i.service.clone() } else { vec![0.0; nodes] };
        arrays.push(("service_time", gather(vec![nodes], &service), Dtype::F4));
    }
    write_arrays(path, &arrays)
}

/// Reference solutions `<name>_sol_<solver>.npz`: positive costs (RouteFinder's
/// negated ones are turned back) and, when stored, the solutions.
pub fn read_reference(path: &Path) -> Result<(Vec<f64>, Option<Vec<Solution>>)> {
    reference_from_arrays(path, read_arrays(path)?)
}

/// [`read_reference`] on arrays already read; `path` names them in errors.
pub fn reference_from_arrays(path: &Path, arrays: BTreeMap<String, Array>) -> Result<(Vec<f64>, Option<Vec<Solution>>)> {
    let costs = arrays.get("costs").ok_or_else(|| Error::bad_input(path, None, "no 'costs' array in the reference file"))?;
    let costs = costs.data.iter().map(|c| c.abs()).collect();
    let solutions = arrays.get("actions").map(|a| {
        let width = a.shape.get(1).copied().unwrap_or(0);
        a.data.chunks(width.max(1)).map(|row| Solution::from_giant_tour(&row.iter().map(|&x| x as usize).collect::<Vec<_>>())).collect()
    });
    Ok((costs, solutions))
}

/// Write reference costs and solutions (actions padded with zeros).
pub fn write_reference(path: &Path, costs: &[f64], solutions: &[Solution]) -> Result<()> {
    let tours: Vec<Vec<usize>> = solutions.iter().map(Solution::to_giant_tour).collect();
    let width = tours.iter().map(Vec::len).max().unwrap_or(0) + 1;
    let actions = tours.iter().flat_map(|t| t.iter().map(|&x| x as f64).chain(std::iter::repeat(0.0)).take(width)).collect();
    write_arrays(
        path,
        &[("costs", Array::new(vec![costs.len()], costs.to_vec()), Dtype::F8), ("actions", Array::new(vec![tours.len(), width], actions), Dtype::I8)],
    )
}
