//! Tests of the trainers, mirroring `src/train`: learning on a small fixed
//! problem, exact resume, config errors, non-finite losses.

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

mod configs;
mod curve;
mod distributed;
mod learning;
mod lmask;
mod replay;
mod resume;
