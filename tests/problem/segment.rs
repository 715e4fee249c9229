//! `problem::rules::Segment`, the rules in concatenation form, agrees with
//! the visit-by-visit walk of `problem::rules` on every rule family, and
//! concatenation does not depend on where a route is split.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use lrm::problem::rules::{route_segment, travel, Segment};
use lrm::problem::{route_breach, Instance};

use crate::common::every_family;

fn segment_of(inst: &Instance, route: &[usize], split: usize) -> Segment {
    let mut head = Segment::depot_start(inst);
    let mut last = 0;
    for &c in &route[..split] {
        head = head.then(&Segment::customer(inst, c), inst.distance(last, c), inst.travel_time(last, c));
        last = c;
    }
    let mut tail = Segment::depot_end(inst);
    let mut next = 0;
    for &c in route[split..].iter().rev() {
        tail = Segment::customer(inst, c).then(&tail, travel(inst, c, next), inst.travel_time(c, next));
        next = c;
    }
    let first_of_tail = route.get(split).copied().unwrap_or(0);
    head.then(&tail, travel(inst, last, first_of_tail), inst.travel_time(last, first_of_tail))
}

#[test]
fn segments_agree_with_the_rules_walk_on_every_family_wherever_split() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut feasible, mut infeasible) = (0, 0);
    for seed in 0..4 {
        for inst in every_family(10, seed) {
            let n = inst.num_customers();
            for _ in 0..40 {
                let mut customers: Vec<usize> = (1..=n).collect();
                customers.shuffle(&mut rng);
                let len = if inst.variant.is_tsp() { n } else { rng.random_range(1..=n.min(6)) };
                let route = &customers[..len];
                let walked = route_breach(&inst, route);
                let whole = route_segment(&inst, route);
                assert_eq!(whole.breach(&inst), walked, "{}: route {route:?}", inst.name);
                for split in 0..=len {
                    let glued = segment_of(&inst, route, split);
                    assert_eq!(glued.breach(&inst), walked, "{}: route {route:?} split at {split}", inst.name);
                    assert!((glued.length - whole.length).abs() <= 1e-9 * whole.length.max(1.0));
                }
                if walked.is_none() {
                    feasible += 1
                } else {
                    infeasible += 1
                }
            }
        }
    }
    assert!(feasible > 200 && infeasible > 200, "both verdicts are exercised: {feasible} feasible, {infeasible} infeasible");
}

#[test]
fn the_empty_segment_is_the_identity_and_open_routes_pay_no_return() {
    let inst = &every_family(5, 1)[1];
    assert!(inst.variant.open);
    let a = route_segment(inst, &[1, 2]);
    assert_eq!(a.then(&Segment::EMPTY, 123.0, 45.0), a);
    assert_eq!(Segment::EMPTY.then(&a, 123.0, 45.0), a);
    assert_eq!(travel(inst, 2, 0), 0.0);
    assert_eq!(a.length, inst.distance(0, 1) + inst.distance(1, 2));
}
