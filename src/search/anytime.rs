//! The anytime search on one instance: descend from each of the policy's
//! best distinct constructed solutions (one descent's end depends much on
//! its start) and from the search's own construction, keep the best (a
//! policy that dead-ends or meets tight time windows poorly, as on
//! Solomon's C101, never ends worse than the own construction's descent,
//! unless Ctrl-C or the time limit comes first), then until
//! the limit: ruin and recreate plus a descent (most iterations), or the
//! policy re-constructing segments of the best solution (RRC,
//! [`Reconstruct`]), each candidate descended in turn.
//! The best solution is kept, and every improvement of it is reported as it
//! happens, so a caller can write it at once.
//!
//! Acceptance is record-to-record travel (Dueck 1993): a candidate replaces
//! the current solution when it is within a threshold of the best, the
//! threshold shrinking linearly to 0 over the budget. A solution with more
//! routes than `VEHICLES` allows is searched too (fleet repair), ranked
//! behind every solution within the fleet.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::Rng as _;

use super::arcs::{neighbours, Arcs};
use super::descent::descent;
use super::routes::Routes;
use super::ruin::{recreate, ruin, Ruin};
use super::Rng;
use crate::decode::Found;
use crate::error::Result;
use crate::problem::{evaluate, route_breach, Instance, Solution};

/// Record-to-record threshold at the start, relative to the best cost.
const THRESHOLD: f64 = 0.01;
/// Without a limit, a search that has no feasible solution yet keeps
/// repairing for at most this many iterations.
const REPAIR_ITERATIONS: usize = 5000;
/// In an iteration-bounded search, one RRC round every this many iterations.
const RECONSTRUCT_EVERY: usize = 50;
/// The search's own construction and its first descent draw from their own
/// random stream (the seed with the bits of SplitMix64's golden-ratio
/// increment flipped), so that the descents from the constructed solutions
/// are the same with or without it, and the own one the same whatever the
/// starts.
const OWN_STREAM: u64 = 0x9e37_79b9_7f4a_7c15;
/// Largest number of customers one nearby ruin removes.
const MAX_RUIN: usize = 30;

/// How long and how the search runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchOptions {
    /// Stop after this long (the whole search on this instance).
    pub time_limit: Option<Duration>,
    /// Stop after this many ruin-and-recreate iterations: with no time
    /// limit, the search is then deterministic under `seed`.
    pub iterations: Option<usize>,
    /// Granular neighbours per customer.
    pub neighbours: usize,
    /// Share of the time spent on neural re-construction (RRC), 0 to 1.
    pub neural_share: f64,
    pub seed: u64,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { time_limit: None, iterations: None, neighbours: 40, neural_share: 0.2, seed: 1 }
    }
}

/// Neural re-construction of an incumbent: candidate solutions (complete,
/// not necessarily better or feasible).
pub trait Reconstruct {
    fn propose(&mut self, incumbent: &Solution) -> Result<Vec<Solution>>;
}

/// No policy: the search alone.
pub struct NoPolicy;

impl Reconstruct for NoPolicy {
    fn propose(&mut self, _: &Solution) -> Result<Vec<Solution>> {
        Ok(vec![])
    }
}

/// One improvement of the best solution: when, and its cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Improvement {
    pub seconds: f64,
    pub cost: f64,
}

/// What the search did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The best feasible solution, evaluated by `problem::evaluate`.
    pub best: Option<Found>,
    /// Every improvement of the best feasible solution, in order.
    pub trace: Vec<Improvement>,
    /// Ruin-and-recreate iterations and RRC rounds run.
    pub iterations: usize,
    pub reconstructions: usize,
    /// Whether the descent from the search's own construction ended better
    /// than those from the constructed solutions (or was the only one):
    /// the policy then contributed nothing but its RRC rounds.
    pub kept_own_construction: bool,
    /// Constructed solutions descended: the first always (unless it cannot
    /// be searched from: incomplete, and no tour to repair), the others
    /// while time was left.
    pub descended_constructions: usize,
    /// Time in the first descents (from the constructed solutions and from
    /// the search's own construction), the own construction and a TSP
    /// start's repair included.
    pub first_descent_seconds: f64,
}

