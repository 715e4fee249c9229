//! RRNCO's cities (RRNCO.md section 1): 1,000 points on a city's roads with
//! the distances (km) and durations (minutes) of the fastest routes between
//! them, and instances subsampled from a city.
//!
//! Real city files come from a routing engine that these machines cannot
//! reach, so [`City::synthetic`] builds one: a road grid in a 3 km square
//! (streets of three speed classes, fast arterials every fourth street,
//! one-way and missing residential streets), points drawn on streets with
//! probability proportional to their length (as RRNCO draws them), and
//! all-pairs fastest routes by Dijkstra (`petgraph`). As with OSRM, distances
//! are the lengths of the fastest routes, so neither matrix is symmetric and
//! distances need not obey the triangle inequality.

use std::ops::Add;
use std::path::Path;

use petgraph::algo::{dijkstra, kosaraju_scc};
use petgraph::graph::{DiGraph, NodeIndex};
use rand::seq::index::sample;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::coords::f32q;
use super::{mtvrp, Problem};
use crate::error::{Error, Result};
use crate::problem::instance::{Instance, InstanceData};
use crate::problem::io::npz::{read_arrays, write_arrays, Array, Dtype};
use crate::problem::variant::Variant;

/// Side of a city's box, km (RRNCO: 3 km around the centre).
pub const SIDE_KM: f64 = 3.0;
/// Intersections per side of the synthetic grid (spacing 0.25 km).
const GRID: usize = 13;
/// The time horizon of RRNCO's windows, in normalised duration units.
const HORIZON: f64 = 4.6;

/// A city in RRNCO's per-city layout.
#[derive(Clone, Debug, PartialEq)]
pub struct City {
    /// Point coordinates (RRNCO: latitude, longitude; synthetic: km).
    pub points: Vec<[f64; 2]>,
    /// Row-major distances of the fastest routes, km.
    pub distance: Vec<f64>,
    /// Row-major durations of the fastest routes, minutes.
    pub duration: Vec<f64>,
}

/// How instances are drawn from a city (RRNCO.md section 1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CitySampling {
    /// n + 1 distinct points uniformly (RRNCO's default; the first is the depot).
    #[default]
    Uniform,
    /// A random centre and its n nearest points (RRNCO's per-instance cluster test set).
    Cluster,
}

impl std::str::FromStr for CitySampling {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "uniform" => Ok(CitySampling::Uniform),
            "cluster" => Ok(CitySampling::Cluster),
            _ => Err(format!("unknown city sampling {s:?} (expected uniform or cluster)")),
        }
    }
}

/// Travel along a path: time first (fastest routes), then length.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
struct Cost {
    minutes: f64,
    km: f64,
}

impl Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost { minutes: self.minutes + o.minutes, km: self.km + o.km }
    }
}

/// A street between two intersections and how it may be driven.
#[derive(Clone, Copy, Debug)]
struct Street {
    from: usize,
    to: usize,
    km: f64,
    kmh: f64,
    /// Drivable from `to` to `from` too.
    two_way: bool,
}

impl Street {
    fn cost(&self, share: f64) -> Cost {
        let km = self.km * share;
        Cost { minutes: 60.0 * km / self.kmh, km }
    }
}

impl City {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// A synthetic city of `points` points, the same for the same `seed`.
    pub fn synthetic(seed: u64, points: usize) -> City {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (corners, streets) = road_grid(&mut rng);
        let on_road = place_points(&mut rng, &corners, &streets, points);
        let fastest = all_pairs(&corners, &streets);
        let n = on_road.len();
        let mut distance = vec![0.0; n * n];
        let mut duration = vec![0.0; n * n];
        for (p, a) in on_road.iter().enumerate() {
            for (q, b) in on_road.iter().enumerate().filter(|&(q, _)| q != p) {
                let c = route(a, b, &streets, &fastest);
                distance[p * n + q] = c.km;
                duration[p * n + q] = c.minutes;
            }
        }
        let points = on_road.iter().map(|p| p.at).collect();
        City { points, distance, duration }
    }

