//! Instances to tensors: the only place where units change (DESIGN.md).
//!
//! One feature layout for every problem; absent attributes are 0.
//! - customer: `[x, y, linehaul, backhaul, tw_early, tw_late, service, draft_limit]`
//! - depot / global: `[x, y, open, distance_limit, depot_tw_late, mixed_backhaul]`
//! - decoder context: `[available load, current time, remaining distance]`
//! - with `svd_rank` k > 0, every node (depot included) also gets the 2k SVD
//!   features of the distance matrix (RADAR), matrix or coordinates alike
//!
//! - with the RRNet policy, the matrices and sampled neighbour distances of
//!   [`road::RoadInputs`]
//!
//! Coordinates already in the unit square are kept as they are (the frame of
//! generated training data); others are shifted and scaled into it with their
//! aspect ratio kept. Explicit matrices are divided by their largest entry
//! (RRNCO's normalisation), Euclidean distances scale with the coordinates.
//! Times scale like distances, or by the largest duration when the instance
//! has a duration matrix (RRNCO); demands are divided by the capacity (TSPDL: by the total cargo), infinities become 0
//! (RouteFinder's `posinf_val`), and an unlimited remaining distance becomes 10
//! (RouteFinder's `default_remain_dist`).

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor, TensorData};

pub mod road;

use super::config::ModelConfig;
use super::svd::svd_features;
use crate::env::{Context, Env};
use crate::problem::{Backhaul, Instance, Weights};

pub const CUSTOMER_FEATURES: usize = 8;
pub const DEPOT_FEATURES: usize = 6;
pub const CONTEXT_FEATURES: usize = 3;
/// LMask's refinement-intensity classes: 5 levels, then 2 for "budget spent".
pub const REFINEMENT_LEVELS: usize = 5;
pub const REFINEMENT_CLASSES: usize = REFINEMENT_LEVELS + 2;
/// Remaining distance fed to the decoder when there is no limit.
const UNLIMITED_DISTANCE: f32 = 10.0;

/// How one instance maps into the model's frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// Subtracted from coordinates before scaling.
    pub origin: [f64; 2],
    /// Multiplies coordinates: into the unit square, aspect ratio kept.
    pub coord_scale: f64,
    /// Multiplies coordinates, distances and the distance limit.
    pub scale: f64,
    /// Multiplies times (windows, service, the current time): `1 / max
    /// duration` when the instance has a duration matrix (RRNCO's
    /// normalisation), else `scale`.
    pub time_scale: f64,
    /// Divides demands and loads.
    pub load_unit: f64,
}

impl Frame {
    pub fn of(inst: &Instance) -> Frame {
        let coordinates = inst.coords.as_deref().map(coordinate_frame);
        let (origin, coord_scale) = coordinates.unwrap_or(([0.0, 0.0], 1.0));
        let scale = match &inst.weights {
            Weights::Matrix(m) => 1.0 / m.iter().copied().fold(1e-12, f64::max).max(1.0),
            Weights::Euclidean(_) => coord_scale,
        };
        let load_unit = match inst.capacity.filter(|_| !inst.variant.is_tsp()) {
            Some(q) => q,
            None => inst.linehaul.iter().sum::<f64>().max(1e-12),
        };
        let time_scale = match &inst.durations {
            Some(t) => 1.0 / t.iter().copied().fold(1e-12, f64::max).max(1e-12),
            None => scale,
        };
        Frame { origin, coord_scale, scale, time_scale, load_unit }
    }

    /// A time in the model's frame; infinities become 0.
    pub fn time(&self, t: f64) -> f32 {
        finite_or_zero(t * self.time_scale)
    }

    /// A distance in the model's frame; infinities become 0.
    pub fn length(&self, d: f64) -> f32 {
        finite_or_zero(d * self.scale)
    }
}

/// `[batch, nodes, nodes]`: each instance's distances in its frame.
fn distance_matrices<B: Backend>(instances: &[Instance], frames: &[Frame], device: &B::Device) -> Tensor<B, 3> {
    let nodes = instances[0].num_nodes();
    let values: Vec<f32> =
        instances.iter().zip(frames).flat_map(|(inst, f)| (0..nodes * nodes).map(move |e| f.length(inst.distance(e / nodes, e % nodes)))).collect();
    Tensor::from_data(TensorData::new(values, [instances.len(), nodes, nodes]), device)
}

fn finite_or_zero(x: f64) -> f32 {
    if x.is_finite() {
        x as f32
    } else {
        0.0
    }
}

fn coordinate_frame(c: &[[f64; 2]]) -> ([f64; 2], f64) {
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in c {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    if lo.iter().chain(&hi).all(|v| (0.0..=1.0).contains(v)) {
        return ([0.0, 0.0], 1.0);
    }
    let range = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1e-12);
    (lo, 1.0 / range)
}

