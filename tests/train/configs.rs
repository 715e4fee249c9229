//! Every config in `configs/` parses, and each one's problem and model train
//! for a step at a tiny scale; the supervised trainer's loss goes down.

use std::path::Path;

use lrm::train::config::{Sizes, TrainConfig, TrainerKind};
use lrm::train::{Start, StepOutcome, Trainer};

use crate::common::temp_dir;
use crate::learning::Ad;

/// `config` shrunk to seconds: 6 customers, 2 instances, a 2-layer model of width 16.
fn tiny(mut config: TrainConfig) -> TrainConfig {
    config.problem.sizes = Sizes::List(vec![6]);
    config.batch.size = 2;
    config.batch.reference_size = None;
    config.validation.clear();
    for (k, v) in [("n_layers", 2), ("d_model", 16), ("d_ff", 32), ("n_heads", 2), ("pointer_heads", 2)] {
        config.model.overrides.insert(k.into(), toml::Value::Integer(v));
    }
    config
}

#[test]
fn every_config_parses_and_trains_a_step_at_a_tiny_scale() {
    let dir = temp_dir("configs");
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut names = vec![];
    for entry in std::fs::read_dir(&configs).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let config = TrainConfig::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{e}"));
        if config.trainer.kind == TrainerKind::Supervised {
            names.push(name);
            continue; // its labels are the user's to make; the supervised trainer is tested below
        }
        // Every path it names is in the repository (data/).
        TrainConfig::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut trainer = Trainer::<Ad>::new(tiny(config), &dir.join(&name), Start::Fresh, &Default::default()).unwrap();
        let (outcome, _, count) = trainer.train_step().unwrap();
        assert!(matches!(outcome, StepOutcome::Applied { .. }), "{name}: {outcome:?}");
        assert_eq!(count, 2, "{name}");
        names.push(name);
    }
    names.sort();
    let expected = [
        "atsp100-radar",
        "ladder-cvrp20",
        "lrm-5m",
        "matrix-anneal-cpu",
        "matrix-cpu",
        "matrix100-cpu",
        "matrix100-long-cpu",
        "mtvrp100-anneal-cpu",
        "mtvrp100-cosine-cpu",
        "mtvrp100-cpu",
        "mtvrp100-deep-bigbatch-cpu",
        "mtvrp100-deep-cpu",
        "mtvrp100-deep-gpu",
        "mtvrp100-deep-lowlr-cpu",
        "mtvrp100-deeper-lowlr-cpu",
        "mtvrp100-rf",
        "mtvrp20-cpu",
        "mtvrp50-rf",
        "rrnco-acvrp",
        "rrnco-acvrptw",
        "rrnco-atsp",
        "rrnco-cosine-cpu",
        "rrnco-cpu",
        "tsp100-deep42x128-sl",
        "tspdl50-anneal-cpu",
        "tspdl50-cpu",
        "tspdl50-hard-lmask",
        "tsptw50-anneal-cpu",
        "tsptw50-cpu",
        "tsptw50-hard-lmask",
        "tsptw50-medium-cpu",
        "tsptw50-mixed-cpu",
    ];
    assert_eq!(names, expected);
}

#[test]
fn a_config_that_extends_another_is_the_other_with_its_changes() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let read = |name: &str| TrainConfig::read(&configs.join(name)).unwrap_or_else(|e| panic!("{e}"));
    let (mut deep, cosine) = (read("mtvrp100-deep-cpu.toml"), read("mtvrp100-cosine-cpu.toml"));
    assert_eq!(deep.model.overrides["n_layers"], toml::Value::Integer(6));
    assert_eq!(deep.validation.len(), 32, "the base's validation sets, resolved beside it");
    deep.model.overrides.insert("n_layers".into(), toml::Value::Integer(3));
    deep.source = cosine.source.clone();
    assert_eq!(deep, cosine);

    // Each base names the configs that extend it: a change to it changes them.
    for entry in std::fs::read_dir(&configs).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(base) = text.lines().find_map(|l| l.strip_prefix("extends = \"")?.strip_suffix('"')) else { continue };
        let stem = path.file_stem().unwrap().to_str().unwrap();
        let base_text = std::fs::read_to_string(configs.join(base)).unwrap();
        let comment: String = base_text.lines().filter(|l| l.starts_with('#')).collect::<Vec<_>>().join(" ");
        assert!(comment.contains("Extended by") && comment.contains(stem), "{base} does not say that {stem} extends it");
    }

    // A field the base does not know is refused, naming the field and the chain.
    let dir = temp_dir("configs-extends");
    std::fs::copy(configs.join("mtvrp20-cpu.toml"), dir.join("base.toml")).unwrap();
    let path = dir.join("typo.toml");
    let text = "extends = \"base.toml\"\n[optimizer]\nrate = 1e-3\n";
    let e = TrainConfig::parse(&path, text).unwrap_err().to_string();
    assert!(e.contains("typo.toml") && e.contains("rate") && e.contains("base.toml"), "{e}");
}

