//! Turning a policy into solutions: one file per strategy, all batched over
//! instances, all on every variant, every feasibility decision through the env
//! and so through `problem::rules`.
//!
//! Every strategy hands back, per instance, the best feasible solution it found
//! (evaluated by `problem::evaluate`, in the instance's own units) or says that
//! it found none.

pub mod augment;
pub mod beam;
pub mod lazymask;
pub mod multistart;
pub mod nearest;
pub mod rrc;
pub mod runner;
pub mod sampling;
pub mod trajectory;

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use burn::tensor::backend::Backend;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::model::{ModelConfig, Policy};
use crate::problem::{evaluate, Evaluation, Instance, Solution};

pub use runner::{Batch, Phases};
pub use sampling::{Sampling, Selector};

/// The decoding strategies of `lrm solve --decode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// What `lrm solve` does by default ([`DecodeOptions::for_instance`]):
    /// LazyMask on the TSP family with time windows or draft limits (as LMask
    /// decodes them); on capacitated instances with a fleet limit, greedy
    /// that backtracks when a rollout dead-ends (LazyMask with look-ahead 1);
    /// greedy elsewhere.
    Auto,
    #[default]
    Greedy,
    Sample,
    Beam,
    Rrc,
    LazyMask,
    /// No policy: the nearest allowed customer at every step (the baseline; [`nearest`]).
    Nearest,
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Strategy::Auto),
            "greedy" => Ok(Strategy::Greedy),
            "sample" | "sampling" => Ok(Strategy::Sample),
            "beam" => Ok(Strategy::Beam),
            "rrc" => Ok(Strategy::Rrc),
            "lazymask" => Ok(Strategy::LazyMask),
            "nearest" => Ok(Strategy::Nearest),
            _ => Err(format!("unknown decoding {s:?} (expected auto, greedy, sample, beam, rrc, lazymask or nearest)")),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::Auto => "auto",
            Strategy::Greedy => "greedy",
            Strategy::Sample => "sample",
            Strategy::Beam => "beam",
            Strategy::Rrc => "rrc",
            Strategy::LazyMask => "lazymask",
            Strategy::Nearest => "nearest",
        })
    }
}

/// How many first nodes a multi-start decoding tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Starts {
    /// One rollout from the depot.
    #[default]
    One,
    /// The K first customers the policy likes best.
    Count(usize),
    /// Every feasible first customer (POMO).
    All,
}

impl FromStr for Starts {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "all" => Ok(Starts::All),
            _ => match s.parse::<usize>() {
                Ok(0) | Err(_) => Err(format!("starts {s:?}: expected a positive number or `all`")),
                Ok(1) => Ok(Starts::One),
                Ok(k) => Ok(Starts::Count(k)),
            },
        }
    }
}

/// As `--starts` takes it: `1`, `K` or `all`.
impl fmt::Display for Starts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Starts::One => f.write_str("1"),
            Starts::Count(k) => write!(f, "{k}"),
            Starts::All => f.write_str("all"),
        }
    }
}

/// Everything `lrm solve` and `lrm eval` let a user choose about decoding.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeOptions {
    pub strategy: Strategy,
    pub starts: Starts,
    /// POMO's x8 dihedral augmentation (coordinate instances only).
    pub augment: bool,
    /// When set, `starts` and `augment` are chosen per instance within this
    /// work (rollouts x customers², [`multistart::within_work`]): `lrm
    /// solve`'s default ([`DecodeOptions::with_solve_work`]).
    pub work: Option<u64>,
    pub sampling: Sampling,
    pub beam_width: usize,
    /// RRC rounds, each re-decoding `rrc::SEGMENTS` random segments per instance.
    pub rrc_rounds: usize,
    /// LazyMask's backtracking budget R per rollout.
    pub backtrack_budget: usize,
    /// LazyMask's look-ahead: 1 (LMask's TSL) or 2 (SSL).
    pub look_ahead: u8,
    /// Keep improving (RRC, or sampling until a first feasible solution) until then.
    pub time_limit: Option<Duration>,
    /// Instances encoded together.
    pub batch_size: usize,
    /// Keep each outcome's runners-up ([`Outcome::runners_up`]), which
    /// `lrm solve`'s search descends from; otherwise they are dropped batch
    /// by batch, so that a large dataset holds one solution per instance.
    pub runners_up: bool,
    pub seed: u64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            strategy: Strategy::Greedy,
            starts: Starts::One,
            augment: false,
            work: None,
            sampling: Sampling::default(),
            beam_width: 16,
            rrc_rounds: 10,
            backtrack_budget: 300,
            look_ahead: 2,
            time_limit: None,
            batch_size: 64,
            runners_up: false,
            seed: 1,
        }
    }
}

