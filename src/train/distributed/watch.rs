//! The failure side of a data-parallel run: Burn's collective calls have no
//! timeout, so every call a peer makes is recorded here ([`Watch`]) and
//! timed by the launcher; past the timeout, or when a call fails, the error
//! says which call, for how long, and which nodes no longer answer at their
//! addresses.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::DistributedConfig;

/// What the peers of a process are doing, for the timeout: per local
/// peer, the collective call it waits in and since when; whether every
/// node has joined the coordinator; and, once the nodes have exchanged
/// their handshake, their addresses by rank.
#[derive(Default)]
pub struct Watch {
    waiting: Mutex<Vec<Option<(Instant, String)>>>,
    joined: AtomicBool,
    nodes: Mutex<Vec<String>>,
}

impl Watch {
    pub fn new(local_peers: usize) -> Arc<Watch> {
        Arc::new(Watch { waiting: Mutex::new(vec![None; local_peers]), ..Watch::default() })
    }

    /// Every node has joined the coordinator (Burn's registration returned).
    pub(super) fn set_joined(&self) {
        self.joined.store(true, Ordering::Relaxed);
    }

    pub(super) fn enter(&self, local: usize, what: String) {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())[local] = Some((Instant::now(), what));
    }

    pub(super) fn leave(&self, local: usize) {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())[local] = None;
    }

    /// The longest wait past `timeout`: which local peer, in what call, for how long.
    pub fn overdue(&self, timeout: Duration) -> Option<(usize, String, Duration)> {
        let waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.as_ref().map(|(since, what)| (i, what.clone(), since.elapsed())))
            .filter(|(_, _, waited)| *waited > timeout)
            .max_by_key(|(_, _, waited)| *waited)
    }

    /// The nodes' addresses by rank, once they have met.
    pub(super) fn set_nodes(&self, addresses: Vec<String>) {
        *self.nodes.lock().unwrap_or_else(|e| e.into_inner()) = addresses;
    }

    /// Whether every local peer waits in a collective call.
    pub fn all_waiting(&self) -> bool {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner()).iter().all(Option::is_some)
    }
}

/// Why a run's peers stopped waiting, for the error: the call, for how
/// long, and on several nodes which nodes no longer answer.
pub fn timeout_message(watch: &Watch, config: &DistributedConfig, timeout: Duration) -> Option<String> {
    let (local, what, waited) = watch.overdue(timeout)?;
    let mut message = format!("peer {local} of node {} waited {:.0} s in {what}", config.node_rank, waited.as_secs_f64());
    if config.nodes > 1 {
        message += &format!(": {}", absent_nodes(watch, config));
    }
    if !watch.all_waiting() {
        message += "; another peer of this node is still busy (raise distributed.timeout_seconds if it validates for long)";
    }
    Some(message + "; the last checkpoint is intact: continue with lrm train --resume RUN_DIR")
}

/// Looks at every node's address before the message says all still answer.
const ABSENCE_CHECKS: usize = 4;

/// Which other nodes no longer answer at their addresses (a connection to
/// each is tried, up to [`ABSENCE_CHECKS`] times half a second apart while
/// all answer), or, before the nodes have met, whether the coordinator does.
pub fn absent_nodes(watch: &Watch, config: &DistributedConfig) -> String {
    let nodes = watch.nodes.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if nodes.is_empty() {
        let coordinator = config.coordinator.as_deref().unwrap_or_default();
        if watch.joined.load(Ordering::Relaxed) {
            return format!("every node joined the coordinator at {coordinator}, but their start-up handshake failed: a node stopped, or one cannot reach another at its --node-address (a wrong address, a firewall)");
        }
        return match reachable(coordinator) {
            true => {
                format!("not all {0} nodes joined the coordinator at {coordinator}; start every node with --nodes {0} and its own --node-rank (a coordinator that saw a failed run keeps its nodes: restart it)", config.nodes)
            }
            false => format!("no coordinator answers at {coordinator}; start one there with `lrm coordinator --port PORT`"),
        };
    }
    // A node that was just killed may still accept connections for a moment
    // (its listening socket closes after the connection whose loss brought us
    // here): look again before calling every node alive.
    let mut gone = vec![];
    for attempt in 0..ABSENCE_CHECKS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500));
        }
        gone = nodes
            .iter()
            .enumerate()
            .filter(|&(rank, address)| rank != config.node_rank && !reachable(address))
            .map(|(rank, address)| format!("node {rank} ({address})"))
            .collect();
        if !gone.is_empty() {
            break;
        }
    }
    match gone.is_empty() {
        true => {
            "every other node still answers at its address; one of them is stuck or much slower (raise distributed.timeout_seconds if it validates for long)"
                .into()
        }
        false => format!("{} no longer answers; it stopped", gone.join(", ")),
    }
}

fn reachable(address: &str) -> bool {
    address.to_socket_addrs().ok().and_then(|mut addrs| addrs.next()).is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}
