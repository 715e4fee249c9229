//! The solution a search works on: routes with their rule summaries
//! ([`Segment`]) kept for every prefix and suffix, so that a move's new
//! routes are checked in constant time from pieces of the old ones.
//!
//! Every route is stored with its depots, `[0, c1, ..., ck, 0]`; the end
//! depot costs nothing on open routes ([`Arcs`]). When the fleet allows one
//! more route, an empty route `[0, 0]` is kept last, so that moves may open a
//! route. A move is proposed as a [`Move`]: the cost change and the new
//! customer lists of the routes it touches. [`Routes::confirm`] walks those
//! routes through `problem::rules` (the evaluator's own check) before
//! [`Routes::apply`] takes it.

use super::arcs::Arcs;
use crate::problem::rules::Segment;
use crate::problem::{route_breach, Instance, Solution};

/// A summarised sequence of nodes: its rule segment and its end nodes.
#[derive(Clone, Copy, Debug)]
pub struct Piece {
    pub seg: Segment,
    pub first: usize,
    pub last: usize,
}

impl Piece {
    pub const EMPTY: Piece = Piece { seg: Segment::EMPTY, first: 0, last: 0 };

    /// One customer.
    pub fn customer(inst: &Instance, j: usize) -> Piece {
        Piece { seg: Segment::customer(inst, j), first: j, last: j }
    }

    /// This piece followed by `next`.
    #[inline]
    pub fn then(&self, next: &Piece, arcs: &Arcs) -> Piece {
        if self.seg.visits == 0 {
            return *next;
        }
        if next.seg.visits == 0 {
            return *self;
        }
        let (i, j) = (self.last, next.first);
        Piece { seg: self.seg.then(&next.seg, arcs.get(i, j), arcs.time(i, j)), first: self.first, last: next.last }
    }

    /// Whether a whole route (depot to depot) summarised by this piece keeps every rule.
    pub fn feasible(&self, inst: &Instance) -> bool {
        self.seg.breach(inst).is_none()
    }
}

/// One route and its summaries.
#[derive(Clone, Debug)]
pub struct Route {
    /// `[0, c1, ..., ck, 0]`.
    pub nodes: Vec<usize>,
    /// `prefix[i]` summarises `nodes[..=i]`.
    prefix: Vec<Piece>,
    /// `suffix[i]` summarises `nodes[i..]`.
    suffix: Vec<Piece>,
    /// `backward[i]`: length of `nodes[..=i]` travelled in reverse (asymmetric 2-opt).
    backward: Vec<f64>,
    /// When the route last changed, on its [`Routes`]' clock (0: the spare).
    pub stamp: u64,
}

impl Route {
    pub fn new(customers: &[usize], arcs: &Arcs) -> Route {
        let inst = arcs.instance();
        let nodes: Vec<usize> = std::iter::once(0).chain(customers.iter().copied()).chain(std::iter::once(0)).collect();
        let end = nodes.len() - 1;
        let piece = |i: usize| match i {
            0 => Piece { seg: Segment::depot_start(inst), first: 0, last: 0 },
            i if i == end => Piece { seg: Segment::depot_end(inst), first: 0, last: 0 },
            i => Piece::customer(inst, nodes[i]),
        };
        let mut prefix = Vec::with_capacity(nodes.len());
        let mut acc = piece(0);
        prefix.push(acc);
        for i in 1..nodes.len() {
            acc = acc.then(&piece(i), arcs);
            prefix.push(acc);
        }
        let mut suffix = vec![Piece::EMPTY; nodes.len()];
        let mut acc = piece(end);
        suffix[end] = acc;
        for i in (0..end).rev() {
            acc = piece(i).then(&acc, arcs);
            suffix[i] = acc;
        }
        let mut backward = vec![0.0; nodes.len()];
        for i in 1..nodes.len() {
            backward[i] = backward[i - 1] + arcs.get(nodes[i], nodes[i - 1]);
        }
        Route { nodes, prefix, suffix, backward, stamp: 0 }
    }

    /// Customers on the route.
    pub fn len(&self) -> usize {
        self.nodes.len() - 2
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The route's cost: its length, the return arc included unless open.
    pub fn cost(&self) -> f64 {
        self.prefix[self.nodes.len() - 1].seg.length
    }

    /// `nodes[..=i]`.
    pub fn prefix(&self, i: usize) -> Piece {
        self.prefix[i]
    }

    /// `nodes[i..]`.
    pub fn suffix(&self, i: usize) -> Piece {
        self.suffix[i]
    }

    /// Length of the path `nodes[i..=j]` travelled forward.
    pub fn forward_length(&self, i: usize, j: usize) -> f64 {
        self.prefix[j].seg.length - self.prefix[i].seg.length
    }

    /// Length of the path `nodes[i..=j]` travelled backward, from `j` to `i`.
    /// Arcs into the end depot are not part of any reversed path.
    pub fn backward_length(&self, i: usize, j: usize) -> f64 {
        self.backward[j] - self.backward[i]
    }

    /// The customers, without depots.
    pub fn customers(&self) -> &[usize] {
        &self.nodes[1..self.nodes.len() - 1]
    }
}

/// A proposed change: the cost change and the new customer lists of the
/// routes it touches (an empty list removes the route).
#[derive(Clone, Debug, PartialEq)]
pub struct Move {
    pub delta: f64,
    pub routes: Vec<(usize, Vec<usize>)>,
}

/// The routes of one solution under search.
#[derive(Clone)]
pub struct Routes<'a> {
    pub arcs: &'a Arcs<'a>,
    routes: Vec<Route>,
    /// Route and position in `nodes` of every customer (index 0 unused).
    route_of: Vec<usize>,
    pos_of: Vec<usize>,
    /// Whether the last route is the spare empty one.
    spare: bool,
    /// Counts changes; routes are stamped with it when they change.
    clock: u64,
    /// The clock when a descent last reached a local optimum.
    settled: u64,
}

