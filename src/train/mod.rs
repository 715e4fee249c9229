//! Training: a config, a run directory, a loop of steps.
//!
//! Every step draws its batch and its sampling from a random stream fixed by
//! (seed, step), and everything else a step depends on (weights, optimizer
//! state, reward averages) is in the checkpoint, so a run resumed from step N
//! continues exactly as the uninterrupted run would have (on the CPU).

mod card;
pub mod config;
pub mod curve;
pub mod distributed;
pub mod extends;
pub mod launch;
pub mod optim;
mod progress_plot;
pub mod reinforce;
pub mod run_dir;
pub mod supervised;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::optim::GradientsParams;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};
use rand::SeedableRng;

use crate::decode::sampling::Rng;
use crate::decode::{self, DecodeOptions, Starts, Strategy};
use crate::error::{Error, Result};
use crate::eval::{Dataset, Score};
use crate::model::checkpoint::{self, TrainedOn};
use crate::model::grow;
use crate::model::{with_seed, ModelConfig, Policy};
use crate::problem::generate::city::{self, City, CitySampling};
use crate::problem::generate::GeneratorConfig;
use crate::problem::io::write_atomic;
use crate::problem::Instance;
use card::variant_names;
use config::{TrainConfig, TrainerKind};
use distributed::{Peer, Team};
use optim::{clip_global_norm, learning_rate, Optim};
use run_dir::{Metrics, RunDir, TrainState};

/// Non-finite steps in a row after which the last checkpoint is restored.
const ROLLBACK_AFTER: usize = 3;

/// Where a run's weights come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    /// Fresh weights drawn from the config's seed.
    Fresh,
    /// The last checkpoint of the run directory, with its optimizer state.
    Resume,
    /// A model checkpoint (`NAME.toml` + `NAME.safetensors`, e.g. a shipped
    /// model): its weights, a new optimizer, and its card's training history
    /// carried on into this run's cards.
    Init(std::path::PathBuf),
}

/// The card a run started from (`--init`), kept in the run directory so a
/// resumed run still knows it.
const INIT_CARD: &str = "init.toml";

/// What one step did.
#[derive(Clone, Debug, PartialEq)]
pub enum StepOutcome {
    Applied {
        loss: f64,
        grad_norm: f64,
        lr: f64,
    },
    /// Loss or gradient not finite: nothing applied.
    Skipped {
        why: String,
    },
}

pub struct Trainer<B: AutodiffBackend> {
    pub config: TrainConfig,
    pub model: ModelConfig,
    pub policy: Policy<B>,
    optim: Optim<B>,
    pub state: TrainState,
    generators: Vec<GeneratorConfig>,
    /// Road networks the generators' problems are drawn from (RRNCO), when configured.
    cities: Option<(Vec<City>, CitySampling)>,
    validation: Vec<Dataset>,
    labels: Option<supervised::Labels>,
    last_validation: BTreeMap<String, f64>,
    /// The run directory and its metrics: the root's alone (one device, or peer 0).
    records: Option<(RunDir, Metrics)>,
    device: B::Device,
    bad_steps: usize,
    /// The training history of the model this run started from (`Start::Init`).
    prior: Option<TrainedOn>,
    /// This trainer's place among data-parallel peers (none on one device).
    peer: Option<Peer>,
}

type Bytes = NamedMpkBytesRecorder<FullPrecisionSettings>;

