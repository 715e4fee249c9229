//! Checkpoints: `NAME.safetensors` (tensor names follow the module tree) and
//! `NAME.toml`, the model card (the model config and the lrm version; the
//! trainer adds what it knows). Both are written atomically. Weights are
//! stored as f32 whatever the backend, so a checkpoint saved on one backend
//! loads on any other.

use std::path::{Path, PathBuf};

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

use super::{ModelConfig, Policy};
use crate::error::{Error, Result};
use crate::problem::io::write_atomic;
use crate::problem::{Variant, Weights};

/// The model card beside the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub lrm_version: String,
    pub model: ModelConfig,
    /// What the trainer fed the model; `lrm solve` warns outside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_on: Option<TrainedOn>,
    /// A shipped model's re-measurable claim (`models/`), checked by the
    /// test suite against the weights beside the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CardCheck>,
}

impl ModelCard {
    /// Why `inst` lies outside what the model was trained on (size, variant,
    /// demand over capacity), one sentence each; empty when it does not or
    /// the card does not say.
    pub fn outside_training(&self, inst: &crate::problem::Instance) -> Vec<String> {
        let Some(t) = &self.trained_on else { return vec![] };
        let mut out = vec![];
        let n = inst.num_customers();
        if n < t.sizes[0] || n > t.sizes[1] {
            out.push(format!("{n} customers, outside the sizes the model was trained on ({}..={})", t.sizes[0], t.sizes[1]));
        }
        let variant = inst.variant.to_string();
        // A model trained on asymmetric matrices (ACVRP) reads any explicit
        // matrix, the symmetric ones of a CVRP file included: its variant is
        // covered. (Its training matrices were random, so a real symmetric
        // matrix may still be far from them; no warning measures that.)
        let on_matrix = matches!(inst.weights, Weights::Matrix(_));
        let general = Variant { asymmetric: true, ..inst.variant }.to_string();
        let seen = t.variants.is_empty() || t.variants.contains(&variant) || (on_matrix && t.variants.contains(&general));
        if !seen {
            out.push(format!("the model was not trained on {variant} (trained on {})", t.variants.join(", ")));
        }
        if let (Some(ratio), Some(max)) = (inst.max_demand_ratio(), t.max_demand_ratio) {
            if ratio > max {
                out.push(format!("largest demand / capacity {ratio:.3}, above the {max:.3} seen in training"));
            }
        }
        out
    }
}

/// The mean gap of a checkpoint on the first `instances` of a public
/// validation set, decoded with the card's decoder: greedy from every
/// customer, or LazyMask (300 backtracks) from the depot. A test
/// (`tests/model/zoo.rs`) re-measures it: a card that does not match its
/// weights within 0.2 points fails.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CardCheck {
    /// The set under `data/valsets` (`cvrp/50`), its reference the first
    /// `NAME_sol_*.npz` beside it.
    pub set: String,
    pub instances: usize,
    /// Mean gap in % over the instances solved.
    pub gap: f64,
    /// Share of the instances left without a feasible solution (0 to 1).
    pub infeasible: f64,
}

/// The training distribution, as far as `lrm solve` checks it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainedOn {
    /// Variant names (empty: not recorded).
    pub variants: Vec<String>,
    /// Smallest and largest number of customers.
    pub sizes: [usize; 2],
    /// Largest demand over capacity.
    pub max_demand_ratio: Option<f64>,
    /// Training steps and wall-clock seconds up to this checkpoint.
    #[serde(default)]
    pub steps: usize,
    #[serde(default)]
    pub wall_seconds: f64,
    /// Training instances seen, over every stretch.
    #[serde(default)]
    pub instances: u64,
    /// Coordinates the generator drew (uniform, clustered or mixed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<String>,
    /// The decoder validation used and `lrm solve` should use (`auto` resolves to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder: Option<String>,
    /// The last validation: score per set (mean gap %, or mean cost without references).
    #[serde(default)]
    pub validation: std::collections::BTreeMap<String, f64>,
    /// Every training stretch, oldest first (`lrm train --init` carries them on);
    /// `steps`, `instances` and `wall_seconds` above are their sums.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stretches: Vec<Stretch>,
}

impl TrainedOn {
    /// Nothing recorded.
    pub fn untrained() -> TrainedOn {
        TrainedOn {
            variants: vec![],
            sizes: [0, 0],
            max_demand_ratio: None,
            steps: 0,
            wall_seconds: 0.0,
            instances: 0,
            distribution: None,
            decoder: None,
            validation: Default::default(),
            stretches: vec![],
        }
    }

    /// The same history, the stretches that do not say which model they
    /// trained marked with `model`'s depth and mixed scores: a card's model
    /// before any growth.
    pub fn with_model(mut self, model: &ModelConfig) -> TrainedOn {
        for stretch in &mut self.stretches {
            stretch.n_layers.get_or_insert(model.n_layers);
            stretch.mixed_score.get_or_insert(model.mixed_score);
        }
        self
    }

