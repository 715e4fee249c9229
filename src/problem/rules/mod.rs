//! THE constraint rules of FORMAT.md, as a route-state machine.
//!
//! Every feasibility decision in `lrm` comes through here: the evaluator walks a
//! finished route with [`RouteState::visit_breach`], the environment's masks ask
//! [`RouteState::can_visit`], and later searches do the same. Nothing else
//! re-implements a rule.
//!
//! A route's load depends on its *total* linehaul, which a route under
//! construction does not know yet. The state therefore keeps two summaries that
//! stay exact as the total grows: `peak_excess` (the largest backhaul-minus-
//! linehaul over prefixes: the mixed-backhaul load peaks at total + that) and
//! `draft_headroom` (the smallest draft limit plus linehaul delivered before that
//! port: the total may not exceed it). When the total is known in advance (an
//! evaluated route, or a TSPDL tour that carries every port's cargo) pass it as
//! `planned_linehaul` and the checks are the plain on-board-load rules.

pub mod segment;

use super::instance::Instance;
use super::variant::Backhaul;

pub use segment::{route_segment, travel, Segment};

/// The rule a visit or a closing would break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// Classic backhauls: a linehaul customer after a backhaul customer.
    Precedence,
    /// Linehaul, backhaul or mixed on-board load above capacity.
    Capacity,
    /// Load on arrival above the port's draft limit.
    DraftLimit,
    /// Arrival after the window closes, or back at the depot after it closes.
    TimeWindow,
    /// Route length above the distance limit.
    DistanceLimit,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::Precedence => "precedence",
            Rule::Capacity => "capacity",
            Rule::DraftLimit => "draft-limit",
            Rule::TimeWindow => "time-window",
            Rule::DistanceLimit => "distance-limit",
        }
    }
}

/// A broken rule with the numbers that broke it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Breach {
    Precedence {
        after: usize,
    },
    Linehaul {
        load: f64,
        capacity: f64,
    },
    Backhaul {
        load: f64,
        capacity: f64,
    },
    /// Mixed backhauls: load on board; `after` is `None` when leaving the depot.
    Load {
        load: f64,
        after: Option<usize>,
        capacity: f64,
    },
    Draft {
        customer: usize,
        load: f64,
        limit: f64,
    },
    Window {
        arrival: f64,
        late: f64,
    },
    DepotReturn {
        at: f64,
        late: f64,
    },
    Distance {
        length: f64,
        limit: f64,
    },
}

impl Breach {
    pub fn rule(&self) -> Rule {
        match self {
            Breach::Precedence { .. } => Rule::Precedence,
            Breach::Linehaul { .. } | Breach::Backhaul { .. } | Breach::Load { .. } => Rule::Capacity,
            Breach::Draft { .. } => Rule::DraftLimit,
            Breach::Window { .. } | Breach::DepotReturn { .. } => Rule::TimeWindow,
            Breach::Distance { .. } => Rule::DistanceLimit,
        }
    }
}

/// The distance and travel time of one arc.
#[derive(Clone, Copy, Debug)]
struct Leg {
    distance: f64,
    time: f64,
}

impl Leg {
    #[inline]
    fn between(inst: &Instance, i: usize, j: usize) -> Leg {
        let distance = inst.distance(i, j);
        // `travel_time` is the distance without a duration matrix: not measured twice.
        let time = if inst.durations.is_some() { inst.travel_time(i, j) } else { distance };
        Leg { distance, time }
    }
}

/// The state of one route under construction: where it is, what it carries,
/// when it leaves, how long it is.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteState {
    /// Current node (0 at the depot).
    pub node: usize,
    /// Customers visited on this route.
    pub visits: usize,
    /// Linehaul delivered so far.
    pub linehaul: f64,
    /// Backhaul picked up so far.
    pub backhaul: f64,
    /// Departure time from `node`.
    pub time: f64,
    /// Length travelled so far (no return arc).
    pub length: f64,
    /// The route's total linehaul when known in advance.
    pub planned_linehaul: Option<f64>,
    first_backhaul: Option<usize>,
    peak_excess: f64,
    peak_after: Option<usize>,
    draft_headroom: f64,
    draft_port: usize,
}

