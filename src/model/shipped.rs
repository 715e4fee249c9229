//! The model compiled into the binary, so that `lrm solve x.vrp` works with no
//! `--model`: `models/mtvrp20-cpu`, trained by `configs/mtvrp20-cpu.toml`.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;

use super::checkpoint::{self, ModelCard};
use super::{ModelConfig, Policy};
use crate::error::{Error, Result};

pub const NAME: &str = "mtvrp20-cpu";
const CARD: &str = include_str!("../../models/mtvrp20-cpu.toml");
const WEIGHTS: &[u8] = include_bytes!("../../models/mtvrp20-cpu.safetensors");

/// A model to decode with: a checkpoint file, the compiled-in one, or a
/// preset with fresh (untrained, seeded) weights, for speed measurements.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelSource {
    File(PathBuf),
    Shipped,
    /// A preset name of [`ModelConfig::preset`]; weights drawn from the backend's seed.
    Preset(String),
}

impl ModelSource {
    pub fn card(&self) -> Result<ModelCard> {
        match self {
            ModelSource::File(p) => checkpoint::read_card(p),
            ModelSource::Shipped => checkpoint::parse_card(Path::new(NAME), CARD),
            ModelSource::Preset(name) => {
                let model = ModelConfig::preset(name).map_err(Error::Failure)?;
                Ok(ModelCard { lrm_version: env!("CARGO_PKG_VERSION").to_string(), model, trained_on: None })
            }
        }
    }

    /// A checkpoint path, or a preset name when `text` names one and no such file exists.
    pub fn parse(text: &str) -> ModelSource {
        let path = PathBuf::from(text);
        let preset = !path.exists() && !text.ends_with(".toml") && ModelConfig::preset(text).is_ok();
        if preset {
            ModelSource::Preset(text.to_string())
        } else {
            ModelSource::File(path)
        }
    }

    pub fn load<B: Backend>(&self, device: &B::Device) -> Result<(Policy<B>, ModelCard)> {
        match self {
            ModelSource::File(p) => checkpoint::load(p, device),
            ModelSource::Shipped => {
                let card = self.card()?;
                Ok((checkpoint::from_bytes(&card, Path::new(NAME), WEIGHTS.to_vec(), device)?, card))
            }
            ModelSource::Preset(_) => {
                let card = self.card()?;
                Ok((card.model.init(device), card))
            }
        }
    }
}
