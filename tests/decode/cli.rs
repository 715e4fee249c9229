//! `lrm solve` and `lrm eval` end to end, with a small randomly initialised
//! checkpoint: mechanics, not quality.

use std::path::{Path, PathBuf};

use lrm::model::checkpoint;

use crate::common::{close, data, lrm, temp_dir, vrpcheck_many};
use crate::strategies::small;

fn checkpoint(dir: &Path, preset: &str) -> PathBuf {
    let (config, policy) = small(preset);
    let path = dir.join(format!("{preset}.toml"));
    checkpoint::save(&policy, &config, &path).unwrap();
    path
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"))).collect()
}

#[test]
fn solve_writes_solutions_that_lrm_check_and_vrpcheck_accept_on_the_benchmarks() {
    let dir = temp_dir("solve-benchmarks");
    let model = checkpoint(&dir, "rf-te");
    let b = data().join("benchmarks");
    let runs: [(&str, &[&str], &[&str]); 5] = [
        ("cvrp", &["A-n32-k5.vrp", "P-n16-k8.vrp", "E-n51-k5.vrp"], &["--starts", "all", "--aug", "8"]),
        ("vrptw", &["C101.vrp", "R201.vrp"], &["--decode", "rrc", "--rrc", "2"]),
        ("tsp", &["berlin52.tsp", "eil51.tsp"], &["--decode", "beam", "--beam", "4"]),
        ("atsp", &["br17.atsp", "ftv33.atsp"], &["--decode", "sample", "--samples", "8", "--aug", "8"]),
        ("tsptw", &["n20w20.001.vrp", "n40w40.001.vrp"], &["--decode", "lazymask", "--backtrack", "100000"]),
    ];
    let mut pairs = vec![];
    let mut claimed = vec![];
    for (family, files, flags) in runs {
        let out = dir.join(family);
        let mut cmd = lrm();
        cmd.arg("solve").args(files.iter().map(|f| b.join(family).join(f))).arg("--model").arg(&model).arg("--out").arg(&out).arg("--json").args(flags);
        let result = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        let lines = json_lines(&result.stdout);
        assert_eq!(lines.len(), files.len(), "{family}: {stderr}");
        let all_feasible = lines.iter().all(|l| l["feasible"] == true);
        assert_eq!(result.status.code(), Some(if all_feasible { 0 } else { 1 }), "{family}: {stderr}");
        for (file, line) in files.iter().zip(&lines) {
            if family != "vrptw" {
                assert_eq!(line["feasible"], true, "{family}/{file}: {line}");
            }
            if family == "atsp" {
                assert!(stderr.contains("augmentation does not apply"), "{stderr}");
            }
            if family != "vrptw" {
                assert!(line["gap_percent"].as_f64().is_some_and(|g| g >= -1e-9), "{family}/{file}: the gap to the best-known cost: {line}");
            }
            let Some(sol) = line["solution"].as_str() else { continue };
            let instance = b.join(family).join(file);
            let check = lrm().arg("check").arg(&instance).arg(sol).arg("--json").output().unwrap();
            let verdict: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
            assert_eq!(verdict["feasible"], line["feasible"], "{family}/{file}: lrm check {verdict} vs solve {line}");
            assert!(close(verdict["cost"].as_f64().unwrap(), line["cost"].as_f64().unwrap()), "{family}/{file}: {verdict} vs {line}");
            pairs.push((instance, PathBuf::from(sol)));
            claimed.push(line.clone());
        }
    }
    for (verdict, line) in vrpcheck_many(&pairs).unwrap_or_default().iter().zip(&claimed) {
        assert_eq!(verdict.feasible, line["feasible"].as_bool(), "vrpcheck {verdict:?} vs solve {line}");
        assert!(close(verdict.cost.unwrap(), line["cost"].as_f64().unwrap()), "vrpcheck {verdict:?} vs solve {line}");
    }
}