impl RouteState {
    /// A new route at the depot, leaving at the depot's early time.
    pub fn start(inst: &Instance, planned_linehaul: Option<f64>) -> Self {
        RouteState {
            node: 0,
            visits: 0,
            linehaul: 0.0,
            backhaul: 0.0,
            time: inst.window(0)[0],
            length: 0.0,
            planned_linehaul,
            first_backhaul: None,
            peak_excess: 0.0,
            peak_after: None,
            draft_headroom: f64::INFINITY,
            draft_port: 0,
        }
    }

    /// The route's total linehaul if it visits `j` next (and, unless planned, closes after).
    #[inline]
    fn total_with(&self, lin_j: f64) -> f64 {
        self.planned_linehaul.unwrap_or(self.linehaul + lin_j)
    }

    /// The first rule that visiting `j` next breaks, in the evaluator's order
    /// (precedence, capacity, draft, time window, length); `None` when it breaks none.
    /// Exact: no look-ahead beyond `j` itself.
    pub fn visit_breach(&self, inst: &Instance, j: usize) -> Option<Breach> {
        self.visit_breach_on(inst, j, Leg::between(inst, self.node, j))
    }

    /// [`Self::visit_breach`] with the leg to `j` already measured.
    #[inline]
    fn visit_breach_on(&self, inst: &Instance, j: usize, leg: Leg) -> Option<Breach> {
        let tol = inst.tolerance;
        let lin = inst.linehaul[j];
        if inst.backhaul_rule() == Backhaul::Classic && lin > 0.0 {
            if let Some(after) = self.first_backhaul {
                return Some(Breach::Precedence { after });
            }
        }
        let total = self.total_with(lin);
        if let Some(b) = self.capacity_breach(inst, j, total) {
            return Some(b);
        }
        if let Some(limits) = &inst.draft_limit {
            if total > self.draft_headroom + tol {
                let port = self.draft_port;
                let load = total - self.draft_headroom + limits[port];
                return Some(Breach::Draft { customer: port, load, limit: limits[port] });
            }
            let load = total - self.linehaul;
            if load > limits[j] + tol {
                return Some(Breach::Draft { customer: j, load, limit: limits[j] });
            }
        }
        let Leg { distance: d, time: t } = leg;
        let late = inst.window(j)[1];
        if self.time + t > late + tol {
            return Some(Breach::Window { arrival: self.time + t, late });
        }
        if let Some(limit) = inst.distance_limit {
            if self.length + d > limit + tol {
                return Some(Breach::Distance { length: self.length + d, limit });
            }
        }
        None
    }

    /// Capacity rules for visiting `j` when the route's total linehaul would be `total`.
    fn capacity_breach(&self, inst: &Instance, j: usize, total: f64) -> Option<Breach> {
        let capacity = inst.capacity.filter(|_| !inst.variant.is_tsp())?;
        let (lin, back, tol) = (inst.linehaul[j], inst.backhaul_of(j), inst.tolerance);
        if inst.backhaul_rule() == Backhaul::Mixed {
            let peak = total + self.peak_excess;
            if peak > capacity + tol {
                let after = if self.peak_excess > 0.0 { self.peak_after } else { None };
                return Some(Breach::Load { load: peak, after, capacity });
            }
            let load_after = total - (self.linehaul + lin) + (self.backhaul + back);
            return (load_after > capacity + tol).then_some(Breach::Load { load: load_after, after: Some(j), capacity });
        }
        if total > capacity + tol {
            return Some(Breach::Linehaul { load: total, capacity });
        }
        let picked = self.backhaul + back;
        (picked > capacity + tol).then_some(Breach::Backhaul { load: picked, capacity })
    }