impl DecodeOptions {
    /// The options used on `inst`: [`Strategy::Auto`] resolved, any other
    /// strategy as it is. Look-ahead 1 on a capacitated instance forbids
    /// nothing the masks allow (a fresh route can serve any customer), so
    /// LazyMask then only backtracks out of dead ends: those of a fleet limit.
    ///
    /// With a `work` bound, the starts and the augmentation are resolved too.
    pub fn for_instance(&self, inst: &Instance) -> DecodeOptions {
        let lmask = inst.variant.is_tsp() && (inst.time_windows.is_some() || inst.draft_limit.is_some());
        let mut resolved = match self.strategy {
            Strategy::Auto if lmask => DecodeOptions { strategy: Strategy::LazyMask, ..self.clone() },
            Strategy::Auto if inst.vehicles.is_some() && !inst.variant.is_tsp() => {
                DecodeOptions { strategy: Strategy::LazyMask, look_ahead: 1, ..self.clone() }
            }
            Strategy::Auto => DecodeOptions { strategy: Strategy::Greedy, ..self.clone() },
            _ => self.clone(),
        };
        if let Some(work) = resolved.work.take() {
            (resolved.starts, resolved.augment) = multistart::within_work(inst.num_customers(), work);
        }
        resolved
    }

    /// What decodes `inst` under the policy of `config`: [`Self::for_instance`],
    /// with x8 only where it applies ([`augment::applies`]), so that a batch
    /// is augmented all through or not at all and a report says what ran.
    pub fn used_on(&self, inst: &Instance, config: &ModelConfig) -> DecodeOptions {
        let resolved = self.for_instance(inst);
        DecodeOptions { augment: resolved.augment && augment::applies(inst, config), ..resolved }
    }

    /// `lrm solve`'s default when the user chose neither the starts nor the
    /// augmentation: when no search follows beyond the first descents
    /// (`searching`: a time or iteration bound, whose search improves a
    /// one-rollout start further than a better construction would; README
    /// "Search") and the strategy takes multiple starts, POMO's inference within
    /// [`multistart::SOLVE_WORK`]. Anything else is unchanged.
    pub fn with_solve_work(self, searching: bool) -> DecodeOptions {
        let work = (self.takes_starts() && !searching && self.time_limit.is_none()).then_some(multistart::SOLVE_WORK);
        DecodeOptions { work, ..self }
    }

    /// Whether the strategy decodes from multiple starts.
    fn takes_starts(&self) -> bool {
        matches!(self.strategy, Strategy::Auto | Strategy::Greedy | Strategy::Rrc | Strategy::LazyMask)
    }

    /// Combinations that mean nothing are errors, not silent guesses.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.starts != Starts::One && matches!(self.strategy, Strategy::Sample | Strategy::Beam) {
            return Err(format!("multiple starts apply to greedy, rrc and lazymask decoding, not to {}", self.strategy));
        }
        if self.work.is_some() && !self.takes_starts() {
            return Err(format!("a work bound chooses the starts, which apply to greedy, rrc and lazymask decoding, not to {}", self.strategy));
        }
        if self.strategy == Strategy::Nearest && (self.starts != Starts::One || self.augment || self.time_limit.is_some()) {
            return Err("the nearest-neighbour baseline is one deterministic rollout: no starts, augmentation or time limit".into());
        }
        if self.beam_width == 0 || self.sampling.samples == 0 || self.batch_size == 0 {
            return Err("the beam width, the samples and the batch size must be positive".into());
        }
        if !(1..=2).contains(&self.look_ahead) {
            return Err(format!("look-ahead {} (expected 1 or 2)", self.look_ahead));
        }
        self.sampling.validate()
    }
}

/// A feasible solution and its evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub solution: Solution,
    pub evaluation: Evaluation,
}

/// How many feasible solutions an [`Outcome`] keeps beside its best: with
/// descents from the 16 best constructions, `lrm solve`'s default gains 0.71
/// points on the 34 public CVRPLIB, Solomon and TSPLIB files over one
/// descent from the best, with 8 0.52, with 32 0.73 (README "Search").
pub const RUNNERS_UP: usize = 15;