impl<B: AutodiffBackend> Trainer<B> {
    /// A run in `root`: a new one (`Fresh` or `Init`), or the continuation
    /// of the one there (`Resume`).
    ///
    /// # Errors
    /// A run directory that already holds a run (unless resuming) or holds
    /// none (when resuming); an `Init` checkpoint that cannot be read, whose
    /// model differs from the config's (the differing fields named) other
    /// than by more encoder layers or added mixed scores, or that cannot grow
    /// (the reason, [`grow::refusal`]).
    pub fn new(config: TrainConfig, root: &Path, start: Start, device: &B::Device) -> Result<Self> {
        let model = config.model_config().map_err(|e| Error::bad_input("config", None, e))?;
        let generators = config.generators().map_err(|e| Error::bad_input("config", None, e))?;
        let cities = config.cities()?;
        if let Some((cities, sampling)) = &cities {
            check_cities(cities, *sampling, &generators, config.problem.sizes.bounds()[1])?;
        }
        let run = RunDir::create(root)?;
        let latest = run.latest()?;
        let (policy, optim, mut state) = match (&start, latest) {
            (Start::Resume, Some(dir)) => Self::load(&model, &config, &dir, device)?,
            (Start::Resume, None) => return Err(Error::bad_input(root, None, "no checkpoint to resume from in this run directory")),
            (_, Some(_)) => {
                return Err(Error::bad_input(root, None, "this run directory already holds a run: pass --resume to continue it, or choose another --out"))
            }
            (Start::Fresh, None) => {
                let policy = model.init_seeded::<B>(config.seed, device);
                write_config(&run, &config)?;
                (policy, Optim::new(&config.optimizer), TrainState { config_name: config_name(&config), ..TrainState::default() })
            }
            (Start::Init(path), None) => Self::init(path, &model, &config, &run, device)?,
        };
        state.hardware = Some(card::trained_on_so_far(state.hardware.take(), state.step, card::hardware::<B>(device)));
        let prior = match run.path(INIT_CARD) {
            p if p.exists() => {
                let card = checkpoint::read_card(&p)?;
                card.trained_on.map(|t| t.with_model(&card.model))
            }
            _ => None,
        };
        let validation = load_validation(&config)?;
        let labels = match (&config.trainer.labels, run.latest()?) {
            (Some(source), _) => Some(supervised::Labels::read(source)?),
            (None, Some(dir)) if state.labels_round.is_some() => {
                Some(supervised::Labels::read_files(&dir.join("labels.npz"), &dir.join("labels_sol_lrm.npz"))?)
            }
            _ => None,
        };
        let metrics = Metrics::open(run.path("metrics.csv"), metric_columns(&generators, cities.is_some(), &validation), state.step)?;
        Ok(Trainer {
            config,
            model,
            policy,
            optim,
            state,
            generators,
            cities,
            validation,
            labels,
            last_validation: BTreeMap::new(),
            records: Some((run, metrics)),
            device: device.clone(),
            bad_steps: 0,
            prior,
            peer: None,
        })
    }

    /// A run from the checkpoint at `path` (`--init`): its weights, grown
    /// when the config's model is deeper or adds mixed scores, a new
    /// optimizer, and its card kept in the run as [`INIT_CARD`]. The batch
    /// stream goes on after the steps the card has trained.
    fn init(path: &Path, model: &ModelConfig, config: &TrainConfig, run: &RunDir, device: &B::Device) -> Result<(Policy<B>, Optim<B>, TrainState)> {
        let (policy, card) = checkpoint::load::<B>(path, device)?;
        let policy =
            if card.model == *model { policy } else { grown(policy, &card.model, model, config.seed, device).map_err(|e| Error::bad_input(path, None, e))? };
        let text = toml::to_string_pretty(&card).map_err(|e| Error::Failure(format!("cannot write the model card: {e}")))?;
        write_atomic(&run.path(INIT_CARD), text.as_bytes())?;
        write_config(run, config)?;
        let first_stream = card.trained_on.as_ref().map_or(0, |t| t.steps as u64);
        Ok((policy, Optim::new(&config.optimizer), TrainState { first_stream, config_name: config_name(config), ..TrainState::default() }))
    }

    /// Peer 0, or the only trainer of a run: the one that writes it.
    pub fn is_root(&self) -> bool {
        self.peer.as_ref().is_none_or(Peer::is_root)
    }

