//! The model zoo: which shipped model serves which instance, and the CLI
//! naming the model it used.

use lrm::model::zoo::{self, Domain, ModelSource};
use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::io::read_instance;
use lrm::problem::Instance;

use crate::common::{lrm, data};

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
    assert_eq!(ModelSource::parse(zoo::ZOO[0].name), ModelSource::Shipped(zoo::ZOO[0].name));
    assert_eq!(ModelSource::parse("pomo"), ModelSource::Preset("pomo".into()));
    assert_eq!(ModelSource::parse("runs/x/latest.toml"), ModelSource::File("runs/x/latest.toml".into()));
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
    }

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("zoo-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let tsptw = data().join("benchmarks/tsptw/n20w20.001.vrp");
    let out = lrm().arg("solve").arg(&tsptw).arg("--out").arg(&dir).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(line["model"], zoo::for_domain(Domain::Tsptw).name);

    let out = lrm().arg("solve").arg(&tsptw).args(["--model", "no-such-model"]).arg("--out").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-model"));
}
