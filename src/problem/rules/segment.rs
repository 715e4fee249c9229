//! The rules of this module in concatenation form: a summary of a sequence of
//! visits that two adjacent sequences combine into in constant time.
//!
//! Local search asks "is this route feasible?" for routes glued together from
//! pieces of other routes (a prefix of one, a customer, the suffix of another).
//! Walking each candidate with [`super::RouteState`] costs the route's length;
//! a [`Segment`] answers in O(1) from summaries kept per prefix and suffix,
//! as in Vidal et al. (2013, "A hybrid genetic algorithm with adaptive
//! diversity management", section 4: concatenation of time-window data) and
//! PyVRP's segment classes. Each rule of FORMAT.md has its summary:
//! - capacity: linehaul and backhaul sums;
//! - mixed backhauls: the load on board is the route's total linehaul plus
//!   the largest backhaul-minus-linehaul over prefixes (`excess`);
//! - classic backhauls: whether a linehaul customer follows a backhaul one;
//! - draft limits: the largest cargo the segment can be entered with
//!   (`draft_headroom`, the smallest limit plus what was unloaded before it);
//! - time windows: duration, time warp, earliest and latest start;
//! - distance limit: the length.
//!
//! The summary is exact, so it agrees with [`super::RouteState`]; searches
//! still confirm a chosen move by walking the new routes through
//! `RouteState` (`problem::solution::route_feasible`) before applying it.

use super::Rule;
use crate::problem::instance::Instance;
use crate::problem::variant::Backhaul;

/// A sequence of visits summarised for the rules. The empty segment is the
/// identity of [`Segment::then`]. Distances and travel times may differ
/// (road networks), and neither need be symmetric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    /// Nodes in the segment (0: empty).
    pub visits: usize,
    /// Travel distance inside the segment, in the instance's units.
    pub length: f64,
    pub linehaul: f64,
    pub backhaul: f64,
    /// Largest backhaul minus linehaul over the segment's prefixes, the empty one included.
    excess: f64,
    has_linehaul: bool,
    has_backhaul: bool,
    /// No linehaul customer after a backhaul customer inside the segment.
    in_order: bool,
    /// The largest cargo the segment may be entered with under draft limits.
    draft_headroom: f64,
    /// Time-window summary (Vidal et al. 2013): duration with forced waiting,
    /// time warp, earliest and latest start of the first visit.
    duration: f64,
    time_warp: f64,
    earliest: f64,
    latest: f64,
}

impl Segment {
    /// The empty segment: `a.then(Segment::EMPTY)` is `a`.
    pub const EMPTY: Segment = Segment {
        visits: 0,
        length: 0.0,
        linehaul: 0.0,
        backhaul: 0.0,
        excess: 0.0,
        has_linehaul: false,
        has_backhaul: false,
        in_order: true,
        draft_headroom: f64::INFINITY,
        duration: 0.0,
        time_warp: 0.0,
        earliest: f64::NEG_INFINITY,
        latest: f64::INFINITY,
    };

    /// A route's start: the depot, left at its early time (FORMAT.md).
    pub fn depot_start(inst: &Instance) -> Segment {
        let early = inst.window(0)[0];
        Segment { visits: 1, earliest: early, latest: early, ..Segment::EMPTY }
    }

    /// A route's end: back at the depot before it closes; nothing on open routes.
    pub fn depot_end(inst: &Instance) -> Segment {
        if inst.variant.open {
            return Segment::EMPTY;
        }
        let [early, late] = inst.window(0);
        Segment { visits: 1, earliest: early, latest: late, ..Segment::EMPTY }
    }

    /// One visit to customer `j`.
    pub fn customer(inst: &Instance, j: usize) -> Segment {
        let (lin, back) = (inst.linehaul[j], inst.backhaul_of(j));
        let [early, late] = inst.window(j);
        let draft_headroom = inst.draft_limit.as_ref().map_or(f64::INFINITY, |d| d[j]);
        Segment {
            visits: 1,
            length: 0.0,
            linehaul: lin,
            backhaul: back,
            excess: (back - lin).max(0.0),
            has_linehaul: lin > 0.0,
            has_backhaul: back > 0.0,
            in_order: true,
            draft_headroom,
            duration: inst.service[j],
            time_warp: 0.0,
            earliest: early,
            latest: late,
        }
    }

