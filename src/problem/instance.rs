//! One immutable `Instance` type for every variant, in original units (f64).
//!
//! Node 0 is the depot and customers are `1..=n`. Per-node arrays have `n + 1`
//! entries; an attribute the instance does not have is `None` (or zeros for
//! demand and service time, which then constrain nothing). Readers and
//! generators build an `Instance` through [`Instance::new`], which checks the
//! data against the variant once, so everything downstream may trust it.

use std::fmt;
use std::sync::Arc;

use super::distance::{euclidean, Rounding, Weights};
use super::variant::{Backhaul, Variant};

/// Absolute tolerance on non-integer data (FORMAT.md); integer data compares exactly.
pub const TOLERANCE: f64 = 1e-6;

/// The largest instance (in nodes, the depot included) whose Euclidean
/// distances [`Instance::tabulated`] computes into a table: `(n+1)^2` f64s,
/// 2 MiB at 512 nodes.
pub const MAX_TABULATED_NODES: usize = 512;

/// Everything an instance file or dataset can say, before it is checked.
#[derive(Clone, Debug, Default)]
pub struct InstanceData {
    pub name: String,
    pub coords: Option<Vec<[f64; 2]>>,
    /// Explicit weights, row-major `(n+1)^2`; takes precedence over coordinates.
    pub matrix: Option<Vec<f64>>,
    pub rounding: Option<Rounding>,
    pub capacity: Option<f64>,
    pub vehicles: Option<usize>,
    pub linehaul: Option<Vec<f64>>,
    pub backhaul: Option<Vec<f64>>,
    pub time_windows: Option<Vec<[f64; 2]>>,
    pub service: Option<Vec<f64>>,
    pub distance_limit: Option<f64>,
    pub draft_limit: Option<Vec<f64>>,
    /// Travel times, row-major `(n+1)^2`, when they differ from distances
    /// (FORMAT.md, "Durations": road networks).
    pub durations: Option<Vec<f64>>,
}

/// The data section an [`InstanceIssue`] points at, so a reader can name the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Type,
    Dimension,
    Coords,
    Weights,
    Capacity,
    Linehaul,
    Backhaul,
    TimeWindows,
    Service,
    DistanceLimit,
    DraftLimit,
    Durations,
}

/// Why data do not make an instance of its variant; `node` is 0-based when given.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceIssue {
    pub field: Field,
    pub node: Option<usize>,
    pub message: String,
}

/// A routing instance. Construct with [`Instance::new`]; fields are read-only by convention.
#[derive(Clone, Debug)]
pub struct Instance {
    pub name: String,
    pub variant: Variant,
    pub coords: Option<Vec<[f64; 2]>>,
    pub weights: Weights,
    pub capacity: Option<f64>,
    pub vehicles: Option<usize>,
    pub linehaul: Vec<f64>,
    pub backhaul: Option<Vec<f64>>,
    pub time_windows: Option<Vec<[f64; 2]>>,
    pub service: Vec<f64>,
    pub distance_limit: Option<f64>,
    pub draft_limit: Option<Vec<f64>>,
    /// Travel times, row-major `(n+1)^2`; `None`: travel time is the distance.
    pub durations: Option<Vec<f64>>,
    /// 0 on integer data, [`TOLERANCE`] otherwise.
    pub tolerance: f64,
    /// Euclidean distances computed once ([`Instance::tabulated`]); private,
    /// so that instances are built through [`Instance::new`] (a changed one
    /// through [`Instance::to_data`]) and the table matches the coordinates
    /// and rule it was computed from. The public fields are read-only by
    /// convention: changing the coordinates, rule or node count of a
    /// tabulated instance would leave its table stale.
    table: Option<DistanceTable>,
}

/// Row-major `(n+1)^2` distances, shared by an instance's clones.
#[derive(Clone)]
struct DistanceTable(Arc<[f64]>);

impl fmt::Debug for DistanceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistanceTable({} entries)", self.0.len())
    }
}

