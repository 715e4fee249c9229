//! Coordinate distributions in the unit square: uniform, clustered, and
//! LRM-1B's mixture of Gaussian clusters with uniform points.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand_distr::{Distribution as _, Normal};
use serde::{Deserialize, Serialize};

/// How node coordinates are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Distribution {
    /// U[0,1]^2 (RouteFinder, POMO).
    #[default]
    Uniform,
    /// Every point from one of `clusters` Gaussians (centres uniform, `std` each), clipped to the square.
    Clustered { clusters: usize, std: f64 },
    /// Each point uniform with probability `uniform_share`, otherwise from a Gaussian cluster (LRM-1B).
    Mixed { clusters: usize, std: f64, uniform_share: f64 },
}

/// Defaults for the named distributions: 5 clusters of standard deviation 0.07, half uniform.
pub const DEFAULT_CLUSTERS: usize = 5;
pub const DEFAULT_STD: f64 = 0.07;
pub const DEFAULT_UNIFORM_SHARE: f64 = 0.5;

impl FromStr for Distribution {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "uniform" => Ok(Distribution::Uniform),
            "clustered" => Ok(Distribution::Clustered { clusters: DEFAULT_CLUSTERS, std: DEFAULT_STD }),
            "mixed" | "gaussian-mixture" => Ok(Distribution::Mixed { clusters: DEFAULT_CLUSTERS, std: DEFAULT_STD, uniform_share: DEFAULT_UNIFORM_SHARE }),
            _ => Err(format!("unknown distribution {s:?} (expected uniform, clustered or mixed)")),
        }
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distribution::Uniform => write!(f, "uniform"),
            Distribution::Clustered { clusters, std } => write!(f, "clustered({clusters} clusters, std {std})"),
            Distribution::Mixed { clusters, std, uniform_share } => {
                write!(f, "mixed({clusters} clusters, std {std}, {uniform_share} uniform)")
            }
        }
    }
}

impl Distribution {
    /// Check the parameters; the message names the bad one.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Distribution::Uniform => Ok(()),
            Distribution::Clustered { clusters, std } | Distribution::Mixed { clusters, std, .. } if clusters == 0 || std.is_nan() || std <= 0.0 => {
                Err(format!("clusters must be >= 1 and std > 0 (got {clusters} and {std})"))
            }
            Distribution::Mixed { uniform_share, .. } if !(0.0..=1.0).contains(&uniform_share) => {
                Err(format!("uniform_share must lie in [0, 1], got {uniform_share}"))
            }
            _ => Ok(()),
        }
    }

    /// Draw `count` points (f32-representable, as RouteFinder's float32 data).
    pub fn sample(&self, rng: &mut impl Rng, count: usize) -> Vec<[f64; 2]> {
        let (clusters, std, uniform_share) = match *self {
            Distribution::Uniform => (0, 0.0, 1.0),
            Distribution::Clustered { clusters, std } => (clusters, std, 0.0),
            Distribution::Mixed { clusters, std, uniform_share } => (clusters, std, uniform_share),
        };
        let centres: Vec<[f64; 2]> = (0..clusters).map(|_| [rng.random::<f64>(), rng.random::<f64>()]).collect();
        let normal = Normal::new(0.0, std.max(f64::MIN_POSITIVE)).expect("validated std");
        (0..count)
            .map(|_| {
                if clusters == 0 || rng.random::<f64>() < uniform_share {
                    [f32q(rng.random()), f32q(rng.random())]
                } else {
                    let c = centres[rng.random_range(0..clusters)];
                    let x = (c[0] + normal.sample(rng)).clamp(0.0, 1.0);
                    let y = (c[1] + normal.sample(rng)).clamp(0.0, 1.0);
                    [f32q(x), f32q(y)]
                }
            })
            .collect()
    }
}

/// Round to the nearest f32: generated data are float32 as in the seeds' code,
/// so that writing them to an `.npz` of float32 loses nothing.
#[inline]
pub fn f32q(x: f64) -> f64 {
    x as f32 as f64
}
