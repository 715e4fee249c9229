//! Linear layers at inference on the CPU as row blocks (`model::linear_host`)
//! against Burn's `linear`: the same values to the bit, with and without a
//! bias, for row counts that fill no block exactly; Burn's form elsewhere.

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};

use lrm::model::linear_host::linear;

use crate::common::values;

#[test]
fn row_blocks_give_burns_linear_to_the_bit() {
    let device = Default::default();
    for [rows, k, n] in [[1, 3, 5], [511, 128, 128], [513, 128, 128], [1025, 512, 128], [1100, 128, 512], [3264, 512, 128], [600, 2048, 64]] {
        let x = Tensor::<Flex, 2>::random([rows, k], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<Flex, 2>::random([k, n], Distribution::Normal(0.0, 0.1), &device);
        let b = Tensor::<Flex, 1>::random([n], Distribution::Normal(0.0, 1.0), &device);
        for bias in [Some(&b), None] {
            let mine = values(linear(&x, &w, bias).expect("applies on Flex"));
            let burn = values(burn::tensor::module::linear(x.clone(), w.clone(), bias.cloned()));
            assert_eq!(mine, burn, "{rows} x {k} x {n}, bias {}", bias.is_some());
        }
    }
}

#[test]
fn training_and_mismatched_shapes_take_burns_form() {
    let device = Default::default();
    let x = Tensor::<Autodiff<Flex>, 2>::ones([4, 3], &device);
    let w = Tensor::<Autodiff<Flex>, 2>::ones([3, 2], &device);
    assert!(linear(&x, &w, None).is_none(), "autodiff keeps Burn's linear and its backward pass");
    let (x, w) = (Tensor::<Flex, 2>::ones([4, 3], &device), Tensor::<Flex, 2>::ones([2, 2], &device));
    assert!(linear(&x, &w, None).is_none(), "Burn's form reports the mismatch");
}