    /// What closing the route now breaks: the depot's closing time and the
    /// length limit, both with the return arc, and neither for open routes.
    pub fn close_breach(&self, inst: &Instance) -> Option<Breach> {
        if inst.variant.open {
            return None;
        }
        let tol = inst.tolerance;
        let back = inst.distance(self.node, 0);
        let late = inst.window(0)[1];
        let at = self.time + inst.travel_time(self.node, 0);
        if at > late + tol {
            return Some(Breach::DepotReturn { at, late });
        }
        if let Some(limit) = inst.distance_limit {
            if self.length + back > limit + tol {
                return Some(Breach::Distance { length: self.length + back, limit });
            }
        }
        None
    }

    /// Whether `j` may be visited next by a constructive decoder: the visit breaks
    /// no rule and the route can still be closed right after it (RouteFinder's
    /// masks: back at the depot in time and within the length limit).
    pub fn can_visit(&self, inst: &Instance, j: usize) -> Result<(), Rule> {
        // Each leg measured once (a mask checks every node at every step).
        let leg = Leg::between(inst, self.node, j);
        if let Some(b) = self.visit_breach_on(inst, j, leg) {
            return Err(b.rule());
        }
        if inst.variant.open || (inst.time_windows.is_none() && inst.distance_limit.is_none()) {
            return Ok(());
        }
        let tol = inst.tolerance;
        let home = Leg::between(inst, j, 0);
        if inst.time_windows.is_some() {
            let [early, _] = inst.window(j);
            let back_at = (self.time + leg.time).max(early) + inst.service[j] + home.time;
            if back_at > inst.window(0)[1] + tol {
                return Err(Rule::TimeWindow);
            }
        }
        if let Some(limit) = inst.distance_limit {
            if self.length + leg.distance + home.distance > limit + tol {
                return Err(Rule::DistanceLimit);
            }
        }
        Ok(())
    }

    /// How far visiting `j` next would overrun `j`'s own time window (arrival
    /// after it closes) plus its draft limit (load aboard above it), in the
    /// instance's units; 0 when it overruns neither. LMask's constraint
    /// violation, which its training penalises (`ρ_c`) when a rollout has to
    /// break the rules to finish. The visit's own numbers only: an earlier
    /// overrun is not counted again.
    pub fn overrun(&self, inst: &Instance, j: usize) -> f64 {
        let arrival = self.time + inst.travel_time(self.node, j);
        let late = (arrival - inst.window(j)[1]).max(0.0);
        let heavy = inst.draft_limit.as_ref().map_or(0.0, |limits| (self.total_with(inst.linehaul[j]) - self.linehaul - limits[j]).max(0.0));
        late + heavy
    }

    /// How far closing the route now would overrun the depot's closing time.
    pub fn close_overrun(&self, inst: &Instance) -> f64 {
        if inst.variant.open {
            return 0.0;
        }
        (self.time + inst.travel_time(self.node, 0) - inst.window(0)[1]).max(0.0)
    }

    /// Move to customer `j`. Does not check: ask [`Self::visit_breach`] or
    /// [`Self::can_visit`] first.
    pub fn visit(&mut self, inst: &Instance, j: usize) {
        let d = inst.distance(self.node, j);
        let (lin, back) = (inst.linehaul[j], inst.backhaul_of(j));
        self.time = (self.time + inst.travel_time(self.node, j)).max(inst.window(j)[0]) + inst.service[j];
        self.length += d;
        if let Some(limits) = &inst.draft_limit {
            if limits[j] + self.linehaul < self.draft_headroom {
                self.draft_headroom = limits[j] + self.linehaul;
                self.draft_port = j;
            }
        }
        self.linehaul += lin;
        self.backhaul += back;
        if self.backhaul - self.linehaul > self.peak_excess {
            self.peak_excess = self.backhaul - self.linehaul;
            self.peak_after = Some(j);
        }
        if back > 0.0 && self.first_backhaul.is_none() {
            self.first_backhaul = Some(j);
        }
        self.node = j;
        self.visits += 1;
    }

