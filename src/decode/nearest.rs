//! The nearest-neighbour construction: from the current node, go to the
//! nearest customer the rules allow; close the route (back to the depot)
//! only when none is. The classic baseline a learned policy must beat
//! (RADAR and MatNet report it on asymmetric matrices). It uses no policy:
//! the mask comes from the environment, so `problem::rules` decides what is
//! allowed, fleet limits included (a rollout can then dead-end).

use std::sync::Arc;

use super::{best_of, Outcome};
use crate::env::Env;
use crate::error::Result;
use crate::problem::Instance;

/// One nearest-neighbour rollout per instance; ties go to the lower index.
///
/// # Errors
/// None in practice: every action is taken from the mask.
pub fn decode(instances: &[Instance]) -> Result<Vec<Outcome>> {
    let mut env = Env::new(Arc::from(instances.to_vec()), 1);
    while !env.all_done() {
        let current = env.current_nodes();
        let actions: Vec<usize> = (0..env.num_rollouts()).map(|r| nearest(env.instance_of(r), current[r], env.mask_row(r))).collect();
        env.step(&actions)?;
    }
    Ok(best_of(instances, &env, None))
}

/// The nearest allowed customer from `from`, else the depot.
fn nearest(inst: &Instance, from: usize, mask: &[bool]) -> usize {
    (1..mask.len()).filter(|&j| mask[j]).min_by(|&a, &b| inst.distance(from, a).total_cmp(&inst.distance(from, b))).unwrap_or(0)
}
