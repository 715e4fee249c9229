//! Tests of the policy network, mirroring `src/model`.

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

mod attention_host;
mod backends;
mod blocks;
mod checkpoint;
mod config;
mod features;
mod grow;
mod linear_host;
mod norm_host;
mod pointer_host;
mod policy;
mod rrnet;
mod zoo;
