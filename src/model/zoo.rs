//! The model zoo: checkpoints compiled into the binary (`models/`), one per
//! problem domain, so that `lrm solve x.vrp` works with no `--model` and
//! uses the model trained for what the file holds. `models/README.md` gives
//! each model's training history; its card carries the numbers.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;

use super::checkpoint::{self, ModelCard};
use super::{ModelConfig, Policy};
use crate::error::{Error, Result};
use crate::problem::{Instance, Weights};

/// The problem domain a shipped model is trained for; every instance belongs to one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Domain {
    /// The 16 capacitated variants (classic and mixed backhauls) and TSP, on coordinates.
    Capacitated,
    /// TSP with time windows (LMask).
    Tsptw,
    /// TSP with draft limits (LMask).
    Tspdl,
    /// An explicit (possibly asymmetric) weight matrix without durations,
    /// unrelated to coordinates (or with none).
    Matrix,
    /// Road networks (RRNCO): a duration matrix beside the distances, or
    /// distances that follow the coordinates as road distances do.
    Road,
}

/// Pearson correlation between an explicit matrix and the straight-line
/// distances of the coordinates above which the matrix is taken for a road
/// network's. Road distances follow the crow-flies distances closely (0.96
/// on RRNCO-style cities, `data/valsets/road`); matrices drawn independently
/// of the points (MatNet's, `data/valsets/atsp`) score near 0.
pub const ROAD_CORRELATION: f64 = 0.8;

impl Domain {
    /// The domain of `inst`: durations or a matrix that follows the
    /// coordinates ([`ROAD_CORRELATION`]) make a road instance; any other
    /// explicit matrix, or no coordinates, a matrix instance; then TSPTW,
    /// TSPDL, and the capacitated variants (TSP included).
    pub fn of(inst: &Instance) -> Domain {
        if inst.durations.is_some() || follows_coordinates(inst) {
            Domain::Road
        } else if matches!(inst.weights, Weights::Matrix(_)) || inst.coords.is_none() {
            Domain::Matrix
        } else if inst.variant.is_tsp() && inst.variant.time_windows {
            Domain::Tsptw
        } else if inst.variant.is_tsp() && inst.variant.draft_limit {
            Domain::Tspdl
        } else {
            Domain::Capacitated
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Domain::Capacitated => "capacitated",
            Domain::Tsptw => "TSPTW",
            Domain::Tspdl => "TSPDL",
            Domain::Matrix => "matrix",
            Domain::Road => "road",
        }
    }
}

/// Whether `inst` has an explicit matrix and coordinates whose straight-line
/// distances correlate with it at [`ROAD_CORRELATION`] or more (off-diagonal
/// entries).
fn follows_coordinates(inst: &Instance) -> bool {
    let (Weights::Matrix(matrix), Some(coords)) = (&inst.weights, &inst.coords) else {
        return false;
    };
    let n = coords.len();
    let pairs = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)));
    let straight = |(i, j): (usize, usize)| (coords[i][0] - coords[j][0]).hypot(coords[i][1] - coords[j][1]);
    let count = (n * n - n) as f64;
    if count == 0.0 || matrix.len() != n * n {
        return false;
    }
    let mean_x = pairs.clone().map(straight).sum::<f64>() / count;
    let mean_y = pairs.clone().map(|(i, j)| matrix[i * n + j]).sum::<f64>() / count;
    let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
    for (i, j) in pairs {
        let (x, y) = (straight((i, j)) - mean_x, matrix[i * n + j] - mean_y);
        xy += x * y;
        xx += x * x;
        yy += y * y;
    }
    xx > 0.0 && yy > 0.0 && xy / (xx * yy).sqrt() >= ROAD_CORRELATION
}

/// A model compiled into the binary.
pub struct Shipped {
    pub name: &'static str,
    pub domain: Domain,
    card: &'static str,
    weights: &'static [u8],
}

impl Shipped {
    pub fn card(&self) -> Result<ModelCard> {
        checkpoint::parse_card(Path::new(self.name), self.card)
    }
}

/// A [`Shipped`] model from its name: its card and weights are
/// `models/NAME.toml` and `models/NAME.safetensors`, so that the name, the
/// card and the weights cannot disagree.
macro_rules! shipped {
    ($name:literal, $domain:expr) => {
        Shipped {
            name: $name,
            domain: $domain,
            card: include_str!(concat!("../../models/", $name, ".toml")),
            weights: include_bytes!(concat!("../../models/", $name, ".safetensors")),
        }
    };
}

/// Every shipped model; the first serves any domain without its own.
pub static ZOO: &[Shipped] = &[
    shipped!("mtvrp-cpu", Domain::Capacitated),
    shipped!("tsptw-cpu", Domain::Tsptw),
    shipped!("tspdl-cpu", Domain::Tspdl),
    shipped!("matrix-cpu", Domain::Matrix),
    shipped!("rrnco-cpu", Domain::Road),
];

/// The shipped model for `domain`: its own, else the capacitated one.
pub fn for_domain(domain: Domain) -> &'static Shipped {
    ZOO.iter().find(|m| m.domain == domain).unwrap_or(&ZOO[0])
}

