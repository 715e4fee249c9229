//! `lrm eval`: gaps and infeasibility per variant and size.

use std::path::Path;
use std::process::Output;

use crate::common::{data, json_lines, lrm, small_checkpoint, temp_dir};

/// `lrm eval --data DATA --model MODEL --out OUT --json EXTRA...`.
fn eval(data: &Path, model: &Path, out: &Path, extra: &[&str]) -> Output {
    lrm().arg("eval").arg("--data").arg(data).arg("--model").arg(model).arg("--out").arg(out).arg("--json").args(extra).output().unwrap()
}

#[test]
fn eval_reports_gap_and_infeasibility_per_variant_and_size() {
    let dir = temp_dir("eval");
    let model = small_checkpoint(&dir, "lmask");
    let csv = dir.join("results.csv");
    let data = data().join("valsets/tsptw_hard/20.npz");
    let out = eval(&data, &model, &csv, &["--decode", "greedy"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = json_lines(&out.stdout);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["instances"], 32);
    assert!(rows[0]["instance_infeasible_percent"].as_f64().unwrap() > 0.0, "plain greedy masks on hard TSPTW: {}", rows[0]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("dataset,variant,size,instances,mean_cost,mean_reference,gap_percent,"), "{text}");
    // The default decoding (auto) is LazyMask on TSPTW.
    let lazy = eval(&data, &model, &dir.join("lazy.json"), &["--backtrack", "100000"]);
    let rows = json_lines(&lazy.stdout);
    assert_eq!(rows[0]["instance_infeasible_percent"], 0.0, "{}", rows[0]);
    assert!(rows[0]["gap_percent"].as_f64().unwrap() > 0.0, "{}", rows[0]);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("lazy.json")).unwrap()).unwrap();
    assert_eq!(json[0]["size"], 19);
}

#[test]
fn eval_says_when_x8_augmentation_does_not_apply() {
    let dir = temp_dir("eval-aug");
    let model = small_checkpoint(&dir, "pomo");
    let data = data().join("valsets/atsp/20.npz");
    let run = |aug: &str| {
        let out = eval(&data, &model, &dir.join("r.csv"), &["--aug", aug]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        (json_lines(&out.stdout)[0]["mean_cost"].clone(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (plain, quiet) = run("1");
    let (asked, warned) = run("8");
    assert!(!quiet.contains("does not apply"), "{quiet}");
    assert!(warned.contains("x8 augmentation does not apply to explicit-matrix instances"), "{warned}");
    assert_eq!(plain, asked, "decoded without augmentation either way");
}