/// Nearest-neighbour tours of generated TSP instances, written as a label set.
#[test]
fn a_config_draws_road_instances_from_city_files_or_synthetic_cities_and_refuses_bad_ones() {
    use lrm::problem::generate::city::City;
    use lrm::train::config::CitySource;
    use rand::SeedableRng;

    let dir = temp_dir("configs-cities");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/rrnco-cpu.toml");
    let base = tiny(TrainConfig::parse(&shipped, &std::fs::read_to_string(&shipped).unwrap()).unwrap());
    std::fs::create_dir_all(dir.join("cities")).unwrap();
    City::synthetic(11, 60).write(&dir.join("cities/a.npz")).unwrap();
    let sources = [CitySource::Files(dir.join("cities")), CitySource::Synthetic { synthetic: 2, seed: 3, points: 60 }];
    for (k, source) in sources.into_iter().enumerate() {
        let mut config = base.clone();
        config.problem.cities = Some(source);
        let trainer = Trainer::<Ad>::new(config, &dir.join(format!("run{k}")), Start::Fresh, &Default::default()).unwrap();
        let mut rng = lrm::decode::sampling::Rng::seed_from_u64(1);
        for inst in trainer.batch(0, &mut rng) {
            assert!(inst.variant.asymmetric && inst.num_customers() == 6, "{}", inst.name);
            assert!(!inst.variant.time_windows || inst.durations.is_some(), "{}: windows on road instances come with durations", inst.name);
        }
    }
    let refused = |edit: fn(&mut TrainConfig), expected: &str, name: &str| {
        let mut config = base.clone();
        edit(&mut config);
        let Err(e) = Trainer::<Ad>::new(config, &dir.join(name), Start::Fresh, &Default::default()) else { panic!("{name}: accepted") };
        assert!(e.to_string().contains(expected), "{name}: {e}");
    };
    refused(|c| c.problem.city_sampling = "spiral".into(), "problem.city_sampling", "sampling");
    refused(|c| c.problem.cities = Some(CitySource::Synthetic { synthetic: 0, seed: 1, points: 60 }), "at least one city", "none");
    refused(|c| c.problem.cities = Some(CitySource::Synthetic { synthetic: 1, seed: 1, points: 5 }), "problem.cities", "too small");
    refused(|c| c.problem.variants = vec!["TSPTW".into()], "not drawn from cities", "tsptw");
}

fn nearest_neighbour_labels(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use lrm::problem::generate::{GeneratorConfig, Problem};
    use lrm::problem::io::npz::{write_dataset, write_reference};
    use lrm::problem::{evaluate, Solution};
    let instances = GeneratorConfig::new(Problem::Variant("TSP".parse().unwrap())).generate(10, 64, 5);
    let tours: Vec<Solution> = lrm::decode::nearest::decode(&instances).unwrap().into_iter().map(|o| o.best.expect("a TSP tour").solution).collect();
    let costs: Vec<f64> = instances.iter().zip(&tours).map(|(i, t)| evaluate(i, t).cost).collect();
    let (data, reference) = (dir.join("nn.npz"), dir.join("nn_sol_nn.npz"));
    write_dataset(&data, &instances).unwrap();
    write_reference(&reference, &costs, &tours).unwrap();
    (data, reference)
}

#[test]
fn the_supervised_trainer_learns_to_imitate_its_labels() {
    let dir = temp_dir("supervised");
    let (data, reference) = nearest_neighbour_labels(&dir);
    for preset in ["rf-te", "deep-6x128"] {
        let text = format!(
            r#"
seed = 3
[problem]
variants = ["TSP"]
sizes = [10]
[model]
preset = "{preset}"
[model.overrides]
d_model = 32
n_layers = 2
d_ff = 64
n_heads = 4
pointer_heads = 4
[trainer]
kind = "supervised"
labels = {{ data = "{}", reference = "{}" }}
[optimizer]
kind = "adamw"
lr = 3e-3
[batch]
size = 32
[run]
epochs = 100
instances_per_epoch = 32
checkpoint_every = 100
"#,
            data.display(),
            reference.display()
        );
        let path = dir.join(format!("{preset}.toml"));
        std::fs::write(&path, text).unwrap();
        let mut trainer = Trainer::<Ad>::new(TrainConfig::read(&path).unwrap(), &dir.join(preset), Start::Fresh, &Default::default()).unwrap();
        let losses: Vec<f64> = (0..100)
            .map(|_| match trainer.train_step().unwrap().0 {
                StepOutcome::Applied { loss, .. } => loss,
                other => panic!("{other:?}"),
            })
            .collect();
        let (first, last) = (losses[..10].iter().sum::<f64>() / 10.0, losses[90..].iter().sum::<f64>() / 10.0);
        println!("{preset}: cross-entropy {first:.3} -> {last:.3}");
        assert!(last < 0.6 * first, "{preset}: cross-entropy {first:.3} -> {last:.3}");
    }
}

