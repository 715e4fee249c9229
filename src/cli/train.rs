//! `lrm train --config NAME.toml [--init MODEL.toml] [--out RUN_DIR] [--device ...]`
//! or `lrm train --resume RUN_DIR`; data-parallel with `--devices` and `--nodes`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use burn::tensor::backend::AutodiffBackend;

use super::shared::DeviceArg;
use crate::backend::{run_on_devices, DeviceSpec, DevicesJob};
use crate::error::{Error, Result};
use crate::train::config::TrainConfig;
use crate::train::distributed::DistributedConfig;
use crate::train::launch::{self, Launch, Summary};
use crate::train::run_dir;
use crate::train::Start;

const TWO_MACHINES: &str = "\
Data-parallel training (the [distributed] table of the config says the same):
  lrm train --config C.toml --devices cpu,cpu          two peers on this machine
Two machines, 10.0.0.1 and 10.0.0.2, two GPUs each:
  10.0.0.1$ lrm coordinator --port 3000
  10.0.0.1$ lrm train --config C.toml --devices cuda:0,cuda:1 --nodes 2 --node-rank 0 \\
                --coordinator 10.0.0.1:3000 --node-address 10.0.0.1:3001
  10.0.0.2$ lrm train --config C.toml --devices cuda:0,cuda:1 --nodes 2 --node-rank 1 \\
                --coordinator 10.0.0.1:3000 --node-address 10.0.0.2:3001
Node 0 writes the run (--out); to continue it, run node 0 with --resume RUN_DIR
and the other nodes as before: every node takes node 0's state.";

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["config", "resume"])), after_help = TWO_MACHINES)]
pub struct Args {
    /// The training config (see configs/).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint, with the config it was started with.
    #[arg(long, conflicts_with = "config")]
    resume: Option<PathBuf>,
    /// Start from this model checkpoint (e.g. models/mtvrp-cpu.toml) instead
    /// of fresh weights: a new optimizer, the card's training history carried
    /// on. The config's [model] must be the checkpoint's, or the same with a
    /// larger n_layers (encoder layers added, starting as the identity).
    #[arg(long, conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// The run directory (default: runs/NAME for configs/NAME.toml).
    #[arg(long, conflicts_with = "resume")]
    out: Option<PathBuf>,
    #[command(flatten)]
    backend: DeviceArg,
    /// Data-parallel peers on this machine, one per device, all of one backend (cpu,cpu or cuda:0,cuda:1).
    #[arg(long, value_delimiter = ',', conflicts_with = "device")]
    devices: Option<Vec<DeviceSpec>>,
    /// Machines in the run (with --coordinator, --node-rank and --node-address).
    #[arg(long)]
    nodes: Option<usize>,
    /// This machine's index among the nodes, 0 to nodes - 1; node 0 writes the run.
    #[arg(long)]
    node_rank: Option<usize>,
    /// HOST:PORT of `lrm coordinator`.
    #[arg(long)]
    coordinator: Option<String>,
    /// HOST:PORT at which the other nodes reach this one (the port is opened here).
    #[arg(long)]
    node_address: Option<String>,
    /// Seconds a peer waits for the others before the run stops with an error (default 600).
    #[arg(long)]
    peer_timeout: Option<u64>,
}

impl Args {
    /// The config's [distributed] table with the flags laid over it.
    fn distributed(&self, config: &DistributedConfig) -> Result<DistributedConfig> {
        let mut d = config.clone();
        if let Some(devices) = &self.devices {
            d.devices = devices.iter().map(ToString::to_string).collect();
        }
        d.nodes = self.nodes.unwrap_or(d.nodes);
        d.node_rank = self.node_rank.unwrap_or(d.node_rank);
        d.coordinator = self.coordinator.clone().or(d.coordinator);
        d.node_address = self.node_address.clone().or(d.node_address);
        d.timeout_seconds = self.peer_timeout.unwrap_or(d.timeout_seconds);
        d.validate().map_err(|e| Error::bad_input("lrm train", None, e))?;
        Ok(d)
    }
}

