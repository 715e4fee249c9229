//! The model ladder of the scaling report: one config trained with each
//! preset of a list, on the same data (same seed, same steps) or for the
//! same wall time, so that `bench::inference_scaling` and the model-scaling
//! fit compare models as the papers do.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use burn::tensor::backend::AutodiffBackend;

use crate::backend::{run_on, BackendJob, DeviceSpec};
use crate::error::{Error, Result};
use crate::model::zoo::ModelSource;
use crate::train::config::{ModelChoice, TrainConfig};
use crate::train::{Start, Trainer};

/// What to train.
#[derive(Clone, Debug)]
pub struct Ladder {
    /// The training config every rung shares (its `[model]` is replaced).
    pub config: PathBuf,
    /// Model presets, one rung each (`deep-1x32`, `rf-te`, ...).
    pub presets: Vec<String>,
    /// Steps per rung (one epoch of exactly this many batches), unless `budget` is set.
    pub steps: usize,
    /// Seconds of training per rung instead of a step count.
    pub budget: Option<f64>,
    /// Each rung's run directory is `out/PRESET` (replaced if present).
    pub out: PathBuf,
}

impl Ladder {
    /// Train every rung; the checkpoints to measure, named by preset.
    ///
    /// # Errors
    /// An unreadable config, a preset the config cannot take (named), or a
    /// failed run.
    pub fn train(&self, device: DeviceSpec) -> Result<Vec<(String, ModelSource)>> {
        let mut base = TrainConfig::read(&self.config)?;
        if self.budget.is_none() {
            base.run.epochs = 1;
            base.run.instances_per_epoch = self.steps * base.batch.size;
        }
        let mut models = vec![];
        for preset in &self.presets {
            let mut config = base.clone();
            config.model = ModelChoice { preset: preset.clone(), overrides: Default::default() };
            config.validate().map_err(|e| Error::bad_input(&self.config, None, format!("ladder preset {preset}: {e}")))?;
            let root = self.out.join(preset);
            if root.exists() {
                std::fs::remove_dir_all(&root).map_err(|e| Error::writing(&root, e))?;
            }
            run_on(device, Rung { config, root: root.clone(), seconds: self.budget })?;
            models.push((preset.clone(), ModelSource::File(root.join("latest.toml"))));
        }
        Ok(models)
    }
}

/// Trains one model of the ladder: its config's steps, or until `seconds`.
struct Rung {
    config: TrainConfig,
    root: PathBuf,
    seconds: Option<f64>,
}

impl BackendJob for Rung {
    type Output = ();
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<()> {
        let stop = Arc::new(AtomicBool::new(false));
        if let Some(seconds) = self.seconds {
            let flag = stop.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
                flag.store(true, Ordering::SeqCst);
            });
        }
        let mut trainer = Trainer::<B>::new(self.config, &self.root, Start::Fresh, &device)?;
        trainer.run(&stop, true)?;
        println!("ladder: {} trained {} steps in {:.1} s", self.root.display(), trainer.state.step, trainer.state.wall_seconds);
        Ok(())
    }
}
