//! Multi-head attention's core as one CPU op (`model::attention_host`)
//! against Burn's form of the same formula: values and gradients.

use burn::backend::{Autodiff, Flex};
use burn::tensor::activation::softmax;
use burn::tensor::{Distribution, Tensor};

use lrm::model::attention_host::attention;

use crate::common::{assert_matches_burn, values};

type Ad = Autodiff<Flex>;

/// Burn's form: split the heads, scaled scores, softmax, weighted values, merge.
fn reference(q: Tensor<Ad, 3>, k: Tensor<Ad, 3>, v: Tensor<Ad, 3>, heads: usize) -> Tensor<Ad, 3> {
    let [batch, queries, d] = q.dims();
    let split = |x: Tensor<Ad, 3>| {
        let [b, n, _] = x.dims();
        x.reshape([b, n, heads, d / heads]).swap_dims(1, 2)
    };
    let scores = split(q).matmul(split(k).swap_dims(2, 3)) / ((d / heads) as f64).sqrt();
    softmax(scores, 3).matmul(split(v)).swap_dims(1, 2).reshape([batch, queries, d])
}

#[test]
fn the_fused_attention_gives_burns_values_and_gradients() {
    let device = Default::default();
    // Self-attention as POMO's encoder (51 nodes, 8 heads of 16), a small odd
    // case, and cross-attention with fewer keys than queries.
    for ([batch, queries, keys, d], heads) in [([2, 51, 51, 128], 8), ([3, 7, 7, 12], 3), ([2, 9, 4, 16], 4)] {
        let random = |n: usize, sd: f64| Tensor::<Flex, 3>::random([batch, n, d], Distribution::Normal(0.0, sd), &device);
        // Scores spread over a few units, as trained attention's are.
        let (q, k, v, upstream) = (random(queries, 2.0), random(keys, 2.0), random(keys, 1.0), random(queries, 1.0));
        let fused_inference = attention(&q, &k, &v, heads).expect("applies on Flex");
        let mut outputs = vec![];
        let mut grads = vec![];
        for fused in [true, false] {
            let track = |t: &Tensor<Flex, 3>| Tensor::<Ad, 3>::from_inner(t.clone()).require_grad();
            let (qa, ka, va) = (track(&q), track(&k), track(&v));
            let out =
                if fused { attention(&qa, &ka, &va, heads).expect("applies on Autodiff<Flex>") } else { reference(qa.clone(), ka.clone(), va.clone(), heads) };
            outputs.push(values(out.clone().inner()));
            let g = (out * Tensor::from_inner(upstream.clone())).sum().backward();
            grads.push([values(qa.grad(&g).unwrap()), values(ka.grad(&g).unwrap()), values(va.grad(&g).unwrap())]);
        }
        assert_matches_burn("inference", &values(fused_inference), &outputs[1], 1e-5);
        assert_matches_burn("out", &outputs[0], &outputs[1], 1e-5);
        for (k, name) in ["dq", "dk", "dv"].iter().enumerate() {
            assert_matches_burn(name, &grads[0][k], &grads[1][k], 1e-4);
        }
    }
}

#[test]
fn a_query_that_matches_one_key_far_better_takes_its_value() {
    let device = Default::default();
    // One head of width 2; the query points along key 1 with a large margin.
    let q = Tensor::<Flex, 3>::from_floats([[[40.0, 0.0]]], &device);
    let k = Tensor::<Flex, 3>::from_floats([[[0.0, 1.0], [1.0, 0.0], [-1.0, 0.0]]], &device);
    let v = Tensor::<Flex, 3>::from_floats([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], &device);
    let out = values(attention(&q, &k, &v, 1).unwrap());
    assert!((out[0] - 3.0).abs() < 1e-6 && (out[1] - 4.0).abs() < 1e-6, "{out:?}");
}
