//! RRNet (RRNCO, "Towards Real-World Routing with Neural Combinatorial
//! Optimization", ICLR 2026; reference code `ai4co/real-routing-nco`): a
//! policy for road networks that reads the distance and duration matrices
//! beside the coordinates.
//!
//! - [`AdaptiveEmbedding`]: row (outgoing) and column (incoming) embeddings
//!   of every node;
//! - `n_layers` layers of two [`AttentionFreeBlock`]s: the row block queries
//!   with the rows and reads the columns, the bias over `D`, the angles and
//!   `T`; the column block the other way round, over `D^T`, the same angles
//!   (the reference does not transpose them) and `T^T`; both read the layer's
//!   input embeddings;
//! - the decoder (`rrnco/models/decoder.py`): keys from the column
//!   embeddings, the query from the current node's row embedding and the
//!   context; a `pointer_heads`-head glimpse whose output projection the
//!   reference defines but does not apply, a residual MLP, single-head
//!   logits, then the heuristic penalty `log(exp(u - a D̂[cur, j] - b T̂[cur, j])
//!   + 1e-6)` with learnable `a`, `b` (start 1), `clip * tanh`, masked
//!   log-softmax. The penalty is linear in the normalised outgoing distance
//!   and duration, floored at `log 1e-6`: what the paper calls a
//!   negative-log-distance heuristic (`RRNCO.md` section 6).
//!
//! Departures: the graph context is off in the reference and absent here; the
//! decoder context is the shared one of [`crate::model::features`] (available
//! load, current time, remaining distance), the open-route flag living in the
//! depot's attributes. Parameter counts: [`num_params`].

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::blocks::aafm::{AttentionFreeBlock, AttentionFreeBlockConfig};
use super::blocks::adaptive_embedding::{AdaptiveEmbedding, AdaptiveEmbeddingConfig};
use super::blocks::{linear_flat, linear_flat_with, FeedForward, FeedForwardConfig, FeedForwardKind, MASKED};
use super::config::ModelConfig;
use super::features::{Features, StepInput, CUSTOMER_FEATURES, DEPOT_FEATURES};
use super::heavy_decoder::gather_rows;
use super::pointer::glimpse;

/// Node attributes per node: the customers' shared columns after `(x, y)`
/// (demands, window, service, draft limit); the depot's (open, distance
/// limit, depot window end, mixed backhaul) padded with zeros.
pub const ATTRIBUTES: usize = CUSTOMER_FEATURES - 2;

/// Floats in one `[instances, nodes, nodes, E]` tensor of the adaptive bias
/// (128 MiB) above which the encoder works in chunks of instances: the lifted
/// matrices are its largest tensors, `O(B N^2 E)`, and x8 augmentation
/// multiplies B by 8.
pub const CHUNK_ENTRIES: usize = 1 << 25;

/// The floor of the decoder's penalised score, `log(exp(.) + 1e-6)`.
const PENALTY_FLOOR: f64 = 1e-6;

/// One encoder layer: the row and the column block.
#[derive(Module, Debug)]
pub struct RrNetLayer<B: Backend> {
    pub row: AttentionFreeBlock<B>,
    pub column: AttentionFreeBlock<B>,
}

/// The RRNet decoder's weights.
#[derive(Module, Debug)]
pub struct RoadPointer<B: Backend> {
    /// `E -> 3E`, no bias, on the column embeddings: glimpse keys, glimpse values, logit keys.
    pub keys: Linear<B>,
    /// `[E + context] -> E`, no bias: the current node's row embedding and the context.
    pub query: Linear<B>,
    pub feed_forward: FeedForward<B>,
    /// `a` and `b` of the penalty on the normalised distance and duration.
    pub distance_weight: Param<Tensor<B, 1>>,
    pub duration_weight: Param<Tensor<B, 1>>,
    pub heads: usize,
    pub tanh_clip: f64,
}