impl Instance {
    /// Check `data` against `variant` (FORMAT.md) and build the instance.
    pub fn new(variant: Variant, data: InstanceData) -> Result<Instance, InstanceIssue> {
        let nodes = node_count(&data)?;
        let weights = weights(&data, nodes)?;
        let inst = Instance {
            name: data.name,
            variant,
            coords: data.coords,
            weights,
            capacity: data.capacity,
            vehicles: data.vehicles,
            linehaul: data.linehaul.clone().unwrap_or_else(|| vec![0.0; nodes]),
            backhaul: data.backhaul,
            time_windows: data.time_windows,
            service: data.service.unwrap_or_else(|| vec![0.0; nodes]),
            distance_limit: data.distance_limit,
            draft_limit: data.draft_limit,
            durations: data.durations,
            tolerance: 0.0,
            table: None,
        };
        inst.check_sections(data.linehaul.is_some())?;
        inst.check_values()?;
        let mut inst = inst;
        inst.tolerance = if inst.is_integral() { 0.0 } else { TOLERANCE };
        inst.check_windows_reachable()?;
        Ok(inst)
    }

    /// Number of customers `n` (the depot excluded).
    pub fn num_customers(&self) -> usize {
        self.linehaul.len() - 1
    }

    /// Number of nodes `n + 1`.
    pub fn num_nodes(&self) -> usize {
        self.linehaul.len()
    }

    /// The data this instance holds, as checked: `Instance::new(inst.variant,
    /// inst.to_data())` builds it again. A changed instance is derived by
    /// editing the data and building it again, so that it is checked too.
    pub fn to_data(&self) -> InstanceData {
        let (matrix, rounding) = match &self.weights {
            Weights::Euclidean(rule) => (None, Some(*rule)),
            Weights::Matrix(m) => (Some(m.clone()), None),
        };
        InstanceData {
            name: self.name.clone(),
            coords: self.coords.clone(),
            matrix,
            rounding,
            capacity: self.capacity,
            vehicles: self.vehicles,
            linehaul: Some(self.linehaul.clone()),
            backhaul: self.backhaul.clone(),
            time_windows: self.time_windows.clone(),
            service: Some(self.service.clone()),
            distance_limit: self.distance_limit,
            draft_limit: self.draft_limit.clone(),
            durations: self.durations.clone(),
        }
    }

    /// The same instance with its Euclidean distances computed once into a
    /// table that its clones share. A rollout's mask reads the arc to every
    /// node (and from it back to the depot) at every step: `sqrt` and the
    /// rounding rule there were a twentieth of a training step. The table
    /// holds [`Self::distance`]'s values, so every distance is the same to the
    /// bit. Instances given by a matrix, or of more than
    /// [`MAX_TABULATED_NODES`] nodes, come back unchanged.
    pub fn tabulated(&self) -> Instance {
        let nodes = self.num_nodes();
        let mut inst = self.clone();
        if self.table.is_none() && matches!(self.weights, Weights::Euclidean(_)) && nodes <= MAX_TABULATED_NODES {
            let table: Arc<[f64]> = (0..nodes * nodes).map(|k| self.distance(k / nodes, k % nodes)).collect();
            inst.table = Some(DistanceTable(table));
        }
        inst
    }

    /// Whether [`Self::distance`] reads a table ([`Self::tabulated`]).
    pub fn is_tabulated(&self) -> bool {
        self.table.is_some()
    }

    /// Travel distance (and time) from `i` to `j` under the instance's rule.
    #[inline]
    pub fn distance(&self, i: usize, j: usize) -> f64 {
        match &self.weights {
            Weights::Euclidean(rule) => match &self.table {
                Some(DistanceTable(t)) => {
                    debug_assert_eq!(t.len(), self.num_nodes().pow(2), "a table of this instance's nodes");
                    t[i * self.num_nodes() + j]
                }
                None => {
                    let c = self.coords.as_ref().expect("Euclidean weights have coordinates");
                    rule.apply(euclidean(c[i], c[j]))
                }
            },
            Weights::Matrix(m) => m[i * self.num_nodes() + j],
        }
    }

