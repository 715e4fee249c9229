//! Arc lengths for the search, computed once: a search evaluates the same
//! arcs millions of times, and an instance keeps only coordinates.

use crate::problem::rules::travel;
use crate::problem::Instance;

/// Above this many nodes the matrix is not stored (4,000 nodes: 128 MB) and
/// arcs are computed on demand.
const MAX_STORED_NODES: usize = 4000;

/// The distance a route pays from node `i` to node `j` ([`travel`]: arcs
/// into the depot are free on open routes), and the travel time, in the
/// instance's units.
pub struct Arcs<'a> {
    inst: &'a Instance,
    nodes: usize,
    matrix: Option<Vec<f64>>,
}

impl<'a> Arcs<'a> {
    pub fn new(inst: &'a Instance) -> Self {
        let nodes = inst.num_nodes();
        let matrix = (nodes <= MAX_STORED_NODES).then(|| (0..nodes * nodes).map(|k| travel(inst, k / nodes, k % nodes)).collect());
        Arcs { inst, nodes, matrix }
    }

    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        match &self.matrix {
            Some(m) => m[i * self.nodes + j],
            None => travel(self.inst, i, j),
        }
    }

    /// Travel time from `i` to `j` ([`Instance::travel_time`]).
    #[inline]
    pub fn time(&self, i: usize, j: usize) -> f64 {
        self.inst.travel_time(i, j)
    }

    pub fn instance(&self) -> &'a Instance {
        self.inst
    }
}

/// Granular neighbour lists (Toth and Vigo 2003): for each customer, the `k`
/// customers closest to it in either direction, nearest first. Moves are
/// only tried between a customer and its neighbours.
pub fn neighbours(inst: &Instance, k: usize) -> Vec<Vec<usize>> {
    let n = inst.num_customers();
    let k = k.min(n.saturating_sub(1));
    let mut lists = vec![vec![]; n + 1];
    for (u, list) in lists.iter_mut().enumerate().skip(1) {
        let mut near: Vec<(f64, usize)> = (1..=n).filter(|&v| v != u).map(|v| (inst.distance(u, v).min(inst.distance(v, u)), v)).collect();
        if near.len() > k {
            near.select_nth_unstable_by(k, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            near.truncate(k);
        }
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *list = near.into_iter().map(|(_, v)| v).collect();
    }
    lists
}
