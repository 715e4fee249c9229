//! The seed papers' scaling laws, fitted by least squares in log space:
//! - a power law `y = (x_c / x)^alpha` (LRM-1B: gap against parameters or trajectories);
//! - a shifted power law `y = a x^-b + c` (decoder scaling: gap against time);
//! - a bivariate law `y = K D^-beta_d W^-beta_w` (decoder scaling: depth and width).
//!
//! Every fit reports R^2 (in log space for the power laws, as the papers fit
//! them), the mean absolute percentage error in the original space, and a
//! 95% confidence half-width for each exponent from the regression's standard error.

use serde::Serialize;

/// `y = (x_c / x)^alpha`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PowerLaw {
    pub alpha: f64,
    pub x_c: f64,
    pub r2: f64,
    pub mape: f64,
    /// 95% confidence half-width of `alpha`.
    pub alpha_ci: f64,
}

impl PowerLaw {
    pub fn eval(&self, x: f64) -> f64 {
        (self.x_c / x).powf(self.alpha)
    }
}

/// `y = a x^-b + c`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShiftedPowerLaw {
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub r2: f64,
    pub mape: f64,
}

impl ShiftedPowerLaw {
    pub fn eval(&self, x: f64) -> f64 {
        self.a * x.powf(-self.b) + self.c
    }
}

/// `y = K D^-beta_d W^-beta_w`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bivariate {
    pub k: f64,
    pub beta_d: f64,
    pub beta_w: f64,
    pub r2: f64,
    pub mape: f64,
}

/// Ordinary least squares `y = c0 + c1 x1 + ...` on rows `[x1, x2, ...]`:
/// coefficients, R^2 and the standard error of each coefficient.
fn least_squares(rows: &[Vec<f64>], y: &[f64]) -> Option<(Vec<f64>, f64, Vec<f64>)> {
    let k = rows.first()?.len() + 1;
    let n = y.len();
    if n < k {
        return None;
    }
    let design: Vec<Vec<f64>> = rows.iter().map(|r| std::iter::once(1.0).chain(r.iter().copied()).collect()).collect();
    let mut xtx = vec![vec![0.0; k]; k];
    let mut xty = vec![0.0; k];
    for (row, &yi) in design.iter().zip(y) {
        for i in 0..k {
            xty[i] += row[i] * yi;
            for j in 0..k {
                xtx[i][j] += row[i] * row[j];
            }
        }
    }
    let inverse = invert(xtx)?;
    let coef: Vec<f64> = (0..k).map(|i| (0..k).map(|j| inverse[i][j] * xty[j]).sum()).collect();
    let fitted: Vec<f64> = design.iter().map(|r| r.iter().zip(&coef).map(|(a, b)| a * b).sum()).collect();
    let mean = y.iter().sum::<f64>() / n as f64;
    let ss_res: f64 = y.iter().zip(&fitted).map(|(a, b)| (a - b).powi(2)).sum();
    let ss_tot: f64 = y.iter().map(|a| (a - mean).powi(2)).sum();
    let r2 = if ss_tot > 0.0 { 1.0 - ss_res / ss_tot } else { 1.0 };
    let sigma2 = if n > k { ss_res / (n - k) as f64 } else { 0.0 };
    let se = (0..k).map(|i| (sigma2 * inverse[i][i]).max(0.0).sqrt()).collect();
    Some((coef, r2, se))
}