    /// Every city of `path`: one city file, or the `.npz` files of a directory.
    pub fn read_all(path: &Path) -> Result<Vec<City>> {
        if !path.is_dir() {
            return Ok(vec![City::read(path)?]);
        }
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| Error::reading(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "npz"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::bad_input(path, None, "no city files (.npz) in this directory"));
        }
        files.iter().map(|f| City::read(f)).collect()
    }

    /// Read a city file: `points [N, 2]`, `distance [N, N]`, `duration [N, N]`.
    pub fn read(path: &Path) -> Result<City> {
        let arrays = read_arrays(path)?;
        let get = |name: &str| {
            arrays.get(name).ok_or_else(|| Error::bad_input(path, None, format!("no '{name}' array: not a city file (points, distance, duration)")))
        };
        let (points, distance, duration) = (get("points")?, get("distance")?, get("duration")?);
        let n = points.shape.first().copied().unwrap_or(0);
        if points.shape != [n, 2] || n < 2 {
            return Err(Error::bad_input(path, None, format!("'points' must have shape [N, 2] with N >= 2, got {:?}", points.shape)));
        }
        for (name, m) in [("distance", distance), ("duration", duration)] {
            if m.shape != [n, n] {
                return Err(Error::bad_input(path, None, format!("'{name}' must have shape [{n}, {n}], got {:?}", m.shape)));
            }
            if let Some(k) = (0..n * n).find(|&k| m.data[k] < 0.0 || !m.data[k].is_finite()) {
                return Err(Error::bad_input(path, None, format!("'{name}' from point {} to point {} is {}", k / n, k % n, m.data[k])));
            }
        }
        Ok(City { points: points.data.chunks(2).map(|p| [p[0], p[1]]).collect(), distance: distance.data.clone(), duration: duration.data.clone() })
    }

    /// Write the city as RRNCO does (float64 arrays).
    pub fn write(&self, path: &Path) -> Result<()> {
        let n = self.len();
        write_arrays(
            path,
            &[
                ("points", Array::new(vec![n, 2], self.points.iter().flatten().copied().collect()), Dtype::F8),
                ("distance", Array::new(vec![n, n], self.distance.clone()), Dtype::F8),
                ("duration", Array::new(vec![n, n], self.duration.clone()), Dtype::F8),
            ],
        )
    }

    /// The points of one instance: `n + 1` distinct indices, the depot first.
    pub fn draw(&self, n: usize, sampling: CitySampling, rng: &mut impl Rng) -> Vec<usize> {
        match sampling {
            CitySampling::Uniform => sample(rng, self.len(), n + 1).into_vec(),
            CitySampling::Cluster => {
                let centre = self.points[rng.random_range(0..self.len())];
                let mut order: Vec<usize> = (0..self.len()).collect();
                let d2 = |i: usize| (self.points[i][0] - centre[0]).powi(2) + (self.points[i][1] - centre[1]).powi(2);
                order.sort_by(|&a, &b| d2(a).total_cmp(&d2(b)).then(a.cmp(&b)));
                order.truncate(n + 1);
                order
            }
        }
    }

    /// One instance of `variant` (capacitated, or ATSP) with `n` customers
    /// drawn from the city by RRNCO's rules: coordinates min-max normalised per
    /// axis, distances in km, and with time windows durations normalised by
    /// their largest entry and windows drawn on them (RRNCO.md section 2.2),
    /// so every customer can be served alone.
    pub fn instance(&self, variant: &Variant, n: usize, sampling: CitySampling, rng: &mut impl Rng) -> InstanceData {
        let nodes = self.draw(n, sampling, rng);
        let k = nodes.len();
        let pick = |m: &[f64]| -> Vec<f64> { nodes.iter().flat_map(|&i| nodes.iter().map(move |&j| m[i * self.len() + j])).map(f32q).collect() };
        let distance = pick(&self.distance);
        let coords = normalised(&nodes.iter().map(|&i| self.points[i]).collect::<Vec<_>>());
        let mut data = if variant.is_tsp() { InstanceData::default() } else { mtvrp::attributes(rng, variant, &coords, &|i, j| distance[i * k + j]) };
        if variant.time_windows && !variant.is_tsp() {
            let minutes = pick(&self.duration);
            let most = minutes.iter().copied().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
            let durations: Vec<f64> = minutes.iter().map(|t| f32q(t / most)).collect();
            let (windows, service) = windows_on_durations(rng, &durations, k);
            data.time_windows = Some(windows);
            data.service = Some(service);
            data.durations = Some(durations);
        }
        data.coords = Some(coords);
        data.matrix = Some(distance);
        data
    }
}

