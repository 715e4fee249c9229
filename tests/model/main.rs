//! Tests of the policy network, mirroring `src/model`.

mod blocks;