    /// Travel time from `i` to `j`: the duration matrix's entry where the
    /// instance has one, the distance otherwise (FORMAT.md, "Durations").
    #[inline]
    pub fn travel_time(&self, i: usize, j: usize) -> f64 {
        match &self.durations {
            Some(t) => t[i * self.num_nodes() + j],
            None => self.distance(i, j),
        }
    }

    /// The backhaul rule in force: a backhaul section under a variant without B
    /// is enforced as classic (FORMAT.md).
    pub fn backhaul_rule(&self) -> Backhaul {
        match (&self.backhaul, self.variant.backhaul) {
            (None, _) => Backhaul::None,
            (Some(_), Backhaul::Mixed) => Backhaul::Mixed,
            (Some(_), _) => Backhaul::Classic,
        }
    }

    /// The largest demand (linehaul or backhaul) over the capacity; `None`
    /// without a capacity or on the TSP family. A model trained on smaller
    /// ratios sees instances above them out of distribution.
    pub fn max_demand_ratio(&self) -> Option<f64> {
        let q = self.capacity.filter(|_| !self.variant.is_tsp())?;
        Some((1..self.num_nodes()).map(|j| self.linehaul[j].max(self.backhaul_of(j))).fold(0.0, f64::max) / q)
    }

    /// Backhaul amount of node `j` (0 without backhauls).
    #[inline]
    pub fn backhaul_of(&self, j: usize) -> f64 {
        self.backhaul.as_ref().map_or(0.0, |b| b[j])
    }

    /// Time window of node `j`; `[0, inf]` without windows.
    #[inline]
    pub fn window(&self, j: usize) -> [f64; 2] {
        self.time_windows.as_ref().map_or([0.0, f64::INFINITY], |tw| tw[j])
    }

    /// "Integer data" (FORMAT.md): every distance and every value is an integer.
    pub fn is_integral(&self) -> bool {
        let int = |x: &f64| x.fract() == 0.0;
        let distances = match &self.weights {
            Weights::Euclidean(r) => r.is_integral(),
            Weights::Matrix(m) => m.iter().all(int),
        };
        distances
            && self.linehaul.iter().all(int)
            && self.service.iter().all(int)
            && self.capacity.iter().all(int)
            && self.distance_limit.iter().all(int)
            && self.backhaul.iter().flatten().all(int)
            && self.draft_limit.iter().flatten().all(int)
            && self.time_windows.iter().flatten().flatten().all(|x| x.is_infinite() || int(x))
            && self.durations.iter().flatten().all(int)
    }

