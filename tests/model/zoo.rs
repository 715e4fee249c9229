//! The model zoo: which shipped model serves which instance, and the CLI
//! naming the model it used.

use lrm::model::zoo::{self, Domain, ModelSource};
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::io::read_instance;
use lrm::problem::{Instance, InstanceData};

use crate::common::{data, lrm};

fn generated(variant: &str, asymmetric: bool) -> Instance {
    let mut g = GeneratorConfig::new(Problem::Variant(variant.parse().unwrap()));
    g.asymmetric = asymmetric;
    g.generate(10, 1, 5).remove(0)
}

#[test]
fn each_instance_belongs_to_the_domain_of_its_problem() {
    assert_eq!(Domain::of(&generated("CVRP", false)), Domain::Capacitated);
    assert_eq!(Domain::of(&generated("OVRPBLTW", false)), Domain::Capacitated);
    assert_eq!(Domain::of(&generated("TSP", false)), Domain::Capacitated);
    assert_eq!(Domain::of(&generated("TSPTW", false)), Domain::Tsptw);
    assert_eq!(Domain::of(&generated("TSPDL", false)), Domain::Tspdl);
    assert_eq!(Domain::of(&generated("ATSP", true)), Domain::Matrix);
    let matrix = read_instance(&data().join("cases/matrix-cvrp.vrp"), None).unwrap();
    assert_eq!(Domain::of(&matrix), Domain::Matrix);
    let timed = Instance::new(matrix.variant, InstanceData { durations: Some(vec![0.0; matrix.num_nodes().pow(2)]), ..matrix.to_data() }).unwrap();
    assert_eq!(Domain::of(&timed), Domain::Road, "a duration matrix makes it a road instance");
}