/// Node and global features of a batch of instances of one size.
pub struct Features<B: Backend> {
    /// `[batch, n, CUSTOMER_FEATURES]`.
    pub customers: Tensor<B, 3>,
    /// `[batch, DEPOT_FEATURES]`.
    pub depot: Tensor<B, 2>,
    pub frames: Vec<Frame>,
    /// The matrices RRNet reads; `None` for the other policies.
    pub road: Option<road::RoadInputs<B>>,
    /// `[batch, n + 1, n + 1]`: the distances in the model's frame, depot
    /// first, for mixed-score attention; `None` for the other policies.
    pub distances: Option<Tensor<B, 3>>,
}

impl<B: Backend> Features<B> {
    /// Everything the policy of `config` reads of `instances`: the node
    /// features, with SVD features when it asks for them and RRNet's road
    /// inputs for RRNet.
    pub fn for_model(instances: &[Instance], config: &ModelConfig, device: &B::Device) -> Self {
        let features = Features::new(instances, config.svd_rank, device);
        let road = config.reads_matrices().then(|| road::RoadInputs::new(instances, &features.frames, config.neighbour_samples, device));
        let distances = config.mixed_score.then(|| distance_matrices(instances, &features.frames, device));
        Features { road, distances, ..features }
    }

    /// Every copy of each instance `copies` times in a row (x8 augmentation).
    pub fn repeat_distances(&self, copies: usize) -> Option<Tensor<B, 3>> {
        self.distances.as_ref().map(|t| {
            let [b, n, m] = t.dims();
            t.clone().unsqueeze_dim::<4>(1).repeat_dim(1, copies).reshape([b * copies, n, m])
        })
    }

    /// Instances `start..start + len` of the batch.
    pub fn narrow(&self, start: usize, len: usize) -> Self {
        Features {
            customers: self.customers.clone().narrow(0, start, len),
            depot: self.depot.clone().narrow(0, start, len),
            frames: self.frames[start..start + len].to_vec(),
            road: self.road.as_ref().map(|r| r.narrow(start, len)),
            distances: self.distances.as_ref().map(|d| d.clone().narrow(0, start, len)),
        }
    }

    /// Features of `instances` (all with the same number of nodes), with
    /// `svd_rank` SVD features of each distance matrix appended to every node;
    /// without the matrices RRNet and mixed scores read ([`Self::for_model`]
    /// adds them).
    pub fn new(instances: &[Instance], svd_rank: usize, device: &B::Device) -> Self {
        let nodes = instances[0].num_nodes();
        assert!(instances.iter().all(|i| i.num_nodes() == nodes), "a feature batch holds instances of one size");
        let frames: Vec<Frame> = instances.iter().map(Frame::of).collect();
        let (customer_width, depot_width) = (CUSTOMER_FEATURES + 2 * svd_rank, DEPOT_FEATURES + 2 * svd_rank);
        let mut customers = Vec::with_capacity(instances.len() * (nodes - 1) * customer_width);
        let mut depot = Vec::with_capacity(instances.len() * depot_width);
        for (inst, f) in instances.iter().zip(&frames) {
            let svd = (svd_rank > 0).then(|| {
                let matrix: Vec<f64> = (0..nodes * nodes).map(|e| inst.distance(e / nodes, e % nodes)).collect();
                svd_features(&matrix, nodes, svd_rank)
            });
            let svd_of = |j: usize| svd.as_ref().map_or(vec![], |s| s[j].iter().map(|&x| x as f32).collect::<Vec<f32>>());
            let xy = |j: usize| -> [f32; 2] {
                inst.coords
                    .as_ref()
                    .map_or([0.0, 0.0], |c| [((c[j][0] - f.origin[0]) * f.coord_scale) as f32, ((c[j][1] - f.origin[1]) * f.coord_scale) as f32])
            };
            let draft_unit = inst.linehaul.iter().sum::<f64>().max(1e-12);
            for j in 1..nodes {
                let [early, late] = inst.window(j);
                let draft = inst.draft_limit.as_ref().map_or(0.0, |d| (d[j] / draft_unit) as f32);
                let [x, y] = xy(j);
                customers.extend_from_slice(&[
                    x,
                    y,
                    (inst.linehaul[j] / f.load_unit) as f32,
                    (inst.backhaul_of(j) / f.load_unit) as f32,
                    f.time(early),
                    f.time(late),
                    f.time(inst.service[j]),
                    draft,
                ]);
                customers.extend(svd_of(j));
            }
            let [x, y] = xy(0);
            let limit = inst.distance_limit.map_or(0.0, |l| f.length(l));
            let mixed = (inst.backhaul_rule() == Backhaul::Mixed) as u8 as f32;
            depot.extend_from_slice(&[x, y, inst.variant.open as u8 as f32, limit, f.time(inst.window(0)[1]), mixed]);
            depot.extend(svd_of(0));
        }
        let b = instances.len();
        Features {
            customers: Tensor::from_data(TensorData::new(customers, [b, nodes - 1, customer_width]), device),
            depot: Tensor::from_data(TensorData::new(depot, [b, depot_width]), device),
            frames,
            road: None,
            distances: None,
        }
    }

