//! The training config (`lrm train --config NAME.toml`): plain data, every
//! field documented in `configs/mtvrp20-cpu.toml`, optionally written as its
//! changes to another (`extends`, [`super::extends`]). Unknown fields and bad
//! values are errors that name the field.

use std::path::{Path, PathBuf};

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::distributed::DistributedConfig;
use crate::error::{Error, Result};
use crate::model::ModelConfig;
use crate::problem::generate::city::{City, CitySampling};
use crate::problem::generate::{Distribution, GeneratorConfig, Hardness, Problem};
use crate::problem::Variant;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The file it was read from (not part of the TOML): its stem names the
    /// stretch in a model card.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    pub seed: u64,
    pub problem: ProblemConfig,
    pub model: ModelChoice,
    pub trainer: TrainerConfig,
    pub optimizer: OptimizerConfig,
    #[serde(default)]
    pub schedule: ScheduleConfig,
    pub batch: BatchConfig,
    pub run: RunConfig,
    #[serde(default)]
    pub validation: Vec<ValidationSet>,
    /// Data-parallel peers (devices, nodes); `lrm train`'s flags override it.
    #[serde(default, skip_serializing_if = "is_single")]
    pub distributed: DistributedConfig,
}

fn is_single(d: &DistributedConfig) -> bool {
    *d == DistributedConfig::default()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemConfig {
    /// Variant names; `["MIXED"]` for RouteFinder's 16-variant sampling.
    pub variants: Vec<String>,
    /// With MIXED: backhauls mixed (MB) rather than classic.
    #[serde(default)]
    pub mixed_backhaul: bool,
    /// uniform, clustered or mixed (LRM-1B's mixture).
    #[serde(default = "uniform")]
    pub distribution: String,
    /// TSPTW / TSPDL: easy, medium or hard, or a list of them
    /// (`["hard", "medium"]`): each batch draws one, like the variants.
    #[serde(default = "hard")]
    pub hardness: Hardnesses,
    /// Customers per instance, one size per batch: a list to draw from
    /// (`[20]`, `[50, 100]`) or a range (`{ min = 50, max = 200 }`).
    pub sizes: Sizes,
    /// Draw instances from road networks instead (RRNCO): a city file or a
    /// directory of them in RRNCO's layout, relative to the config, or
    /// synthetic cities (`{ synthetic = 8, seed = 1 }`, as `lrm city` builds
    /// them). The variants are then capacitated ones, MIXED or ATSP, on the
    /// cities' distance and duration matrices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cities: Option<CitySource>,
    /// With `cities`: `uniform` or `cluster` (RRNCO's sampling).
    #[serde(default = "uniform")]
    pub city_sampling: String,
}

/// Where training cities come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CitySource {
    /// A city file, or a directory of them.
    Files(PathBuf),
    /// `synthetic` cities of `points` points, seeded `seed, seed + 1, ...`
    /// ([`City::synthetic`]).
    Synthetic {
        synthetic: usize,
        seed: u64,
        #[serde(default = "city_points")]
        points: usize,
    },
}

fn city_points() -> usize {
    1000
}

/// One hardness name or a list of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Hardnesses {
    One(String),
    List(Vec<String>),
}

