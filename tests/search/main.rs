//! Tests of the local search, mirroring `src/search`.

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

mod anytime;
mod moves;
mod new_route;
mod relocate;
mod repair;
mod swap;
mod two_opt;
mod two_opt_star;
