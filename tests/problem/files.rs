//! Files written by `lrm` read back identically: VRPLIB, `.sol`, `.npz`
//! datasets and reference solutions; written VRPLIB uses PyVRP's field names.

use std::path::Path;
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use lrm::env::Env;
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::io::{npz, read_instance, solution, vrplib};
use lrm::problem::variant::all_variants;
use lrm::problem::{evaluate, Instance, Variant};

use crate::common::{lrm, temp_dir};

fn assert_same(a: &Instance, b: &Instance, what: &str) {
    assert_eq!(a.variant, b.variant, "{what}: variant");
    assert_eq!(a.coords, b.coords, "{what}: coords");
    assert_eq!(a.weights, b.weights, "{what}: weights");
    assert_eq!(a.capacity, b.capacity, "{what}: capacity");
    assert_eq!(a.linehaul, b.linehaul, "{what}: linehaul");
    assert_eq!(a.backhaul, b.backhaul, "{what}: backhaul");
    assert_eq!(a.time_windows, b.time_windows, "{what}: windows");
    assert_eq!(a.service, b.service, "{what}: service");
    assert_eq!(a.distance_limit, b.distance_limit, "{what}: limit");
    assert_eq!(a.draft_limit, b.draft_limit, "{what}: draft");
    assert_eq!(a.tolerance, b.tolerance, "{what}: tolerance");
}

fn generated(v: Variant, n: usize, count: usize) -> Vec<Instance> {
    let v = Variant { asymmetric: v.asymmetric && !(v.is_tsp() && (v.time_windows || v.draft_limit)), ..v };
    GeneratorConfig::new(Problem::Variant(v)).generate(n, count, 3)
}

#[test]
fn vrplib_files_round_trip_for_every_variant() {
    let dir = temp_dir("vrplib_round_trip");
    for v in all_variants() {
        for inst in generated(v, 15, 2) {
            let path = dir.join(format!("{}.vrp", inst.name));
            vrplib::write(&path, &inst).unwrap();
            let back = read_instance(&path, None).unwrap();
            assert_same(&inst, &back, &inst.name);
            assert_eq!(back.name, inst.name);
            assert_eq!(vrplib::to_string(&back), vrplib::to_string(&inst));
        }
    }
}

#[test]
fn written_vrplib_uses_the_field_names_pyvrp_reads() {
    // PyVRP's documented specifications and sections (docs/dev/supported_vrplib_fields),
    // plus DRAFT_LIMIT_SECTION, which only TSPDL files carry.
    let pyvrp = [
        "NAME",
        "TYPE",
        "COMMENT",
        "DIMENSION",
        "CAPACITY",
        "VEHICLES",
        "VEHICLES_MAX_DISTANCE",
        "EDGE_WEIGHT_TYPE",
        "EDGE_WEIGHT_FORMAT",
        "SERVICE_TIME",
        "NODE_COORD_SECTION",
        "DEMAND_SECTION",
        "BACKHAUL_SECTION",
        "TIME_WINDOW_SECTION",
        "SERVICE_TIME_SECTION",
        "EDGE_WEIGHT_SECTION",
        "DEPOT_SECTION",
        "EOF",
    ];
    for v in all_variants() {
        let inst = &generated(v, 8, 1)[0];
        for line in vrplib::to_string(inst).lines() {
            let key = line.split([' ', ':']).next().unwrap();
            let numeric = key.parse::<f64>().is_ok();
            assert!(numeric || pyvrp.contains(&key) || (key == "DRAFT_LIMIT_SECTION" && v.draft_limit), "{v}: {key}");
        }
    }
}

#[test]
fn solution_files_round_trip_with_their_cost() {
    let dir = temp_dir("sol_round_trip");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for name in ["CVRP", "OVRPBLTW", "TSPTW", "ATSP"] {
        let instances = generated(name.parse().unwrap(), 30, 2);
        let mut env = Env::new(Arc::from(instances.clone()), 1);
        while !env.all_done() {
            let a = env.random_actions(&mut rng);
            env.step(&a).unwrap();
        }
        for (inst, sol) in instances.iter().zip(env.solutions()) {
            let cost = evaluate(inst, &sol).cost;
            let path = dir.join(format!("{}.sol", inst.name));
            solution::write(&path, &sol, cost).unwrap();
            let back = solution::read(&path).unwrap();
            assert_eq!(back.solution, sol);
            assert_eq!(back.cost, Some(cost), "{name}: the cost line keeps every digit");
        }
    }
}