/// Gauss-Jordan inverse of a small matrix; `None` when singular.
fn invert(mut m: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let k = m.len();
    let mut inv: Vec<Vec<f64>> = (0..k).map(|i| (0..k).map(|j| (i == j) as u8 as f64).collect()).collect();
    for col in 0..k {
        let pivot = (col..k).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, pivot);
        inv.swap(col, pivot);
        let p = m[col][col];
        for j in 0..k {
            m[col][j] /= p;
            inv[col][j] /= p;
        }
        for r in 0..k {
            if r != col {
                let f = m[r][col];
                for j in 0..k {
                    m[r][j] -= f * m[col][j];
                    inv[r][j] -= f * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

fn mape(y: &[f64], fitted: impl Iterator<Item = f64>) -> f64 {
    let errors: Vec<f64> = y.iter().zip(fitted).map(|(a, f)| ((a - f) / a).abs()).collect();
    100.0 * errors.iter().sum::<f64>() / errors.len().max(1) as f64
}

/// 1.96 standard errors: the normal approximation to a 95% interval.
const Z95: f64 = 1.96;

/// Fit `y = (x_c / x)^alpha` to points with positive `x` and `y`; `None` with
/// fewer than two usable points.
pub fn power_law(points: &[(f64, f64)]) -> Option<PowerLaw> {
    let pts: Vec<(f64, f64)> = points.iter().copied().filter(|&(x, y)| x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite()).collect();
    let rows: Vec<Vec<f64>> = pts.iter().map(|p| vec![p.0.ln()]).collect();
    let y: Vec<f64> = pts.iter().map(|p| p.1.ln()).collect();
    let (coef, r2, se) = least_squares(&rows, &y)?;
    let alpha = -coef[1];
    let x_c = if alpha != 0.0 { (coef[0] / alpha).exp() } else { f64::NAN };
    let law = PowerLaw { alpha, x_c, r2, mape: 0.0, alpha_ci: Z95 * se[1] };
    let mape = mape(&pts.iter().map(|p| p.1).collect::<Vec<_>>(), pts.iter().map(|p| law.eval(p.0)));
    Some(PowerLaw { mape, ..law })
}

/// Fit `y = a x^-b + c` with `0 <= c < min(y)`: for each `c` on a fine grid,
/// a power law on `y - c`; the `c` of least squared error in the original space.
pub fn shifted_power_law(points: &[(f64, f64)]) -> Option<ShiftedPowerLaw> {
    let pts: Vec<(f64, f64)> = points.iter().copied().filter(|&(x, y)| x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite()).collect();
    let lowest = pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let fit_at = |c: f64| -> Option<(f64, ShiftedPowerLaw)> {
        let rows: Vec<Vec<f64>> = pts.iter().map(|p| vec![p.0.ln()]).collect();
        let y: Vec<f64> = pts.iter().map(|p| (p.1 - c).ln()).collect();
        let (coef, _, _) = least_squares(&rows, &y)?;
        let law = ShiftedPowerLaw { a: coef[0].exp(), b: -coef[1], c, r2: 0.0, mape: 0.0 };
        let sse: f64 = pts.iter().map(|p| (p.1 - law.eval(p.0)).powi(2)).sum();
        Some((sse, law))
    };
    let mut best: Option<(f64, ShiftedPowerLaw)> = None;
    let (mut lo, mut hi) = (0.0, lowest);
    for _ in 0..4 {
        let step = (hi - lo) / 200.0;
        for i in 0..200 {
            if let Some((sse, law)) = fit_at(lo + step * i as f64) {
                if best.as_ref().is_none_or(|b| sse < b.0) {
                    best = Some((sse, law));
                }
            }
        }
        let c = best.as_ref()?.1.c;
        (lo, hi) = ((c - step).max(0.0), (c + step).min(lowest * (1.0 - 1e-12)));
    }
    let (sse, law) = best?;
    let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let mean = ys.iter().sum::<f64>() / ys.len() as f64;
    let ss_tot: f64 = ys.iter().map(|y| (y - mean).powi(2)).sum();
    let r2 = if ss_tot > 0.0 { 1.0 - sse / ss_tot } else { 1.0 };
    let mape = mape(&ys, pts.iter().map(|p| law.eval(p.0)));
    Some(ShiftedPowerLaw { r2, mape, ..law })
}

/// Fit `y = K D^-beta_d W^-beta_w` to `(D, W, y)` points.
pub fn bivariate(points: &[(f64, f64, f64)]) -> Option<Bivariate> {
    let pts: Vec<(f64, f64, f64)> = points.iter().copied().filter(|&(d, w, y)| d > 0.0 && w > 0.0 && y > 0.0).collect();
    let rows: Vec<Vec<f64>> = pts.iter().map(|p| vec![p.0.ln(), p.1.ln()]).collect();
    let y: Vec<f64> = pts.iter().map(|p| p.2.ln()).collect();
    let (coef, r2, _) = least_squares(&rows, &y)?;
    let law = Bivariate { k: coef[0].exp(), beta_d: -coef[1], beta_w: -coef[2], r2, mape: 0.0 };
    let mape = mape(&pts.iter().map(|p| p.2).collect::<Vec<_>>(), pts.iter().map(|p| law.k * p.0.powf(-law.beta_d) * p.1.powf(-law.beta_w)));
    Some(Bivariate { mape, ..law })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_power_law_fitter_recovers_known_exponents() {
        let points: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 800.0].iter().map(|&t| (t, (3.0f64 / t).powf(0.066))).collect();
        let law = power_law(&points).unwrap();
        assert!((law.alpha - 0.066).abs() < 0.066 * 0.01 && (law.x_c - 3.0).abs() < 0.03, "{law:?}");
        assert!(law.r2 > 0.9999 && law.mape < 1e-6 && law.alpha_ci < 1e-6, "{law:?}");
        // With noise the exponent stays within its interval.
        let noisy: Vec<(f64, f64)> = points.iter().enumerate().map(|(i, &(x, y))| (x, y * (1.0 + 0.01 * if i % 2 == 0 { 1.0 } else { -1.0 }))).collect();
        let law = power_law(&noisy).unwrap();
        assert!((law.alpha - 0.066).abs() < law.alpha_ci.max(0.01), "{law:?}");
        assert!(power_law(&[(1.0, 1.0)]).is_none());
    }

    #[test]
    fn the_shifted_law_recovers_a_b_and_c() {
        let points: Vec<(f64, f64)> = (0..12).map(|i| 0.1 * 1.6f64.powi(i)).map(|t| (t, 2.5 * t.powf(-0.7) + 0.8)).collect();
        let law = shifted_power_law(&points).unwrap();
        assert!((law.a - 2.5).abs() < 0.025 && (law.b - 0.7).abs() < 0.007 && (law.c - 0.8).abs() < 0.008, "{law:?}");
        assert!(law.r2 > 0.9999, "{law:?}");
    }

    #[test]
    fn the_bivariate_law_recovers_depth_and_width_exponents() {
        let mut points = vec![];
        for d in [6.0, 12.0, 24.0, 42.0] {
            for w in [128.0, 256.0, 512.0] {
                points.push((d, w, 40.0 * f64::powf(d, -1.0) * f64::powf(w, -0.3)));
            }
        }
        let law = bivariate(&points).unwrap();
        assert!((law.beta_d - 1.0).abs() < 0.01 && (law.beta_w - 0.3).abs() < 0.003 && (law.k - 40.0).abs() < 0.4, "{law:?}");
    }
}
