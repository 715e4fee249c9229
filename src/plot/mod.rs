//! Plots, drawn with `plotters` to SVG or PNG (by the file's extension):
//! panels of line, dashed and point series with legends, linear or
//! logarithmic axes with real tick values, and shaded confidence bands.
//! Training curves, the scaling report and route pictures ([`routes`]) use it.
//!
//! Text is laid out and rasterised with the embedded DejaVu Sans
//! (`assets/fonts`, through plotters' `ab_glyph` path), so plots need no
//! system font libraries.

pub mod routes;

use std::path::Path;
use std::sync::Once;

use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::problem::io::write_atomic;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
const PANEL_WIDTH: u32 = 640;
const PANEL_HEIGHT: u32 = 300;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Line,
    /// A fitted law.
    Dashed,
    Points,
}

/// One series: its legend label, (x, y) points (non-finite ones, and
/// non-positive ones on a logarithmic axis, are left out) and an optional
/// band `(x, low, high)` shaded behind it.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub style: Style,
    pub band: Vec<(f64, f64, f64)>,
}

impl Series {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, style: Style) -> Series {
        Series { label: label.into(), points, style, band: vec![] }
    }
}

/// One chart: a title, axis labels and scales, its series.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
}

impl Panel {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Panel {
        Panel { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), ..Panel::default() }
    }

    /// The points of every series and band that its axes can show.
    fn drawable(&self) -> Vec<(f64, f64)> {
        let fits = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!self.log_x || x > 0.0) && (!self.log_y || y > 0.0);
        let bands = self.series.iter().flat_map(|s| s.band.iter().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]));
        self.series.iter().flat_map(|s| s.points.iter().copied()).chain(bands).filter(fits).collect()
    }
}

/// Something drawn on one canvas, whichever the backend.
pub(crate) trait Drawing {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String>;
}

/// Write `panels` to `path` (`.svg` or `.png`), two columns when there are
/// more than three; panels with nothing to show are left out. Written
/// atomically.
///
/// # Errors
/// Another extension, nothing to draw, or a file that cannot be written.
pub fn write(path: &Path, panels: &[Panel]) -> Result<()> {
    let shown: Vec<&Panel> = panels.iter().filter(|p| !p.drawable().is_empty()).collect();
    if shown.is_empty() {
        return Err(Error::Failure(format!("{}: nothing to plot", path.display())));
    }
    let columns = if shown.len() > 3 { 2 } else { 1 };
    let rows = shown.len().div_ceil(columns);
    let size = (PANEL_WIDTH * columns as u32, PANEL_HEIGHT * rows as u32);
    render(path, size, &Grid { panels: shown, rows, columns })
}

struct Grid<'a> {
    panels: Vec<&'a Panel>,
    rows: usize,
    columns: usize,
}

impl Drawing for Grid<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        for (area, panel) in root.split_evenly((self.rows, self.columns)).iter().zip(&self.panels) {
            draw_panel(area, panel)?;
        }
        Ok(())
    }
}

fn register_font() {
    static FONT_ONCE: Once = Once::new();
    FONT_ONCE.call_once(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).unwrap_or_else(|_| panic!("the embedded font is a valid TrueType font"));
    });
}

/// Draw `drawing` on a white SVG or PNG canvas of `size` and write it to `path` atomically.
pub(crate) fn render(path: &Path, size: (u32, u32), drawing: &impl Drawing) -> Result<()> {
    register_font();
    let failed = |e: String| Error::Failure(format!("{}: cannot draw the plot: {e}", path.display()));
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("svg") => {
            let mut text = String::new();
            {
                let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
                root.fill(&WHITE).map_err(|e| failed(e.to_string()))?;
                drawing.draw(&root).map_err(failed)?;
                root.present().map_err(|e| failed(e.to_string()))?;
            }
            write_atomic(path, text.as_bytes())
        }
        Some("png") => {
            let mut pixels = vec![255u8; size.0 as usize * size.1 as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
                drawing.draw(&root).map_err(failed)?;
                root.present().map_err(|e| failed(e.to_string()))?;
            }
            let mut bytes = vec![];
            let mut encoder = png::Encoder::new(&mut bytes, size.0, size.1);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().map_err(|e| failed(e.to_string()))?;
            writer.write_image_data(&pixels).map_err(|e| failed(e.to_string()))?;
            writer.finish().map_err(|e| failed(e.to_string()))?;
            write_atomic(path, &bytes)
        }
        _ => Err(Error::bad_input(path, None, "plots are written as .svg or .png: give a file name ending in one of them")),
    }
}

/// The range of `values` with a margin: a twentieth of the span on a linear
/// axis, a factor on a logarithmic one; a single value gets a span around it.
fn range(values: impl Iterator<Item = f64>, log: bool) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if log {
        let (lo, hi) = if hi / lo < 1.5 { (lo / 1.5, hi * 1.5) } else { (lo, hi) };
        return lo / 1.1..hi * 1.1;
    }
    let pad = if hi > lo { (hi - lo) / 20.0 } else { lo.abs().max(1.0) / 10.0 };
    lo - pad..hi + pad
}

/// One panel on `area`, dispatched on its axis scales.
fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> std::result::Result<(), String> {
    let points = panel.drawable();
    let (x, y) = (range(points.iter().map(|p| p.0), panel.log_x), range(points.iter().map(|p| p.1), panel.log_y));
    match (panel.log_x, panel.log_y) {
        (false, false) => chart(area, panel, x, y),
        (true, false) => chart(area, panel, x.log_scale(), y),
        (false, true) => chart(area, panel, x, y.log_scale()),
        (true, true) => chart(area, panel, x.log_scale(), y.log_scale()),
    }
}

fn chart<DB, XS, YS>(area: &DrawingArea<DB, Shift>, panel: &Panel, x: XS, y: YS) -> std::result::Result<(), String>
where
    DB: DrawingBackend,
    XS: AsRangedCoord<Value = f64>,
    YS: AsRangedCoord<Value = f64>,
    XS::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    YS::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FAMILY, 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x, y)
        .map_err(e)?;
    chart.configure_mesh().x_desc(&panel.x_label).y_desc(&panel.y_label).label_style((FAMILY, 12)).light_line_style(WHITE.mix(0.0)).draw().map_err(e)?;
    let fits = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!panel.log_x || x > 0.0) && (!panel.log_y || y > 0.0);
    for (k, s) in panel.series.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        if !s.band.is_empty() {
            let mut outline: Vec<(f64, f64)> = s.band.iter().map(|&(x, _, hi)| (x, hi)).collect();
            outline.extend(s.band.iter().rev().map(|&(x, lo, _)| (x, lo)));
            outline.retain(fits);
            chart.draw_series(std::iter::once(Polygon::new(outline, color.mix(0.15).filled()))).map_err(e)?;
        }
        let points: Vec<(f64, f64)> = s.points.iter().copied().filter(fits).collect();
        let style = ShapeStyle::from(&color).stroke_width(2);
        let drawn = match s.style {
            Style::Line => chart.draw_series(LineSeries::new(points, style)).map_err(e)?,
            Style::Dashed => chart.draw_series(DashedLineSeries::new(points, 6, 4, style)).map_err(e)?,
            Style::Points => chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, color.filled()))).map_err(e)?,
        };
        if !s.label.is_empty() {
            drawn.label(&s.label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ShapeStyle::from(&color).stroke_width(2)));
        }
    }
    if panel.series.iter().any(|s| !s.label.is_empty()) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FAMILY, 12))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(e)?;
    }
    Ok(())
}
