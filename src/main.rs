//! `lrm`: parse, start tracing, dispatch, map errors to exit codes.

use clap::Parser;

use lrm::cli::Cli;

fn main() {
    lrm::backend::keep_freed_memory();
    let cli = Cli::parse();
    cli.init_tracing();
    quiet_network_panics();
    match cli.run() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("lrm: error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}

/// Burn's collective runs its network on tokio worker threads, which panic
/// when another node goes away; the run then stops with an error naming the
/// node. Their panics are logged at debug level instead of printed with a
/// backtrace over that error; every other panic is reported as usual.
fn quiet_network_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| match std::thread::current().name() {
        Some("tokio-rt-worker") => tracing::debug!("a network task of the collective stopped: {info}"),
        _ => default(info),
    }));
}