    /// The history of a model trained as `self` describes, then by `next`
    /// (one stretch): stretches appended, totals summed, sizes and variants
    /// the union (what the model has seen), validation and distribution from
    /// `next`. A card written before stretches were recorded counts as one,
    /// its config and hardware marked "(unrecorded)".
    pub fn followed_by(self, next: TrainedOn) -> TrainedOn {
        let mut stretches = self.stretches.clone();
        if stretches.is_empty() && self.steps > 0 {
            stretches.push(Stretch {
                config: "(unrecorded)".into(),
                steps: self.steps,
                instances: self.instances,
                wall_seconds: self.wall_seconds,
                hardware: "(unrecorded)".into(),
                score: self.validation.get("score").copied(),
                n_layers: None,
                mixed_score: None,
            });
        }
        stretches.extend(next.stretches);
        let mut variants = self.variants;
        for v in next.variants {
            if !variants.contains(&v) {
                variants.push(v);
            }
        }
        TrainedOn {
            variants,
            sizes: [self.sizes[0].min(next.sizes[0]), self.sizes[1].max(next.sizes[1])],
            max_demand_ratio: match (self.max_demand_ratio, next.max_demand_ratio) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            steps: stretches.iter().map(|s| s.steps).sum(),
            instances: stretches.iter().map(|s| s.instances).sum(),
            wall_seconds: stretches.iter().map(|s| s.wall_seconds).sum(),
            distribution: next.distribution,
            decoder: next.decoder,
            validation: next.validation,
            stretches,
        }
    }
}

/// One training run from its start (fresh weights or `--init`) to this checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stretch {
    /// The config's file stem (the run directory's name for a resumed run).
    pub config: String,
    pub steps: usize,
    pub instances: u64,
    pub wall_seconds: f64,
    /// Where it ran: backend and processor.
    pub hardware: String,
    /// The validation score at its end (mean gap % over the sets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The encoder layers of the model it trained: a later stretch may grow
    /// the model deeper (`lrm train --init` with a larger `n_layers`,
    /// [`super::grow`]). Absent on stretches recorded before 2026-12-02.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_layers: Option<usize>,
    /// Whether the model it trained had MatNet's mixed scores: a later
    /// stretch may add them (`mixed_score = true` with `--init`,
    /// [`super::grow`]). Absent on stretches recorded before 2026-12-02.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixed_score: Option<bool>,
}

/// `path` with its extension replaced: `NAME.toml` and `NAME.safetensors` from
/// `NAME`, `NAME.toml` or `NAME.safetensors`.
pub(crate) fn sibling(path: &Path, extension: &str) -> PathBuf {
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml" | "safetensors") => path.with_extension(extension),
        _ => PathBuf::from(format!("{}.{extension}", path.display())),
    }
}

pub fn save<B: Backend>(policy: &Policy<B>, config: &ModelConfig, path: &Path) -> Result<()> {
    // One metadata key only: burn-store's default metadata is a HashMap, whose
    // order would make the same weights write different bytes.
    let mut store = SafetensorsStore::from_bytes(None).clear_metadata().metadata("lrm_version", env!("CARGO_PKG_VERSION"));
    policy.save_into(&mut store).map_err(|e| Error::Failure(format!("{}: cannot serialise the weights: {e}", path.display())))?;
    let bytes = store.get_bytes().map_err(|e| Error::Failure(format!("{}: cannot serialise the weights: {e}", path.display())))?;
    write_atomic(&sibling(path, "safetensors"), &bytes)?;
    let card = ModelCard { lrm_version: env!("CARGO_PKG_VERSION").to_string(), model: config.clone(), trained_on: None, check: None };
    let text = toml::to_string_pretty(&card).map_err(|e| Error::Failure(format!("cannot write the model card: {e}")))?;
    write_atomic(&sibling(path, "toml"), text.as_bytes())
}

/// Read a model card; errors name the file and say what is wrong.
pub fn read_card(path: &Path) -> Result<ModelCard> {
    let card_path = sibling(path, "toml");
    let text = std::fs::read_to_string(&card_path).map_err(|e| Error::bad_input(&card_path, None, format!("cannot read the model card: {e}")))?;
    parse_card(&card_path, &text)
}

/// A model card from its text (`origin` names it in errors).
pub fn parse_card(origin: &Path, text: &str) -> Result<ModelCard> {
    let bad = |e: toml::de::Error| Error::toml(origin, text, "not a model card: ", &e);
    let mut table: toml::Table = toml::from_str(text).map_err(bad)?;
    if let Some(toml::Value::Table(model)) = table.get_mut("model") {
        ModelConfig::fill_defaults(model);
    }
    let card: ModelCard = table.try_into().map_err(bad)?;
    card.model.validate().map_err(|e| Error::bad_input(origin, None, format!("model: {e}")))?;
    Ok(card)
}

/// Build the policy the card describes and load its weights. Weights that do
/// not fit the card (a missing tensor, another shape) are an error naming them.
pub fn load<B: Backend>(path: &Path, device: &B::Device) -> Result<(Policy<B>, ModelCard)> {
    let card = read_card(path)?;
    let weights = sibling(path, "safetensors");
    let bytes = std::fs::read(&weights).map_err(|e| Error::bad_input(&weights, None, format!("cannot read the weights: {e}")))?;
    Ok((from_bytes(&card, &weights, bytes, device)?, card))
}

/// The policy of `card` with the safetensors `bytes` (`origin` names them in errors).
pub fn from_bytes<B: Backend>(card: &ModelCard, origin: &Path, bytes: Vec<u8>, device: &B::Device) -> Result<Policy<B>> {
    let mut policy = card.model.init::<B>(device);
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    let applied = policy.load_from(&mut store).map_err(|e| Error::bad_input(origin, None, format!("weights do not match the model card: {e}")))?;
    if !applied.errors.is_empty() || !applied.missing.is_empty() {
        let mut problems: Vec<String> = applied.errors.iter().map(|e| format!("{e:?}")).collect();
        problems.extend(applied.missing.iter().map(|m| format!("missing {m:?}")));
        problems.truncate(5);
        return Err(Error::bad_input(origin, None, format!("weights do not match the model card: {}", problems.join("; "))));
    }
    Ok(policy)
}
