//! Integration tests of the routing core, one binary (links once) with a
//! module per concern, mirroring `src/problem` (the environment's tests are in `tests/env`).

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

mod bad_input;
mod benchmarks;
mod checker_cases;
mod files;
mod generators;
mod instance;
mod rollouts;
mod segment;
