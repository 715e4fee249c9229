//! Features: the one place units change. Unit-square data keep their frame,
//! other data are scaled into it with the aspect ratio kept, times scale like
//! distances, demands are divided by the capacity, SVD features are appended.

use std::path::Path;

use burn::backend::Flex;

use lrm::model::features::{Features, CUSTOMER_FEATURES, DEPOT_FEATURES};
use lrm::problem::io::read_instance;

use crate::common::values;
use crate::policy::instances;

#[test]
fn generated_unit_square_instances_keep_their_frame() {
    let device = Default::default();
    let insts = instances("VRPBLTW".parse().unwrap(), 10, 1);
    let f = Features::<Flex>::new(&insts, 0, &device);
    let c = values(f.customers);
    let inst = &insts[0];
    let row = |j: usize| &c[(j - 1) * CUSTOMER_FEATURES..j * CUSTOMER_FEATURES];
    for j in 1..=10 {
        let [x, y] = inst.coords.as_ref().unwrap()[j];
        let [early, late] = inst.window(j);
        let q = inst.capacity.unwrap();
        let expect = [x, y, inst.linehaul[j] / q, inst.backhaul_of(j) / q, early, late, inst.service[j], 0.0];
        for (a, b) in row(j).iter().zip(expect) {
            assert!((*a as f64 - b).abs() < 1e-6, "customer {j}: {:?} vs {expect:?}", row(j));
        }
    }
    let d = values(f.depot);
    assert_eq!(d.len(), DEPOT_FEATURES);
    assert_eq!(d[3] as f64, inst.distance_limit.unwrap() as f32 as f64);
}

#[test]
fn benchmark_coordinates_are_scaled_into_the_unit_square_with_their_aspect_ratio() {
    let device = Default::default();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/benchmarks/cvrp/A-n32-k5.vrp");
    let inst = read_instance(&path, None).unwrap();
    let f = Features::<Flex>::new(std::slice::from_ref(&inst), 0, &device);
    let frame = f.frames[0];
    let c = values(f.customers);
    let xs: Vec<f32> = c.chunks(CUSTOMER_FEATURES).map(|r| r[0]).collect();
    let ys: Vec<f32> = c.chunks(CUSTOMER_FEATURES).map(|r| r[1]).collect();
    let all = xs.iter().chain(&ys);
    assert!(all.clone().all(|v| (-1e-6..=1.0 + 1e-6).contains(v)));
    let span = |v: &[f32]| v.iter().cloned().fold(f32::MIN, f32::max) - v.iter().cloned().fold(f32::MAX, f32::min);
    assert!((span(&xs).max(span(&ys)) - 1.0).abs() < 0.05, "the longer side spans the square");
    // Distances in the frame are the instance's (unrounded) distances times the scale.
    let (a, b) = (1, 2);
    let d = ((xs[a - 1] - xs[b - 1]).powi(2) + (ys[a - 1] - ys[b - 1]).powi(2)).sqrt() as f64;
    let c0 = inst.coords.as_ref().unwrap();
    let real = ((c0[a][0] - c0[b][0]).powi(2) + (c0[a][1] - c0[b][1]).powi(2)).sqrt();
    assert!((d - real * frame.scale).abs() < 1e-5);
}

#[test]
fn svd_features_are_appended_to_every_node() {
    let device = Default::default();
    let insts = instances("ATSP".parse().unwrap(), 12, 2);
    let plain = Features::<Flex>::new(&insts, 0, &device);
    let svd = Features::<Flex>::new(&insts, 10, &device);
    assert_eq!(svd.customers.dims(), [2, 12, CUSTOMER_FEATURES + 20]);
    assert_eq!(svd.depot.dims(), [2, DEPOT_FEATURES + 20]);
    let head = values(svd.customers.clone().narrow(2, 0, CUSTOMER_FEATURES));
    assert_eq!(head, values(plain.customers));
    let tail = values(svd.customers.narrow(2, CUSTOMER_FEATURES, 20));
    assert!(tail.iter().any(|&v| v != 0.0) && tail.iter().all(|v| v.is_finite()));
}

#[test]
fn mixed_score_models_get_each_matrix_in_its_direction_in_the_model_frame() {
    let device = Default::default();
    let insts = instances("ATSP".parse().unwrap(), 12, 2);
    let radar = lrm::model::ModelConfig::preset("radar").unwrap();
    let features = Features::<Flex>::for_model(&insts, &radar, &device);
    let distances = features.distances.expect("radar reads the distances");
    assert_eq!(distances.dims(), [2, 13, 13]);
    let got = values(distances);
    for (b, inst) in insts.iter().enumerate() {
        let frame = features.frames[b];
        let asymmetric = (0..13).any(|i| (0..13).any(|j| inst.distance(i, j) != inst.distance(j, i)));
        assert!(asymmetric, "an ATSP instance");
        for i in 0..13 {
            for j in 0..13 {
                assert_eq!(got[(b * 13 + i) * 13 + j], frame.length(inst.distance(i, j)), "row i holds d(i, j)");
            }
        }
    }
    let plain = lrm::model::ModelConfig { mixed_score: false, ..radar };
    assert!(Features::<Flex>::for_model(&insts, &plain, &device).distances.is_none());
}
