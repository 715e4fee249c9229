//! A checkpoint saved on the CPU loads on wgpu and gives the same
//! log-probabilities. Built with `--features wgpu`; `.ci/run` runs it on
//! Mesa's software Vulkan driver (lavapipe) when that driver is installed.

#![cfg(feature = "wgpu")]

use burn::backend::{Flex, Wgpu};

use lrm::model::checkpoint;

use crate::policy::{greedy, instances, small};

fn log_probs<Bk: burn::tensor::backend::Backend>(path: &std::path::Path, device: &Bk::Device) -> Vec<f32> {
    let (policy, card) = checkpoint::load::<Bk>(path, device).unwrap();
    let insts = instances("VRPBLTW".parse().unwrap(), 12, 3);
    let (_, chosen) = greedy(&policy, &card.model, &insts, 4, device);
    chosen.into_iter().flat_map(|t| t.into_data().convert::<f32>().to_vec::<f32>().unwrap()).collect()
}

#[test]
fn a_cpu_checkpoint_gives_the_same_log_probabilities_on_wgpu() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("backends");
    std::fs::create_dir_all(&dir).unwrap();
    for preset in ["rf-te", "deep-6x128"] {
        let config = small(preset);
        let path = dir.join(preset);
        checkpoint::save(&config.init::<Flex>(&Default::default()), &config, &path).unwrap();
        let cpu = log_probs::<Flex>(&path, &Default::default());
        let gpu = log_probs::<Wgpu>(&path, &Default::default());
        assert_eq!(cpu.len(), gpu.len(), "{preset}: both backends decode the same greedy steps");
        let worst = cpu.iter().zip(&gpu).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "{preset}: log-probabilities differ by {worst}");
    }
}
