//! `lrm coordinator --port P`: the meeting point of a training run's nodes.

use crate::error::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The port the nodes' `--coordinator HOST:PORT` names.
    #[arg(long)]
    port: u16,
}

pub fn run(a: Args) -> Result<()> {
    eprintln!("coordinator on port {}: start the nodes with --coordinator THIS_HOST:{}; Ctrl-C stops it", a.port, a.port);
    crate::train::distributed::coordinate(a.port)
}