    /// The decoder context of the env's rollouts (`per_instance` rollouts of
    /// each instance, in order), one row per rollout, flat: `[rollouts,
    /// features]`. With `refinement` (LazyMask's per-rollout refinement level
    /// and whether its backtracking budget is spent), LMask's one-hot of both
    /// is appended.
    pub fn context_rows(&self, ctx: &Context, per_instance: usize, refinement: Option<&Refinement>) -> Vec<f32> {
        let width = CONTEXT_FEATURES + refinement.map_or(0, |_| REFINEMENT_CLASSES);
        let mut out = Vec::with_capacity(ctx.current.len() * width);
        for r in 0..ctx.current.len() {
            let f = &self.frames[r / per_instance];
            let load = if ctx.available_load[r].is_finite() { (ctx.available_load[r] / f.load_unit) as f32 } else { 0.0 };
            let remaining = if ctx.remaining_distance[r].is_finite() { f.length(ctx.remaining_distance[r]) } else { UNLIMITED_DISTANCE };
            out.extend_from_slice(&[load, f.time(ctx.time[r]), remaining]);
            if let Some(rf) = refinement {
                let mut one_hot = [0.0f32; REFINEMENT_CLASSES];
                one_hot[rf.levels[r].min(REFINEMENT_LEVELS - 1)] = 1.0;
                one_hot[REFINEMENT_LEVELS + rf.budget_spent[r] as usize] = 1.0;
                out.extend_from_slice(&one_hot);
            }
        }
        out
    }
}

/// What one decoding step needs from the env, on the device: the current
/// nodes, the context, the mask and (for the heavy decoder) the nodes not yet
/// visited. This and the actions read back are the step's only host traffic.
pub struct StepInput<B: Backend> {
    /// `[batch, rollouts]`.
    pub current: Tensor<B, 2, Int>,
    /// `[batch, rollouts, features]`.
    pub context: Tensor<B, 3>,
    /// `[batch, rollouts, nodes]`, `true` where the env allows the node.
    pub allowed: Tensor<B, 3, Bool>,
    /// `[batch, rollouts, nodes]`, `true` for the depot and unvisited customers;
    /// only for the heavy decoder, which re-encodes them.
    pub available: Option<Tensor<B, 3, Bool>>,
}

impl<B: Backend> Features<B> {
    /// The step input of every rollout of `env` (whose instances these features
    /// describe), with `allowed` as the mask (the env's, or a search's stricter
    /// one, `[B * P, width]`); `with_available` adds the unvisited nodes. `Policy::step_input`
    /// asks for what its family reads.
    pub fn step_input(&self, env: &Env, allowed: &[bool], refinement: Option<&Refinement>, with_available: bool, device: &B::Device) -> StepInput<B> {
        let current: Vec<i64> = env.current_nodes().into_iter().map(|c| c as i64).collect();
        let context = self.context_rows(&env.context(), env.per_instance(), refinement);
        let available = with_available.then(|| env.available_mask());
        StepInput::from_rows([env.num_instances(), env.per_instance(), env.width()], current, context, allowed.to_vec(), available, device)
    }
}

impl<B: Backend> StepInput<B> {
    /// A step input from host rows, `rollouts` rows per instance: the
    /// current nodes, flat context rows, `[.., nodes]` masks.
    pub fn from_rows(
        [batch, rollouts, nodes]: [usize; 3],
        current: Vec<i64>,
        context: Vec<f32>,
        allowed: Vec<bool>,
        available: Option<Vec<bool>>,
        device: &B::Device,
    ) -> StepInput<B> {
        let width = context.len() / (batch * rollouts);
        StepInput {
            current: Tensor::from_data(TensorData::new(current, [batch, rollouts]), device),
            context: Tensor::from_data(TensorData::new(context, [batch, rollouts, width]), device),
            allowed: Tensor::from_data(TensorData::new(allowed, [batch, rollouts, nodes]), device),
            available: available.map(|a| Tensor::from_data(TensorData::new(a, [batch, rollouts, nodes]), device)),
        }
    }
}

/// LMask's refinement intensity of every rollout: how often the current step
/// was backtracked (clamped to the last of `REFINEMENT_LEVELS` classes) and
/// whether the backtracking budget is spent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Refinement {
    pub levels: Vec<usize>,
    pub budget_spent: Vec<bool>,
}

impl Refinement {
    /// No backtracking yet, for `rollouts` rollouts.
    pub fn none(rollouts: usize) -> Self {
        Refinement { levels: vec![0; rollouts], budget_spent: vec![false; rollouts] }
    }
}
