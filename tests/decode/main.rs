//! Tests of the decoders and of `lrm solve` / `lrm eval`, mirroring `src/decode`.

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

mod cli;
mod lazymask;
mod multistart;
mod nearest;
mod strategies;
