//! RRNCO's adaptive node embedding (ANE; ICLR 2026, section 4.1; reference
//! code `rrnco/models/env_embeddings/{atsp,rcvrp,rcvrptw}.py`): each node's
//! row (outgoing) and column (incoming) embeddings from its coordinates, its
//! distances to sampled nodes and its attributes.
//!
//! - coordinates: the depot through its own linear (`2 -> E`), customers
//!   through `3 -> E` on `(x, y, theta)`, `theta` the angle from the depot;
//! - distances: the sorted outgoing and incoming samples of
//!   [`crate::model::features::road`], each through its own linear (`k -> E`);
//! - a contextual gate per side, one scalar per node (`2E -> 2E -> 1`, ReLU):
//!   `h = g f_coord + (1 - g) f_dist`;
//! - node attributes through `A -> E`, joined to each side by its own linear
//!   (`2E -> E`).
//!
//! Departures, documented: the reference gives ATSP one coordinate linear for
//! every node and no attributes, and each problem its own attribute width (1
//! for demand, 4 for time windows); here one layout serves every problem (the
//! depot is node 0, attributes are [`crate::model::features`]' shared
//! columns). The paper's attribute "MLP" is one linear in the code, followed
//! here; the code's two unused `DistanceExpert` linears are left out.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::linear_flat;

#[derive(Config, Debug)]
pub struct AdaptiveEmbeddingConfig {
    pub d_model: usize,
    /// `k`, sampled distances per node (RRNCO: 25).
    pub samples: usize,
    /// Node attributes per node.
    pub attributes: usize,
}

/// The per-node scalar gate `sigmoid(W2 relu(W1 [f_coord; f_dist]))`.
#[derive(Module, Debug)]
pub struct ContextGate<B: Backend> {
    pub hidden: Linear<B>,
    pub output: Linear<B>,
}

impl<B: Backend> ContextGate<B> {
    fn new(d_model: usize, device: &B::Device) -> Self {
        ContextGate { hidden: LinearConfig::new(2 * d_model, 2 * d_model).init(device), output: LinearConfig::new(2 * d_model, 1).init(device) }
    }

    /// `g f_coord + (1 - g) f_dist`, all `[batch, nodes, E]`.
    fn forward(&self, coord: Tensor<B, 3>, dist: Tensor<B, 3>) -> Tensor<B, 3> {
        let g = sigmoid(linear_flat(&self.output, relu(linear_flat(&self.hidden, Tensor::cat(vec![coord.clone(), dist.clone()], 2)))));
        coord * g.clone() + dist * (g.neg() + 1.0)
    }
}

#[derive(Module, Debug)]
pub struct AdaptiveEmbedding<B: Backend> {
    pub depot_coords: Linear<B>,
    pub customer_coords: Linear<B>,
    pub outgoing: Linear<B>,
    pub incoming: Linear<B>,
    pub row_gate: ContextGate<B>,
    pub column_gate: ContextGate<B>,
    pub attributes: Linear<B>,
    pub row_combine: Linear<B>,
    pub column_combine: Linear<B>,
}

impl AdaptiveEmbeddingConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> AdaptiveEmbedding<B> {
        let e = self.d_model;
        let lin = |i, o| LinearConfig::new(i, o).init(device);
        AdaptiveEmbedding {
            depot_coords: lin(2, e),
            customer_coords: lin(3, e),
            outgoing: lin(self.samples, e),
            incoming: lin(self.samples, e),
            row_gate: ContextGate::new(e, device),
            column_gate: ContextGate::new(e, device),
            attributes: lin(self.attributes, e),
            row_combine: lin(2 * e, e),
            column_combine: lin(2 * e, e),
        }
    }

    /// Trainable parameters of the embedding this config builds.
    pub fn num_params(&self) -> usize {
        let e = self.d_model;
        let linear = |i: usize, o: usize| i * o + o;
        let gate = linear(2 * e, 2 * e) + linear(2 * e, 1);
        linear(2, e) + linear(3, e) + 2 * linear(self.samples, e) + 2 * gate + linear(self.attributes, e) + 2 * linear(2 * e, e)
    }
}

impl<B: Backend> AdaptiveEmbedding<B> {
    /// The row and column embeddings.
    ///
    /// # Shapes
    /// - `coords`: `[batch, nodes, 2]`, the depot first
    /// - `attributes`: `[batch, nodes, A]`
    /// - `outgoing`, `incoming`: `[batch, nodes, k]`
    /// - output: two `[batch, nodes, E]`
    pub fn forward(&self, coords: Tensor<B, 3>, attributes: Tensor<B, 3>, outgoing: Tensor<B, 3>, incoming: Tensor<B, 3>) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let [batch, nodes, _] = coords.dims();
        let depot = coords.clone().narrow(1, 0, 1);
        let customers = coords.narrow(1, 1, nodes - 1);
        let relative = customers.clone() - depot.clone().expand([batch, nodes - 1, 2]);
        let theta = relative.clone().narrow(2, 1, 1).atan2(relative.narrow(2, 0, 1));
        let coord = Tensor::cat(vec![linear_flat(&self.depot_coords, depot), linear_flat(&self.customer_coords, Tensor::cat(vec![customers, theta], 2))], 1);
        let row = self.row_gate.forward(coord.clone(), linear_flat(&self.outgoing, outgoing));
        let column = self.column_gate.forward(coord, linear_flat(&self.incoming, incoming));
        let node = linear_flat(&self.attributes, attributes);
        (linear_flat(&self.row_combine, Tensor::cat(vec![row, node.clone()], 2)), linear_flat(&self.column_combine, Tensor::cat(vec![column, node], 2)))
    }
}
