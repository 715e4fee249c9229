//! Data-parallel training on Burn's collective engine (`burn-collective`):
//! one peer per device, each on its own thread, and several machines
//! ("nodes") joined through Burn's global orchestrator (`lrm coordinator`).
//!
//! Every peer draws the whole seeded batch of a step and rolls out its fixed
//! slice of it ([`Peer::share`]); what the whole batch needs is summed over
//! the peers: the per-variant reward sums behind the reward normalisation,
//! the loss (each peer's loss is its part of the whole batch's mean) and the
//! gradients, parameter by parameter in the module's order. Every peer then
//! clips and steps its optimizer on the same gradients, so the weights stay
//! equal and the update is the one a single device makes with the whole
//! batch, up to float rounding. Peer 0 (the first device of node 0, the
//! root) validates and writes checkpoints, metrics and plots; at start the
//! other peers take its weights, optimizer state and step, so that a run
//! starts, resumes or continues from `--init` on the root's files alone.
//!
//! Burn's collective calls have no timeout: a peer that died would leave
//! the others waiting for ever. Every call is timed ([`Watch`]); past the
//! timeout the run stops with an error that names what did not answer.

use std::ops::Range;
use std::sync::Arc;

use burn::collective::{self, AllReduceStrategy, CollectiveConfig, PeerId, ReduceOperation};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use crate::backend::DeviceSpec;
use crate::error::{Error, Result};
use crate::model::Policy;

/// Seconds a collective call may wait before the run stops (the `[distributed]` default).
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 600;

/// Values per collective call when the root's state is sent (64 MiB of f32).
const CHUNK_VALUES: usize = 16 << 20;

/// Longest node address carried in the start-up handshake, in bytes.
const ADDRESS_BYTES: usize = 64;

/// How long a node waits after registering before its first sum.
///
/// Burn's collective (0.21) starts a node's data server without waiting for
/// it to listen, and a node's first download from another does not retry
/// ("Failed to connect to data server", then `LocalServerMissing`): on a
/// loaded machine a few starts in hundreds failed, and every start whose
/// peer bound its port 300 ms late. Every node starts its server before it
/// registers, and registration ends for all nodes at once, so this wait
/// gives the slowest server that long to listen before anyone downloads
/// from it.
const SERVER_START_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

mod watch;

pub use watch::{absent_nodes, timeout_message, Watch};

/// The `[distributed]` table of a training config (or the `lrm train`
/// flags of the same names): the devices of this node and, for several
/// machines, the coordinator and this node's place among the nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributedConfig {
    /// This node's devices, one peer each, all of one backend (`["cpu", "cpu"]`,
    /// `["cuda:0", "cuda:1"]`); empty: the `--device` of the command line.
    #[serde(default)]
    pub devices: Vec<String>,
    /// Machines in the run.
    #[serde(default = "one")]
    pub nodes: usize,
    /// This node's index among them, 0 to `nodes - 1`; node 0 writes the run.
    #[serde(default)]
    pub node_rank: usize,
    /// `HOST:PORT` of `lrm coordinator`, needed with several nodes.
    #[serde(default)]
    pub coordinator: Option<String>,
    /// `HOST:PORT` at which the other nodes reach this one (the port is
    /// opened here for the gradients' exchange), needed with several nodes.
    #[serde(default)]
    pub node_address: Option<String>,
    /// Seconds any collective call may wait for the other peers before the
    /// run stops with an error. Non-root peers wait through the root's
    /// validation: keep it above the longest validation.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn one() -> usize {
    1
}

fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECONDS
}

impl Default for DistributedConfig {
    fn default() -> Self {
        DistributedConfig { devices: vec![], nodes: 1, node_rank: 0, coordinator: None, node_address: None, timeout_seconds: DEFAULT_TIMEOUT_SECONDS }
    }
}

impl DistributedConfig {
    /// Whether the run has more than one peer.
    pub fn is_parallel(&self) -> bool {
        self.devices.len() > 1 || self.nodes > 1
    }

