//! Small SVG line charts: one panel per series, stacked, no dependencies.
//! Training curves and benchmark plots are written with it.

use std::fmt::Write as _;

/// One panel: a title and its (x, y) points; non-finite points are skipped.
/// An optional fitted curve is drawn dashed, with its label as the legend.
#[derive(Default)]
pub struct Panel {
    pub title: String,
    pub points: Vec<(f64, f64)>,
    pub fit: Option<(String, Vec<(f64, f64)>)>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const MARGIN: f64 = 48.0;

/// An SVG document with `panels` stacked vertically.
pub fn line_chart(panels: &[Panel]) -> String {
    let total = HEIGHT * panels.len().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{total}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (k, panel) in panels.iter().enumerate() {
        draw(&mut svg, panel, k as f64 * HEIGHT);
    }
    svg + "</svg>\n"
}

fn draw(svg: &mut String, panel: &Panel, top: f64) {
    let finite = |v: &[(f64, f64)]| -> Vec<(f64, f64)> { v.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect() };
    let pts = finite(&panel.points);
    let fit = panel.fit.as_ref().map(|(label, curve)| (label, finite(curve)));
    let everything: Vec<(f64, f64)> = pts.iter().chain(fit.iter().flat_map(|f| f.1.iter())).copied().collect();
    let (x0, x1) = range(everything.iter().map(|p| p.0));
    let (y0, y1) = range(everything.iter().map(|p| p.1));
    let (left, right, upper, lower) = (MARGIN, WIDTH - 12.0, top + 20.0, top + HEIGHT - 24.0);
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * (right - left);
    let sy = |y: f64| lower - (y - y0) / (y1 - y0) * (lower - upper);
    let _ = writeln!(svg, "<text x=\"{left}\" y=\"{}\" font-weight=\"bold\">{}</text>", top + 14.0, escape(&panel.title));
    let _ = writeln!(svg, "<rect x=\"{left}\" y=\"{upper}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>", right - left, lower - upper);
    for (y, anchor) in [(y0, lower), (y1, upper)] {
        let _ = writeln!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", left - 4.0, anchor + 4.0, short(y));
    }
    for (x, at) in [(x0, left), (x1, right)] {
        let _ = writeln!(svg, "<text x=\"{at}\" y=\"{}\" text-anchor=\"middle\">{}</text>", lower + 14.0, short(x));
    }
    if let Some((label, curve)) = &fit {
        let path: Vec<String> = curve.iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
        let _ = writeln!(svg, "<polyline fill=\"none\" stroke=\"#d62728\" stroke-dasharray=\"5,3\" points=\"{}\"/>", path.join(" "));
        let _ = writeln!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#d62728\">{}</text>", right - 4.0, upper + 14.0, escape(label));
    }
    if pts.is_empty() {
        return;
    }
    let path: Vec<String> = pts.iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
    let _ = writeln!(svg, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{}\"/>", path.join(" "));
    for (x, y) in &pts {
        let _ = writeln!(svg, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"#1f77b4\"/>", sx(*x), sy(*y));
    }
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    match (lo.is_finite(), hi > lo) {
        (true, true) => (lo, hi),
        (true, false) => (lo - 0.5, lo + 0.5),
        _ => (0.0, 1.0),
    }
}

fn short(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.2e}")
    } else {
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
