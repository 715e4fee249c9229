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

/// `lrm solve`'s default work: POMO's every start and x8 up to 200
/// customers, every start up to 400, then the favourite 64,000,000 / n²
/// starts; never none.
#[test]
fn the_work_bound_buys_every_start_and_x8_on_small_instances_and_fewer_starts_on_large() {
    use lrm::decode::multistart::{within_work, SOLVE_WORK};
    assert_eq!(within_work(100, SOLVE_WORK), (Starts::All, true));
    assert_eq!(within_work(200, SOLVE_WORK), (Starts::All, true));
    assert_eq!(within_work(201, SOLVE_WORK), (Starts::All, false));
    assert_eq!(within_work(400, SOLVE_WORK), (Starts::All, false));
    assert_eq!(within_work(401, SOLVE_WORK), (Starts::Count(398), false));
    assert_eq!(within_work(1000, SOLVE_WORK), (Starts::Count(64), false));
    assert_eq!(within_work(8000, SOLVE_WORK), (Starts::One, false));
    assert_eq!(within_work(0, SOLVE_WORK), (Starts::All, true), "an instance without customers");
}

#[test]
fn a_work_bound_is_resolved_per_instance_and_only_for_strategies_that_take_starts() {
    use lrm::decode::{DecodeOptions, Strategy};
    let small = &instances("CVRP".parse().unwrap(), 50, 1, 1)[0];
    let large = &instances("CVRP".parse().unwrap(), 1000, 1, 1)[0];
    let solve = DecodeOptions { strategy: Strategy::Auto, ..DecodeOptions::default() }.with_solve_work(false);
    let on_small = solve.for_instance(small);
    assert_eq!((on_small.strategy, on_small.starts, on_small.augment, on_small.work), (Strategy::Greedy, Starts::All, true, None));
    let on_large = solve.for_instance(large);
    assert_eq!((on_large.starts, on_large.augment), (Starts::Count(64), false));
    let timed = DecodeOptions { time_limit: Some(std::time::Duration::from_secs(1)), ..DecodeOptions::default() }.with_solve_work(false);
    assert_eq!(timed.work, None, "with a time limit the search has the time: one start");
    assert_eq!(DecodeOptions::default().with_solve_work(true).work, None, "a search bounded by iterations: one start");
    let sample = DecodeOptions { strategy: Strategy::Sample, ..DecodeOptions::default() };
    assert_eq!(sample.clone().with_solve_work(false).work, None, "sampling takes no starts");
    let forced = DecodeOptions { work: Some(1), ..sample };
    assert!(forced.validate().unwrap_err().contains("work bound"));
}
