//! SVD node features of a distance matrix (RADAR): the truncated SVD of the
//! z-scored matrix, `M ~ U S V^T`, gives node `i` the features
//! `[U_i sqrt(S) | V_i sqrt(S)]`, its outgoing and incoming sides.
//!
//! Computed in f64 on the host by nalgebra, so that no backend needs an SVD.
//! Signs are fixed (each `u` sums to a non-negative value) so that the same
//! matrix always gives the same features.

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
/// left vectors, singular values (descending), right vectors. The SVD is
/// nalgebra's (Golub-Kahan); each pair of vectors is signed so that the left
/// one sums to a non-negative value.
pub fn truncated_svd(m: &[f64], n: usize, k: usize) -> (Vec<Vec<f64>>, Vec<f64>, Vec<Vec<f64>>) {
    let svd = nalgebra::DMatrix::from_row_slice(n, n, m).svd(true, true);
    let (u, v_t) = (svd.u.expect("asked for U"), svd.v_t.expect("asked for V^T"));
    let mut out = (vec![], vec![], vec![]);
    for c in 0..k {
        let sign = if u.column(c).sum() < 0.0 { -1.0 } else { 1.0 };
        out.0.push(u.column(c).iter().map(|e| sign * e).collect());
        out.1.push(svd.singular_values[c]);
        out.2.push(v_t.row(c).iter().map(|e| sign * e).collect());
    }
    out
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

    #[test]
    fn leading_triplets_satisfy_m_v_equals_sigma_u_on_a_full_matrix() {
        // A dense 51 x 51 matrix whose 8th and 9th singular values are 0.3%
        // apart: the 200 steps of subspace iteration used before 2026-12-03
        // left such pairs mixed (on random matrices its features were off by
        // up to 2.7 at 51 nodes).
        let n = 51;
        let m: Vec<f64> = (0..n * n).map(|e| ((e * 7919) % 1009) as f64 / 1009.0).collect();
        let (u, s, v) = truncated_svd(&m, n, 10);
        assert!(s.windows(2).all(|w| w[0] >= w[1]), "descending: {s:?}");
        for c in 0..10 {
            for i in 0..n {
                let mv: f64 = (0..n).map(|j| m[i * n + j] * v[c][j]).sum();
                assert!((mv - s[c] * u[c][i]).abs() < 1e-9, "triplet {c}, row {i}: {mv} vs {}", s[c] * u[c][i]);
            }
            assert!(u[c].iter().sum::<f64>() >= 0.0, "signed so that u sums to a non-negative value");
        }
    }
}
