//! Tests of the decoders, mirroring `src/decode`.

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

mod lazymask;
mod multistart;
mod nearest;
mod outcome;
mod strategies;
