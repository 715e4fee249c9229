//! The first-node rule of multi-start (`decode::multistart::FirstNodes`):
//! decoding takes the K customers the policy likes best, training the first
//! K feasible ones in index order; with every customer a start both take all.

use lrm::decode::multistart::{first_nodes, FirstNodes};
use lrm::decode::{Batch, Starts};

use crate::strategies::{instances, small};

#[test]
fn decoding_ranks_first_nodes_by_the_policy_and_training_takes_index_order() {
    let (config, policy) = small("pomo");
    let insts = instances("VRPTW".parse().unwrap(), 12, 3, 4);
    let device = Default::default();
    let batch = Batch::new(&policy, &config, &insts, false, &device);
    let env = batch.env(1);
    let w = env.width();
    let log_p = batch.log_probs(&env, env.mask(), None);
    let ranked = first_nodes(&batch, &env, Starts::Count(3), FirstNodes::Ranked);
    let ordered = first_nodes(&batch, &env, Starts::Count(3), FirstNodes::IndexOrder);
    for i in 0..insts.len() {
        let feasible: Vec<usize> = (1..w).filter(|&j| env.mask_row(i)[j]).collect();
        assert_eq!(&ordered[3 * i..3 * i + 3], &feasible[..3], "instance {i}: training takes the first feasible customers");
        let mut best = feasible.clone();
        let row = &log_p[i * w..(i + 1) * w];
        best.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
        assert_eq!(&ranked[3 * i..3 * i + 3], &best[..3], "instance {i}: decoding takes the policy's favourites");
    }
    let all_ranked = first_nodes(&batch, &env, Starts::All, FirstNodes::Ranked);
    let all_ordered = first_nodes(&batch, &env, Starts::All, FirstNodes::IndexOrder);
    assert_eq!(all_ranked, all_ordered, "every customer a start: the same starts");
}
