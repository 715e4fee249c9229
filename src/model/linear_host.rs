//! Linear layers at inference on the CPU as row blocks in parallel.
//!
//! Burn 0.21's CPU matmul zero-fills its output and packs the whole input on
//! the calling thread before its parallel part, then adds the bias in a
//! second pass over the output: at 50 customers with every start and x8
//! augmentation, those copies and fills were a fifth of the encoder's time,
//! with the other core idle. Here each block of rows is one task: its
//! product (the same `gemm` call on fewer rows) and then its bias, while
//! the rows are in cache. `gemm` picks its blocking per call, so the sums
//! may run in another order than Burn's whole-matrix call; at the encoder's
//! sizes they are the same to the bit (`tests/model/linear_host.rs`).
//! Training (autodiff) keeps Burn's form, whose backward pass it needs.

use std::any::Any;

use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

use super::norm_host::Values;

/// Rows per task: enough for the gemm's blocking, few enough to spread.
const ROWS: usize = 512;

/// `x W + b` for `x` `[rows, d_input]` on the `Flex` backend; `None` on the
/// others (and under autodiff), which take Burn's `linear`.
///
/// # Shapes
/// `x`: `[rows, d_input]`, `weight`: `[d_input, d_output]`, `bias`: `[d_output]`; returns `[rows, d_output]`.
pub fn linear<B: Backend>(x: &Tensor<B, 2>, weight: &Tensor<B, 2>, bias: Option<&Tensor<B, 1>>) -> Option<Tensor<B, 2>> {
    let x = (x as &dyn Any).downcast_ref::<Tensor<Flex, 2>>()?;
    let weight = (weight as &dyn Any).downcast_ref::<Tensor<Flex, 2>>()?;
    let bias = match bias {
        Some(b) => Some((b as &dyn Any).downcast_ref::<Tensor<Flex, 1>>()?),
        None => None,
    };
    let ([rows, k], [k_weight, n]) = (x.dims(), weight.dims());
    if k != k_weight || bias.is_some_and(|b| b.dims() != [n]) || rows == 0 || k == 0 || n == 0 {
        return None; // Burn's form says what is wrong.
    }
    let (x, weight, bias) = (Values::of(x), Values::of(weight), bias.map(Values::of));
    let out = product(x.as_slice(), weight.as_slice(), bias.as_ref().map(|b| b.as_slice()), [rows, k, n]);
    let out: Box<dyn Any> = Box::new(Tensor::<Flex, 2>::from_data(TensorData::new(out, [rows, n]), &Default::default()));
    out.downcast::<Tensor<B, 2>>().ok().map(|t| *t)
}

/// `x [rows, k] * w [k, n] (+ b [n])`, row-major, blocks of [`ROWS`] rows
/// in parallel. The output is not zero-filled first: `gemm` overwrites
/// every entry of each block (`read_dst` false) before the bias is added.
fn product(x: &[f32], w: &[f32], bias: Option<&[f32]>, [rows, k, n]: [usize; 3]) -> Vec<f32> {
    assert!(x.len() == rows * k && w.len() == k * n && bias.is_none_or(|b| b.len() == n), "shapes checked by the caller");
    let mut out: Vec<f32> = Vec::with_capacity(rows * n);
    out.spare_capacity_mut()[..rows * n].par_chunks_mut(ROWS * n).enumerate().for_each(|(block, out)| {
        let count = out.len() / n;
        let x = &x[block * ROWS * k..(block * ROWS + count) * k];
        let out = out.as_mut_ptr().cast::<f32>();
        // SAFETY: `x` holds `count` rows of `k`, `w` `k` rows of `n`, `out`
        // `count` rows of `n`, all row-major and in bounds; `out` is a
        // `&mut` borrow, so it aliases neither input. With `read_dst` false
        // gemm only writes `out`, every entry of it, so the block is
        // initialised when it is read as a slice below.
        let out = unsafe {
            gemm::gemm(
                count,
                n,
                k,
                out,
                1,
                n as isize,
                false,
                x.as_ptr(),
                1,
                k as isize,
                w.as_ptr(),
                1,
                n as isize,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
            std::slice::from_raw_parts_mut(out, count * n)
        };
        if let Some(bias) = bias {
            for row in out.chunks_exact_mut(n) {
                for (o, &b) in row.iter_mut().zip(bias) {
                    *o += b;
                }
            }
        }
    });
    // SAFETY: every block, hence every entry, was written above.
    unsafe { out.set_len(rows * n) };
    out
}
