//! `lrm bench`: the scaling report's tables, fits and plots, throughput by
//! preset name, and the model-scaling ladder, mirroring `src/bench`.

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::{generated, lrm, small_checkpoint, temp_dir};

#[test]
fn bench_writes_its_tables_fits_and_plot() {
    let dir = temp_dir("bench-scaling");
    let model = small_checkpoint(&dir, "pomo");
    let data = dir.join("tsp10.npz");
    let instances = generated("TSP".parse().unwrap(), 10, 8, 2);
    lrm::problem::io::npz::write_dataset(&data, &instances).unwrap();
    let out = lrm()
        .args(["bench", "--scaling", "--throughput", "--max-beam", "4", "--sizes", "5,10", "--count", "2", "--repeats", "1"])
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(dir.join("out/inference.csv")).unwrap();
    assert!(csv.starts_with("model,axis,x,augmented,score,seconds,infeasible\n"), "{csv}");
    // Multi-start 1, 2, 4, 8, 10 with and without x8, beams 1, 2, 4, RRC 0, 1, 2, 4, 8, 16.
    assert_eq!(csv.lines().count(), 1 + 10 + 3 + 6, "{csv}");
    let fits: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("out/fits.json")).unwrap()).unwrap();
    assert!(fits["inference"][0]["trajectories"]["alpha"].is_number(), "{fits}");
    let svg = std::fs::read_to_string(dir.join("out/scaling.svg")).unwrap();
    for label in ["greedy multi-start", "x8 augmentation", "R^2", "trajectories per instance", "size scaling: time", "peak resident MiB"] {
        assert!(svg.contains(label), "{label} missing from scaling.svg");
    }
    assert!(svg.contains("<polygon"), "the fitted law's confidence band");
    assert!(std::fs::metadata(dir.join("out/scaling.png")).unwrap().len() > 1000, "the PNG twin");
    let sizes = std::fs::read_to_string(dir.join("out/sizes.csv")).unwrap();
    assert!(sizes.starts_with("n,encode_ms_per_instance,decode_ms_per_instance,encode_peak_mib,decode_peak_mib\n5,") && sizes.lines().count() == 3, "{sizes}");
    assert!(fits["size_decoding"]["alpha"].is_number(), "{fits}");
    let models = std::fs::read_to_string(dir.join("out/models.csv")).unwrap();
    assert!(models.starts_with("model,parameters,depth,width,score\npomo,"), "{models}");
    let throughput = std::fs::read_to_string(dir.join("out/throughput.csv")).unwrap();
    assert!(
        throughput.starts_with("workload,n,instances_per_s,runs,slowest_per_s,fastest_per_s,gflop_per_s,encode_s,step_s,env_s,backward_s,optimizer_s\n"),
        "{throughput}"
    );
    let sizes: Vec<&str> = throughput.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(sizes, ["5", "5", "5", "10", "10", "10"], "greedy, multi-start x8, training step at every size: {throughput}");
    let bare = lrm().arg("bench").output().unwrap();
    assert_eq!(bare.status.code(), Some(2));
}

#[test]
fn bench_measures_a_preset_by_name_without_a_checkpoint() {
    let dir = temp_dir("bench-preset");
    let out = lrm()
        .args(["bench", "--throughput", "--model", "pomo", "--sizes", "6", "--count", "2", "--repeats", "3", "--out"])
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("pomo") && stdout.contains("training step") && stdout.contains("backward"), "{stdout}");
    // Every workload timed 3 times: the median, the slowest and the fastest run.
    let csv = std::fs::read_to_string(dir.join("out/throughput.csv")).unwrap();
    for row in csv.lines().skip(1) {
        let field = |k: usize| row.split(',').nth(k).unwrap().parse::<f64>().unwrap();
        assert_eq!(field(3), 3.0, "{row}");
        assert!(field(4) <= field(2) && field(2) <= field(5), "slowest <= median <= fastest: {row}");
    }
    assert!(stdout.contains("median of 3"), "{stdout}");
    let none = lrm().args(["bench", "--throughput", "--model", "pomo", "--repeats", "0"]).output().unwrap();
    assert_eq!(none.status.code(), Some(2), "at least one timed run");
    let unknown =
        lrm().args(["bench", "--throughput", "--model", "no-such-model", "--sizes", "6", "--count", "2", "--out"]).arg(dir.join("out2")).output().unwrap();
    assert_ne!(unknown.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no-such-model"));
}

#[test]
fn bench_trains_a_ladder_on_labels_lrm_made_and_fits_model_scaling() {
    let dir = temp_dir("bench-ladder");
    // The ladder config's recipe: instances, labelled by the shipped model.
    let labels = dir.join("labels");
    let made = lrm().args(["generate", "--problem", "CVRP", "--size", "8", "--count", "6", "--out"]).arg(&labels).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&labels).unwrap().map(|e| e.unwrap().path()).collect();
    let solved = lrm().arg("solve").args(&files).args(["--starts", "all", "--out"]).arg(&labels).output().unwrap();
    assert!(solved.status.success(), "{}", String::from_utf8_lossy(&solved.stderr));
    let shipped = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/ladder-cvrp20.toml")).unwrap();
    let config = dir.join("ladder.toml");
    std::fs::write(&config, shipped.replace("sizes = [20]", "sizes = [8]").replace("../labels/cvrp20", labels.to_str().unwrap())).unwrap();
    let data = dir.join("cvrp8.npz");
    lrm::problem::io::npz::write_dataset(&data, &generated("CVRP".parse().unwrap(), 8, 4, 3)).unwrap();
    let out = lrm()
        .args(["bench", "--scaling", "--ladder", "deep-1x16,deep-2x16,deep-1x32", "--steps", "3", "--max-beam", "1", "--sizes", "5", "--count", "1"])
        .arg("--train-ladder")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("trained 3 steps").count(), 3, "{stdout}");
    let models = std::fs::read_to_string(dir.join("out/models.csv")).unwrap();
    assert_eq!(models.lines().count(), 4, "{models}");
    assert!(dir.join("out/ladder/deep-2x16/latest.toml").exists());
    let fits: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("out/fits.json")).unwrap()).unwrap();
    assert!(fits["models"]["alpha"].is_number() && fits["depth_width"]["beta_d"].is_number(), "{fits}");
}
