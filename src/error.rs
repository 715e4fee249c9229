//! Errors are values: bad input names the file and the line; the CLI maps
//! kinds to exit codes (2 bad input, 1 failure).

use std::fmt;

/// An error `lrm` reports to its user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed or inconsistent: exit status 2.
    #[error("{}: {message}", Location { path, line: *line })]
    BadInput { path: String, line: Option<usize>, message: String },
    /// Reading or writing a file failed: exit status 2 when reading, 1 when writing.
    #[error("{path}: {source}")]
    Io { path: String, reading: bool, source: std::io::Error },
    /// Anything else that went wrong: exit status 1.
    #[error("{0}")]
    Failure(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

struct Location<'a> {
    path: &'a str,
    line: Option<usize>,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}", self.path),
            None => f.write_str(self.path),
        }
    }
}

impl Error {
    pub fn bad_input(path: impl AsRef<std::path::Path>, line: Option<usize>, message: impl Into<String>) -> Self {
        Error::BadInput { path: path.as_ref().display().to_string(), line, message: message.into() }
    }

    /// A TOML error in `text`, read from `path`: the line its span starts
    /// on (from 1), `prefix` before its message.
    pub fn toml(path: impl AsRef<std::path::Path>, text: &str, prefix: &str, e: &toml::de::Error) -> Self {
        Error::bad_input(path, e.span().map(|s| line_at(text, s.start)), format!("{prefix}{}", e.message()))
    }

    pub fn reading(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), reading: true, source }
    }

    pub fn writing(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), reading: false, source }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadInput { .. } | Error::Io { reading: true, .. } => 2,
            Error::Io { reading: false, .. } | Error::Failure(_) => 1,
        }
    }
}

/// The line (from 1) of byte `offset` in `text`.
pub fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