    /// The devices, parsed; all must be of one backend.
    ///
    /// # Errors
    /// An unknown device name, or devices of two backends.
    pub fn device_specs(&self) -> std::result::Result<Vec<DeviceSpec>, String> {
        let specs = self.devices.iter().map(|d| d.parse::<DeviceSpec>()).collect::<std::result::Result<Vec<_>, _>>()?;
        if specs.windows(2).any(|w| std::mem::discriminant(&w[0]) != std::mem::discriminant(&w[1])) {
            return Err(format!("distributed.devices = {:?}: the devices of a node must all be of one backend", self.devices));
        }
        Ok(specs)
    }

    /// Checks that the nodes' settings go together.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.device_specs()?;
        if self.nodes == 0 {
            return Err("distributed.nodes = 0: give at least 1".into());
        }
        if self.node_rank >= self.nodes {
            return Err(format!("distributed.node_rank = {}: must be below distributed.nodes = {}", self.node_rank, self.nodes));
        }
        if self.timeout_seconds == 0 {
            return Err("distributed.timeout_seconds = 0: give the seconds a peer may wait for the others".into());
        }
        if self.nodes > 1 {
            for (name, value) in [("coordinator", &self.coordinator), ("node_address", &self.node_address)] {
                let Some(value) = value else {
                    return Err(format!("distributed.{name} is needed with nodes = {} (HOST:PORT; see lrm train --help)", self.nodes));
                };
                if host_port(value).is_none() {
                    return Err(format!("distributed.{name} = {value:?}: expected HOST:PORT, e.g. 10.0.0.1:3000"));
                }
            }
            if self.node_address.as_ref().is_some_and(|a| a.len() > ADDRESS_BYTES) {
                return Err(format!("distributed.node_address is longer than {ADDRESS_BYTES} characters"));
            }
        }
        Ok(())
    }

    /// Burn's collective settings for this node.
    fn collective(&self, local_peers: usize) -> CollectiveConfig {
        let config = CollectiveConfig::default().with_num_devices(local_peers);
        match (self.nodes, &self.coordinator, &self.node_address) {
            (n, Some(coordinator), Some(node)) if n > 1 => {
                let port = host_port(node).map_or(0, |(_, p)| p);
                // Burn's default between nodes, the ring, refuses tensors shorter than
                // the number of nodes (a loss, a flag); the tree takes any.
                config
                    .with_global_all_reduce_strategy(AllReduceStrategy::Tree(2))
                    .with_num_nodes(n as u32)
                    .with_global_address(format!("ws://{coordinator}").parse().expect("any string is an address"))
                    .with_node_address(format!("ws://{node}").parse().expect("any string is an address"))
                    .with_data_service_port(port)
            }
            _ => config,
        }
    }
}

/// Run Burn's global orchestrator on `port`, the meeting point of the
/// nodes of a run, until Ctrl-C or SIGTERM.
///
/// # Errors
/// The port taken or not ours to open.
pub fn coordinate(port: u16) -> Result<()> {
    drop(
        std::net::TcpListener::bind(("0.0.0.0", port))
            .map_err(|e| Error::Failure(format!("cannot listen on port {port}: {e} (choose another with --port)")))?,
    );
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Error::Failure(format!("cannot start the coordinator's runtime: {e}")))?;
    runtime.block_on(collective::start_global_orchestrator(port));
    Ok(())
}

/// `HOST:PORT` split, the port a number.
fn host_port(text: &str) -> Option<(&str, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    Some((host, port.parse().ok()?)).filter(|&(h, p)| !h.is_empty() && p > 0)
}

/// What every node's config must agree on: the training config without
/// its distributed settings and validation sets (the root's own), with its
/// input files (cities, labels) by name and contents, not by directory
/// (which differs between machines).
pub fn fingerprint(config: &TrainConfig) -> u64 {
    let mut c = config.clone();
    c.source = None;
    c.validation.clear();
    c.distributed = DistributedConfig::default();
    let file_name = |p: &mut std::path::PathBuf| *p = p.file_name().map(Into::into).unwrap_or_default();
    if let Some(super::config::CitySource::Files(p)) = &mut c.problem.cities {
        file_name(p);
    }
    if let Some(l) = &mut c.trainer.labels {
        file_name(&mut l.data);
        l.reference.as_mut().map(file_name);
    }
    let mut hash = Fnv::default();
    hash.add(toml::to_string(&c).unwrap_or_else(|e| e.to_string()).as_bytes());
    let files = config.trainer.labels.iter().flat_map(|l| std::iter::once(&l.data).chain(&l.reference));
    let cities = match &config.problem.cities {
        Some(super::config::CitySource::Files(p)) => Some(p),
        _ => None,
    };
    for path in files.chain(cities) {
        hash.add_files(path);
    }
    hash.0
}