/// What decoding one instance gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// The best feasible solution, `None` when no rollout found one.
    pub best: Option<Found>,
    /// The next cheapest feasible solutions, distinct from the best and from
    /// each other (not the same routes in another order or direction),
    /// cheapest first, at most [`RUNNERS_UP`]; kept when
    /// [`DecodeOptions::runners_up`] asks: `lrm solve`'s search descends from
    /// each as well as from the best, since where one descent ends depends
    /// much on where it starts.
    pub runners_up: Vec<Found>,
    /// While there is no feasible one: the cheapest complete solution that
    /// `evaluate` rejected (a fleet too small, say), to report, never to hide.
    pub fallback: Option<Found>,
    /// Complete rollouts tried.
    pub trajectories: usize,
    /// Rollouts that ended with customers no route could take, or ran out of
    /// backtracking budget.
    pub dead_ends: usize,
}

impl Outcome {
    pub fn cost(&self) -> Option<f64> {
        self.best.as_ref().map(|f| f.evaluation.cost)
    }

    /// What to write and report: the best feasible solution, else the
    /// cheapest infeasible one (marked so by its evaluation).
    pub fn shown(&self) -> Option<&Found> {
        self.best.as_ref().or(self.fallback.as_ref())
    }

    /// Keep `solution` when it is feasible and cheaper than the best so far
    /// (true), or among the runners-up.
    pub fn offer(&mut self, inst: &Instance, solution: Solution) -> bool {
        let evaluation = evaluate(inst, &solution);
        self.keep(Found { solution, evaluation })
    }

    /// Fold another decoding of the same instance in.
    pub fn merge(&mut self, other: Outcome) {
        self.trajectories += other.trajectories;
        self.dead_ends += other.dead_ends;
        for found in other.best.into_iter().chain(other.runners_up).chain(other.fallback) {
            self.keep(found);
        }
    }

    /// Rank an evaluated solution: the new best (true), a runner-up, or,
    /// infeasible while nothing feasible is known, the fallback when cheaper.
    fn keep(&mut self, found: Found) -> bool {
        let cost = found.evaluation.cost;
        if !found.evaluation.is_feasible() {
            if self.best.is_none() && self.fallback.as_ref().is_none_or(|f| cost < f.evaluation.cost) {
                self.fallback = Some(found);
            }
            return false;
        }
        let full = self.runners_up.len() == RUNNERS_UP;
        if full && self.runners_up.last().is_some_and(|f| f.evaluation.cost <= cost) {
            return false;
        }
        if self.best.iter().chain(&self.runners_up).any(|f| same_cost(f.evaluation.cost, cost) && same_routes(&f.solution, &found.solution)) {
            return false;
        }
        let better = self.cost().is_none_or(|c| cost < c);
        let runner_up = if better {
            self.fallback = None;
            self.best.replace(found)
        } else {
            Some(found)
        };
        if let Some(r) = runner_up {
            let at = self.runners_up.partition_point(|f| f.evaluation.cost <= r.evaluation.cost);
            self.runners_up.insert(at, r);
            self.runners_up.truncate(RUNNERS_UP);
        }
        better
    }
}

/// Whether two costs are equal but for the order of summing their routes.
fn same_cost(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

/// Whether two solutions of the same cost have the same routes, in any
/// order and either direction (POMO's rollouts from the two ends of a route
/// often give it both ways; where the direction matters, windows or an
/// asymmetric matrix, the two ways rarely cost the same).
fn same_routes(a: &Solution, b: &Solution) -> bool {
    fn canonical(s: &Solution) -> Vec<Vec<usize>> {
        let mut routes: Vec<Vec<usize>> = s
            .routes
            .iter()
            .map(|r| {
                let reversed: Vec<usize> = r.iter().rev().copied().collect();
                if reversed < *r {
                    reversed
                } else {
                    r.clone()
                }
            })
            .collect();
        routes.sort();
        routes
    }
    a.routes.len() == b.routes.len() && canonical(a) == canonical(b)
}

/// The best rollout of each original instance of `batch`, whose env holds
/// the same number of consecutive copies of each (augmentation), P rollouts each.
pub fn best_of(batch_originals: &[Instance], env: &Env, failed: Option<&[bool]>) -> Vec<Outcome> {
    let per_original = env.num_rollouts() / batch_originals.len();
    batch_originals
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let mut out = Outcome::default();
            for r in i * per_original..(i + 1) * per_original {
                let roll = env.rollout(r);
                if roll.is_dead_end() || failed.is_some_and(|f| f[r]) || !roll.is_done() {
                    out.dead_ends += 1;
                    continue;
                }
                out.trajectories += 1;
                out.offer(inst, roll.solution());
            }
            out
        })
        .collect()
}