    fn load(model: &ModelConfig, config: &TrainConfig, dir: &Path, device: &B::Device) -> Result<(Policy<B>, Optim<B>, TrainState)> {
        let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| Error::reading(dir.join(name), e));
        let record = Recorder::<B>::load(&Bytes::default(), read("module.mpk")?, device)
            .map_err(|e| Error::bad_input(dir.join("module.mpk"), None, format!("does not fit the config's model: {e}")))?;
        let fresh = model.init::<B>(device);
        let expected = fresh.num_params();
        // A record lacking an optional block (mixed scores) loads as a model without it: count.
        let policy = fresh.load_record(record);
        if policy.num_params() != expected {
            let message = format!(
                "holds {} parameters, the config's model {expected}: the run was started with another model (a preset that has gained a block since, such as radar's mixed scores); set the run's config.toml [model.overrides] to the model its checkpoints hold (mixed_score = false)",
                policy.num_params()
            );
            return Err(Error::bad_input(dir.join("module.mpk"), None, message));
        }
        let optim = Optim::new(&config.optimizer).from_bytes(read("optim.mpk")?, device)?;
        Ok((policy, optim, RunDir::read_state(dir)?))
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.config.run.instances_per_epoch.div_ceil(self.config.batch.size)
    }

    pub fn total_steps(&self) -> usize {
        self.config.run.epochs * self.steps_per_epoch()
    }

    /// The random stream of step `step`: the same on every run with this
    /// seed and starting point ([`TrainState::first_stream`]).
    fn step_rng(&self, step: usize) -> Rng {
        let mut rng = Rng::seed_from_u64(self.config.seed);
        rng.set_stream(self.state.first_stream + step as u64 + 1);
        rng
    }

    /// Step `step`'s instances: one size, one generator, fresh instances
    /// (a run started with `--init` continues the stream after the steps
    /// its model has trained).
    pub fn batch(&self, step: usize, rng: &mut Rng) -> Vec<Instance> {
        let n = self.config.size_at(rng);
        let g = &self.generators[rand::Rng::random_range(rng, 0..self.generators.len())];
        let seed = self.config.seed.wrapping_mul(1_000_003).wrapping_add(self.state.first_stream + step as u64);
        match &self.cities {
            Some((cities, sampling)) => {
                city::generate(cities, g.problem, n, self.config.batch_size(n), seed, *sampling).expect("every size and problem was drawn once at the start")
            }
            None => g.generate(n, self.config.batch_size(n), seed),
        }
    }

    /// One training step: loss, then [`Self::optimise`].
    pub fn train_step(&mut self) -> Result<(StepOutcome, reinforce::BatchStats, usize)> {
        let mut rng = self.step_rng(self.state.step);
        if self.config.trainer.kind == TrainerKind::Supervised {
            self.improve_labels()?;
        }
        let team = Team::of(self.peer.as_ref(), &self.device);
        let (loss, stats, count) = match self.config.trainer.kind {
            TrainerKind::Pomo => {
                let instances = self.batch(self.state.step, &mut rng);
                let (loss, stats) =
                    reinforce::pomo_loss(&self.policy, &self.model, &self.config.trainer, &instances, &mut self.state.normaliser, &mut rng, &team)?;
                self.state.instances += instances.len() as u64;
                (loss, stats, instances.len())
            }
            TrainerKind::Supervised => {
                let labels = self.labels.as_ref().expect("validated: supervised runs have labels");
                let (loss, count) = supervised::loss(&self.policy, &self.model, labels, self.config.batch.size, self.state.step, &team)?;
                self.state.instances += count as u64;
                (loss, reinforce::BatchStats::default(), count)
            }
        };
        Ok((self.optimise(loss)?, stats, count))
    }

    /// Self-improvement: new labels when a round begins (or none are held).
    /// Data-parallel peers all take the root's labels, made by the root
    /// (or read from its checkpoint when resuming), whenever any peer
    /// lacks the round's.
    fn improve_labels(&mut self) -> Result<()> {
        let Some(si) = self.config.trainer.self_improvement.clone() else { return Ok(()) };
        let round = self.state.step / si.every;
        let current = self.labels.is_some() && self.state.labels_round == Some(round);
        let team = Team::<B>::of(self.peer.as_ref(), &self.device);
        if team.sum(vec![f64::from(u8::from(!current))], "whether labels are needed")?[0] == 0.0 {
            return Ok(());
        }
        if !current && self.is_root() {
            self.make_labels(round, &si)?;
        }
        if let Some(peer) = &self.peer {
            let root = self.labels.as_ref().filter(|_| peer.is_root()).map(supervised::Labels::to_bytes).transpose()?;
            let (data, reference) = root.unzip();
            let data = peer.broadcast::<B>(data, "the root's labels", &self.device)?;
            let reference = peer.broadcast::<B>(reference, "the root's labels", &self.device)?;
            if !peer.is_root() {
                self.labels = Some(supervised::Labels::from_bytes(&data, &reference)?);
            }
            self.state.labels_round = Some(round);
        }
        Ok(())
    }

    /// The labels of self-improvement round `round`: fresh instances solved by the policy.
    fn make_labels(&mut self, round: usize, si: &config::SelfImprovement) -> Result<()> {
        let mut rng = self.step_rng(self.state.step);
        let n = self.config.size_at(&mut rng);
        let g = &self.generators[round % self.generators.len()];
        let seed = self.config.seed.wrapping_mul(7_919).wrapping_add(round as u64);
        let labels = supervised::Labels::made_by(&self.policy.valid(), &self.model, g, n, si.instances, seed, si.rrc_rounds, &self.device)?;
        if labels.instances.is_empty() {
            return Err(Error::Failure(format!("self-improvement round {round}: the policy found no feasible solution for any of {} instances", si.instances)));
        }
        tracing::info!("self-improvement round {round}: {} labelled instances", labels.instances.len());
        (self.labels, self.state.labels_round) = (Some(labels), Some(round));
        Ok(())
    }

    /// Apply one loss: backward, global-norm clipping, the optimizer. A loss or
    /// gradient that is not finite skips the step (logged); after
    /// `ROLLBACK_AFTER` such steps in a row the last checkpoint's weights and
    /// optimizer state come back (on one device; data-parallel peers stop
    /// with an error instead, the root's checkpoint intact). Data-parallel
    /// peers add their losses and gradients before anything is decided, so
    /// that all take the same branch.
    ///
    /// # Errors
    /// A checkpoint that cannot be read back; Burn's collective failing.
    pub fn optimise(&mut self, loss: Tensor<B, 1>) -> Result<StepOutcome> {
        let step = self.state.step;
        self.state.step += 1;
        let value = loss.clone().into_scalar().elem::<f64>();
        let value = Team::<B>::of(self.peer.as_ref(), &self.device).sum(vec![value], "the loss")?[0];
        let mut outcome = StepOutcome::Skipped { why: format!("loss is {value}") };
        if value.is_finite() {
            let mut grads = GradientsParams::from_grads(loss.backward(), &self.policy);
            if let Some(peer) = &self.peer {
                grads = peer.sum_gradients(&self.policy, grads, &self.device)?;
            }
            let (policy, norm) = clip_global_norm(self.policy.clone(), &mut grads, self.config.optimizer.clip_norm);
            if norm.is_finite() {
                let lr = learning_rate(self.config.optimizer.lr, &self.config.schedule, step, self.steps_per_epoch(), self.total_steps());
                self.policy = self.optim.step(lr, policy, grads);
                self.bad_steps = 0;
                return Ok(StepOutcome::Applied { loss: value, grad_norm: norm, lr });
            }
            outcome = StepOutcome::Skipped { why: format!("gradient norm is {norm}") };
        }
        self.bad_steps += 1;
        tracing::warn!("step {step} skipped: {outcome:?}");
        if self.bad_steps >= ROLLBACK_AFTER && self.peer.is_some() {
            return Err(Error::Failure(format!(
                "{} steps in a row had a loss or gradient that is not finite (up to step {}): the last checkpoint is intact; continue from it with lrm train --resume RUN_DIR",
                self.bad_steps, self.state.step
            )));
        }
        if self.bad_steps >= ROLLBACK_AFTER {
            if let Some(dir) = self.records.as_ref().map(|(run, _)| run.latest()).transpose()?.flatten() {
                tracing::warn!("{} bad steps in a row: back to the weights of {}", self.bad_steps, dir.display());
                let (policy, optim, _) = Self::load(&self.model, &self.config, &dir, &self.device)?;
                (self.policy, self.optim, self.bad_steps) = (policy, optim, 0);
            }
        }
        Ok(outcome)
    }

    /// The validation score of every set (mean gap in %, or mean cost without
    /// references, over the instances solved feasibly), the share it left
    /// infeasible (`NAME_infeasible`), and their mean (`score`, in which an
    /// infeasible instance weighs as a 100% gap). Decoding as the trainer
    /// rolls out: greedy POMO multi-start, or greedy from the depot for
    /// `samples`, under LazyMask when training backtracks. LazyMask gets
    /// `lrm eval`'s budget (300 backtracks, as LMask tests), not the
    /// training's few: with the training's 15, instances that 300 backtracks
    /// solve counted as 100% gaps, and a TSPTW run's score swung by points
    /// between validations on that alone.
    pub fn validate(&self) -> Result<BTreeMap<String, f64>> {
        let policy = self.policy.valid();
        let t = &self.config.trainer;
        let options = DecodeOptions {
            starts: if t.samples > 0 { Starts::One } else { Starts::All },
            strategy: if t.backtrack_budget.is_some() { Strategy::LazyMask } else { Strategy::Greedy },
            ..DecodeOptions::default()
        };
        let mut scores = BTreeMap::new();
        let mut total = 0.0;
        for v in &self.validation {
            let outcomes = decode::solve(&policy, &self.model, &v.instances, &options, &self.device)?;
            let score = Score::of(&outcomes, v.reference.as_deref(), &(0..outcomes.len()).collect::<Vec<_>>());
            let (mean, infeasible) = (score.value().unwrap_or(f64::NAN), score.infeasible());
            total += if score.solved == 0 { 100.0 } else { mean * (1.0 - infeasible) + 100.0 * infeasible };
            scores.insert(v.name(), mean);
            scores.insert(format!("{}_infeasible", v.name()), infeasible);
        }
        if !self.validation.is_empty() {
            scores.insert("score".into(), total / self.validation.len() as f64);
        }
        Ok(scores)
    }

    /// Write a checkpoint and make it current; with a better `score`, also
    /// `best`. Only the root writes; other peers do nothing. It writes under
    /// [`run_dir::checkpoint_lock`], which must not be held already (the lock
    /// is not reentrant).
    pub fn checkpoint(&mut self, score: Option<f64>) -> Result<()> {
        let Some((run, _)) = &self.records else { return Ok(()) };
        let _writing = run_dir::checkpoint_lock();
        let dir = run.checkpoint_dir(self.state.step)?;
        let inner = self.policy.valid();
        checkpoint::save(&inner, &self.model, &dir.join("model"))?;
        self.write_card(&dir.join("model.toml"))?;
        let module = Recorder::<B>::record(&Bytes::default(), self.policy.clone().into_record(), ())
            .map_err(|e| Error::Failure(format!("cannot serialise the module: {e}")))?;
        write_atomic(&dir.join("module.mpk"), &module)?;
        write_atomic(&dir.join("optim.mpk"), &self.optim.to_bytes()?)?;
        if let (Some(labels), Some(_)) = (&self.labels, self.state.labels_round) {
            labels.write(&dir.join("labels.npz"), &dir.join("labels_sol_lrm.npz"))?;
        }
        let better = score.is_some_and(|s| self.state.best_score.is_none_or(|b| s < b));
        if better {
            self.state.best_score = score;
        }
        RunDir::write_state(&dir, &self.state)?;
        let Some((run, _)) = &self.records else { return Ok(()) };
        run.commit(&dir)?;
        run.publish(&dir, "latest")?;
        if better {
            run.publish(&dir, "best")?;
        }
        Ok(())
    }

    /// Train until the configured number of steps, or until `stop` is set
    /// (Ctrl-C), then checkpoint. Metrics, curves and a progress bar on the way.
    pub fn run(&mut self, stop: &AtomicBool, progress: bool) -> Result<()> {
        let total = self.total_steps();
        let bar = self.progress_bar(progress, total);
        let started = Instant::now();
        let wall_before = self.state.wall_seconds;
        let mut stopped = false;
        while self.state.step < total {
            if self.agree_to_stop(stop.load(Ordering::SeqCst))? {
                stopped = true;
                break;
            }
            let t = Instant::now();
            let (outcome, stats, count) = self.train_step()?;
            self.state.wall_seconds = wall_before + started.elapsed().as_secs_f64();
            let per_second = count as f64 / t.elapsed().as_secs_f64();
            let mut row = self.step_row(&outcome, &stats, per_second);
            if let StepOutcome::Applied { loss, .. } = outcome {
                let infeasible = if stats.infeasible > 0.0 { format!("  infeasible {:.1}%", 100.0 * stats.infeasible) } else { String::new() };
                bar.set_message(format!("loss {loss:.4}  reward {:.4}{infeasible}  {per_second:.1} inst/s", stats.mean_reward));
            }
            let validate_now = self.config.run.validate_every > 0 && self.state.step.is_multiple_of(self.config.run.validate_every);
            let last = self.state.step == total;
            let mut score = None;
            if (validate_now || last) && !self.validation.is_empty() {
                let scores = self.validate()?;
                score = scores.get("score").copied();
                self.last_validation = scores.clone();
                row.extend(scores.into_iter().map(|(k, v)| (if k == "score" { "val_score".into() } else { format!("val_{k}") }, v)));
            }
            if let Some((_, metrics)) = &mut self.records {
                metrics.append(&row)?;
            }
            bar.set_position(self.state.step as u64);
            if self.state.step.is_multiple_of(self.config.run.checkpoint_every) || last || score.is_some() {
                self.checkpoint(score)?;
                self.plot_or_warn();
            }
        }
        if stopped {
            self.checkpoint(None)?;
            self.plot_or_warn();
            bar.abandon_with_message(format!("stopped at step {}; resume with --resume", self.state.step));
        } else {
            bar.finish();
        }
        Ok(())
    }

    /// A bar of the run's steps from the current one, hidden unless asked
    /// for and on the root.
    fn progress_bar(&self, progress: bool, total: usize) -> indicatif::ProgressBar {
        let bar = if progress && self.is_root() { indicatif::ProgressBar::new(total as u64) } else { indicatif::ProgressBar::hidden() };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  [{elapsed_precise} < {eta_precise}]").expect("a valid template"),
        );
        bar.set_position(self.state.step as u64);
        bar
    }

    /// The metrics of the step just taken, by column (validation's are
    /// added when it runs); loss, gradient norm and rate only when the step
    /// was applied.
    fn step_row(&self, outcome: &StepOutcome, stats: &reinforce::BatchStats, per_second: f64) -> BTreeMap<String, f64> {
        let mut row = BTreeMap::from([
            ("step".to_string(), self.state.step as f64),
            ("epoch".to_string(), ((self.state.step - 1) / self.steps_per_epoch()) as f64),
            ("instances".to_string(), self.state.instances as f64),
            ("reward".to_string(), stats.mean_reward),
            ("infeasible".to_string(), stats.infeasible),
            ("instances_per_s".to_string(), per_second),
            ("wall_s".to_string(), self.state.wall_seconds),
        ]);
        row.extend(stats.reward.iter().map(|(v, r)| (format!("reward_{v}"), *r)));
        if let StepOutcome::Applied { loss, grad_norm, lr } = *outcome {
            row.extend([("loss".to_string(), loss), ("grad_norm".to_string(), grad_norm), ("lr".to_string(), lr)]);
        }
        row
    }

    /// Whether to stop before the next step: when asked (Ctrl-C), on any
    /// peer, so that all stop after the same step.
    fn agree_to_stop(&self, asked: bool) -> Result<bool> {
        Ok(Team::<B>::of(self.peer.as_ref(), &self.device).sum(vec![f64::from(u8::from(asked))], "the stop signal")?[0] > 0.0)
    }
}

