//! One rollout: a partial solution of one instance, its route state and its mask.

use crate::problem::rules::{FleetBound, RouteState};
use crate::problem::{Instance, Rule, Solution};

/// Why a node is not allowed next (for diagnostics and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forbidden {
    /// The rollout is finished: only the depot (a no-op) is allowed.
    Done,
    /// The customer was already visited.
    Visited,
    /// A rule of `problem::rules` forbids it.
    Rule(Rule),
    /// The depot: the vehicle is there and a customer is still feasible (RouteFinder's rule),
    /// or the TSP family's single route cannot close before every customer is visited.
    DepotNotYet,
    /// The depot: closing the route now would break a rule.
    CannotClose(Rule),
    /// The depot: the vehicles left after closing could not serve the
    /// customers left (`problem::rules::FleetBound`).
    FleetFull,
    /// Beyond this instance's nodes (padding in a batch of mixed sizes).
    Padding,
}

/// The state of one rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollout {
    pub(crate) route: RouteState,
    pub(crate) visited: Vec<bool>,
    pub(crate) remaining: usize,
    pub(crate) actions: Vec<usize>,
    pub(crate) closed_cost: f64,
    /// Routes closed so far.
    pub(crate) routes: usize,
    pub(crate) done: bool,
    pub(crate) dead_end: bool,
    /// Relaxed (LMask's training fallback): every unvisited customer allowed,
    /// broken rules measured instead of forbidden.
    pub(crate) relaxed: bool,
    /// Sum of the overruns of the relaxed visits (`RouteState::overrun`).
    pub(crate) overrun: f64,
    /// Visits (and closings) that overran by more than the instance's tolerance.
    pub(crate) violations: usize,
    /// With a fleet limit: the bound on routes still needed, and what it reads.
    fleet: FleetBound,
    linehaul_left: f64,
    backhaul_left: f64,
    clique_left: usize,
}

impl Rollout {
    pub fn new(inst: &Instance, fleet: &FleetBound) -> Self {
        let customers = 1..inst.num_nodes();
        Rollout {
            fleet: fleet.clone(),
            linehaul_left: customers.clone().map(|j| inst.linehaul[j]).sum(),
            backhaul_left: customers.clone().map(|j| inst.backhaul_of(j)).sum(),
            clique_left: customers.filter(|&j| fleet.in_clique(j)).count(),
            route: RouteState::start(inst, planned_linehaul(inst)),
            visited: vec![false; inst.num_nodes()],
            remaining: inst.num_customers(),
            actions: Vec::with_capacity(inst.num_nodes() * 2),
            closed_cost: 0.0,
            routes: 0,
            done: false,
            dead_end: false,
            relaxed: false,
            overrun: 0.0,
            violations: 0,
        }
    }

    /// Why `j` may not be next, or `Ok` when it may.
    pub fn check(&self, inst: &Instance, j: usize) -> Result<(), Forbidden> {
        if j >= inst.num_nodes() {
            return Err(Forbidden::Padding);
        }
        if self.done {
            return if j == 0 { Ok(()) } else { Err(Forbidden::Done) };
        }
        if j != 0 {
            if self.visited[j] {
                return Err(Forbidden::Visited);
            }
            return self.route.can_visit(inst, j).map_err(Forbidden::Rule);
        }
        if self.route.node == 0 || (inst.variant.is_tsp() && self.remaining > 0) {
            // At the depot the depot is only allowed when no customer is, which
            // `fill_mask` decides; a TSP tour closes once, at the end.
            return Err(Forbidden::DepotNotYet);
        }
        if self.fleet_full(inst) {
            return Err(Forbidden::FleetFull);
        }
        match self.route.close_breach(inst) {
            Some(b) => Err(Forbidden::CannotClose(b.rule())),
            None => Ok(()),
        }
    }