    /// The route's cost if closed now: its length plus the return arc unless open.
    pub fn cost_if_closed(&self, inst: &Instance) -> f64 {
        if inst.variant.open {
            self.length
        } else {
            self.length + inst.distance(self.node, 0)
        }
    }

    /// Room left for linehaul on this route (RouteFinder's "available load"):
    /// after a backhaul under classic rules, the room left for backhauls.
    pub fn available_load(&self, inst: &Instance) -> Option<f64> {
        let q = inst.capacity.filter(|_| !inst.variant.is_tsp())?;
        Some(match inst.backhaul_rule() {
            Backhaul::Mixed => q - (self.linehaul + self.peak_excess),
            _ if self.first_backhaul.is_some() => q - self.backhaul,
            _ => q - self.linehaul,
        })
    }

    /// Length left under the distance limit, when there is one.
    pub fn remaining_distance(&self, inst: &Instance) -> Option<f64> {
        inst.distance_limit.map(|l| l - self.length)
    }

    /// LMask's look-ahead: whether every customer of `unvisited` could still be
    /// served after this state. A necessary condition only: `false` proves that
    /// no feasible completion exists, `true` promises nothing.
    /// - Time windows only move forward, so a customer this route can no
    ///   longer reach in time directly is out of reach when travel times obey
    ///   the triangle inequality (a road network's may not: then `false` is
    ///   LMask's heuristic rather than a proof); a capacitated problem may
    ///   still give it a new route.
    /// - A TSPDL tour's load only falls, so the ports left are checked in
    ///   descending order of draft limit, the order that best meets them (an
    ///   exchange argument): exact for the draft rule.
    pub fn completion_possible(&self, inst: &Instance, unvisited: &[usize]) -> bool {
        if inst.variant.is_tsp() {
            let drafts_ok = inst.draft_limit.is_none() || self.drafts_can_be_met(inst, unvisited);
            return drafts_ok && unvisited.iter().all(|&k| self.in_time_for(inst, k));
        }
        let fresh = RouteState::start(inst, None);
        unvisited.iter().all(|&k| self.can_visit(inst, k).is_ok() || fresh.can_visit(inst, k).is_ok())
    }

    /// Whether `k` can be reached before its window closes, and the depot after
    /// it before the depot closes (closed tours).
    fn in_time_for(&self, inst: &Instance, k: usize) -> bool {
        if inst.time_windows.is_none() {
            return true;
        }
        let tol = inst.tolerance;
        let arrival = self.time + inst.travel_time(self.node, k);
        let [early, late] = inst.window(k);
        let home = if inst.variant.open { 0.0 } else { inst.travel_time(k, 0) };
        arrival <= late + tol && (inst.variant.open || arrival.max(early) + inst.service[k] + home <= inst.window(0)[1] + tol)
    }

    /// Whether the ports of `unvisited`, visited in descending order of draft
    /// limit, all meet their limits (TSPDL, whose total cargo is planned).
    fn drafts_can_be_met(&self, inst: &Instance, unvisited: &[usize]) -> bool {
        let (Some(limits), Some(total)) = (&inst.draft_limit, self.planned_linehaul) else {
            return true;
        };
        let mut order = unvisited.to_vec();
        order.sort_by(|&a, &b| limits[b].total_cmp(&limits[a]));
        let mut load = total - self.linehaul;
        order.iter().all(|&k| {
            let ok = load <= limits[k] + inst.tolerance;
            load -= inst.linehaul[k];
            ok
        })
    }
}

/// A lower bound on the routes that customers still to serve need, for
/// fleet limits (`VEHICLES`) honoured during construction: a route carries at
/// most the capacity of linehaul and of backhaul, and customers that no one
/// route can serve together (their time windows are pairwise incompatible)
/// each need a route of their own.
///
/// The incompatible customers are a greedy clique, tightest closing time
/// first, computed once per instance: two customers are compatible when a
/// route from the depot can serve both, in one order or the other, and
/// still close (the masks' own [`RouteState::can_visit`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FleetBound {
    /// Membership of the clique, by node; empty without time windows or a fleet limit.
    clique: std::sync::Arc<[bool]>,
}

