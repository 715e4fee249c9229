//! Choosing the next node from the policy's log-probabilities: greedily, or by
//! sampling with a temperature, top-k and top-p (nucleus) filtering. And the
//! sampling strategy itself: N samples per instance, the best kept.
//!
//! Searches choose on the host from one row per rollout, with the env's mask
//! (or a stricter one of their own): a masked node is never chosen, whatever
//! the numbers say. Plain greedy rollouts choose on the device (`Batch::construct`).
//! Ties go to the lowest node index either way, so greedy, beam width 1 and
//! the greedy rollout of every other strategy agree.

use std::cell::RefCell;

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{best_of, runner::Batch, Outcome};
use crate::error::Result;
use crate::model::host_kernels::{exp_non_positive, max_allowed, Simd};
use burn::tensor::backend::Backend;

pub type Rng = ChaCha8Rng;

pub fn rng(seed: u64) -> Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// How samples are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// Samples per instance (per augmentation copy).
    pub samples: usize,
    /// Divides the logits: below 1 sharper, above 1 flatter.
    pub temperature: f64,
    /// Keep only the k most probable nodes (0: all).
    pub top_k: usize,
    /// Keep the most probable nodes whose mass first reaches p (1: all).
    pub top_p: f64,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling { samples: 16, temperature: 1.0, top_k: 0, top_p: 1.0 }
    }
}

impl Sampling {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return Err(format!("temperature {}: must be positive", self.temperature));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(format!("top-p {}: must lie in (0, 1]", self.top_p));
        }
        Ok(())
    }
}

/// How a decoding picks each next node.
pub enum Selector<'a> {
    Greedy,
    Sample { sampling: &'a Sampling, rng: &'a mut Rng },
}

impl Selector<'_> {
    /// One node among those `allowed` (at least one must be), from its row of log-probabilities.
    pub fn choose(&mut self, log_p: &[f32], allowed: &[bool]) -> usize {
        match self {
            Selector::Greedy => argmax(log_p, allowed),
            Selector::Sample { sampling, rng } => sample(log_p, allowed, sampling, rng),
        }
    }
}

/// The allowed node of highest log-probability, the lowest index on ties.
pub fn argmax(log_p: &[f32], allowed: &[bool]) -> usize {
    let mut best: Option<usize> = None;
    for (j, &ok) in allowed.iter().enumerate() {
        if ok && best.is_none_or(|b| log_p[j] > log_p[b]) {
            best = Some(j);
        }
    }
    best.expect("a decoding step with no allowed node")
}

fn sample(log_p: &[f32], allowed: &[bool], s: &Sampling, rng: &mut Rng) -> usize {
    if s.top_k == 0 && s.top_p >= 1.0 {
        return sample_unfiltered(log_p, allowed, s.temperature, rng);
    }
    let mut candidates: Vec<(usize, f64)> = allowed.iter().enumerate().filter(|(_, &ok)| ok).map(|(j, _)| (j, log_p[j] as f64 / s.temperature)).collect();
    assert!(!candidates.is_empty(), "a decoding step with no allowed node");
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    if s.top_k > 0 {
        candidates.truncate(s.top_k);
    }
    let top = candidates[0].1;
    let mut weights: Vec<f64> = candidates.iter().map(|c| (c.1 - top).exp()).collect();
    let total: f64 = weights.iter().sum();
    if s.top_p < 1.0 {
        let mut mass = 0.0;
        let keep = weights.iter().take_while(|&&w| {
            let before = mass;
            mass += w / total;
            before < s.top_p
        });
        let keep = keep.count().max(1);
        weights.truncate(keep);
    }
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (c, w) in candidates.iter().zip(&weights) {
        if u < *w {
            return c.0;
        }
        u -= w;
    }
    candidates[weights.len() - 1].0
}

