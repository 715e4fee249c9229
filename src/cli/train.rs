//! `lrm train --config NAME.toml [--init MODEL.toml] [--out RUN_DIR] [--device ...]`
//! or `lrm train --resume RUN_DIR`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use burn::tensor::backend::AutodiffBackend;

use super::shared::DeviceArg;
use crate::backend::{run_on, BackendJob};
use crate::error::{Error, Result};
use crate::train::config::TrainConfig;
use crate::train::{Start, Trainer};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["config", "resume"])))]
pub struct Args {
    /// The training config (see configs/).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint, with the config it was started with.
    #[arg(long, conflicts_with = "config")]
    resume: Option<PathBuf>,
    /// Start from this model checkpoint (e.g. models/mtvrp-cpu.toml) instead
    /// of fresh weights: a new optimizer, the card's training history carried
    /// on. The config's [model] must be the checkpoint's.
    #[arg(long, conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// The run directory (default: runs/NAME for configs/NAME.toml).
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    #[command(flatten)]
    backend: DeviceArg,
}

struct Train {
    config: TrainConfig,
    root: PathBuf,
    start: Start,
    stop: Arc<AtomicBool>,
}

impl BackendJob for Train {
    type Output = ();
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<()> {
        let mut trainer = Trainer::<B>::new(self.config, &self.root, self.start, &device)?;
        trainer.run(&self.stop, std::io::stderr().is_terminal())?;
        let best = trainer.state.best_score.map_or("no validation".to_string(), |s| format!("best validation score {s:.4}"));
        println!("{}: step {} of {}, {best}; checkpoints in {}", self.root.display(), trainer.state.step, trainer.total_steps(), self.root.display());
        Ok(())
    }
}

pub fn run(a: Args) -> Result<()> {
    let (config, root, start) = match (&a.config, &a.resume) {
        (_, Some(dir)) => (TrainConfig { source: None, ..TrainConfig::read(&dir.join("config.toml"))? }, dir.clone(), Start::Resume),
        (Some(path), None) => {
            let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "run".into());
            let start = a.init.clone().map_or(Start::Fresh, Start::Init);
            (TrainConfig::read(path)?, a.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(stem)), start)
        }
        (None, None) => unreachable!("clap requires one of them"),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).map_err(|e| Error::Failure(format!("cannot catch Ctrl-C: {e}")))?;
    run_on(a.backend.device, Train { config, root, start, stop })
}
