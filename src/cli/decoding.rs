//! What `lrm solve` and `lrm eval` share: the model to load, the device, and
//! the decoding options.

use std::time::Duration;

use super::shared::{Aug, DeviceArg};
use crate::decode::{DecodeOptions, Sampling, Starts, Strategy};
use crate::error::{Error, Result};
use crate::model::zoo::ModelSource;

#[derive(clap::Args, Debug, Clone)]
pub struct DecodeArgs {
    /// A checkpoint (NAME.toml, with NAME.safetensors beside it) or a shipped
    /// model's name (`lrm info --models`); default: the shipped model for each
    /// instance's problem.
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub backend: DeviceArg,
    /// auto (lazymask on TSPTW and TSPDL; greedy that backtracks out of dead
    /// ends under a fleet limit; greedy elsewhere), greedy, sample, beam, rrc
    /// (greedy, then random re-construction), lazymask, or nearest (no
    /// policy: the nearest-neighbour baseline).
    #[arg(long, default_value = "auto")]
    pub decode: Strategy,
    /// Multi-start: K first customers (the policy's favourites), or `all`
    /// feasible ones (POMO). Default: 1, except for `solve` without --aug,
    /// --time-limit or --iterations, decoding auto, greedy, rrc or lazymask:
    /// POMO's every start and x8 within a bounded work per instance (every
    /// start and x8 up to 200 customers, every start up to 400, fewer starts
    /// beyond).
    #[arg(long)]
    pub starts: Option<Starts>,
    /// 8: POMO's dihedral augmentation of the coordinates (not for explicit
    /// matrices); 1: none. Default: 1, or as --starts says for `solve`.
    #[arg(long, value_enum)]
    pub aug: Option<Aug>,
    /// Samples per instance (--decode sample).
    #[arg(long, default_value_t = 16)]
    pub samples: usize,
    /// Sampling temperature.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Sample among the k most probable nodes only (0: all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Sample among the most probable nodes holding this much mass (1: all).
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Beam width (--decode beam).
    #[arg(long, default_value_t = 16)]
    pub beam: usize,
    /// RRC rounds (--decode rrc), each re-decoding 8 random segments per instance.
    #[arg(long, default_value_t = 10)]
    pub rrc: usize,
    /// LazyMask's backtracking budget per rollout.
    #[arg(long, default_value_t = 300)]
    pub backtrack: usize,
    /// LazyMask's look-ahead: 1 or 2.
    #[arg(long, default_value_t = 2)]
    pub look_ahead: u8,
    /// Keep improving until this many seconds have passed (the whole call,
    /// shared by its instances): `solve` runs the anytime search (local
    /// search, ruin and recreate, the policy's RRC); `eval` samples and runs RRC.
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Instances encoded together.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Seed of sampling, RRC and the local search (every file's search draws from it alone).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl DecodeArgs {
    /// The options as given, one start and no augmentation unless asked
    /// (`lrm eval`: its figures follow the flags given).
    ///
    /// # Errors
    /// A time limit that is not a positive number, or combinations that mean
    /// nothing ([`DecodeOptions::validate`]).
    pub fn options(&self) -> Result<DecodeOptions> {
        let time_limit = match self.time_limit {
            Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t)),
            Some(t) => return Err(Error::bad_input("--time-limit", None, format!("{t}: expected a positive number of seconds"))),
            None => None,
        };
        let options = DecodeOptions {
            strategy: self.decode,
            starts: self.starts.unwrap_or_default(),
            augment: self.aug == Some(Aug::Dihedral),
            work: None,
            sampling: Sampling { samples: self.samples, temperature: self.temperature, top_k: self.top_k, top_p: self.top_p },
            beam_width: self.beam,
            rrc_rounds: self.rrc,
            backtrack_budget: self.backtrack,
            look_ahead: self.look_ahead,
            time_limit,
            batch_size: self.batch_size,
            runners_up: false,
            seed: self.seed,
        };
        options.validate().map_err(|e| Error::bad_input("decoding options", None, e))?;
        Ok(options)
    }

    /// `lrm solve`'s options: as [`DecodeArgs::options`], with POMO's
    /// inference within a work bound when neither --starts nor --aug is given
    /// and no search is bounded (`searching`: --time-limit or --iterations;
    /// [`DecodeOptions::with_solve_work`]).
    ///
    /// # Errors
    /// As [`DecodeArgs::options`].
    pub fn solve_options(&self, searching: bool) -> Result<DecodeOptions> {
        let options = self.options()?;
        Ok(if self.starts.is_none() && self.aug.is_none() { options.with_solve_work(searching) } else { options })
    }

    /// The model to decode with.
    ///
    /// # Errors
    /// `--model` names no checkpoint, shipped model or preset.
    pub fn model(&self) -> Result<ModelSource> {
        self.model.as_deref().map_or(Ok(ModelSource::Auto), ModelSource::parse)
    }
}