    fn check_sections(&self, has_linehaul: bool) -> Result<(), InstanceIssue> {
        let v = &self.variant;
        let need = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(issue(Field::Type, None, format!("TYPE {v} needs {what}, which is missing")))
            }
        };
        if !v.is_tsp() {
            need(self.capacity.is_some(), "CAPACITY")?;
            need(has_linehaul, "DEMAND_SECTION (linehaul)")?;
        }
        if v.backhaul != Backhaul::None {
            need(self.backhaul.is_some(), "BACKHAUL_SECTION")?;
        }
        if v.distance_limit {
            need(self.distance_limit.is_some(), "VEHICLES_MAX_DISTANCE (or DISTANCE)")?;
        }
        if v.time_windows {
            need(self.time_windows.is_some(), "TIME_WINDOW_SECTION")?;
        }
        if v.draft_limit {
            need(self.draft_limit.is_some(), "DRAFT_LIMIT_SECTION")?;
            need(has_linehaul, "DEMAND_SECTION (the cargo unloaded at each port)")?;
        }
        if self.draft_limit.is_some() && !v.is_tsp() {
            return Err(issue(Field::DraftLimit, None, format!("DRAFT_LIMIT_SECTION is supported with the TSP family only (TYPE TSPDL), not {v}")));
        }
        if v.is_tsp() && self.capacity.is_some() && !v.draft_limit {
            tracing::warn!("{}: CAPACITY ignored: {v} has one route and no capacity", self.name);
        }
        Ok(())
    }

    fn check_values(&self) -> Result<(), InstanceIssue> {
        if let Some(t) = &self.durations {
            let nodes = self.num_nodes();
            if t.len() != nodes * nodes {
                return Err(issue(Field::Durations, None, format!("{} travel times for {nodes} nodes (expected {})", t.len(), nodes * nodes)));
            }
            if let Some(k) = (0..t.len()).find(|&k| (t[k] < 0.0 || t[k].is_nan()) && k / nodes != k % nodes) {
                let msg = format!("negative travel time {} from node {} to node {}", t[k], k / nodes + 1, k % nodes + 1);
                return Err(issue(Field::Durations, Some(k / nodes), msg));
            }
        }
        for (j, &x) in self.linehaul.iter().enumerate() {
            self.check_demand(Field::Linehaul, j, x)?;
        }
        if let Some(b) = &self.backhaul {
            for (j, &x) in b.iter().enumerate() {
                self.check_demand(Field::Backhaul, j, x)?;
                if self.backhaul_rule() == Backhaul::Classic && x > 0.0 && self.linehaul[j] > 0.0 {
                    let msg = format!("node {} has both linehaul and backhaul demand", j + 1);
                    return Err(issue(Field::Backhaul, Some(j), msg));
                }
            }
        }
        for (j, &s) in self.service.iter().enumerate() {
            if s < 0.0 || !s.is_finite() {
                return Err(issue(Field::Service, Some(j), format!("negative service time at node {}", j + 1)));
            }
        }
        if self.service[0] != 0.0 {
            tracing::warn!("{}: depot service time ignored (vehicles leave the depot at its early time)", self.name);
        }
        if let Some(d) = &self.draft_limit {
            if let Some(j) = d.iter().position(|&x| x < 0.0) {
                return Err(issue(Field::DraftLimit, Some(j), format!("negative limit at node {}", j + 1)));
            }
        }
        if let Some(q) = self.capacity {
            if q <= 0.0 {
                return Err(issue(Field::Capacity, None, format!("CAPACITY must be positive, got {}", fmt_num(q))));
            }
        }
        if let Some(l) = self.distance_limit {
            if l <= 0.0 {
                let msg = format!("VEHICLES_MAX_DISTANCE must be positive, got {}", fmt_num(l));
                return Err(issue(Field::DistanceLimit, None, msg));
            }
        }
        if let Some(tw) = &self.time_windows {
            for (j, &[e, l]) in tw.iter().enumerate() {
                if l < e {
                    let msg = format!("node {} closes ({}) before it opens ({})", j + 1, fmt_num(l), fmt_num(e));
                    return Err(issue(Field::TimeWindows, Some(j), msg));
                }
            }
        }
        Ok(())
    }

    /// A demand is non-negative, zero at the depot, and fits an empty vehicle.
    fn check_demand(&self, f: Field, j: usize, x: f64) -> Result<(), InstanceIssue> {
        if x < 0.0 {
            return Err(issue(f, Some(j), format!("negative demand {} at node {}", fmt_num(x), j + 1)));
        }
        if j == 0 && x != 0.0 {
            return Err(issue(f, Some(0), format!("the depot (node 1) has demand {}", fmt_num(x))));
        }
        match self.capacity {
            Some(q) if !self.variant.is_tsp() && x > q * (1.0 + 1e-6) => {
                let msg = format!("demand {} of node {} exceeds the capacity {}", fmt_num(x), j + 1, fmt_num(q));
                Err(issue(f, Some(j), msg))
            }
            _ => Ok(()),
        }
    }

    /// Every time window must be reachable from the depot: the earliest possible
    /// arrival (shortest path over travel plus service, leaving at the depot's
    /// early time) is no later than the window's close. Dijkstra on the dense graph.
    fn check_windows_reachable(&self) -> Result<(), InstanceIssue> {
        let Some(tw) = &self.time_windows else { return Ok(()) };
        let nodes = self.num_nodes();
        let mut best = vec![f64::INFINITY; nodes];
        let mut done = vec![false; nodes];
        best[0] = tw[0][0];
        for _ in 0..nodes {
            let Some(u) = (0..nodes).filter(|&i| !done[i] && best[i].is_finite()).min_by(|&a, &b| best[a].total_cmp(&best[b])) else {
                break;
            };
            done[u] = true;
            let leave = if u == 0 { best[u] } else { best[u].max(tw[u][0]) + self.service[u] };
            for j in 1..nodes {
                if !done[j] {
                    best[j] = best[j].min(leave + self.travel_time(u, j));
                }
            }
        }
        for j in 1..nodes {
            let [e, l] = tw[j];
            if best[j] > l + self.tolerance {
                let msg = format!(
                    "time window of node {} [{}, {}] cannot be reached from the depot (earliest arrival {})",
                    j + 1,
                    fmt_num(e),
                    fmt_num(l),
                    fmt_num(best[j])
                );
                return Err(issue(Field::TimeWindows, Some(j), msg));
            }
        }
        Ok(())
    }
}