struct Train {
    launch: Launch,
    stop: Arc<AtomicBool>,
    /// What to tell the user once the backend has started (a GPU's first steps compile).
    started: Option<String>,
}

impl DevicesJob for Train {
    type Output = Summary;
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>) -> Result<Summary> {
        if let Some(text) = self.started {
            eprintln!("{text}");
        }
        launch::train::<B>(self.launch, devices, self.stop)
    }
}

pub fn run(a: Args) -> Result<()> {
    let (path, root, start) = match (&a.config, &a.resume) {
        (_, Some(dir)) => (dir.join("config.toml"), dir.clone(), Start::Resume),
        (Some(path), None) => {
            let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "run".into());
            let start = a.init.clone().map_or(Start::Fresh, Start::Init);
            (path.clone(), a.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(stem)), start)
        }
        (None, None) => unreachable!("clap requires one of them"),
    };
    // Nodes other than node 0 never validate: they need not hold the validation files.
    let in_file = TrainConfig::parse(&path, &crate::problem::io::read_text(&path)?)?.distributed;
    let mut config = TrainConfig::read_with(&path, a.node_rank.unwrap_or(in_file.node_rank) == 0)?;
    if a.resume.is_some() {
        config.source = None;
    }
    let distributed = a.distributed(&config.distributed)?;
    let devices = match distributed.device_specs().map_err(|e| Error::bad_input("lrm train", None, e))? {
        specs if specs.is_empty() => vec![a.backend.device],
        _ if a.backend.device != DeviceSpec::Cpu => {
            return Err(Error::bad_input("lrm train", None, "--device and the config's distributed.devices both name devices: give the devices with --devices"))
        }
        specs => specs,
    };
    let stop = stop_on_ctrl_c(&root)?;
    let started = (devices[0] != DeviceSpec::Cpu)
        .then(|| format!("{}: the first steps compile GPU kernels, for minutes where none are cached yet (Ctrl-C twice stops at once)", devices[0]));
    let launch = Launch { config, root: root.clone(), start, distributed, progress: std::io::stderr().is_terminal() };
    let s = run_on_devices(&devices, Train { launch, stop, started }).inspect_err(|_| {
        // Other peers' threads may still run while the process ends with
        // this error: keep a checkpoint being written whole until then.
        std::mem::forget(run_dir::checkpoint_lock());
    })?;
    let best = s.best_score.map_or("no validation".to_string(), |s| format!("best validation score {s:.4}"));
    match s.wrote_run {
        true => println!("{}: step {} of {}, {best}; checkpoints in {}", root.display(), s.step, s.total_steps, root.display()),
        false => println!("step {} of {}: this node's peers are done; node 0 wrote the run", s.step, s.total_steps),
    }
    Ok(())
}

/// A flag that the first Ctrl-C sets: the trainers stop after the step under
/// way and checkpoint. A second Ctrl-C ends the process at once (exit 130),
/// for a step that takes long (a GPU's first step compiles for minutes), once
/// a checkpoint being written is complete, so the last checkpoint stays
/// intact; a third ends it without waiting, should that write hang.
fn stop_on_ctrl_c(root: &Path) -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let presses = AtomicUsize::new(0);
    let resume = format!("lrm train --resume {}", root.display());
    let handler = move || match presses.fetch_add(1, Ordering::SeqCst) {
        0 => {
            flag.store(true, Ordering::SeqCst);
            eprintln!("\nstopping after this step, with a checkpoint; Ctrl-C again stops at once, losing the steps since the last checkpoint");
        }
        1 => {
            eprintln!("\nstopped at once; {resume} continues from the last checkpoint");
            // Off the handler's thread, so that a third Ctrl-C is heard while this waits.
            std::thread::spawn(|| {
                let _no_writes = run_dir::checkpoint_lock();
                std::process::exit(130);
            });
        }
        _ => std::process::exit(130),
    };
    ctrlc::set_handler(handler).map_err(|e| Error::Failure(format!("cannot catch Ctrl-C: {e}")))?;
    Ok(stop)
}
