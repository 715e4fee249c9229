//! The learning curve of a run and its power law, mirroring `src/train/curve.rs`.

use lrm::train::curve;

use crate::common::{lrm, temp_dir};

/// A run whose two sets at 50 customers follow `gap = (x_c / x)^alpha` exactly,
/// started (`--init`) from the shipped card, whose instances count first.
fn run(name: &str) -> (std::path::PathBuf, f64) {
    let dir = temp_dir(name);
    let card = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mtvrp-cpu.toml");
    std::fs::copy(&card, dir.join("init.toml")).unwrap();
    let prior = lrm::model::checkpoint::read_card(&card).unwrap().trained_on.unwrap().instances as f64;
    let law = |x: f64, x_c: f64| (x_c / x).powf(0.5);
    let mut csv = String::from("step,epoch,instances,loss,val_a50,val_a50_infeasible,val_b50,val_b50_infeasible,val_score\n");
    for step in 1..=400u64 {
        let seen = 1000.0 * step as f64;
        if step % 100 == 0 {
            let (a, b) = (law(prior + seen, 1e8), law(prior + seen, 4e8));
            csv += &format!("{step},0,{seen},0.1,{a},0,{b},0,{}\n", (a + b) / 2.0);
        } else {
            csv += &format!("{step},0,{seen},0.1,,,,,\n");
        }
    }
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    (dir, prior)
}

#[test]
fn the_fit_recovers_an_exact_power_law_counted_from_the_first_stretch() {
    let (dir, prior) = run("curve-exact");
    let fitted = curve::fit(curve::read(&dir).unwrap(), &[1.0, 0.5]);
    let names: Vec<&str> = fitted.iter().map(|f| f.series.name.as_str()).collect();
    assert_eq!(names, ["a50", "b50", "mean50", "score"]);
    let a = &fitted[0];
    assert_eq!(a.series.points.len(), 4);
    assert_eq!(a.series.points[0].0, prior + 100_000.0);
    let law = a.law.as_ref().unwrap();
    assert!((law.alpha - 0.5).abs() < 1e-9 && (law.x_c / 1e8 - 1.0).abs() < 1e-6 && law.r2 > 0.999_999, "{law:?}");
    // gap 1% at x = x_c, 0.5% at 4 x_c.
    assert!((a.projected[0].1.unwrap() / 1e8 - 1.0).abs() < 1e-6 && (a.projected[1].1.unwrap() / 4e8 - 1.0).abs() < 1e-6);
    let b = fitted[1].law.as_ref().unwrap();
    assert!((b.x_c / 4e8 - 1.0).abs() < 1e-6);
}

#[test]
fn a_flat_curve_projects_nothing() {
    let dir = temp_dir("curve-flat");
    let mut csv = String::from("step,instances,val_a50,val_score\n");
    for (k, gap) in [5.0, 5.1, 4.9, 5.05, 5.0].iter().enumerate() {
        csv += &format!("{},{},{gap},{gap}\n", k + 1, 1000 * (k + 1));
    }
    std::fs::write(dir.join("metrics.csv"), csv).unwrap();
    for f in curve::fit(curve::read(&dir).unwrap(), &[1.0]) {
        assert_eq!(f.projected, vec![(1.0, None)], "{}", f.series.name);
    }
}

#[test]
fn info_prints_the_curve_and_refuses_bad_input() {
    let (dir, _) = run("curve-cli");
    let out = lrm().args(["info", "--curve"]).arg(&dir).args(["--target", "1", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 4);
    assert!((rows[0]["projected"][0][1].as_f64().unwrap() / 1e8 - 1.0).abs() < 1e-6, "{}", rows[0]);

    let out = lrm().args(["info", "--curve"]).arg(&dir).args(["--target", "-1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("positive gap"));

    std::fs::write(dir.join("metrics.csv"), "step,instances,val_a50\n1,100,x\n").unwrap();
    let out = lrm().args(["info", "--curve"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("metrics.csv") && err.contains(":2") && err.contains("'x'"), "{err}");

    let out = lrm().args(["info", "--curve"]).arg(dir.join("missing")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