#[test]
fn npz_datasets_round_trip_for_every_family() {
    let dir = temp_dir("npz_round_trip");
    let sets: Vec<(&str, Vec<Instance>)> = vec![
        ("mixed", GeneratorConfig::new(Problem::Mixed { mixed_backhaul: false }).generate(20, 16, 9)),
        ("mixed_mb", GeneratorConfig::new(Problem::Mixed { mixed_backhaul: true }).generate(20, 16, 9)),
        ("vrpbltw", generated("VRPBLTW".parse().unwrap(), 50, 4)),
        ("tsptw", generated("TSPTW".parse().unwrap(), 19, 4)),
        ("tspdl", generated("TSPDL".parse().unwrap(), 19, 4)),
        ("atsp", generated("ATSP".parse().unwrap(), 12, 4)),
        ("acvrp", generated("ACVRP".parse().unwrap(), 12, 4)),
    ];
    for (name, instances) in sets {
        let path = dir.join(format!("{name}.npz"));
        npz::write_dataset(&path, &instances).unwrap();
        let back = npz::read_dataset(&path).unwrap();
        assert_eq!(back.len(), instances.len());
        for (a, b) in instances.iter().zip(&back) {
            assert_same(a, b, &format!("{name}: {}", a.name));
        }
        // Written again, the file is byte for byte the same.
        let again = dir.join(format!("{name}-again.npz"));
        npz::write_dataset(&again, &back).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&again).unwrap(), "{name}");
    }
}

/// A `.npy` array as numpy writes it: version 1, the header padded to 64
/// bytes, then `body`. `descr` is the dtype's Python literal.
fn npy(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': {descr}, 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    [b"\x93NUMPY\x01\x00".as_slice(), &(header.len() as u16).to_le_bytes(), header.as_bytes(), body].concat()
}

