//! Presets: sizes against the seed papers' counts, counted and built alike.

use burn::backend::Flex;
use burn::module::Module;

use lrm::model::config::{DEEP_GRID, PRESETS};
use lrm::model::ModelConfig;

#[test]
fn counted_parameters_equal_built_parameters() {
    let device = Default::default();
    let deep = ["deep-6x128", "deep-24x64", "deep-96x32"];
    for name in PRESETS.iter().filter(|&&p| p != "lrm-1b").chain(&deep) {
        let config = ModelConfig::preset(name).unwrap();
        config.validate().unwrap();
        let built = config.init::<Flex>(&device).num_params();
        assert_eq!(built, config.num_params() + config.num_buffers(), "{name}");
    }
}

#[test]
fn preset_sizes_match_the_seed_papers() {
    // RouteFinder RF-POMO: 1,289,856 by hand count; ours has one more customer
    // feature (draft limit) and one more global feature (mixed backhaul): +2 x 128.
    assert_eq!(ModelConfig::preset("pomo").unwrap().num_params(), 1_289_856 + 256);
    let rf_te = ModelConfig::preset("rf-te").unwrap().num_params() as f64;
    assert!((rf_te / 1.68e6 - 1.0).abs() < 0.01, "rf-te has {rf_te}");
    let ladder: Vec<usize> = ["lrm-1m", "lrm-5m", "lrm-40m", "lrm-1b"].iter().map(|p| ModelConfig::preset(p).unwrap().num_params()).collect();
    for (count, target) in ladder.iter().zip([1e6, 5e6, 40e6, 1e9]) {
        assert!((*count as f64 / target - 1.0).abs() < 0.2, "{count} vs {target}");
    }
    assert!(ModelConfig::preset("nope").is_err());
    // The decoder-scaling paper: 1.32M at D=6, W=128; 9.02M at D=42, W=128; 143.8M at D=42, W=512.
    for (name, target) in [("deep-6x128", 1.32e6), ("deep-42x128", 9.02e6), ("deep-42x512", 143.8e6)] {
        let count = ModelConfig::preset(name).unwrap().num_params() as f64;
        assert!((count / target - 1.0).abs() < 0.005, "{name}: {count} vs {target}");
    }
    for (depth, width) in DEEP_GRID {
        let c = ModelConfig::preset(&format!("deep-{depth}x{width}")).unwrap();
        c.validate().unwrap();
        assert_eq!(c.d_model / c.n_heads, if width == 512 { 32 } else { 16 });
    }
}

#[test]
fn bad_configs_name_the_field() {
    let c = ModelConfig { n_heads: 7, ..ModelConfig::preset("pomo").unwrap() };
    assert!(c.validate().unwrap_err().contains("n_heads"));
}

#[test]
fn lrm_info_reports_a_presets_size_and_flops() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lrm")).args(["info", "--model", "lrm-1b", "--size", "50", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["parameters"].as_u64().unwrap() as usize, ModelConfig::preset("lrm-1b").unwrap().num_params());
    assert!(v["encoding_gflops"].as_f64().unwrap() > 0.0 && v["step_mflops"].as_f64().unwrap() > 0.0);
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_lrm")).args(["info", "--model", "nope"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("names no checkpoint (nope.toml and nope.safetensors are not both there), no shipped model (mtvrp-cpu")
    );
}