/// The stem of the file `config` was read from, if it was read from one.
fn config_name(config: &TrainConfig) -> Option<String> {
    config.source.as_deref().and_then(Path::file_stem).map(|n| n.to_string_lossy().to_string())
}

/// Write the config as run (paths resolved) into the run directory.
/// Every generator's problem can be drawn from the configured cities at the
/// largest size trained, or the config is refused before the run starts.
fn check_cities(cities: &[City], sampling: CitySampling, generators: &[GeneratorConfig], largest: usize) -> Result<()> {
    for g in generators {
        city::generate(cities, g.problem, largest, 1, 0, sampling).map_err(|e| Error::bad_input("config", None, format!("problem.cities: {e}")))?;
    }
    Ok(())
}

/// The columns of `metrics.csv`: the step's figures, the mean reward per
/// variant trained, then each validation set's gap and infeasible share,
/// and the score.
fn metric_columns(generators: &[GeneratorConfig], from_cities: bool, validation: &[Dataset]) -> Vec<String> {
    let mut columns: Vec<String> =
        ["step", "epoch", "instances", "loss", "reward", "infeasible", "grad_norm", "lr", "instances_per_s", "wall_s"].map(String::from).to_vec();
    columns.extend(variant_names(generators, from_cities).into_iter().map(|v| format!("reward_{v}")));
    columns.extend(validation.iter().flat_map(|v| [format!("val_{}", v.name()), format!("val_{}_infeasible", v.name())]));
    columns.push("val_score".into());
    columns
}