    /// This segment followed by `next`, `distance` and `time` being the arc
    /// from this segment's last node to `next`'s first (ignored when either is
    /// empty): its length, and its travel time ([`Instance::travel_time`]).
    #[inline]
    pub fn then(&self, next: &Segment, distance: f64, time: f64) -> Segment {
        if self.visits == 0 {
            return *next;
        }
        if next.visits == 0 {
            return *self;
        }
        let a = self;
        let b = next;
        let delta = a.duration - a.time_warp + time;
        let wait = (b.earliest - delta - a.latest).max(0.0);
        let warp = (a.earliest + delta - b.latest).max(0.0);
        Segment {
            visits: a.visits + b.visits,
            length: a.length + distance + b.length,
            linehaul: a.linehaul + b.linehaul,
            backhaul: a.backhaul + b.backhaul,
            excess: a.excess.max(a.backhaul - a.linehaul + b.excess),
            has_linehaul: a.has_linehaul || b.has_linehaul,
            has_backhaul: a.has_backhaul || b.has_backhaul,
            in_order: a.in_order && b.in_order && !(a.has_backhaul && b.has_linehaul),
            draft_headroom: a.draft_headroom.min(b.draft_headroom + a.linehaul),
            duration: a.duration + b.duration + time + wait,
            time_warp: a.time_warp + b.time_warp + warp,
            earliest: (b.earliest - delta).max(a.earliest) - wait,
            latest: (b.latest - delta).min(a.latest) + warp,
        }
    }

    /// The first rule a whole route summarised by this segment (from
    /// [`Segment::depot_start`] to [`Segment::depot_end`]) breaks, in the
    /// order of [`Rule`]; `None` when it is feasible.
    pub fn breach(&self, inst: &Instance) -> Option<Rule> {
        let tol = inst.tolerance;
        if inst.backhaul_rule() == Backhaul::Classic && !self.in_order {
            return Some(Rule::Precedence);
        }
        if let Some(q) = inst.capacity.filter(|_| !inst.variant.is_tsp()) {
            let over = match inst.backhaul_rule() {
                Backhaul::Mixed => self.linehaul + self.excess > q + tol,
                _ => self.linehaul > q + tol || self.backhaul > q + tol,
            };
            if over {
                return Some(Rule::Capacity);
            }
        }
        if inst.draft_limit.is_some() && self.linehaul > self.draft_headroom + tol {
            return Some(Rule::DraftLimit);
        }
        if self.time_warp > tol {
            return Some(Rule::TimeWindow);
        }
        if inst.distance_limit.is_some_and(|limit| self.length > limit + tol) {
            return Some(Rule::DistanceLimit);
        }
        None
    }

    /// How far the route breaks its time windows, in time units (0 when it
    /// keeps them): the repair objective of searches that start infeasible.
    pub fn time_warp(&self) -> f64 {
        self.time_warp
    }

    /// How far the cargo exceeds the draft limits, in demand units.
    pub fn draft_excess(&self) -> f64 {
        (self.linehaul - self.draft_headroom).max(0.0)
    }
}

/// The distance a route pays from `i` to `j`: arcs into the depot are free
/// on open routes, which end at their last customer.
#[inline]
pub fn travel(inst: &Instance, i: usize, j: usize) -> f64 {
    if j == 0 && inst.variant.open {
        0.0
    } else {
        inst.distance(i, j)
    }
}

/// The segment of a whole route of customers, depot to depot, visit by visit.
pub fn route_segment(inst: &Instance, route: &[usize]) -> Segment {
    let mut seg = Segment::depot_start(inst);
    let mut last = 0;
    for &c in route {
        seg = seg.then(&Segment::customer(inst, c), inst.distance(last, c), inst.travel_time(last, c));
        last = c;
    }
    seg.then(&Segment::depot_end(inst), travel(inst, last, 0), inst.travel_time(last, 0))
}
