//! Any bytes given to the VRPLIB/TSPLIB reader give an instance or an error,
//! never a panic; an instance that reads writes out and reads back the same,
//! and the rules evaluate a solution on it without panicking.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lrm::problem::io::vrplib;
use lrm::problem::{evaluate, Solution};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(inst) = vrplib::parse(Path::new("fuzz.vrp"), text, None) {
        let written = vrplib::to_string(&inst);
        let back = vrplib::parse(Path::new("written.vrp"), &written, None).expect("a written instance reads back");
        assert_eq!(vrplib::to_string(&back), written);
        if inst.num_customers() <= 2_000 {
            let _ = evaluate(&inst, &Solution::new((1..=inst.num_customers()).map(|c| vec![c]).collect()));
        }
    }
});