#[derive(Module, Debug)]
pub struct RrNet<B: Backend> {
    pub embedding: AdaptiveEmbedding<B>,
    pub layers: Vec<RrNetLayer<B>>,
    pub decoder: RoadPointer<B>,
}

/// What RRNet keeps per encoding.
#[derive(Clone, Debug)]
pub struct RoadCache<B: Backend> {
    /// `[batch, nodes, E]`: each node's row embedding through the query's share.
    pub node_queries: Tensor<B, 3>,
    /// `[context, E]`: the context's share of the query projection.
    pub context_weight: Tensor<B, 2>,
    /// `[batch, heads, head_dim, nodes]`.
    pub glimpse_keys: Tensor<B, 4>,
    /// `[batch, heads, nodes, head_dim]`.
    pub glimpse_values: Tensor<B, 4>,
    /// `[batch, E, nodes]`.
    pub logit_keys: Tensor<B, 3>,
    /// `[batch, nodes, nodes]`: `a D̂ + b T̂`, row `i` read when at node `i`.
    pub penalty: Tensor<B, 3>,
}

impl<B: Backend> RoadCache<B> {
    /// The caches of consecutive chunks of instances as one.
    fn cat(mut chunks: Vec<RoadCache<B>>) -> RoadCache<B> {
        if chunks.len() == 1 {
            return chunks.pop().expect("one chunk");
        }
        let context_weight = chunks[0].context_weight.clone();
        let cat3 = |pick: fn(&RoadCache<B>) -> Tensor<B, 3>| Tensor::cat(chunks.iter().map(pick).collect(), 0);
        let cat4 = |pick: fn(&RoadCache<B>) -> Tensor<B, 4>| Tensor::cat(chunks.iter().map(pick).collect(), 0);
        RoadCache {
            node_queries: cat3(|c| c.node_queries.clone()),
            context_weight,
            glimpse_keys: cat4(|c| c.glimpse_keys.clone()),
            glimpse_values: cat4(|c| c.glimpse_values.clone()),
            logit_keys: cat3(|c| c.logit_keys.clone()),
            penalty: cat3(|c| c.penalty.clone()),
        }
    }

    /// The same values, cut from the autodiff graph.
    pub fn detach(&self) -> RoadCache<B> {
        RoadCache {
            node_queries: self.node_queries.clone().detach(),
            context_weight: self.context_weight.clone().detach(),
            glimpse_keys: self.glimpse_keys.clone().detach(),
            glimpse_values: self.glimpse_values.clone().detach(),
            logit_keys: self.logit_keys.clone().detach(),
            penalty: self.penalty.clone().detach(),
        }
    }
}

fn block(c: &ModelConfig) -> AttentionFreeBlockConfig {
    AttentionFreeBlockConfig::new(c.d_model, c.d_ff).with_durations(c.road_durations)
}

fn embedding(c: &ModelConfig) -> AdaptiveEmbeddingConfig {
    AdaptiveEmbeddingConfig::new(c.d_model, c.neighbour_samples, ATTRIBUTES)
}

/// Trainable parameters of the RRNet `c` describes: embedding, `2 n_layers`
/// blocks, decoder. Against `RRNCO.md`'s table (E = 128, 6 layers, FF 512,
/// k = 25) the difference is the reference's unused layers (its
/// `DistanceExpert` linears, `project_out`, `project_fixed_context`: about
/// 98.6k with demands, 32.8k for ATSP), its per-problem attribute and context
/// widths, and ATSP's first-node context (`tests/model/rrnet.rs` checks each).
pub fn num_params(c: &ModelConfig) -> usize {
    let e = c.d_model;
    let decoder = 3 * e * e + (e + c.context_features()) * e + (e * c.d_ff + c.d_ff) + (c.d_ff * e + e) + 2;
    embedding(c).num_params() + 2 * c.n_layers * block(c).num_params() + decoder
}

