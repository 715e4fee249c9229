//! Any bytes given to the instance and solution readers give an instance or an
//! error, never a panic; an instance that reads writes out and reads back the same.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lrm::problem::io::{solomon, solution, vrplib};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(inst) = vrplib::parse(Path::new("fuzz.vrp"), text, None) {
        let written = vrplib::to_string(&inst);
        let back = vrplib::parse(Path::new("written.vrp"), &written, None).expect("a written instance reads back");
        assert_eq!(vrplib::to_string(&back), written);
    }
    let _ = solomon::parse(Path::new("fuzz.txt"), text, None);
    let _ = solution::parse(Path::new("fuzz.sol"), text);
});
