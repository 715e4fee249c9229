//! Public benchmarks and validation sets read, and their known solutions
//! evaluate to exactly the listed costs under each file's convention.

use std::path::Path;

use lrm::problem::io::{npz, read_instance, solution};
use lrm::problem::{evaluate, Rounding};

use crate::common::{close, data};

/// `bks.csv` rows: (file, bks).
fn bks(dir: &Path) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(dir.join("bks.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (cols[0].to_string(), cols[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn every_benchmark_reads_and_known_solutions_cost_exactly_the_bks() {
    let root = data().join("benchmarks");
    let mut checked = 0;
    for set in ["cvrp", "tsp", "tsptw", "atsp", "vrptw"] {
        let dir = root.join(set);
        for (file, best) in bks(&dir) {
            let inst = read_instance(&dir.join(&file), None).unwrap_or_else(|e| panic!("{set}/{file}: {e}"));
            let stem = file.rsplit_once('.').unwrap().0;
            let sol = [format!("{stem}.sol"), format!("{stem}.opt.tour")].into_iter().map(|s| dir.join(s)).find(|p| p.exists());
            let Some(sol) = sol else { continue };
            let eval = evaluate(&inst, &solution::read(&sol).unwrap().solution);
            assert!(eval.is_feasible(), "{set}/{file}: {:?}", eval.violation);
            assert_eq!(eval.cost, best, "{set}/{file}");
            checked += 1;
        }
    }
    assert_eq!(checked, 20 + 5 + 5, "CVRP, TSP tours and TSPTW solutions");
}

#[test]
fn solomon_files_read_with_the_dimacs_rounding() {
    let dir = data().join("benchmarks/vrptw");
    for (file, _) in bks(&dir) {
        let inst = read_instance(&dir.join(&file), Some(Rounding::Trunc1)).unwrap();
        assert_eq!(inst.num_customers(), 100);
        assert_eq!(inst.vehicles, Some(25));
        assert!(inst.time_windows.is_some());
    }
}

#[test]
fn validation_sets_reference_solutions_evaluate_to_their_costs_in_both_formats() {
    let root = data().join("valsets");
    let (mut sets, mut twin_sets, mut road_sets) = (0, 0, 0);
    for dir in set_dirs(&root) {
        for size in ["20", "50", "100"] {
            let data = dir.join(format!("{size}.npz"));
            if !data.exists() {
                continue;
            }
            let (from_npz, costs) = check_reference_solutions(&dir, size);
            // The VRPLIB twins: in data/ for cvrp/20, the others in ../shared when it is beside the checkout.
            road_sets += usize::from(dir.parent() == Some(&root.join("road")));
            let set = dir.strip_prefix(&root).unwrap().to_string_lossy().to_string();
            let twins = [dir.join(size), Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../shared/valsets/{set}/{size}"))];
            if let Some(folder) = twins.iter().find(|d| d.is_dir()) {
                check_twins(folder, &from_npz, &costs);
                twin_sets += 1;
            }
            sets += 1;
        }
    }
    assert!(sets >= 42, "every validation set was read: {sets}");
    assert_eq!(road_sets, 3, "the road sets (one folder deeper) were read");
    assert!(twin_sets >= 1, "at least data/valsets/cvrp/20 has its VRPLIB twins");
}

/// `DIR/SIZE.npz` against its reference (`SIZE_sol_*.npz` beside it): every
/// solution feasible under `problem::rules` at its stated cost (NaN costs,
/// instances the reference solver left unsolved, skipped). Returns the
/// instances and the costs.
fn check_reference_solutions(dir: &Path, size: &str) -> (Vec<lrm::problem::Instance>, Vec<f64>) {
    let data = dir.join(format!("{size}.npz"));
    let from_npz = npz::read_dataset(&data).unwrap_or_else(|e| panic!("{e}"));
    let reference =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{size}_sol_")));
    let (costs, solutions) = npz::read_reference(&reference.unwrap()).unwrap();
    let solutions = solutions.expect("reference actions");
    for (k, instance) in from_npz.iter().enumerate() {
        if costs[k].is_finite() {
            let on_npz = evaluate(instance, &solutions[k]);
            assert!(on_npz.is_feasible() && close(on_npz.cost, costs[k]), "{} #{k}: {:?} {} vs {}", data.display(), on_npz.violation, on_npz.cost, costs[k]);
        }
    }
    (from_npz, costs)
}

#[test]
fn heldout_sets_reference_solutions_evaluate_to_their_costs() {
    let root = data().join("heldout");
    let mut sets = 0;
    for dir in set_dirs(&root) {
        for size in ["50", "100"] {
            let (instances, costs) = check_reference_solutions(&dir, size);
            assert_eq!(instances.len(), 8, "{}", dir.display());
            assert!(costs.iter().all(|c| c.is_finite()), "{}: every held-out instance has a reference", dir.display());
            sets += 1;
        }
    }
    assert_eq!(sets, 32, "the 16 variants at 50 and 100 customers");
}

/// Every folder under `root`, at any depth (the road sets are `road/<problem>/`), in name order.
fn set_dirs(root: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
                dirs.push(path);
            }
        }
    }
    dirs.sort();
    dirs
}

/// Each VRPLIB file of `folder` reads as its npz twin, and its `.sol` evaluates to the reference cost.
fn check_twins(folder: &Path, from_npz: &[lrm::problem::Instance], costs: &[f64]) {
    let mut files: Vec<_> = std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "vrp")).collect();
    files.sort();
    assert_eq!(files.len(), from_npz.len());
    for (k, file) in files.iter().enumerate() {
        let inst = read_instance(file, None).unwrap();
        let twin = &from_npz[k];
        assert_eq!(inst.variant, twin.variant, "{}", file.display());
        assert_eq!(inst.coords, twin.coords, "{}", file.display());
        assert_eq!(inst.linehaul, twin.linehaul, "{}", file.display());
        assert_eq!(inst.capacity, twin.capacity, "{}", file.display());
        assert_eq!(inst.time_windows, twin.time_windows, "{}", file.display());
        assert_eq!(inst.draft_limit, twin.draft_limit, "{}", file.display());
        let sol_file = file.with_extension("sol");
        if !costs[k].is_finite() || !sol_file.exists() {
            continue; // proven infeasible TSPTW-medium instances have no reference
        }
        let eval = evaluate(&inst, &solution::read(&sol_file).unwrap().solution);
        assert!(eval.is_feasible(), "{}: {:?}", file.display(), eval.violation);
        assert!((eval.cost - costs[k]).abs() <= 1e-6 * costs[k], "{}: {} vs {}", file.display(), eval.cost, costs[k]);
    }
}
