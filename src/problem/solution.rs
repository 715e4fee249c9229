//! Solutions and their evaluation: cost, feasibility and the first violation.
//!
//! Checks run in the order of FORMAT.md's checker (`vrpcheck.py`): structure
//! (non-empty routes, known customers, each visited once, one route for the TSP
//! family, the fleet bound), then each route in turn through `problem::rules`,
//! reporting the route's first broken rule in the order precedence, capacity,
//! draft, time windows, length.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::instance::{fmt_num, Instance};
use super::rules::{Breach, RouteState, Rule};

/// Routes of customer numbers `1..=n` (the depot, 0, is never written).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Solution {
    pub routes: Vec<Vec<usize>>,
}

impl Solution {
    pub fn new(routes: Vec<Vec<usize>>) -> Self {
        Solution { routes }
    }

    /// Split a giant tour with depot separators (RouteFinder's `actions`: a 0
    /// before each route; trailing zeros are padding) into routes.
    pub fn from_giant_tour(actions: &[usize]) -> Self {
        let routes = actions.split(|&a| a == 0).filter(|r| !r.is_empty()).map(<[usize]>::to_vec).collect();
        Solution { routes }
    }

    /// The giant tour of RouteFinder's layout: a 0 before each route.
    pub fn to_giant_tour(&self) -> Vec<usize> {
        self.routes.iter().flat_map(|r| std::iter::once(0).chain(r.iter().copied())).collect()
    }
}

/// What is wrong with a solution: the first violated rule, naming route and customer.
#[derive(Clone, Debug, PartialEq)]
pub enum Violation {
    EmptyRoute {
        route: usize,
    },
    UnknownCustomer {
        route: usize,
        customer: usize,
        customers: usize,
    },
    Repeated {
        customer: usize,
        first_route: usize,
        route: usize,
    },
    Missing {
        customer: usize,
        more: usize,
    },
    RouteCount {
        variant: String,
        routes: usize,
    },
    Fleet {
        routes: usize,
        vehicles: usize,
    },
    /// A rule of `problem::rules` broken on `route` at `customer` (None: on closing).
    Route {
        route: usize,
        customer: Option<usize>,
        breach: Breach,
        open: bool,
    },
}

impl Violation {
    /// A short stable name for the rule: what tests and `--json` compare.
    pub fn rule(&self) -> &'static str {
        match self {
            Violation::EmptyRoute { .. } => "empty-route",
            Violation::UnknownCustomer { .. } => "unknown-customer",
            Violation::Repeated { .. } => "repeated-customer",
            Violation::Missing { .. } => "missing-customer",
            Violation::RouteCount { .. } => "route-count",
            Violation::Fleet { .. } => "fleet",
            Violation::Route { breach, .. } => breach.rule().name(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Violation::EmptyRoute { route } => write!(f, "route #{route} is empty"),
            Violation::UnknownCustomer { route, customer, customers } => {
                write!(f, "route #{route}: unknown customer {customer} (customers are 1..{customers}; the depot is never written)")
            }
            Violation::Repeated { customer, first_route, route } => {
                if first_route == route {
                    write!(f, "customer {customer} visited more than once (twice in route #{route})")
                } else {
                    write!(f, "customer {customer} visited more than once (in routes #{first_route} and #{route})")
                }
            }
            Violation::Missing { customer, more } => {
                write!(f, "customer {customer}")?;
                if more > 0 {
                    write!(f, " and {more} more")?;
                }
                write!(f, " not visited")
            }
            Violation::RouteCount { ref variant, routes } => write!(f, "{variant} needs exactly one route, got {routes}"),
            Violation::Fleet { routes, vehicles } => write!(f, "{routes} routes exceed the fleet of VEHICLES {vehicles}"),
            Violation::Route { route, customer, breach, open } => {
                write!(f, "route #{route}: ")?;
                write_breach(f, breach, customer.unwrap_or(0), open)
            }
        }
    }
}

fn write_breach(f: &mut fmt::Formatter<'_>, breach: Breach, c: usize, open: bool) -> fmt::Result {
    let n = fmt_num;
    match breach {
        Breach::Precedence { after } => write!(f, "linehaul customer {c} after backhaul customer {after}"),
        Breach::Linehaul { load, capacity } => write!(f, "linehaul demand {} exceeds capacity {}", n(load), n(capacity)),
        Breach::Backhaul { load, capacity } => write!(f, "backhaul demand {} exceeds capacity {}", n(load), n(capacity)),
        Breach::Load { load, after: None, capacity } => {
            write!(f, "load {} leaving the depot exceeds capacity {}", n(load), n(capacity))
        }
        Breach::Load { load, after: Some(a), capacity } => {
            write!(f, "load {} after customer {a} exceeds capacity {}", n(load), n(capacity))
        }
        Breach::Draft { customer, load, limit } => {
            write!(f, "load {} on arrival at customer {customer} exceeds its draft limit {}", n(load), n(limit))
        }
        Breach::Window { arrival, late } => {
            write!(f, "customer {c} reached at {}, after its time window closes at {}", n(arrival), n(late))
        }
        Breach::DepotReturn { at, late } => {
            write!(f, "returns to the depot at {}, after the depot closes at {}", n(at), n(late))
        }
        Breach::Distance { length, limit } => {
            let what = if open { "length without the return" } else { "length" };
            write!(f, "{what} {} exceeds the distance limit {}", n(length), n(limit))
        }
    }
}

