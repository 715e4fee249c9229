//! The model compiled into the binary, so that `lrm solve x.vrp` works with no
//! `--model`: `models/mtvrp20-cpu`, trained by `configs/mtvrp20-cpu.toml`.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;

use super::checkpoint::{self, ModelCard};
use super::Policy;
use crate::error::Result;

pub const NAME: &str = "mtvrp20-cpu";
const CARD: &str = include_str!("../../models/mtvrp20-cpu.toml");
const WEIGHTS: &[u8] = include_bytes!("../../models/mtvrp20-cpu.safetensors");

/// A model to decode with: a checkpoint file, or the compiled-in one.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelSource {
    File(PathBuf),
    Shipped,
}

impl ModelSource {
    pub fn card(&self) -> Result<ModelCard> {
        match self {
            ModelSource::File(p) => checkpoint::read_card(p),
            ModelSource::Shipped => checkpoint::parse_card(Path::new(NAME), CARD),
        }
    }

    pub fn load<B: Backend>(&self, device: &B::Device) -> Result<(Policy<B>, ModelCard)> {
        match self {
            ModelSource::File(p) => checkpoint::load(p, device),
            ModelSource::Shipped => {
                let card = self.card()?;
                Ok((checkpoint::from_bytes(&card, Path::new(NAME), WEIGHTS.to_vec(), device)?, card))
            }
        }
    }
}
