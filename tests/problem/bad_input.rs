//! Bad input gets a clear error naming the file (and the line when there is
//! one), exit status 2, and never a panic.

use std::path::{Path, PathBuf};

use lrm::problem::io::{npz, read_instance, solomon, solution, vrplib};

use crate::common::{data, lrm};

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad").join(name)
}

fn valid() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/valid.vrp")
}

/// (file, line the message must name or None, words it must contain)
const CORPUS: [(&str, Option<usize>, &str); 17] = [
    ("missing_section.vrp", Some(2), "TYPE VRPTW needs TIME_WINDOW_SECTION"),
    ("wrong_row_count.vrp", Some(11), "DEMAND_SECTION: 3 rows for DIMENSION 4 (node 3 missing)"),
    ("id_out_of_range.vrp", Some(15), "node id 9 out of range 1..4"),
    ("non_numeric.vrp", Some(9), "non-numeric token 'six'"),
    ("demand_above_capacity.vrp", Some(14), "demand 15 of node 3 exceeds the capacity 10"),
    ("unreachable_window.vrp", Some(19), "time window of node 3 [0, 9] cannot be reached"),
    ("truncated.vrp", Some(11), "DEMAND_SECTION: 3 rows for DIMENSION 4"),
    ("empty.vrp", None, "the file is empty"),
    ("depot_not_node_1.vrp", Some(27), "the depot must be node 1"),
    ("missing_dimension.vrp", None, "DIMENSION specification missing"),
    ("extra_value.vrp", Some(8), "expected 3 values"),
    ("negative_capacity.vrp", Some(4), "CAPACITY must be positive"),
    ("window_closes_before_open.vrp", Some(20), "closes (0) before it opens (70)"),
    ("huge_dimension.vrp", Some(3), "DIMENSION"),
    ("garbage.vrp", None, "not UTF-8"),
    ("explicit_too_few.atsp", Some(6), "has 8 values, expected 9"),
    ("explicit_negative.atsp", Some(8), "negative weight -4 from node 2 to node 3"),
];

#[test]
fn every_bad_instance_file_fails_with_file_line_and_exit_2() {
    for (file, line, words) in CORPUS {
        let path = bad(file);
        let out = lrm().arg("info").arg(&path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(!err.contains("panicked"), "{file}: {err}");
        let place = match line {
            Some(l) => format!("{}:{l}: ", path.display()),
            None => format!("{}: ", path.display()),
        };
        assert!(err.contains(&place) && err.contains(words), "{file}: expected {place:?} and {words:?} in {err}");
        let check = lrm().arg("check").arg(&path).arg(data().join("checker/cvrp_ok.sol")).output().unwrap();
        assert_eq!(check.status.code(), Some(2), "check {file}");
    }
}

#[test]
fn bad_solutions_datasets_and_missing_files_exit_2() {
    let out = lrm().arg("check").arg(valid()).arg(bad("non_numeric.sol")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("non_numeric.sol:1: non-numeric token 'x'"));
    let out = lrm().arg("check").arg(bad("no_such_file.vrp")).arg(bad("non_numeric.sol")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_file.vrp: cannot read file"));
    let err = npz::read_dataset(&bad("not_a_zip.npz")).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("not_a_zip.npz: not an .npz"), "{err}");
}

#[test]
fn no_prefix_of_a_valid_file_panics_the_readers() {
    let files = [
        valid(),
        data().join("checker/vrpbltw.vrp"),
        data().join("checker/explicit_lower_diag_row.tsp"),
        data().join("checker/solomon.txt"),
        data().join("checker/tspdl.vrp"),
        data().join("benchmarks/atsp/br17.atsp"),
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(read_instance(&file, None).is_ok(), "{} is valid", file.display());
        for cut in (0..text.len()).filter(|&c| text.is_char_boundary(c)) {
            let prefix = &text[..cut];
            let _ = vrplib::parse(Path::new("prefix.vrp"), prefix, None);
            let _ = solomon::parse(Path::new("prefix.txt"), prefix, None);
            let _ = solution::parse(Path::new("prefix.sol"), prefix);
        }
    }
}

#[test]
fn malformed_datasets_are_errors_naming_the_array() {
    use lrm::problem::io::npz::{write_arrays, Array, Dtype};
    let dir = crate::common::temp_dir("bad_npz");
    let locs = || Array::new(vec![2, 3, 2], vec![0.5; 12]);
    type Arrays = Vec<(&'static str, Array, Dtype)>;
    let cases: Vec<(&str, Arrays, &str)> = vec![
        ("scalar", vec![("locs", locs(), Dtype::F4), ("demand_linehaul", Array::new(vec![], vec![1.0]), Dtype::F4)], "demand_linehaul"),
        ("short", vec![("locs", locs(), Dtype::F4), ("demand_linehaul", Array::new(vec![2, 1], vec![1.0; 2]), Dtype::F4)], "demand_linehaul"),
        ("rows", vec![("locs", locs(), Dtype::F4), ("demand_linehaul", Array::new(vec![3, 2], vec![1.0; 6]), Dtype::F4)], "demand_linehaul"),
        ("no_locs", vec![("demand", Array::new(vec![2, 3], vec![1.0; 6]), Dtype::F4)], "no 'locs'"),
        ("flat_locs", vec![("locs", Array::new(vec![2, 6], vec![0.5; 12]), Dtype::F4)], "'locs' must have shape"),
        (
            "over_capacity",
            vec![
                ("locs", locs(), Dtype::F4),
                ("demand_linehaul", Array::new(vec![2, 2], vec![0.5, 1.5, 0.5, 0.5]), Dtype::F4),
                ("vehicle_capacity", Array::new(vec![2, 1], vec![1.0; 2]), Dtype::F4),
            ],
            "instance 0: demand 1.5 of node 3 exceeds the capacity 1",
        ),
    ];
    for (name, arrays, words) in cases {
        let path = dir.join(format!("{name}.npz"));
        write_arrays(&path, &arrays).unwrap();
        let err = npz::read_dataset(&path).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{name}");
        assert!(err.to_string().contains(words), "{name}: {err}");
    }
}
