//! Asymmetric distance matrices as MatNet and RADAR make them ("tmat"): a
//! random integer matrix closed under the triangle inequality.

use rand::Rng;

use super::coords::f32q;

/// Scale of MatNet's integer entries: uniform in `0..SCALE`, divided by `SCALE`.
const SCALE: u32 = 1_000_000;

/// A `nodes x nodes` row-major matrix: entries uniform in {0 .. 10^6 - 1}, zero
/// diagonal, shortest-path closure (so the triangle inequality holds), / 10^6.
/// Floyd-Warshall computes in one pass the closure MatNet reaches by repeated
/// min-plus products.
pub fn random_metric_matrix(rng: &mut impl Rng, nodes: usize) -> Vec<f64> {
    let mut m: Vec<u32> = (0..nodes * nodes).map(|k| if k / nodes == k % nodes { 0 } else { rng.random_range(0..SCALE) }).collect();
    for k in 0..nodes {
        for i in 0..nodes {
            let ik = m[i * nodes + k];
            for j in 0..nodes {
                let via = ik + m[k * nodes + j];
                if via < m[i * nodes + j] {
                    m[i * nodes + j] = via;
                }
            }
        }
    }
    m.into_iter().map(|x| f32q(x as f64 / SCALE as f64)).collect()
}
