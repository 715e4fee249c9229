//! `lrm solve` end to end with the shipped model: feasible by default on the
//! files that used to fail, anytime output, and nothing lost when stopped.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::{close, data, json_lines, lrm, temp_dir, vrpcheck_many};

#[test]
fn the_default_command_solves_solomon_files_with_their_fleet_every_dumas_file_and_road_durations() {
    let dir = temp_dir("search-default");
    let b = data().join("benchmarks");
    let mut files: Vec<PathBuf> = ["C101", "C201", "R101", "R201", "RC101", "RC201"].iter().map(|f| b.join("vrptw").join(format!("{f}.vrp"))).collect();
    files.extend(["n20w20.001", "n40w40.001", "n60w60.001", "n100w20.001", "n150w120.001"].iter().map(|f| b.join("tsptw").join(format!("{f}.vrp"))));
    files.push(data().join("checker/vrptw_durations.vrp"));
    files.push(data().join("cases/matrix-cvrp.vrp"));
    let out = lrm().arg("solve").args(&files).arg("--out").arg(&dir).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out.stdout);
    let pairs: Vec<(PathBuf, PathBuf)> = lines.iter().zip(&files).map(|(l, f)| (f.clone(), PathBuf::from(l["solution"].as_str().unwrap()))).collect();
    for (line, verdict) in lines.iter().zip(vrpcheck_many(&pairs).unwrap_or_default()) {
        assert_eq!(line["feasible"], true, "{line}");
        assert_eq!(verdict.feasible, Some(true), "{}: {:?}", line["instance"], verdict.violation);
        assert!(close(verdict.cost.unwrap(), line["cost"].as_f64().unwrap()), "{line}");
    }
    // One start constructs 278 on two routes there, a local optimum of every
    // move but a new route for a pair; whatever every start gives, the
    // descent must end at the optimum.
    let matrix = lines.last().unwrap();
    assert!(close(matrix["cost"].as_f64().unwrap(), 230.0) && matrix["routes"] == 3, "the matrix case's optimum: {matrix}");
}

#[test]
fn a_short_search_keeps_the_optimum_of_the_matrix_case() {
    // The anytime search keeps the optimum beside the file (230, on three
    // routes) that the first descent reaches.
    let dir = temp_dir("search-matrix-case");
    let out = lrm()
        .arg("solve")
        .arg(data().join("cases/matrix-cvrp.vrp"))
        .args(["--iterations", "200", "--seed", "1", "--json", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = json_lines(&out.stdout).remove(0);
    assert!(close(line["cost"].as_f64().unwrap(), 230.0) && line["routes"] == 3, "{line}");
}

#[test]
fn a_solve_bounded_by_iterations_is_deterministic_and_traces_its_improvements() {
    let dir = temp_dir("search-deterministic");
    let file = data().join("benchmarks/cvrp/A-n45-k7.vrp");
    let solve = |name: &str| {
        let sol = dir.join(name);
        let out = lrm().arg("solve").arg(&file).args(["--iterations", "300", "--seed", "4", "--json", "--out"]).arg(&sol).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (json_lines(&out.stdout).remove(0), std::fs::read_to_string(sol).unwrap())
    };
    let (a, sol_a) = solve("a.sol");
    let (b, sol_b) = solve("b.sol");
    assert_eq!(sol_a, sol_b, "same seed, same solution");
    // Solved second in a call of two files, the file ends the same as alone.
    let pair = lrm()
        .arg("solve")
        .arg(data().join("benchmarks/cvrp/A-n32-k5.vrp"))
        .arg(&file)
        .args(["--iterations", "300", "--seed", "4", "--json", "--out"])
        .arg(dir.join("pair"))
        .output()
        .unwrap();
    assert!(pair.status.success(), "{}", String::from_utf8_lossy(&pair.stderr));
    let second = json_lines(&pair.stdout).remove(1);
    assert_eq!(std::fs::read_to_string(second["solution"].as_str().unwrap()).unwrap(), sol_a, "the same file, the same seed, another file beside it");
    assert_eq!(a["cost"], b["cost"]);
    assert_eq!(a["search_iterations"], 300);
    let trace: Vec<f64> = a["trace"].as_array().unwrap().iter().map(|p| p["cost"].as_f64().unwrap()).collect();
    assert!(!trace.is_empty() && trace.windows(2).all(|w| w[1] < w[0]), "{trace:?}");
    assert_eq!(*trace.last().unwrap(), a["cost"].as_f64().unwrap());
    assert!(a["gap_percent"].as_f64().unwrap() < 5.0, "{a}");
}

/// Start a time-limited solve and wait until it has written a first solution.
fn started(file: &Path, sol: &Path) -> Child {
    let child = lrm().arg("solve").arg(file).args(["--time-limit", "60", "--out"]).arg(sol).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let t = Instant::now();
    while !sol.exists() {
        assert!(t.elapsed() < Duration::from_secs(60), "no solution written");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    child
}

fn check_feasible(file: &Path, sol: &Path) {
    let out = lrm().arg("check").arg(file).arg(sol).output().unwrap();
    assert!(out.status.success(), "lrm check: {}", String::from_utf8_lossy(&out.stdout));
    for verdict in vrpcheck_many(&[(file.to_path_buf(), sol.to_path_buf())]).unwrap_or_default() {
        assert_eq!(verdict.feasible, Some(true), "{:?}", verdict.violation);
    }
}

#[test]
fn a_killed_solve_leaves_a_complete_feasible_solution() {
    let dir = temp_dir("search-killed");
    let file = data().join("benchmarks/cvrp/X-n303-k21.vrp");
    let sol = dir.join("x.sol");
    let mut child = started(&file, &sol);
    child.kill().unwrap();
    child.wait().unwrap();
    check_feasible(&file, &sol);
}

#[test]
fn ctrl_c_ends_the_search_with_the_best_so_far_and_status_0() {
    let dir = temp_dir("search-interrupted");
    let file = data().join("benchmarks/cvrp/X-n157-k13.vrp");
    let sol = dir.join("x.sol");
    let child = started(&file, &sol);
    let t = Instant::now();
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(t.elapsed() < Duration::from_secs(20), "stopped promptly");
    assert!(out.status.success(), "status {:?}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("X-n157-k13  cost "), "{text}");
    check_feasible(&file, &sol);
}