/// The bytes of an `.npz` holding `arrays`, each `NAME.npy`.
fn npz_bytes(arrays: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in arrays {
        zip.start_file(format!("{name}.npy"), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn npy_arrays_in_fortran_order_and_either_byte_order_read_as_numpy_wrote_them() {
    let path = Path::new("arrays.npz");
    // np.asfortranarray(np.arange(6, dtype='>f8').reshape(2, 3)): stored column by column, big-endian.
    let fortran: Vec<u8> = [0.0f64, 3.0, 1.0, 4.0, 2.0, 5.0].iter().flat_map(|x| x.to_be_bytes()).collect();
    let small: Vec<u8> = [-2i16, 7].iter().flat_map(|x| x.to_le_bytes()).collect();
    let bytes =
        npz_bytes(&[("f", npy("'>f8'", true, "(2, 3)", &fortran)), ("i", npy("'<i2'", false, "(2,)", &small)), ("b", npy("'|b1'", false, "(1,)", &[1]))]);
    let arrays = npz::parse_arrays(path, &bytes).unwrap();
    assert_eq!(arrays["f"], npz::Array::new(vec![2, 3], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), "read back in C order");
    assert_eq!(arrays["i"].data, vec![-2.0, 7.0]);
    assert_eq!(arrays["b"].data, vec![1.0]);

    // A header that claims more values than the file holds is refused before
    // anything is allocated for them, naming the array.
    let huge = npz_bytes(&[("locs", npy("'<f4'", false, "(1000000000000, 2)", &[0; 8]))]);
    let err = npz::parse_arrays(path, &huge).unwrap_err().to_string();
    assert!(err.contains("array locs") && err.contains("8 data bytes"), "{err}");
    // Deeply nested brackets, which the header parser would take minutes
    // over, are refused at once.
    let nested = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let started = std::time::Instant::now();
    let err = npz::parse_arrays(path, &npz_bytes(&[("x", npy(&nested, false, "(1,)", &[0; 4]))])).unwrap_err().to_string();
    assert!(err.contains("brackets nested 41 deep"), "{err}");
    assert!(started.elapsed().as_secs() < 5, "took {:?}", started.elapsed());
    for (descr, why) in [("'<c16'", "unsupported dtype <c16"), ("'|O'", "unsupported dtype |O")] {
        let err = npz::parse_arrays(path, &npz_bytes(&[("x", npy(descr, false, "(1,)", &[0; 16]))])).unwrap_err().to_string();
        assert!(err.contains(why), "{descr}: {err}");
    }
}

#[test]
fn reference_solution_files_round_trip() {
    let dir = temp_dir("reference_round_trip");
    let instances = generated("VRPTW".parse().unwrap(), 20, 3);
    let mut env = Env::new(Arc::from(instances.clone()), 1);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    while !env.all_done() {
        let a = env.random_actions(&mut rng);
        env.step(&a).unwrap();
    }
    let sols = env.solutions();
    let costs: Vec<f64> = instances.iter().zip(&sols).map(|(i, s)| evaluate(i, s).cost).collect();
    let path = dir.join("20_sol_lrm.npz");
    npz::write_reference(&path, &costs, &sols).unwrap();
    let (c, s) = npz::read_reference(&path).unwrap();
    assert_eq!(c, costs);
    assert_eq!(s.unwrap(), sols);
}

#[test]
fn generate_command_writes_vrplib_files_and_datasets() {
    let dir = temp_dir("generate_cmd");
    let out = lrm().args(["generate", "--problem", "VRPTW", "--size", "12", "--count", "3", "--seed", "1", "--out"]).arg(dir.join("vrptw")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: Vec<_> = std::fs::read_dir(dir.join("vrptw")).unwrap().collect();
    assert_eq!(files.len(), 3);
    // The README's first command writes into a directory that does not exist yet.
    let nested = dir.join("data/m.npz");
    let out = lrm()
        .args(["generate", "--problem", "MIXED", "--size", "12", "--count", "5", "--seed", "1", "--distribution", "mixed", "--out"])
        .arg(&nested)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(npz::read_dataset(&nested).unwrap().len(), 5);
    let same_seed = GeneratorConfig::new(Problem::Variant("VRPTW".parse().unwrap())).generate(12, 3, 1);
    let first = read_instance(&dir.join("vrptw").join(format!("{}.vrp", same_seed[0].name)), None).unwrap();
    assert_same(&first, &same_seed[0], "lrm generate = the library's generator");
    let bad = lrm().args(["generate", "--problem", "VRPXX", "--size", "5", "--out"]).arg(dir.join("x")).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(!Path::new(&dir.join("x")).exists());
}

#[test]
fn duration_matrices_read_in_both_row_layouts_and_round_trip() {
    let data = crate::common::data().join("checker");
    let plain = read_instance(&data.join("vrptw_durations.vrp"), None).unwrap();
    let indexed = read_instance(&data.join("vrptw_durations_indexed.vrp"), None).unwrap();
    assert_eq!(plain.durations, indexed.durations);
    assert_eq!(plain.travel_time(0, 1), 30.0);
    assert_eq!(plain.distance(0, 1), 10.0);
    let path = temp_dir("durations").join("d.vrp");
    vrplib::write(&path, &plain).unwrap();
    let back = read_instance(&path, None).unwrap();
    assert_eq!(back.durations, plain.durations);
    assert_same(&back, &plain, "durations round trip");
}

#[test]
fn a_comment_over_several_lines_reads_and_its_tour_checks_at_the_right_cost() {
    let cases = crate::common::data().join("cases");
    let inst = read_instance(&cases.join("multi-comment.tsp"), None).unwrap();
    let tour = solution::read(&cases.join("multi-comment.opt.tour")).unwrap();
    let eval = evaluate(&inst, &tour.solution);
    assert!(eval.is_feasible());
    assert_eq!(eval.cost, 258.0);
}

#[test]
fn rrnco_style_datasets_with_duration_matrices_read_as_they_are_and_round_trip() {
    use lrm::problem::io::npz::{write_arrays, Array, Dtype};
    // Two instances of 3 customers in RRNCO's rcvrptw layout: raw distances,
    // normalised durations, windows in duration units, demands over capacity.
    let (b, nodes) = (2, 4);
    let mut distance = vec![];
    let mut duration = vec![];
    for k in 0..b {
        for i in 0..nodes {
            for j in 0..nodes {
                distance.push(if i == j { 0.0 } else { 1.0 + (i * 3 + j + k) as f64 });
                duration.push(if i == j { 0.0 } else { 0.1 * (1 + (i + 2 * j) % 4) as f64 });
            }
        }
    }
    let windows: Vec<f64> = (0..b).flat_map(|_| [0.0, 4.6, 0.0, 2.0, 0.5, 3.0, 1.0, 4.0]).collect();
    let arrays = [
        ("locs", Array::new(vec![b, nodes, 2], (0..b * nodes * 2).map(|x| (x % 7) as f64 / 7.0).collect()), Dtype::F4),
        ("distance_matrix", Array::new(vec![b, nodes, nodes], distance.clone()), Dtype::F4),
        ("duration_matrix", Array::new(vec![b, nodes, nodes], duration.clone()), Dtype::F4),
        ("demand_linehaul", Array::new(vec![b, 3], vec![0.02, 0.04, 0.18, 0.1, 0.12, 0.14]), Dtype::F4),
        ("vehicle_capacity", Array::new(vec![b, 1], vec![1.0; b]), Dtype::F4),
        ("speed", Array::new(vec![b, 1], vec![1.0; b]), Dtype::F4),
        ("time_windows", Array::new(vec![b, nodes, 2], windows), Dtype::F4),
        ("service_time", Array::new(vec![b, nodes], vec![0.0, 0.15, 0.16, 0.17, 0.0, 0.15, 0.16, 0.17]), Dtype::F4),
    ];
    let dir = temp_dir("rrnco-npz");
    let path = dir.join("rcvrptw_n3.npz");
    write_arrays(&path, &arrays).unwrap();
    let instances = npz::read_dataset(&path).unwrap();
    assert_eq!(instances.len(), 2);
    let inst = &instances[1];
    assert_eq!(inst.variant.to_string(), "AVRPTW");
    assert!((inst.travel_time(1, 2) - duration[nodes * nodes + nodes + 2]).abs() < 1e-6);
    assert!((inst.distance(1, 2) - distance[nodes * nodes + nodes + 2]).abs() < 1e-6);
    // Arrival times follow the durations, costs the distances.
    let sol = lrm::problem::Solution::new(vec![vec![1], vec![2], vec![3]]);
    let eval = evaluate(inst, &sol);
    let cost: f64 = (1..nodes).map(|j| inst.distance(0, j) + inst.distance(j, 0)).sum();
    assert!(eval.is_feasible() && (eval.cost - cost).abs() < 1e-9, "{eval:?}");
    let again = dir.join("again.npz");
    npz::write_dataset(&again, &instances).unwrap();
    let back = npz::read_dataset(&again).unwrap();
    assert_eq!(back[1].durations, inst.durations);
}

#[test]
fn rrnco_rcvrp_datasets_with_a_separate_depot_read_as_they_are() {
    use lrm::problem::io::npz::{write_arrays, Array, Dtype};
    // RRNCO's rcvrp test layout (RL4CO's CVRP): `depot` [B, 2], customer-only
    // `locs`, unscaled integer `demand` [B, n], `capacity` [B], raw distances.
    let (b, n) = (2, 3);
    let distance: Vec<f64> = (0..b * 16).map(|e| if e % 16 % 5 == 0 { 0.0 } else { 1.0 + (e % 7) as f64 }).collect();
    let arrays = |depot: Array| {
        [
            ("depot", depot, Dtype::F4),
            ("locs", Array::new(vec![b, n, 2], (0..b * n * 2).map(|x| (x % 5) as f64 / 5.0).collect()), Dtype::F4),
            ("demand", Array::new(vec![b, n], vec![3.0, 9.0, 1.0, 4.0, 4.0, 2.0]), Dtype::F4),
            ("capacity", Array::new(vec![b], vec![10.0; b]), Dtype::F4),
            ("distance_matrix", Array::new(vec![b, n + 1, n + 1], distance.clone()), Dtype::F4),
        ]
    };
    let dir = temp_dir("rrnco-rcvrp");
    let path = dir.join("rcvrp_n3.npz");
    write_arrays(&path, &arrays(Array::new(vec![b, 2], vec![0.5, 0.5, 0.1, 0.9]))).unwrap();
    let instances = npz::read_dataset(&path).unwrap();
    let inst = &instances[0];
    assert_eq!(inst.variant.to_string(), "ACVRP");
    assert_eq!(inst.capacity, Some(10.0));
    assert_eq!(inst.linehaul, vec![0.0, 3.0, 9.0, 1.0]);
    assert_eq!(inst.coords.as_ref().unwrap()[0], [0.5, 0.5], "the depot is node 0");
    assert_eq!(inst.distance(1, 2), distance[6]);
    // 3 + 9 > 10: customers 1 and 2 cannot share a route.
    let together = evaluate(inst, &lrm::problem::Solution::new(vec![vec![1, 2], vec![3]]));
    assert!(!together.is_feasible());
    let apart = evaluate(inst, &lrm::problem::Solution::new(vec![vec![1, 3], vec![2]]));
    let cost = inst.distance(0, 1) + inst.distance(1, 3) + inst.distance(3, 0) + inst.distance(0, 2) + inst.distance(2, 0);
    assert!(apart.is_feasible() && (apart.cost - cost).abs() < 1e-9, "{apart:?}");
    // A depot of the wrong shape is named.
    write_arrays(&path, &arrays(Array::new(vec![b, 3], vec![0.0; b * 3]))).unwrap();
    let err = npz::read_dataset(&path).unwrap_err().to_string();
    assert!(err.contains("'depot' must have shape [B, 2]"), "{err}");
}
