//! SVD node features of a distance matrix (RADAR): the truncated SVD of the
//! z-scored matrix, `M ~ U S V^T`, gives node `i` the features
//! `[U_i sqrt(S) | V_i sqrt(S)]`, its outgoing and incoming sides.
//!
//! Computed in f64 on the host by subspace iteration on `M^T M`, so that no
//! backend needs an SVD. Signs are fixed (each `u` sums to a non-negative
//! value) so that the same matrix always gives the same features.

/// Iterations of subspace iteration; the gap between the k-th and (k+1)-th
/// singular values of these matrices makes far fewer enough.
const ITERATIONS: usize = 200;

/// `2 * rank` features per node of the row-major `nodes x nodes` matrix; nodes
/// beyond the matrix's own rank (small instances) get zeros there.
pub fn svd_features(matrix: &[f64], nodes: usize, rank: usize) -> Vec<Vec<f64>> {
    let m = z_score(matrix);
    let k = rank.min(nodes);
    let (u, sigma, v) = truncated_svd(&m, nodes, k);
    (0..nodes)
        .map(|i| {
            let mut f = vec![0.0; 2 * rank];
            for c in 0..k {
                let s = sigma[c].sqrt();
                f[c] = u[c][i] * s;
                f[rank + c] = v[c][i] * s;
            }
            f
        })
        .collect()
}

fn z_score(matrix: &[f64]) -> Vec<f64> {
    let len = matrix.len() as f64;
    let mean = matrix.iter().sum::<f64>() / len;
    let std = (matrix.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / len).sqrt();
    let std = if std > 1e-12 { std } else { 1.0 };
    matrix.iter().map(|x| (x - mean) / std).collect()
}

/// The `k` leading singular triplets of the square row-major matrix `m`:
/// left vectors, singular values (descending), right vectors.
pub fn truncated_svd(m: &[f64], n: usize, k: usize) -> (Vec<Vec<f64>>, Vec<f64>, Vec<Vec<f64>>) {
    // A fixed, generic start: column c of the identity plus a small spread.
    let start = |c: usize| -> Vec<f64> { (0..n).map(|i| if i == c { 1.0 } else { 0.01 * ((i * 7 + c * 13) % 11) as f64 }).collect() };
    let mut v: Vec<Vec<f64>> = (0..k).map(start).collect();
    orthonormalise(&mut v);
    for _ in 0..ITERATIONS {
        v = v.iter().map(|x| mul_transpose(m, n, &mul(m, n, x))).collect();
        orthonormalise(&mut v);
    }
    let mut triplets: Vec<(Vec<f64>, f64, Vec<f64>)> = v
        .into_iter()
        .map(|x| {
            let mut u = mul(m, n, &x);
            let sigma = norm(&u);
            u.iter_mut().for_each(|e| *e /= sigma.max(1e-300));
            let (u, x) = if u.iter().sum::<f64>() < 0.0 { (u.iter().map(|e| -e).collect(), x.iter().map(|e| -e).collect()) } else { (u, x) };
            (u, sigma, x)
        })
        .collect();
    triplets.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = (vec![], vec![], vec![]);
    for (u, s, x) in triplets {
        out.0.push(u);
        out.1.push(s);
        out.2.push(x);
    }
    out
}

fn mul(m: &[f64], n: usize, x: &[f64]) -> Vec<f64> {
    (0..n).map(|i| m[i * n..(i + 1) * n].iter().zip(x).map(|(a, b)| a * b).sum()).collect()
}

fn mul_transpose(m: &[f64], n: usize, x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; n];
    for (i, &xi) in x.iter().enumerate() {
        for (o, a) in out.iter_mut().zip(&m[i * n..(i + 1) * n]) {
            *o += a * xi;
        }
    }
    out
}

fn norm(x: &[f64]) -> f64 {
    x.iter().map(|e| e * e).sum::<f64>().sqrt()
}

/// Modified Gram-Schmidt; a vector that vanishes is left at zero.
fn orthonormalise(vs: &mut [Vec<f64>]) {
    for c in 0..vs.len() {
        for p in 0..c {
            let dot: f64 = vs[c].iter().zip(&vs[p]).map(|(a, b)| a * b).sum();
            let prev = vs[p].clone();
            vs[c].iter_mut().zip(&prev).for_each(|(a, b)| *a -= dot * b);
        }
        let len = norm(&vs[c]);
        if len > 1e-300 {
            vs[c].iter_mut().for_each(|e| *e /= len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_decomposition() {
        // M = 5 a b^T + 2 c d^T with orthonormal a, c and b, d: singular values 5 and 2.
        let n = 4;
        let (a, c) = ([0.5, 0.5, 0.5, 0.5], [0.5, -0.5, 0.5, -0.5]);
        let (b, d) = ([0.5, 0.5, -0.5, -0.5], [0.5, -0.5, -0.5, 0.5]);
        let m: Vec<f64> = (0..n * n).map(|e| 5.0 * a[e / n] * b[e % n] + 2.0 * c[e / n] * d[e % n]).collect();
        let (u, s, v) = truncated_svd(&m, n, 3);
        assert!((s[0] - 5.0).abs() < 1e-9 && (s[1] - 2.0).abs() < 1e-9 && s[2].abs() < 1e-9, "{s:?}");
        for e in 0..n * n {
            let approx = s[0] * u[0][e / n] * v[0][e % n] + s[1] * u[1][e / n] * v[1][e % n];
            assert!((approx - m[e]).abs() < 1e-9);
        }
    }

    #[test]
    fn features_have_a_fixed_width_and_reconstruct_the_z_scored_matrix() {
        let n = 5;
        let m: Vec<f64> = (0..n * n).map(|e| if e / n == e % n { 0.0 } else { ((e * 37) % 17) as f64 }).collect();
        let f = svd_features(&m, n, 10);
        assert!(f.iter().all(|row| row.len() == 20));
        // With every singular direction kept, U sqrt(S) (V sqrt(S))^T is the z-scored matrix.
        let z = z_score(&m);
        for i in 0..n {
            for j in 0..n {
                let r: f64 = (0..n).map(|c| f[i][c] * f[j][10 + c]).sum();
                assert!((r - z[i * n + j]).abs() < 1e-6, "({i}, {j}): {r} vs {}", z[i * n + j]);
            }
        }
        assert_eq!(svd_features(&m, n, 10), f, "deterministic");
    }
}
