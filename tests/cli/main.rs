//! The commands end to end, as a user runs them: `lrm solve` (neural and
//! anytime), `lrm eval`, completions and the manual page. Each library layer's
//! own tests live in the folder mirroring it.

#[path = "../common/mod.rs"]
#[allow(dead_code)]
mod common;

mod anytime;
mod completions;
mod eval;
mod solve;
mod train;