impl Hardnesses {
    /// The names, in the order given.
    pub fn names(&self) -> &[String] {
        match self {
            Hardnesses::One(name) => std::slice::from_ref(name),
            Hardnesses::List(names) => names,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Sizes {
    List(Vec<usize>),
    Range { min: usize, max: usize },
}

impl Sizes {
    /// The smallest and largest size.
    pub fn bounds(&self) -> [usize; 2] {
        match self {
            Sizes::List(l) => [l.iter().copied().min().unwrap_or(0), l.iter().copied().max().unwrap_or(0)],
            Sizes::Range { min, max } => [*min, *max],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelChoice {
    pub preset: String,
    /// Any field of the model config, overriding the preset's.
    #[serde(default)]
    pub overrides: toml::Table,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainerKind {
    Pomo,
    Supervised,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerConfig {
    pub kind: TrainerKind,
    /// POMO starts per instance; 0: every customer.
    #[serde(default)]
    pub starts: usize,
    /// Instead of POMO starts: this many rollouts per instance sampled from
    /// the depot, first step included (LMask's shared baseline over samples).
    #[serde(default)]
    pub samples: usize,
    /// Training-time x8 augmentation (1 or 8); the baseline spans starts and copies.
    #[serde(default = "one")]
    pub augment: usize,
    /// RouteFinder's per-variant reward normalisation: EMA weight (0: off).
    #[serde(default)]
    pub reward_ema: f64,
    /// Entropy bonus coefficient.
    #[serde(default)]
    pub entropy_bonus: f64,
    /// LMask's ρ_n: penalty per customer a rollout served late or overloaded
    /// (after a relaxed finish) or could not serve (a dead end).
    #[serde(default = "one_f")]
    pub penalty_per_customer: f64,
    /// LMask's ρ_c: penalty per unit of time-window or draft-limit overrun.
    #[serde(default = "one_f")]
    pub penalty_per_overrun: f64,
    /// LMask's training-time LazyMask: backtracks per rollout before it
    /// finishes relaxed (LMask's RIE training uses 15). Absent: plain masks.
    /// TSP-family problems only.
    #[serde(default)]
    pub backtrack_budget: Option<usize>,
    /// Supervised: labelled solutions (an npz dataset with an `actions` reference).
    #[serde(default)]
    pub labels: Option<LabelSource>,
    /// Supervised, without labels: make them with the policy being trained.
    #[serde(default)]
    pub self_improvement: Option<SelfImprovement>,
}

/// Self-improvement: every `every` steps, generate `instances` fresh
/// instances, solve them with the current policy (greedy POMO multi-start x8,
/// then `rrc_rounds` rounds of RRC), and train on the best solutions found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfImprovement {
    pub instances: usize,
    pub every: usize,
    #[serde(default)]
    pub rrc_rounds: usize,
}

impl TrainerConfig {
    /// POMO from every customer, no augmentation, no normalisation or bonus:
    /// what benchmarks time.
    pub fn pomo() -> Self {
        TrainerConfig {
            kind: TrainerKind::Pomo,
            starts: 0,
            samples: 0,
            augment: 1,
            reward_ema: 0.0,
            entropy_bonus: 0.0,
            penalty_per_customer: 1.0,
            penalty_per_overrun: 1.0,
            backtrack_budget: None,
            labels: None,
            self_improvement: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSource {
    /// An npz dataset (with `reference`), or a directory of instance files
    /// (VRPLIB, TSPLIB, Solomon), each with its solution beside it as `NAME.sol`.
    pub data: PathBuf,
    /// The npz reference with `actions`.
    #[serde(default)]
    pub reference: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adam,
    AdamW,
    Adafactor,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    pub lr: f64,
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default = "epsilon")]
    pub epsilon: f64,
    /// Global gradient-norm clipping (0: off).
    #[serde(default)]
    pub clip_norm: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    #[default]
    Constant,
    Step,
    Cosine,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    #[serde(default)]
    pub kind: ScheduleKind,
    /// Step: epochs at which the rate is multiplied by `gamma`.
    #[serde(default)]
    pub milestones: Vec<usize>,
    #[serde(default)]
    pub gamma: f64,
    /// Linear warm-up from 0 over this many steps.
    #[serde(default)]
    pub warmup_steps: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Instances per step at `reference_size` customers.
    pub size: usize,
    /// LRM-1B's dynamic batch: `size * reference_size / n` at n customers.
    #[serde(default)]
    pub reference_size: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub epochs: usize,
    pub instances_per_epoch: usize,
    /// Steps between checkpoints (`latest`).
    pub checkpoint_every: usize,
    /// Steps between validations (0: only at the end).
    #[serde(default)]
    pub validate_every: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSet {
    pub data: PathBuf,
    /// Reference costs; without them the mean cost is tracked instead of a gap.
    #[serde(default)]
    pub reference: Option<PathBuf>,
}

fn uniform() -> String {
    "uniform".into()
}
fn hard() -> Hardnesses {
    Hardnesses::One("hard".into())
}
fn one() -> usize {
    1
}
fn one_f() -> f64 {
    1.0
}
fn epsilon() -> f64 {
    1e-8
}

impl TrainConfig {
    /// Read and check a config; paths in it are relative to the config file
    /// (and absolute once read, so the config as run works from anywhere).
    pub fn read(path: &Path) -> Result<TrainConfig> {
        Self::read_with(path, true)
    }

    /// [`Self::read`], or without its validation sets (`validation =
    /// false`: a data-parallel node other than node 0, which never
    /// validates and need not hold the files).
    pub fn read_with(path: &Path, validation: bool) -> Result<TrainConfig> {
        let text = crate::problem::io::read_text(path)?;
        let mut config = TrainConfig::parse(path, &text)?;
        if !validation {
            config.validation.clear();
        }
        config.source = Some(path.to_path_buf());
        let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let locate = |field: &str, p: &Path| -> Result<PathBuf> {
            base.join(p)
                .canonicalize()
                .map_err(|e| Error::bad_input(path, None, format!("{field} = {:?}: {e} (paths are relative to the config file)", p.display())))
        };
        if let Some(CitySource::Files(c)) = &mut config.problem.cities {
            *c = locate("problem.cities", c)?;
        }
        for v in &mut config.validation {
            v.data = locate("validation.data", &v.data)?;
            v.reference = v.reference.as_ref().map(|r| locate("validation.reference", r)).transpose()?;
        }
        if let Some(l) = &mut config.trainer.labels {
            l.data = locate("trainer.labels.data", &l.data)?;
            l.reference = l.reference.as_ref().map(|r| locate("trainer.labels.reference", r)).transpose()?;
        }
        config.validate().map_err(|e| Error::bad_input(path, None, e))?;
        Ok(config)
    }

    /// The config in `text` (read from `path`, named in errors) over the
    /// configs it extends ([`super::extends`]), its values checked but its
    /// paths not yet resolved.
    pub fn parse(path: &Path, text: &str) -> Result<TrainConfig> {
        let (config, chain): (TrainConfig, _) = match super::extends::resolve(path, text)? {
            None => (toml::from_str(text).map_err(|e| Error::toml(path, text, "", &e))?, None),
            Some(merged) => (merged.deserialize()?, Some(merged.chain())),
        };
        config.validate().map_err(|e| match chain {
            None => Error::bad_input(path, None, e),
            Some(chain) => Error::bad_input(path, None, format!("{e} (read as {chain})")),
        })?;
        Ok(config)
    }

    /// Every value checked; the message names the field.
    pub fn validate(&self) -> std::result::Result<(), String> {
        // The settings across nodes are checked with the flags laid over them (`launch`).
        self.distributed.device_specs()?;
        self.generators()?;
        self.model_config()?;
        let p = &self.problem;
        let [lo, hi] = p.sizes.bounds();
        if lo == 0 || hi < lo {
            return Err("problem.sizes: give positive numbers of customers (a list, or { min, max } with min <= max)".into());
        }
        if ![1, 8].contains(&self.trainer.augment) {
            return Err(format!("trainer.augment = {}: expected 1 or 8", self.trainer.augment));
        }
        if !(0.0..=1.0).contains(&self.trainer.reward_ema) {
            return Err(format!("trainer.reward_ema = {}: expected a weight in [0, 1]", self.trainer.reward_ema));
        }
        let t = &self.trainer;
        if t.kind == TrainerKind::Supervised && t.labels.is_some() == t.self_improvement.is_some() {
            return Err("trainer: the supervised trainer needs either labels (data and reference) or self_improvement, not both".into());
        }
        if t.samples > 0 && t.starts > 0 {
            return Err("trainer: starts and samples exclude each other (POMO starts, or rollouts sampled from the depot)".into());
        }
        if t.penalty_per_customer < 0.0 || t.penalty_per_overrun < 0.0 {
            return Err("trainer: penalty_per_customer and penalty_per_overrun must be >= 0".into());
        }
        let single_tour = |name: &String| name.parse::<Variant>().is_ok_and(|v| v.is_tsp());
        if t.backtrack_budget.is_some() && (t.kind != TrainerKind::Pomo || !p.variants.iter().all(single_tour)) {
            return Err("trainer.backtrack_budget: LMask's training-time LazyMask is for the pomo trainer on TSP-family variants (TSPTW, TSPDL, TSP)".into());
        }
        if t.self_improvement.as_ref().is_some_and(|s| s.instances == 0 || s.every == 0) {
            return Err("trainer.self_improvement: instances and every must be positive".into());
        }
        let o = &self.optimizer;
        if !(o.lr > 0.0 && o.lr.is_finite()) {
            return Err(format!("optimizer.lr = {}: expected a positive rate", o.lr));
        }
        if o.weight_decay < 0.0 || o.epsilon <= 0.0 || o.clip_norm < 0.0 {
            return Err("optimizer: weight_decay and clip_norm must be >= 0, epsilon > 0".into());
        }
        let s = &self.schedule;
        if s.kind == ScheduleKind::Step && (s.milestones.is_empty() || s.gamma <= 0.0 || s.gamma.is_nan()) {
            return Err("schedule: a step schedule needs milestones (epochs) and a positive gamma".into());
        }
        if self.batch.size == 0 {
            return Err("batch.size: must be positive".into());
        }
        let r = &self.run;
        if r.epochs == 0 || r.instances_per_epoch == 0 || r.checkpoint_every == 0 {
            return Err("run: epochs, instances_per_epoch and checkpoint_every must be positive".into());
        }
        Ok(())
    }

    /// The generator of each configured variant (one for MIXED) and
    /// hardness; a batch draws one of them.
    pub fn generators(&self) -> std::result::Result<Vec<GeneratorConfig>, String> {
        let p = &self.problem;
        let distribution: Distribution = p.distribution.parse().map_err(|e| format!("problem.distribution: {e}"))?;
        let hardnesses =
            p.hardness.names().iter().map(|h| h.parse::<Hardness>().map_err(|e| format!("problem.hardness: {e}"))).collect::<Result<Vec<_>, _>>()?;
        if p.variants.is_empty() {
            return Err("problem.variants: name at least one variant, or MIXED".into());
        }
        if hardnesses.is_empty() {
            return Err("problem.hardness: name at least one of easy, medium, hard".into());
        }
        let mut generators = vec![];
        for name in &p.variants {
            let problem = if name.eq_ignore_ascii_case("mixed") {
                Problem::Mixed { mixed_backhaul: p.mixed_backhaul }
            } else {
                Problem::Variant(name.parse::<Variant>().map_err(|e| format!("problem.variants: {e}"))?)
            };
            for &hardness in &hardnesses {
                let g = GeneratorConfig { problem, distribution, hardness, asymmetric: false };
                g.validate().map_err(|e| format!("problem: {e}"))?;
                generators.push(g);
            }
        }
        Ok(generators)
    }

    /// The cities to draw training instances from, read, with their
    /// sampling; `None` for generated coordinates.
    pub fn cities(&self) -> Result<Option<(Vec<City>, CitySampling)>> {
        let Some(source) = &self.problem.cities else { return Ok(None) };
        let sampling =
            self.problem.city_sampling.parse::<CitySampling>().map_err(|e| Error::bad_input("config", None, format!("problem.city_sampling: {e}")))?;
        let cities = match source {
            CitySource::Files(path) => City::read_all(path)?,
            CitySource::Synthetic { synthetic: 0, .. } => return Err(Error::bad_input("config", None, "problem.cities.synthetic: give at least one city")),
            CitySource::Synthetic { synthetic, seed, points } => (0..*synthetic as u64).map(|k| City::synthetic(seed + k, *points)).collect(),
        };
        Ok(Some((cities, sampling)))
    }

    /// The preset with the overrides applied.
    pub fn model_config(&self) -> std::result::Result<ModelConfig, String> {
        let preset = ModelConfig::preset(&self.model.preset).map_err(|e| format!("model.preset: {e}"))?;
        let mut table = toml::Table::try_from(&preset).map_err(|e| format!("model: {e}"))?;
        for (key, value) in &self.model.overrides {
            if !table.contains_key(key) {
                return Err(format!("model.overrides.{key}: not a model field (fields: {})", table.keys().cloned().collect::<Vec<_>>().join(", ")));
            }
            table.insert(key.clone(), value.clone());
        }
        let config: ModelConfig = table.try_into().map_err(|e: toml::de::Error| format!("model.overrides: {}", e.message()))?;
        config.validate().map_err(|e| format!("model: {e}"))?;
        Ok(config)
    }

    /// Instances per step at `n` customers.
    pub fn batch_size(&self, n: usize) -> usize {
        match self.batch.reference_size {
            Some(reference) => (self.batch.size * reference / n.max(1)).max(1),
            None => self.batch.size,
        }
    }

    /// The size of step `step`'s batch, drawn from the configured list.
    pub fn size_at(&self, rng: &mut impl Rng) -> usize {
        match &self.problem.sizes {
            Sizes::List(l) => l[rng.random_range(0..l.len())],
            Sizes::Range { min, max } => rng.random_range(*min..=*max),
        }
    }
}