/// FNV-1a, 64 bits: the same on every machine and Rust release.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The contents of a file, or of every file of a folder in name order
    /// (names included); what cannot be read counts as its path.
    fn add_files(&mut self, path: &std::path::Path) {
        let mut entries: Vec<std::path::PathBuf> = match std::fs::read_dir(path) {
            Ok(dir) => dir.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect(),
            Err(_) => vec![path.to_path_buf()],
        };
        entries.sort();
        for entry in entries {
            self.add(entry.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default());
            match std::fs::read(&entry) {
                Ok(bytes) => self.add(&bytes),
                Err(_) => self.add(entry.as_os_str().as_encoded_bytes()),
            }
        }
    }
}

/// One peer of a data-parallel run: its place among all peers, and the
/// collective calls it makes with them.
pub struct Peer {
    /// Index among all peers of all nodes, 0 to `count - 1`: the share of
    /// the batch, and the root (0).
    pub index: usize,
    /// The id this peer registered with (unique over the nodes before
    /// their ranks are known).
    id: PeerId,
    /// Peers of all nodes.
    pub count: usize,
    /// Index among this node's peers (its slot in the [`Watch`]).
    pub local: usize,
    /// This node's rank among the nodes.
    pub node_rank: usize,
    watch: Arc<Watch>,
}

impl Peer {
    /// The root writes the run: checkpoints, metrics, plots, validation.
    pub fn is_root(&self) -> bool {
        self.index == 0
    }

    /// This peer's fixed slice of a batch of `len` instances: consecutive
    /// slices in peer order, sizes differing by at most one.
    pub fn share(&self, len: usize) -> Range<usize> {
        share(self.index, self.count, len)
    }

    /// Register with the other peers (and through the coordinator with the
    /// other nodes), then agree on who is who: every node's rank must be
    /// given once, every config must be the same.
    ///
    /// # Errors
    /// Burn's collective refusing the registration or failing the first
    /// sum; as bad input (`distributed`), a rank that no node or two nodes
    /// took, or a node whose config differs (named with its address).
    pub fn join<B: AutodiffBackend>(
        config: &DistributedConfig,
        fingerprint: u64,
        local: usize,
        local_peers: usize,
        watch: Arc<Watch>,
        device: &B::Device,
    ) -> Result<Peer> {
        let provisional = local + config.node_rank * 1_000;
        watch.enter(local, "joining the other peers".into());
        let joined = collective::register::<B::InnerBackend>(PeerId::from(provisional), device.clone(), config.collective(local_peers));
        watch.leave(local);
        joined.map_err(|e| Error::Failure(format!("peer {local} of node {} could not join the collective: {e:?}", config.node_rank)))?;
        watch.set_joined();
        if config.nodes > 1 {
            std::thread::sleep(SERVER_START_GRACE);
        }
        let mut peer = Peer { index: provisional, id: PeerId::from(provisional), count: 0, local, node_rank: config.node_rank, watch };
        peer.handshake::<B>(config, fingerprint, local_peers, device)?;
        Ok(peer)
    }

