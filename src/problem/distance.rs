//! Distances by the TSPLIB rules (FORMAT.md, "Distances").
//!
//! Coordinates are kept and distances computed on demand, so that an instance
//! of 10,000 customers does not carry an 800 MB matrix; explicit weights are
//! stored as a full row-major matrix.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a Euclidean distance is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rounding {
    /// TSPLIB `nint`: `floor(d + 0.5)` (EUC_2D, CVRPLIB and TSPLIB costs).
    Nint,
    /// Unrounded (EXACT_2D, generated unit-square instances).
    Exact,
    /// Rounded up (CEIL_2D).
    Ceil,
    /// Truncated to one decimal: the DIMACS convention of Solomon's best-known values.
    Trunc1,
}

impl Rounding {
    pub fn apply(self, d: f64) -> f64 {
        match self {
            Rounding::Nint => (d + 0.5).floor(),
            Rounding::Exact => d,
            Rounding::Ceil => d.ceil(),
            Rounding::Trunc1 => (10.0 * d + 1e-9).floor() / 10.0,
        }
    }

    /// Whether every distance under this rule is an integer.
    pub fn is_integral(self) -> bool {
        matches!(self, Rounding::Nint | Rounding::Ceil)
    }

    /// The VRPLIB `EDGE_WEIGHT_TYPE` that states this rule, when one does.
    pub fn edge_weight_type(self) -> Option<&'static str> {
        match self {
            Rounding::Nint => Some("EUC_2D"),
            Rounding::Exact => Some("EXACT_2D"),
            Rounding::Ceil => Some("CEIL_2D"),
            Rounding::Trunc1 => None,
        }
    }
}

impl FromStr for Rounding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "nint" => Ok(Rounding::Nint),
            "exact" => Ok(Rounding::Exact),
            "ceil" => Ok(Rounding::Ceil),
            "trunc1" => Ok(Rounding::Trunc1),
            _ => Err(format!("unknown rounding {s:?} (expected nint, exact, ceil or trunc1)")),
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rounding::Nint => "nint",
            Rounding::Exact => "exact",
            Rounding::Ceil => "ceil",
            Rounding::Trunc1 => "trunc1",
        })
    }
}

/// Where travel distances come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    /// Euclidean distance between the instance's coordinates, rounded by the rule.
    Euclidean(Rounding),
    /// An explicit (possibly asymmetric) matrix, row-major, `(n+1) x (n+1)`.
    Matrix(Vec<f64>),
}

impl Weights {
    /// The distance rule's name as `lrm info` and `lrm check --json` print it.
    pub fn rule_name(&self) -> String {
        match self {
            Weights::Euclidean(r) => r.to_string(),
            Weights::Matrix(_) => "explicit".to_string(),
        }
    }
}

/// Unrounded Euclidean distance. `sqrt` of the squared sum (rather than `hypot`)
/// is exact for the integer coordinates of the classic benchmarks and twice as fast.
#[inline]
pub fn euclidean(a: [f64; 2], b: [f64; 2]) -> f64 {
    let dx = a[0] - b[0];
    let dy = a[1] - b[1];
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_rules_follow_tsplib_and_dimacs() {
        let d = 2.5f64.hypot(0.0) + 0.27;
        assert_eq!(Rounding::Nint.apply(2.5), 3.0);
        assert_eq!(Rounding::Nint.apply(2.49), 2.0);
        assert_eq!(Rounding::Ceil.apply(2.01), 3.0);
        assert_eq!(Rounding::Trunc1.apply(d), 2.7);
        assert_eq!(Rounding::Trunc1.apply(0.3), 0.3);
        assert_eq!(Rounding::Exact.apply(d), d);
        assert_eq!("trunc1".parse::<Rounding>().unwrap(), Rounding::Trunc1);
    }
}
