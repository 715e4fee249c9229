//! Starting a training run: one trainer on one device, or one data-parallel
//! peer per device of this node (each on its own thread, the root's trainer
//! opening the run, the others taking its state), watched so that a peer
//! that fails or a node that stops answering ends the run with an error
//! naming it instead of a hang.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use burn::module::Module;
use burn::record::Recorder;
use burn::tensor::backend::AutodiffBackend;

use super::distributed::{absent_nodes, fingerprint, timeout_message, DistributedConfig, Peer, Watch};
use super::optim::Optim;
use super::run_dir::TrainState;
use super::{init_aside, supervised, Bytes, Start, Trainer};
use crate::error::{Error, Result};
use crate::train::config::TrainConfig;

/// Held by a data-parallel run: Burn's collective is one per process and backend.
static COLLECTIVE: Mutex<()> = Mutex::new(());

/// How often the launcher looks at its peers.
const POLL: Duration = Duration::from_millis(200);

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
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_peer::<B>(&launch, local, local_peers, watch, &device, &stop)));
            let outcome = outcome.unwrap_or_else(|panic| Err(Error::Failure(format!("it panicked: {}", panic_text(&panic)))));
            let _ = tx.send((local, outcome));
        });
        spawned.map_err(|e| Error::Failure(format!("cannot start the thread of peer {local}: {e}")))?;
    }
    drop(tx);
    let outcome = watch_peers(&launch.distributed, &watch, &rx, local_peers);
    if outcome.is_err() {
        burn::collective::reset_collective::<B::InnerBackend>();
    }
    outcome
}

/// Wait for every local peer to finish; the first error, or the first
/// collective call past the timeout, ends the run.
fn watch_peers(config: &DistributedConfig, watch: &Watch, rx: &mpsc::Receiver<(usize, Result<Summary>)>, local_peers: usize) -> Result<Summary> {
    let timeout = Duration::from_secs(config.timeout_seconds);
    let mut done: Vec<Option<Summary>> = vec![None; local_peers];
    while done.iter().any(Option::is_none) {
        match rx.recv_timeout(POLL) {
            Ok((local, Ok(s))) => done[local] = Some(s),
            Ok((0, Err(e @ Error::BadInput { .. }))) => return Err(e),
            Ok((local, Err(e))) => {
                let nodes = if config.nodes > 1 { format!(" ({})", absent_nodes(watch, config)) } else { String::new() };
                return Err(Error::Failure(format!("peer {local} of node {} stopped: {e}{nodes}", config.node_rank)));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(message) = timeout_message(watch, config, timeout) {
                    return Err(Error::Failure(message));
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Error::Failure("a peer's thread ended without a result".into())),
        }
    }
    let mut summaries = done.into_iter().flatten();
    Ok(summaries.next().expect("one peer at least"))
}

/// One peer: its trainer (the root's opens the run directory, before any
/// other peer is waited for, so that a bad run directory fails at once),
/// the collective joined, the root's state taken, the steps.
fn run_peer<B: AutodiffBackend>(
    launch: &Launch,
    local: usize,
    local_peers: usize,
    watch: Arc<Watch>,
    device: &B::Device,
    stop: &AtomicBool,
) -> Result<Summary> {
    let root = local == 0 && launch.distributed.node_rank == 0;
    let mut trainer = match root {
        true => Trainer::<B>::new(launch.config.clone(), &launch.root, launch.start.clone(), device)?,
        false => Trainer::<B>::follower(launch.config.clone(), device)?,
    };
    let peer = Peer::join::<B>(&launch.distributed, fingerprint(&launch.config), local, local_peers, watch, device)?;
    trainer.attach(peer)?;
    trainer.run(stop, launch.progress)?;
    if let Some(peer) = trainer.peer() {
        peer.finish::<B>();
    }
    Ok(summary(&trainer))
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
            policy: init_aside(&model, device),
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
            self.policy = init_aside(&self.model, &self.device).load_record(record);
            self.optim = Optim::new(&self.config.optimizer).from_bytes(optim, &self.device)?;
            self.state = serde_json::from_slice(&state).map_err(|e| Error::Failure(format!("the root's training state does not load: {e}")))?;
        }
        if self.config.trainer.self_improvement.is_some() {
            self.labels = None;
        }
        self.peer = Some(peer);
        Ok(())
    }
}

fn summary<B: AutodiffBackend>(trainer: &Trainer<B>) -> Summary {
    Summary { step: trainer.state.step, total_steps: trainer.total_steps(), best_score: trainer.state.best_score, wrote_run: trainer.is_root() }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "no message".into())
}
