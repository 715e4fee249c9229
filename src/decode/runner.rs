//! A batch ready to decode: the instances of one size, their features (x8
//! augmented when asked) and the policy's encoding, computed once and shared
//! by every rollout and every strategy.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::augment;
use super::sampling::Selector;
use crate::env::Env;
use crate::error::Result;
use crate::model::features::{Features, Refinement};
use crate::model::pointer_host::{HostPointer, StepRows};
use crate::model::{Encoding, ModelConfig, Policy};
use crate::problem::Instance;

/// Wall time spent in each phase of decoding or training, in seconds
/// (`lrm bench --throughput` prints them). Device work is counted where its
/// result is read back: a GPU's queued step shows in `step`.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Phases {
    /// Features, augmentation and the encoder.
    pub encode: f64,
    /// The policy's step: log-probabilities and the choice of the next nodes.
    pub step: f64,
    /// The env: step inputs (context, masks) and applying the actions.
    pub env: f64,
    pub backward: f64,
    pub optimizer: f64,
}

impl Phases {
    /// Add the seconds since `since` to the phase `pick` selects; the next start.
    pub fn lap(&mut self, pick: fn(&mut Phases) -> &mut f64, since: Instant) -> Instant {
        let now = Instant::now();
        *pick(self) += (now - since).as_secs_f64();
        now
    }
}

impl fmt::Display for Phases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "encode {:.3}s step {:.3}s env {:.3}s", self.encode, self.step, self.env)?;
        if self.backward > 0.0 || self.optimizer > 0.0 {
            write!(f, " backward {:.3}s optimizer {:.3}s", self.backward, self.optimizer)?;
        }
        Ok(())
    }
}

pub struct Batch<'a, B: Backend> {
    policy: &'a Policy<B>,
    config: &'a ModelConfig,
    originals: Vec<Instance>,
    /// Each original repeated once per augmentation copy, consecutively: what the env runs on.
    instances: Arc<[Instance]>,
    features: Features<B>,
    encoding: Encoding<B>,
    /// The same, cut from the autodiff graph: decoding steps record nothing.
    detached: Encoding<B>,
    /// The fused CPU step, on the CPU backend with a pointer policy.
    host: Option<HostPointer>,
    device: B::Device,
    phases: RefCell<Phases>,
}

impl<'a, B: Backend> Batch<'a, B> {
    /// Encode `originals` (all of one size); with `augment`, as 8 dihedral
    /// copies each when every instance has coordinates (see [`augment::applies`]).
    pub fn new(policy: &'a Policy<B>, config: &'a ModelConfig, originals: &[Instance], augment: bool, device: &B::Device) -> Self {
        let start = Instant::now();
        let features = Features::<B>::for_model(originals, config, device);
        let augmented = augment && originals.iter().all(|i| augment::applies(i, config));
        let (features, copies) = if augmented { (augment::dihedral(&features), augment::DIHEDRAL) } else { (features, 1) };
        // Tabulated once per original; the copies share the table.
        let instances: Arc<[Instance]> = originals.iter().flat_map(|i| std::iter::repeat_n(i.tabulated(), copies)).collect();
        let encoding = policy.encode(&features);
        let host = encoding.on_host();
        let detached = encoding.detach();
        let phases = RefCell::new(Phases { encode: start.elapsed().as_secs_f64(), ..Phases::default() });
        Batch { policy, config, originals: originals.to_vec(), instances, features, encoding, detached, host, device: device.clone(), phases }
    }

    /// The time spent so far, per phase.
    pub fn phases(&self) -> Phases {
        *self.phases.borrow()
    }

    /// Copies of each original the env runs on: 8 when augmented, else 1.
    pub fn copies(&self) -> usize {
        self.instances.len() / self.originals.len()
    }

    pub fn originals(&self) -> &[Instance] {
        &self.originals
    }

    /// A fresh env with `per_instance` rollouts for every copy of every instance.
    pub fn env(&self, per_instance: usize) -> Env {
        Env::new(self.instances.clone(), per_instance)
    }

    /// The refinement input the policy reads: `refinement`, or "no
    /// backtracking yet" without one; none for policies without LMask's embedding.
    fn refinement(&self, env: &Env, refinement: Option<&Refinement>) -> Option<Refinement> {
        self.config.refinement_intensity.then(|| refinement.cloned().unwrap_or_else(|| Refinement::none(env.num_rollouts())))
    }

