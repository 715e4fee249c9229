//! Starting a training run: one trainer on one device, or one data-parallel
//! peer per device of this node (each on its own thread, the root's trainer
//! opening the run, the others taking its state), watched so that a peer
//! that fails or a node that stops answering ends the run with an error
//! naming it instead of a hang.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use burn::module::Module;
use burn::record::Recorder;
use burn::tensor::backend::AutodiffBackend;

use super::config::TrainerKind;
use super::distributed::{absent_nodes, fingerprint, timeout_message, DistributedConfig, Peer, Watch};
use super::optim::Optim;
use super::run_dir::TrainState;
use super::{supervised, Bytes, Start, Trainer};
use crate::error::{Error, Result};
use crate::train::config::TrainConfig;

/// Held by a data-parallel run: Burn's collective is one per process and backend.
static COLLECTIVE: Mutex<()> = Mutex::new(());

/// How often the launcher looks at its peers.
const POLL: Duration = Duration::from_millis(200);

/// After Ctrl-C, how long every peer may wait for the others before the run stops anyway.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// What to train and where: `root` is the run directory (written by the
/// root peer alone), `distributed` this node's peers and place.
#[derive(Clone)]
pub struct Launch {
    pub config: TrainConfig,
    pub root: PathBuf,
    pub start: Start,
    pub distributed: DistributedConfig,
    /// Draw a progress bar (the root alone draws it).
    pub progress: bool,
}

/// Where a finished (or stopped) run stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub step: usize,
    pub total_steps: usize,
    pub best_score: Option<f64>,
    /// Whether this process wrote the run (one device, or node 0).
    pub wrote_run: bool,
}

/// Train as `launch` says on `devices` (one per peer of this node; one
/// device without `distributed` peers), until the configured steps or
/// until `stop` is set.
///
/// # Errors
/// Whatever stops a trainer (the first peer's error, named); a collective
/// call that waits longer than `distributed.timeout_seconds`, with what did
/// not answer. The root's last checkpoint stays intact.
pub fn train<B: AutodiffBackend>(launch: Launch, devices: Vec<B::Device>, stop: Arc<AtomicBool>) -> Result<Summary> {
    launch.distributed.validate().map_err(|e| Error::bad_input("distributed", None, e))?;
    if !launch.distributed.is_parallel() {
        let device = devices.into_iter().next().expect("one device at least");
        let mut trainer = Trainer::<B>::new(launch.config, &launch.root, launch.start, &device)?;
        trainer.run(&stop, launch.progress)?;
        return Ok(summary(&trainer));
    }
    let _one_at_a_time = COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let local_peers = devices.len();
    let watch = Watch::new(local_peers);
    let (tx, rx) = mpsc::channel();
    for (local, device) in devices.into_iter().enumerate() {
        let (launch, watch, tx, stop) = (launch.clone(), watch.clone(), tx.clone(), stop.clone());
        let spawned = std::thread::Builder::new().name(format!("peer-{local}")).spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_peer::<B>(&launch, local, local_peers, &watch, &device, &stop)));
            let (outcome, peer) = match outcome {
                Ok((outcome, peer)) => (outcome, peer),
                Err(panic) => (Err(Error::Failure(format!("it panicked: {}", panic_text(&panic)))), None),
            };
            let finished = outcome.is_ok();
            let _ = tx.send(Report::Done(local, outcome));
            // A finished run (written) leaves the collective, so that the
            // coordinator can serve the next run, under the same watch.
            if let (Some(peer), true) = (peer, finished) {
                peer.finish::<B>();
            }
            let _ = tx.send(Report::Left);
        });
        spawned.map_err(|e| Error::Failure(format!("cannot start the thread of peer {local}: {e}")))?;
    }
    drop(tx);
    let outcome = watch_peers(&launch.distributed, &watch, &rx, local_peers, &stop);
    // A failed run on this machine alone leaves the process's collective clean
    // for the next; with other nodes its network may be gone (the process ends).
    if outcome.is_err() && launch.distributed.nodes == 1 {
        burn::collective::reset_collective::<B::InnerBackend>();
    }
    outcome
}