impl<B: Backend> RrNet<B> {
    pub fn new(c: &ModelConfig, device: &B::Device) -> Self {
        let e = c.d_model;
        RrNet {
            embedding: embedding(c).init(device),
            layers: (0..c.n_layers).map(|_| RrNetLayer { row: block(c).init(device), column: block(c).init(device) }).collect(),
            decoder: RoadPointer {
                keys: LinearConfig::new(e, 3 * e).with_bias(false).init(device),
                query: LinearConfig::new(e + c.context_features(), e).with_bias(false).init(device),
                feed_forward: FeedForwardConfig::new(e, c.d_ff, FeedForwardKind::ReluMlp).init(device),
                distance_weight: Param::from_tensor(Tensor::ones([1], device)),
                duration_weight: Param::from_tensor(Tensor::ones([1], device)),
                heads: c.pointer_heads,
                tanh_clip: c.tanh_clip,
            },
        }
    }

    /// The row and column embeddings after the encoder layers.
    ///
    /// # Shapes
    /// - output: two `[batch, nodes, E]`, the depot first
    ///
    /// # Panics
    /// When `features` lack the road inputs ([`Features::for_model`] adds them).
    pub fn embed(&self, features: &Features<B>) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let road = features.road.as_ref().expect("RRNet reads the road inputs: build its features with Features::for_model");
        let [batch, customers, _] = features.customers.dims();
        let nodes = customers + 1;
        let depot = features.depot.clone().unsqueeze_dim::<3>(1);
        let coords = Tensor::cat(vec![depot.clone().narrow(2, 0, 2), features.customers.clone().narrow(2, 0, 2)], 1);
        let depot_attributes = depot.narrow(2, 2, DEPOT_FEATURES - 2);
        let padding = Tensor::zeros([batch, 1, ATTRIBUTES - (DEPOT_FEATURES - 2)], &coords.device());
        let attributes = Tensor::cat(vec![Tensor::cat(vec![depot_attributes, padding], 2), features.customers.clone().narrow(2, 2, ATTRIBUTES)], 1);
        let (mut row, mut column) = self.embedding.forward(coords.clone(), attributes, road.outgoing.clone(), road.incoming.clone());
        let angle = angles(coords, nodes);
        let (distance_t, duration_t) = (road.distance.clone().swap_dims(1, 2), road.duration.clone().swap_dims(1, 2));
        for layer in &self.layers {
            let next_row = layer.row.forward(row.clone(), column.clone(), road.distance.clone(), angle.clone(), road.duration.clone());
            column = layer.column.forward(column, row, distance_t.clone(), angle.clone(), duration_t.clone());
            row = next_row;
        }
        (row, column)
    }

    /// The encoder and the decoder's per-encoding work, in chunks of
    /// instances small enough that one lifted bias tensor stays under
    /// [`CHUNK_ENTRIES`] floats.
    pub fn encode(&self, features: &Features<B>) -> RoadCache<B> {
        let [_, customers, _] = features.customers.dims();
        let e = self.decoder.keys.weight.dims()[0];
        self.encode_in_chunks(features, (CHUNK_ENTRIES / ((customers + 1).pow(2) * e)).max(1))
    }

    /// [`Self::encode`] with at most `instances` instances encoded at once:
    /// the same values (each instance is encoded on its own), a lower peak.
    pub fn encode_in_chunks(&self, features: &Features<B>, instances: usize) -> RoadCache<B> {
        let batch = features.frames.len();
        let caches: Vec<RoadCache<B>> = (0..batch)
            .step_by(instances.max(1))
            .map(|start| {
                let chunk = features.narrow(start, instances.min(batch - start));
                let (row, column) = self.embed(&chunk);
                let road = chunk.road.as_ref().expect("checked by embed");
                self.decoder.precompute(row, column, road.distance.clone(), road.duration.clone())
            })
            .collect();
        RoadCache::cat(caches)
    }

    /// Log-probabilities `[batch, rollouts, nodes]` of the next node; masked nodes get exactly 0.
    pub fn step(&self, cache: &RoadCache<B>, input: StepInput<B>) -> Tensor<B, 3> {
        self.decoder.step(cache, input)
    }
}