    /// The context rows of every rollout of `env` in the model's frame, with
    /// the refinement input when the policy reads one.
    pub fn context_rows(&self, env: &Env, refinement: Option<&Refinement>) -> Vec<f32> {
        self.features.context_rows(&env.context(), env.per_instance(), self.refinement(env, refinement).as_ref())
    }

    /// Whether the policy's step reads the unvisited nodes (the heavy decoder).
    pub fn reads_available(&self) -> bool {
        matches!(self.policy, Policy::Heavy(_))
    }

    /// The encoding, with its autodiff graph when the backend has one (training).
    pub fn encoding(&self) -> &Encoding<B> {
        &self.encoding
    }

    /// The policy's log-probabilities on the device, with `allowed` as the mask.
    fn step(&self, env: &Env, allowed: &[bool], refinement: Option<&Refinement>) -> Tensor<B, 3> {
        let start = Instant::now();
        let refinement = self.refinement(env, refinement);
        let input = self.policy.step_input(&self.features, env, allowed, refinement.as_ref(), &self.device);
        let start = self.phases.borrow_mut().lap(|p| &mut p.env, start);
        let log_p = self.policy.step(&self.detached, input);
        self.phases.borrow_mut().lap(|p| &mut p.step, start);
        log_p
    }

    /// The fused CPU step `run` on the rows of `env` under `allowed`: the
    /// rows timed as env work, the step as step work.
    fn on_host<R>(&self, host: &HostPointer, env: &Env, allowed: &[bool], refinement: Option<&Refinement>, run: fn(&HostPointer, &StepRows) -> R) -> R {
        let start = Instant::now();
        let context = self.context_rows(env, refinement);
        let current = env.current_nodes();
        let start = self.phases.borrow_mut().lap(|p| &mut p.env, start);
        let out = run(host, &StepRows { per_instance: env.per_instance(), current: &current, context: &context, allowed });
        self.phases.borrow_mut().lap(|p| &mut p.step, start);
        out
    }

    /// The policy's log-probabilities, one row of `env.width()` per rollout,
    /// on the host, with `allowed` as the mask (the env's, or a search's
    /// stricter one). Policies with LMask's refinement embedding get
    /// `refinement`, or "no backtracking yet" without one.
    pub fn log_probs(&self, env: &Env, allowed: &[bool], refinement: Option<&Refinement>) -> Vec<f32> {
        if let Some(host) = &self.host {
            return self.on_host(host, env, allowed, refinement, HostPointer::log_probs);
        }
        let log_p = self.step(env, allowed, refinement);
        let start = Instant::now();
        let host = log_p.into_data().convert::<f32>().to_vec().expect("log-probabilities are floats");
        self.phases.borrow_mut().lap(|p| &mut p.step, start);
        host
    }

    /// The most likely next node of every rollout on the env's own mask:
    /// chosen where the step runs, so only the nodes come back.
    pub fn greedy(&self, env: &Env) -> Vec<usize> {
        if let Some(host) = &self.host {
            return self.on_host(host, env, env.mask(), None, HostPointer::greedy);
        }
        let log_p = self.step(env, env.mask(), None);
        let start = Instant::now();
        let chosen = log_p.argmax(2).into_data();
        self.phases.borrow_mut().lap(|p| &mut p.step, start);
        chosen.convert::<i64>().to_vec::<i64>().expect("node indices are integers").into_iter().map(|a| a as usize).collect()
    }

    /// Decode every rollout of `env` to its end on the env's own masks.
    pub fn construct(&self, env: &mut Env, selector: &mut Selector) -> Result<()> {
        let width = env.width();
        while !env.all_done() {
            let actions: Vec<usize> = match selector {
                Selector::Greedy => self.greedy(env),
                _ => {
                    let log_p = self.log_probs(env, env.mask(), None);
                    (0..env.num_rollouts()).map(|r| selector.choose(&log_p[r * width..(r + 1) * width], env.mask_row(r))).collect()
                }
            };
            self.apply(env, &actions.into_iter().map(Some).collect::<Vec<_>>())?;
        }
        Ok(())
    }

    /// Take one action per rollout (`None`: the rollout is held), timed as env work.
    pub fn apply(&self, env: &mut Env, actions: &[Option<usize>]) -> Result<()> {
        let start = Instant::now();
        env.step_some(actions)?;
        self.phases.borrow_mut().lap(|p| &mut p.env, start);
        Ok(())
    }
}
