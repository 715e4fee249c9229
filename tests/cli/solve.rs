//! `lrm solve` end to end with a small randomly initialised checkpoint:
//! mechanics, not quality.

use std::path::PathBuf;

use crate::common::{close, data, json_lines, lrm, small_checkpoint, temp_dir, vrpcheck_many};

#[test]
fn solve_writes_solutions_that_lrm_check_and_vrpcheck_accept_on_the_benchmarks() {
    let dir = temp_dir("solve-benchmarks");
    let model = small_checkpoint(&dir, "rf-te");
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
    let model = small_checkpoint(&dir, "pomo");
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

/// Without --starts, --aug or --time-limit, `lrm solve` decodes as POMO
/// does (every start, x8 where the coordinates allow) within a work bound,
/// and says so; a flag or a time limit puts the user's choice back.
#[test]
fn solve_decodes_with_every_start_and_x8_by_default_and_reports_what_it_used() {
    let dir = temp_dir("solve-default-starts");
    let b = data().join("benchmarks");
    let solve = |file: &str, flags: &[&str]| {
        let out = lrm().arg("solve").arg(b.join(file)).arg("--out").arg(dir.join("s.sol")).arg("--json").args(flags).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(0), "{file} {flags:?}: {err}");
        (json_lines(&out.stdout).remove(0), err)
    };
    let used = |line: &serde_json::Value| (line["starts"].as_str().unwrap().to_string(), line["aug"].as_u64().unwrap());
    let (line, _) = solve("cvrp/A-n32-k5.vrp", &[]);
    assert_eq!(used(&line), ("all".into(), 8), "{line}");
    // The search descends from the 16 best distinct of the 248 rollouts.
    assert_eq!(line["descended_constructions"], 16, "{line}");
    let (line, err) = solve("atsp/ftv33.atsp", &[]);
    assert_eq!(used(&line), ("all".into(), 1), "an explicit matrix: every start, no augmentation: {line}");
    assert!(!err.contains("augmentation does not apply"), "nobody asked for x8: {err}");
    let (line, _) = solve("cvrp/A-n32-k5.vrp", &["--starts", "4"]);
    assert_eq!(used(&line), ("4".into(), 1), "{line}");
    assert!((1..=4).contains(&line["descended_constructions"].as_u64().unwrap()), "one to four, one per distinct rollout: {line}");
    let (line, _) = solve("cvrp/A-n32-k5.vrp", &["--aug", "8"]);
    assert_eq!(used(&line), ("1".into(), 8), "{line}");
    let (line, _) = solve("cvrp/A-n32-k5.vrp", &["--time-limit", "0.5"]);
    assert_eq!(used(&line), ("1".into(), 1), "the search has the time: {line}");
    let (line, _) = solve("cvrp/A-n32-k5.vrp", &["--iterations", "20"]);
    assert_eq!(used(&line), ("1".into(), 1), "a search bounded by iterations: {line}");
    let text = lrm().arg("solve").arg(b.join("cvrp/A-n32-k5.vrp")).arg("--out").arg(dir.join("t.sol")).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("model mtvrp-cpu (greedy, every start, x8)"), "{text}");
}

/// A policy that constructs poorly (here an untrained one, whose rollouts
/// complete) never ends worse than the search's own construction: on st70
/// that construction starts from TSPLIB's order and descends to within 1%
/// of the optimum 675, where the untrained policy's tour does not, and the
/// output says that it was kept.
#[test]
fn solve_keeps_the_search_s_own_construction_when_it_descends_further() {
    let dir = temp_dir("solve-own-construction");
    let model = small_checkpoint(&dir, "rf-te");
    let solve = |flags: &[&str]| {
        let mut cmd = lrm();
        cmd.arg("solve").arg(data().join("benchmarks/tsp/st70.tsp")).args(["--starts", "1", "--model"]).arg(&model);
        let out = cmd.arg("--out").arg(dir.join("st70.sol")).args(flags).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let line = json_lines(solve(&["--json"]).as_bytes()).remove(0);
    assert_eq!(line["trajectories"], 1, "the policy's rollout completed: {line}");
    assert_eq!(line["kept_own_construction"], true, "{line}");
    assert!(line["gap_percent"].as_f64().unwrap() < 2.0, "{line}");
    let constructed = line["constructed_cost"].as_f64().expect("the rollout's cost, before the search");
    assert!(constructed > line["cost"].as_f64().unwrap(), "the search improved on the construction: {line}");
    assert!(solve(&[]).contains("from the search's own construction"));
}