thread_local! {
    /// [`sample_unfiltered`]'s weights, kept between calls: training draws
    /// for every rollout at every step.
    static WEIGHTS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Every allowed node in index order, weighted by `exp((log_p - max) / temperature)`:
/// the same distribution as the filtered path without its sort (training
/// samples every step of every rollout this way). The weights are computed
/// in one vectorised pass ([`sampling_weights`]).
fn sample_unfiltered(log_p: &[f32], allowed: &[bool], temperature: f64, rng: &mut Rng) -> usize {
    assert_eq!(log_p.len(), allowed.len(), "one mask entry per node");
    WEIGHTS.with_borrow_mut(|weights| {
        weights.resize(log_p.len(), 0.0);
        // Below about 3e-39 the inverse would overflow f32: as sharp as f32 gets.
        let inverse_temperature = (1.0 / temperature).min(f64::from(f32::MAX)) as f32;
        let (top, total) = sampling_weights(Simd::detect(), log_p, allowed, inverse_temperature, weights);
        if !top.is_finite() || !total.is_finite() {
            // A row without finite log-probabilities (a forward pass that blew
            // up): no distribution to draw from; the trainer skips such a step.
            return allowed.iter().position(|&a| a).expect("a decoding step with no allowed node");
        }
        let mut u = rng.random::<f64>() * total;
        // Masked nodes weigh 0: never chosen.
        for (j, &w) in weights.iter().enumerate() {
            let w = f64::from(w);
            if u < w {
                return j;
            }
            u -= w;
        }
        // Rounding (the total summed in another order, both in f64) left `u`
        // at or above the last weight: the last allowed node.
        allowed.iter().rposition(|&a| a).expect("an allowed node")
    })
}

/// `weights[j] = exp((log_p[j] - max) * inverse_temperature)` on the allowed
/// nodes, `max` the largest of their log-probabilities, and 0 elsewhere;
/// returns `max` (`-inf` when no node is allowed, or every allowed entry is
/// `-inf` or NaN) and the weights' sum in f64 (the sampling walk's
/// precision, so that a draw does not run past the last weight). Branch-free
/// `exp` ([`exp_non_positive`]: weights below `e^-87` come out about 1e-38)
/// and 16 lanes of sums, compiled for the CPU's vector instructions ([`Simd`]).
fn sampling_weights(simd: Simd, log_p: &[f32], allowed: &[bool], inverse_temperature: f32, weights: &mut [f32]) -> (f32, f64) {
    match simd {
        // SAFETY: `Simd::detect` found these instructions on this CPU.
        #[cfg(target_arch = "x86_64")]
        Simd::Avx512 => unsafe { sampling_weights_avx512(log_p, allowed, inverse_temperature, weights) },
        #[cfg(target_arch = "x86_64")]
        Simd::Avx2 => unsafe { sampling_weights_avx2(log_p, allowed, inverse_temperature, weights) },
        _ => sampling_weights_inner(log_p, allowed, inverse_temperature, weights),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn sampling_weights_avx512(log_p: &[f32], allowed: &[bool], inverse_temperature: f32, weights: &mut [f32]) -> (f32, f64) {
    sampling_weights_inner(log_p, allowed, inverse_temperature, weights)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sampling_weights_avx2(log_p: &[f32], allowed: &[bool], inverse_temperature: f32, weights: &mut [f32]) -> (f32, f64) {
    sampling_weights_inner(log_p, allowed, inverse_temperature, weights)
}

#[inline(always)]
fn sampling_weights_inner(log_p: &[f32], allowed: &[bool], inverse_temperature: f32, weights: &mut [f32]) -> (f32, f64) {
    let max = max_allowed(log_p, allowed);
    let weight = |l: f32, a: bool| if a { exp_non_positive((l - max) * inverse_temperature) } else { 0.0 };
    let mut lanes = [0.0f64; 16];
    let mut rows = weights.chunks_exact_mut(16).zip(log_p.chunks_exact(16).zip(allowed.chunks_exact(16)));
    for (w, (l, a)) in &mut rows {
        for k in 0..16 {
            w[k] = weight(l[k], a[k]);
            lanes[k] += f64::from(w[k]);
        }
    }
    let done = log_p.len() - log_p.len() % 16;
    let mut total: f64 = lanes.iter().sum();
    for j in done..log_p.len() {
        weights[j] = weight(log_p[j], allowed[j]);
        total += f64::from(weights[j]);
    }
    (max, total)
}

/// `sampling.samples` sampled rollouts per instance (and augmentation copy), the best kept.
pub fn decode<B: Backend>(batch: &Batch<B>, sampling: &Sampling, rng: &mut Rng) -> Result<Vec<Outcome>> {
    let mut env = batch.env(sampling.samples);
    batch.construct(&mut env, &mut Selector::Sample { sampling, rng })?;
    Ok(best_of(batch.originals(), &env, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_respect_the_mask_and_the_filters() {
        let log_p = [-0.1f32, -1.0, -3.0, -0.5, -9.0];
        let allowed = [false, true, true, true, true];
        assert_eq!(argmax(&log_p, &allowed), 3);
        assert_eq!(argmax(&[-1.0, -1.0, -2.0], &[true, true, true]), 0, "ties go to the lowest index");
        let mut r = rng(7);
        let top1 = Sampling { top_k: 1, ..Sampling::default() };
        let nucleus = Sampling { top_p: 0.5, ..Sampling::default() };
        let cold = Sampling { temperature: 1e-3, ..Sampling::default() };
        for _ in 0..200 {
            assert_ne!(sample(&log_p, &allowed, &Sampling::default(), &mut r), 0);
            assert_eq!(sample(&log_p, &allowed, &top1, &mut r), 3);
            assert_eq!(sample(&log_p, &allowed, &nucleus, &mut r), 3, "node 3 alone holds over half the allowed mass");
            assert_eq!(sample(&log_p, &allowed, &cold, &mut r), 3);
        }
        let counts = (0..4000).fold([0usize; 5], |mut c, _| {
            c[sample(&log_p, &allowed, &Sampling::default(), &mut r)] += 1;
            c
        });
        // Renormalised over the allowed nodes: p(3) = e^-0.5 / (e^-1 + e^-3 + e^-0.5 + e^-9) ~ 0.59.
        let p3 = counts[3] as f64 / 4000.0;
        assert!((p3 - 0.59).abs() < 0.03, "{counts:?}");
        // The filtered path with filters that keep everything draws from the same distribution.
        let open = Sampling { top_k: 5, ..Sampling::default() };
        let filtered = (0..4000).fold([0usize; 5], |mut c, _| {
            c[sample(&log_p, &allowed, &open, &mut r)] += 1;
            c
        });
        for j in 1..5 {
            let (a, b) = (counts[j] as f64 / 4000.0, filtered[j] as f64 / 4000.0);
            assert!((a - b).abs() < 0.035, "node {j}: {counts:?} against {filtered:?}");
        }
        // Half the temperature squares the odds: p(3) = e^-1 / (e^-2 + e^-6 + e^-1 + e^-18) ~ 0.73.
        let sharp = Sampling { temperature: 0.5, ..Sampling::default() };
        let hits = (0..4000).filter(|_| sample(&log_p, &allowed, &sharp, &mut r) == 3).count();
        assert!((hits as f64 / 4000.0 - 0.73).abs() < 0.03, "{hits}");
        // A row with no finite log-probability, or with a NaN, gives the first allowed node, no panic.
        assert_eq!(sample(&[f32::NAN; 3], &[false, true, true], &Sampling::default(), &mut r), 1);
        assert_eq!(sample(&[-1.0, -0.5, f32::NAN, -2.0], &[false, true, true, true], &Sampling::default(), &mut r), 1);
        // A temperature whose inverse overflows f32 still picks the most probable node.
        let frozen = Sampling { temperature: 1e-300, ..Sampling::default() };
        assert!((0..200).all(|_| sample(&log_p, &allowed, &frozen, &mut r) == 3));
    }

    #[test]
    fn sampling_weights_are_the_shifted_exponentials_on_every_instruction_set() {
        // 37 entries: two whole vectors and a tail; every third one masked.
        let log_p: Vec<f32> = (0..37).map(|j| -0.37 * j as f32 + if j == 20 { 9.0 } else { 0.0 }).collect();
        let allowed: Vec<bool> = (0..37).map(|j| j % 3 != 1).collect();
        for simd in Simd::available() {
            let mut weights = vec![f32::NAN; 37];
            let (max, total) = sampling_weights(simd, &log_p, &allowed, 0.5, &mut weights);
            assert_eq!(max, log_p[20], "{simd:?}: the largest allowed entry");
            for j in 0..37 {
                let expected = if allowed[j] { ((f64::from(log_p[j]) - f64::from(max)) * 0.5).exp() } else { 0.0 };
                assert!((f64::from(weights[j]) - expected).abs() <= 1e-6 * expected.max(1e-30), "{simd:?}, node {j}: {} against {expected}", weights[j]);
            }
            let sum: f64 = weights.iter().map(|&w| f64::from(w)).sum();
            assert!((total - sum).abs() < 1e-12, "{simd:?}: the total is the weights' sum");
        }
    }
}
