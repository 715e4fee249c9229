//! Route pictures (`lrm solve FILE --plot routes.svg|.png`): the depot, the
//! customers sized by demand with backhauls marked, each route in its own
//! colour, open routes without their return arc, the cost and gap in the title.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{render, Drawing, FAMILY};
use crate::error::{Error, Result};
use crate::problem::{Instance, Solution};

const SIZE: (u32, u32) = (720, 720);

/// Draw `solution` of `inst` to `path` (`.svg` or `.png`) under `title`.
///
/// # Errors
/// An instance without coordinates (an explicit matrix alone: nothing to
/// place the nodes by), another extension, or a file that cannot be written.
pub fn write(path: &Path, inst: &Instance, solution: &Solution, title: &str) -> Result<()> {
    let Some(coords) = &inst.coords else {
        return Err(Error::bad_input(
            path,
            None,
            format!("{}: the instance has no coordinates (an explicit matrix alone), so its routes cannot be drawn", inst.name),
        ));
    };
    render(path, SIZE, &Picture { inst, coords, solution, title })
}

struct Picture<'a> {
    inst: &'a Instance,
    coords: &'a [[f64; 2]],
    solution: &'a Solution,
    title: &'a str,
}

impl Picture<'_> {
    /// Each route as the points it passes: from the depot, back to it unless the route is open.
    pub(crate) fn paths(&self) -> Vec<Vec<(f64, f64)>> {
        let at = |j: usize| (self.coords[j][0], self.coords[j][1]);
        self.solution
            .routes
            .iter()
            .map(|r| {
                let mut path = vec![at(0)];
                path.extend(r.iter().map(|&j| at(j)));
                if !self.inst.variant.open {
                    path.push(at(0));
                }
                path
            })
            .collect()
    }
}

impl Drawing for Picture<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
        let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let xs = self.coords.iter().map(|c| c[0]);
        let ys = self.coords.iter().map(|c| c[1]);
        let span = |v: &mut dyn Iterator<Item = f64>| {
            let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
            let pad = ((hi - lo) / 20.0).max(1e-9);
            lo - pad..hi + pad
        };
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, (FAMILY, 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(span(&mut xs.clone()), span(&mut ys.clone()))
            .map_err(e)?;
        chart.configure_mesh().disable_mesh().label_style((FAMILY, 11)).draw().map_err(e)?;
        for (k, path) in self.paths().into_iter().enumerate() {
            let color = Palette99::pick(k).to_rgba();
            chart.draw_series(LineSeries::new(path, ShapeStyle::from(&color).stroke_width(2))).map_err(e)?;
        }
        let demand = |j: usize| self.inst.linehaul[j] + self.inst.backhaul_of(j);
        let largest = (1..self.inst.num_nodes()).map(demand).fold(0.0, f64::max);
        let radius = |j: usize| if largest > 0.0 { 2 + (5.0 * (demand(j) / largest).sqrt()).round() as i32 } else { 3 };
        let at = |j: usize| (self.coords[j][0], self.coords[j][1]);
        let (linehauls, backhauls): (Vec<usize>, Vec<usize>) = (1..self.inst.num_nodes()).partition(|&j| self.inst.backhaul_of(j) == 0.0);
        chart.draw_series(linehauls.iter().map(|&j| Circle::new(at(j), radius(j), BLACK.filled()))).map_err(e)?;
        chart.draw_series(backhauls.iter().map(|&j| TriangleMarker::new(at(j), radius(j) + 2, RED.filled()))).map_err(e)?;
        let depot = at(0);
        chart.draw_series(std::iter::once(EmptyElement::at(depot) + Rectangle::new([(-6, -6), (6, 6)], BLACK.filled()))).map_err(e)?;
        Ok(())
    }
}