#[test]
fn solve_uses_the_shipped_model_and_rejects_bad_requests_with_clear_errors() {
    let dir = temp_dir("solve-errors");
    let model = checkpoint(&dir, "pomo");
    let inst = data().join("benchmarks/cvrp/P-n16-k8.vrp");
    // Without --model, the compiled-in model solves it.
    let shipped = lrm().arg("solve").arg(&inst).arg("--out").arg(dir.join("shipped.sol")).arg("--json").output().unwrap();
    assert_eq!(shipped.status.code(), Some(0), "{}", String::from_utf8_lossy(&shipped.stderr));
    assert_eq!(json_lines(&shipped.stdout)[0]["feasible"], true);
    assert!(dir.join("shipped.sol").exists());
    let cases: [(&[&str], &str); 4] =
        [(&["--decode", "beam", "--starts", "4"], "starts"), (&["--aug", "4"], "--aug"), (&["--top-p", "0"], "top-p"), (&["--time-limit=-1"], "--time-limit")];
    for (flags, named) in cases {
        let out = lrm().arg("solve").arg(&inst).arg("--model").arg(&model).args(flags).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(named), "{flags:?}: {err}");
    }
    let bad = dir.join("bad.vrp");
    std::fs::write(&bad, "NAME : bad\nTYPE : CVRP\nDIMENSION : 3\nCAPACITY : x\n").unwrap();
    let out = lrm().arg("solve").arg(&bad).arg("--model").arg(&model).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.vrp:4"), "{}", String::from_utf8_lossy(&out.stderr));
    let missing = lrm().arg("eval").arg("--data").arg(dir.join("none.npz")).arg("--model").arg(&model).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn eval_reports_gap_and_infeasibility_per_variant_and_size() {
    let dir = temp_dir("eval");
    let model = checkpoint(&dir, "lmask");
    let csv = dir.join("results.csv");
    let data = data().join("valsets/tsptw_hard/20.npz");
    let out =
        lrm().arg("eval").arg("--data").arg(&data).arg("--model").arg(&model).arg("--out").arg(&csv).args(["--json", "--decode", "greedy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = json_lines(&out.stdout);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["instances"], 32);
    assert!(rows[0]["instance_infeasible_percent"].as_f64().unwrap() > 0.0, "plain greedy masks on hard TSPTW: {}", rows[0]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("dataset,variant,size,instances,mean_cost,mean_reference,gap_percent,"), "{text}");
    // The default decoding (auto) is LazyMask on TSPTW.
    let lazy = lrm()
        .arg("eval")
        .arg("--data")
        .arg(&data)
        .arg("--model")
        .arg(&model)
        .arg("--out")
        .arg(dir.join("lazy.json"))
        .args(["--json", "--backtrack", "100000"])
        .output()
        .unwrap();
    let rows = json_lines(&lazy.stdout);
    assert_eq!(rows[0]["instance_infeasible_percent"], 0.0, "{}", rows[0]);
    assert!(rows[0]["gap_percent"].as_f64().unwrap() > 0.0, "{}", rows[0]);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("lazy.json")).unwrap()).unwrap();
    assert_eq!(json[0]["size"], 19);
}

#[test]
fn bench_writes_its_tables_fits_and_plot() {
    let dir = temp_dir("bench-scaling");
    let model = checkpoint(&dir, "pomo");
    let data = dir.join("tsp10.npz");
    let instances = crate::strategies::instances("TSP".parse().unwrap(), 10, 8, 2);
    lrm::problem::io::npz::write_dataset(&data, &instances).unwrap();
    let out = lrm()
        .args(["bench", "--scaling", "--throughput", "--max-beam", "4", "--sizes", "5,10", "--count", "2"])
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
    assert!(throughput.starts_with("workload,n,instances_per_s,gflop_per_s,encode_s,step_s,env_s,backward_s,optimizer_s\n"), "{throughput}");
    let sizes: Vec<&str> = throughput.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(sizes, ["5", "5", "5", "10", "10", "10"], "greedy, multi-start x8, training step at every size: {throughput}");
    let bare = lrm().arg("bench").output().unwrap();
    assert_eq!(bare.status.code(), Some(2));
}

#[test]
fn bench_measures_a_preset_by_name_without_a_checkpoint() {
    let dir = temp_dir("bench-preset");
    let out = lrm().args(["bench", "--throughput", "--model", "pomo", "--sizes", "6", "--count", "2", "--out"]).arg(dir.join("out")).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("pomo") && stdout.contains("training step") && stdout.contains("backward"), "{stdout}");
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
    lrm::problem::io::npz::write_dataset(&data, &crate::strategies::instances("CVRP".parse().unwrap(), 8, 4, 3)).unwrap();
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

#[test]
fn completions_parse_in_bash_and_the_manual_page_names_every_subcommand() {
    let dir = temp_dir("completions");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = lrm().args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && out.stdout.len() > 1000, "{shell}");
        if shell == "bash" {
            let script = dir.join("lrm.bash");
            std::fs::write(&script, &out.stdout).unwrap();
            assert!(std::process::Command::new("bash").arg("-n").arg(&script).status().unwrap().success(), "bash -n accepts the script");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("--time-limit") && text.contains("--city"), "flags come from the definitions");
        }
    }
    let man = lrm().arg("man").output().unwrap();
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains(".TH lrm 1"));
    for sub in ["train", "solve", "bench", "eval", "generate", "check", "city", "info", "completions"] {
        assert!(page.contains(sub), "the page names {sub}");
    }
    let bad = lrm().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
