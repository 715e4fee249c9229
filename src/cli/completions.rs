//! `lrm completions SHELL` and `lrm man`: generated from the command-line
//! definitions themselves (`clap_complete`, `clap_mangen`), so they never
//! drift from the flags.

use std::io::Write;

use clap::CommandFactory;

use super::Cli;
use crate::error::{Error, Result};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// bash, zsh, fish, powershell or elvish.
    shell: clap_complete::Shell,
}

/// Write the completion script for `a.shell` to standard output.
pub fn completions(a: Args) -> Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(a.shell, &mut command, "lrm", &mut std::io::stdout());
    Ok(())
}

/// Write the manual page, in roff, to standard output.
pub fn man() -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page).map_err(|e| Error::Failure(format!("rendering the manual page: {e}")))?;
    std::io::stdout().write_all(&page).map_err(|e| Error::writing("standard output", e))
}
