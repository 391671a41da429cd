//! The calibration of authorship verification: a logistic model from pair features to
//! log-odds of one author, and its fit.

use super::StyleError;
use super::features::{N_FEATURES, PairFeatures, Reference};

/// A logistic model from [`PairFeatures`] to the log-odds that two profiles share an
/// author, fitted with both classes weighted equally: its log-odds are an estimate of the
/// log likelihood ratio, and its probability assumes even prior odds.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Intercept of the log-odds.
    pub intercept: f64,
    /// One weight per feature, in the order of [`FEATURE_NAMES`](super::FEATURE_NAMES).
    pub weights: [f64; N_FEATURES],
    /// The reference frequencies the standardised features use.
    pub reference: Reference,
}

impl Calibration {
    /// Log-odds of same authorship for given features.
    pub fn log_odds(&self, f: &PairFeatures) -> f64 {
        let z = self.intercept
            + self
                .weights
                .iter()
                .zip(&f.values)
                .map(|(w, x)| w * x)
                .sum::<f64>();
        if z.is_finite() {
            z.clamp(-50.0, 50.0)
        } else {
            0.0
        }
    }

    /// Fits a calibration to labelled pairs (`true` = same author, features computed with
    /// `reference`, see [`Reference::fit`]) by L2-regularised
    /// logistic regression (Newton's method on standardised features; `ridge` is the
    /// penalty on standardised weights, 1.0 is a fair default), with the two classes
    /// weighted equally. Errors when a class is missing or a feature is not finite.
    #[allow(clippy::needless_range_loop)] // matrix code reads best with indices
    pub fn fit(
        pairs: &[(PairFeatures, bool)],
        ridge: f64,
        reference: Reference,
    ) -> Result<Calibration, StyleError> {
        let pos = pairs.iter().filter(|p| p.1).count();
        let neg = pairs.len() - pos;
        if pos == 0 || neg == 0 {
            return Err(StyleError::Fit(format!(
                "need pairs of both classes, got {pos} same-author and {neg} different-author"
            )));
        }
        if let Some(i) = pairs
            .iter()
            .position(|p| p.0.values.iter().any(|v| !v.is_finite()))
        {
            return Err(StyleError::Fit(format!(
                "pair {i} has a non-finite feature"
            )));
        }
        if !(ridge.is_finite() && ridge >= 0.0) {
            return Err(StyleError::Fit(format!(
                "ridge must be finite and >= 0, got {ridge}"
            )));
        }
        const D: usize = N_FEATURES + 1;
        let n = pairs.len() as f64;
        let mut mean = [0.0; N_FEATURES];
        let mut sd = [0.0; N_FEATURES];
        for (f, _) in pairs {
            for k in 0..N_FEATURES {
                mean[k] += f.values[k] / n;
            }
        }
        for (f, _) in pairs {
            for k in 0..N_FEATURES {
                sd[k] += (f.values[k] - mean[k]).powi(2) / n;
            }
        }
        for s in sd.iter_mut() {
            *s = if *s > 1e-24 { s.sqrt() } else { 1.0 };
        }
        let x = |f: &PairFeatures| -> [f64; D] {
            let mut v = [1.0; D];
            for k in 0..N_FEATURES {
                v[k + 1] = (f.values[k] - mean[k]) / sd[k];
            }
            v
        };
        let (cw_pos, cw_neg) = (0.5 * n / pos as f64, 0.5 * n / neg as f64);
        let mut w = [0.0; D];
        for _ in 0..100 {
            let mut g = [0.0; D];
            let mut h = [[0.0; D]; D];
            for (f, y) in pairs {
                let xi = x(f);
                let z: f64 = w.iter().zip(&xi).map(|(a, b)| a * b).sum();
                let p = 1.0 / (1.0 + (-z).exp());
                let c = if *y { cw_pos } else { cw_neg };
                let r = c * ((*y as u8 as f64) - p);
                let s = c * p * (1.0 - p);
                for a in 0..D {
                    g[a] += r * xi[a];
                    for b in 0..D {
                        h[a][b] += s * xi[a] * xi[b];
                    }
                }
            }
            for a in 1..D {
                g[a] -= ridge * w[a];
                h[a][a] += ridge;
            }
            for (a, row) in h.iter_mut().enumerate() {
                row[a] += 1e-9; // keeps constant features from making the system singular
            }
            let step = solve(h, g).ok_or_else(|| StyleError::Fit("singular system".into()))?;
            let mut biggest: f64 = 0.0;
            for a in 0..D {
                w[a] += step[a];
                biggest = biggest.max(step[a].abs());
            }
            if biggest < 1e-10 {
                break;
            }
        }
        let mut weights = [0.0; N_FEATURES];
        let mut intercept = w[0];
        for k in 0..N_FEATURES {
            weights[k] = w[k + 1] / sd[k];
            intercept -= w[k + 1] * mean[k] / sd[k];
        }
        Ok(Calibration {
            intercept,
            weights,
            reference,
        })
    }
}

/// Gaussian elimination with partial pivoting; `None` when singular.
#[allow(clippy::needless_range_loop)]
fn solve<const D: usize>(mut a: [[f64; D]; D], mut b: [f64; D]) -> Option<[f64; D]> {
    for col in 0..D {
        let piv = (col..D).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        for row in col + 1..D {
            let m = a[row][col] / a[col][col];
            for k in col..D {
                a[row][k] -= m * a[col][k];
            }
            b[row] -= m * b[col];
        }
    }
    let mut out = [0.0; D];
    for row in (0..D).rev() {
        let s: f64 = (row + 1..D).map(|k| a[row][k] * out[k]).sum();
        out[row] = (b[row] - s) / a[row][row];
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_known_logistic_model() {
        // Labels drawn deterministically from a known model on one feature.
        let mut pairs = Vec::new();
        let mut state = 12345u64;
        for _ in 0..4000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = ((state >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0;
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let p = 1.0 / (1.0 + (-(3.0 * x - 1.0)).exp());
            let mut values = [0.0; N_FEATURES];
            values[0] = x;
            values[1] = (x * 7.0).sin(); // noise feature
            pairs.push((PairFeatures { values }, u < p));
        }
        let r = || Calibration::DEFAULT.reference.clone();
        let c = Calibration::fit(&pairs, 0.0, r()).unwrap();
        assert!((c.weights[0] - 3.0).abs() < 0.4, "{c:?}");
        assert!(c.weights[1].abs() < 0.4, "{c:?}");
        assert!(Calibration::fit(&pairs[..0], 1.0, r()).is_err());
        let one_class: Vec<_> = pairs.iter().filter(|p| p.1).cloned().collect();
        assert!(matches!(
            Calibration::fit(&one_class, 1.0, r()),
            Err(StyleError::Fit(_))
        ));
    }

    #[test]
    fn solve_solves() {
        let a = [[2.0, 1.0], [1.0, 3.0]];
        let x = solve(a, [3.0, 5.0]).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12);
        assert!(solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0]).is_none());
    }
}
