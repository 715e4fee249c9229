//! The policy networks (Burn), generic over `B: Backend`. Work in progress
//! (issue 3): the blocks are here; features, encoder, decoders, presets and
//! checkpoints follow.

pub mod blocks;
