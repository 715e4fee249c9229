//! RRNet (RRNCO): parameter counts against RRNCO.md's hand-derived table,
//! the road inputs (normalisation, neighbour samples), shapes, durations that
//! change the policy, and decoding road instances with every start and x8.

use burn::backend::Flex;
use burn::module::Module;
use burn::tensor::Tensor;

use lrm::decode::{self, Batch, DecodeOptions, Starts};
use lrm::model::features::Features;
use lrm::model::{ModelConfig, Policy};
use lrm::problem::generate::city::{generate, City, CitySampling};
use lrm::problem::generate::Problem;
use lrm::problem::{evaluate, Instance, InstanceData};

use crate::common::{close, small_policy};

type B = Flex;

fn road_instances(variant: &str, n: usize, count: usize) -> Vec<Instance> {
    generate(&[City::synthetic(3, 200)], Problem::Variant(variant.parse().unwrap()), n, count, 7, CitySampling::Uniform).unwrap()
}

#[test]
fn parameter_counts_match_rrnco_once_its_unused_layers_and_per_problem_widths_are_counted() {
    let device = Default::default();
    let with = ModelConfig::preset("rrnco").unwrap();
    let without = ModelConfig { road_durations: false, ..with.clone() };
    for c in [&with, &without] {
        assert_eq!(c.init::<B>(&device).num_params(), c.num_params(), "the count from the config is the module's");
    }
    // RRNCO.md 3.7 counts layers the reference defines but never calls:
    // DistanceExpert's two 2E -> E linears, the decoder's project_out and
    // project_fixed_context (E x E, no bias).
    let e = 128;
    let distance_expert = 2 * (2 * e * e + e);
    let decoder_unused = 2 * e * e;
    // RCVRPTW: 6 attributes here for its 4 (+2E), a context of 3 for its 4 (-E).
    assert_eq!(with.num_params(), 4_290_252 - distance_expert - decoder_unused + 2 * e - e);
    // RCVRP: 6 attributes for 1 (+5E), a context of 3 for 1 (+2E), the duration weight (+1).
    assert_eq!(without.num_params(), 3_495_335 - distance_expert - decoder_unused + 5 * e + 2 * e + 1);
    // ATSP: the depot's own coordinate linear (+4E), attributes and their
    // combine linears (+7E, +2(2E^2 + E)); our context (E + 3 -> E, two
    // weights) for its first-and-current context (2E -> E, a 2E placeholder, one weight).
    let atsp_extra = 4 * e + 7 * e + 2 * (2 * e * e + e);
    let atsp_context = (2 * e * e + 2 * e + 1) - ((e + 3) * e + 2);
    assert_eq!(without.num_params(), 3_379_495 - decoder_unused + atsp_extra - atsp_context);
    // Against the raw totals: within 2% for ATSP; the unused layers alone are 2.3% and 2.8% of the others.
    assert!((without.num_params() as f64 / 3_379_495.0 - 1.0).abs() < 0.02);
}

#[test]
fn road_inputs_are_normalised_and_sample_distinct_near_nodes_deterministically() {
    let device = Default::default();
    let config = ModelConfig::preset("rrnco").unwrap();
    let insts = road_instances("VRPTW", 100, 2);
    let f = Features::<B>::for_model(&insts, &config, &device);
    let road = f.road.as_ref().expect("RRNet's features carry the road inputs");
    assert_eq!(road.distance.dims(), [2, 101, 101]);
    assert_eq!(road.outgoing.dims(), [2, 101, 25]);
    let max = |t: &Tensor<B, 3>| t.clone().max().into_scalar();
    assert!(close(max(&road.distance) as f64, 1.0) && close(max(&road.duration) as f64, 1.0), "both matrices divided by their largest entry");
    let out: Vec<f32> = road.outgoing.clone().into_data().to_vec().unwrap();
    let inc: Vec<f32> = road.incoming.clone().into_data().to_vec().unwrap();
    for row in out.chunks(25).chain(inc.chunks(25)) {
        assert!(row.windows(2).all(|w| w[0] <= w[1]), "sorted ascending");
        assert!(row.iter().all(|&d| d > 0.0), "never the node itself");
    }
    // Sampling by 1/d favours near nodes: the mean sampled distance is below the mean distance.
    let all: Vec<f32> = road.distance.clone().into_data().to_vec().unwrap();
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    assert!(mean(&out) < 0.8 * mean(&all), "sampled {} vs all {}", mean(&out), mean(&all));
    let again = Features::<B>::for_model(&insts, &config, &device);
    assert_eq!(again.road.unwrap().outgoing.into_data().to_vec::<f32>().unwrap(), out, "the same instance draws the same samples");
    // Fewer nodes than samples: the draw repeats to fill the 25 inputs.
    let small = road_instances("CVRP", 5, 1);
    let f = Features::<B>::for_model(&small, &config, &device);
    assert_eq!(f.road.unwrap().outgoing.dims(), [1, 6, 25]);
    let plain = Features::<B>::for_model(&small, &ModelConfig::preset("pomo").unwrap(), &device);
    assert!(plain.road.is_none(), "other policies do not pay for the matrices");
}