    /// Every node puts, in its rank's row, that it is there, its number of
    /// peers, its config's fingerprint and its address; one sum gives every
    /// peer every row.
    fn handshake<B: AutodiffBackend>(&mut self, config: &DistributedConfig, fingerprint: u64, local_peers: usize, device: &B::Device) -> Result<()> {
        const ROW: usize = 6 + ADDRESS_BYTES;
        let mut rows = vec![0.0; config.nodes * ROW];
        if self.local == 0 {
            let row = &mut rows[config.node_rank * ROW..(config.node_rank + 1) * ROW];
            row[0] = 1.0;
            row[1] = local_peers as f64;
            for k in 0..4 {
                row[2 + k] = ((fingerprint >> (16 * k)) & 0xffff) as f64;
            }
            for (slot, byte) in row[6..].iter_mut().zip(config.node_address.as_deref().unwrap_or("").bytes()) {
                *slot = byte as f64;
            }
        }
        let rows = self.sum::<B>(&rows, "the start-up handshake", device)?;
        let address = |r: &[f64]| -> String { r[6..].iter().take_while(|&&b| b > 0.0).map(|&b| b as u8 as char).collect() };
        let addresses: Vec<String> = rows.chunks(ROW).map(address).collect();
        for (rank, row) in rows.chunks(ROW).enumerate() {
            match row[0] as usize {
                1 => {}
                0 => {
                    let message =
                        format!("no node joined with node_rank = {rank}: give each of the {} nodes its own rank, 0 to {}", config.nodes, config.nodes - 1);
                    return Err(Error::bad_input("distributed", None, message));
                }
                n => return Err(Error::bad_input("distributed", None, format!("{n} nodes joined with node_rank = {rank}: give each node its own rank"))),
            }
            let theirs = (0..4).fold(0u64, |h, k| h | ((row[2 + k] as u64) << (16 * k)));
            if theirs != fingerprint {
                let message = format!(
                    "node {rank} ({}) trains another config than node {} (this one): start every node with the same config (the [distributed] table and the validation sets may differ)",
                    addresses[rank], self.node_rank
                );
                return Err(Error::bad_input("distributed", None, message));
            }
        }
        let peers: Vec<usize> = rows.chunks(ROW).map(|r| r[1] as usize).collect();
        self.index = peers[..self.node_rank].iter().sum::<usize>() + self.local;
        self.count = peers.iter().sum();
        self.watch.set_nodes(addresses);
        Ok(())
    }

    /// Element-wise sum of `values` over all peers (in f32, the backend's float).
    ///
    /// # Errors
    /// Burn's collective failing.
    pub fn sum<B: AutodiffBackend>(&self, values: &[f64], what: &str, device: &B::Device) -> Result<Vec<f64>> {
        let tensor = Tensor::<B::InnerBackend, 1>::from_data(TensorData::new(values.iter().map(|&v| v as f32).collect::<Vec<_>>(), [values.len()]), device);
        let summed = self.all_reduce::<B::InnerBackend, 1>(tensor, what)?;
        Ok(summed.into_data().iter::<f32>().map(f64::from).collect())
    }

    fn all_reduce<IB: Backend, const D: usize>(&self, tensor: Tensor<IB, D>, what: &str) -> Result<Tensor<IB, D>> {
        self.watch.enter(self.local, what.to_string());
        let summed = collective::all_reduce::<IB>(self.id, tensor.into_primitive().tensor(), ReduceOperation::Sum);
        self.watch.leave(self.local);
        let summed = summed.map_err(|e| Error::Failure(format!("peer {}: the sum of {what} failed: {e:?}", self.index)))?;
        Ok(Tensor::from_primitive(TensorPrimitive::Float(summed)))
    }

    /// The gradients summed over all peers: laid end to end in the
    /// policy's order (the same on every peer, whatever the parameter ids)
    /// and summed in one call, then cut back into their shapes. A parameter
    /// no peer has a gradient for stays without one, as on a single device;
    /// one that some peers lack counts as zero for them.
    ///
    /// # Errors
    /// Burn's collective failing.
    pub fn sum_gradients<B: AutodiffBackend>(&self, policy: &Policy<B>, mut grads: GradientsParams, device: &B::Device) -> Result<GradientsParams> {
        let mut present = Presence { grads: &grads, has: vec![] };
        policy.visit(&mut present);
        let has: Vec<bool> = self.sum::<B>(&present.has, "which parameters have gradients", device)?.into_iter().map(|h| h > 0.0).collect();
        let mut gather = Gather { grads: &mut grads, has: &has, next: 0, parts: vec![] };
        policy.visit(&mut gather);
        if gather.parts.is_empty() {
            return Ok(grads);
        }
        let summed = self.all_reduce(Tensor::cat(gather.parts, 0), "the gradients")?;
        policy.visit(&mut Scatter { grads: &mut grads, has: &has, next: 0, summed, offset: 0 });
        Ok(grads)
    }