/// The result of evaluating a solution.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Total travel distance in the instance's units (computed even when infeasible).
    pub cost: f64,
    pub routes: usize,
    pub violation: Option<Violation>,
}

impl Evaluation {
    pub fn is_feasible(&self) -> bool {
        self.violation.is_none()
    }
}

/// Evaluate `sol` on `inst`: cost, and the first violated rule if any.
pub fn evaluate(inst: &Instance, sol: &Solution) -> Evaluation {
    let routes = sol.routes.len();
    let cost = |sol: &Solution| sol.routes.iter().map(|r| route_cost(inst, r)).sum::<f64>();
    if let Some(violation) = structure_violation(inst, sol) {
        let known = sol.routes.iter().flatten().all(|&c| (1..=inst.num_customers()).contains(&c));
        let cost = if known { cost(sol) } else { f64::NAN };
        return Evaluation { cost, routes, violation: Some(violation) };
    }
    let violation = sol.routes.iter().enumerate().find_map(|(k, r)| route_violation(inst, k + 1, r));
    Evaluation { cost: cost(sol), routes, violation }
}

/// Length of one route under the instance's rule (return arc unless open).
pub fn route_cost(inst: &Instance, route: &[usize]) -> f64 {
    let mut s = RouteState::start(inst, None);
    for &c in route {
        s.visit(inst, c);
    }
    s.cost_if_closed(inst)
}

/// The first rule one route breaks (empty routes aside), walked visit by
/// visit through `problem::rules`: what searches confirm a move with.
pub fn route_breach(inst: &Instance, route: &[usize]) -> Option<Rule> {
    match route_violation(inst, 1, route)? {
        Violation::Route { breach, .. } => Some(breach.rule()),
        _ => None,
    }
}

fn structure_violation(inst: &Instance, sol: &Solution) -> Option<Violation> {
    let n = inst.num_customers();
    let mut seen = vec![0usize; n + 1];
    for (k, r) in sol.routes.iter().enumerate() {
        let route = k + 1;
        if r.is_empty() {
            return Some(Violation::EmptyRoute { route });
        }
        for &c in r {
            if c == 0 || c > n {
                return Some(Violation::UnknownCustomer { route, customer: c, customers: n });
            }
            if seen[c] != 0 {
                return Some(Violation::Repeated { customer: c, first_route: seen[c], route });
            }
            seen[c] = route;
        }
    }
    let mut missing = (1..=n).filter(|&c| seen[c] == 0);
    if let Some(customer) = missing.next() {
        return Some(Violation::Missing { customer, more: missing.count() });
    }
    if inst.variant.is_tsp() && sol.routes.len() != 1 {
        return Some(Violation::RouteCount { variant: inst.variant.to_string(), routes: sol.routes.len() });
    }
    match inst.vehicles {
        Some(v) if sol.routes.len() > v => Some(Violation::Fleet { routes: sol.routes.len(), vehicles: v }),
        _ => None,
    }
}

/// The first broken rule of one route, in the rule order of [`Rule`].
fn route_violation(inst: &Instance, route: usize, r: &[usize]) -> Option<Violation> {
    let planned: f64 = r.iter().map(|&c| inst.linehaul[c]).sum();
    let mut s = RouteState::start(inst, Some(planned));
    let mut first: Option<(Breach, Option<usize>)> = None;
    let mut keep = |b: Breach, at: Option<usize>| {
        if first.is_none_or(|(f, _)| b.rule() < f.rule()) {
            first = Some((b, at));
        }
    };
    for &c in r {
        if let Some(b) = s.visit_breach(inst, c) {
            keep(b, Some(c));
        }
        s.visit(inst, c);
    }
    if let Some(b) = s.close_breach(inst) {
        keep(b, None);
    }
    let (breach, customer) = first?;
    // Report whole-route amounts where the checker does.
    let breach = match breach {
        Breach::Backhaul { capacity, .. } => Breach::Backhaul { load: s.backhaul, capacity },
        Breach::Distance { limit, .. } if breach.rule() == Rule::DistanceLimit => Breach::Distance { length: s.cost_if_closed(inst), limit },
        other => other,
    };
    Some(Violation::Route { route, customer, breach, open: inst.variant.open })
}