#[test]
fn the_encoder_gives_row_and_column_embeddings_and_durations_change_the_policy() {
    let device = Default::default();
    let (config, policy) = small_policy("rrnco");
    let Policy::Road(net) = &policy else { panic!("rrnco builds RRNet") };
    let insts = road_instances("VRPTW", 12, 2);
    let (row, column) = net.embed(&Features::for_model(&insts, &config, &device));
    assert_eq!(row.dims(), [2, 13, 32]);
    assert_eq!(column.dims(), [2, 13, 32]);
    assert!(row.clone().sub(column).abs().max().into_scalar() > 1e-4, "the two sides differ on an asymmetric matrix");
    // The same instances with every other travel time halved but the
    // longest (which sets the features' time scale, so that only the matrix
    // changes; the windows stay reachable): other log-probabilities.
    let halved = |t: &Vec<f64>| {
        let longest = t.iter().copied().fold(0.0, f64::max);
        t.iter().enumerate().map(|(k, &x)| if k % 2 == 1 && x < longest { x * 0.5 } else { x }).collect()
    };
    let faster: Vec<Instance> =
        insts.iter().map(|i| Instance::new(i.variant, InstanceData { durations: i.durations.as_ref().map(halved), ..i.to_data() }).unwrap()).collect();
    let first = |insts: &[Instance]| {
        let batch = Batch::new(&policy, &config, insts, false, &device);
        let env = batch.env(1);
        batch.log_probs(&env, env.mask(), None)
    };
    let (a, b) = (first(&insts), first(&faster));
    assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-5), "the duration matrix reaches the policy");
}

#[test]
fn encoding_in_chunks_of_instances_gives_the_same_cache() {
    let device = Default::default();
    let (config, policy) = small_policy("rrnco");
    let Policy::Road(net) = &policy else { panic!("rrnco builds RRNet") };
    let features = Features::<B>::for_model(&road_instances("VRPTW", 9, 5), &config, &device);
    let (whole, chunked) = (net.encode_in_chunks(&features, 5), net.encode_in_chunks(&features, 2));
    let values = |t: Tensor<B, 3>| t.into_data().to_vec::<f32>().unwrap();
    for (a, b) in [(whole.node_queries, chunked.node_queries), (whole.logit_keys, chunked.logit_keys), (whole.penalty, chunked.penalty)] {
        assert_eq!(a.dims(), b.dims());
        assert!(values(a).iter().zip(values(b)).all(|(x, y)| (x - y).abs() <= 1e-5 * x.abs().max(1.0)));
    }
}

#[test]
fn road_instances_decode_feasibly_with_every_start_and_x8() {
    let device = Default::default();
    let (config, policy) = small_policy("rrnco");
    for variant in ["ATSP", "CVRP", "VRPTW", "OVRPBL"] {
        let insts = road_instances(variant, 10, 2);
        let batch = Batch::new(&policy, &config, &insts, true, &device);
        assert_eq!(batch.copies(), 8, "{variant}: RRNet augments the coordinates of road instances");
        let options = DecodeOptions { starts: Starts::All, augment: true, ..DecodeOptions::default() };
        let outcomes = decode::solve(&policy, &config, &insts, &options, &device).unwrap();
        for (inst, out) in insts.iter().zip(&outcomes) {
            let found = out.best.as_ref().unwrap_or_else(|| panic!("{variant}: a feasible solution"));
            let eval = evaluate(inst, &found.solution);
            assert!(eval.is_feasible() && close(eval.cost, found.evaluation.cost), "{variant}: {eval:?}");
        }
    }
    let pomo = ModelConfig::preset("pomo").unwrap();
    assert!(!lrm::decode::augment::applies(&road_instances("CVRP", 5, 1)[0], &pomo), "a coordinate-only policy does not augment a matrix instance");
}
