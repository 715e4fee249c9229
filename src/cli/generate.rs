//! `lrm generate`: instances as VRPLIB files in a directory, or one `.npz` dataset.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::problem::generate::city::{self, City, CitySampling};
use crate::problem::generate::{Distribution, GeneratorConfig, Hardness, Problem};
use crate::problem::io::{npz, vrplib};
use crate::problem::Variant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A variant name (CVRP, VRPBLTW, OVRPMBTW, TSPTW, ATSP, ...) or MIXED for
    /// RouteFinder's mixed batches (O, B, L, TW each on with probability 1/2).
    #[arg(long)]
    problem: String,
    /// Customers per instance (the depot excluded: LMask's "TSPTW-50" is --size 49).
    #[arg(long)]
    size: usize,
    #[arg(long, default_value_t = 1)]
    count: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A directory (one VRPLIB file per instance) or a FILE.npz dataset.
    #[arg(long)]
    out: PathBuf,
    /// Coordinates: uniform, clustered or mixed (Gaussian clusters and uniform points).
    #[arg(long, default_value = "uniform")]
    distribution: Distribution,
    /// Gaussian clusters for clustered and mixed coordinates.
    #[arg(long)]
    clusters: Option<usize>,
    /// Standard deviation of each cluster.
    #[arg(long)]
    cluster_std: Option<f64>,
    /// Share of uniform points in the mixed distribution.
    #[arg(long)]
    uniform_share: Option<f64>,
    /// TSPTW and TSPDL hardness: easy, medium or hard (LMask).
    #[arg(long, default_value = "hard")]
    hardness: Hardness,
    /// Weights from a random asymmetric matrix closed under the triangle inequality.
    #[arg(long)]
    asymmetric: bool,
    /// With MIXED: mixed backhauls (MB) instead of classic (B).
    #[arg(long)]
    mixed_backhaul: bool,
    /// Draw instances from road networks (RRNCO): a city file (`lrm city`) or
    /// a directory of them; distances and durations come from the city.
    #[arg(long)]
    city: Option<PathBuf>,
    /// With --city: uniform points, or a cluster around a random point.
    #[arg(long, default_value = "uniform", requires = "city")]
    city_sampling: CitySampling,
}

pub fn run(a: Args) -> Result<()> {
    let config = config(&a)?;
    if a.size == 0 || a.count == 0 {
        return Err(Error::bad_input("--size/--count", None, "both must be at least 1"));
    }
    let instances = match &a.city {
        Some(path) => {
            if a.distribution != Distribution::Uniform || a.asymmetric {
                return Err(Error::bad_input("--city", None, "a city fixes the points and the matrices: drop --distribution and --asymmetric"));
            }
            let cities = City::read_all(path)?;
            city::generate(&cities, config.problem, a.size, a.count, a.seed, a.city_sampling).map_err(|e| Error::bad_input(path, None, e))?
        }
        None => config.generate(a.size, a.count, a.seed),
    };
    if a.out.extension().is_some_and(|e| e == "npz") {
        if let Some(parent) = a.out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::writing(parent, e))?;
        }
        npz::write_dataset(&a.out, &instances)?;
    } else {
        std::fs::create_dir_all(&a.out).map_err(|e| Error::writing(&a.out, e))?;
        for inst in &instances {
            vrplib::write(&a.out.join(format!("{}.vrp", inst.name)), inst)?;
        }
    }
    tracing::info!("wrote {} instances to {}", instances.len(), a.out.display());
    Ok(())
}

fn config(a: &Args) -> Result<GeneratorConfig> {
    let bad = |msg: String| Error::bad_input("--problem", None, msg);
    let problem = if a.problem.eq_ignore_ascii_case("mixed") {
        Problem::Mixed { mixed_backhaul: a.mixed_backhaul }
    } else {
        if a.mixed_backhaul {
            return Err(bad("--mixed-backhaul applies to MIXED; name an MB variant (VRPMB, OVRPMBTW, ...) instead".into()));
        }
        Problem::Variant(a.problem.parse::<Variant>().map_err(|e| bad(e.to_string()))?)
    };
    let distribution = match a.distribution {
        Distribution::Uniform => Distribution::Uniform,
        Distribution::Clustered { clusters, std } => Distribution::Clustered { clusters: a.clusters.unwrap_or(clusters), std: a.cluster_std.unwrap_or(std) },
        Distribution::Mixed { clusters, std, uniform_share } => Distribution::Mixed {
            clusters: a.clusters.unwrap_or(clusters),
            std: a.cluster_std.unwrap_or(std),
            uniform_share: a.uniform_share.unwrap_or(uniform_share),
        },
    };
    if distribution == Distribution::Uniform && (a.clusters.is_some() || a.cluster_std.is_some() || a.uniform_share.is_some()) {
        return Err(Error::bad_input("--distribution", None, "cluster options need --distribution clustered or mixed"));
    }
    let config = GeneratorConfig { problem, distribution, hardness: a.hardness, asymmetric: a.asymmetric };
    config.validate().map_err(|e| Error::bad_input("--problem", None, e))?;
    Ok(config)
}