fn issue(field: Field, node: Option<usize>, message: String) -> InstanceIssue {
    InstanceIssue { field, node, message }
}

fn node_count(data: &InstanceData) -> Result<usize, InstanceIssue> {
    let lens = [
        (Field::Coords, data.coords.as_ref().map(Vec::len)),
        (Field::Linehaul, data.linehaul.as_ref().map(Vec::len)),
        (Field::Backhaul, data.backhaul.as_ref().map(Vec::len)),
        (Field::TimeWindows, data.time_windows.as_ref().map(Vec::len)),
        (Field::Service, data.service.as_ref().map(Vec::len)),
        (Field::DraftLimit, data.draft_limit.as_ref().map(Vec::len)),
    ];
    let from_matrix = data.matrix.as_ref().map(|m| (m.len() as f64).sqrt().round() as usize);
    let nodes = lens
        .iter()
        .find_map(|(_, l)| *l)
        .or(from_matrix)
        .ok_or_else(|| issue(Field::Coords, None, "no node data: give NODE_COORD_SECTION or EDGE_WEIGHT_SECTION".into()))?;
    if nodes < 2 {
        return Err(issue(Field::Dimension, None, "an instance needs a depot and at least one customer".into()));
    }
    for (field, len) in lens {
        if let Some(len) = len {
            if len != nodes {
                return Err(issue(field, None, format!("{len} values for {nodes} nodes")));
            }
        }
    }
    Ok(nodes)
}

fn weights(data: &InstanceData, nodes: usize) -> Result<Weights, InstanceIssue> {
    if let Some(m) = &data.matrix {
        if m.len() != nodes * nodes {
            return Err(issue(Field::Weights, None, format!("{} weights for {nodes} nodes", m.len())));
        }
        if let Some(k) = m.iter().position(|x| !x.is_finite() || *x < 0.0) {
            let msg = format!("weight from node {} to node {} is {} (must be finite and >= 0)", k / nodes + 1, k % nodes + 1, m[k]);
            return Err(issue(Field::Weights, None, msg));
        }
        let mut m = m.clone();
        for i in 0..nodes {
            m[i * nodes + i] = 0.0; // the diagonal is never travelled (TSPLIB puts 9999 there)
        }
        return Ok(Weights::Matrix(m));
    }
    match &data.coords {
        Some(c) => {
            if let Some(j) = c.iter().position(|p| !p[0].is_finite() || !p[1].is_finite()) {
                return Err(issue(Field::Coords, Some(j), format!("non-finite coordinate at node {}", j + 1)));
            }
            Ok(Weights::Euclidean(data.rounding.unwrap_or(Rounding::Exact)))
        }
        None => Err(issue(Field::Coords, None, "no coordinates and no explicit weights".into())),
    }
}

/// Integers as integers, other numbers with up to 9 decimals (vrpcheck's `fmt`).
pub fn fmt_num(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    if !x.is_finite() {
        return format!("{x}");
    }
    let s = format!("{x:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s.into()
    }
}
