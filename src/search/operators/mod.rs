//! Local-search operators, one per file. Each takes the routes and the nodes
//! it works on and proposes a [`Move`](super::routes::Move) only when it
//! lowers the cost and every new route keeps the rules by the constant-time
//! segment check ([`crate::problem::rules::Segment`]); the descent confirms
//! it through `problem::rules` before taking it.

pub mod new_route;
pub mod relocate;
pub mod swap;
pub mod two_opt;
pub mod two_opt_star;

pub use new_route::new_route;
pub use relocate::relocate;
pub use swap::swap;
pub use two_opt::two_opt;
pub use two_opt_star::two_opt_star;

/// The smallest cost change that counts as an improvement: guards against
/// cycling on float rounding.
pub const IMPROVEMENT: f64 = 1e-7;
