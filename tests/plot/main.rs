//! Tests of the plots, mirroring `src/plot`: valid SVG and PNG files with
//! their series, axis labels and legends; route pictures with one path per route.

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

use lrm::plot::{self, Panel, Series, Style};

use common::{data, lrm, temp_dir};

fn panels() -> Vec<Panel> {
    let mut gap = Panel { log_x: true, log_y: true, ..Panel::new("inference scaling", "trajectories per instance", "gap (%)") };
    gap.series.push(Series::new("multi-start", vec![(1.0, 9.0), (4.0, 5.0), (16.0, 3.0)], Style::Line));
    gap.series.push(Series::new("multi-start x8", vec![(8.0, 4.0), (32.0, 2.5), (128.0, 1.5)], Style::Line));
    let mut fit = Series::new("fitted law", vec![(1.0, 9.0), (128.0, 1.4)], Style::Dashed);
    fit.band = vec![(1.0, 8.0, 10.0), (128.0, 1.2, 1.6)];
    gap.series.push(fit);
    let mut loss = Panel::new("loss", "step", "loss");
    loss.series.push(Series::new("", vec![(1.0, 0.5), (2.0, f64::NAN), (3.0, 0.3)], Style::Line));
    let empty = Panel::new("validation", "instances seen", "gap (%)");
    vec![gap, loss, empty]
}

#[test]
fn svg_plots_parse_and_carry_their_series_labels_and_real_ticks() {
    let path = temp_dir("plot-svg").join("p.svg");
    plot::write(&path, &panels()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("valid SVG (XML)");
    let texts: Vec<&str> = doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
    for expected in ["inference scaling", "trajectories per instance", "gap (%)", "multi-start", "multi-start x8", "fitted law", "loss", "step"] {
        assert!(texts.iter().any(|t| t.trim() == expected), "{expected} missing from {texts:?}");
    }
    assert!(!texts.iter().any(|t| t.contains("validation")), "a panel without points is left out");
    assert!(texts.iter().any(|t| t.trim().parse::<f64>() == Ok(100.0)), "log axes show real tick values: {texts:?}");
    assert!(doc.descendants().any(|n| n.has_tag_name("polygon")), "the confidence band");
}

#[test]
fn png_plots_have_the_canvas_size_and_other_extensions_are_refused() {
    let dir = temp_dir("plot-png");
    plot::write(&dir.join("p.png"), &panels()).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(dir.join("p.png")).unwrap()));
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (640, 600), "two panels drawn, one column");
    let err = plot::write(&dir.join("p.jpg"), &panels()).unwrap_err().to_string();
    assert!(err.contains(".svg or .png"), "{err}");
}

/// Route polylines: the routes are drawn 2 px wide, the axes 1 px.
fn route_paths(svg: &str) -> usize {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants().filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("2")).count()
}

#[test]
fn solve_plot_draws_one_path_per_route_and_refuses_matrix_instances() {
    let dir = temp_dir("plot-routes");
    let cvrp = data().join("benchmarks/cvrp/A-n32-k5.vrp");
    let open = dir.join("open");
    let backhaul = dir.join("backhaul");
    for (what, variant) in [(&open, "OVRP"), (&backhaul, "VRPB")] {
        let out = lrm().args(["generate", "--problem", variant, "--size", "15", "--count", "1", "--seed", "3", "--out"]).arg(what).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let first = |d: &std::path::Path| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "vrp")).unwrap();
    for (k, file) in [cvrp, first(&open), first(&backhaul)].iter().enumerate() {
        let picture = dir.join(format!("routes{k}.svg"));
        let out = lrm().arg("solve").arg(file).arg("--plot").arg(&picture).arg("--out").arg(dir.join(format!("s{k}.sol"))).arg("--json").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let line: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
        let svg = std::fs::read_to_string(&picture).unwrap();
        assert_eq!(route_paths(&svg) as u64, line["routes"].as_u64().unwrap(), "{}", file.display());
        assert!(svg.contains("cost"), "the title gives the cost");
        if k == 2 {
            assert!(svg.contains("<polygon"), "backhaul customers are marked with triangles");
        }
    }
    let matrix = data().join("cases/matrix-cvrp.vrp");
    let out = lrm().arg("solve").arg(&matrix).arg("--plot").arg(dir.join("m.svg")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no coordinates"));
    assert!(!dir.join("m.svg").exists());
}
