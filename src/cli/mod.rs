//! The command line: one file per subcommand, no logic beyond wiring.

mod bench;
mod check;
mod city;
mod completions;
mod coordinator;
mod decoding;
mod eval;
mod generate;
mod info;
mod shared;
mod solve;
mod train;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::error::Result;

#[derive(Parser, Debug)]
#[command(name = "lrm", version, about = "Transformer-based neural solvers for vehicle routing")]
pub struct Cli {
    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a policy from a TOML config.
    Train(train::Args),
    /// Solve instance files with a trained policy.
    Solve(solve::Args),
    /// Measure scaling laws and throughput.
    Bench(bench::Args),
    /// Evaluate a policy on a dataset against reference costs.
    Eval(eval::Args),
    /// Generate instances (VRPLIB files or an .npz dataset).
    Generate(generate::Args),
    /// Check a solution against an instance: feasibility and cost.
    Check(check::Args),
    /// Run the coordinator that the nodes of a several-machine training run join.
    Coordinator(coordinator::Args),
    /// Build a synthetic city: road distances and durations between 1,000 points (RRNCO's layout).
    City(city::Args),
    /// Describe an instance file: variant, size, attributes, distance rule.
    Info(info::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(completions::Args),
    /// Print the manual page (roff).
    Man,
}

impl Cli {
    pub fn init_tracing(&self) {
        let level = match (self.quiet, self.verbose) {
            (true, _) => "error",
            (false, 0) => "warn",
            (false, 1) => "debug",
            (false, _) => "trace",
        };
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("lrm={level},{level}")));
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
    }

    /// Run the command; `Ok` carries the exit status (`check` exits 1 on an infeasible solution).
    pub fn run(self) -> Result<i32> {
        match self.command {
            Command::Generate(a) => generate::run(a).map(|()| 0),
            Command::Check(a) => check::run(a),
            Command::City(a) => city::run(a).map(|()| 0),
            Command::Coordinator(a) => coordinator::run(a).map(|()| 0),
            Command::Completions(a) => completions::completions(a).map(|()| 0),
            Command::Man => completions::man().map(|()| 0),
            Command::Info(a) => info::run(a).map(|()| 0),
            Command::Train(a) => train::run(a).map(|()| 0),
            Command::Solve(a) => solve::run(a),
            Command::Bench(a) => bench::run(a).map(|()| 0),
            Command::Eval(a) => eval::run(a),
        }
    }
}

/// One JSON object on one line with `", "` and `": "` separators (Python's
/// `json.dumps` layout, so `lrm` and `vrpcheck.py` print alike).
pub fn json_line(value: &serde_json::Value) -> String {
    struct Spaced;
    impl serde_json::ser::Formatter for Spaced {
        fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
            if first {
                Ok(())
            } else {
                w.write_all(b", ")
            }
        }
        fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
            w.write_all(b": ")
        }
        fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
            if first {
                Ok(())
            } else {
                w.write_all(b", ")
            }
        }
    }
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Spaced);
    serde::Serialize::serialize(value, &mut ser).expect("a JSON value serialises");
    String::from_utf8(out).expect("JSON is UTF-8")
}
