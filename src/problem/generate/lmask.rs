//! LMask's TSPTW and TSPDL generators (`lmask/envs/tsptw/generator.py`,
//! `lmask/envs/tspdl/generator.py`). `n` counts customers: LMask's
//! "TSPTW-50" is `n = 49` here.

use std::fmt;
use std::str::FromStr;

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::coords::f32q;
use crate::problem::distance::euclidean;
use crate::problem::instance::InstanceData;

/// LMask's hardness levels (TSPDL uses medium and hard; easy exists for both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Hardness {
    Easy,
    Medium,
    #[default]
    Hard,
}

impl FromStr for Hardness {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "easy" => Ok(Hardness::Easy),
            "medium" => Ok(Hardness::Medium),
            "hard" => Ok(Hardness::Hard),
            _ => Err(format!("unknown hardness {s:?} (expected easy, medium or hard)")),
        }
    }
}

impl fmt::Display for Hardness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hardness::Easy => "easy",
            Hardness::Medium => "medium",
            Hardness::Hard => "hard",
        })
    }
}

/// LMask's coordinate scale: points in [0, 100]^2, everything divided by 100 at the end.
const SCALE: f64 = 100.0;
/// Hard windows are `a_i -/+ U(0, w/2)` around the arrival along a random tour.
const MAX_TW_WIDTH: f64 = 100.0;

/// A TSPTW instance's data. For `Hard`, also the random tour the windows were
/// built around (customer order), which is feasible by construction.
pub fn tsptw(rng: &mut impl Rng, n: usize, hardness: Hardness) -> (InstanceData, Option<Vec<usize>>) {
    let locs: Vec<[f64; 2]> = (0..=n).map(|_| [rng.random::<f64>() * SCALE, rng.random::<f64>() * SCALE]).collect();
    let (mut windows, tour) = match hardness {
        Hardness::Easy => (random_windows(rng, &locs, 0.5, 0.75), None),
        Hardness::Medium => (random_windows(rng, &locs, 0.1, 0.2), None),
        Hardness::Hard => {
            let (w, tour) = windows_along_random_tour(rng, &locs);
            (w, Some(tour))
        }
    };
    let depot_late = (1..=n).map(|j| windows[j][1] + euclidean(locs[0], locs[j])).fold(0.0, f64::max);
    windows[0] = [0.0, depot_late];
    let data = InstanceData {
        coords: Some(locs.iter().map(|p| [f32q(p[0] / SCALE), f32q(p[1] / SCALE)]).collect()),
        time_windows: Some(windows.iter().map(|w| [f32q(w[0] / SCALE), f32q(w[1] / SCALE)]).collect()),
        service: Some(vec![0.0; n + 1]),
        ..Default::default()
    };
    (data, tour)
}

/// Easy and medium: opening `randint[0, 55 (n+1))`, width `round(eps * 55 (n+1))`,
/// `eps ~ U(alpha, beta)`. Such a window can lie out of reach of the depot, which
/// FORMAT.md calls bad input; such a window is drawn again (rare: it needs a
/// far customer with an early window).
fn random_windows(rng: &mut impl Rng, locs: &[[f64; 2]], alpha: f64, beta: f64) -> Vec<[f64; 2]> {
    let expected = 55 * locs.len() as u64;
    let mut w = vec![[0.0, 0.0]; locs.len()];
    for j in 1..locs.len() {
        loop {
            let early = rng.random_range(0..expected) as f64;
            let eps = alpha + (beta - alpha) * rng.random::<f64>();
            let late = early + (eps * expected as f64).round();
            if late >= euclidean(locs[0], locs[j]) {
                w[j] = [early, late];
                break;
            }
        }
    }
    w
}

fn windows_along_random_tour(rng: &mut impl Rng, locs: &[[f64; 2]]) -> (Vec<[f64; 2]>, Vec<usize>) {
    let mut tour: Vec<usize> = (1..locs.len()).collect();
    tour.shuffle(rng);
    let mut w = vec![[0.0, 0.0]; locs.len()];
    let (mut at, mut prev) = (0.0, 0);
    for &j in &tour {
        at += euclidean(locs[prev], locs[j]);
        let early = (at - rng.random::<f64>() * MAX_TW_WIDTH / 2.0).max(0.0);
        let late = at + rng.random::<f64>() * MAX_TW_WIDTH / 2.0;
        w[j] = [early, late];
        prev = j;
    }
    (w, tour)
}

/// A TSPDL instance's data: every port unloads 1; `int(pct (n+1))` ports
/// (pct 0.9 hard, 0.75 medium, 0.5 easy) get a draft limit in `1..n-1` drawn
/// by LMask's rejection rule (`#{limits <= k} <= k` for every k, which makes
/// the instance feasible); the others get `n`. Values stay in units of one
/// port's cargo: LMask's division by n is the dataset's business.
pub fn tspdl(rng: &mut impl Rng, n: usize, hardness: Hardness) -> InstanceData {
    let coords: Vec<[f64; 2]> = (0..=n).map(|_| [f32q(rng.random()), f32q(rng.random())]).collect();
    let share = match hardness {
        Hardness::Hard => 0.9,
        Hardness::Medium => 0.75,
        Hardness::Easy => 0.5,
    };
    // LMask's count, capped at n - 1: n limits in 1..n-1 can never pass the
    // rejection test (LMask's loop never ends below n = 9 for hard instances).
    let constrained = ((share * (n + 1) as f64) as usize).min(n.saturating_sub(1));
    let mut ports: Vec<usize> = (1..=n).collect();
    ports.shuffle(rng);
    let mut limits = vec![n as f64; n + 1];
    if n >= 2 {
        let values = loop {
            let v: Vec<usize> = (0..constrained).map(|_| rng.random_range(1..n)).collect();
            let mut count = vec![0usize; n + 1];
            v.iter().for_each(|&x| count[x] += 1);
            let mut cumulative = 0;
            if count.iter().enumerate().all(|(k, c)| {
                cumulative += c;
                cumulative <= k
            }) {
                break v;
            }
        };
        for (&port, &value) in ports.iter().zip(&values) {
            limits[port] = value as f64;
        }
    }
    let mut demand = vec![1.0; n + 1];
    demand[0] = 0.0;
    InstanceData { coords: Some(coords), linehaul: Some(demand), draft_limit: Some(limits), ..Default::default() }
}
