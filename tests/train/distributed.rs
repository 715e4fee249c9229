//! Data-parallel training (`src/train/distributed.rs`, `launch.rs`): two
//! CPU peers in one process take the steps one device takes with the whole
//! batch (mixed variants, per-variant reward normalisation and gradient
//! clipping at work), and their run resumes exactly on one device.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use lrm::train::config::TrainConfig;
use lrm::train::distributed::DistributedConfig;
use lrm::train::launch::{self, Launch};
use lrm::train::Start;

use crate::common::{assert_close, assert_same_weights, metrics_column as column, mixed_config, temp_dir};
use crate::learning::Ad;

fn train(config: TrainConfig, root: &Path, start: Start, devices: &[&str]) {
    let distributed = DistributedConfig { devices: devices.iter().map(|d| d.to_string()).collect(), timeout_seconds: 120, ..Default::default() };
    let launch = Launch { config, root: root.to_path_buf(), start, distributed, progress: false };
    let devices = vec![Default::default(); devices.len().max(1)];
    launch::train::<Ad>(launch, devices, Arc::new(AtomicBool::new(false))).unwrap();
}

#[test]
fn two_cpu_peers_take_the_steps_of_one_device_and_resume_on_one() {
    let dir = temp_dir("distributed");
    let one: PathBuf = dir.join("one");
    train(mixed_config(&dir, 6), &one, Start::Fresh, &[]);
    let two = dir.join("two");
    train(mixed_config(&dir, 3), &two, Start::Fresh, &["cpu", "cpu"]);

    let one_three = dir.join("one-three");
    train(mixed_config(&dir, 3), &one_three, Start::Fresh, &[]);
    assert_same_weights(&one_three, &two);

    let (loss, norm) = (column(&one, "loss"), column(&one, "grad_norm"));
    assert!(norm[..3].iter().all(|&n| n > 0.05), "clipping must be at work: norms {norm:?}");
    assert_close("loss", &loss[..3], &column(&two, "loss"), 1e-4);
    assert_close("gradient norm", &norm[..3], &column(&two, "grad_norm"), 1e-4);
    assert_close("reward", &column(&one, "reward")[..3], &column(&two, "reward"), 1e-4);

    // The two peers' run, continued on one device to 6 steps, is the one-device run.
    let config = std::fs::read_to_string(two.join("config.toml")).unwrap().replace("epochs = 3", "epochs = 6");
    std::fs::write(two.join("config.toml"), config).unwrap();
    train(TrainConfig::read(&two.join("config.toml")).unwrap(), &two, Start::Resume, &[]);
    assert_close("loss after resuming", &loss, &column(&two, "loss"), 1e-4);
    assert_same_weights(&one, &two);

    // And continued on two peers: the followers take the root's Adam state and step.
    let again = dir.join("two-again");
    train(mixed_config(&dir, 3), &again, Start::Fresh, &["cpu", "cpu"]);
    std::fs::copy(two.join("config.toml"), again.join("config.toml")).unwrap();
    train(TrainConfig::read(&again.join("config.toml")).unwrap(), &again, Start::Resume, &["cpu", "cpu"]);
    assert_close("loss after resuming on two peers", &loss, &column(&again, "loss"), 1e-4);
    assert_same_weights(&one, &again);
}

#[test]
fn a_batch_too_small_for_the_peers_is_refused_at_start() {
    let dir = temp_dir("distributed-small-batch");
    let text = std::fs::read_to_string(crate::common::mixed_config_file(&dir, 1)).unwrap().replace("size = 7", "size = 1");
    std::fs::write(dir.join("small.toml"), text).unwrap();
    let config = TrainConfig::read(&dir.join("small.toml")).unwrap();
    let distributed = DistributedConfig { devices: vec!["cpu".into(), "cpu".into()], timeout_seconds: 60, ..Default::default() };
    let launch = Launch { config, root: dir.join("run"), start: Start::Fresh, distributed, progress: false };
    let err = launch::train::<Ad>(launch, vec![Default::default(); 2], Arc::new(AtomicBool::new(false))).unwrap_err().to_string();
    assert!(err.contains("cannot give each of the 2 peers one"), "{err}");
}

#[test]
fn ctrl_c_stops_both_peers_after_the_same_step_with_a_checkpoint() {
    let dir = temp_dir("distributed-stop");
    let config = mixed_config(&dir, 100_000);
    let root = dir.join("run");
    let distributed = DistributedConfig { devices: vec!["cpu".into(), "cpu".into()], timeout_seconds: 30, ..Default::default() };
    let launch = Launch { config, root: root.clone(), start: Start::Fresh, distributed, progress: false };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let run = std::thread::spawn(move || launch::train::<Ad>(launch, vec![Default::default(); 2], flag));
    while !root.join("latest").exists() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let summary = run.join().unwrap().unwrap();
    assert!(summary.step < 100_000);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(std::fs::read_to_string(root.join("latest")).unwrap().trim()).join("state.json")).unwrap())
            .unwrap();
    assert_eq!(state["step"], summary.step, "the checkpoint is the stopping step's");
}