    /// The root's `bytes` on every peer (others pass `None`): sums in which
    /// only the root's values are not zero. Three bytes travel in each f32
    /// (integers below 2^24 are exact), in calls of at most [`CHUNK_VALUES`]
    /// values, so that a large model's state does not need four times its
    /// size at once.
    ///
    /// # Errors
    /// Burn's collective failing.
    pub fn broadcast<B: AutodiffBackend>(&self, bytes: Option<Vec<u8>>, what: &str, device: &B::Device) -> Result<Vec<u8>> {
        let len = bytes.as_ref().map_or(0, Vec::len) as u64;
        let pieces = self.sum::<B>(&[0, 16, 32].map(|shift| ((len >> shift) & 0xffff) as f64), what, device)?;
        let len = pieces.iter().zip([0, 16, 32]).fold(0u64, |l, (&p, shift)| l | ((p as u64) << shift)) as usize;
        let packed: Vec<f32> = match &bytes {
            Some(b) => pack(b),
            None => vec![0.0; len.div_ceil(3)],
        };
        let mut out = Vec::with_capacity(len + 2);
        for chunk in packed.chunks(CHUNK_VALUES) {
            let tensor = Tensor::<B::InnerBackend, 1>::from_data(TensorData::new(chunk.to_vec(), [chunk.len()]), device);
            unpack(self.all_reduce::<B::InnerBackend, 1>(tensor, what)?.into_data().iter::<f32>(), &mut out);
        }
        out.truncate(len);
        Ok(out)
    }

    /// Leave the collective (the last call of a run), watched like the others.
    pub fn finish<B: AutodiffBackend>(&self) {
        self.watch.enter(self.local, "leaving the collective".into());
        let left = collective::finish_collective::<B::InnerBackend>(self.id);
        self.watch.leave(self.local);
        if let Err(e) = left {
            tracing::warn!("peer {} did not leave the collective cleanly: {e:?}", self.index);
        }
    }
}

/// The peers a step's sums go over, as a trainer's loss sees them: none
/// (one device: sums are the values themselves), or this peer's collective.
pub struct Team<'a, B: AutodiffBackend> {
    peer: Option<&'a Peer>,
    pub device: &'a B::Device,
}

impl<'a, B: AutodiffBackend> Team<'a, B> {
    pub fn alone(device: &'a B::Device) -> Self {
        Team { peer: None, device }
    }

    pub fn of(peer: Option<&'a Peer>, device: &'a B::Device) -> Self {
        Team { peer, device }
    }

    /// This peer's slice of a batch of `len` (all of it alone).
    pub fn share(&self, len: usize) -> Range<usize> {
        self.peer.map_or(0..len, |p| p.share(len))
    }

    /// `values` summed over the peers (themselves alone, in f64).
    ///
    /// # Errors
    /// Burn's collective failing.
    pub fn sum(&self, values: Vec<f64>, what: &str) -> Result<Vec<f64>> {
        match self.peer {
            None => Ok(values),
            Some(p) => p.sum::<B>(&values, what, self.device),
        }
    }
}

/// Three bytes to an f32, as an integer below 2^24 (exact), little end first.
fn pack(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks(3).map(|c| c.iter().rev().fold(0u32, |v, &x| (v << 8) | u32::from(x)) as f32).collect()
}

/// [`pack`]'s inverse, three bytes per value (the caller trims the last).
fn unpack(values: impl Iterator<Item = f32>, out: &mut Vec<u8>) {
    for v in values {
        let v = v as u32;
        out.extend([v as u8, (v >> 8) as u8, (v >> 16) as u8]);
    }
}

/// Peer `index`'s slice of `len` instances among `count` peers.
pub fn share(index: usize, count: usize, len: usize) -> Range<usize> {
    let (base, extra) = (len / count, len % count);
    let start = index * base + index.min(extra);
    start..start + base + usize::from(index < extra)
}

