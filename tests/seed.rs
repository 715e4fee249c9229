//! The same seed gives the same weights. In its own process: Burn's random
//! generator is global, and tests running in parallel threads would draw from it.

use burn::backend::Flex;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use lrm::model::ModelConfig;

struct Collect(Vec<f32>);

impl ModuleVisitor<Flex> for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Flex, D>>) {
        self.0.extend(param.val().into_data().convert::<f32>().to_vec::<f32>().unwrap());
    }
}

fn weights(seed: u64) -> Vec<f32> {
    let device = Default::default();
    Flex::seed(&device, seed);
    let config = ModelConfig { d_model: 32, n_heads: 4, n_layers: 2, d_ff: 64, pointer_heads: 4, ..ModelConfig::preset("rf-te").unwrap() };
    let mut collect = Collect(vec![]);
    config.init::<Flex>(&device).visit(&mut collect);
    collect.0
}

#[test]
fn the_same_seed_gives_the_same_weights() {
    let (a, b, c) = (weights(42), weights(42), weights(43));
    assert!(a.len() > 10_000);
    assert!(a == b, "seed 42 twice gave different weights");
    assert!(a != c, "seeds 42 and 43 gave the same weights");
}