/// A shipped model by name.
pub fn named(name: &str) -> Option<&'static Shipped> {
    ZOO.iter().find(|m| m.name == name)
}

/// A model to decode with: a checkpoint file, a shipped one, the shipped one
/// for each instance's domain, or a preset with fresh (untrained, seeded)
/// weights, for speed measurements.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelSource {
    File(PathBuf),
    Shipped(&'static str),
    /// The zoo's model for each instance's domain ([`ModelSource::resolve`]).
    Auto,
    /// A preset name of [`ModelConfig::preset`]; weights drawn from the backend's seed.
    Preset(String),
}

impl ModelSource {
    /// `self`, with `Auto` replaced by the zoo's model for `inst`.
    pub fn resolve(&self, inst: &Instance) -> ModelSource {
        match self {
            ModelSource::Auto => ModelSource::Shipped(for_domain(Domain::of(inst)).name),
            other => other.clone(),
        }
    }

    /// The instances (by index) that each model decodes: `Auto` split by
    /// domain, in the order of first appearance; any other source takes all.
    pub fn assign(&self, instances: &[Instance]) -> Vec<(ModelSource, Vec<usize>)> {
        let mut groups: Vec<(ModelSource, Vec<usize>)> = vec![];
        for (k, inst) in instances.iter().enumerate() {
            let source = self.resolve(inst);
            match groups.iter_mut().find(|(s, _)| *s == source) {
                Some((_, members)) => members.push(k),
                None => groups.push((source, vec![k])),
            }
        }
        groups
    }

    /// What reports call it: the shipped name, the file, or the preset.
    pub fn name(&self) -> String {
        match self {
            ModelSource::File(p) => p.display().to_string(),
            ModelSource::Shipped(name) => name.to_string(),
            ModelSource::Auto => "auto".into(),
            ModelSource::Preset(name) => format!("{name} (untrained)"),
        }
    }

    /// # Errors
    /// An unreadable card, or `Auto` (resolve it per instance first).
    pub fn card(&self) -> Result<ModelCard> {
        match self {
            ModelSource::File(p) => checkpoint::read_card(p),
            ModelSource::Shipped(name) => shipped(name)?.card(),
            ModelSource::Auto => Err(Error::Failure("the automatic model choice depends on the instance: resolve it first".into())),
            ModelSource::Preset(name) => {
                let model = ModelConfig::preset(name).map_err(Error::Failure)?;
                Ok(ModelCard { lrm_version: env!("CARGO_PKG_VERSION").to_string(), model, trained_on: None, check: None })
            }
        }
    }

    /// What `--model TEXT` names: a checkpoint (a file, a path whose card
    /// `TEXT.toml` and weights `TEXT.safetensors` both exist, or any name
    /// ending in `.toml`), else a shipped model, else a preset. A card
    /// without weights beside it (a training config named like a shipped
    /// model, say `configs/matrix-cpu.toml` seen from `configs/`) does not
    /// hide the shipped model.
    ///
    /// # Errors
    /// `TEXT` is none of them; the message lists the shipped models and presets.
    pub fn parse(text: &str) -> Result<ModelSource> {
        let path = PathBuf::from(text);
        let (card, weights) = (checkpoint::sibling(&path, "toml"), checkpoint::sibling(&path, "safetensors"));
        if path.is_file() || (card.is_file() && weights.is_file()) || text.ends_with(".toml") {
            return Ok(ModelSource::File(path));
        }
        if let Some(m) = named(text) {
            return Ok(ModelSource::Shipped(m.name));
        }
        if ModelConfig::preset(text).is_ok() {
            return Ok(ModelSource::Preset(text.to_string()));
        }
        Err(Error::bad_input(
            "--model",
            None,
            format!(
                "{text:?} names no checkpoint ({} and {} are not both there), no shipped model ({}) and no preset ({})",
                card.display(),
                weights.display(),
                shipped_names(),
                super::config::preset_names()
            ),
        ))
    }

    pub fn load<B: Backend>(&self, device: &B::Device) -> Result<(Policy<B>, ModelCard)> {
        match self {
            ModelSource::File(p) => checkpoint::load(p, device),
            ModelSource::Shipped(name) => {
                let m = shipped(name)?;
                let card = m.card()?;
                Ok((checkpoint::from_bytes(&card, Path::new(m.name), m.weights.to_vec(), device)?, card))
            }
            ModelSource::Auto => Err(Error::Failure("the automatic model choice depends on the instance: resolve it first".into())),
            ModelSource::Preset(_) => {
                let card = self.card()?;
                Ok((card.model.init(device), card))
            }
        }
    }
}

fn shipped(name: &str) -> Result<&'static Shipped> {
    named(name).ok_or_else(|| Error::bad_input(name, None, format!("no shipped model {name:?} (shipped: {})", shipped_names())))
}

/// The shipped models' names, comma-separated, for error messages.
fn shipped_names() -> String {
    ZOO.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}
