//! Tests of the local search and the anytime `lrm solve`, mirroring `src/search`.

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

mod anytime;
mod cli;
mod moves;
mod relocate;
mod swap;
mod two_opt;
mod two_opt_star;