impl<'a> Routes<'a> {
    /// The routes of `solution` (which must visit every customer once).
    pub fn new(arcs: &'a Arcs<'a>, solution: &Solution) -> Self {
        let n = arcs.instance().num_customers();
        let routes = solution.routes.iter().filter(|r| !r.is_empty()).map(|r| Route::new(r, arcs)).collect();
        let mut s = Routes { arcs, routes, route_of: vec![usize::MAX; n + 1], pos_of: vec![0; n + 1], spare: false, clock: 0, settled: 0 };
        s.clock = 1;
        s.routes.iter_mut().for_each(|r| r.stamp = 1);
        s.reindex();
        s
    }

    pub fn instance(&self) -> &'a Instance {
        self.arcs.instance()
    }

    /// Every route, the spare empty one last when there is one.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn route(&self, r: usize) -> &Route {
        &self.routes[r]
    }

    /// Route and position in its `nodes` of customer `u`; `None` if unrouted.
    pub fn position(&self, u: usize) -> Option<(usize, usize)> {
        (self.route_of[u] != usize::MAX).then(|| (self.route_of[u], self.pos_of[u]))
    }

    /// The spare empty route, when the fleet allows another route.
    pub fn spare(&self) -> Option<usize> {
        self.spare.then(|| self.routes.len() - 1)
    }

    /// Routes with customers.
    pub fn used(&self) -> usize {
        self.routes.len() - usize::from(self.spare)
    }

    /// Total cost.
    pub fn cost(&self) -> f64 {
        self.routes.iter().map(Route::cost).sum()
    }

    /// Routes beyond the fleet (`VEHICLES`), 0 when within it.
    pub fn excess_routes(&self) -> usize {
        self.instance().vehicles.map_or(0, |v| self.used().saturating_sub(v))
    }

    /// The solution, empty routes left out.
    pub fn solution(&self) -> Solution {
        Solution::new(self.routes.iter().filter(|r| !r.is_empty()).map(|r| r.customers().to_vec()).collect())
    }

    /// Whether every new route of `mv` keeps every rule, walked through
    /// `problem::rules`; a move may not add routes beyond the fleet.
    pub fn confirm(&self, mv: &Move) -> bool {
        let inst = self.instance();
        let opened = mv.routes.iter().filter(|(r, c)| self.routes[*r].is_empty() && !c.is_empty()).count();
        let closed = mv.routes.iter().filter(|(r, c)| !self.routes[*r].is_empty() && c.is_empty()).count();
        let fleet_ok = opened <= closed || inst.vehicles.is_none_or(|v| self.used() + opened - closed <= v);
        fleet_ok && mv.routes.iter().all(|(_, c)| c.is_empty() || route_breach(inst, c).is_none())
    }

    /// Take `mv`: rebuild the routes it touches, drop emptied ones, and keep
    /// one spare empty route when the fleet allows.
    pub fn apply(&mut self, mv: &Move) {
        for (r, customers) in &mv.routes {
            self.rebuild(*r, customers);
        }
        self.reindex();
    }

    /// The clock: it moves on with every change.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// The clock when a descent last reached a local optimum: routes stamped
    /// no later have not changed since.
    pub fn settled(&self) -> u64 {
        self.settled
    }

    /// Record that a descent reached a local optimum now.
    pub fn settle(&mut self) {
        self.settled = self.clock;
    }

    fn rebuild(&mut self, r: usize, customers: &[usize]) {
        self.clock += 1;
        self.routes[r] = Route::new(customers, self.arcs);
        self.routes[r].stamp = self.clock;
    }

    /// Remove `customers` from their routes (ruin).
    pub fn remove(&mut self, customers: &[usize]) {
        let mut touched = vec![false; self.routes.len()];
        let mut gone = vec![false; self.route_of.len()];
        for &u in customers {
            gone[u] = true;
            touched[self.route_of[u]] = true;
        }
        for (r, t) in touched.iter().enumerate() {
            if *t {
                let kept: Vec<usize> = self.routes[r].customers().iter().copied().filter(|&c| !gone[c]).collect();
                self.rebuild(r, &kept);
            }
        }
        self.reindex();
    }

    /// Put customer `u` into route `r` right after position `pos` (recreate).
    pub fn insert(&mut self, u: usize, r: usize, pos: usize) {
        let mut customers = self.routes[r].customers().to_vec();
        customers.insert(pos, u);
        self.rebuild(r, &customers);
        self.reindex();
    }

    /// Open a new route serving `u` alone (recreate, when nothing else fits).
    pub fn open_route(&mut self, u: usize) {
        self.routes.push(Route::new(&[], self.arcs));
        self.rebuild(self.routes.len() - 1, &[u]);
        self.reindex();
    }

    fn reindex(&mut self) {
        self.routes.retain(|r| !r.is_empty());
        let inst = self.instance();
        self.spare = !inst.variant.is_tsp() && inst.vehicles.is_none_or(|v| self.routes.len() < v);
        if self.spare || self.routes.is_empty() {
            self.spare = true;
            self.routes.push(Route::new(&[], self.arcs));
        }
        self.route_of.fill(usize::MAX);
        for (r, route) in self.routes.iter().enumerate() {
            for (p, &c) in route.nodes.iter().enumerate().skip(1).take(route.len()) {
                self.route_of[c] = r;
                self.pos_of[c] = p;
            }
        }
    }
}