/// Search `inst` from `starts` (constructed solutions, the best first; the
/// first may break the fleet limit or be incomplete, or there may be none).
/// Stops at the limits of `options`, when `stop` is set (Ctrl-C), or, with
/// no limit, after the first descents once a feasible solution is at hand.
/// `on_improve` sees every new best feasible solution.
pub fn search(
    inst: &Instance,
    starts: &[Solution],
    options: &SearchOptions,
    stop: &AtomicBool,
    policy: &mut dyn Reconstruct,
    on_improve: &mut dyn FnMut(&Found, f64),
) -> Result<Report> {
    let arcs = Arcs::new(inst);
    let mut run = Run {
        near: neighbours(inst, options.neighbours),
        options,
        clock: Instant::now(),
        rng: super::rng(options.seed),
        report: Report::default(),
        best: None,
        neural_seconds: 0.0,
        last_round_seconds: 0.0,
        on_improve,
    };
    let t = Instant::now();
    // The policy's solutions are offered first: a caller writing every
    // improvement has them before the own construction's descent (1.7 s at
    // 3,000 customers) ends. The best is always descended, the others while
    // time is left.
    for (k, start) in starts.iter().enumerate() {
        if k > 0 && run.out_of_time(stop) {
            break;
        }
        if let Some(mut routes) = from_start(&arcs, start, &mut run.rng) {
            descent(&mut routes, &run.near, &mut run.rng);
            run.offer(&routes);
            run.report.descended_constructions += 1;
        }
    }
    let mut own_rng = super::rng(options.seed ^ OWN_STREAM);
    let own = if run.out_of_time(stop) { None } else { own_construction(&arcs, &mut own_rng) };
    if let Some(mut own) = own {
        descent(&mut own, &run.near, &mut own_rng);
        run.report.kept_own_construction = run.best.as_ref().is_none_or(|b| key(&own) < key(b));
        run.offer(&own);
    }
    run.report.first_descent_seconds = t.elapsed().as_secs_f64();
    let Some(mut current) = run.best.clone() else { return Ok(run.report) };
    while !run.done(stop) {
        if run.neural_due() {
            run.reconstruct(&arcs, policy)?;
        }
        if let Some(cand) = run.ruin_and_recreate(&current) {
            let accept = run.accepts(&cand, &current);
            run.offer(&cand);
            if accept {
                current = cand;
            }
        }
    }
    Ok(run.report)
}

/// The state of one search: what it has found and how far it is.
struct Run<'a, 'o> {
    near: Vec<Vec<usize>>,
    options: &'o SearchOptions,
    clock: Instant,
    rng: Rng,
    report: Report,
    best: Option<Routes<'a>>,
    neural_seconds: f64,
    /// How long the policy's last round took: a round is not started when
    /// the time left would not hold another as long. The first round always
    /// starts, and a round can take longer than the last: this keeps the
    /// overrun to about one round, not a guarantee.
    last_round_seconds: f64,
    on_improve: &'o mut dyn FnMut(&Found, f64),
}

impl<'a> Run<'a, '_> {
    /// How far through its budget the search is, 0 to 1.
    fn progress(&self) -> f64 {
        let done = self.report.iterations as f64;
        match (self.options.time_limit, self.options.iterations) {
            (_, Some(k)) => done / k.max(1) as f64,
            (Some(limit), None) => self.clock.elapsed().as_secs_f64() / limit.as_secs_f64(),
            (None, None) => done / REPAIR_ITERATIONS as f64,
        }
    }

    /// Whether Ctrl-C came or the time limit has passed.
    fn out_of_time(&self, stop: &AtomicBool) -> bool {
        stop.load(Ordering::Relaxed) || self.options.time_limit.is_some_and(|limit| self.clock.elapsed() >= limit)
    }

    fn done(&self, stop: &AtomicBool) -> bool {
        let limited = self.options.time_limit.is_some() || self.options.iterations.is_some();
        stop.load(Ordering::Relaxed) || self.progress() >= 1.0 || (!limited && self.report.best.is_some())
    }

    /// Whether the policy's turn has come: by iterations when the search is
    /// bounded by them (deterministic: the clock plays no part), otherwise by
    /// its share of the time, and only while the time left holds a round as
    /// long as the last one (a round on a thousand customers takes a sizeable
    /// part of a second; the first round's time includes the encoding, so the
    /// guard errs on the side of stopping early).
    fn neural_due(&self) -> bool {
        let share = self.options.neural_share;
        share > 0.0
            && self.report.best.is_some()
            && match (self.options.iterations, self.options.time_limit) {
                (Some(_), _) => self.report.iterations % RECONSTRUCT_EVERY == RECONSTRUCT_EVERY - 1,
                (None, limit) => {
                    let elapsed = self.clock.elapsed().as_secs_f64();
                    self.neural_seconds < share * elapsed && limit.is_none_or(|limit| elapsed + self.last_round_seconds <= limit.as_secs_f64())
                }
            }
    }

    /// One round of the policy's re-construction of the best solution, each
    /// candidate descended and offered.
    fn reconstruct(&mut self, arcs: &'a Arcs<'a>, policy: &mut dyn Reconstruct) -> Result<()> {
        let t = Instant::now();
        let incumbent = self.report.best.as_ref().map(|f| f.solution.clone()).expect("a feasible best");
        for cand in policy.propose(&incumbent)? {
            if let Some(mut routes) = complete(arcs, &cand) {
                descent(&mut routes, &self.near, &mut self.rng);
                self.offer(&routes);
            }
        }
        self.report.reconstructions += 1;
        self.last_round_seconds = t.elapsed().as_secs_f64();
        self.neural_seconds += self.last_round_seconds;
        Ok(())
    }

    /// One iteration: ruin a copy of `current`, recreate it, descend; `None`
    /// when some customer found no place.
    fn ruin_and_recreate(&mut self, current: &Routes<'a>) -> Option<Routes<'a>> {
        self.report.iterations += 1;
        let mut cand = current.clone();
        let over_fleet = cand.excess_routes() > 0;
        let how = if over_fleet && self.rng.random_bool(0.5) { Ruin::Route } else { Ruin::Nearby { size: ruin_size(cand.instance(), &mut self.rng) } };
        let mut removed = ruin(&mut cand, &self.near, how, &mut self.rng);
        if !recreate(&mut cand, &mut removed, over_fleet, &mut self.rng) {
            return None;
        }
        descent(&mut cand, &self.near, &mut self.rng);
        Some(cand)
    }

    /// Record-to-record travel: better than the current solution, or within
    /// the shrinking threshold of the best (and no further beyond the fleet).
    fn accepts(&self, cand: &Routes, current: &Routes) -> bool {
        let best = self.best.as_ref().expect("a best after the first descent");
        let threshold = THRESHOLD * (1.0 - self.progress()).max(0.0);
        key(cand) < key(current) || (cand.excess_routes() <= best.excess_routes() && cand.cost() <= best.cost() * (1.0 + threshold))
    }

    /// Keep `cand` when it ranks before the best; a new best feasible
    /// solution is evaluated, traced and handed to `on_improve`.
    fn offer(&mut self, cand: &Routes<'a>) {
        if self.best.as_ref().is_some_and(|b| key(cand) >= key(b)) {
            return;
        }
        self.best = Some(cand.clone());
        if cand.excess_routes() > 0 {
            return;
        }
        let solution = cand.solution();
        let evaluation = evaluate(cand.instance(), &solution);
        if evaluation.is_feasible() {
            let found = Found { solution, evaluation };
            let seconds = self.clock.elapsed().as_secs_f64();
            self.report.trace.push(Improvement { seconds, cost: found.evaluation.cost });
            (self.on_improve)(&found, seconds);
            self.report.best = Some(found);
        }
    }
}

