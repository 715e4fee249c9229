//! Growing a trained encoder (more layers, mixed scores): the grown model
//! computes what it did, to the bit, and grows only where an added layer can
//! start as the identity.

use burn::backend::Flex;
use burn::module::Module;

use lrm::model::blocks::{FeedForwardKind, NormKind};
use lrm::model::features::Features;
use lrm::model::{checkpoint, grow, ModelConfig, Policy};

use crate::checkpoint::log_probs;
use crate::common::small_config as small;
use crate::policy::instances;

type B = Flex;

fn layers(policy: &Policy<B>) -> usize {
    match policy {
        Policy::Pointer(p) => p.encoder.layers.len(),
        _ => panic!("an encoder + pointer policy"),
    }
}

/// The encoder's node embeddings `[batch, n + 1, d]`, flattened: what every
/// decoding step reads, not only the nodes a greedy rollout picks.
fn embeddings(policy: &Policy<B>, config: &ModelConfig) -> Vec<f32> {
    let Policy::Pointer(p) = policy else { panic!("an encoder + pointer policy") };
    let features = Features::<B>::for_model(&instances("VRPBLTW".parse().unwrap(), 9, 2), config, &Default::default());
    p.encoder.forward(&features).into_data().convert::<f32>().to_vec::<f32>().unwrap()
}

#[test]
fn added_layers_leave_the_log_probabilities_unchanged_to_the_bit() {
    let device = Default::default();
    let rf = small("rf-te");
    let cases = [
        ("rf-te", rf.clone()),
        ("rf-te, ReZero", ModelConfig { rezero: true, ..rf.clone() }),
        ("rf-te, gated attention", ModelConfig { gated_attention: true, ..rf.clone() }),
        ("rf-te, Sinkhorn attention", ModelConfig { sinkhorn_iterations: 3, ..rf.clone() }),
        (
            "rf-te, ReLU MLP, layer norm, no attention bias",
            ModelConfig { feed_forward: FeedForwardKind::ReluMlp, norm: NormKind::Layer, attention_bias: false, ..rf.clone() },
        ),
        ("pomo, ReZero", ModelConfig { rezero: true, ..small("pomo") }),
        ("pomo, no norm", ModelConfig { norm: NormKind::None, ..small("pomo") }),
        ("lrm-1m, ReZero", ModelConfig { rezero: true, ..small("lrm-1m") }),
    ];
    for (name, from) in cases {
        let policy = from.init::<B>(&device);
        let before = log_probs(&policy, &from);
        let embedded = embeddings(&policy, &from);
        let to = ModelConfig { n_layers: from.n_layers + 3, ..from.clone() };
        let grown = grow::grow(policy, &from, &to, &device).unwrap();
        assert_eq!(layers(&grown), 5, "{name}");
        assert_eq!(grown.num_params(), to.init::<B>(&device).num_params(), "{name}: a model of the deeper config");
        assert_eq!(log_probs(&grown, &to), before, "{name}");
        assert_eq!(embeddings(&grown, &to), embedded, "{name}: node embeddings");

        // It saves and loads as a model of the deeper config.
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("deepen");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name.replace([',', ' '], "-"));
        checkpoint::save(&grown, &to, &path).unwrap();
        let (loaded, card) = checkpoint::load::<B>(&path.with_extension("toml"), &device).unwrap();
        assert_eq!(card.model, to);
        assert_eq!(log_probs(&loaded, &to), before, "{name}, loaded");
    }
}

#[test]
fn a_model_that_an_added_layer_would_change_is_refused_with_the_reason() {
    let device = Default::default();
    let deeper = |c: &ModelConfig| ModelConfig { n_layers: c.n_layers + 1, ..c.clone() };
    let rf = small("rf-te");
    let cases = [
        (small("pomo"), deeper(&small("pomo")), "post-norm"),
        (small("lrm-1m"), deeper(&small("lrm-1m")), "spectral"),
        (small("deep-2x32"), deeper(&small("deep-2x32")), "encoder + pointer"),
        (small("rrnco"), deeper(&small("rrnco")), "encoder + pointer"),
        (rf.clone(), ModelConfig { d_model: 64, ..deeper(&rf) }, "only n_layers"),
        (rf.clone(), ModelConfig { n_layers: 1, ..rf.clone() }, "only n_layers"),
        (rf.clone(), rf.clone(), "only n_layers"),
    ];
    for (from, to, reason) in cases {
        let why = grow::refusal(&from, &to).unwrap_or_else(|| panic!("{from:?} -> {to:?} refused"));
        assert!(why.contains(reason) && why.contains(&format!("keep n_layers = {}", from.n_layers)), "{why}");
        let err = grow::grow(from.init::<B>(&device), &from, &to, &device).err().unwrap();
        assert_eq!(err, why);
    }
    assert_eq!(grow::refusal(&rf, &deeper(&rf)), None);
}

#[test]
fn added_mixed_scores_leave_the_log_probabilities_unchanged_to_the_bit() {
    let device = Default::default();
    let radar = small("radar");
    assert!(radar.mixed_score, "RADAR's encoder has MatNet's mixed scores");
    let rf = small("rf-te");
    let sinkhorn = ModelConfig { sinkhorn_iterations: 3, ..rf.clone() };
    let cases = [
        ("radar", ModelConfig { mixed_score: false, ..radar.clone() }, radar.clone()),
        // Sinkhorn, so that the plain attention takes Burn's form too (a softmax's fused CPU path rounds differently).
        ("rf-te, Sinkhorn, mixed scores and 2 more layers", sinkhorn.clone(), ModelConfig { mixed_score: true, n_layers: rf.n_layers + 2, ..sinkhorn.clone() }),
    ];
    for (name, from, to) in cases {
        let policy = from.init::<B>(&device);
        let (before, embedded) = (log_probs(&policy, &from), embeddings(&policy, &from));
        let grown = grow::grow(policy, &from, &to, &device).unwrap();
        assert_eq!(grown.num_params(), to.num_params(), "{name}: the config counts the grown parameters");
        assert_eq!(log_probs(&grown, &to), before, "{name}");
        assert_eq!(embeddings(&grown, &to), embedded, "{name}: node embeddings");
    }
    // Mixed scores never turn off, not even while layers are added.
    let mixed = ModelConfig { mixed_score: true, ..rf.clone() };
    for to in [rf.clone(), ModelConfig { n_layers: rf.n_layers + 1, ..rf.clone() }] {
        let why = grow::refusal(&mixed, &to).unwrap_or_else(|| panic!("{to:?}: mixed scores turned off"));
        assert!(why.contains("mixed_score"), "{why}");
    }
}
