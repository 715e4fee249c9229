//! Beam search of width W over env states, scored by cumulative
//! log-probability. At each step every beam of an instance proposes each node
//! its mask allows; the W best proposals survive (`Env::select` copies their
//! parents' states). A finished beam proposes only its no-op and keeps its
//! score; a beam that reaches a dead end drops out.
//!
//! The best complete feasible solution among the final beams is returned,
//! compared with the greedy rollout's, so a beam is never worse than greedy.
//! Width 1 is greedy: the same choices, ties to the lowest node.

use burn::tensor::backend::Backend;

use super::{best_of, multistart, runner::Batch, Outcome, Selector, Starts};
use crate::error::Result;

/// A proposal: score, parent rollout, node.
type Proposal = (f64, usize, usize);

pub fn decode<B: Backend>(batch: &Batch<B>, width: usize) -> Result<Vec<Outcome>> {
    let mut env = batch.env(1);
    let mut scores = vec![0.0f64; env.num_rollouts()];
    while !env.all_done() {
        let log_p = batch.log_probs(&env, env.mask(), None);
        let (p, w) = (env.per_instance(), env.width());
        let mut kept: Vec<Proposal> = Vec::with_capacity(env.num_instances() * width);
        for i in 0..env.num_instances() {
            let env_ref = &env;
            let mut proposals: Vec<Proposal> = (i * p..(i + 1) * p)
                .filter(|&r| scores[r] > f64::NEG_INFINITY)
                .flat_map(|r| (0..w).filter(move |&j| env_ref.mask_row(r)[j]).map(move |j| (r, j)))
                .map(|(r, j)| (scores[r] + log_p[r * w + j] as f64, r, j))
                .collect();
            proposals.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            proposals.truncate(width);
            if proposals.is_empty() {
                // Every beam of this instance is dead: keep one, as a no-op.
                let r = i * p;
                let j = (0..w).find(|&j| env.mask_row(r)[j]).expect("a dead rollout allows its no-op");
                proposals.push((f64::NEG_INFINITY, r, j));
            }
            let filler = (f64::NEG_INFINITY, proposals[0].1, proposals[0].2);
            proposals.resize(width, filler);
            kept.extend(proposals);
        }
        let parents: Vec<usize> = kept.iter().map(|k| k.1).collect();
        let nodes: Vec<usize> = kept.iter().map(|k| k.2).collect();
        env.select(&parents)?;
        env.step(&nodes)?;
        scores = kept.iter().enumerate().map(|(r, k)| if env.rollout(r).is_dead_end() { f64::NEG_INFINITY } else { k.0 }).collect();
    }
    let mut outcomes = best_of(batch.originals(), &env, None);
    let greedy = multistart::decode(batch, Starts::One, &mut Selector::Greedy)?;
    for (o, g) in outcomes.iter_mut().zip(greedy) {
        o.merge(g);
    }
    Ok(outcomes)
}