/// 1 for every parameter of the policy with a gradient, 0 without, in the policy's order.
struct Presence<'a> {
    grads: &'a GradientsParams,
    has: Vec<f64>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Presence<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.has.push(f64::from(u8::from(self.grads.get::<B::InnerBackend, D>(param.id).is_some())));
    }
}

/// Takes out every gradient some peer has (zeros where this one has none), flattened.
struct Gather<'a, IB: Backend> {
    grads: &'a mut GradientsParams,
    has: &'a [bool],
    next: usize,
    parts: Vec<Tensor<IB, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Gather<'_, B::InnerBackend> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.next += 1;
        if self.has[self.next - 1] {
            let grad = self.grads.remove::<B::InnerBackend, D>(param.id).unwrap_or_else(|| param.val().inner().zeros_like());
            let count = grad.shape().num_elements();
            self.parts.push(grad.reshape([count]));
        }
    }
}

/// Puts back, in [`Gather`]'s order, each parameter's slice of the summed gradients.
struct Scatter<'a, IB: Backend> {
    grads: &'a mut GradientsParams,
    has: &'a [bool],
    next: usize,
    summed: Tensor<IB, 1>,
    offset: usize,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Scatter<'_, B::InnerBackend> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.next += 1;
        if self.has[self.next - 1] {
            let shape = param.val().shape();
            let count = shape.num_elements();
            let part = self.summed.clone().narrow(0, self.offset, count).reshape(shape);
            self.offset += count;
            self.grads.register::<B::InnerBackend, D>(param.id, part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_batch_in_order_and_differ_by_at_most_one() {
        for (count, len) in [(1, 7), (2, 8), (2, 7), (3, 10), (4, 3)] {
            let shares: Vec<Range<usize>> = (0..count).map(|i| share(i, count, len)).collect();
            assert_eq!(shares[0].start, 0);
            assert_eq!(shares[count - 1].end, len);
            assert!(shares.windows(2).all(|w| w[0].end == w[1].start));
            let sizes: Vec<usize> = shares.iter().map(|s| s.len()).collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
        }
    }

    #[test]
    fn bytes_travel_three_to_a_float_and_come_back() {
        for len in 0..8 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 97 + 255) as u8).collect();
            let mut back = vec![];
            unpack(pack(&bytes).into_iter(), &mut back);
            back.truncate(len);
            assert_eq!(back, bytes);
        }
        assert_eq!(pack(&[255, 255, 255]), vec![16_777_215.0]);
    }

    #[test]
    fn the_table_reads_with_defaults_and_refuses_unknown_fields() {
        let d: DistributedConfig = toml::from_str("devices = [\"cpu\", \"cpu\"]").unwrap();
        assert_eq!(d, DistributedConfig { devices: vec!["cpu".into(), "cpu".into()], ..Default::default() });
        assert!(d.is_parallel());
        assert_eq!(d.timeout_seconds, DEFAULT_TIMEOUT_SECONDS);
        let err = toml::from_str::<DistributedConfig>("node = 2").unwrap_err().to_string();
        assert!(err.contains("node"), "{err}");
    }

    #[test]
    fn settings_for_several_nodes_are_checked() {
        let two = DistributedConfig { nodes: 2, coordinator: Some("10.0.0.1:3000".into()), node_address: Some("10.0.0.2:3001".into()), ..Default::default() };
        assert!(two.validate().is_ok());
        let no_coordinator = DistributedConfig { coordinator: None, ..two.clone() };
        assert!(no_coordinator.validate().unwrap_err().contains("coordinator is needed"));
        let bad_port = DistributedConfig { node_address: Some("10.0.0.2".into()), ..two.clone() };
        assert!(bad_port.validate().unwrap_err().contains("HOST:PORT"));
        let rank = DistributedConfig { node_rank: 2, ..two };
        assert!(rank.validate().unwrap_err().contains("node_rank"));
        let mixed = DistributedConfig { devices: vec!["cpu".into(), "cuda:0".into()], ..Default::default() };
        assert!(mixed.validate().unwrap_err().contains("one backend"));
    }
}
