//! The pointer's log-likelihood of recorded steps as one autodiff op on the
//! CPU, with a hand-written backward pass.
//!
//! Burn's form of a training replay (`decode::trajectory`) keeps every
//! step's glimpse scores, softmax weights and masks for the backward pass:
//! gigabytes at batch 64 and n = 50, and most of a training step's time in
//! memory traffic. Here the forward pass computes only `log p(action)` per
//! recorded step with the fused kernel (`pointer_host`), keeps nothing but
//! the recorded inputs, and the backward pass recomputes each step and
//! accumulates the gradients of the five per-encoding tensors of
//! [`PointerCache`] directly; Burn's autodiff carries them on through the
//! precomputation and the encoder. `tests/train/replay.rs` checks values and
//! gradients against stepping with gradients.
//!
//! It applies on `Autodiff<Flex>` (found by type at run time); other
//! backends replay through Burn.

use std::any::Any;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::ops::FloatTensorOps;
use burn::tensor::{Tensor, TensorData, TensorMetadata, TensorPrimitive};
use rayon::prelude::*;

use super::host_kernels::GROUP as STEP_GROUP;
use super::pointer::PointerCache;
use super::pointer_host::{Choice, HostPointer, InstanceGradients};

type Cpu = Autodiff<Flex>;

/// The recorded steps of a replay, host side: per step the current node,
/// context rows and masks of every rollout; per rollout its kept choices.
#[derive(Debug)]
pub struct Recorded {
    pub per_instance: usize,
    pub width: usize,
    pub context_width: usize,
    /// Per step: current nodes `[R]`, context `[R, context_width]`, allowed `[R, width]`.
    pub steps: Vec<(Vec<usize>, Vec<f32>, Vec<bool>)>,
    /// Per rollout: `(step, action)` pairs.
    pub kept: Vec<Vec<(usize, usize)>>,
    /// Per rollout: the summed log-probabilities of its kept choices when
    /// they were recorded as they were sampled (by the same kernel); the
    /// forward pass then returns them instead of recomputing.
    pub log_likelihoods: Option<Vec<f32>>,
}

impl Recorded {
    fn choice(&self, r: usize, t: usize, action: usize) -> Choice<'_> {
        let (current, context, allowed) = &self.steps[t];
        Choice {
            current: current[r],
            context: &context[r * self.context_width..(r + 1) * self.context_width],
            allowed: &allowed[r * self.width..(r + 1) * self.width],
            action,
        }
    }
}

/// What the backward pass needs: the cache's values and the record.
#[derive(Debug)]
struct Replay {
    host: HostPointer,
    recorded: Recorded,
}

impl Replay {
    /// `[B * P]` summed log-probabilities of each rollout's kept choices.
    fn forward(&self) -> Vec<f32> {
        if let Some(known) = &self.recorded.log_likelihoods {
            return known.clone();
        }
        let p = self.recorded.per_instance;
        (0..self.recorded.kept.len())
            .into_par_iter()
            .map_init(
                || self.host.scratch(),
                |s, r| self.recorded.kept[r].iter().map(|&(t, a)| self.host.choice_log_prob(r / p, self.recorded.choice(r, t, a), s)).sum(),
            )
            .collect()
    }

    /// Gradients of `sum_r upstream[r] * forward()[r]` with respect to the cache.
    fn backward(&self, upstream: &[f32]) -> [Vec<f32>; 5] {
        let p = self.recorded.per_instance;
        let instances = self.recorded.kept.len() / p;
        let per_instance: Vec<InstanceGradients> = (0..instances)
            .into_par_iter()
            .map(|b| {
                let mut g = self.host.instance_gradients();
                let mut s = self.host.group_scratch();
                let choices = (b * p..(b + 1) * p).flat_map(|r| self.recorded.kept[r].iter().map(move |&(t, a)| (r, t, a)));
                let (mut group, mut weights) = (Vec::with_capacity(STEP_GROUP), Vec::with_capacity(STEP_GROUP));
                for (r, t, a) in choices {
                    group.push(self.recorded.choice(r, t, a));
                    weights.push(upstream[r]);
                    if group.len() == STEP_GROUP {
                        self.host.choices_backward(b, &group, &weights, &mut s, &mut g);
                        group.clear();
                        weights.clear();
                    }
                }
                if !group.is_empty() {
                    self.host.choices_backward(b, &group, &weights, &mut s, &mut g);
                }
                g
            })
            .collect();
        self.host.cache_gradients(per_instance)
    }
}

#[derive(Debug)]
struct PointerReplay;

impl Backward<Flex, 5> for PointerReplay {
    type State = (Arc<Replay>, [Vec<usize>; 5]);

    fn backward(self, ops: Ops<Self::State, 5>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (replay, shapes) = ops.state;
        let upstream = Tensor::<Flex, 2>::from_primitive(TensorPrimitive::Float(grads.consume::<Flex>(&ops.node)));
        let upstream: Vec<f32> = upstream.into_data().convert::<f32>().to_vec().expect("float gradients");
        let device = Default::default();
        for ((parent, values), shape) in ops.parents.into_iter().zip(replay.backward(&upstream)).zip(shapes) {
            if let Some(node) = parent {
                grads.register::<Flex>(node.id, Flex::float_from_data(TensorData::new(values, shape), &device));
            }
        }
    }
}

/// Whether [`log_likelihood`] applies: the backend is `Autodiff<Flex>`.
pub fn applies<B: AutodiffBackend>(cache: &PointerCache<B>) -> bool {
    (cache as &dyn Any).is::<PointerCache<Cpu>>()
}

/// `[batch, P]`: each rollout's summed log-probability of its kept choices
/// under `cache`, with this module's backward pass.
///
/// # Panics
/// On backends other than the CPU's ([`applies`] says which), which replay through Burn.
pub fn log_likelihood<B: AutodiffBackend>(cache: &PointerCache<B>, recorded: Recorded) -> Tensor<B, 2> {
    let cache = (cache as &dyn Any).downcast_ref::<PointerCache<Cpu>>().expect("pointer_replay on the CPU backend only (see `applies`)");
    let (b, p) = (recorded.kept.len() / recorded.per_instance, recorded.per_instance);
    let replay = Arc::new(Replay { host: HostPointer::for_training(cache), recorded });
    let values = replay.forward();
    let output = Tensor::<Flex, 1>::from_data(TensorData::new(values, [b * p]), &Default::default()).reshape([b, p]).into_primitive().tensor();
    let inputs = [
        cache.node_queries.clone().into_primitive().tensor(),
        cache.context_weight.clone().into_primitive().tensor(),
        cache.glimpse_keys.clone().into_primitive().tensor(),
        cache.glimpse_values.clone().into_primitive().tensor(),
        cache.logit_keys.clone().into_primitive().tensor(),
    ];
    let shapes = inputs.clone().map(|t| t.primitive.shape().to_vec());
    let nodes = inputs.map(|t| t.node.clone());
    let result = match PointerReplay.prepare::<NoCheckpointing>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish((replay, shapes), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    let tensor: Box<dyn Any> = Box::new(Tensor::<Cpu, 2>::from_primitive(TensorPrimitive::Float(result)));
    *tensor.downcast::<Tensor<B, 2>>().expect("B is Autodiff<Flex>")
}