/// Instances `0..count` for `seed` from `cities` (each instance from a city
/// drawn uniformly, as RRNCO's lazy generators mix 10 cities per chunk):
/// instance `i` comes from its own stream `(seed, i)`. `problem` names a
/// capacitated variant, MIXED (RRNCO's `rmtvrp`), or ATSP; the `A` prefix is
/// implied. Errors name what cannot be drawn.
pub fn generate(cities: &[City], problem: Problem, n: usize, count: usize, seed: u64, sampling: CitySampling) -> std::result::Result<Vec<Instance>, String> {
    if let Problem::Variant(v) = problem {
        if v.is_tsp() && (v.time_windows || v.draft_limit) {
            return Err(format!("{v} is not drawn from cities (capacitated variants, MIXED and ATSP are)"));
        }
    }
    let smallest = cities.iter().map(City::len).min().ok_or("no city to draw from")?;
    if n + 1 > smallest {
        return Err(format!("{n} customers and a depot need {} points; the smallest city has {smallest}", n + 1));
    }
    (0..count)
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(i as u64);
            let city = rng.random_range(0..cities.len());
            let variant = match problem {
                Problem::Variant(v) => v,
                Problem::Mixed { mixed_backhaul } => mtvrp::sample_variant(&mut rng, mixed_backhaul),
            };
            let variant = Variant { asymmetric: true, ..variant };
            let mut data = cities[city].instance(&variant, n, sampling, &mut rng);
            data.name = format!("{variant}-city{city}-n{n}-s{seed}-{i:03}");
            Instance::new(variant, data).map_err(|e| format!("instance {i}: {}", e.message))
        })
        .collect()
}

/// Per-axis min-max normalisation to [0, 1] (RRNCO's test generator, no epsilon).
fn normalised(points: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let range = |axis: usize| {
        let lo = points.iter().map(|p| p[axis]).fold(f64::INFINITY, f64::min);
        let hi = points.iter().map(|p| p[axis]).fold(f64::NEG_INFINITY, f64::max);
        (lo, if hi > lo { hi - lo } else { 1.0 })
    };
    let ((x0, dx), (y0, dy)) = (range(0), range(1));
    points.iter().map(|p| [f32q((p[0] - x0) / dx), f32q((p[1] - y0) / dy)]).collect()
}

/// RRNCO's windows on normalised durations T: service `s ~ U(0.15, 0.18)`,
/// width `w ~ U(0.18, 0.2)`, `m = max(T[0,i], T[i,0])`, `h = (4.6 - s - w) /
/// (m + 1e-6) - 1`, early `T[0,i] + (h - 1) m U(0,1)`; the depot `[0, 4.6]`.
fn windows_on_durations(rng: &mut impl Rng, t: &[f64], nodes: usize) -> (Vec<[f64; 2]>, Vec<f64>) {
    let mut windows = vec![[0.0, f32q(HORIZON)]; nodes];
    let mut service = vec![0.0; nodes];
    for i in 1..nodes {
        let s = 0.15 + 0.03 * rng.random::<f64>();
        let width = 0.18 + 0.02 * rng.random::<f64>();
        let (out, back) = (t[i], t[i * nodes]);
        let m = out.max(back);
        let h = (HORIZON - s - width) / (m + 1e-6) - 1.0;
        let early = out + (h - 1.0) * m * rng.random::<f64>();
        windows[i] = [f32q(early), f32q(early + width)];
        service[i] = f32q(s);
    }
    (windows, service)
}

/// Intersections of a jittered grid and its streets: arterials (60 km/h) on
/// every fourth row and column, collectors (40 km/h) on the other even
/// ones, residential streets (25 km/h) elsewhere, a third of them one-way
/// and a tenth missing; every intersection stays reachable from every other.
fn road_grid(rng: &mut impl Rng) -> (Vec<[f64; 2]>, Vec<Street>) {
    let spacing = SIDE_KM / (GRID - 1) as f64;
    let corners: Vec<[f64; 2]> = {
        let mut jittered = |line: usize| (line as f64 * spacing + (rng.random::<f64>() - 0.5) * 0.3 * spacing).clamp(0.0, SIDE_KM);
        (0..GRID * GRID).map(|k| [jittered(k % GRID), jittered(k / GRID)]).collect()
    };
    let speed = |line: usize| {
        if line.is_multiple_of(4) {
            60.0
        } else if line.is_multiple_of(2) {
            40.0
        } else {
            25.0
        }
    };
    let mut streets = vec![];
    let mut missing = vec![];
    for r in 0..GRID {
        for c in 0..GRID {
            let here = r * GRID + c;
            for (next, line) in [(c + 1 < GRID).then(|| (here + 1, r)), (r + 1 < GRID).then(|| (here + GRID, c))].into_iter().flatten() {
                let (a, b) = (corners[here], corners[next]);
                let km = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
                let kmh = speed(line);
                let mut street = Street { from: here, to: next, km, kmh, two_way: true };
                if kmh < 30.0 {
                    match rng.random_range(0..30) {
                        0..=2 => {
                            missing.push(street);
                            continue;
                        }
                        3..=12 => {
                            street.two_way = false;
                            if rng.random_bool(0.5) {
                                std::mem::swap(&mut street.from, &mut street.to);
                            }
                        }
                        _ => {}
                    }
                }
                streets.push(street);
            }
        }
    }
    reconnect(corners.len(), &mut streets, missing);
    (corners, streets)
}