fn write_config(run: &RunDir, config: &TrainConfig) -> Result<()> {
    let text = toml::to_string_pretty(config).map_err(|e| Error::Failure(format!("cannot write the config: {e}")))?;
    write_atomic(&run.path("config.toml"), text.as_bytes())
}

/// A checkpoint's policy grown to the config's depth and mixed scores
/// ([`grow`]), the new weights drawn from the run's seed.
///
/// # Errors
/// The fields that differ, when the config's model is not the checkpoint's
/// with more layers; why the checkpoint cannot grow, when it is.
fn grown<B: Backend>(policy: Policy<B>, card: &ModelConfig, config: &ModelConfig, seed: u64, device: &B::Device) -> std::result::Result<Policy<B>, String> {
    if !grow::grows_into(card, config) {
        return Err(model_mismatch(card, config));
    }
    with_seed::<B, _>(seed, device, || grow::grow(policy, card, config, device))
}

/// Why a checkpoint's model cannot start a run of this config: the fields that differ.
fn model_mismatch(card: &ModelConfig, config: &ModelConfig) -> String {
    let (a, b) = (toml::Table::try_from(card).unwrap_or_default(), toml::Table::try_from(config).unwrap_or_default());
    let fields: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, v)| format!("{k} = {v} (config: {})", b.get(k).map_or("absent".to_string(), |w| w.to_string())))
        .collect();
    format!("the checkpoint's model differs from the config's in {}: give the config the checkpoint's [model] (preset and overrides); only n_layers may be larger, to add encoder layers, and mixed_score true, to add mixed scores", fields.join(", "))
}

fn load_validation(config: &TrainConfig) -> Result<Vec<Dataset>> {
    config.validation.iter().map(|v| Dataset::load(&v.data, v.reference.as_deref())).collect()
}
