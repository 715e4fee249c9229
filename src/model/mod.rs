//! The policy networks (Burn), generic over `B: Backend`: an encoder + pointer
//! family, a decoder-only family and RRNet for road networks, behind one
//! `encode` / `step` interface.

pub mod attention_host;
pub mod blocks;
pub mod checkpoint;
pub mod config;
pub mod encoder;
pub mod features;
pub mod grow;
pub mod heavy_decoder;
pub(crate) mod host_kernels;
pub mod linear_host;
pub mod norm_host;
pub mod pointer;
pub mod pointer_host;
pub mod pointer_replay;
pub mod rrnet;
pub mod svd;
pub mod zoo;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

pub use config::{ModelConfig, PolicyFamily};

use crate::env::Env;
use encoder::Encoder;
use features::{Features, Refinement, StepInput};
use heavy_decoder::HeavyDecoder;
use pointer::{Pointer, PointerCache};
use pointer_host::HostPointer;
use rrnet::{RoadCache, RrNet};

/// Held while a model draws random weights. Burn's random numbers come from
/// one global generator per backend: a seeded draw ([`ModelConfig::init_seeded`],
/// the layers a training run's `--init` grows) seeds and draws under this
/// lock, and every other model draw ([`ModelConfig::init`]) takes it too, so
/// that no model drawn on another thread interleaves with a seeded one. Draws
/// that bypass the model (a block's own `init`, `Tensor::random`) do not take
/// it.
static SEEDED_INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `draw()` with the backend seeded by `seed`, under `SEEDED_INIT`: the
/// random numbers it takes are the seed's, whatever models other threads
/// build meanwhile ([`ModelConfig::init_seeded`], the layers `--init` grows).
/// `draw` must not build a model through [`ModelConfig::init`] (the lock is
/// held).
pub(crate) fn with_seed<B: Backend, T>(seed: u64, device: &B::Device, draw: impl FnOnce() -> T) -> T {
    let _guard = SEEDED_INIT.lock().unwrap_or_else(|e| e.into_inner());
    B::seed(device, seed);
    draw()
}

/// An encoder + pointer policy (POMO, RouteFinder, LRM-1B, LMask).
#[derive(Module, Debug)]
pub struct PointerPolicy<B: Backend> {
    pub encoder: Encoder<B>,
    pub pointer: Pointer<B>,
}

/// A policy of either family. (One exists per run, so the size of the larger
/// variant does not matter; Burn's derive does not see through a Box.)
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Policy<B: Backend> {
    Pointer(PointerPolicy<B>),
    Heavy(HeavyDecoder<B>),
    Road(RrNet<B>),
}

/// What a policy computes once per batch of instances.
#[derive(Clone, Debug)]
pub enum Encoding<B: Backend> {
    Pointer(PointerCache<B>),
    Heavy(Tensor<B, 3>),
    Road(RoadCache<B>),
}

impl<B: Backend> Encoding<B> {
    /// The pointer's fused CPU step ([`pointer_host`]) for this encoding,
    /// when the device is the CPU's (with or without autodiff: the kernel
    /// reads values only) and the policy a pointer; `None` leaves the step
    /// to Burn (the GPUs, the heavy decoder).
    pub fn on_host(&self) -> Option<HostPointer> {
        let cpu = std::any::TypeId::of::<B::Device>() == std::any::TypeId::of::<<burn::backend::Flex as burn::tensor::backend::BackendTypes>::Device>();
        match self {
            Encoding::Pointer(cache) if cpu => Some(HostPointer::new(cache)),
            _ => None,
        }
    }

    /// The same values, cut from the autodiff graph: steps on it record nothing.
    pub fn detach(&self) -> Encoding<B> {
        match self {
            Encoding::Pointer(c) => Encoding::Pointer(c.detach()),
            Encoding::Heavy(e) => Encoding::Heavy(e.clone().detach()),
            Encoding::Road(c) => Encoding::Road(c.detach()),
        }
    }
}

impl<B: Backend> Policy<B> {
    /// The per-instance work: the encoder and the pointer's keys, or the embedding.
    pub fn encode(&self, features: &Features<B>) -> Encoding<B> {
        match self {
            Policy::Pointer(p) => Encoding::Pointer(p.pointer.precompute(p.encoder.forward(features))),
            Policy::Heavy(h) => Encoding::Heavy(h.embed(features)),
            Policy::Road(r) => Encoding::Road(r.encode(features)),
        }
    }

    /// What this policy's step reads from the env: the heavy decoder also needs
    /// the unvisited nodes, the pointer does not (no per-step work it won't use).
    pub fn step_input(&self, features: &Features<B>, env: &Env, allowed: &[bool], refinement: Option<&Refinement>, device: &B::Device) -> StepInput<B> {
        features.step_input(env, allowed, refinement, matches!(self, Policy::Heavy(_)), device)
    }

    /// Log-probabilities `[batch, rollouts, nodes]` of the next node; masked nodes get exactly 0.
    pub fn step(&self, encoding: &Encoding<B>, input: StepInput<B>) -> Tensor<B, 3> {
        match (self, encoding) {
            (Policy::Pointer(p), Encoding::Pointer(cache)) => p.pointer.step(cache, input),
            (Policy::Heavy(h), Encoding::Heavy(embeddings)) => h.step(embeddings, input),
            (Policy::Road(r), Encoding::Road(cache)) => r.step(cache, input),
            _ => panic!("an encoding is used with the policy that made it"),
        }
    }
}

impl ModelConfig {
    /// Build the policy with random weights, drawn under `SEEDED_INIT` so
    /// that a seeded build on another thread keeps its numbers.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Policy<B> {
        let _guard = SEEDED_INIT.lock().unwrap_or_else(|e| e.into_inner());
        self.draw(device)
    }

    /// Build the policy with the weights `seed` gives: the same on every call
    /// and whatever models other threads build meanwhile (the backend is
    /// seeded and the weights drawn under `SEEDED_INIT`; a direct
    /// `Tensor::random` or block `init` on another thread can still take
    /// numbers from it).
    pub fn init_seeded<B: Backend>(&self, seed: u64, device: &B::Device) -> Policy<B> {
        with_seed::<B, _>(seed, device, || self.draw(device))
    }

    /// Burn initialises parameters lazily, on first use, in whatever order
    /// that use comes; every parameter is drawn here, in module order, so that
    /// a seeded backend gives the same weights every time. The caller holds
    /// `SEEDED_INIT`.
    fn draw<B: Backend>(&self, device: &B::Device) -> Policy<B> {
        let policy = match self.family {
            PolicyFamily::EncoderPointer => Policy::Pointer(PointerPolicy { encoder: Encoder::new(self, device), pointer: Pointer::new(self, device) }),
            PolicyFamily::DecoderOnly => Policy::Heavy(HeavyDecoder::new(self, device)),
            PolicyFamily::RrNet => Policy::Road(RrNet::new(self, device)),
        };
        policy.visit(&mut Materialise);
        policy
    }
}

/// Forces every lazily initialised parameter, in visiting order.
struct Materialise;

impl<B: Backend> ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}
