//! POMO's multi-start: one rollout per feasible first customer, or per the K
//! first customers the policy likes best, each decoded to the end; the best
//! is kept. Instances with fewer feasible first customers than the batch's
//! rollout count repeat theirs.

use burn::tensor::backend::Backend;

use super::{augment, best_of, runner::Batch, Outcome, Selector, Starts};
use crate::env::Env;
use crate::error::Result;

/// Which first customers a multi-start with K < n starts takes.
///
/// Inference ranks them by the policy's first-step probabilities (its K
/// favourites); training takes the first K feasible ones in index order, as
/// POMO does, so that the starts do not depend on the weights being trained.
/// With every customer a start (`Starts::All`) the two agree on the nodes.
/// They differ in how many starts an instance gets: decoding gives every
/// instance as many as the instance of the batch with the most feasible
/// first customers; training gives every instance one per customer (or K),
/// a number fixed by the instance's size, so that a batch split between
/// data-parallel peers starts the same rollouts as the whole batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstNodes {
    /// The policy's favourites (decoding).
    Ranked,
    /// Index order (training).
    IndexOrder,
}

/// The work of a construction that `lrm solve` spends by default, in
/// rollouts x customers² (a rollout takes n steps, each reading n nodes):
/// about a second on two CPU cores, two with LazyMask's look-ahead (TSPTW
/// at 200 customers: 1.8 s). It buys every start and x8 up to 200
/// customers, every start up to 400, then the policy's 64,000,000 / n²
/// favourite starts (64 at 1,000 customers).
pub const SOLVE_WORK: u64 = 64_000_000;

/// POMO's inference within `work` (rollouts x customers²) on an instance of
/// `customers` customers: every start and x8 augmentation when that fits,
/// else every start, else as many of the policy's favourite starts as fit
/// (at least one). POMO (Kwon et al., NeurIPS 2020) infers with every
/// start and x8; the bound keeps large instances at a cost like a small one's.
pub fn within_work(customers: usize, work: u64) -> (Starts, bool) {
    let n = customers.max(1) as u64;
    let per_rollout = n.saturating_mul(n);
    let every_start = n.saturating_mul(per_rollout);
    if every_start.saturating_mul(augment::DIHEDRAL as u64) <= work {
        (Starts::All, true)
    } else if every_start <= work {
        (Starts::All, false)
    } else {
        match work / per_rollout {
            0 | 1 => (Starts::One, false),
            k => (Starts::Count(k as usize), false),
        }
    }
}

/// Decode every instance of `batch` from `starts` first nodes with `selector`.
pub fn decode<B: Backend>(batch: &Batch<B>, starts: Starts, selector: &mut Selector) -> Result<Vec<Outcome>> {
    let mut env = batch.env(1);
    if starts != Starts::One {
        let first = first_nodes(batch, &env, starts, FirstNodes::Ranked);
        let per_instance = first.len() / env.num_instances();
        env = batch.env(per_instance);
        env.reset(Some(&first))?;
    }
    batch.construct(&mut env, selector)?;
    Ok(best_of(batch.originals(), &env, None))
}

/// First nodes for every instance of `env` (one rollout each, at the depot),
/// as a flat list of `P` per instance, instance-major, chosen by `rule`.
pub fn first_nodes<B: Backend>(batch: &Batch<B>, env: &Env, starts: Starts, rule: FirstNodes) -> Vec<usize> {
    let width = env.width();
    let log_p = match (starts, rule) {
        (Starts::Count(_), FirstNodes::Ranked) => Some(batch.log_probs(env, env.mask(), None)),
        _ => None,
    };
    let ranked: Vec<Vec<usize>> = (0..env.num_rollouts())
        .map(|r| {
            let mut nodes: Vec<usize> = (1..width).filter(|&j| env.mask_row(r)[j]).collect();
            if let Some(lp) = &log_p {
                let row = &lp[r * width..(r + 1) * width];
                nodes.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            }
            nodes
        })
        .collect();
    let fixed = (rule == FirstNodes::IndexOrder).then_some(width - 1);
    cycle(&ranked, starts, fixed)
}

/// `P` first nodes per rollout's ranked list (instance-major): every node
/// (`All`) or the first K, lists shorter than `P` repeated, an empty list
/// (no feasible first customer) giving the depot, a no-op. "Every node" is
/// the longest list's length, or `fixed` when given.
pub fn cycle(ranked: &[Vec<usize>], starts: Starts, fixed: Option<usize>) -> Vec<usize> {
    let most = fixed.unwrap_or_else(|| ranked.iter().map(Vec::len).max().unwrap_or(0)).max(1);
    let per_instance = match starts {
        Starts::Count(k) => k.min(most),
        Starts::One => 1,
        Starts::All => most,
    };
    ranked.iter().flat_map(|nodes| (0..per_instance).map(move |p| if nodes.is_empty() { 0 } else { nodes[p % nodes.len()] })).collect()
}
