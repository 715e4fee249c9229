//! Variant names and attribute flags (FORMAT.md, "Problems").
//!
//! A variant fixes what the data cannot say: open routes, classic or mixed
//! backhauls, and whether the problem is one tour (the TSP family). The data
//! sections fix the rest, so the flags here are about names and semantics only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How backhaul customers may be ordered on a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Backhaul {
    /// No backhaul customers.
    #[default]
    None,
    /// Classic VRPB: every linehaul customer before every backhaul customer.
    Classic,
    /// Mixed backhauls: any order, the load on board never exceeds capacity.
    Mixed,
}

/// The TSP family is one route with no capacity; everything else is capacitated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    Vrp,
    Tsp,
}

/// A routing variant: the attribute letters of its name. Serialises as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    pub family: Family,
    /// `O`: routes end at their last customer.
    pub open: bool,
    /// `B` or `MB`.
    pub backhaul: Backhaul,
    /// `L`: a limit on each route's length.
    pub distance_limit: bool,
    /// `TW`: time windows and service times.
    pub time_windows: bool,
    /// `DL`: draft limits (TSPDL only).
    pub draft_limit: bool,
    /// `A` prefix: the name says weights are an explicit asymmetric matrix.
    pub asymmetric: bool,
}

/// The 16 capacitated variants in RouteFinder's order (FORMAT.md).
pub const MTVRP_NAMES: [&str; 16] =
    ["CVRP", "OVRP", "VRPB", "VRPL", "VRPTW", "OVRPTW", "OVRPB", "OVRPL", "VRPBL", "VRPBTW", "VRPLTW", "OVRPBL", "OVRPBTW", "OVRPLTW", "VRPBLTW", "OVRPBLTW"];

/// Why a variant name was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown variant {name:?}: {why}")]
pub struct VariantError {
    pub name: String,
    pub why: &'static str,
}

impl Variant {
    pub const CVRP: Variant = Variant {
        family: Family::Vrp,
        open: false,
        backhaul: Backhaul::None,
        distance_limit: false,
        time_windows: false,
        draft_limit: false,
        asymmetric: false,
    };
    pub const TSP: Variant = Variant { family: Family::Tsp, ..Variant::CVRP };

    /// A capacitated variant from its four switches (RouteFinder's O, B, L, TW).
    pub fn mtvrp(open: bool, backhaul: Backhaul, distance_limit: bool, time_windows: bool) -> Self {
        Variant { open, backhaul, distance_limit, time_windows, ..Variant::CVRP }
    }

    pub fn is_tsp(&self) -> bool {
        self.family == Family::Tsp
    }

    /// Parse a name and report whether it was in a non-canonical spelling
    /// (`CVRPTW` for `VRPTW`), which readers accept with a warning.
    pub fn parse_lenient(name: &str) -> Result<(Variant, bool), VariantError> {
        let upper = name.trim().to_ascii_uppercase();
        let err = |why| VariantError { name: name.trim().to_string(), why };
        let (asymmetric, rest) = match upper.strip_prefix('A') {
            Some(rest) if rest.starts_with("TSP") || rest.starts_with("CVRP") || rest.starts_with("VRP") || rest.starts_with("OVRP") => (true, rest),
            _ => (false, upper.as_str()),
        };
        if let Some(tail) = rest.strip_prefix("TSP") {
            let (time_windows, draft_limit) = match tail {
                "" => (false, false),
                "TW" => (true, false),
                "DL" => (false, true),
                _ => return Err(err("the TSP family is TSP, ATSP, TSPTW, TSPDL")),
            };
            let v = Variant { time_windows, draft_limit, asymmetric, ..Variant::TSP };
            return Ok((v, false));
        }
        let (open, rest) = match rest.strip_prefix('O') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (explicit_c, rest) = if let Some(r) = rest.strip_prefix("CVRP") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("VRP") {
            (false, r)
        } else {
            return Err(err("expected CVRP, [O]VRP[B|MB][L][TW], an A-prefixed one, or TSP, ATSP, TSPTW, TSPDL"));
        };
        let (backhaul, rest) = if let Some(r) = rest.strip_prefix("MB") {
            (Backhaul::Mixed, r)
        } else if let Some(r) = rest.strip_prefix('B') {
            (Backhaul::Classic, r)
        } else {
            (Backhaul::None, rest)
        };
        let (distance_limit, rest) = match rest.strip_prefix('L') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (time_windows, rest) = match rest.strip_prefix("TW") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if !rest.is_empty() {
            return Err(err("letters must be O, then B or MB, L, TW, in that order"));
        }
        let v = Variant { open, backhaul, distance_limit, time_windows, asymmetric, ..Variant::CVRP };
        let plain = !open && backhaul == Backhaul::None && !distance_limit && !time_windows;
        if !explicit_c && plain {
            return Err(err("the plain capacitated variant is CVRP"));
        }
        Ok((v, explicit_c && !plain))
    }
}

