//! Any bytes given to the Solomon reader give an instance or an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lrm::problem::io::solomon;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = solomon::parse(Path::new("fuzz.txt"), text, None);
});