impl FleetBound {
    pub fn new(inst: &Instance) -> Self {
        if inst.time_windows.is_none() || inst.vehicles.is_none() || inst.variant.is_tsp() {
            return FleetBound { clique: std::sync::Arc::from(vec![]) };
        }
        let mut order: Vec<usize> = (1..inst.num_nodes()).collect();
        order.sort_by(|&a, &b| inst.window(a)[1].total_cmp(&inst.window(b)[1]).then(a.cmp(&b)));
        let mut members: Vec<usize> = vec![];
        for &j in &order {
            if members.iter().all(|&i| !compatible(inst, i, j)) {
                members.push(j);
            }
        }
        let mut clique = vec![false; inst.num_nodes()];
        members.iter().for_each(|&j| clique[j] = true);
        FleetBound { clique: clique.into() }
    }

    /// Whether customer `j` belongs to the clique of mutually incompatible customers.
    #[inline]
    pub fn in_clique(&self, j: usize) -> bool {
        self.clique.get(j).copied().unwrap_or(false)
    }

    /// The fewest routes that can serve customers whose linehaul and
    /// backhaul sum to `linehaul` and `backhaul`, `clique_left` of them in the clique.
    pub fn routes_needed(&self, inst: &Instance, linehaul: f64, backhaul: f64, clique_left: usize) -> usize {
        let by_load = match inst.capacity.filter(|&q| q > 0.0 && !inst.variant.is_tsp()) {
            Some(q) => {
                let most = linehaul.max(backhaul);
                let routes = (most / q).ceil();
                // Sums of float demands may land a hair above a multiple of the capacity.
                let routes = if most - (routes - 1.0) * q <= inst.tolerance { routes - 1.0 } else { routes };
                routes.max(0.0) as usize
            }
            None => 0,
        };
        by_load.max(clique_left)
    }
}

