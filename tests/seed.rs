//! The same seed gives the same weights, and other threads drawing weights
//! meanwhile do not change them: Burn's random generator is global.

use burn::backend::Flex;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

use lrm::model::ModelConfig;

struct Collect(Vec<f32>);

impl ModuleVisitor<Flex> for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Flex, D>>) {
        self.0.extend(param.val().into_data().convert::<f32>().to_vec::<f32>().unwrap());
    }
}

fn small() -> ModelConfig {
    ModelConfig { d_model: 32, n_heads: 4, n_layers: 2, d_ff: 64, pointer_heads: 4, ..ModelConfig::preset("rf-te").unwrap() }
}

fn weights(seed: u64) -> Vec<f32> {
    let device = Default::default();
    let config = small();
    let mut collect = Collect(vec![]);
    config.init_seeded::<Flex>(seed, &device).visit(&mut collect);
    collect.0
}

#[test]
fn the_same_seed_gives_the_same_weights() {
    let (a, b, c) = (weights(42), weights(42), weights(43));
    assert!(a.len() > 10_000);
    assert!(a == b, "seed 42 twice gave different weights");
    assert!(a != c, "seeds 42 and 43 gave the same weights");
}

#[test]
fn models_drawn_on_other_threads_meanwhile_leave_a_seeded_model_alone() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let alone = weights(42);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                drop(small().init::<Flex>(&Default::default()));
            }
        });
        // The other thread stops before any assertion, so that a failure fails instead of hanging.
        let same = (0..20).all(|_| weights(42) == alone);
        stop.store(true, Ordering::Relaxed);
        assert!(same, "a model drawn on another thread took numbers from the seeded one");
    });
}
