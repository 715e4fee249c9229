//! A run directory: the config as run, checkpoints, `metrics.csv` and the
//! training curves.
//!
//! A checkpoint is a folder `checkpoints/step-NNNNNNNN/` holding the portable
//! model (`model.safetensors` + `model.toml`), Burn's record of the module
//! and of the optimizer (parameter ids included, so the optimizer state finds
//! its parameters again) and `state.json`. It becomes current only when the
//! file `latest` (rewritten atomically) names it, so a crash mid-write leaves
//! the previous checkpoint in force. `latest.*` and `best.*` beside it are
//! portable copies for `lrm solve --model`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::reinforce::RewardNormaliser;
use crate::error::{Error, Result};
use crate::problem::io::{read_text, write_atomic};

/// Checkpoint folders kept besides the current one.
const KEEP: usize = 1;

/// The lock a checkpoint is written under, from its first file to `best.*`.
/// A process about to end at once (a second Ctrl-C) takes it to wait for
/// the run directory to be whole: without it, `latest` could name a new best
/// checkpoint while `best.*` is still the previous best's, and a temporary
/// file could be left behind.
static WRITING: Mutex<()> = Mutex::new(());

/// Hold [`WRITING`] while writing a checkpoint, or to wait for one being
/// written to be complete and keep another from starting.
pub fn checkpoint_lock() -> MutexGuard<'static, ()> {
    WRITING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a resumed run needs besides weights and optimizer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    pub step: usize,
    pub normaliser: RewardNormaliser,
    /// The best validation score so far (mean gap %, or mean cost without references).
    pub best_score: Option<f64>,
    pub wall_seconds: f64,
    /// Training instances seen so far.
    #[serde(default)]
    pub instances: u64,
    /// Self-improvement: the round whose labels the checkpoint holds.
    #[serde(default)]
    pub labels_round: Option<usize>,
    /// The random stream of this run's step 0: the steps of the model it
    /// started from (`--init`), so that a stretch run with an earlier
    /// stretch's config draws the instances that follow that stretch's
    /// instead of replaying them; 0 for a fresh run.
    #[serde(default)]
    pub first_stream: u64,
    /// The stem of the config file the run started from, which names its
    /// stretch in the model card: a resumed run reads its config from the
    /// run directory, whose name may be another (`--out`).
    #[serde(default)]
    pub config_name: Option<String>,
    /// The backends and processors the run trained on, as its model card
    /// names them: `"A"`, or `"A to step N, then B"` once resumed on
    /// another machine (none in checkpoints from before it was kept).
    #[serde(default)]
    pub hardware: Option<String>,
}

pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn create(root: &Path) -> Result<RunDir> {
        std::fs::create_dir_all(root.join("checkpoints")).map_err(|e| Error::writing(root, e))?;
        Ok(RunDir { root: root.to_path_buf() })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The current checkpoint folder, if any.
    pub fn latest(&self) -> Result<Option<PathBuf>> {
        let pointer = self.path("latest");
        if !pointer.exists() {
            return Ok(None);
        }
        let name = read_text(&pointer)?;
        let dir = self.root.join(name.trim());
        if !dir.join("state.json").exists() {
            return Err(Error::bad_input(&pointer, Some(1), format!("names {}, which holds no checkpoint", dir.display())));
        }
        Ok(Some(dir))
    }

    /// A fresh folder for the checkpoint of `step`.
    pub fn checkpoint_dir(&self, step: usize) -> Result<PathBuf> {
        let dir = self.root.join("checkpoints").join(format!("step-{step:08}"));
        std::fs::create_dir_all(&dir).map_err(|e| Error::writing(&dir, e))?;
        Ok(dir)
    }

    /// Make `dir` current, then drop all but the newest older folders.
    pub fn commit(&self, dir: &Path) -> Result<()> {
        let relative = dir.strip_prefix(&self.root).unwrap_or(dir);
        write_atomic(&self.path("latest"), format!("{}\n", relative.display()).as_bytes())?;
        let mut old: Vec<PathBuf> = std::fs::read_dir(self.root.join("checkpoints"))
            .map_err(|e| Error::reading(&self.root, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p != dir)
            .collect();
        old.sort();
        let drop = old.len().saturating_sub(KEEP);
        for p in &old[..drop] {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(())
    }

    pub fn write_state(dir: &Path, state: &TrainState) -> Result<()> {
        let text = serde_json::to_string_pretty(state).expect("the state serialises");
        write_atomic(&dir.join("state.json"), text.as_bytes())
    }

    pub fn read_state(dir: &Path) -> Result<TrainState> {
        let path = dir.join("state.json");
        serde_json::from_str(&read_text(&path)?).map_err(|e| Error::bad_input(&path, Some(e.line()), format!("not a training state: {e}")))
    }

    /// Copy the portable model of checkpoint `dir` to `NAME.safetensors` / `NAME.toml`.
    pub fn publish(&self, dir: &Path, name: &str) -> Result<()> {
        for ext in ["safetensors", "toml"] {
            let from = dir.join(format!("model.{ext}"));
            let bytes = std::fs::read(&from).map_err(|e| Error::reading(&from, e))?;
            write_atomic(&self.path(&format!("{name}.{ext}")), &bytes)?;
        }
        Ok(())
    }
}

/// `metrics.csv`: one row per step, columns fixed when the run starts.
pub struct Metrics {
    path: PathBuf,
    pub columns: Vec<String>,
}

impl Metrics {
    /// Open (or, on resume, keep only the rows up to `step` of) the metrics
    /// file. Rows written by an older version with other columns are
    /// carried over by column name, so resuming never shifts a value.
    pub fn open(path: PathBuf, columns: Vec<String>, resume_step: usize) -> Result<Metrics> {
        let mut text = columns.join(",") + "\n";
        if resume_step > 0 {
            if let Ok(old) = read_text(&path) {
                let mut lines = old.lines();
                let old_columns: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
                let place: Vec<Option<usize>> = columns.iter().map(|c| old_columns.iter().position(|o| o == c)).collect();
                for line in lines {
                    let cells: Vec<&str> = line.split(',').collect();
                    if cells[0].parse::<usize>().is_ok_and(|s| s <= resume_step) {
                        let row: Vec<&str> = place.iter().map(|k| k.and_then(|k| cells.get(k).copied()).unwrap_or_default()).collect();
                        text += &row.join(",");
                        text += "\n";
                    }
                }
            }
        }
        write_atomic(&path, text.as_bytes())?;
        Ok(Metrics { path, columns })
    }

    /// Append one row; missing values are empty cells.
    pub fn append(&self, row: &std::collections::BTreeMap<String, f64>) -> Result<()> {
        use std::io::Write;
        let cells: Vec<String> = self.columns.iter().map(|c| row.get(c).map_or(String::new(), |v| format!("{v}"))).collect();
        let mut f = std::fs::OpenOptions::new().append(true).open(&self.path).map_err(|e| Error::writing(&self.path, e))?;
        writeln!(f, "{}", cells.join(",")).map_err(|e| Error::writing(&self.path, e))
    }

    /// Every row read back: `(column, values)` with NaN for empty cells.
    pub fn read(&self) -> Result<Vec<(String, Vec<f64>)>> {
        let text = read_text(&self.path)?;
        let mut columns: Vec<(String, Vec<f64>)> = self.columns.iter().map(|c| (c.clone(), vec![])).collect();
        for line in text.lines().skip(1) {
            for (k, cell) in line.split(',').enumerate().take(columns.len()) {
                columns[k].1.push(cell.parse().unwrap_or(f64::NAN));
            }
        }
        Ok(columns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resuming_keeps_rows_up_to_the_step_and_moves_cells_to_their_columns() {
        let path = std::env::temp_dir().join(format!("lrm-metrics-{}.csv", std::process::id()));
        std::fs::write(&path, "step,loss,reward\n1,0.5,-7\n2,0.4,-6\n3,0.3,-5\n").unwrap();
        let columns = ["step", "loss", "infeasible", "reward"].map(String::from).to_vec();
        Metrics::open(path.clone(), columns, 2).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "step,loss,infeasible,reward\n1,0.5,,-7\n2,0.4,,-6\n");
        std::fs::remove_file(path).unwrap();
    }
}
