//! `lrm`: parse, start tracing, dispatch, map errors to exit codes.

use clap::Parser;

use lrm::cli::Cli;

fn main() {
    lrm::backend::keep_freed_memory();
    let cli = Cli::parse();
    cli.init_tracing();
    match cli.run() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("lrm: error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
