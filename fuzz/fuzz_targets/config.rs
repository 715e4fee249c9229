//! Any bytes given to the training-config reader give a config or an error,
//! never a panic; a config that reads and validates gives its generators and
//! its model config, or an error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lrm::train::config::TrainConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(config) = TrainConfig::parse(Path::new("fuzz.toml"), text) {
        let _ = config.generators();
        let _ = config.model_config();
    }
});