/// What a peer's thread reports: its run's outcome, then that it left the collective.
enum Report {
    Done(usize, Result<Summary>),
    Left,
}

/// Wait for every local peer to finish and leave the collective; the first
/// error, the first collective call past the timeout, or Ctrl-C while every
/// peer waits for the others, ends the run. A peer that cannot leave the
/// collective after a finished run is a warning.
fn watch_peers(config: &DistributedConfig, watch: &Watch, rx: &mpsc::Receiver<Report>, local_peers: usize, stop: &AtomicBool) -> Result<Summary> {
    let timeout = Duration::from_secs(config.timeout_seconds);
    let mut done: Vec<Option<Summary>> = vec![None; local_peers];
    let mut left = 0;
    while left < local_peers {
        match rx.recv_timeout(POLL) {
            Ok(Report::Done(local, Ok(s))) => done[local] = Some(s),
            Ok(Report::Done(_, Err(e @ Error::BadInput { .. }))) => return Err(e),
            Ok(Report::Done(local, Err(e))) => {
                let nodes = if config.nodes > 1 { format!(" ({})", absent_nodes(watch, config)) } else { String::new() };
                return Err(Error::Failure(format!("peer {local} of node {} stopped: {e}{nodes}", config.node_rank)));
            }
            Ok(Report::Left) => left += 1,
            Err(mpsc::RecvTimeoutError::Timeout) if done.iter().all(Option::is_some) => {
                if watch.overdue(timeout).is_some() {
                    tracing::warn!(
                        "the run is done, but a peer could not leave the collective within {timeout:?}: restart lrm coordinator before the next run"
                    );
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(message) = timeout_message(watch, config, timeout) {
                    return Err(Error::Failure(message));
                }
                if stop.load(Ordering::SeqCst) && watch.all_waiting() && watch.overdue(STOP_WAIT).is_some() {
                    return Err(Error::Failure(format!(
                        "stopped (Ctrl-C) while every peer of node {} waited for the others; the last checkpoint is intact: continue with lrm train --resume RUN_DIR",
                        config.node_rank
                    )));
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Error::Failure("a peer's thread ended without a result".into())),
        }
    }
    let mut summaries = done.into_iter().flatten();
    summaries.next().ok_or_else(|| Error::Failure("no peer reported its run".into()))
}

/// One peer: its trainer (the root's opens the run directory, before any
/// other peer is waited for, so that a bad run directory fails at once),
/// the collective joined, the root's state taken, the steps.
fn run_peer<B: AutodiffBackend>(
    launch: &Launch,
    local: usize,
    local_peers: usize,
    watch: &Arc<Watch>,
    device: &B::Device,
    stop: &AtomicBool,
) -> (Result<Summary>, Option<Peer>) {
    let root = local == 0 && launch.distributed.node_rank == 0;
    let trainer = match root {
        true => Trainer::<B>::new(launch.config.clone(), &launch.root, launch.start.clone(), device),
        false => Trainer::<B>::follower(launch.config.clone(), device),
    };
    let mut trainer = match trainer {
        Ok(t) => t,
        Err(e) => return (Err(e), None),
    };
    let peer = match Peer::join::<B>(&launch.distributed, fingerprint(&launch.config), local, local_peers, watch.clone(), device) {
        Ok(p) => p,
        Err(e) => return (Err(e), None),
    };
    let outcome = trainer.attach(peer).and_then(|()| trainer.run(stop, launch.progress)).map(|()| summary(&trainer));
    (outcome, trainer.peer.take())
}

impl<B: AutodiffBackend> Trainer<B> {
    /// A data-parallel peer other than the root: the config's model,
    /// generators and labels, and no run directory. Its weights, optimizer
    /// state and progress come from the root in [`Self::attach`].
    ///
    /// # Errors
    /// A config that does not load (its cities or labels).
    pub fn follower(config: TrainConfig, device: &B::Device) -> Result<Self> {
        let model = config.model_config().map_err(|e| Error::bad_input("config", None, e))?;
        let generators = config.generators().map_err(|e| Error::bad_input("config", None, e))?;
        let cities = config.cities()?;
        let labels = config.trainer.labels.as_ref().map(supervised::Labels::read).transpose()?;
        Ok(Trainer {
            policy: model.init(device),
            optim: Optim::new(&config.optimizer),
            state: TrainState::default(),
            config,
            model,
            generators,
            cities,
            validation: vec![],
            labels,
            last_validation: BTreeMap::new(),
            records: None,
            device: device.clone(),
            bad_steps: 0,
            prior: None,
            peer: None,
        })
    }

    /// Make this trainer a data-parallel peer: every peer takes the root's
    /// weights (parameter ids included, which the optimizer state is keyed
    /// by), optimizer state and progress. Self-improvement labels are made
    /// afresh by every peer at the current round (the root's stored ones
    /// are not sent).
    ///
    /// # Errors
    /// Burn's collective failing; the root's state not loading here.
    pub fn attach(&mut self, peer: Peer) -> Result<()> {
        let root = peer.is_root();
        let module = match root {
            true => Some(
                Recorder::<B>::record(&Bytes::default(), self.policy.clone().into_record(), ())
                    .map_err(|e| Error::Failure(format!("cannot serialise the module: {e}")))?,
            ),
            false => None,
        };
        let module = peer.broadcast::<B>(module, "the root's weights", &self.device)?;
        let optim = peer.broadcast::<B>(root.then(|| self.optim.to_bytes()).transpose()?, "the root's optimizer state", &self.device)?;
        let state = serde_json::to_vec(&self.state).map_err(|e| Error::Failure(format!("cannot serialise the training state: {e}")))?;
        let state = peer.broadcast::<B>(root.then_some(state), "the root's training state", &self.device)?;
        if !root {
            let record = Recorder::<B>::load(&Bytes::default(), module, &self.device)
                .map_err(|e| Error::Failure(format!("the root's weights do not load on peer {}: {e}", peer.index)))?;
            self.policy = self.model.init(&self.device).load_record(record);
            self.optim = Optim::new(&self.config.optimizer).from_bytes(optim, &self.device)?;
            self.state = serde_json::from_slice(&state).map_err(|e| Error::Failure(format!("the root's training state does not load: {e}")))?;
        }
        self.share_batches_with(peer.count)?;
        self.peer = Some(peer);
        Ok(())
    }

    /// Refuse a run whose smallest batch leaves a peer without an instance.
    fn share_batches_with(&self, peers: usize) -> Result<()> {
        let c = &self.config;
        let smallest = match c.trainer.kind {
            TrainerKind::Pomo => c.problem.sizes.bounds().map(|n| (c.batch_size(n), n)).into_iter().min().expect("two bounds"),
            TrainerKind::Supervised => {
                let labels = self.labels.as_ref().map(|l| l.instances.len()).or(c.trainer.self_improvement.as_ref().map(|s| s.instances));
                (labels.map_or(c.batch.size, |l| l.min(c.batch.size)), 0)
            }
        };
        if smallest.0 < peers {
            let at = if smallest.1 > 0 { format!(" at {} customers", smallest.1) } else { String::new() };
            return Err(Error::bad_input(
                "config",
                None,
                format!("batch: a step of {} instances{at} cannot give each of the {peers} peers one; raise batch.size or use fewer devices", smallest.0),
            ));
        }
        Ok(())
    }
}

fn summary<B: AutodiffBackend>(trainer: &Trainer<B>) -> Summary {
    Summary { step: trainer.state.step, total_steps: trainer.total_steps(), best_score: trainer.state.best_score, wrote_run: trainer.is_root() }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "no message".into())
}
