//! Integration tests of the routing core, one binary (links once) with a
//! module per concern, mirroring `src/problem` and `src/env`.

mod common;

mod bad_input;
mod benchmarks;
mod checker_cases;
mod env;
mod files;
mod generators;
mod rollouts;
mod segment;
