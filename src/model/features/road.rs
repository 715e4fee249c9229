//! RRNet's inputs (RRNCO, "Towards Real-World Routing with Neural
//! Combinatorial Optimization", ICLR 2026, section 4.1; reference code
//! `rrnco/models/env_embeddings/*.py`): the distance and duration matrices in
//! the model's frame, and each node's distances to `k` sampled nodes for the
//! adaptive node embedding.
//!
//! Distances are divided by the instance's largest (RRNCO's
//! `(D - min) / (max - min)` with min = 0 on the diagonal), durations by
//! their largest (RRNCO's generator), so both lie in [0, 1]. An instance without a duration matrix
//! gives its distances there (travel time equals distance, FORMAT.md).
//!
//! Sampling follows the code's `sample_type: prob`: for node `i`, `k` other
//! nodes drawn without replacement with probability proportional to
//! `1 / (d_ij + 1e-6)`; the same nodes give the outgoing `d(i -> j)` and the
//! incoming `d(j -> i)` vectors, each sorted ascending. An instance with
//! fewer than `k + 1` nodes (the reference trains at 100) repeats its draw
//! cyclically to fill the `k` inputs. The reference draws
//! fresh samples on every call (and per augmentation copy); here the draw is
//! seeded by the instance's own numbers, so that decoding and training are
//! deterministic, and the 8 augmentation copies share one draw (they differ
//! through the coordinates and angles).

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Frame;
use crate::problem::Instance;

/// Keeps `1 / d` finite on zero-length arcs (RRNCO's epsilon).
const SAMPLING_EPSILON: f64 = 1e-6;

/// The matrices and neighbour samples of a batch of instances of one size.
#[derive(Clone, Debug)]
pub struct RoadInputs<B: Backend> {
    /// `[batch, nodes, nodes]`: `d(i -> j)` divided by the largest distance.
    pub distance: Tensor<B, 3>,
    /// `[batch, nodes, nodes]`: travel times divided by the largest (the
    /// distances when the instance has no duration matrix).
    pub duration: Tensor<B, 3>,
    /// `[batch, nodes, k]`: `d(i -> j)` to each sampled `j`, ascending.
    pub outgoing: Tensor<B, 3>,
    /// `[batch, nodes, k]`: `d(j -> i)` from the same sampled `j`, ascending.
    pub incoming: Tensor<B, 3>,
}

impl<B: Backend> RoadInputs<B> {
    /// The inputs of `instances` (one size, at least 2 nodes) in their
    /// `frames`, with `samples` sampled neighbours per node.
    pub fn new(instances: &[Instance], frames: &[Frame], samples: usize, device: &B::Device) -> Self {
        let nodes = instances[0].num_nodes();
        let k = samples;
        let (mut distance, mut duration) = (Vec::with_capacity(instances.len() * nodes * nodes), Vec::with_capacity(instances.len() * nodes * nodes));
        let (mut outgoing, mut incoming) = (Vec::with_capacity(instances.len() * nodes * k), Vec::with_capacity(instances.len() * nodes * k));
        for (inst, frame) in instances.iter().zip(frames) {
            let d: Vec<f64> = (0..nodes * nodes).map(|e| inst.distance(e / nodes, e % nodes) * frame.scale).collect();
            distance.extend(d.iter().map(|&x| x as f32));
            duration.extend((0..nodes * nodes).map(|e| (inst.travel_time(e / nodes, e % nodes) * frame.time_scale) as f32));
            let (out, inc) = neighbour_samples(&d, nodes, k);
            outgoing.extend(out);
            incoming.extend(inc);
        }
        let b = instances.len();
        let tensor = |v: Vec<f32>, width: usize| Tensor::from_data(TensorData::new(v, [b, nodes, width]), device);
        RoadInputs { distance: tensor(distance, nodes), duration: tensor(duration, nodes), outgoing: tensor(outgoing, k), incoming: tensor(incoming, k) }
    }

    /// Instances `start..start + len` of the batch.
    pub fn narrow(&self, start: usize, len: usize) -> Self {
        let narrow = |t: &Tensor<B, 3>| t.clone().narrow(0, start, len);
        RoadInputs { distance: narrow(&self.distance), duration: narrow(&self.duration), outgoing: narrow(&self.outgoing), incoming: narrow(&self.incoming) }
    }

    /// Each instance's inputs as `copies` consecutive copies (instance-major),
    /// to go with augmented features.
    pub fn repeat(&self, copies: usize) -> Self {
        let repeat = |t: &Tensor<B, 3>| {
            let [b, n, w] = t.dims();
            t.clone().unsqueeze_dim::<4>(1).repeat_dim(1, copies).reshape([b * copies, n, w])
        };
        RoadInputs { distance: repeat(&self.distance), duration: repeat(&self.duration), outgoing: repeat(&self.outgoing), incoming: repeat(&self.incoming) }
    }
}

/// The sorted outgoing and incoming distances of every node to `k` nodes
/// drawn by `1 / d` (row-major `nodes x nodes` matrix `d`), flat `[nodes, k]`
/// each; the draw is seeded by the matrix, and repeated cyclically when there
/// are fewer than `k` other nodes.
fn neighbour_samples(d: &[f64], nodes: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(fingerprint(d));
    let (mut outgoing, mut incoming) = (Vec::with_capacity(nodes * k), Vec::with_capacity(nodes * k));
    for i in 0..nodes {
        let weight = |j: usize| if j == i { 0.0 } else { 1.0 / (d[i * nodes + j] + SAMPLING_EPSILON) };
        let drawn = rand::seq::index::sample_weighted(&mut rng, nodes, weight, k.min(nodes - 1)).expect("every other node has a positive weight").into_vec();
        let picked = drawn.iter().cycle().take(k);
        let mut out: Vec<f32> = picked.clone().map(|&j| d[i * nodes + j] as f32).collect();
        let mut inc: Vec<f32> = picked.map(|&j| d[j * nodes + i] as f32).collect();
        out.sort_by(f32::total_cmp);
        inc.sort_by(f32::total_cmp);
        outgoing.extend(out);
        incoming.extend(inc);
    }
    (outgoing, incoming)
}

/// FNV-1a over the matrix's bits: the same instance, the same samples.
fn fingerprint(d: &[f64]) -> u64 {
    d.iter().fold(0xcbf2_9ce4_8422_2325, |h, x| (h ^ x.to_bits()).wrapping_mul(0x0000_0100_0000_01b3))
}