impl FromStr for Variant {
    type Err = VariantError;

    /// Strict parse: canonical names only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Variant::parse_lenient(s)? {
            (v, false) => Ok(v),
            (_, true) => Err(VariantError { name: s.trim().to_string(), why: "non-canonical name: write VRP with attribute letters (VRPTW, not CVRPTW)" }),
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.asymmetric {
            f.write_str("A")?;
        }
        if self.is_tsp() {
            f.write_str("TSP")?;
            if self.time_windows {
                f.write_str("TW")?;
            }
            if self.draft_limit {
                f.write_str("DL")?;
            }
            return Ok(());
        }
        if self.open {
            f.write_str("O")?;
        }
        let plain = !self.open && self.backhaul == Backhaul::None && !self.distance_limit && !self.time_windows;
        f.write_str(if plain { "CVRP" } else { "VRP" })?;
        match self.backhaul {
            Backhaul::None => {}
            Backhaul::Classic => f.write_str("B")?,
            Backhaul::Mixed => f.write_str("MB")?,
        }
        if self.distance_limit {
            f.write_str("L")?;
        }
        if self.time_windows {
            f.write_str("TW")?;
        }
        Ok(())
    }
}

impl Serialize for Variant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Variant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Every variant name `lrm` knows, canonical spelling: the 16, their MB forms,
/// the TSP family, and A-prefixed forms of all of them.
pub fn all_variants() -> Vec<Variant> {
    let mut out = Vec::new();
    for asymmetric in [false, true] {
        for name in MTVRP_NAMES {
            let v: Variant = name.parse().expect("canonical name");
            out.push(Variant { asymmetric, ..v });
            if v.backhaul == Backhaul::Classic {
                out.push(Variant { asymmetric, backhaul: Backhaul::Mixed, ..v });
            }
        }
        for (tw, dl) in [(false, false), (true, false), (false, true)] {
            out.push(Variant { time_windows: tw, draft_limit: dl, asymmetric, ..Variant::TSP });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        let all = all_variants();
        assert_eq!(all.len(), 2 * (16 + 8 + 3));
        for v in all {
            let name = v.to_string();
            assert_eq!(name.parse::<Variant>().unwrap(), v, "{name}");
        }
    }

    #[test]
    fn lenient_names_warn_and_bad_names_fail() {
        let (v, warned) = Variant::parse_lenient("CVRPTW").unwrap();
        assert!(warned);
        assert_eq!(v.to_string(), "VRPTW");
        assert!("VRP".parse::<Variant>().is_err());
        assert!("CVRPXYZ".parse::<Variant>().is_err());
        assert!("VRPTWL".parse::<Variant>().is_err());
        assert_eq!("acvrp".parse::<Variant>().unwrap().to_string(), "ACVRP");
        assert_eq!("OVRPMBLTW".parse::<Variant>().unwrap().backhaul, Backhaul::Mixed);
    }
}