/// Whether one route can serve `i` and `j`, in either order, and close.
fn compatible(inst: &Instance, i: usize, j: usize) -> bool {
    let pair = |a: usize, b: usize| {
        let mut s = RouteState::start(inst, None);
        if s.can_visit(inst, a).is_err() {
            return false;
        }
        s.visit(inst, a);
        s.can_visit(inst, b).is_ok()
    };
    pair(i, j) || pair(j, i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::instance::InstanceData;
    use crate::problem::variant::Variant;

    /// Depot at the origin, customers on a line at x = 1, 2, ...; capacity 10.
    fn line(variant: &str, linehaul: &[f64], backhaul: Option<&[f64]>) -> Instance {
        let n = linehaul.len();
        let data = InstanceData {
            coords: Some((0..=n).map(|i| [i as f64, 0.0]).collect()),
            capacity: Some(10.0),
            linehaul: Some(std::iter::once(0.0).chain(linehaul.iter().copied()).collect()),
            backhaul: backhaul.map(|b| std::iter::once(0.0).chain(b.iter().copied()).collect()),
            ..Default::default()
        };
        Instance::new(variant.parse::<Variant>().unwrap(), data).unwrap()
    }

    fn walk(inst: &Instance, route: &[usize]) -> Result<RouteState, Rule> {
        let mut s = RouteState::start(inst, None);
        for &c in route {
            s.can_visit(inst, c)?;
            s.visit(inst, c);
        }
        Ok(s)
    }

    #[test]
    fn mixed_backhaul_load_peaks_are_exact_while_the_route_grows() {
        // Customer 1 picks up 7, customer 2 delivers 5: 2 then 1 peaks at 7,
        // 1 then 2 leaves with 5 and peaks at 12 after the pickup.
        let inst = line("VRPMB", &[0.0, 5.0], Some(&[7.0, 0.0]));
        assert!(walk(&inst, &[2, 1]).is_ok());
        assert_eq!(walk(&inst, &[1, 2]).err(), Some(Rule::Capacity));
        let s = walk(&inst, &[2, 1]).unwrap();
        assert_eq!(s.available_load(&inst), Some(3.0));
        // Classic backhauls forbid the order mixed ones allow, and allow backhaul-only routes.
        let classic = line("VRPB", &[0.0, 5.0], Some(&[7.0, 0.0]));
        assert_eq!(walk(&classic, &[1, 2]).err(), Some(Rule::Precedence));
        assert!(walk(&classic, &[2, 1]).is_ok() && walk(&classic, &[1]).is_ok());
    }

    #[test]
    fn capacity_counts_the_route_total() {
        let inst = line("CVRP", &[4.0, 4.0, 3.0], None);
        assert!(walk(&inst, &[1, 2]).is_ok());
        assert_eq!(walk(&inst, &[1, 2, 3]).err(), Some(Rule::Capacity));
        let s = walk(&inst, &[1]).unwrap();
        assert_eq!(s.available_load(&inst), Some(6.0));
        assert_eq!(s.cost_if_closed(&inst), 2.0);
    }

    #[test]
    fn draft_limits_hold_on_arrival_with_the_whole_cargo_aboard() {
        // Three ports of one unit each; port 3 takes at most 1 aboard, so it must come last.
        let mut data = InstanceData {
            coords: Some((0..=3).map(|i| [i as f64, 0.0]).collect()),
            linehaul: Some(vec![0.0, 1.0, 1.0, 1.0]),
            draft_limit: Some(vec![3.0, 3.0, 2.0, 1.0]),
            ..Default::default()
        };
        data.rounding = Some(crate::problem::Rounding::Nint);
        let inst = Instance::new("TSPDL".parse().unwrap(), data).unwrap();
        let tour = |route: &[usize]| {
            let mut s = RouteState::start(&inst, Some(3.0));
            route.iter().try_for_each(|&c| {
                s.can_visit(&inst, c)?;
                s.visit(&inst, c);
                Ok::<(), Rule>(())
            })
        };
        assert!(tour(&[1, 2, 3]).is_ok());
        assert_eq!(tour(&[3]).err(), Some(Rule::DraftLimit));
        assert_eq!(tour(&[2]).err(), Some(Rule::DraftLimit), "port 2 takes at most 2 aboard: it cannot come first");
    }

    #[test]
    fn windows_and_limits_look_ahead_to_the_return_arc() {
        let mut data = InstanceData {
            coords: Some(vec![[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]),
            capacity: Some(10.0),
            linehaul: Some(vec![0.0, 1.0, 1.0]),
            time_windows: Some(vec![[0.0, 15.0], [0.0, 100.0], [0.0, 100.0]]),
            distance_limit: Some(100.0),
            ..Default::default()
        };
        data.rounding = Some(crate::problem::Rounding::Nint);
        let inst = Instance::new("VRPLTW".parse().unwrap(), data.clone()).unwrap();
        // Customer 2 is reached at 10 and back home at 20, after the depot closes at 15.
        assert_eq!(RouteState::start(&inst, None).can_visit(&inst, 2), Err(Rule::TimeWindow));
        assert!(RouteState::start(&inst, None).visit_breach(&inst, 2).is_none(), "the visit itself is on time");
        let open = Instance::new("OVRPLTW".parse().unwrap(), data.clone()).unwrap();
        assert!(RouteState::start(&open, None).can_visit(&open, 2).is_ok(), "open routes never return");
        data.time_windows = None;
        data.distance_limit = Some(15.0);
        let limited = Instance::new("VRPL".parse().unwrap(), data).unwrap();
        assert_eq!(RouteState::start(&limited, None).can_visit(&limited, 2), Err(Rule::DistanceLimit));
    }
}
