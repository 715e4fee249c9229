//! Seeded, reproducible instance generators.
//!
//! Instance `i` of a call with seed `s` comes from its own ChaCha stream
//! `(s, i)`, so instances are the same whatever the count, the batch split or
//! the number of threads.

pub mod city;
pub mod coords;
pub mod lmask;
pub mod matrix;
pub mod mtvrp;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use coords::Distribution;
pub use lmask::Hardness;

use crate::problem::distance::euclidean;
use crate::problem::instance::{Instance, InstanceData};
use crate::problem::variant::Variant;

/// Which problems to draw.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Problem {
    /// One variant for every instance.
    Variant(Variant),
    /// RouteFinder's mixed batches: O, B, L, TW each on with probability 1/2 per instance.
    Mixed { mixed_backhaul: bool },
}

/// Everything that fixes the distribution of generated instances.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeneratorConfig {
    pub problem: Problem,
    /// Coordinates of capacitated variants and TSP/ATSP (LMask's problems use their own).
    pub distribution: Distribution,
    /// TSPTW and TSPDL hardness.
    pub hardness: Hardness,
    /// Weights from a random asymmetric metric matrix (MatNet's "tmat").
    pub asymmetric: bool,
}

impl GeneratorConfig {
    pub fn new(problem: Problem) -> Self {
        GeneratorConfig { problem, distribution: Distribution::Uniform, hardness: Hardness::Hard, asymmetric: false }
    }

    /// Reject combinations that have no generator, naming the option at fault.
    pub fn validate(&self) -> Result<(), String> {
        self.distribution.validate()?;
        if let Problem::Variant(v) = self.problem {
            let lmask = v.is_tsp() && (v.time_windows || v.draft_limit);
            if lmask && (v.asymmetric || self.asymmetric) {
                return Err(format!("{v}: LMask's generator is Euclidean; asymmetric {v} instances are not generated"));
            }
            if lmask && self.distribution != Distribution::Uniform {
                return Err(format!("{v}: LMask's generator draws uniform coordinates; another distribution does not apply"));
            }
            if v.draft_limit && self.hardness == Hardness::Easy {
                tracing::warn!("TSPDL easy is not in LMask's benchmarks (they use medium and hard)");
            }
        }
        Ok(())
    }

    /// Instances `first .. first + count` of the stream for `seed`, of `n` customers each.
    pub fn generate(&self, n: usize, count: usize, seed: u64) -> Vec<Instance> {
        (0..count).into_par_iter().map(|i| self.generate_one(n, seed, i as u64).0).collect()
    }

    /// Instance `index` of the stream for `seed`, with the tour its windows were
    /// built around when it has one (hard TSPTW).
    pub fn generate_one(&self, n: usize, seed: u64, index: u64) -> (Instance, Option<Vec<usize>>) {
        assert!(n >= 1, "an instance needs at least one customer");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        let variant = match self.problem {
            Problem::Variant(v) => v,
            Problem::Mixed { mixed_backhaul } => mtvrp::sample_variant(&mut rng, mixed_backhaul),
        };
        let asymmetric = variant.asymmetric || self.asymmetric;
        let variant = Variant { asymmetric, ..variant };
        let (mut data, tour) = if variant.is_tsp() && variant.time_windows {
            lmask::tsptw(&mut rng, n, self.hardness)
        } else if variant.is_tsp() && variant.draft_limit {
            (lmask::tspdl(&mut rng, n, self.hardness), None)
        } else {
            let coords = self.distribution.sample(&mut rng, n + 1);
            let matrix = asymmetric.then(|| matrix::random_metric_matrix(&mut rng, n + 1));
            let nodes = n + 1;
            let distance = |i: usize, j: usize| match &matrix {
                Some(m) => m[i * nodes + j],
                None => euclidean(coords[i], coords[j]),
            };
            let mut data = if variant.is_tsp() { InstanceData::default() } else { mtvrp::attributes(&mut rng, &variant, &coords, &distance) };
            data.coords = Some(coords);
            data.matrix = matrix;
            (data, None)
        };
        data.name = format!("{variant}-n{n}-s{seed}-{index:03}");
        let inst = Instance::new(variant, data).unwrap_or_else(|e| panic!("generator produced an invalid {variant} instance: {}", e.message));
        (inst, tour)
    }
}
