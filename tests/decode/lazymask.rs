//! LazyMask: with an unlimited budget it finds a feasible tour of every
//! feasible TSPTW/TSPDL instance (LMask's Proposition 4.1), where the same
//! policy on plain masks hits dead ends.

use lrm::decode::{self, DecodeOptions, Strategy};

use crate::common::{generated as instances, small_policy as small};

#[test]
fn lazymask_finds_feasible_tours_where_plain_masks_hit_dead_ends() {
    let (config, policy) = small("lmask");
    let device = Default::default();
    // Hard TSPTW instances are built around a feasible tour, so every one is feasible.
    let tsptw = instances("TSPTW".parse().unwrap(), 19, 12, 21);
    let plain = decode::solve(&policy, &config, &tsptw, &DecodeOptions::default(), &device).unwrap();
    let stuck = plain.iter().filter(|o| o.best.is_none()).count();
    assert!(stuck > 0, "plain masks: {stuck} of 12 hard TSPTW instances without a feasible tour");
    assert!(plain.iter().all(|o| o.best.is_some() || o.dead_ends > 0), "no solution means a dead end, said so");
    for look_ahead in [1, 2] {
        let lazy = DecodeOptions { strategy: Strategy::LazyMask, backtrack_budget: usize::MAX, look_ahead, ..DecodeOptions::default() };
        let outcomes = decode::solve(&policy, &config, &tsptw, &lazy, &device).unwrap();
        assert!(outcomes.iter().all(|o| o.best.is_some()), "LazyMask L={look_ahead}: every instance gets a feasible tour");
    }
    let tspdl = instances("TSPDL".parse().unwrap(), 19, 12, 21);
    let lazy = DecodeOptions { strategy: Strategy::LazyMask, backtrack_budget: usize::MAX, ..DecodeOptions::default() };
    let outcomes = decode::solve(&policy, &config, &tspdl, &lazy, &device).unwrap();
    assert!(outcomes.iter().all(|o| o.best.is_some()), "LazyMask on TSPDL: every instance gets a feasible tour");
}

#[test]
fn a_spent_budget_is_reported_as_infeasible() {
    let (config, policy) = small("lmask");
    let tsptw = instances("TSPTW".parse().unwrap(), 19, 12, 21);
    let none = DecodeOptions { strategy: Strategy::LazyMask, backtrack_budget: 0, look_ahead: 1, ..DecodeOptions::default() };
    let outcomes = decode::solve(&policy, &config, &tsptw, &none, &Default::default()).unwrap();
    for o in &outcomes {
        assert!(o.best.is_some() || o.dead_ends > 0, "{o:?}");
    }
}
