//! A tiny policy learns: after a few hundred steps its validation cost is
//! clearly below where it started and below a nearest-neighbour tour.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use burn::backend::{Autodiff, Flex};

use lrm::problem::generate::{GeneratorConfig, Problem};
use lrm::problem::io::npz::write_dataset;
use lrm::problem::Instance;
use lrm::train::config::TrainConfig;
use lrm::train::{Start, Trainer};

use crate::common::temp_dir;

pub type Ad = Autodiff<Flex>;

/// A small POMO config for `variant` at 10 customers, validated on `val`.
pub fn tiny_config(variant: &str, val: &Path, epochs: usize) -> TrainConfig {
    let text = format!(
        r#"
seed = 7
[problem]
variants = ["{variant}"]
sizes = [10]
[model]
preset = "rf-te"
[model.overrides]
d_model = 32
n_heads = 4
n_layers = 2
d_ff = 64
pointer_heads = 4
[trainer]
kind = "pomo"
[optimizer]
kind = "adam"
lr = 1e-3
clip_norm = 1.0
[batch]
size = 32
[run]
epochs = {epochs}
instances_per_epoch = 640
checkpoint_every = 20
validate_every = 0
[[validation]]
data = "{}"
"#,
        val.display()
    );
    let path = val.with_extension("toml");
    std::fs::write(&path, text).unwrap();
    TrainConfig::read(&path).unwrap()
}

/// A validation set of `count` generated instances, written as npz.
pub fn validation_set(dir: &Path, variant: &str, count: usize) -> (PathBuf, Vec<Instance>) {
    let instances = GeneratorConfig::new(Problem::Variant(variant.parse().unwrap())).generate(10, count, 99);
    let path = dir.join(format!("{variant}-val.npz"));
    write_dataset(&path, &instances).unwrap();
    (path, instances)
}

/// A fresh directory `name` holding a validation set of `count` `variant`
/// instances, and the one-epoch tiny config that validates on it (written
/// beside the set; its `source`).
pub fn tiny_run(name: &str, variant: &str, count: usize) -> (PathBuf, TrainConfig) {
    let dir = temp_dir(name);
    let (val, _) = validation_set(&dir, variant, count);
    let config = tiny_config(variant, &val, 1);
    (dir, config)
}

/// The cost of the nearest-neighbour construction (`decode::nearest`).
fn nearest_neighbour(inst: &Instance) -> f64 {
    lrm::decode::nearest::decode(std::slice::from_ref(inst)).unwrap()[0].cost().expect("feasible")
}

#[test]
fn a_tiny_policy_learns_tsp_and_cvrp_beyond_nearest_neighbour() {
    for variant in ["TSP", "CVRP"] {
        let dir = temp_dir(&format!("learn-{variant}"));
        let (val, instances) = validation_set(&dir, variant, 64);
        let config = tiny_config(variant, &val, 10);
        let mut trainer = Trainer::<Ad>::new(config, &dir.join("run"), Start::Fresh, &Default::default()).unwrap();
        let before = trainer.validate().unwrap()["score"];
        trainer.run(&AtomicBool::new(false), false).unwrap();
        let after = trainer.validate().unwrap()["score"];
        let nn = instances.iter().map(nearest_neighbour).sum::<f64>() / instances.len() as f64;
        println!("{variant}: validation cost {before:.4} -> {after:.4} after {} steps; nearest neighbour {nn:.4}", trainer.state.step);
        assert!(after < 0.9 * before, "{variant}: {before} -> {after}");
        assert!(after < nn, "{variant}: {after} vs nearest neighbour {nn}");
        let metrics = std::fs::read_to_string(dir.join("run/metrics.csv")).unwrap();
        assert_eq!(metrics.lines().count(), trainer.state.step + 1, "one metrics row per step");
        assert!(dir.join("run/best.safetensors").exists() && dir.join("run/curves.svg").exists());
    }
}