/// `phi_ij = atan2(y_i - y_j, x_i - x_j)`, the reference's sign (the paper's
/// is the opposite).
///
/// # Shapes
/// - `coords`: `[batch, nodes, 2]`; output: `[batch, nodes, nodes]`
fn angles<B: Backend>(coords: Tensor<B, 3>, nodes: usize) -> Tensor<B, 3> {
    let [batch, _, _] = coords.dims();
    let difference = |k: usize| {
        let c = coords.clone().narrow(2, k, 1);
        c.clone().expand([batch, nodes, nodes]) - c.swap_dims(1, 2).expand([batch, nodes, nodes])
    };
    difference(1).atan2(difference(0))
}

impl<B: Backend> RoadPointer<B> {
    /// Keys from the columns, query shares from the rows, the penalty matrix.
    ///
    /// # Shapes
    /// - `row`, `column`: `[batch, nodes, E]`
    /// - `distance`, `duration`: `[batch, nodes, nodes]`, normalised
    pub fn precompute(&self, row: Tensor<B, 3>, column: Tensor<B, 3>, distance: Tensor<B, 3>, duration: Tensor<B, 3>) -> RoadCache<B> {
        let [batch, nodes, e] = row.dims();
        let head_dim = e / self.heads;
        let kv = linear_flat(&self.keys, column).reshape([batch, nodes, 3, e]);
        let part = |k: usize| kv.clone().narrow(2, k, 1).reshape([batch, nodes, e]);
        let split = |t: Tensor<B, 3>| t.reshape([batch, nodes, self.heads, head_dim]).swap_dims(1, 2);
        let query = self.query.weight.val();
        let context = query.dims()[0] - e;
        let scalar = |p: &Param<Tensor<B, 1>>| p.val().unsqueeze::<3>();
        RoadCache {
            node_queries: linear_flat_with(row, query.clone().narrow(0, 0, e), None),
            context_weight: query.narrow(0, e, context),
            glimpse_keys: split(part(0)).swap_dims(2, 3) * 1.0,
            glimpse_values: split(part(1)) * 1.0,
            logit_keys: part(2).swap_dims(1, 2) * 1.0,
            penalty: distance * scalar(&self.distance_weight) + duration * scalar(&self.duration_weight),
        }
    }

    /// Log-probabilities `[batch, rollouts, nodes]` of the next node.
    pub fn step(&self, cache: &RoadCache<B>, input: StepInput<B>) -> Tensor<B, 3> {
        let e = cache.context_weight.dims()[1];
        let query = gather_rows(&cache.node_queries, input.current.clone()) + linear_flat_with(input.context, cache.context_weight.clone(), None);
        let forbidden = input.allowed.bool_not();
        let g = glimpse(query.clone(), &cache.glimpse_keys, &cache.glimpse_values, &forbidden) + query;
        let g = g.clone() + self.feed_forward.forward(g);
        let u = g.matmul(cache.logit_keys.clone()) / (e as f64).sqrt();
        let penalised = floored_log(u - gather_rows(&cache.penalty, input.current));
        let logits = penalised.tanh() * self.tanh_clip;
        log_softmax(logits.mask_fill(forbidden, MASKED), 2)
    }
}

/// `log(exp(z) + 1e-6)`, computed without overflow.
fn floored_log<B: Backend>(z: Tensor<B, 3>) -> Tensor<B, 3> {
    let floor = PENALTY_FLOOR.ln();
    let top = z.clone().clamp_min(floor).detach();
    top.clone() + ((z - top.clone()).exp() + (top.neg() + floor).exp()).log()
}
