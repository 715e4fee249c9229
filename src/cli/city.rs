//! `lrm city`: a synthetic city in RRNCO's per-city layout.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::problem::generate::city::City;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The city file to write (.npz: points, distance in km, duration in minutes).
    #[arg(long)]
    out: PathBuf,
    /// Points on the roads (RRNCO: 1,000).
    #[arg(long, default_value_t = 1000)]
    points: usize,
}

pub fn run(a: Args) -> Result<()> {
    if a.points < 2 {
        return Err(Error::bad_input("--points", None, format!("{}: a city needs at least 2 points", a.points)));
    }
    if let Some(parent) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::writing(parent, e))?;
    }
    City::synthetic(a.seed, a.points).write(&a.out)?;
    tracing::info!("wrote a city of {} points to {}", a.points, a.out.display());
    Ok(())
}
