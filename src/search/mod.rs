//! Improvement on solutions through the rules: local search (one operator
//! per file in [`operators`], a first-improvement [`descent`] over granular
//! neighbour lists), ruin and recreate, and the anytime loop that `lrm solve
//! --time-limit` runs after the policy's construction ([`anytime`],
//! [`solve`]).
//!
//! Every move is checked in constant time on rule summaries
//! ([`crate::problem::rules::Segment`]) and confirmed by walking its new
//! routes through `problem::rules` before it is taken; every solution the
//! search hands back is evaluated by `problem::evaluate`.

pub mod anytime;
pub mod arcs;
pub mod descent;
pub mod operators;
pub mod repair;
pub mod routes;
pub mod ruin;
pub mod solve;

pub use anytime::{search, Improvement, NoPolicy, Reconstruct, Report, SearchOptions};
pub use arcs::Arcs;
pub use descent::descent;
pub use routes::{Move, Routes};
pub use solve::solve;

pub use crate::decode::sampling::{rng, Rng};