/// Decode `instances` with `policy`, `options.batch_size` of one size at a
/// time; outcomes come back in the order of `instances`. A time limit covers
/// the whole call, shared by the batches.
pub fn solve<B: Backend>(
    policy: &Policy<B>,
    config: &ModelConfig,
    instances: &[Instance],
    options: &DecodeOptions,
    device: &B::Device,
) -> Result<Vec<Outcome>> {
    options.validate().map_err(Error::Failure)?;
    if options.strategy == Strategy::Nearest {
        return nearest::decode(instances);
    }
    let deadline = options.time_limit.map(|t| Instant::now() + t);
    let mut order: Vec<usize> = (0..instances.len()).collect();
    let mut outcomes = vec![Outcome::default(); instances.len()];
    let resolved: Vec<DecodeOptions> = instances.iter().map(|inst| options.used_on(inst, config)).collect();
    order.sort_by_key(|&i| (instances[i].num_nodes(), resolved[i].strategy == Strategy::LazyMask, resolved[i].look_ahead, resolved[i].augment));
    let same = |a: usize, b: usize| instances[a].num_nodes() == instances[b].num_nodes() && resolved[a] == resolved[b];
    let chunks: Vec<&[usize]> = order.chunk_by(|&a, &b| same(a, b)).flat_map(|g| g.chunks(options.batch_size)).collect();
    for (k, chunk) in chunks.iter().enumerate() {
        // The time left is shared equally by the batches left.
        let share = deadline.map(|d| Instant::now() + d.saturating_duration_since(Instant::now()) / (chunks.len() - k) as u32);
        let originals: Vec<Instance> = chunk.iter().map(|&i| instances[i].clone()).collect();
        let batch = Batch::new(policy, config, &originals, resolved[chunk[0]].augment, device);
        let decoded = decode_batch(&batch, &resolved[chunk[0]], share)?;
        for (&i, mut o) in chunk.iter().zip(decoded) {
            if !options.runners_up {
                o.runners_up = Vec::new();
            }
            outcomes[i] = o;
        }
    }
    Ok(outcomes)
}

/// One batch through the chosen strategy, then, with a time limit, more work
/// until the deadline.
fn decode_batch<B: Backend>(batch: &Batch<B>, options: &DecodeOptions, deadline: Option<Instant>) -> Result<Vec<Outcome>> {
    let mut rng = sampling::rng(options.seed);
    let mut outcomes = match options.strategy {
        Strategy::Auto | Strategy::Greedy | Strategy::Rrc => multistart::decode(batch, options.starts, &mut Selector::Greedy)?,
        Strategy::Sample => sampling::decode(batch, &options.sampling, &mut rng)?,
        Strategy::Beam => beam::decode(batch, options.beam_width)?,
        Strategy::LazyMask => lazymask::decode(batch, options, &mut Selector::Greedy)?,
        Strategy::Nearest => nearest::decode(batch.originals())?,
    };
    if options.strategy == Strategy::Rrc {
        for _ in 0..options.rrc_rounds {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            rrc::improve(batch, &mut outcomes, &mut rng)?;
        }
    }
    if let Some(deadline) = deadline {
        anytime(batch, options, deadline, &mut outcomes, &mut rng)?;
    }
    Ok(outcomes)
}

/// Until the deadline: sample for instances still without a feasible
/// solution, and improve the others by RRC.
fn anytime<B: Backend>(batch: &Batch<B>, options: &DecodeOptions, deadline: Instant, outcomes: &mut [Outcome], rng: &mut sampling::Rng) -> Result<()> {
    while Instant::now() < deadline {
        if outcomes.iter().any(|o| o.best.is_none()) {
            let more = match options.strategy {
                Strategy::LazyMask => lazymask::decode(batch, options, &mut Selector::Sample { sampling: &options.sampling, rng })?,
                _ => sampling::decode(batch, &options.sampling, rng)?,
            };
            for (o, m) in outcomes.iter_mut().zip(more) {
                o.merge(m);
            }
        } else {
            rrc::improve(batch, outcomes, rng)?;
        }
    }
    Ok(())
}
