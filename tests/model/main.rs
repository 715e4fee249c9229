//! Tests of the policy network, mirroring `src/model`.

mod backends;
mod blocks;
mod checkpoint;
mod config;
mod features;
mod pointer_host;
mod policy;
