//! Any bytes given to the solution reader (CVRPLIB `.sol`, TSPLIB `.tour`)
//! give a solution or an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lrm::problem::io::solution;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = solution::parse(Path::new("fuzz.sol"), text);
    let _ = solution::parse(Path::new("fuzz.tour"), text);
});