    /// Write this rollout's mask (`true` = allowed) into `mask` (one row of the
    /// batch's width) and record a dead end: customers left, none allowed, and
    /// no way to start afresh.
    pub(crate) fn fill_mask(&mut self, inst: &Instance, mask: &mut [bool]) {
        mask.fill(false);
        let nodes = inst.num_nodes();
        if self.done {
            mask[0] = true;
            return;
        }
        if self.relaxed {
            for (j, allowed) in mask.iter_mut().enumerate().take(nodes).skip(1) {
                *allowed = !self.visited[j];
            }
            mask[0] = self.remaining == 0;
            return;
        }
        let mut any_customer = false;
        for (j, allowed) in mask.iter_mut().enumerate().take(nodes).skip(1) {
            *allowed = !self.visited[j] && self.route.can_visit(inst, j).is_ok();
            any_customer |= *allowed;
        }
        let at_depot = self.route.node == 0;
        mask[0] = if at_depot {
            !any_customer
        } else {
            (!inst.variant.is_tsp() || self.remaining == 0) && !self.fleet_full(inst) && self.route.close_breach(inst).is_none()
        };
        let stuck = !any_customer && self.remaining > 0 && (at_depot || !mask[0]);
        if stuck {
            self.dead_end = true;
            self.done = true;
            mask.fill(false);
            mask[0] = true;
        }
    }

    /// Whether closing the current route would leave customers that the
    /// vehicles left cannot serve (FORMAT.md's fleet rule, for instances with
    /// `VEHICLES`, looked ahead by `problem::rules::FleetBound`).
    fn fleet_full(&self, inst: &Instance) -> bool {
        let Some(k) = inst.vehicles else { return false };
        let left = k.saturating_sub(self.routes + 1);
        self.remaining > 0 && (left == 0 || self.fleet.routes_needed(inst, self.linehaul_left, self.backhaul_left, self.clique_left) > left)
    }

    /// From now on allow every unvisited customer, measuring what the visits
    /// overrun (single-tour problems only: the caller checks). A dead end
    /// becomes a live rollout again.
    pub(crate) fn relax(&mut self) {
        self.relaxed = true;
        if self.dead_end {
            self.dead_end = false;
            self.done = false;
        }
    }

    /// Apply an action already known to be allowed.
    pub(crate) fn apply(&mut self, inst: &Instance, j: usize) {
        if self.done {
            return;
        }
        if self.relaxed {
            let over = if j == 0 { self.route.close_overrun(inst) } else { self.route.overrun(inst, j) };
            self.overrun += over;
            self.violations += usize::from(over > inst.tolerance);
        }
        self.actions.push(j);
        if j == 0 {
            self.closed_cost += self.route.cost_if_closed(inst);
            self.routes += 1;
            self.route = RouteState::start(inst, planned_linehaul(inst));
            self.done = self.remaining == 0;
        } else {
            self.route.visit(inst, j);
            self.visited[j] = true;
            self.remaining -= 1;
            self.linehaul_left -= inst.linehaul[j];
            self.backhaul_left -= inst.backhaul_of(j);
            self.clique_left -= usize::from(self.fleet.in_clique(j));
        }
    }

    /// Finished: every customer served and the last route closed, or a dead end.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Stopped with customers left that no route can take.
    pub fn is_dead_end(&self) -> bool {
        self.dead_end
    }

    /// Whether the rollout was relaxed ([`crate::env::Env::relax`]).
    pub fn is_relaxed(&self) -> bool {
        self.relaxed
    }

    /// What the relaxed visits overran in all (time and draft, instance units).
    pub fn overrun(&self) -> f64 {
        self.overrun
    }

    /// How many relaxed visits overran.
    pub fn violations(&self) -> usize {
        self.violations
    }

    /// Cost of the closed routes plus the open one as if closed now.
    pub fn cost(&self, inst: &Instance) -> f64 {
        let open_part = if self.route.visits > 0 { self.route.cost_if_closed(inst) } else { 0.0 };
        self.closed_cost + open_part
    }

    /// The nodes chosen so far, 0 for the depot.
    pub fn actions(&self) -> &[usize] {
        &self.actions
    }

    /// The customers not yet visited.
    pub fn unvisited(&self) -> Vec<usize> {
        (1..self.visited.len()).filter(|&j| !self.visited[j]).collect()
    }

    /// Whether node `j` has been visited (the depot never counts as visited).
    pub fn visited(&self, j: usize) -> bool {
        self.visited[j]
    }

    /// The route under construction.
    pub fn route(&self) -> &RouteState {
        &self.route
    }

    pub fn solution(&self) -> Solution {
        Solution::from_giant_tour(&self.actions)
    }
}

/// A TSP-family tour carries every port's cargo from the start (TSPDL), so its
/// total is known; a capacitated route's total grows as it goes.
fn planned_linehaul(inst: &Instance) -> Option<f64> {
    inst.variant.is_tsp().then(|| inst.linehaul.iter().sum())
}
