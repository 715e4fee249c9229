//! Flags that several subcommands take, defined once and flattened into each.

use crate::backend::DeviceSpec;
use crate::problem::Rounding;

/// `--device`.
#[derive(clap::Args, Debug, Clone)]
pub struct DeviceArg {
    /// cpu, cuda[:N] or wgpu[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceSpec,
}

/// `--round`.
#[derive(clap::Args, Debug, Clone)]
pub struct RoundArg {
    /// Override the distance rule of coordinates: nint, exact, ceil or trunc1.
    #[arg(long)]
    pub round: Option<Rounding>,
}

/// `--json`.
#[derive(clap::Args, Debug, Clone)]
pub struct JsonArg {
    /// Print JSON, one object per line, instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `--aug`: POMO's x8 dihedral augmentation or none.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aug {
    /// No augmentation.
    #[value(name = "1")]
    None,
    /// The 8 dihedral copies of the coordinates (not for explicit matrices).
    #[value(name = "8")]
    Dihedral,
}