/// Rank: routes beyond the fleet first, then cost.
fn key(s: &Routes) -> (usize, f64) {
    (s.excess_routes(), s.cost())
}

/// How many customers a nearby ruin removes: uniform in [1, min(30, n / 4)] (at least 1).
fn ruin_size(inst: &Instance, rng: &mut Rng) -> usize {
    let most = (inst.num_customers() / 4).clamp(1, MAX_RUIN);
    rng.random_range(1..=most)
}

/// The constructed solution as routes to search from: itself when it visits
/// every customer once on routes that keep the rules (the fleet may be
/// exceeded), or, for one tour, a tour repaired from its order.
fn from_start<'a>(arcs: &'a Arcs<'a>, start: &Solution, rng: &mut Rng) -> Option<Routes<'a>> {
    let inst = arcs.instance();
    if let Some(routes) = complete(arcs, start) {
        return Some(routes);
    }
    let tour = start.routes.concat();
    if !inst.variant.is_tsp() || tour.len() != inst.num_customers() {
        return None;
    }
    super::repair::repair_tour(arcs, tour, rng).map(|t| Routes::new(arcs, &Solution::new(vec![t])))
}

/// The search's own construction, in order of closing time (then of draft
/// limit, the largest first): for one tour, that order repaired into a tour
/// that keeps the rules; otherwise every customer inserted at its cheapest
/// place, opening routes as needed. `None` when no tour could be repaired.
fn own_construction<'a>(arcs: &'a Arcs<'a>, rng: &mut Rng) -> Option<Routes<'a>> {
    let inst = arcs.instance();
    let mut customers: Vec<usize> = (1..=inst.num_customers()).collect();
    let limit = |j: usize| inst.draft_limit.as_ref().map_or(0.0, |d| d[j]);
    customers.sort_by(|&a, &b| inst.window(a)[1].total_cmp(&inst.window(b)[1]).then(limit(b).total_cmp(&limit(a))));
    if inst.variant.is_tsp() {
        let tour = super::repair::repair_tour(arcs, customers, rng)?;
        return Some(Routes::new(arcs, &Solution::new(vec![tour])));
    }
    let mut routes = Routes::new(arcs, &Solution::default());
    for &u in &customers {
        match super::ruin::cheapest_place(&routes, u, rng) {
            Some((r, pos)) => routes.insert(u, r, pos),
            None => routes.open_route(u),
        }
    }
    Some(routes)
}

/// `solution` as routes to search from, when it serves every customer once
/// and each route keeps the rules.
fn complete<'a>(arcs: &'a Arcs<'a>, solution: &Solution) -> Option<Routes<'a>> {
    let inst = arcs.instance();
    let mut seen = vec![false; inst.num_nodes()];
    for &c in solution.routes.iter().flatten() {
        if c == 0 || c >= seen.len() || std::mem::replace(&mut seen[c], true) {
            return None;
        }
    }
    let every = seen.iter().skip(1).all(|&s| s);
    let routes_ok = solution.routes.iter().all(|r| !r.is_empty() && route_breach(inst, r).is_none());
    (every && routes_ok && (!inst.variant.is_tsp() || solution.routes.len() == 1)).then(|| Routes::new(arcs, solution))
}
