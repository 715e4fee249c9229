//! RouteFinder's generator for the 16 capacitated variants
//! (`routefinder/envs/mtvrp/generator.py`, `data/generate.py`).
//!
//! Every attribute is drawn for every instance, then the variant's switched-off
//! attributes return to their defaults, exactly as RouteFinder's
//! `subsample_problems` does; so a mixed batch and a single-variant batch draw
//! from the same stream.

use rand::Rng;

use super::coords::f32q;
use crate::problem::instance::InstanceData;
use crate::problem::variant::{Backhaul, Variant};

/// RouteFinder's horizon: the depot window is `[0, 4.6]` (as float32, like all generated data).
pub const MAX_TIME: f64 = 4.6;
/// Share of backhaul customers when B is on.
pub const BACKHAUL_RATIO: f64 = 0.2;

/// Vehicle capacity for `n` customers (`get_vehicle_capacity`): 30 up to 20
/// customers, `30 + n/5` up to 1000, then one more per 33.3 customers (GLOP's scale).
pub fn capacity(n: usize) -> f64 {
    match n {
        0..=20 => 30.0,
        21..=1000 => (30 + n / 5) as f64,
        _ => (30 + 1000 / 5) as f64 + ((n - 1000) as f64 / 33.3).floor(),
    }
}

/// Switch the four attributes of a mixed batch on or off, each with
/// probability 1/2 (RouteFinder's "all" preset); `mixed_backhaul` picks MB over B.
pub fn sample_variant(rng: &mut impl Rng, mixed_backhaul: bool) -> Variant {
    let [open, tw, limit, back] = [(); 4].map(|_| rng.random::<f64>() >= 0.5);
    let backhaul = match (back, mixed_backhaul) {
        (false, _) => Backhaul::None,
        (true, false) => Backhaul::Classic,
        (true, true) => Backhaul::Mixed,
    };
    Variant::mtvrp(open, backhaul, limit, tw)
}

/// Attributes of one instance for `variant`, given its coordinates (depot first)
/// and its distance function (a matrix for asymmetric instances).
pub fn attributes(rng: &mut impl Rng, variant: &Variant, coords: &[[f64; 2]], distance: &dyn Fn(usize, usize) -> f64) -> InstanceData {
    let nodes = coords.len();
    let n = nodes - 1;
    let mut linehaul = vec![0.0; nodes];
    let mut backhaul = vec![0.0; nodes];
    for j in 1..nodes {
        let lin = rng.random_range(1..=9) as f64;
        let back = rng.random_range(1..=9) as f64;
        let is_linehaul = rng.random::<f64>() > BACKHAUL_RATIO;
        if is_linehaul {
            linehaul[j] = lin;
        } else {
            backhaul[j] = back;
        }
    }
    // Both directions of the depot arc count, so that windows stay reachable and
    // returnable on asymmetric matrices too (they coincide on coordinates).
    let depot_trip: Vec<f64> = (0..nodes).map(|j| distance(0, j).max(distance(j, 0))).collect();
    let windows = time_windows(rng, &depot_trip);
    let round_trip = (1..nodes).map(|j| distance(0, j) + distance(j, 0)).fold(0.0, f64::max);
    let low = round_trip + 1e-6;
    let high = 2.8f64.max(round_trip + 2e-6);
    let limit = f32q(low + (high - low) * rng.random::<f64>());

    let mut data = InstanceData { capacity: Some(capacity(n)), ..Default::default() };
    if variant.backhaul == Backhaul::None {
        data.linehaul = Some(linehaul.iter().zip(&backhaul).map(|(l, b)| l + b).collect());
    } else {
        data.linehaul = Some(linehaul);
        data.backhaul = Some(backhaul);
    }
    if variant.time_windows {
        let (tw, service) = windows;
        data.time_windows = Some(tw);
        data.service = Some(service);
    }
    if variant.distance_limit {
        data.distance_limit = Some(limit);
    }
    data
}

/// MTPOMO's windows: service `s ~ U(0.15, 0.18)`, width `U(0.18, 0.2)`, start drawn
/// so that `d_0i <= start` and `start + width + s + d_i0 <= 4.6`.
fn time_windows(rng: &mut impl Rng, depot_trip: &[f64]) -> (Vec<[f64; 2]>, Vec<f64>) {
    let nodes = depot_trip.len();
    let mut windows = vec![[0.0, f32q(MAX_TIME)]; nodes];
    let mut service = vec![0.0; nodes];
    for j in 1..nodes {
        let s = 0.15 + 0.03 * rng.random::<f64>();
        let width = 0.18 + 0.02 * rng.random::<f64>();
        let d = depot_trip[j].max(1e-9);
        let h_max = (MAX_TIME - s - width) / d - 1.0;
        let start = (1.0 + (h_max - 1.0) * rng.random::<f64>()) * d;
        windows[j] = [f32q(start), f32q(start + width)];
        service[j] = f32q(s);
    }
    (windows, service)
}
