//! Supervised training: teacher-forced cross-entropy on labelled solutions,
//! for both policy families. For the decoder-only family a random prefix of
//! each label is replayed first, without loss, so that the policy learns to
//! complete partial solutions of every length (LEHD's random sub-paths, here
//! as suffixes of the full instance).
//!
//! Labels are an npz dataset with a reference file holding `actions`, or are
//! made by the policy itself (self-improvement: fresh instances solved with
//! lrm's best decoding under a budget, the best solutions kept); each step
//! takes the next `batch` instances, cyclically.

use std::path::{Path, PathBuf};

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use rand::{Rng as _, SeedableRng};

use super::config::LabelSource;
use super::distributed::Team;
use crate::decode::sampling::Rng;
use crate::decode::trajectory::Trajectory;
use crate::decode::{self, Batch, DecodeOptions, Starts, Strategy};
use crate::error::{Error, Result};
use crate::model::{ModelConfig, Policy};
use crate::problem::generate::GeneratorConfig;
use crate::problem::io::npz::{read_dataset, read_reference, write_dataset, write_reference};
use crate::problem::io::{read_instance, solution, write_atomic};
use crate::problem::{evaluate, Instance, Solution};

/// Labelled instances, all of one size.
pub struct Labels {
    pub instances: Vec<Instance>,
    pub solutions: Vec<Solution>,
}

impl Labels {
    pub fn read(source: &LabelSource) -> Result<Labels> {
        let labels = match (&source.reference, source.data.is_dir()) {
            (_, true) => Labels::read_dir(&source.data)?,
            (Some(reference), false) => Labels::read_files(&source.data, reference)?,
            (None, false) => return Err(Error::bad_input(&source.data, None, "an npz label set needs its reference (trainer.labels.reference) with actions")),
        };
        if labels.instances.is_empty() {
            return Err(Error::bad_input(&source.data, None, "no labelled instances"));
        }
        if labels.instances.iter().any(|i| i.num_nodes() != labels.instances[0].num_nodes()) {
            return Err(Error::bad_input(&source.data, None, "supervised labels must be instances of one size"));
        }
        Ok(labels)
    }

    /// An npz dataset and its reference with `actions`.
    pub fn read_files(data: &Path, reference: &Path) -> Result<Labels> {
        let instances = read_dataset(data)?;
        let (_, solutions) = read_reference(reference)?;
        let solutions =
            solutions.ok_or_else(|| Error::bad_input(reference, None, "no 'actions' array: the supervised trainer needs solutions, not only costs"))?;
        if solutions.len() < instances.len() {
            return Err(Error::bad_input(reference, None, format!("{} solutions for {} instances", solutions.len(), instances.len())));
        }
        Ok(Labels { instances, solutions })
    }

    /// Every instance file of `dir` that has its solution beside it, as
    /// `NAME.sol` or as `NAME.lrm.sol` (what `lrm solve --out DIR` writes), in
    /// name order; a solution that breaks the rules is an error naming it.
    fn read_dir(dir: &Path) -> Result<Labels> {
        let mut files: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(dir)
            .map_err(|e| Error::reading(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x != "sol"))
            .filter_map(|p| {
                let lrm = p.with_extension("lrm.sol");
                [p.with_extension("sol"), lrm].into_iter().find(|s| s.exists()).map(|s| (p, s))
            })
            .collect();
        files.sort();
        let (mut instances, mut solutions) = (vec![], vec![]);
        for (f, sol_path) in files {
            let inst = read_instance(&f, None)?;
            let sol = solution::read(&sol_path)?.solution;
            if let Some(v) = evaluate(&inst, &sol).violation {
                return Err(Error::bad_input(sol_path, None, format!("not a feasible label: {v}")));
            }
            instances.push(inst);
            solutions.push(sol);
        }
        Ok(Labels { instances, solutions })
    }
}

impl Labels {
    /// Self-improvement labels: `count` instances of `n` customers from
    /// `generator` (stream `seed`), solved by `policy` with POMO multi-start
    /// x8 and `rrc_rounds` rounds of RRC; instances without a feasible
    /// solution are left out.
    #[allow(clippy::too_many_arguments)]
    pub fn made_by<B: Backend>(
        policy: &Policy<B>,
        model: &ModelConfig,
        generator: &GeneratorConfig,
        n: usize,
        count: usize,
        seed: u64,
        rrc_rounds: usize,
        device: &B::Device,
    ) -> Result<Labels> {
        let instances = generator.generate(n, count, seed);
        let options = DecodeOptions { strategy: Strategy::Rrc, starts: Starts::All, augment: true, rrc_rounds, seed, ..DecodeOptions::default() };
        let outcomes = decode::solve(policy, model, &instances, &options, device)?;
        let (instances, solutions) = instances.into_iter().zip(outcomes).filter_map(|(i, o)| o.best.map(|f| (i, f.solution))).unzip();
        Ok(Labels { instances, solutions })
    }

