//! POMO's instance normalisation as one CPU op (`model::norm_host`) against
//! Burn's form of the same formula: values and gradients.

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor, TensorData};

use lrm::model::norm_host::instance_norm;

use crate::common::{assert_matches_burn, values};

type Ad = Autodiff<Flex>;

/// Burn's form: each channel over the nodes, biased variance, the affine map.
fn reference(x: Tensor<Ad, 3>, gamma: Tensor<Ad, 1>, beta: Tensor<Ad, 1>, epsilon: f64) -> Tensor<Ad, 3> {
    let mean = x.clone().mean_dim(1);
    let centred = x - mean;
    let variance = centred.clone().square().mean_dim(1);
    centred / (variance + epsilon).sqrt() * gamma.unsqueeze::<3>() + beta.unsqueeze::<3>()
}

#[test]
fn the_fused_instance_norm_gives_burns_values_and_gradients() {
    let device = Default::default();
    for [batch, nodes, d] in [[3, 7, 8], [2, 51, 128]] {
        // Channels with offsets and scales far from 0 and 1, as between layers.
        let x = Tensor::<Flex, 3>::random([batch, nodes, d], Distribution::Normal(0.5, 3.0), &device);
        let gamma = Tensor::<Flex, 1>::random([d], Distribution::Normal(1.0, 0.5), &device);
        let beta = Tensor::<Flex, 1>::random([d], Distribution::Normal(0.0, 0.5), &device);
        let upstream = Tensor::<Flex, 3>::random([batch, nodes, d], Distribution::Normal(0.0, 1.0), &device);
        let fused_inference = instance_norm(&x, &gamma, &beta, 1e-5).expect("applies on Flex");
        let mut outputs = vec![];
        let mut grads = vec![];
        for fused in [true, false] {
            let track = |t: Tensor<Flex, 3>| Tensor::<Ad, 3>::from_inner(t).require_grad();
            let (x, gamma, beta) =
                (track(x.clone()), Tensor::<Ad, 1>::from_inner(gamma.clone()).require_grad(), Tensor::<Ad, 1>::from_inner(beta.clone()).require_grad());
            let y = if fused {
                instance_norm(&x, &gamma, &beta, 1e-5).expect("applies on Autodiff<Flex>")
            } else {
                reference(x.clone(), gamma.clone(), beta.clone(), 1e-5)
            };
            outputs.push(values(y.clone().inner()));
            let g = (y * Tensor::from_inner(upstream.clone())).sum().backward();
            grads.push([values(x.grad(&g).unwrap()), values(gamma.grad(&g).unwrap()), values(beta.grad(&g).unwrap())]);
        }
        assert_matches_burn("inference", &values(fused_inference), &outputs[1], 1e-5);
        assert_matches_burn("y", &outputs[0], &outputs[1], 1e-5);
        for (k, name) in ["dx", "dgamma", "dbeta"].iter().enumerate() {
            assert_matches_burn(name, &grads[0][k], &grads[1][k], 1e-4);
        }
    }
}

#[test]
fn a_channel_constant_over_the_nodes_normalises_to_beta() {
    let device = Default::default();
    let x = Tensor::<Flex, 3>::from_data(TensorData::new(vec![2.0f32; 2 * 5 * 3], [2, 5, 3]), &device);
    let gamma = Tensor::<Flex, 1>::from_data(TensorData::new(vec![1.5f32, -1.0, 2.0], [3]), &device);
    let beta = Tensor::<Flex, 1>::from_data(TensorData::new(vec![0.25f32, 0.0, -3.0], [3]), &device);
    let y = values(instance_norm(&x, &gamma, &beta, 1e-5).unwrap());
    for row in y.chunks(3) {
        assert_eq!(row, [0.25, 0.0, -3.0]);
    }
}
