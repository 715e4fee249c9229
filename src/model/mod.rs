//! The policy networks (Burn), generic over `B: Backend`.
//!
//! Issue 3 in progress: the encoder + pointer family (presets `pomo`, `rf-te`,
//! `lrm-*`, `lmask`) is here; the decoder-only family, SVD features, RADAR and
//! the backend switch follow.

pub mod blocks;
pub mod checkpoint;
pub mod config;
pub mod encoder;
pub mod features;
pub mod pointer;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

pub use config::ModelConfig;

use encoder::Encoder;
use pointer::Pointer;

/// An encoder + pointer policy.
#[derive(Module, Debug)]
pub struct Policy<B: Backend> {
    pub encoder: Encoder<B>,
    pub pointer: Pointer<B>,
}

impl ModelConfig {
    /// Build the policy. Burn initialises parameters lazily, on first use, in
    /// whatever order that use comes; every parameter is drawn here, in module
    /// order, so that a seeded backend gives the same weights every time.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Policy<B> {
        let policy = Policy { encoder: Encoder::new(self, device), pointer: Pointer::new(self, device) };
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
