//! A batch ready to decode: the instances of one size, their features (x8
//! augmented when asked) and the policy's encoding, computed once and shared
//! by every rollout and every strategy.

use std::sync::Arc;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::augment;
use super::sampling::Selector;
use crate::env::Env;
use crate::error::Result;
use crate::model::features::{Features, Refinement};
use crate::model::{Encoding, ModelConfig, Policy};
use crate::problem::Instance;

pub struct Batch<'a, B: Backend> {
    policy: &'a Policy<B>,
    config: &'a ModelConfig,
    originals: Vec<Instance>,
    /// Each original repeated once per augmentation copy, consecutively: what the env runs on.
    instances: Arc<[Instance]>,
    features: Features<B>,
    encoding: Encoding<B>,
    device: B::Device,
}

impl<'a, B: Backend> Batch<'a, B> {
    /// Encode `originals` (all of one size); with `augment`, as 8 dihedral
    /// copies each when every instance has coordinates (see [`augment::applies`]).
    pub fn new(policy: &'a Policy<B>, config: &'a ModelConfig, originals: &[Instance], augment: bool, device: &B::Device) -> Self {
        let features = Features::<B>::new(originals, config.svd_rank, device);
        let augmented = augment && originals.iter().all(augment::applies);
        let (features, copies) = if augmented { (augment::dihedral(&features), augment::DIHEDRAL) } else { (features, 1) };
        let instances: Arc<[Instance]> = originals.iter().flat_map(|i| std::iter::repeat_n(i.clone(), copies)).collect();
        let encoding = policy.encode(&features);
        Batch { policy, config, originals: originals.to_vec(), instances, features, encoding, device: device.clone() }
    }

    pub fn originals(&self) -> &[Instance] {
        &self.originals
    }

    /// A fresh env with `per_instance` rollouts for every copy of every instance.
    pub fn env(&self, per_instance: usize) -> Env {
        Env::new(self.instances.clone(), per_instance)
    }

    /// The policy's log-probabilities on the device, with `allowed` as the mask.
    /// Policies with LMask's refinement embedding get `refinement`, or "no
    /// backtracking yet" without one.
    fn step(&self, env: &Env, allowed: &[bool], refinement: Option<&Refinement>) -> Tensor<B, 3> {
        let none;
        let refinement = match (self.config.refinement_intensity, refinement) {
            (false, _) => None,
            (true, Some(r)) => Some(r),
            (true, None) => {
                none = Refinement::none(env.num_rollouts());
                Some(&none)
            }
        };
        let input = self.policy.step_input(&self.features, env, allowed, refinement, &self.device);
        self.policy.step(&self.encoding, input)
    }

    /// The policy's log-probabilities, one row of `env.width()` per rollout, on the host.
    pub fn log_probs(&self, env: &Env, allowed: &[bool], refinement: Option<&Refinement>) -> Vec<f32> {
        self.step(env, allowed, refinement).into_data().convert::<f32>().to_vec().expect("log-probabilities are floats")
    }

    /// Decode every rollout of `env` to its end on the env's own masks. Greedy
    /// choices are made on the device, so only the chosen nodes come back.
    pub fn construct(&self, env: &mut Env, selector: &mut Selector) -> Result<()> {
        let width = env.width();
        while !env.all_done() {
            let actions: Vec<usize> = match selector {
                Selector::Greedy => {
                    let chosen = self.step(env, env.mask(), None).argmax(2);
                    chosen.into_data().convert::<i64>().to_vec::<i64>().expect("node indices are integers").into_iter().map(|a| a as usize).collect()
                }
                _ => {
                    let log_p = self.log_probs(env, env.mask(), None);
                    (0..env.num_rollouts()).map(|r| selector.choose(&log_p[r * width..(r + 1) * width], env.mask_row(r))).collect()
                }
            };
            env.step(&actions)?;
        }
        Ok(())
    }
}
