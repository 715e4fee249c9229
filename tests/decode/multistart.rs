//! The first-node rule of multi-start (`decode::multistart::FirstNodes`):
//! decoding takes the K customers the policy likes best, training the first
//! K feasible ones in index order; with every customer a start both take all.

use lrm::decode::multistart::{first_nodes, FirstNodes};
use lrm::decode::{Batch, Starts};

use crate::common::{generated as instances, small_policy as small};

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

/// Greedy decoding by the fused CPU step against greedy by Burn's step with
/// the compiled-in model: the same tours on the valsets except where two
/// nodes tie within float rounding (counted; at most one instance in 32 per set).
#[test]
fn greedy_costs_equal_the_burn_steps_on_the_valsets() {
    use lrm::model::zoo::ModelSource;
    use lrm::problem::io::npz::read_dataset;
    let device = Default::default();
    let (policy, card) = ModelSource::Shipped("mtvrp-cpu").load::<burn::backend::Flex>(&device).unwrap();
    let mut differ = vec![];
    for set in ["cvrp", "vrpbltw", "ovrpltw"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("data/valsets/{set}/20.npz"));
        let insts = read_dataset(&path).unwrap();
        let batch = Batch::new(&policy, &card.model, &insts, false, &device);
        let mut fused = batch.env(1);
        batch.construct(&mut fused, &mut lrm::decode::Selector::Greedy).unwrap();
        // Burn's step: log-probabilities from `Policy::step`, argmax on the host.
        let features = lrm::model::features::Features::<burn::backend::Flex>::new(&insts, 0, &device);
        let encoding = policy.encode(&features);
        let mut reference = batch.env(1);
        while !reference.all_done() {
            let log_p: Vec<f32> = policy
                .step(&encoding, policy.step_input(&features, &reference, reference.mask(), None, &device))
                .into_data()
                .convert::<f32>()
                .to_vec()
                .unwrap();
            let w = reference.width();
            let actions: Vec<usize> =
                (0..reference.num_rollouts()).map(|r| lrm::decode::sampling::argmax(&log_p[r * w..(r + 1) * w], reference.mask_row(r))).collect();
            reference.step(&actions).unwrap();
        }
        let count = (0..insts.len()).filter(|&i| fused.rollout(i).actions() != reference.rollout(i).actions()).count();
        differ.push((set, count));
    }
    println!("greedy tours that differ between the fused and Burn steps (float ties): {differ:?}");
    assert!(differ.iter().all(|&(_, c)| c <= 1), "{differ:?}");
}