/// Make every one-way street that joins two strongly connected components
/// two-way, and bring back missing streets, until one component is left.
fn reconnect(corners: usize, streets: &mut Vec<Street>, mut missing: Vec<Street>) {
    loop {
        let graph = directed(corners, streets);
        let components = kosaraju_scc(&graph);
        if components.len() <= 1 {
            return;
        }
        let mut component = vec![0; corners];
        for (k, members) in components.iter().enumerate() {
            members.iter().for_each(|m| component[m.index()] = k);
        }
        let mut changed = false;
        for s in streets.iter_mut().filter(|s| !s.two_way && component[s.from] != component[s.to]) {
            s.two_way = true;
            changed = true;
        }
        if !changed {
            streets.append(&mut missing);
        }
    }
}

fn directed(corners: usize, streets: &[Street]) -> DiGraph<(), Cost> {
    let mut g = DiGraph::<(), Cost>::with_capacity(corners, streets.len() * 2);
    (0..corners).for_each(|_| {
        g.add_node(());
    });
    for s in streets {
        g.add_edge(NodeIndex::new(s.from), NodeIndex::new(s.to), s.cost(1.0));
        if s.two_way {
            g.add_edge(NodeIndex::new(s.to), NodeIndex::new(s.from), s.cost(1.0));
        }
    }
    g
}

/// A point on a street, `share` of the way from `from` to `to`.
struct OnRoad {
    street: usize,
    share: f64,
    at: [f64; 2],
}

/// Points on streets: a street with probability proportional to its length,
/// then a uniform position along it (RRNCO's `generate_random_points`).
fn place_points(rng: &mut impl Rng, corners: &[[f64; 2]], streets: &[Street], count: usize) -> Vec<OnRoad> {
    let total: f64 = streets.iter().map(|s| s.km).sum();
    (0..count)
        .map(|_| {
            let mut left = rng.random::<f64>() * total;
            let street = streets.iter().position(|s| {
                left -= s.km;
                left <= 0.0
            });
            let street = street.unwrap_or(streets.len() - 1);
            let share = rng.random::<f64>();
            let (a, b) = (corners[streets[street].from], corners[streets[street].to]);
            OnRoad { street, share, at: [a[0] + share * (b[0] - a[0]), a[1] + share * (b[1] - a[1])] }
        })
        .collect()
}

/// Fastest routes between every pair of intersections (`None`: unreachable).
fn all_pairs(corners: &[[f64; 2]], streets: &[Street]) -> Vec<Vec<Option<Cost>>> {
    let graph = directed(corners.len(), streets);
    (0..corners.len())
        .map(|k| {
            let scores = dijkstra(&graph, NodeIndex::new(k), None, |e| *e.weight());
            (0..corners.len()).map(|j| scores.get(&NodeIndex::new(j)).copied()).collect()
        })
        .collect()
}

/// The fastest route from point `a` to point `b`: leave `a`'s street at one
/// of its ends, travel between intersections, enter `b`'s street; or drive
/// straight along a shared street when its direction allows.
fn route(a: &OnRoad, b: &OnRoad, streets: &[Street], fastest: &[Vec<Option<Cost>>]) -> Cost {
    let (sa, sb) = (&streets[a.street], &streets[b.street]);
    let exits = [(sa.to, sa.cost(1.0 - a.share), true), (sa.from, sa.cost(a.share), sa.two_way)];
    let entries = [(sb.from, sb.cost(b.share), true), (sb.to, sb.cost(1.0 - b.share), sb.two_way)];
    let mut best: Option<Cost> = None;
    let mut keep = |c: Cost| {
        if best.is_none_or(|b| c < b) {
            best = Some(c);
        }
    };
    for &(x, out, _) in exits.iter().filter(|e| e.2) {
        for &(y, into, _) in entries.iter().filter(|e| e.2) {
            if let Some(between) = fastest[x][y] {
                keep(out + between + into);
            }
        }
    }
    if a.street == b.street {
        if b.share >= a.share {
            keep(sa.cost(b.share - a.share));
        } else if sa.two_way {
            keep(sa.cost(a.share - b.share));
        }
    }
    best.expect("the road graph is strongly connected")
}