#[test]
fn the_matrix_model_warns_outside_its_training_but_not_about_a_symmetric_matrix() {
    let card = zoo::for_domain(Domain::Matrix).card().unwrap();
    let case = read_instance(&data().join("cases/matrix-cvrp.vrp"), None).unwrap();
    assert_eq!(case.variant.to_string(), "CVRP", "a symmetric explicit matrix");
    let warnings = card.outside_training(&case);
    assert!(warnings.iter().all(|w| !w.contains("not trained on")), "ACVRP covers CVRP on a matrix: {warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("5 customers")), "{warnings:?}");
    let tsptw = read_instance(&data().join("benchmarks/tsptw/n20w20.001.vrp"), None).unwrap();
    assert!(card.outside_training(&tsptw).iter().any(|w| w.contains("not trained on")), "time windows are new to it");
    let warnings = zoo::ZOO[0].card().unwrap().outside_training(&generated("CVRP", false));
    assert!(warnings.iter().all(|w| !w.contains("not trained on")), "{warnings:?}");
}

#[test]
fn a_matrix_that_follows_the_coordinates_is_a_road_network() {
    let cvrp = generated("CVRP", false);
    let coords = cvrp.coords.clone().unwrap();
    let n = coords.len();
    let straight = |i: usize, j: usize| (coords[i][0] - coords[j][0]).hypot(coords[i][1] - coords[j][1]);
    // Detours of 20-40%, one way longer than the other, as on streets.
    let road: Vec<f64> = (0..n * n).map(|k| straight(k / n, k % n) * (1.2 + 0.2 * ((k / n + 2 * (k % n)) % 3) as f64 / 2.0)).collect();
    let with_matrix =
        |coords: Option<Vec<[f64; 2]>>, matrix: Vec<f64>| Instance::new(cvrp.variant, InstanceData { coords, matrix: Some(matrix), ..cvrp.to_data() }).unwrap();
    let on_road = with_matrix(cvrp.coords.clone(), road.clone());
    assert_eq!(Domain::of(&on_road), Domain::Road);
    assert_eq!(ModelSource::Auto.resolve(&on_road), ModelSource::Shipped(zoo::for_domain(Domain::Road).name));
    // The same entries, each pair's distance given to another pair: unrelated to the points.
    let shuffled: Vec<f64> = (0..n * n).map(|k| if k / n == k % n { 0.0 } else { road[(k * 7 + 3) % (n * n)].max(0.1) }).collect();
    assert_eq!(Domain::of(&with_matrix(cvrp.coords.clone(), shuffled)), Domain::Matrix);
    assert_eq!(Domain::of(&with_matrix(None, road)), Domain::Matrix, "no coordinates to follow");
    for set in ["atsp/50.npz", "acvrp/50.npz"] {
        let generic = lrm::problem::io::npz::read_dataset(&data().join("valsets").join(set)).unwrap();
        assert!(generic.iter().all(|i| Domain::of(i) == Domain::Matrix), "{set}: MatNet-style random matrices");
    }
    for set in ["road/atsp/100.npz", "road/acvrp/100.npz"] {
        let road = lrm::problem::io::npz::read_dataset(&data().join("valsets").join(set)).unwrap();
        assert!(road.iter().all(|i| Domain::of(i) == Domain::Road), "{set}: city distances without durations");
    }
}

#[test]
fn auto_gives_every_instance_the_model_of_its_domain_once() {
    let instances = [generated("CVRP", false), generated("TSPTW", false), generated("VRPTW", false), generated("TSPDL", false)];
    let groups = ModelSource::Auto.assign(&instances);
    let mut seen: Vec<usize> = groups.iter().flat_map(|(_, m)| m.clone()).collect();
    seen.sort();
    assert_eq!(seen, [0, 1, 2, 3]);
    for (source, members) in &groups {
        for &k in members {
            let expected = zoo::for_domain(Domain::of(&instances[k])).name;
            assert_eq!(*source, ModelSource::Shipped(expected));
            assert_eq!(ModelSource::Auto.resolve(&instances[k]), ModelSource::Shipped(expected));
        }
    }
    assert_eq!(groups.len(), groups.iter().map(|(s, _)| s.name()).collect::<std::collections::BTreeSet<_>>().len(), "one group per model");
    let file = ModelSource::File("x.toml".into());
    assert_eq!(file.assign(&instances), vec![(file.clone(), vec![0, 1, 2, 3])]);
}

#[test]
fn model_names_parse_to_shipped_models_presets_or_files() {
    assert_eq!(ModelSource::parse(zoo::ZOO[0].name).unwrap(), ModelSource::Shipped(zoo::ZOO[0].name));
    assert_eq!(ModelSource::parse("pomo").unwrap(), ModelSource::Preset("pomo".into()));
    assert_eq!(ModelSource::parse("runs/x/latest.toml").unwrap(), ModelSource::File("runs/x/latest.toml".into()));
    let card = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(zoo::ZOO[0].name);
    assert_eq!(ModelSource::parse(card.to_str().unwrap()).unwrap(), ModelSource::File(card.clone()), "a card's path without its extension");
    let error = ModelSource::parse("mtvrp").unwrap_err().to_string();
    for named in [zoo::ZOO[0].name, "pomo", "deep-DxW", "mtvrp.toml", "mtvrp.safetensors"] {
        assert!(error.contains(named), "{error}");
    }
    // From configs/, where matrix-cpu.toml is a training config (a card
    // without weights), the name is still the shipped model's.
    let configs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    assert!(configs.join("matrix-cpu.toml").is_file());
    let out = lrm().current_dir(&configs).args(["info", "--model", "matrix-cpu", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for m in zoo::ZOO {
        let card = m.card().unwrap();
        let t = card.trained_on.expect("a shipped model records its training");
        assert!(t.steps > 0 && t.instances > 0 && !t.stretches.is_empty(), "{}: {t:?}", m.name);
        assert_eq!(t.steps, t.stretches.iter().map(|s| s.steps).sum::<usize>(), "{}", m.name);
        assert!(t.validation.contains_key("score"), "{}", m.name);
    }
}

#[test]
fn solve_and_info_name_the_shipped_models() {
    let out = lrm().args(["info", "--models", "--json"]).output().unwrap();
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), zoo::ZOO.len());
    for (row, m) in rows.iter().zip(zoo::ZOO) {
        assert_eq!(row["name"], m.name);
        assert!(row["instances"].as_u64().unwrap() > 0 && row["validation_score"].as_f64().is_some(), "{row}");
        let out = lrm().args(["info", "--model", m.name, "--json"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let facts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(facts["parameters"], row["parameters"], "{}", m.name);
        assert_eq!((&facts["steps"], &facts["validation"]), (&row["steps"], &row["validation"]), "{}: info --model shows the card", m.name);
    }
    let out = lrm().args(["info", "--model", "matrix-cpu"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("20 to 100 customers") && text.contains("mean gap to the references in % per set"), "the text names its units:\n{text}");

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("zoo-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let tsptw = data().join("benchmarks/tsptw/n20w20.001.vrp");
    let out = lrm().arg("solve").arg(&tsptw).arg("--out").arg(&dir).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(line["model"], zoo::for_domain(Domain::Matrix).name);

    let out = lrm().arg("solve").arg(&tsptw).args(["--model", "no-such-model"]).arg("--out").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-model"));
}

/// The first `check.instances` of the card's set, decoded as the card says;
/// the mean gap over the instances solved and the share left unsolved.
fn measure(m: &zoo::Shipped) -> (lrm::model::checkpoint::CardCheck, f64, f64) {
    use lrm::decode::{self, DecodeOptions, Starts, Strategy};
    use lrm::eval::{Dataset, Score};
    let card = m.card().unwrap();
    let check = card.check.clone().unwrap_or_else(|| panic!("{}: the card states no check", m.name));
    let mut set = Dataset::load_beside(&data().join("valsets").join(format!("{}.npz", check.set))).unwrap();
    assert!(set.reference.is_some(), "{}: no reference beside it", check.set);
    set.instances.truncate(check.instances);
    let lazymask = card.trained_on.as_ref().and_then(|t| t.decoder.as_deref()) == Some("lazymask");
    let options = DecodeOptions {
        strategy: if lazymask { Strategy::LazyMask } else { Strategy::Greedy },
        starts: if lazymask { Starts::One } else { Starts::All },
        ..DecodeOptions::default()
    };
    let device = Default::default();
    let (policy, _) = ModelSource::Shipped(m.name).load::<burn::backend::Flex>(&device).unwrap();
    let outcomes = decode::solve(&policy, &card.model, &set.instances, &options, &device).unwrap();
    let score = Score::of(&outcomes, set.reference.as_deref(), &(0..outcomes.len()).collect::<Vec<_>>());
    (check, score.gap.unwrap_or(f64::NAN), score.infeasible())
}

#[test]
fn every_shipped_card_matches_its_weights_on_its_check() {
    for m in zoo::ZOO {
        let (check, gap, infeasible) = measure(m);
        assert!(check.instances >= 8, "{}: check on at least 8 instances", m.name);
        assert!(
            (gap - check.gap).abs() <= 0.2 && (infeasible - check.infeasible).abs() < 1e-9,
            "{}: the card states gap {:.3}% ({} infeasible) on the first {} instances of {}, the weights give {gap:.3}% ({infeasible} infeasible)",
            m.name,
            check.gap,
            check.infeasible,
            check.instances,
            check.set
        );
    }
}

#[test]
fn solve_picks_the_model_and_decoder_of_each_family_and_writes_feasible_solutions() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("zoo-families");
    std::fs::create_dir_all(&dir).unwrap();
    for problem in ["TSPTW", "TSPDL"] {
        let out = lrm().args(["generate", "--problem", problem, "--size", "20", "--seed", "3", "--out"]).arg(&dir).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // A road instance (distance and duration matrices) from a synthetic city: RRNet's.
    let city = dir.join("city.npz");
    assert!(lrm().args(["city", "--seed", "4", "--points", "200", "--out"]).arg(&city).status().unwrap().success());
    let road = dir.join("road");
    let out = lrm().args(["generate", "--problem", "VRPTW", "--size", "20", "--seed", "3", "--city"]).arg(&city).arg("--out").arg(&road).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let road_file = std::fs::read_dir(&road).unwrap().next().unwrap().unwrap().path();
    // Dumas's TSPTW files give an explicit matrix and no coordinates: the matrix model's.
    let files = [
        (dir.join("TSPTW-n20-s3-000.vrp"), Domain::Tsptw, "lazymask"),
        (dir.join("TSPDL-n20-s3-000.vrp"), Domain::Tspdl, "lazymask"),
        (data().join("benchmarks/tsptw/n20w20.001.vrp"), Domain::Matrix, "lazymask"),
        (data().join("benchmarks/atsp/br17.atsp"), Domain::Matrix, "greedy"),
        (data().join("benchmarks/vrptw/C101.vrp"), Domain::Capacitated, "lazymask"),
        (road_file, Domain::Road, "greedy"),
    ];
    let mut pairs = vec![];
    for (file, domain, decoder) in &files {
        assert_eq!(Domain::of(&read_instance(file, None).unwrap()), *domain, "{}", file.display());
        let sol = dir.join(format!("{}.sol", file.file_stem().unwrap().to_string_lossy()));
        let out = lrm().arg("solve").arg(file).arg("--out").arg(&sol).args(["--iterations", "50", "--json"]).output().unwrap();
        assert!(out.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
        let line: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
        assert_eq!(line["model"], zoo::for_domain(*domain).name, "{}", file.display());
        assert_eq!(line["decoder"], *decoder, "{}", file.display());
        assert_eq!(line["feasible"], true, "{}", file.display());
        pairs.push((file.clone(), sol));
    }
    for ((file, _, _), verdict) in files.iter().zip(crate::common::vrpcheck_many(&pairs).unwrap_or_default()) {
        assert_eq!(verdict.feasible, Some(true), "{}: {:?}", file.display(), verdict.violation);
    }
}