    /// Write as an npz dataset and reference (kept in checkpoints).
    /// The two npz files of [`Self::write`] as bytes (to send them to other peers).
    ///
    /// # Errors
    /// The temporary files cannot be written or read.
    pub fn to_bytes(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        let (data, reference) = temporary_pair();
        self.write(&data, &reference)?;
        let read = |p: &Path| std::fs::read(p).map_err(|e| Error::reading(p, e));
        let bytes = (read(&data), read(&reference));
        let _ = (std::fs::remove_file(&data), std::fs::remove_file(&reference));
        Ok((bytes.0?, bytes.1?))
    }

    /// Labels from [`Self::to_bytes`].
    ///
    /// # Errors
    /// The bytes are not labels; the temporary files cannot be written.
    pub fn from_bytes(data: &[u8], reference: &[u8]) -> Result<Labels> {
        let (data_path, reference_path) = temporary_pair();
        let written = write_atomic(&data_path, data).and_then(|()| write_atomic(&reference_path, reference));
        let labels = written.and_then(|()| Labels::read_files(&data_path, &reference_path));
        let _ = (std::fs::remove_file(&data_path), std::fs::remove_file(&reference_path));
        labels
    }

    pub fn write(&self, data: &Path, reference: &Path) -> Result<()> {
        write_dataset(data, &self.instances)?;
        let costs: Vec<f64> = self.instances.iter().zip(&self.solutions).map(|(i, s)| evaluate(i, s).cost).collect();
        write_reference(reference, &costs, &self.solutions)
    }
}

/// Two temporary npz paths of this process and thread.
fn temporary_pair() -> (PathBuf, PathBuf) {
    let tag = format!("lrm-labels-{}-{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], "");
    let dir = std::env::temp_dir();
    (dir.join(format!("{tag}.npz")), dir.join(format!("{tag}_sol.npz")))
}

/// The env's actions for a solution: each route then a depot return.
fn actions_of(solution: &Solution) -> Vec<usize> {
    solution.routes.iter().flat_map(|r| r.iter().copied().chain(std::iter::once(0))).collect()
}

/// The teacher-forced loss of step `step` and the number of instances in it.
pub fn loss<B: AutodiffBackend>(
    policy: &Policy<B>,
    model: &ModelConfig,
    labels: &Labels,
    batch: usize,
    step: usize,
    team: &Team<B>,
) -> Result<(Tensor<B, 1>, usize)> {
    let count = labels.instances.len();
    let whole: Vec<usize> = (0..batch.min(count)).map(|k| (step * batch + k) % count).collect();
    let mut rng = Rng::seed_from_u64(step as u64);
    let whole_prefixes: Vec<usize> = whole.iter().map(|&i| rng.random_range(0..=actions_of(&labels.solutions[i]).len().saturating_sub(4))).collect();
    let share = team.share(whole.len());
    let picked = &whole[share.clone()];
    let instances: Vec<Instance> = picked.iter().map(|&i| labels.instances[i].clone()).collect();
    let mut targets: Vec<Vec<usize>> = picked.iter().map(|&i| actions_of(&labels.solutions[i])).collect();
    let batch = Batch::new(policy, model, &instances, false, team.device);
    let mut env = batch.env(1);
    if matches!(policy, Policy::Heavy(_)) {
        let prefixes = &whole_prefixes[share];
        for k in 0..prefixes.iter().copied().max().unwrap_or(0) {
            let moves: Vec<Option<usize>> = targets.iter().zip(prefixes).map(|(t, &p)| (k < p).then(|| t[k])).collect();
            env.step_some(&moves).map_err(|e| label_error(picked, e))?;
        }
        for (t, &p) in targets.iter_mut().zip(prefixes) {
            t.drain(..p);
        }
    }
    // Teacher forcing through the rollout driver: record the label's steps,
    // then their log-likelihood in one replay.
    let mut trajectory = Trajectory::new(&env);
    let mut decided = 0usize;
    for k in 0..targets.iter().map(Vec::len).max().unwrap_or(0) {
        let actions: Vec<Option<usize>> = targets.iter().map(|t| t.get(k).copied()).collect();
        trajectory.record(&batch, &env, env.mask(), None, &actions, None);
        decided += actions.iter().flatten().count();
        batch.apply(&mut env, &actions).map_err(|e| label_error(picked, e))?;
    }
    let decided = team.sum(vec![decided as f64], "the decided steps")?[0];
    let (log_likelihood, _) = trajectory.log_likelihood(policy, batch.encoding(), false, team.device);
    Ok((log_likelihood.sum().neg() / decided.max(1.0), whole.len()))
}

fn label_error(picked: &[usize], e: Error) -> Error {
    Error::Failure(format!("a label breaks the rules (instances {picked:?} of the label set): {e}"))
}
