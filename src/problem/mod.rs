//! The routing domain: plain Rust, no Burn, original units.

pub mod distance;
pub mod generate;
pub mod instance;
pub mod io;
pub mod rules;
pub mod solution;
pub mod variant;

pub use distance::{Rounding, Weights};
pub use instance::{Instance, InstanceData};
pub use rules::{Breach, RouteState, Rule, Segment};
pub use solution::{evaluate, route_breach, Evaluation, Solution, Violation};
pub use variant::{Backhaul, Family, Variant};
