//! `lrm`: transformer-based neural solvers for vehicle routing.
//!
//! Data flow (DESIGN.md): file or generator -> [`problem::Instance`] (original
//! units) -> [`env::Env`] (B instances x P rollouts, masks from
//! [`problem::rules`]) -> policy and decoders -> [`problem::Solution`] ->
//! [`problem::evaluate`].

pub mod backend;
pub mod bench;
pub mod cli;
pub mod decode;
pub mod env;
pub mod error;
pub mod eval;
pub mod model;
pub mod plot;
pub mod problem;
pub mod search;
pub mod train;

pub use error::{Error, Result};
