//! RouteFinder-style `.npz` datasets and reference solutions (FORMAT.md, "Datasets").
//!
//! An `.npz` is a zip of `.npy` arrays (the zip by `zip`, the arrays by
//! `ndarray-npy`). We read `f4 f8 i1 i2 i4 i8 u1 b1` in either byte order and
//! either memory order (stored or deflated) and write `f4` data, `i8` actions
//! and `b1` flags, stored, as `np.savez` does. RouteFinder stores demands divided by
//! the capacity with `vehicle_capacity` 1; `capacity_original`, when present,
//! restores the integer demands, so a dataset reads back to its VRPLIB twin.
//! Travel times travel as `duration_matrix [B, n+1, n+1]` beside
//! `distance_matrix` (RRNCO's names; FORMAT.md, "Durations"), so RRNCO's
//! `rcvrptw` test files read as they are.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::npy::header::Header;
use ndarray_npy::{ReadNpyExt, ReadableElement, WritableElement, WriteNpyExt};

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

/// One `.npy` array, widened to f64 in C order. The header and the values
/// are read by `ndarray-npy`: either byte order, C or Fortran order, the
/// dtypes `f4 f8 i1 i2 i4 i8 u1 b1`.
fn parse_npy(bytes: &[u8]) -> std::result::Result<Array, String> {
    let depth = header_depth(bytes);
    if depth > MAX_HEADER_DEPTH {
        return Err(format!("not a .npy header numpy writes: brackets nested {depth} deep"));
    }
    let mut body = bytes;
    let header = Header::from_reader(&mut body).map_err(|e| format!("not a .npy array: {e}"))?;
    let Some(descr) = header.type_descriptor.as_string() else {
        return Err(format!("unsupported dtype {}", header.type_descriptor));
    };
    // Checked before reading, which allocates what the header claims.
    let count = header.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or("shape overflows")?;
    let size: usize = descr.get(2..).and_then(|s| s.parse().ok()).ok_or_else(|| format!("unsupported dtype {descr}"))?;
    if count.checked_mul(size) != Some(body.len()) {
        return Err(format!("{} data bytes for shape {:?} of {descr}", body.len(), header.shape));
    }
    let data = match descr.get(1..) {
        Some("f4") => widened::<f32>(bytes, |x| x as f64),
        Some("f8") => widened::<f64>(bytes, |x| x),
        Some("i1") => widened::<i8>(bytes, |x| x as f64),
        Some("i2") => widened::<i16>(bytes, |x| x as f64),
        Some("i4") => widened::<i32>(bytes, |x| x as f64),
        Some("i8") => widened::<i64>(bytes, |x| x as f64),
        Some("u1") => widened::<u8>(bytes, |x| x as f64),
        Some("b1") => widened::<bool>(bytes, |x| x as u8 as f64),
        _ => Err(format!("unsupported dtype {descr}")),
    }?;
    Ok(Array { shape: header.shape, data })
}

/// The deepest bracket nesting [`parse_npy`] reads. numpy's headers nest 2
/// deep (a dict holding a shape), a structured dtype's 4; `ndarray-npy`'s
/// header parser takes time exponential in the nesting of lists (3.6 s at 20
/// deep, measured 2026-12-03), so deeper headers are refused before it.
const MAX_HEADER_DEPTH: usize = 8;

/// The deepest nesting of brackets in a `.npy` header: from its `{` to the
/// newline that ends it, brackets inside strings counted too.
fn header_depth(bytes: &[u8]) -> usize {
    let header = bytes.iter().position(|&b| b == b'{').map_or(&[][..], |start| &bytes[start..]);
    let header = &header[..header.iter().position(|&b| b == b'\n').unwrap_or(header.len())];
    let mut depth = 0usize;
    let mut deepest = 0;
    for b in header {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        deepest = deepest.max(depth);
    }
    deepest
}

/// The values of a `.npy` array of element type `T`, in C order.
fn widened<T: ReadableElement + Copy>(bytes: &[u8], widen: fn(T) -> f64) -> std::result::Result<Vec<f64>, String> {
    let array = ArrayD::<T>::read_npy(bytes).map_err(|e| e.to_string())?;
    Ok(array.iter().map(|&x| widen(x)).collect())
}

/// One `.npy` array as `np.save` writes it, its values narrowed to `dtype`.
fn npy_bytes(array: &Array, dtype: Dtype) -> std::result::Result<Vec<u8>, String> {
    fn written<T: WritableElement>(shape: &[usize], values: Vec<T>) -> std::result::Result<Vec<u8>, String> {
        let array = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        array.write_npy(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }
    let values = array.data.iter();
    match dtype {
        Dtype::F4 => written(&array.shape, values.map(|&x| x as f32).collect()),
        Dtype::F8 => written(&array.shape, values.copied().collect()),
        Dtype::I8 => written(&array.shape, values.map(|&x| x as i64).collect()),
        Dtype::Bool => written(&array.shape, values.map(|&x| x != 0.0).collect()),
    }
}

/// Write arrays as an uncompressed `.npz` (what `np.savez` writes), atomically.
pub fn write_arrays(path: &Path, arrays: &[(&str, Array, Dtype)]) -> Result<()> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored).large_file(true);
    let fail = |e: String| Error::writing(path, std::io::Error::other(e));
    for (name, array, dtype) in arrays {
        zip.start_file(format!("{name}.npy"), options).map_err(|e| fail(e.to_string()))?;
        zip.write_all(&npy_bytes(array, *dtype).map_err(fail)?).map_err(|e| fail(e.to_string()))?;
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
