//! Checkpoints: save then load gives bit-identical logits; a card that does
//! not fit the weights is a clear error.

use burn::backend::Flex;

use lrm::model::checkpoint;

use crate::common::small_config as small;
use crate::policy::{greedy, instances};

type B = Flex;

pub fn log_probs(policy: &lrm::model::Policy<B>, config: &lrm::model::ModelConfig) -> Vec<f32> {
    let device = Default::default();
    let insts = instances("VRPLTW".parse().unwrap(), 9, 2);
    let (_, chosen) = greedy(policy, config, &insts, 2, &device);
    chosen.into_iter().flat_map(|t| t.into_data().convert::<f32>().to_vec::<f32>().unwrap()).collect()
}

#[test]
fn save_then_load_gives_identical_logits() {
    let device = Default::default();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("checkpoints");
    std::fs::create_dir_all(&dir).unwrap();
    for preset in ["pomo", "lrm-1m"] {
        let config = small(preset);
        let policy = config.init::<B>(&device);
        let path = dir.join(preset);
        checkpoint::save(&policy, &config, &path).unwrap();
        assert!(path.with_extension("safetensors").exists() && path.with_extension("toml").exists());
        let (loaded, card) = checkpoint::load::<B>(&path.with_extension("toml"), &device).unwrap();
        let again = dir.join(format!("{preset}-again"));
        checkpoint::save(&loaded, &config, &again).unwrap();
        let bytes = |p: &std::path::Path| std::fs::read(p.with_extension("safetensors")).unwrap();
        assert!(bytes(&path) == bytes(&again), "{preset}: the same weights write the same bytes");
        assert_eq!(card.model, config);
        assert_eq!(log_probs(&policy, &config), log_probs(&loaded, &config), "{preset}");
    }
    // A card whose model does not fit the weights.
    let card = dir.join("pomo.toml");
    let text = std::fs::read_to_string(&card).unwrap().replace("d_model = 32", "d_model = 64").replace("d_ff = 64", "d_ff = 128");
    std::fs::write(dir.join("bad.toml"), text).unwrap();
    std::fs::copy(dir.join("pomo.safetensors"), dir.join("bad.safetensors")).unwrap();
    let err = checkpoint::load::<B>(&dir.join("bad.toml"), &device).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("do not match the model card"), "{err}");
    std::fs::write(dir.join("broken.toml"), "lrm_version = 1\n").unwrap();
    assert!(checkpoint::load::<B>(&dir.join("broken.toml"), &device).unwrap_err().to_string().contains("broken.toml"));
}

#[test]
fn a_card_from_before_stretches_were_recorded_counts_as_one_unrecorded_stretch() {
    use checkpoint::{Stretch, TrainedOn};
    let old = TrainedOn { steps: 100, instances: 6_400, wall_seconds: 60.0, sizes: [20, 20], ..TrainedOn::untrained() };
    let stretch = Stretch {
        config: "next".into(),
        steps: 50,
        instances: 3_200,
        wall_seconds: 30.0,
        hardware: "flex".into(),
        score: Some(4.0),
        n_layers: None,
        mixed_score: None,
    };
    let next = TrainedOn { steps: 50, sizes: [50, 100], stretches: vec![stretch], ..TrainedOn::untrained() };
    let both = old.followed_by(next);
    assert_eq!((both.steps, both.instances, both.wall_seconds, both.sizes), (150, 9_600, 90.0, [20, 100]));
    let first = &both.stretches[0];
    assert_eq!((first.config.as_str(), first.hardware.as_str(), first.steps), ("(unrecorded)", "(unrecorded)", 100));
    assert_eq!(both.stretches[1].config, "next");
}
