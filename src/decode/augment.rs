//! POMO's x8 augmentation: the eight symmetries of the unit square applied to
//! the coordinates the model sees. Distances, and so costs and feasibility,
//! do not change; the env keeps working on the original instance.
//!
//! Instances without coordinates have nothing to transform, and on an
//! explicit matrix the coordinates no longer determine the distances:
//! augmentation does not apply there, and `lrm solve` says so. RRNet is the
//! exception: it reads the matrices beside the coordinates, and RRNCO
//! augments the coordinates of road instances while the matrices stay.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::model::features::Features;
use crate::model::ModelConfig;
use crate::problem::{Instance, Weights};

/// Copies made per instance.
pub const DIHEDRAL: usize = 8;

/// Whether x8 augmentation applies to this instance under the policy of
/// `config`: coordinates with Euclidean weights (the dihedral maps keep the
/// distances), or any coordinates when the policy reads the matrices (RRNet).
pub fn applies(inst: &Instance, config: &ModelConfig) -> bool {
    inst.coords.is_some() && (config.reads_matrices() || !matches!(inst.weights, Weights::Matrix(_)))
}

/// The 8 maps in POMO's order: (x, y), (1-x, y), (x, 1-y), (1-x, 1-y), then
/// the same four with x and y swapped. The first is the identity.
fn maps<B: Backend, const D: usize>(x: Tensor<B, D>, y: Tensor<B, D>) -> Vec<[Tensor<B, D>; 2]> {
    let flip = |t: &Tensor<B, D>| t.clone().neg() + 1.0;
    let plain = [[x.clone(), y.clone()], [flip(&x), y.clone()], [x.clone(), flip(&y)], [flip(&x), flip(&y)]];
    let swapped = plain.clone().map(|[a, b]| [b, a]);
    plain.into_iter().chain(swapped).collect()
}

/// Replace the first two features (x, y) along the last axis of `t` by each map's, stacked copy-major after `dim`.
fn augment_xy<B: Backend, const D: usize>(t: &Tensor<B, D>) -> Vec<Tensor<B, D>> {
    let last = D - 1;
    let width = t.dims()[last];
    let x = t.clone().narrow(last, 0, 1);
    let y = t.clone().narrow(last, 1, 1);
    let rest = t.clone().narrow(last, 2, width - 2);
    maps(x, y).into_iter().map(|[x, y]| Tensor::cat(vec![x, y, rest.clone()], last)).collect()
}

/// Features of every instance as `DIHEDRAL` consecutive copies (instance-major).
pub fn dihedral<B: Backend>(f: &Features<B>) -> Features<B> {
    let [b, n, cw] = f.customers.dims();
    let dw = f.depot.dims()[1];
    let customers = Tensor::stack::<4>(augment_xy(&f.customers), 1).reshape([b * DIHEDRAL, n, cw]);
    let depot = Tensor::stack::<3>(augment_xy(&f.depot), 1).reshape([b * DIHEDRAL, dw]);
    let frames = f.frames.iter().flat_map(|fr| std::iter::repeat_n(*fr, DIHEDRAL)).collect();
    let road = f.road.as_ref().map(|r| r.repeat(DIHEDRAL));
    // Rotations and flips keep the distances.
    let distances = f.repeat_distances(DIHEDRAL);
    Features { customers, depot, frames, road, distances }
}