#[test]
fn self_improvement_labels_its_own_solutions_and_resumes_exactly() {
    use std::sync::atomic::AtomicBool;
    let dir = temp_dir("self-improvement");
    let text = r#"
seed = 5
[problem]
variants = ["CVRP"]
sizes = [8]
[model]
preset = "rf-te"
[model.overrides]
d_model = 16
n_layers = 1
d_ff = 32
n_heads = 2
pointer_heads = 2
[trainer]
kind = "supervised"
self_improvement = { instances = 12, every = 4, rrc_rounds = 1 }
[optimizer]
kind = "adam"
lr = 1e-3
[batch]
size = 6
[run]
epochs = 1
instances_per_epoch = 60
checkpoint_every = 5
"#;
    let path = dir.join("si.toml");
    std::fs::write(&path, text).unwrap();
    let config = TrainConfig::read(&path).unwrap();
    let device = Default::default();
    let mut straight = Trainer::<Ad>::new(config.clone(), &dir.join("straight"), Start::Fresh, &device).unwrap();
    straight.run(&AtomicBool::new(false), false).unwrap();
    assert_eq!((straight.state.step, straight.state.labels_round), (10, Some(2)));
    let mut first = Trainer::<Ad>::new(config.clone(), &dir.join("split"), Start::Fresh, &device).unwrap();
    for _ in 0..5 {
        first.train_step().unwrap();
    }
    first.checkpoint(None).unwrap();
    drop(first);
    assert!(dir.join("split/checkpoints/step-00000005/labels.npz").exists());
    let mut second = Trainer::<Ad>::new(config, &dir.join("split"), Start::Resume, &device).unwrap();
    second.run(&AtomicBool::new(false), false).unwrap();
    let weights = |run: &str| std::fs::read(dir.join(run).join("latest.safetensors")).unwrap();
    assert!(weights("straight") == weights("split"), "a resumed self-improvement run continues exactly");
}

#[test]
fn labels_come_from_npz_actions_or_from_instance_files_with_their_sol() {
    use lrm::problem::evaluate;
    use lrm::train::config::LabelSource;
    use lrm::train::supervised::Labels;
    let set = crate::common::data().join("valsets/cvrp/20");
    let files = Labels::read(&LabelSource { data: set.clone(), reference: None }).unwrap();
    let npz = Labels::read(&LabelSource { data: set.with_extension("npz"), reference: Some(set.with_file_name("20_sol_pyvrp.npz")) }).unwrap();
    assert_eq!((files.instances.len(), npz.instances.len()), (32, 32));
    for k in 0..32 {
        let (a, b) = (evaluate(&files.instances[k], &files.solutions[k]).cost, evaluate(&npz.instances[k], &npz.solutions[k]).cost);
        assert!((a - b).abs() < 1e-6 * a, "instance {k}: {a} vs {b}");
    }
    let dir = temp_dir("bad-labels");
    std::fs::copy(set.join(format!("{}.vrp", files.instances[0].name)), dir.join("a.vrp")).unwrap();
    std::fs::write(dir.join("a.sol"), "Route #1: 1 2\nCost 1\n").unwrap();
    let err = Labels::read(&LabelSource { data: dir.clone(), reference: None }).err().unwrap().to_string();
    assert!(err.contains("a.sol") && err.contains("not a feasible label"), "{err}");
    let err = Labels::read(&LabelSource { data: set.with_extension("npz"), reference: None }).err().unwrap().to_string();
    assert!(err.contains("reference"), "{err}");
}

/// The README's first command, run in a copy of the repository's configs and
/// data with no `../shared` beside it, trains and stops cleanly on Ctrl-C.
#[test]
fn the_readme_first_command_runs_in_a_clone_without_shared() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let first = readme.lines().skip_while(|l| !l.starts_with("```sh")).nth(1).unwrap();
    let args: Vec<&str> = first.split_once(" -- ").expect("`cargo run --release -- ...`").1.split_whitespace().collect();
    assert_eq!(args[..2], ["train", "--config"], "{first}");

    let clone = crate::common::temp_dir("readme-clone").join("lrm");
    for folder in ["configs", "data"] {
        copy_dir(&root.join(folder), &clone.join(folder));
    }
    assert!(!clone.join("../shared").exists());
    let mut child = crate::common::lrm().current_dir(&clone).args(&args).stdout(std::process::Stdio::null()).spawn().unwrap();
    let stem = Path::new(args[2]).file_stem().unwrap().to_string_lossy().to_string();
    let metrics = clone.join("runs").join(&stem).join("metrics.csv");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&metrics).map_or(0, |t| t.lines().count()) < 4 {
        assert!(child.try_wait().unwrap().is_none(), "the README's first command stopped early");
        assert!(started.elapsed().as_secs() < 300, "no training steps within 300 s");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success(), "Ctrl-C stops training with status 0");
    assert!(clone.join("runs").join(&stem).join("latest.toml").exists(), "a checkpoint to resume from");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
