//! Size scaling: how encoding and decoding time grow with the instance size
//! (with the fitted exponent) and the peak memory of each.

use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::fit;
use super::memory::peak_during;
use crate::decode::{self, DecodeOptions};
use crate::error::Result;
use crate::model::features::Features;
use crate::model::{ModelConfig, Policy};
use crate::problem::generate::{GeneratorConfig, Problem};
use crate::problem::{Instance, Variant};

/// Time per instance at one size.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SizePoint {
    pub n: usize,
    pub encode_ms: f64,
    pub decode_ms: f64,
    /// Peak resident memory while encoding and while decoding, in MiB
    /// (`memory::peak_during`; Linux only).
    pub encode_peak_mib: Option<f64>,
    pub decode_peak_mib: Option<f64>,
}

fn cvrp(n: usize, count: usize) -> Vec<Instance> {
    GeneratorConfig::new(Problem::Variant(Variant::CVRP)).generate(n, count, 1)
}

/// Encoding and greedy decoding time per CVRP instance at each size (`count` instances each).
pub fn size_scaling<B: AutodiffBackend>(
    policy: &Policy<B::InnerBackend>,
    config: &ModelConfig,
    sizes: &[usize],
    count: usize,
    device: &B::Device,
) -> Result<Vec<SizePoint>> {
    let mut out = vec![];
    for &n in sizes {
        let instances = cvrp(n, count);
        let start = Instant::now();
        let ((), encode_peak_mib) = peak_during(|| {
            let features = Features::<B::InnerBackend>::for_model(&instances, config, device);
            drop(policy.encode(&features));
        });
        let encode = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let options = DecodeOptions { batch_size: count, ..DecodeOptions::default() };
        let (solved, decode_peak_mib) = peak_during(|| decode::solve(policy, config, &instances, &options, device));
        solved?;
        let decode = start.elapsed().as_secs_f64();
        out.push(SizePoint { n, encode_ms: 1e3 * encode / count as f64, decode_ms: 1e3 * decode / count as f64, encode_peak_mib, decode_peak_mib });
    }
    Ok(out)
}

/// Time growth exponents: time per instance ~ n^k for encoding and decoding.
pub fn growth(points: &[SizePoint]) -> (Option<fit::PowerLaw>, Option<fit::PowerLaw>) {
    let law = |f: fn(&SizePoint) -> f64| fit::power_law(&points.iter().map(|p| (p.n as f64, f(p))).collect::<Vec<_>>());
    (law(|p| p.encode_ms), law(|p| p.decode_ms))
}
